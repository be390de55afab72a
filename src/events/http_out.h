/* http_out.h - outbound HTTP POSTs, many in flight, with an SSRF guard.
 *
 * Owns: one libcurl multi handle and the transfers on it; the shape check
 * of a URL a client gives us to call (http_out_check_url) and the list of
 * address ranges Cairn refuses to connect to (http_out_addr_refused); the
 * classification of what came back into a status or one transport error.
 * It knows nothing of webhooks, signatures, stores or JSON: the webhook
 * delivery worker (issue 14) builds the body and headers and decides what
 * a status means (2xx success, 410 disable, 429/503 wait retry_after_s).
 *
 * The SSRF guard is applied to the address the socket connects to, in
 * libcurl's open-socket callback, after libcurl's own resolver has picked
 * it: the address checked is the address connected, and nothing resolves
 * the name again in between (no DNS rebinding window). A reused keep-alive
 * connection was checked when it was opened. Redirects are never followed
 * (a 3xx is HTTP_OUT_REDIRECT), proxies from the environment are ignored,
 * only http and https are spoken, and TLS certificates are verified.
 *
 * Threads: curl_global_init must run once before any thread uses libcurl;
 * call http_out_global_init() from main() before starting threads (it is
 * idempotent; http_out_new calls it too, as a safety net for tests and
 * tools). One http_out belongs to the one thread that calls http_out_run;
 * only http_out_wakeup may be called from another thread. */
#ifndef CAIRN_HTTP_OUT_H
#define CAIRN_HTTP_OUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#define HTTP_OUT_URL_MAX       2048
#define HTTP_OUT_TIMEOUT_MS    15000 /* the delivery timeout; timeout_ms <= 0 uses it */
#define HTTP_OUT_EXCERPT_MAX   1024  /* bytes of the response body kept */
#define HTTP_OUT_BODY_READ_MAX 65536 /* read (and drop) this much to keep the connection */
#define HTTP_OUT_USER_AGENT    "Cairn-Webhooks/1"
#define HTTP_OUT_MESSAGE_MAX   256

/* What went wrong on the way. Any status but a 3xx is HTTP_OUT_OK: the
 * caller judges 2xx, 410, 429 and the rest. */
enum {
    HTTP_OUT_OK = 0,
    HTTP_OUT_TIMEOUT,         /* the overall timeout passed */
    HTTP_OUT_CONNECT,         /* no TCP connection (refused, unreachable) */
    HTTP_OUT_REFUSED_ADDRESS, /* the SSRF guard refused every address */
    HTTP_OUT_REDIRECT,        /* a 3xx came (status holds it); not followed */
    HTTP_OUT_CLOSED,          /* closed or reset before a whole response */
    HTTP_OUT_DNS,             /* the host name did not resolve */
    HTTP_OUT_TLS,             /* handshake or certificate verification failed */
    HTTP_OUT_ABORTED,         /* http_out_free ran with the POST in flight */
    HTTP_OUT_OTHER,           /* anything else (bad URL, scheme, protocol error) */
};

typedef struct http_out_result {
    int status;                             /* HTTP status; 0 when none came */
    int error;                              /* HTTP_OUT_OK or one of the above */
    char message[HTTP_OUT_MESSAGE_MAX];     /* short human reason; "" on success */
    long retry_after_s;                     /* Retry-After (seconds or HTTP date,
                                               never negative); -1 absent or unparseable */
    char excerpt[HTTP_OUT_EXCERPT_MAX + 1]; /* start of the response body: valid UTF-8
                                               (ill-formed bytes become U+FFFD, a character
                                               cut at the cap is dropped), control bytes
                                               become spaces; NUL-terminated */
    int64_t duration_ms;                    /* from http_out_post to completion */
} http_out_result;

/* Runs curl_global_init once per process (thread-safe, idempotent). Call it
 * from main() before any thread starts. */
void http_out_global_init(void);

/* Checks the shape of a URL before anything is stored: http:// or https://
 * only, a host, no user:password@, at most HTTP_OUT_URL_MAX bytes, printable
 * ASCII only (no spaces, control bytes, or raw non-ASCII: percent-encode
 * paths, punycode hosts). Unless allow_private, also refuses a host that is
 * a literal address in a refused range (in any spelling libc and libcurl
 * accept: 0x7f000001, 2130706433, 127.1, [::ffff:127.0.0.1]) or a name
 * that means this machine ("localhost", "*.localhost"). Names that resolve
 * to refused addresses are caught when connecting. On false writes a
 * client-facing reason into why ("url must use http or https", ...). */
bool http_out_check_url(const char *url, bool allow_private, char *why, size_t why_len);

/* Whether Cairn refuses to connect to this address (AF_INET or AF_INET6;
 * any other family is refused): IPv4 0/8, 10/8, 100.64/10 (CGNAT), 127/8,
 * 169.254/16 (link-local and cloud metadata), 172.16/12, 192.0.0/24,
 * the documentation nets, 192.88.99/24, 192.168/16, 198.18/15, 224/4
 * (multicast), 240/4 (reserved and broadcast); IPv6 ::, ::1, fc00::/7
 * (unique local, AWS fd00:ec2::254 included), fe80::/10, fec0::/10,
 * ff00::/8, 100::/64, 2001:db8::/32, 3fff::/20, 64:ff9b:1::/48, Teredo
 * 2001::/32, and IPv4-mapped (::ffff:0:0/96), IPv4-compatible (::/96),
 * NAT64 (64:ff9b::/96) and 6to4 (2002::/16) addresses whose IPv4 address is
 * refused. */
bool http_out_addr_refused(const struct sockaddr *sa);

typedef struct http_out http_out;

/* A client for up to max_in_flight concurrent POSTs (at least 1). With
 * allow_private the SSRF guard is off (`cairn serve --webhook-allow-private`,
 * tests). Keep-alive connections are kept, up to max_in_flight, and reused
 * for the next POST to the same host and port. NULL when out of memory. */
http_out *http_out_new(bool allow_private, int max_in_flight);

/* Aborts every POST in flight, calling each one's done with error
 * HTTP_OUT_ABORTED (so whatever ud owns can be released; the caller should
 * not count it as an attempt), then frees h. Not from inside a done. NULL
 * is a no-op. */
void http_out_free(http_out *h);

typedef void (*http_out_done)(void *ud, const http_out_result *r);

/* Queues a POST of body[0..body_len) with Content-Type: application/json,
 * User-Agent HTTP_OUT_USER_AGENT and headers ("Name: value" strings) to url,
 * with timeout_ms for the whole exchange (<= 0: HTTP_OUT_TIMEOUT_MS). url,
 * headers and body are copied. A Content-Type among headers replaces the
 * default; no header may hold CR or LF (asserted: Cairn builds them, a
 * client's text never goes here raw). done(ud, r) is called exactly once, from
 * http_out_run (or http_out_free) on h's thread; r is valid during the
 * call. done may call http_out_post. Returns false, and never calls done,
 * when max_in_flight POSTs are already in flight or memory ran out. The URL
 * is not shape-checked here (http_out_check_url is for when it is stored);
 * a bad one completes with HTTP_OUT_OTHER. */
bool http_out_post(http_out *h, const char *url, const char *const *headers, int nheaders,
                   const char *body, size_t body_len, int timeout_ms, http_out_done done, void *ud);

/* Moves transfers along and calls done for each that finished; waits up to
 * wait_ms for network activity when nothing finished at once (also when
 * nothing is in flight, so a worker can idle here), returning early on
 * http_out_wakeup. Returns how many POSTs are still in flight. */
int http_out_run(http_out *h, int wait_ms);

/* Makes a concurrent or next http_out_run return without waiting; the only
 * call that is safe from another thread. */
void http_out_wakeup(http_out *h);

int http_out_in_flight(const http_out *h);

/* The enum name of an error, for logs and tests ("timeout", "connect", ...). */
const char *http_out_error_name(int error);

#endif
