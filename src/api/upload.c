/* upload.c - the signed transfer routes of assets; see upload.h. */
#include "api/upload.h"

#include <inttypes.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api/routes.h"
#include "core/timeutil.h"
#include "resources/hooks.h"
#include "store/blob.h"

static int64_t max_bytes = UPLOAD_DEFAULT_MAX;

void upload_set_max(int64_t n)
{
    max_bytes = n > 0 ? n : UPLOAD_DEFAULT_MAX;
}

/* An upload on its way: the request's, in its arena. */
typedef struct api_upload {
    const char *ws, *id;
    int64_t cap;        /* the most it may hold */
    const char *capper; /* what sets the cap: "byte_size" or "Content-Length" */
    blob_put put;
    bool open, done;
    uint64_t size;
    char sha256[65];
} api_upload;

static bool is_content_route(api_req *q, api_method m)
{
    int allowed = 0;
    const api_route *rt = routes_match(q, &allowed);
    return rt && rt->method == m && rt->handler &&
           (m == M_PUT ? rt->handler == upload_put : rt->handler == upload_get);
}

bool upload_matches(api_req *q)
{
    return q->method == M_PUT && is_content_route(q, M_PUT);
}

/* The link's signature and expiry (403 naming the one at fault); *ws is
 * the workspace it was made for. */
static int check_link(api_req *q, const char *method, const char *id, const char **ws)
{
    const char *w = api_param_get(q, "workspace_id"), *exp = api_param_get(q, "expires"),
               *sig = api_param_get(q, "signature");
    if (!sig || !*sig)
        return api_error(q, 403, "forbidden", "signature",
                         "the link carries no signature: use the URL the API answered");
    char *end = NULL;
    long long e = exp ? strtoll(exp, &end, 10) : 0;
    if (!w || !*w || !exp || !*exp || *end || e <= 0)
        return api_error(q, 403, "forbidden", "signature",
                         "the link is incomplete: use the URL the API answered");
    char want[65];
    assets_sign(method, w, id, e, want);
    if (strlen(sig) != 64 || CRYPTO_memcmp(sig, want, 64) != 0)
        return api_error(q, 403, "forbidden", "signature",
                         "the signature does not match this link (another asset's, altered, or "
                         "not made by this server)");
    if ((int64_t)(time_now_ms() / 1000) > e)
        return api_error(q, 403, "forbidden", "expires",
                         "the link expired: get the asset again for a new one");
    *ws = w;
    return 0;
}

/* The asset a link names, as the transfer needs it; 404 when gone. */
static int load(api_req *q, const char *ws, const char *id, asset_info *info)
{
    engine_result r;
    engine_result_init(&r);
    engine_call c = {.ws = ws,
                     .actor = "system",
                     .trace = q->request_id,
                     .conn = q->conn,
                     .a = &q->a,
                     .out = &r};
    /* An export's file is served the same way (its own route). */
    int rc = strncmp(id, "exp_", 4) == 0 ? bi_export_transfer_info(&c, id, info)
                                         : assets_transfer_info(&c, id, info);
    if (rc) api_error(q, api_status(r.kind), engine_result_code(&r), NULL, "%s", r.message);
    engine_result_release(&r);
    return rc ? -1 : 0;
}

/* The media type of a Content-Type value, without parameters. */
static bool same_media_type(const char *ct, const char *want)
{
    if (!ct) return false;
    size_t n = strcspn(ct, ";");
    while (n && (ct[n - 1] == ' ' || ct[n - 1] == '\t'))
        n--;
    return n == strlen(want) && strncasecmp(ct, want, n) == 0;
}

int upload_begin(api_req *q, int64_t content_length)
{
    const char *id = q->pv[0], *ws;
    if (check_link(q, "PUT", id, &ws)) return -1;
    if (!blob_ready())
        return api_error(q, 503, "unavailable", NULL, "this server keeps no asset bytes");
    asset_info info;
    if (load(q, ws, id, &info)) return -1;
    if (strcmp(info.status, "upload_pending") != 0)
        return api_error(q, 409, "conflict", NULL, "the asset is %s: it takes no upload",
                         info.status);
    if (!same_media_type(q->content_type, info.mime_type))
        return api_error(q, 415, "unsupported_media_type", "Content-Type",
                         "Content-Type must be the asset's mime_type, %s", info.mime_type);
    api_upload *u = arena_zalloc(&q->a, sizeof *u);
    u->ws = arena_strdup(&q->a, ws);
    u->id = arena_strdup(&q->a, id);
    u->cap = max_bytes;
    u->capper = "Content-Length";
    if (info.byte_size >= 0 && info.byte_size < u->cap) {
        u->cap = info.byte_size;
        u->capper = "byte_size";
    }
    if (content_length > u->cap)
        return api_error(
            q, 413, "payload_too_large", u->capper,
            "the upload holds %" PRId64 " bytes; %s allows at most %" PRId64, content_length,
            !strcmp(u->capper, "byte_size") ? "the asset's byte_size" : "this server", u->cap);
    char err[BLOB_ERR];
    if (blob_put_begin(&u->put, ws, id, err)) {
        fprintf(stderr, "{\"level\":\"error\",\"msg\":\"upload: %s\"}\n", err);
        return api_error(q, 500, "internal", NULL, "the upload cannot be stored");
    }
    u->open = true;
    q->upload = u;
    return 0;
}

int upload_write(api_req *q, const void *data, size_t n)
{
    api_upload *u = q->upload;
    if ((int64_t)(u->put.size + n) > u->cap) {
        upload_abort(q);
        return api_error(q, 413, "payload_too_large", u->capper,
                         "the upload exceeds %s: at most %" PRId64 " bytes",
                         !strcmp(u->capper, "byte_size") ? "the asset's byte_size"
                                                         : "this server's cap",
                         u->cap);
    }
    char err[BLOB_ERR];
    if (blob_put_write(&u->put, data, n, err)) {
        fprintf(stderr, "{\"level\":\"error\",\"msg\":\"upload: %s\"}\n", err);
        upload_abort(q);
        return api_error(q, 500, "internal", NULL, "the upload cannot be stored");
    }
    return 0;
}

int upload_end(api_req *q)
{
    api_upload *u = q->upload;
    char err[BLOB_ERR];
    u->open = false;
    if (blob_put_commit(&u->put, &u->size, u->sha256, err)) {
        fprintf(stderr, "{\"level\":\"error\",\"msg\":\"upload: %s\"}\n", err);
        return api_error(q, 500, "internal", NULL, "the upload cannot be stored");
    }
    u->done = true;
    return 0;
}

void upload_abort(api_req *q)
{
    api_upload *u = q->upload;
    if (u && u->open) blob_put_abort(&u->put);
    if (u) u->open = false;
}

int upload_put(api_req *q)
{
    if (!q->upload) {
        /* The body came whole (HTTP/2): the same steps, on it. */
        if (upload_begin(q, (int64_t)q->body_len)) return -1;
        if (upload_write(q, q->body ? q->body : "", q->body_len) || upload_end(q)) return -1;
    }
    api_upload *u = q->upload;
    if (!u->done) return api_error(q, 500, "internal", NULL, "the upload did not complete");
    /* Recorded by the writer; a link is not a key, so there is no
     * Idempotency-Key replay: a second PUT is a new upload. */
    q->ws = u->ws;
    q->idem_key = NULL;
    q->deferred = true;
    return 0;
}

int upload_put_record(api_req *q)
{
    api_upload *u = q->upload;
    engine_result r;
    engine_result_init(&r);
    engine_call c = {.ws = u->ws,
                     .actor = "system",
                     .trace = q->request_id,
                     .conn = q->conn,
                     .a = &q->a,
                     .out = &r};
    int rc = assets_record_upload(&c, u->id, (int64_t)u->size, u->sha256, u->put.name);
    if (rc) {
        /* Completed or archived meanwhile: these bytes are nobody's. */
        blob_remove(u->ws, u->put.name);
        api_error(q, api_status(r.kind), engine_result_code(&r), r.param, "%s", r.message);
    } else {
        jw *w = api_data(q, 200);
        jw_raw(w, r.data.data, r.data.len);
        api_finish(q);
    }
    q->audit = (engine_audit){.channel = "api",
                              .route = "PUT /v1/assets/{id}/content",
                              .resource = "assets",
                              .request_id = q->request_id,
                              .at_ms = (int64_t)time_now_ms()};
    engine_audit_result(&q->audit, &r);
    q->audited = true;
    q->audit_ws = u->ws;
    engine_result_release(&r);
    return rc;
}

/* Content-Disposition: attachment, the file name quoted in ASCII (what is
 * not becomes '_') and, when it differs, in full as RFC 8187's filename*. */
static const char *disposition(arena *a, const char *name)
{
    size_t n = strlen(name);
    char *ascii = arena_alloc(a, n + 1), *pct = arena_alloc(a, 3 * n + 1);
    bool plain = true;
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)name[i];
        bool ok = ch >= 0x20 && ch < 0x7f && ch != '"' && ch != '\\' && ch != '%';
        ascii[i] = ok ? (char)ch : '_';
        plain &= ok;
        bool attr = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
                    (ch >= '0' && ch <= '9') || strchr("!#$&+-.^_`|~", ch);
        if (attr && ch)
            pct[k++] = (char)ch;
        else
            k += (size_t)snprintf(pct + k, 4, "%%%02X", ch);
    }
    ascii[n] = '\0';
    pct[k] = '\0';
    if (plain) return arena_printf(a, "attachment; filename=\"%s\"", ascii);
    return arena_printf(a, "attachment; filename=\"%s\"; filename*=UTF-8''%s", ascii, pct);
}

int upload_get(api_req *q)
{
    const char *id = q->pv[0], *ws;
    if (check_link(q, "GET", id, &ws)) return -1;
    asset_info info;
    if (load(q, ws, id, &info)) return -1;
    if (strcmp(info.status, "available") != 0 || !info.blob_key)
        return api_error(q, 404, "not_found", NULL, "the %s is %s: there is nothing to download",
                         strncmp(id, "exp_", 4) == 0 ? "export" : "asset", info.status);
    int fd;
    uint64_t size;
    char err[BLOB_ERR];
    if (blob_open(ws, info.blob_key, &fd, &size, err)) {
        fprintf(stderr, "{\"level\":\"error\",\"msg\":\"download: %s\"}\n", err);
        return api_error(q, 500, "internal", NULL, "the asset's bytes cannot be read");
    }
    q->status = 200;
    q->out_type = arena_strdup(&q->a, info.mime_type);
    q->disposition = disposition(&q->a, info.file_name);
    q->file_fd = fd;
    q->file_size = size;
    return 0;
}
