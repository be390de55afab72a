/* assets.c - what assets do beyond the generic engine.
 *
 * An asset is made as an upload intent (upload_pending) whose answer
 * alone carries upload_url: a link on this server, signed with the
 * server's key (crypto_sign) over the method, the workspace, the asset
 * and the expiry, valid an hour. The bytes go there (api/upload.c streams
 * them into store/blob.c and records what arrived through the writer:
 * assets_record_upload); complete then compares the size and SHA-256 the
 * caller states with what arrived, and makes the asset available. GET
 * answers a download_url signed the same way for 15 minutes; DELETE
 * archives (the bytes stay, no longer served).
 *
 * A file name is only ever the name a download is saved as: storage is
 * named by ids. It still cannot hold a path ('/', '\'), a NUL or another
 * control character, nor be . or .., so that no client that saves it as
 * given walks out of its directory. The related record must be one of
 * this workspace, looked up by its type's singular at run time, so types
 * another family adds (cms_entry, marketing_campaign, marketing_post)
 * work as soon as their resources are in the table. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "core/crypto.h"
#include "core/timeutil.h"
#include "resources/engine.h"
#include "resources/hooks.h"

void assets_sign(const char *method, const char *ws, const char *id, int64_t expires, char hex[65])
{
    char msg[256];
    int n = snprintf(msg, sizeof msg, "%s\n%s\n%s\n%" PRId64, method, ws, id, expires);
    unsigned char mac[HMAC_SHA256_LEN];
    crypto_sign(msg, (size_t)n < sizeof msg ? (size_t)n : sizeof msg - 1, mac);
    for (int i = 0; i < HMAC_SHA256_LEN; i++)
        snprintf(hex + 2 * i, 3, "%02x", mac[i]);
}

static const char *signed_url(engine_call *c, const char *method, const char *id, int64_t ttl_s)
{
    int64_t expires = (int64_t)(time_now_ms() / 1000) + ttl_s;
    char sig[65];
    assets_sign(method, c->ws, id, expires, sig);
    return arena_printf(c->a,
                        "%s/v1/assets/%s/content?workspace_id=%s&expires=%" PRId64 "&signature=%s",
                        c->base_url ? c->base_url : "", id, c->ws, expires, sig);
}

/* RFC 6838 section 4.2: type "/" subtype, each a restricted-name. */
static bool media_type_ok(const char *s)
{
    const char *slash = strchr(s, '/');
    if (!slash || slash == s || !slash[1] || slash - s > 127 || strlen(slash + 1) > 127)
        return false;
    for (const char *p = s; *p; p++) {
        if (p == slash) continue;
        bool first = p == s || p == slash + 1;
        unsigned char ch = (unsigned char)*p;
        bool alnum =
            (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9');
        if (!alnum && (first || !strchr("!#$&-^_.+", ch))) return false;
    }
    return true;
}

static const char *file_name_problem(const char *s)
{
    if (!*s) return "file_name cannot be empty";
    if (!strcmp(s, ".") || !strcmp(s, "..")) return "file_name cannot be . or ..";
    for (const char *p = s; *p; p++) {
        unsigned char ch = (unsigned char)*p;
        if (ch == '/' || ch == '\\') return "file_name cannot hold '/' or '\\' (a path, ../)";
        if (ch < 0x20 || ch == 0x7f) return "file_name cannot hold NUL or a control character";
    }
    return NULL;
}

static bool has_status(const res_row *row, const char *s)
{
    const char *v = engine_text(row, ASSET_status);
    return v && !strcmp(v, s);
}

static int asset_before(res_write *w)
{
    engine_call *c = w->c;
    res_row *row = w->row;
    if (!w->is_create) {
        /* byte_size is the caller's limit until complete states the size
         * stored; nothing else changes it. */
        bool completing = w->set[ASSET_status] && has_status(row, "available");
        if (w->set[ASSET_byte_size] && !completing &&
            engine_int(row, ASSET_byte_size, -1) != engine_int(w->old, ASSET_byte_size, -1))
            return engine_fail(c, EK_INVALID, "byte_size",
                               "byte_size cannot be changed after creation (complete sets it)");
        return 0; /* the rest is create-only */
    }
    const char *why = file_name_problem(engine_text(row, ASSET_file_name));
    if (why) return engine_fail(c, EK_INVALID, "file_name", "%s", why);
    if (!media_type_ok(engine_text(row, ASSET_mime_type)))
        return engine_fail(c, EK_INVALID, "mime_type",
                           "mime_type must be type/subtype, e.g. image/png (no parameters)");
    const char *type = engine_text(row, ASSET_related_resource_type);
    const char *rid = engine_text(row, ASSET_related_resource_id);
    const res_def *t = res_find_singular(type);
    if (!t)
        return engine_fail(c, EK_INVALID, "related_resource_type",
                           "related_resource_type %s: this server keeps no such records yet", type);
    store_err e;
    int rc = store_rec_exists(c->conn, t, c->ws, rid, &e);
    if (rc == STORE_NOTFOUND)
        return engine_fail(c, EK_INVALID, "related_resource_id",
                           "related_resource_id: no %s '%s' in this workspace", type, rid);
    if (rc) return engine_store_fail(c, rc, &e);
    if (row->vals[ASSET_name].kind == SV_NULL)
        engine_set(row, w->set, ASSET_name, sv_text(engine_text(row, ASSET_file_name)));
    c->out->reveal_key = "upload_url";
    c->out->reveal_val = signed_url(c, "PUT", row->id, ASSET_UPLOAD_TTL_S);
    return 0;
}

const res_hooks asset_hooks = {.before_write = asset_before};

int asset_get(engine_call *c)
{
    const char *qid = engine_param_get(c, "asset_id");
    if (engine_params_check(c)) return -1;
    if (qid && strcmp(qid, c->ids[0]) != 0)
        return engine_fail(c, EK_INVALID, "asset_id",
                           "asset_id in the query differs from the path's; give one or the same");
    res_row row;
    if (engine_load(c, RES(ASSET), c->ids[0], NULL, &row)) return -1;
    jw *w = engine_answer(c);
    jw_obj_open(w);
    engine_write_members(w, RES(ASSET), &row);
    jw_kstr(w, "download_url",
            has_status(&row, "available") ? signed_url(c, "GET", row.id, ASSET_DOWNLOAD_TTL_S)
                                          : NULL);
    jw_obj_close(w);
    return 0;
}

int asset_archive(engine_call *c)
{
    if (engine_params_check(c)) return -1;
    if (c->body && json_object_size(c->body) > 0)
        return engine_fail(c, EK_INVALID, json_object_iter_key(json_object_iter(c->body)),
                           "DELETE takes no body");
    res_row old;
    if (engine_load(c, RES(ASSET), c->ids[0], NULL, &old)) return -1;
    if (has_status(&old, "archived")) return engine_respond(c, RES(ASSET), &old, EK_OK);
    bool *set;
    res_row row = engine_copy_row(c, RES(ASSET), &old, &set);
    engine_set(&row, set, ASSET_status, sv_text("archived"));
    if (engine_update_row(c, RES(ASSET), &old, &row, set, "archived")) return -1;
    return engine_respond(c, RES(ASSET), &row, EK_OK);
}

static bool hex64(const char *s)
{
    if (strlen(s) != 64) return false;
    for (const char *p = s; *p; p++)
        if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f') || (*p >= 'A' && *p <= 'F')))
            return false;
    return true;
}

int asset_complete(engine_call *c)
{
    store_val v[ASSETDONE__COUNT];
    bool in[ASSETDONE__COUNT];
    if (engine_params_check(c) ||
        engine_parse_fields(c, c->action->body, c->action->nbody, c->body, v, in))
        return -1;
    const char *sum = v[ASSETDONE_checksum_sha256].s;
    if (!hex64(sum))
        return engine_fail(c, EK_INVALID, "checksum_sha256",
                           "checksum_sha256 must be 64 hexadecimal digits (SHA-256)");
    char lower[65];
    for (int i = 0; i < 65; i++)
        lower[i] = (char)(sum[i] >= 'A' && sum[i] <= 'F' ? sum[i] + 32 : sum[i]);
    int64_t size = v[ASSETDONE_byte_size].i;
    res_row old;
    if (engine_load(c, RES(ASSET), c->ids[0], NULL, &old)) return -1;
    const store_val *o = old.vals;
    if (has_status(&old, "archived"))
        return engine_fail(c, EK_CONFLICT, NULL, "the asset is archived");
    if (has_status(&old, "available")) {
        /* A retry of the complete that made it so answers the same. */
        if (engine_int(&old, ASSET_byte_size, -1) == size &&
            !strcmp(engine_text(&old, ASSET_checksum_sha256), lower))
            return engine_respond(c, RES(ASSET), &old, EK_OK);
        return engine_fail(c, EK_CONFLICT, NULL, "the asset is already complete");
    }
    if (o[ASSET_received_size].kind != SV_INT)
        return engine_fail(c, EK_CONFLICT, NULL,
                           "no upload has arrived yet: PUT the bytes to upload_url first");
    if (o[ASSET_received_size].i != size)
        return engine_fail(c, EK_UNPROCESSABLE, "byte_size",
                           "byte_size is %" PRId64 " but %" PRId64 " bytes arrived", size,
                           o[ASSET_received_size].i);
    if (strcmp(engine_text(&old, ASSET_received_sha256), lower) != 0)
        return engine_fail(c, EK_UNPROCESSABLE, "checksum_sha256",
                           "checksum_sha256 does not match the SHA-256 of the bytes that arrived");
    bool *set;
    res_row row = engine_copy_row(c, RES(ASSET), &old, &set);
    engine_set(&row, set, ASSET_byte_size, sv_int(size));
    engine_set(&row, set, ASSET_checksum_sha256, sv_text(arena_strdup(c->a, lower)));
    engine_set(&row, set, ASSET_status, sv_text("available"));
    engine_set(&row, set, ASSET_completed_at, sv_int((int64_t)time_now_ms()));
    if (engine_update_row(c, RES(ASSET), &old, &row, set, "completed")) return -1;
    return engine_respond(c, RES(ASSET), &row, EK_OK);
}

int assets_transfer_info(engine_call *c, const char *id, asset_info *out)
{
    res_row row;
    if (engine_load(c, RES(ASSET), id, NULL, &row)) return -1;
    *out = (asset_info){.status = engine_text(&row, ASSET_status),
                        .mime_type = engine_text(&row, ASSET_mime_type),
                        .file_name = engine_text(&row, ASSET_file_name),
                        .blob_key = engine_text(&row, ASSET_blob_key),
                        .byte_size = engine_int(&row, ASSET_byte_size, -1)};
    return 0;
}

int assets_record_upload(engine_call *c, const char *id, int64_t size, const char *sha256,
                         const char *blob_key)
{
    res_row old;
    if (engine_load(c, RES(ASSET), id, NULL, &old)) return -1;
    if (!has_status(&old, "upload_pending"))
        return engine_fail(c, EK_CONFLICT, NULL, "the asset is %s: it takes no upload",
                           engine_text(&old, ASSET_status));
    bool *set;
    res_row row = engine_copy_row(c, RES(ASSET), &old, &set);
    engine_set(&row, set, ASSET_received_size, sv_int(size));
    engine_set(&row, set, ASSET_received_sha256, sv_text(sha256));
    engine_set(&row, set, ASSET_blob_key, sv_text(blob_key));
    if (engine_update_row(c, RES(ASSET), &old, &row, set, "uploaded")) return -1;
    return engine_respond(c, RES(ASSET), &row, EK_OK);
}
