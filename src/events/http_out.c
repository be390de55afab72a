/* http_out.c - see http_out.h.
 *
 * One libcurl multi handle per http_out: its connection cache is what lets
 * POSTs to the same receiver reuse a keep-alive connection, which is most
 * of the cost of a delivery on a fast receiver. Each POST is one easy
 * handle with its own copy of URL, body and headers, on a list so that
 * http_out_free can find what is still in flight. */
#include "events/http_out.h"

#include <arpa/inet.h>
#include <assert.h>
#include <ctype.h>
#include <curl/curl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "core/jw.h"
#include "core/timeutil.h"

/* ---- the SSRF guard's ranges -------------------------------------------- */

static bool v4_refused(uint32_t a)
{
    static const struct {
        uint32_t net;
        int bits;
    } nets[] = {
        {0x00000000u, 8},  /* 0/8 "this network" (0.0.0.0 reaches localhost) */
        {0x0A000000u, 8},  /* 10/8 private */
        {0x64400000u, 10}, /* 100.64/10 carrier-grade NAT */
        {0x7F000000u, 8},  /* 127/8 loopback */
        {0xA9FE0000u, 16}, /* 169.254/16 link-local, cloud metadata */
        {0xAC100000u, 12}, /* 172.16/12 private */
        {0xC0000000u, 24}, /* 192.0.0/24 IETF protocol assignments */
        {0xC0000200u, 24}, /* 192.0.2/24 documentation */
        {0xC0586300u, 24}, /* 192.88.99/24 6to4 relay anycast */
        {0xC0A80000u, 16}, /* 192.168/16 private */
        {0xC6120000u, 15}, /* 198.18/15 benchmarking */
        {0xC6336400u, 24}, /* 198.51.100/24 documentation */
        {0xCB007100u, 24}, /* 203.0.113/24 documentation */
        {0xE0000000u, 4},  /* 224/4 multicast */
        {0xF0000000u, 4},  /* 240/4 reserved, 255.255.255.255 broadcast */
    };
    for (size_t i = 0; i < sizeof nets / sizeof nets[0]; i++) {
        uint32_t mask = ~0u << (32 - nets[i].bits);
        if ((a & mask) == nets[i].net) return true;
    }
    return false;
}

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static bool all_zero(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i]) return false;
    return true;
}

/* Global unicast is 2000::/3; everything outside it that is not an IPv4
 * address in IPv6 clothing is loopback, link-local, unique local,
 * multicast or reserved, so the test is an allow-list, not a deny-list. */
static bool v6_refused(const uint8_t b[16])
{
    /* ::ffff:a.b.c.d (mapped) and ::a.b.c.d (compatible; :: and ::1 too) */
    if (all_zero(b, 10) && ((b[10] == 0xff && b[11] == 0xff) || (b[10] == 0 && b[11] == 0)))
        return v4_refused(be32(b + 12));
    /* 64:ff9b::/96, NAT64 of an IPv4 address */
    static const uint8_t nat64[12] = {0x00, 0x64, 0xff, 0x9b};
    if (memcmp(b, nat64, 12) == 0) return v4_refused(be32(b + 12));
    if ((b[0] & 0xe0) != 0x20) return true;
    if (b[0] == 0x20 && b[1] == 0x02) return v4_refused(be32(b + 2)); /* 6to4 */
    if (b[0] == 0x20 && b[1] == 0x01) {
        if (b[2] == 0x00 && b[3] == 0x00) return true;                   /* Teredo 2001::/32 */
        if (b[2] == 0x0d && b[3] == 0xb8) return true;                   /* documentation */
        if (b[2] == 0x00 && b[3] == 0x02 && !b[4] && !b[5]) return true; /* benchmarking */
    }
    if (b[0] == 0x3f && b[1] == 0xff && (b[2] & 0xf0) == 0) return true; /* documentation */
    return false;
}

bool http_out_addr_refused(const struct sockaddr *sa)
{
    if (!sa) return true;
    if (sa->sa_family == AF_INET) {
        struct sockaddr_in in;
        memcpy(&in, sa, sizeof in);
        return v4_refused(ntohl(in.sin_addr.s_addr));
    }
    if (sa->sa_family == AF_INET6) {
        struct sockaddr_in6 in6;
        memcpy(&in6, sa, sizeof in6);
        return v6_refused(in6.sin6_addr.s6_addr);
    }
    return true;
}

/* ---- URL shape ------------------------------------------------------------ */

static bool refuse(char *why, size_t why_len, const char *msg)
{
    if (why && why_len) snprintf(why, why_len, "%s", msg);
    return false;
}

/* Whether host (as libcurl's URL parser gives it) is a literal address in
 * a refused range or a name for this machine. inet_aton reads every IPv4
 * spelling that glibc's resolver and libcurl accept (hex, octal, one to
 * four parts), so "0x7f000001" and "2130706433" are seen for what they
 * are; a name that only resolves to such an address is caught when the
 * socket is opened. */
static bool host_is_local(const char *host)
{
    char h[HTTP_OUT_URL_MAX + 1];
    snprintf(h, sizeof h, "%s", host);
    size_t n = strlen(h);
    if (n && h[n - 1] == '.') h[--n] = '\0';
    if (h[0] == '[') {
        if (n < 2 || h[n - 1] != ']') return true;
        h[n - 1] = '\0';
        struct sockaddr_in6 in6 = {.sin6_family = AF_INET6};
        if (inet_pton(AF_INET6, h + 1, &in6.sin6_addr) != 1) return true;
        return http_out_addr_refused((const struct sockaddr *)&in6);
    }
    struct sockaddr_in in = {.sin_family = AF_INET};
    if (inet_aton(h, &in.sin_addr)) return http_out_addr_refused((const struct sockaddr *)&in);
    static const char *const names[] = {"localhost", "localhost.localdomain", "ip6-localhost",
                                        "ip6-loopback"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (strcasecmp(h, names[i]) == 0) return true;
    static const char sfx[] = ".localhost"; /* RFC 6761: all of it is loopback */
    return n >= sizeof sfx - 1 && strcasecmp(h + n - (sizeof sfx - 1), sfx) == 0;
}

bool http_out_check_url(const char *url, bool allow_private, char *why, size_t why_len)
{
    if (!url || !*url) return refuse(why, why_len, "url is required");
    size_t n = strlen(url);
    if (n > HTTP_OUT_URL_MAX) return refuse(why, why_len, "url is longer than 2048 characters");
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)url[i];
        if (c <= 0x20 || c >= 0x7f)
            return refuse(why, why_len,
                          "url must not contain spaces, control or non-ASCII characters");
    }
    size_t skip;
    if (strncasecmp(url, "http://", 7) == 0)
        skip = 7;
    else if (strncasecmp(url, "https://", 8) == 0)
        skip = 8;
    else
        return refuse(why, why_len, "url must use http or https");
    /* Any '@' before the path is userinfo, whatever a parser makes of the
     * rest ("http://a\@b" is read two ways by two parsers). */
    const char *auth = url + skip;
    size_t auth_len = strcspn(auth, "/?#");
    if (memchr(auth, '@', auth_len))
        return refuse(why, why_len, "url must not contain a user name or password");
    /* libcurl reads "http:///x" as host "x"; a person meant something else. */
    if (auth_len == 0) return refuse(why, why_len, "url must name a host");

    CURLU *u = curl_url();
    if (!u) return refuse(why, why_len, "out of memory");
    bool ok = false;
    char *host = NULL;
    CURLUcode rc = curl_url_set(u, CURLUPART_URL, url, 0);
    if (rc == CURLUE_NO_HOST ||
        (rc == CURLUE_OK && (curl_url_get(u, CURLUPART_HOST, &host, 0) || !host || !*host)))
        refuse(why, why_len, "url must name a host");
    else if (rc == CURLUE_BAD_PORT_NUMBER)
        refuse(why, why_len, "url has an invalid port");
    else if (rc != CURLUE_OK)
        refuse(why, why_len, "url is not a valid URL");
    else if (!allow_private && host_is_local(host))
        refuse(why, why_len, "url points to a private or loopback address");
    else
        ok = true;
    curl_free(host);
    curl_url_cleanup(u);
    return ok;
}

/* ---- transfers ------------------------------------------------------------ */

typedef struct xfer {
    struct xfer *prev, *next;
    http_out *h;
    CURL *easy;
    struct curl_slist *headers;
    char *body;
    http_out_done done;
    void *ud;
    uint64_t start_ns;
    long timeout_ms;
    long retry_after_s;
    size_t body_seen;
    size_t kept;
    bool body_capped; /* we stopped reading at HTTP_OUT_BODY_READ_MAX */
    bool refused;     /* the guard refused an address */
    bool opened;      /* ... and let another through */
    char refused_addr[INET6_ADDRSTRLEN];
    char addr[INET6_ADDRSTRLEN]; /* the last address tried, and its port */
    int port;
    char raw[HTTP_OUT_EXCERPT_MAX];
    char errbuf[CURL_ERROR_SIZE];
} xfer;

struct http_out {
    CURLM *multi;
    xfer *list; /* in flight */
    int in_flight;
    int max_in_flight;
    bool allow_private;
    bool closing;
};

static pthread_once_t global_once = PTHREAD_ONCE_INIT;

static void global_init(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
}

void http_out_global_init(void)
{
    pthread_once(&global_once, global_init);
}

http_out *http_out_new(bool allow_private, int max_in_flight)
{
    http_out_global_init();
    http_out *h = calloc(1, sizeof *h);
    if (!h) return NULL;
    h->multi = curl_multi_init();
    if (!h->multi) {
        free(h);
        return NULL;
    }
    h->allow_private = allow_private;
    h->max_in_flight = max_in_flight < 1 ? 1 : max_in_flight;
    /* The default cache (4 per easy handle added) shrinks as transfers
     * finish; a fixed size keeps one connection per concurrent POST. */
    curl_multi_setopt(h->multi, CURLMOPT_MAXCONNECTS, (long)h->max_in_flight);
    return h;
}

int http_out_in_flight(const http_out *h)
{
    return h->in_flight;
}

void http_out_wakeup(http_out *h)
{
    curl_multi_wakeup(h->multi);
}

/* libcurl calls this with the address it resolved and is about to connect
 * to; refusing here is what makes "checked" and "connected" one address. */
static curl_socket_t open_socket(void *clientp, curlsocktype purpose, struct curl_sockaddr *a)
{
    xfer *x = clientp;
    if (purpose != CURLSOCKTYPE_IPCXN) return CURL_SOCKET_BAD;
    /* a->addr is declared a struct sockaddr but holds addrlen bytes
     * (libcurl's storage is a union big enough for sockaddr_in6). */
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof ss);
    size_t n = a->addrlen < sizeof ss ? a->addrlen : sizeof ss;
    memcpy(&ss, (const char *)a + offsetof(struct curl_sockaddr, addr), n);
    const void *ip = &((struct sockaddr_in *)&ss)->sin_addr;
    x->port = ntohs(((struct sockaddr_in *)&ss)->sin_port); /* same offset in both */
    if (ss.ss_family == AF_INET6) ip = &((struct sockaddr_in6 *)&ss)->sin6_addr;
    if (!inet_ntop(ss.ss_family, ip, x->addr, sizeof x->addr))
        snprintf(x->addr, sizeof x->addr, "?");
    if (!x->h->allow_private &&
        (n < sizeof(struct sockaddr_in) || http_out_addr_refused((struct sockaddr *)&ss))) {
        x->refused = true;
        memcpy(x->refused_addr, x->addr, sizeof x->addr);
        return CURL_SOCKET_BAD;
    }
    x->opened = true;
    return socket(a->family, a->socktype | SOCK_CLOEXEC, a->protocol);
}

static void parse_retry_after(xfer *x, const char *v, size_t n)
{
    while (n && (*v == ' ' || *v == '\t'))
        v++, n--;
    while (n && (v[n - 1] == '\r' || v[n - 1] == '\n' || v[n - 1] == ' ' || v[n - 1] == '\t'))
        n--;
    x->retry_after_s = -1;
    if (!n || n >= 128) return;
    size_t digits = 0;
    long s = 0;
    while (digits < n && v[digits] >= '0' && v[digits] <= '9') {
        s = s >= 100000000L ? 1000000000L : s * 10 + (v[digits] - '0'); /* ~31 years at most */
        digits++;
    }
    if (digits == n) {
        x->retry_after_s = s;
        return;
    }
    char tmp[128];
    memcpy(tmp, v, n);
    tmp[n] = '\0';
    time_t t = curl_getdate(tmp, NULL);
    if (t == -1) return;
    time_t now = time(NULL);
    x->retry_after_s = t > now ? (long)(t - now) : 0;
}

static size_t on_header(char *p, size_t size, size_t nmemb, void *ud)
{
    xfer *x = ud;
    size_t n = size * nmemb;
    static const char ra[] = "retry-after:";
    if (n >= 5 && memcmp(p, "HTTP/", 5) == 0)
        x->retry_after_s = -1; /* a new response (after a 1xx) */
    else if (n >= sizeof ra - 1 && strncasecmp(p, ra, sizeof ra - 1) == 0)
        parse_retry_after(x, p + sizeof ra - 1, n - (sizeof ra - 1));
    return n;
}

static size_t on_body(char *p, size_t size, size_t nmemb, void *ud)
{
    xfer *x = ud;
    size_t n = size * nmemb;
    if (x->kept < sizeof x->raw) {
        size_t k = n < sizeof x->raw - x->kept ? n : sizeof x->raw - x->kept;
        memcpy(x->raw + x->kept, p, k);
        x->kept += k;
    }
    x->body_seen += n;
    if (x->body_seen > HTTP_OUT_BODY_READ_MAX) {
        /* Reading a big body to keep the connection costs more than a new
         * connection; returning short makes libcurl stop and close it. */
        x->body_capped = true;
        return 0;
    }
    return n;
}

/* The kept bytes as text a person and a JSON writer can take. */
static void make_excerpt(const xfer *x, char out[HTTP_OUT_EXCERPT_MAX + 1])
{
    bool cut = x->body_seen > x->kept;
    size_t i = 0, o = 0, n = x->kept;
    while (i < n) {
        unsigned char c = (unsigned char)x->raw[i];
        if (c < 0x80) {
            if (o + 1 > HTTP_OUT_EXCERPT_MAX) break;
            out[o++] = c < 0x20 || c == 0x7f ? ' ' : (char)c;
            i++;
            continue;
        }
        int s = jw_utf8_seq(x->raw + i, n - i);
        if (s > 0) {
            if (o + (size_t)s > HTTP_OUT_EXCERPT_MAX) break;
            memcpy(out + o, x->raw + i, (size_t)s);
            o += (size_t)s;
            i += (size_t)s;
            continue;
        }
        size_t bad = (size_t)-s;
        if (cut && i + bad == n) break; /* a character cut by the cap */
        if (o + 3 > HTTP_OUT_EXCERPT_MAX) break;
        memcpy(out + o, "\xef\xbf\xbd", 3);
        o += 3;
        i += bad;
    }
    out[o] = '\0';
}

static bool is_tls_error(CURLcode rc)
{
    switch (rc) {
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_CRL_BADFILE:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
    case CURLE_SSL_INVALIDCERTSTATUS:
    case CURLE_SSL_ENGINE_NOTFOUND:
    case CURLE_SSL_ENGINE_SETFAILED:
    case CURLE_SSL_ENGINE_INITFAILED:
    case CURLE_SSL_SHUTDOWN_FAILED: return true;
    default: return false;
    }
}

/* Sets r's error and its message a + b + c, cut to fit (a libcurl detail
 * can be as long as the message). */
static void fail(http_out_result *r, int error, const char *a, const char *b, const char *c)
{
    r->error = error;
    size_t o = 0;
    const char *parts[] = {a, b, c};
    for (int i = 0; i < 3; i++)
        for (const char *p = parts[i]; p && *p && o + 1 < sizeof r->message; p++)
            r->message[o++] = *p;
    r->message[o] = '\0';
}

/* "connection refused (203.0.113.5 port 443)": the system's reason says
 * more than libcurl's "Couldn't connect to server". */
static void connect_failed(xfer *x, http_out_result *r, const char *detail)
{
    long os_errno = 0;
    curl_easy_getinfo(x->easy, CURLINFO_OS_ERRNO, &os_errno);
    if (!os_errno || !x->addr[0]) {
        fail(r, HTTP_OUT_CONNECT, detail, NULL, NULL);
        return;
    }
    char tmp[128], why[128], where[96];
    snprintf(why, sizeof why, "%s", strerror_r((int)os_errno, tmp, sizeof tmp));
    why[0] = (char)tolower((unsigned char)why[0]);
    snprintf(where, sizeof where, " (%s port %d)", x->addr, x->port);
    fail(r, HTTP_OUT_CONNECT, why, where, NULL);
}

static void classify(xfer *x, CURLcode rc, http_out_result *r)
{
    long status = 0;
    curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &status);
    r->status = (int)status;
    r->retry_after_s = x->retry_after_s;
    r->duration_ms = (int64_t)((time_mono_ns() - x->start_ns) / 1000000);
    make_excerpt(x, r->excerpt);
    if (rc == CURLE_WRITE_ERROR && x->body_capped && status) rc = CURLE_OK;
    const char *detail = x->errbuf[0] ? x->errbuf : curl_easy_strerror(rc);
    char num[24];
    switch (rc) {
    case CURLE_OK:
        if (status >= 300 && status < 400) {
            snprintf(num, sizeof num, "%ld", status);
            fail(r, HTTP_OUT_REDIRECT, "redirect (", num, ") not followed");
        } else if (status < 100) {
            fail(r, HTTP_OUT_OTHER, "no HTTP status in the response", NULL, NULL);
        }
        break;
    case CURLE_OPERATION_TIMEDOUT:
        snprintf(num, sizeof num, "%ld", x->timeout_ms);
        fail(r, HTTP_OUT_TIMEOUT, "timed out after ", num, " ms");
        break;
    case CURLE_COULDNT_CONNECT:
        if (x->refused && !x->opened)
            fail(r, HTTP_OUT_REFUSED_ADDRESS, "refused to connect to ", x->refused_addr,
                 ": a private, loopback or link-local address");
        else
            connect_failed(x, r, detail);
        break;
    case CURLE_COULDNT_RESOLVE_HOST: fail(r, HTTP_OUT_DNS, detail, NULL, NULL); break;
    case CURLE_GOT_NOTHING:
    case CURLE_RECV_ERROR:
    case CURLE_SEND_ERROR:
    case CURLE_PARTIAL_FILE: fail(r, HTTP_OUT_CLOSED, "connection closed: ", detail, NULL); break;
    case CURLE_UNSUPPORTED_PROTOCOL:
        fail(r, HTTP_OUT_OTHER, "url scheme is not http or https", NULL, NULL);
        break;
    case CURLE_URL_MALFORMAT: fail(r, HTTP_OUT_OTHER, "url is malformed: ", detail, NULL); break;
    default: fail(r, is_tls_error(rc) ? HTTP_OUT_TLS : HTTP_OUT_OTHER, detail, NULL, NULL); break;
    }
}

static void xfer_free(xfer *x)
{
    if (x->easy) curl_easy_cleanup(x->easy);
    curl_slist_free_all(x->headers);
    free(x->body);
    free(x);
}

static bool has_header(const char *const *headers, int n, const char *name)
{
    size_t len = strlen(name);
    for (int i = 0; i < n; i++)
        if (strncasecmp(headers[i], name, len) == 0 && headers[i][len] == ':') return true;
    return false;
}

static bool add_header(xfer *x, const char *line)
{
    struct curl_slist *l = curl_slist_append(x->headers, line);
    if (!l) return false;
    x->headers = l;
    return true;
}

bool http_out_post(http_out *h, const char *url, const char *const *headers, int nheaders,
                   const char *body, size_t body_len, int timeout_ms, http_out_done done, void *ud)
{
    assert(url && done && (body || !body_len) && (headers || !nheaders));
    if (h->closing || h->in_flight >= h->max_in_flight) return false;
    xfer *x = calloc(1, sizeof *x);
    if (!x) return false;
    x->h = h;
    x->done = done;
    x->ud = ud;
    x->retry_after_s = -1;
    x->timeout_ms = timeout_ms > 0 ? timeout_ms : HTTP_OUT_TIMEOUT_MS;
    x->body = malloc(body_len ? body_len : 1);
    x->easy = curl_easy_init();
    if (!x->body || !x->easy) goto fail;
    if (body_len) memcpy(x->body, body, body_len);
    /* "Expect:" stops libcurl from waiting for a 100 Continue on big
     * bodies: receivers rarely send one, and the wait is a second. */
    if (!has_header(headers, nheaders, "Content-Type") &&
        !add_header(x, "Content-Type: application/json"))
        goto fail;
    if (!add_header(x, "Expect:")) goto fail;
    for (int i = 0; i < nheaders; i++) {
        /* Headers are built by Cairn, never taken raw from a client; a
         * line break would smuggle a header or a request. */
        assert(!strpbrk(headers[i], "\r\n"));
        if (!add_header(x, headers[i])) goto fail;
    }
    CURL *e = x->easy;
    CURLcode rc = CURLE_OK;
#define SET(opt, val)                                                                              \
    if (rc == CURLE_OK) rc = curl_easy_setopt(e, opt, val)
    SET(CURLOPT_URL, url);
    SET(CURLOPT_PROTOCOLS_STR, "http,https");
    SET(CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    SET(CURLOPT_FOLLOWLOCATION, 0L);
    SET(CURLOPT_PROXY, ""); /* never http_proxy & co. from the environment */
    SET(CURLOPT_NOSIGNAL, 1L);
    SET(CURLOPT_SSL_VERIFYPEER, 1L);
    SET(CURLOPT_SSL_VERIFYHOST, 2L);
    SET(CURLOPT_TIMEOUT_MS, x->timeout_ms);
    SET(CURLOPT_USERAGENT, HTTP_OUT_USER_AGENT);
    SET(CURLOPT_HTTPHEADER, x->headers);
    SET(CURLOPT_POST, 1L);
    SET(CURLOPT_POSTFIELDS, x->body);
    SET(CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body_len);
    SET(CURLOPT_OPENSOCKETFUNCTION, open_socket);
    SET(CURLOPT_OPENSOCKETDATA, x);
    SET(CURLOPT_HEADERFUNCTION, on_header);
    SET(CURLOPT_HEADERDATA, x);
    SET(CURLOPT_WRITEFUNCTION, on_body);
    SET(CURLOPT_WRITEDATA, x);
    SET(CURLOPT_ERRORBUFFER, x->errbuf);
    SET(CURLOPT_PRIVATE, x);
#undef SET
    if (rc != CURLE_OK) goto fail;
    x->start_ns = time_mono_ns();
    if (curl_multi_add_handle(h->multi, e) != CURLM_OK) goto fail;
    x->next = h->list;
    if (h->list) h->list->prev = x;
    h->list = x;
    h->in_flight++;
    return true;
fail:
    xfer_free(x);
    return false;
}

/* Takes x off h and frees it; r is filled before, done called after, so a
 * done that posts again finds a free slot. */
static void finish(http_out *h, xfer *x, http_out_result *r)
{
    if (x->prev)
        x->prev->next = x->next;
    else
        h->list = x->next;
    if (x->next) x->next->prev = x->prev;
    h->in_flight--;
    curl_multi_remove_handle(h->multi, x->easy);
    http_out_done done = x->done;
    void *ud = x->ud;
    xfer_free(x);
    done(ud, r);
}

static int collect(http_out *h)
{
    int finished = 0, left;
    CURLMsg *m;
    while ((m = curl_multi_info_read(h->multi, &left))) {
        if (m->msg != CURLMSG_DONE) continue;
        char *priv = NULL;
        curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, &priv);
        xfer *x = (xfer *)priv;
        CURLcode rc = m->data.result;
        http_out_result r = {0};
        classify(x, rc, &r);
        finish(h, x, &r);
        finished++;
    }
    return finished;
}

int http_out_run(http_out *h, int wait_ms)
{
    int running;
    curl_multi_perform(h->multi, &running);
    if (collect(h) == 0 && wait_ms > 0) {
        curl_multi_poll(h->multi, NULL, 0, wait_ms, NULL);
        curl_multi_perform(h->multi, &running);
        collect(h);
    }
    return h->in_flight;
}

void http_out_free(http_out *h)
{
    if (!h) return;
    h->closing = true;
    while (h->list) {
        xfer *x = h->list;
        http_out_result r = {.retry_after_s = -1, .error = HTTP_OUT_ABORTED};
        snprintf(r.message, sizeof r.message, "aborted: the delivery client shut down");
        r.duration_ms = (int64_t)((time_mono_ns() - x->start_ns) / 1000000);
        finish(h, x, &r);
    }
    curl_multi_cleanup(h->multi);
    free(h);
}

const char *http_out_error_name(int error)
{
    switch (error) {
    case HTTP_OUT_OK: return "ok";
    case HTTP_OUT_TIMEOUT: return "timeout";
    case HTTP_OUT_CONNECT: return "connect";
    case HTTP_OUT_REFUSED_ADDRESS: return "refused_address";
    case HTTP_OUT_REDIRECT: return "redirect";
    case HTTP_OUT_CLOSED: return "closed";
    case HTTP_OUT_DNS: return "dns";
    case HTTP_OUT_TLS: return "tls";
    case HTTP_OUT_ABORTED: return "aborted";
    default: return "other";
    }
}
