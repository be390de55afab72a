/* http1.c - HTTP/1.0 and 1.1 connections, parsed by Cairn; see internal.h.
 *
 * Why not h2o's HTTP/1 (libh2o 2.2.5): it answers a malformed request
 * line, more than 100 header fields, a broken chunked body and an
 * oversized Content-Length itself, in text/plain, before any handler runs;
 * it lets the first of two Content-Length values win (request smuggling);
 * and it cannot tell an idle keep-alive connection from a busy one when
 * draining. Here each of those is Cairn's decision and Cairn's JSON error.
 * h2o still serves HTTP/2: a connection that opens with the HTTP/2
 * preface, or a request asking for an h2c upgrade, is handed to h2o with
 * the bytes read so far, and h2o owns the socket from then on.
 *
 * A connection is in one of these states:
 *   HEAD      reading a request head; idle when nothing of it has come
 *   BODY      reading the body (Content-Length or chunked)
 *   CONTINUE  writing "100 Continue"; not reading
 *   BUSY      the API or the writer has the request; not reading, so the
 *             input buffer (which holds a Content-Length body) stays put
 *   WRITE     writing the answer
 *   LINGER    answered and write side shut: reading and discarding until
 *             the client closes or a timeout, so bytes still in flight
 *             (the rest of a refused body, a request racing the close)
 *             cannot make the kernel reset the connection and destroy an
 *             answer the client has not read yet (RFC 9112 section 9.6)
 * Owner: the worker thread. A connection owns its socket, its buffers and
 * the exchange of its current request until that exchange has gone to the
 * writer; then the exchange points back at it (x->peer), and a close
 * clears that pointer so the writer's answer is only logged. */
#include <errno.h>
#include <h2o.h>
#include <h2o/http1.h>
#include <h2o/http2.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "api/upload.h"
#include "http/internal.h"

/* Longest request line: the longest target plus a method and a version. */
#define MAX_REQUEST_LINE (HTTP_MAX_URL + 64)
/* A chunk-size line with its extensions, and a trailer section. */
#define MAX_CHUNK_LINE 1024
/* A file answer (an asset's download) goes out this much at a time, so a
 * 100 MiB one neither sits in memory nor holds the event loop. */
#define FILE_CHUNK (256u << 10)
/* An upload's body is written to disk once this much has come (or all). */
#define UPLOAD_BATCH (256u << 10)

typedef enum h1state { H1_HEAD, H1_BODY, H1_CONTINUE, H1_BUSY, H1_WRITE, H1_LINGER } h1state;

typedef enum ckstate { CK_SIZE, CK_DATA, CK_DATA_END, CK_TRAILER, CK_DONE } ckstate;

typedef struct h1conn {
    h2o_linklist_t link; /* in w->h1conns */
    http_worker *w;
    h2o_socket_t *sock;
    struct timeval connected_at;
    h2o_timeout_entry_t timer;
    h1state state;
    bool metrics_only;
    unsigned answered; /* requests answered on this connection */

    /* The head being read: where the search for its end goes on. */
    size_t scanned, line_start, line1_end;
    int nlines;

    /* The request being read or answered. */
    http_exchange *x;
    int minor;       /* HTTP/1.minor */
    bool keep_alive; /* the answer may leave the connection open */
    bool refused;    /* x holds an error; the body is read, then it goes */
    bool chunked;
    size_t content_length;
    size_t consume; /* input bytes to drop once answered (the body) */
    ckstate ck;
    size_t ck_left, ck_line; /* chunk bytes still to come; bytes of the current line */
    buf body;                /* a chunked body, decoded */
    bool upload;             /* the body streams into an asset upload (api/upload.h) */
    size_t upload_left;      /* its bytes still to come */

    /* The answer being written. */
    buf head;
    char *out;   /* its body, owned until written */
    int file_fd; /* or a file streamed after the head, FILE_CHUNK at a time; -1: none */
    uint64_t file_left;
    char *file_buf;
} h1conn;

static void on_read(h2o_socket_t *sock, const char *err);
static void handle_input(h1conn *c);

static void set_timer(h1conn *c, h2o_timeout_t *t)
{
    if (h2o_timeout_is_linked(&c->timer)) h2o_timeout_unlink(&c->timer);
    if (t) h2o_timeout_link(c->w->ctx.loop, t, &c->timer);
}

static void reset_request(h1conn *c)
{
    c->scanned = c->line_start = c->line1_end = 0;
    c->nlines = 0;
    c->x = NULL;
    c->minor = 1;
    c->keep_alive = false;
    c->refused = false;
    c->chunked = false;
    c->content_length = 0;
    c->consume = 0;
    c->ck = CK_SIZE;
    c->ck_left = c->ck_line = 0;
    buf_reset(&c->body);
    c->upload = false;
    c->upload_left = 0;
}

static void file_close(h1conn *c)
{
    if (c->file_fd >= 0) close(c->file_fd);
    c->file_fd = -1;
    c->file_left = 0;
}

static void conn_close(h1conn *c)
{
    set_timer(c, NULL);
    h2o_linklist_unlink(&c->link);
    if (c->x) {
        if (c->state == H1_BUSY)
            c->x->peer = NULL; /* at the writer: it answers into the void */
        else
            exchange_drop(c->x); /* never ran: the client left mid-request */
    }
    buf_free(&c->body);
    buf_free(&c->head);
    free(c->out);
    file_close(c);
    free(c->file_buf);
    h2o_socket_close(c->sock);
    free(c);
}

static void on_timeout(h2o_timeout_entry_t *entry)
{
    h1conn *c = H2O_STRUCT_FROM_MEMBER(h1conn, timer, entry);
    /* A stalled head, body or reader, an idle keep-alive connection, or a
     * lingering close that took long enough. */
    conn_close(c);
}

void http1_accept(http_worker *w, h2o_socket_t *sock, bool metrics_only)
{
    h1conn *c = calloc(1, sizeof *c);
    if (!c) abort();
    c->w = w;
    c->sock = sock;
    c->metrics_only = metrics_only;
    gettimeofday(&c->connected_at, NULL);
    c->timer.cb = on_timeout;
    c->file_fd = -1;
    buf_init(&c->body, API_MAX_BODY + 1); /* buf keeps a byte for a NUL */
    buf_init(&c->head, 4096);
    sock->data = c;
    h2o_linklist_insert(&w->h1conns, &c->link);
    reset_request(c);
    c->state = H1_HEAD;
    set_timer(c, &w->io_timeout);
    h2o_socket_read_start(sock, on_read);
}

/* ------------------------------------------------------------- closing */

static void on_linger_read(h2o_socket_t *sock, const char *err)
{
    h1conn *c = sock->data;
    if (err) { /* the client closed too (or reset): done */
        conn_close(c);
        return;
    }
    h2o_buffer_consume(&sock->input, sock->input->size);
}

/* Sends FIN and reads until the client closes, HTTP_LINGER_MS at most. */
static void linger(h1conn *c)
{
    c->state = H1_LINGER;
    shutdown(h2o_socket_get_fd(c->sock), SHUT_WR);
    if (c->sock->input->size) h2o_buffer_consume(&c->sock->input, c->sock->input->size);
    set_timer(c, &c->w->linger_timeout);
    h2o_socket_read_start(c->sock, on_linger_read);
}

/* ------------------------------------------------------------- answers */

/* The next piece of a file answer, or false when it is all out. */
static bool file_next(h1conn *c, h2o_socket_cb cb)
{
    if (c->file_fd < 0) return false;
    if (!c->file_left) {
        file_close(c);
        return false;
    }
    if (!c->file_buf && !(c->file_buf = malloc(FILE_CHUNK))) abort();
    size_t want = c->file_left < FILE_CHUNK ? (size_t)c->file_left : FILE_CHUNK;
    ssize_t n;
    do
        n = read(c->file_fd, c->file_buf, want);
    while (n < 0 && errno == EINTR);
    if (n <= 0) {
        /* Shorter than its length said (or unreadable): the length is
         * already out, so only closing tells the client. */
        c->keep_alive = false;
        file_close(c);
        conn_close(c);
        return true;
    }
    c->file_left -= (uint64_t)n;
    h2o_iovec_t v = h2o_iovec_init(c->file_buf, (size_t)n);
    set_timer(c, &c->w->io_timeout);
    h2o_socket_write(c->sock, &v, 1, cb);
    return true;
}

static void on_written(h2o_socket_t *sock, const char *err)
{
    h1conn *c = sock->data;
    free(c->out);
    c->out = NULL;
    if (err) {
        conn_close(c);
        return;
    }
    if (file_next(c, on_written)) return;
    if (!c->keep_alive) {
        linger(c);
        return;
    }
    c->answered++;
    if (c->consume) h2o_buffer_consume(&sock->input, c->consume);
    reset_request(c);
    c->state = H1_HEAD;
    set_timer(c, &c->w->io_timeout);
    h2o_socket_read_start(sock, on_read);
    if (sock->input->size) handle_input(c); /* pipelined */
}

void http1_send(http_exchange *x)
{
    h1conn *c = x->peer;
    api_req *q = &x->q;
    if (c->w->draining) c->keep_alive = false;
    buf *h = &c->head;
    buf_reset(h);
    bool file = q->file_fd >= 0;
    buf_printf(h, "HTTP/1.1 %d %s\r\nDate: %s\r\nContent-Length: %llu\r\n", q->status,
               http_reason(q->status), http_date(c->w),
               (unsigned long long)(file ? q->file_size : q->out.len));
    if (!c->keep_alive)
        buf_puts(h, "Connection: close\r\n");
    else if (c->minor == 0)
        buf_puts(h, "Connection: keep-alive\r\n");
    http_header hs[HTTP_MAX_RESP_HEADERS];
    int n = exchange_headers(x, hs);
    for (int i = 0; i < n; i++)
        buf_printf(h, "%s: %s\r\n", hs[i].name, hs[i].value);
    buf_puts(h, "\r\n");
    /* The values are ours or the API's and short; 4 KiB is far beyond
     * them, so a cut here is a bug, not a client's doing. */
    if (h->overflow) abort();

    h2o_iovec_t iov[2] = {h2o_iovec_init(h->data, h->len)};
    size_t niov = 1;
    if (file) {
        /* The file passes to the connection; on_written sends it on. */
        c->file_fd = q->file_fd;
        c->file_left = q->method == M_HEAD ? 0 : q->file_size;
        q->file_fd = -1;
    } else if (q->method != M_HEAD && q->out.len) {
        /* The body's buffer passes to the connection until written. */
        c->out = q->out.data;
        iov[niov++] = h2o_iovec_init(c->out, q->out.len);
        buf_init(&q->out, q->out.limit);
    }
    c->x = NULL;
    exchange_finish(x);
    c->state = H1_WRITE;
    set_timer(c, &c->w->io_timeout);
    h2o_socket_read_stop(c->sock);
    h2o_socket_write(c->sock, iov, niov, on_written);
}

/* Refuses the request in a new (or the current) exchange and answers at
 * once, closing the connection after: the framing of what follows cannot
 * be trusted. */
static void refuse(h1conn *c, int status, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void refuse(h1conn *c, int status, const char *code, const char *fmt, ...)
{
    char msg[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (!c->x) {
        c->x = exchange_new(c->w, HTTP_T_H1, c);
        c->x->metrics_only = c->metrics_only;
    }
    api_error(&c->x->q, status, code, NULL, "%s", msg);
    c->keep_alive = false;
    c->state = H1_BUSY;
    exchange_send(c->x);
}

/* ------------------------------------------------------------- the head */

static bool is_tchar(unsigned char ch)
{
    /* RFC 9110 section 5.6.2 */
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
           (ch && strchr("!#$%&'*+-.^_`|~", ch));
}

static bool is_ows(char ch)
{
    return ch == ' ' || ch == '\t';
}

/* Whether the comma-separated list holds token tok (case-insensitive). */
static bool has_token(const char *v, size_t n, const char *tok)
{
    size_t tl = strlen(tok);
    for (size_t i = 0; i < n;) {
        while (i < n && (is_ows(v[i]) || v[i] == ','))
            i++;
        size_t s = i;
        while (i < n && v[i] != ',')
            i++;
        size_t e = i;
        while (e > s && is_ows(v[e - 1]))
            e--;
        if (e - s == tl && h2o_lcstris(v + s, tl, tok, tl)) return true;
    }
    return false;
}

/* Parses a Content-Length value: digits, or a list of equal ones ("5, 5",
 * RFC 9110 section 8.6). Returns false when malformed, too large or the
 * list disagrees; *len is the value. */
static bool parse_length(const char *v, size_t n, size_t *len, bool *seen)
{
    size_t i = 0;
    do {
        while (i < n && (is_ows(v[i]) || v[i] == ','))
            i++;
        size_t start = i, val = 0;
        while (i < n && v[i] >= '0' && v[i] <= '9') {
            if (val > (SIZE_MAX - 9) / 10) return false;
            val = val * 10 + (size_t)(v[i++] - '0');
        }
        if (i == start) return false;
        while (i < n && is_ows(v[i]))
            i++;
        if (i < n && v[i] != ',') return false;
        if (*seen && val != *len) return false;
        *len = val;
        *seen = true;
    } while (i < n);
    return true;
}

typedef struct field {
    const char *name, *value;
    size_t nlen, vlen;
} field;

/* Hands the connection to h2o, which reads the bytes already buffered. */
static void hand_to_h2o(h1conn *c, bool http2)
{
    http_worker *w = c->w;
    h2o_socket_t *sock = c->sock;
    struct timeval at = c->connected_at;
    set_timer(c, NULL);
    h2o_linklist_unlink(&c->link);
    buf_free(&c->body);
    buf_free(&c->head);
    free(c);
    h2o_socket_read_stop(sock);
    if (http2)
        h2o_http2_accept(&w->accept_ctx, sock, at);
    else
        h2o_http1_accept(&w->accept_ctx, sock, at); /* it performs the h2c upgrade */
}

/* Where the body will come from, once the head is accepted. */
static void start_body(h1conn *c, bool expect_continue);
/* The same for an asset's upload, whose body is streamed, not buffered. */
static void start_upload(h1conn *c, bool expect_continue);

/* The whole head is in the input, head_len bytes: parse and judge it. */
static void parse_head(h1conn *c, size_t head_len)
{
    const char *b = c->sock->input->bytes;
    size_t rl = c->line1_end - 1; /* the request line, without its LF */
    if (rl > 0 && b[rl - 1] == '\r') rl--;

    /* method SP request-target SP HTTP-version (RFC 9112 section 3) */
    size_t i = 0;
    while (i < rl && is_tchar((unsigned char)b[i]))
        i++;
    size_t mlen = i;
    if (mlen == 0 || i >= rl || b[i] != ' ') {
        refuse(c, 400, "bad_request", "the request line is malformed");
        return;
    }
    size_t ts = ++i;
    while (i < rl && (unsigned char)b[i] > 0x20 && b[i] != 0x7f)
        i++;
    size_t tlen = i - ts;
    if (tlen == 0 || i >= rl || b[i] != ' ' || rl - i - 1 != 8 ||
        memcmp(b + i + 1, "HTTP/", 5) != 0) {
        refuse(c, 400, "bad_request", "the request line is malformed");
        return;
    }
    const char *ver = b + i + 1 + 5;
    if (c->answered == 0 && !c->metrics_only && h2o_memis(b, mlen, H2O_STRLIT("PRI")) &&
        h2o_memis(b + ts, tlen, H2O_STRLIT("*")) && memcmp(ver, "2.0", 3) == 0) {
        hand_to_h2o(c, true); /* the HTTP/2 connection preface */
        return;
    }
    if (ver[0] != '1' || ver[1] != '.' || (ver[2] != '0' && ver[2] != '1')) {
        refuse(c, 400, "bad_request", "only HTTP/1.0 and HTTP/1.1 are served here");
        return;
    }
    c->minor = ver[2] - '0';
    if (tlen > HTTP_MAX_URL) {
        refuse(c, 414, "uri_too_long", "the URL exceeds %d bytes", HTTP_MAX_URL);
        return;
    }

    /* Header fields (RFC 9112 section 5): name ":" OWS value OWS. */
    field f[HTTP_MAX_HEADERS];
    int nf = 0;
    size_t te_fields = 0, cl = 0;
    bool cl_seen = false, cl_bad = false, te_chunked = false, close = false, ka = false;
    bool upgrade_conn = false, h2c = false, h2_settings = false, expect_continue = false;
    const char *expect = NULL;
    for (size_t p = c->line1_end; p < head_len;) {
        const char *nl = memchr(b + p, '\n', head_len - p);
        size_t e = (size_t)(nl - b), ll = e - p;
        if (ll > 0 && b[e - 1] == '\r') ll--;
        const char *line = b + p;
        p = e + 1;
        if (ll == 0) break; /* the empty line ending the head */
        if (memchr(line, '\r', ll)) {
            refuse(c, 400, "bad_request", "a header line holds a bare CR");
            return;
        }
        if (is_ows(line[0])) {
            refuse(c, 400, "bad_request", "folded header lines are not accepted");
            return;
        }
        size_t k = 0;
        while (k < ll && is_tchar((unsigned char)line[k]))
            k++;
        if (k == 0 || k >= ll || line[k] != ':') {
            refuse(c, 400, "bad_request", "a header line is malformed");
            return;
        }
        size_t vs = k + 1, ve = ll;
        while (vs < ve && is_ows(line[vs]))
            vs++;
        while (ve > vs && is_ows(line[ve - 1]))
            ve--;
        for (size_t j = vs; j < ve; j++) {
            unsigned char ch = (unsigned char)line[j];
            if ((ch < 0x20 && ch != '\t') || ch == 0x7f) {
                refuse(c, 400, "bad_request", "the %.*s header holds a control character", (int)k,
                       line);
                return;
            }
        }
        if (nf == HTTP_MAX_HEADERS) { /* the scan counted lines; this is the proof */
            refuse(c, 431, "headers_too_large", "more than %d header fields", HTTP_MAX_HEADERS);
            return;
        }
        field *fd = &f[nf++];
        *fd = (field){line, line + vs, k, ve - vs};
        if (h2o_lcstris(fd->name, k, H2O_STRLIT("content-length"))) {
            if (!parse_length(fd->value, fd->vlen, &cl, &cl_seen)) cl_bad = true;
        } else if (h2o_lcstris(fd->name, k, H2O_STRLIT("transfer-encoding"))) {
            te_fields++;
            te_chunked = h2o_lcstris(fd->value, fd->vlen, H2O_STRLIT("chunked"));
        } else if (h2o_lcstris(fd->name, k, H2O_STRLIT("connection"))) {
            close |= has_token(fd->value, fd->vlen, "close");
            ka |= has_token(fd->value, fd->vlen, "keep-alive");
            upgrade_conn |= has_token(fd->value, fd->vlen, "upgrade");
        } else if (h2o_lcstris(fd->name, k, H2O_STRLIT("upgrade"))) {
            h2c |= has_token(fd->value, fd->vlen, "h2c");
        } else if (h2o_lcstris(fd->name, k, H2O_STRLIT("http2-settings"))) {
            h2_settings = true;
        } else if (h2o_lcstris(fd->name, k, H2O_STRLIT("expect"))) {
            expect = fd->value;
            expect_continue = h2o_lcstris(fd->value, fd->vlen, H2O_STRLIT("100-continue"));
        }
    }

    /* Framing (RFC 9112 section 6.3): one way to find the body's end, or
     * refuse and close, because a front proxy may have picked the other
     * and would read the rest as the next request (request smuggling). */
    if (cl_bad) {
        refuse(c, 400, "bad_request", "Content-Length is malformed, or given twice differently");
        return;
    }
    if (te_fields && cl_seen) {
        refuse(c, 400, "bad_request",
               "a request cannot carry both Content-Length and Transfer-Encoding");
        return;
    }
    if (te_fields && c->minor == 0) {
        refuse(c, 400, "bad_request", "HTTP/1.0 has no Transfer-Encoding");
        return;
    }
    if (te_fields > 1 || (te_fields && !te_chunked)) {
        refuse(c, 501, "not_implemented", "the only Transfer-Encoding served is chunked");
        return;
    }
    if (expect && !expect_continue) {
        refuse(c, 417, "expectation_failed", "the only expectation served is 100-continue");
        return;
    }
    if (h2c && upgrade_conn && h2_settings && !c->metrics_only && !c->w->draining) {
        hand_to_h2o(c, false);
        return;
    }

    /* The head is sound: everything the API needs is copied out of it. */
    http_exchange *x = c->x = exchange_new(c->w, HTTP_T_H1, c);
    x->metrics_only = c->metrics_only;
    c->keep_alive = !close && (c->minor == 1 || ka) && !c->w->draining;
    const char *target = b + ts;
    if ((tlen > 7 && h2o_lcstris(target, 7, H2O_STRLIT("http://"))) ||
        (tlen > 8 && h2o_lcstris(target, 8, H2O_STRLIT("https://")))) {
        /* absolute-form (RFC 9112 3.2.2): the path follows the authority */
        const char *end = target + tlen, *path = (const char *)memchr(target, '/', tlen) + 2;
        while (path < end && *path != '/' && *path != '?')
            path++;
        tlen = (size_t)(end - path);
        target = tlen ? path : "/";
        tlen = tlen ? tlen : 1;
    }
    bool ok = true;
    if (tlen == 0 || (target[0] != '/' && !(tlen == 1 && target[0] == '*'))) {
        ok = false;
        exchange_target(x, b, mlen, "/", 1);
        api_error(&x->q, 400, "bad_request", NULL, "the request target is malformed");
    } else {
        ok = exchange_target(x, b, mlen, target, tlen);
    }
    for (int j = 0; j < nf; j++)
        exchange_header(x, f[j].name, f[j].nlen, f[j].value, f[j].vlen);
    c->refused = !ok;
    c->chunked = te_fields > 0;
    c->content_length = cl;
    h2o_buffer_consume(&c->sock->input, head_len);
    if (ok && upload_matches(&x->q)) {
        start_upload(c, expect_continue && c->minor == 1);
        return;
    }
    start_body(c, expect_continue && c->minor == 1);
}

/* Looks for the end of the head from where the last look stopped,
 * refusing as soon as a limit is passed rather than buffering more. */
static void read_head(h1conn *c)
{
    for (;;) {
        const char *b = c->sock->input->bytes;
        size_t n = c->sock->input->size;
        /* A client may send empty lines before a request (RFC 9112 2.2). */
        if (c->line1_end == 0 && c->scanned == 0) {
            size_t k = 0;
            while (k < n && (b[k] == '\r' || b[k] == '\n'))
                k++;
            if (k) {
                h2o_buffer_consume(&c->sock->input, k);
                continue;
            }
        }
        const char *nl = c->scanned < n ? memchr(b + c->scanned, '\n', n - c->scanned) : NULL;
        if (!nl) {
            c->scanned = n;
            if (c->line1_end == 0 && n > MAX_REQUEST_LINE) {
                /* A method and a space, then no end: the target is long. */
                const char *sp = memchr(b, ' ', n < 32 ? n : 32);
                if (sp)
                    refuse(c, 414, "uri_too_long", "the URL exceeds %d bytes", HTTP_MAX_URL);
                else
                    refuse(c, 400, "bad_request", "the request line is malformed");
            } else if (c->line1_end && n - c->line1_end > HTTP_MAX_HEADER_BYTES) {
                refuse(c, 431, "headers_too_large", "request headers exceed %d bytes",
                       HTTP_MAX_HEADER_BYTES);
            }
            return;
        }
        size_t e = (size_t)(nl - b);
        c->scanned = e + 1;
        size_t ll = e - c->line_start;
        bool empty = ll == 0 || (ll == 1 && b[c->line_start] == '\r');
        c->line_start = e + 1;
        if (c->line1_end == 0) {
            c->line1_end = e + 1;
            if (e > MAX_REQUEST_LINE) {
                refuse(c, 414, "uri_too_long", "the URL exceeds %d bytes", HTTP_MAX_URL);
                return;
            }
            continue;
        }
        if (e + 1 - c->line1_end > HTTP_MAX_HEADER_BYTES) {
            refuse(c, 431, "headers_too_large", "request headers exceed %d bytes",
                   HTTP_MAX_HEADER_BYTES);
            return;
        }
        if (empty) {
            parse_head(c, e + 1);
            return;
        }
        if (++c->nlines > HTTP_MAX_HEADERS) {
            refuse(c, 431, "headers_too_large", "more than %d header fields", HTTP_MAX_HEADERS);
            return;
        }
    }
}

/* ------------------------------------------------------------- the body */

/* The request is complete: hand it to the API (or send its refusal). */
static void dispatch(h1conn *c)
{
    http_exchange *x = c->x;
    c->state = H1_BUSY;
    set_timer(c, NULL);
    h2o_socket_read_stop(c->sock);
    if (c->refused) {
        exchange_send(x);
        return;
    }
    if (c->chunked) {
        x->q.body = c->body.data;
        x->q.body_len = c->body.len;
    } else if (c->consume) {
        /* Borrowed from the input, which stays put while BUSY: the writer
         * path copies it (exchange_run). */
        x->q.body = c->sock->input->bytes;
        x->q.body_len = c->consume;
    }
    exchange_run(x);
}

static void on_continue_sent(h2o_socket_t *sock, const char *err)
{
    h1conn *c = sock->data;
    c->state = H1_BODY;
    h2o_socket_read_start(sock, on_read);
    on_read(sock, err); /* a write error closes; else what came meanwhile */
}

static void start_body(h1conn *c, bool expect_continue)
{
    if (!c->chunked && c->content_length > API_MAX_BODY) {
        /* Refused before reading it; the linger after the answer swallows
         * what the client still sends. */
        c->refused = true;
        api_error(&c->x->q, 413, "payload_too_large", NULL, "the request body exceeds %u bytes",
                  API_MAX_BODY);
        c->keep_alive = false;
        dispatch(c);
        return;
    }
    c->state = H1_BODY;
    bool body_expected = c->chunked || c->content_length > 0;
    if (c->refused && body_expected) {
        /* Answer now rather than read a body that will not be used (a
         * client waiting for 100 Continue would not even send it). */
        c->keep_alive = false;
        dispatch(c);
        return;
    }
    if (expect_continue && body_expected && c->sock->input->size == 0) {
        static const h2o_iovec_t cont = {H2O_STRLIT("HTTP/1.1 100 Continue\r\n\r\n")};
        c->state = H1_CONTINUE;
        h2o_socket_read_stop(c->sock);
        h2o_socket_write(c->sock, (h2o_iovec_t *)&cont, 1, on_continue_sent);
        return;
    }
    handle_input(c);
}

/* Decodes what has arrived of a chunked body (RFC 9112 section 7.1) into
 * c->body, dropping the raw bytes as it goes. Returns NULL when it needs
 * more bytes or the body is complete (c->ck == CK_DONE), else what is
 * wrong. Framing lines must end in CRLF: leniency here is how a proxy and
 * a server come to disagree about where a request ends. */
static const char *decode_chunked(h1conn *c, bool *too_large)
{
    for (;;) {
        const char *b = c->sock->input->bytes;
        size_t n = c->sock->input->size;
        if (c->ck == CK_DATA) {
            if (!n) return NULL;
            size_t take = n < c->ck_left ? n : c->ck_left;
            buf_append(&c->body, b, take);
            h2o_buffer_consume(&c->sock->input, take);
            if ((c->ck_left -= take) == 0) c->ck = CK_DATA_END;
            continue;
        }
        if (c->ck == CK_DATA_END) {
            if (n < 2) return NULL;
            if (b[0] != '\r' || b[1] != '\n') return "a chunk does not end in CRLF";
            h2o_buffer_consume(&c->sock->input, 2);
            c->ck = CK_SIZE;
            continue;
        }
        /* CK_SIZE and CK_TRAILER read lines. */
        const char *nl = n ? memchr(b, '\n', n) : NULL;
        if (!nl) return n > MAX_CHUNK_LINE ? "a line is too long" : NULL;
        size_t ll = (size_t)(nl - b);
        if (ll == 0 || b[ll - 1] != '\r') return "a line does not end in CRLF";
        if (--ll > MAX_CHUNK_LINE) return "a line is too long";
        if (c->ck == CK_TRAILER) {
            /* Trailer fields are read past, up to the empty line. */
            h2o_buffer_consume(&c->sock->input, ll + 2);
            if ((c->ck_line += ll + 2) > HTTP_MAX_HEADER_BYTES) return "the trailer is too long";
            if (ll == 0) {
                c->ck = CK_DONE;
                return NULL;
            }
            continue;
        }
        size_t i = 0, size = 0;
        for (int v; i < ll && i < 16 && (v = http_hexval(b[i])) >= 0; i++)
            size = size * 16 + (size_t)v;
        size_t j = i;
        while (j < ll && is_ows(b[j]))
            j++;
        if (i == 0 || (j < ll && b[j] != ';')) return "a chunk size is not hexadecimal";
        if (size > API_MAX_BODY - c->body.len) {
            *too_large = true;
            return "too large";
        }
        h2o_buffer_consume(&c->sock->input, ll + 2); /* b is not used after this */
        c->ck_left = size;
        c->ck = size ? CK_DATA : CK_TRAILER;
        c->ck_line = 0;
    }
}

static void read_chunked(h1conn *c)
{
    bool too_large = false;
    const char *why = decode_chunked(c, &too_large);
    if (!why && c->ck != CK_DONE) return;
    if (why) {
        c->refused = true;
        c->keep_alive = false;
        if (too_large)
            api_error(&c->x->q, 413, "payload_too_large", NULL, "the request body exceeds %u bytes",
                      API_MAX_BODY);
        else
            api_error(&c->x->q, 400, "bad_request", NULL, "the chunked body is malformed: %s", why);
    }
    dispatch(c);
}

/* An upload's body: each piece that arrives goes on to the blob store and
 * leaves the input, so memory holds one socket read, not the body. */
static void read_upload(h1conn *c)
{
    api_req *q = &c->x->q;
    size_t n = c->sock->input->size < c->upload_left ? c->sock->input->size : c->upload_left;
    if (n) set_timer(c, &c->w->io_timeout); /* a stall times out, not a long upload */
    /* Socket reads are small; the disk takes fewer, larger writes. */
    if (n < c->upload_left && n < UPLOAD_BATCH) return;
    if (n) {
        int rc = upload_write(q, c->sock->input->bytes, n);
        h2o_buffer_consume(&c->sock->input, n);
        c->upload_left -= n;
        if (rc) {
            c->refused = true;
            c->keep_alive = false; /* the rest of the body is lingered away */
            dispatch(c);
            return;
        }
    }
    if (c->upload_left) return;
    if (upload_end(q)) c->refused = true;
    dispatch(c);
}

static void start_upload(h1conn *c, bool expect_continue)
{
    api_req *q = &c->x->q;
    bool refused = c->refused;
    if (!refused && c->chunked) {
        refused = true;
        api_error(q, 411, "length_required", "Content-Length",
                  "an upload needs Content-Length (chunked uploads are not taken)");
    } else if (!refused && upload_begin(q, (int64_t)c->content_length)) {
        refused = true;
    }
    if (refused) {
        /* Judged on the head alone: answered at once, before the body. */
        c->refused = true;
        c->keep_alive = false;
        dispatch(c);
        return;
    }
    c->upload = true;
    c->upload_left = c->content_length;
    c->state = H1_BODY;
    if (expect_continue && c->upload_left && c->sock->input->size == 0) {
        static const h2o_iovec_t cont = {H2O_STRLIT("HTTP/1.1 100 Continue\r\n\r\n")};
        c->state = H1_CONTINUE;
        h2o_socket_read_stop(c->sock);
        h2o_socket_write(c->sock, (h2o_iovec_t *)&cont, 1, on_continue_sent);
        return;
    }
    handle_input(c);
}

static void read_body(h1conn *c)
{
    if (c->upload) {
        read_upload(c);
        return;
    }
    if (c->chunked) {
        read_chunked(c);
        return;
    }
    if (c->sock->input->size < c->content_length) return;
    c->consume = c->content_length; /* dropped from the input once answered */
    dispatch(c);
}

/* ------------------------------------------------------------- reading */

static void handle_input(h1conn *c)
{
    if (c->state == H1_HEAD)
        read_head(c);
    else if (c->state == H1_BODY)
        read_body(c);
}

static void on_read(h2o_socket_t *sock, const char *err)
{
    h1conn *c = sock->data;
    if (err) {
        conn_close(c);
        return;
    }
    handle_input(c);
}

/* --------------------------------------------------------------- drain */

static bool busy(h1conn *c)
{
    switch (c->state) {
    case H1_HEAD: return c->sock->input->size > 0;
    case H1_LINGER: return false;
    default: return true;
    }
}

bool http1_busy(http_worker *w)
{
    for (h2o_linklist_t *l = w->h1conns.next; l != &w->h1conns; l = l->next)
        if (busy(H2O_STRUCT_FROM_MEMBER(h1conn, link, l))) return true;
    return false;
}

void http1_close_idle(http_worker *w)
{
    for (h2o_linklist_t *l = w->h1conns.next; l != &w->h1conns; l = l->next) {
        h1conn *c = H2O_STRUCT_FROM_MEMBER(h1conn, link, l);
        if (c->state == H1_HEAD && !busy(c)) linger(c);
    }
}

bool http1_open(http_worker *w)
{
    return !h2o_linklist_is_empty(&w->h1conns);
}

void http1_close_all(http_worker *w)
{
    while (!h2o_linklist_is_empty(&w->h1conns))
        conn_close(H2O_STRUCT_FROM_MEMBER(h1conn, link, w->h1conns.next));
}
