/* test_http_out.c - src/events/http_out: the URL shape check, the SSRF
 * address table, and real POSTs to a loopback HTTP/1.1 receiver.
 *
 * The receiver is a thread in this process on 127.0.0.1, port 0, serving
 * many keep-alive connections from one poll loop; what it answers depends
 * on the request path (see answer()). It records what it got, so tests
 * check the bytes that went over the wire, and it stops when told or, at
 * the latest, RX_LIFETIME_MS after it started. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "core/jw.h"
#include "core/timeutil.h"
#include "events/http_out.h"
#include "test.h"

/* ---- the receiver ------------------------------------------------------- */

#define RX_CONNS       256
#define RX_BUF         16384
#define RX_LIFETIME_MS 60000

typedef struct rx_conn {
    int fd;
    bool hold; /* /slow: never answered */
    size_t len;
    char buf[RX_BUF];
} rx_conn;

typedef struct receiver {
    int lfd, port;
    int stop[2];
    pthread_t th;
    atomic_int accepted, requests, target_hits;
    pthread_mutex_t mu;
    char last_head[4096];
    char last_body[8192];
    size_t last_body_len;
    rx_conn *conns[RX_CONNS];
} receiver;

static void send_all(int fd, const char *p, size_t n)
{
    while (n) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w <= 0) return; /* the client went away: nothing to do */
        p += w;
        n -= (size_t)w;
    }
}

static void respond(int fd, int status, const char *extra, const char *body, size_t body_len)
{
    char head[512];
    int n = snprintf(head, sizeof head, "HTTP/1.1 %d X\r\nContent-Length: %zu\r\n%s\r\n", status,
                     body_len, extra);
    send_all(fd, head, (size_t)n);
    if (body_len) send_all(fd, body, body_len);
}

/* The 1024-byte cap falls inside "é" (bytes 1023 and 1024), after some
 * control bytes. */
static size_t big_body(char *out)
{
    memset(out, 'a', 3000);
    memcpy(out, "line1\nline2\t\x01z", 14);
    memcpy(out + 1023, "\xc3\xa9", 2);
    return 3000;
}

/* Answers one request; false when the connection is to be closed. */
static bool answer(receiver *rx, rx_conn *c, const char *path, const char *head, size_t head_len,
                   const char *body, size_t body_len)
{
    atomic_fetch_add(&rx->requests, 1);
    if (strcmp(path, "/echo") == 0) {
        pthread_mutex_lock(&rx->mu);
        size_t hn = head_len < sizeof rx->last_head - 1 ? head_len : sizeof rx->last_head - 1;
        memcpy(rx->last_head, head, hn);
        rx->last_head[hn] = '\0';
        rx->last_body_len = body_len < sizeof rx->last_body ? body_len : sizeof rx->last_body;
        memcpy(rx->last_body, body, rx->last_body_len);
        pthread_mutex_unlock(&rx->mu);
        respond(c->fd, 200, "", body, body_len);
    } else if (strcmp(path, "/ok") == 0) {
        respond(c->fd, 200, "", "ok", 2);
    } else if (strcmp(path, "/nocontent") == 0) {
        respond(c->fd, 204, "", "", 0);
    } else if (strcmp(path, "/fail") == 0) {
        respond(c->fd, 500, "", "internal error\n", 15);
    } else if (strcmp(path, "/gone") == 0) {
        respond(c->fd, 410, "", "gone", 4);
    } else if (strcmp(path, "/busy") == 0) {
        respond(c->fd, 429, "Retry-After: 7\r\n", "slow down", 9);
    } else if (strcmp(path, "/unavailable") == 0) {
        char date[64], extra[128];
        time_t t = time(NULL) + 120;
        struct tm tm;
        gmtime_r(&t, &tm);
        strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S GMT", &tm);
        snprintf(extra, sizeof extra, "retry-after:  %s\r\n", date);
        respond(c->fd, 503, extra, "", 0);
    } else if (strcmp(path, "/bad-retry") == 0) {
        respond(c->fd, 503, "Retry-After: soon\r\n", "", 0);
    } else if (strcmp(path, "/redirect") == 0) {
        respond(c->fd, 302, "Location: /target\r\n", "", 0);
    } else if (strcmp(path, "/target") == 0) {
        atomic_fetch_add(&rx->target_hits, 1);
        respond(c->fd, 200, "", "", 0);
    } else if (strcmp(path, "/big") == 0) {
        char b[3000];
        respond(c->fd, 200, "", b, big_body(b));
    } else if (strcmp(path, "/bad-utf8") == 0) {
        respond(c->fd, 200, "", "ok \xff\xfe done \x7f", 12);
    } else if (strcmp(path, "/huge") == 0) {
        static char b[200000];
        memset(b, 'x', sizeof b);
        respond(c->fd, 200, "", b, sizeof b);
    } else if (strcmp(path, "/slow") == 0) {
        c->hold = true;
    } else if (strcmp(path, "/close") == 0) {
        return false;
    } else {
        respond(c->fd, 404, "", "", 0);
    }
    return true;
}

/* Answers every whole request in c's buffer; false to close. */
static bool serve_buffer(receiver *rx, rx_conn *c)
{
    for (;;) {
        if (c->hold) {
            c->len = 0;
            return true;
        }
        if (c->buf[0] == 0x16) { /* a TLS ClientHello: answer in plain HTTP */
            respond(c->fd, 400, "Connection: close\r\n", "", 0);
            return false;
        }
        char *end = memmem(c->buf, c->len, "\r\n\r\n", 4);
        if (!end) return c->len < sizeof c->buf;
        size_t head_len = (size_t)(end - c->buf) + 4;
        size_t body_len = 0;
        for (char *p = c->buf; p < end; p++) {
            if (p[0] == '\n' && strncasecmp(p + 1, "content-length:", 15) == 0) {
                body_len = strtoul(p + 16, NULL, 10);
                break;
            }
        }
        if (head_len + body_len > sizeof c->buf) return false;
        if (c->len < head_len + body_len) return true;
        char path[256] = "";
        sscanf(c->buf, "%*s %255s", path);
        if (!answer(rx, c, path, c->buf, head_len, c->buf + head_len, body_len)) return false;
        memmove(c->buf, c->buf + head_len + body_len, c->len - head_len - body_len);
        c->len -= head_len + body_len;
    }
}

static void *rx_main(void *arg)
{
    receiver *rx = arg;
    uint64_t end = time_mono_ns() + (uint64_t)RX_LIFETIME_MS * 1000000;
    struct pollfd pfd[RX_CONNS + 2];
    int idx[RX_CONNS + 2];
    while (time_mono_ns() < end) {
        int n = 0;
        pfd[n++] = (struct pollfd){.fd = rx->stop[0], .events = POLLIN};
        pfd[n++] = (struct pollfd){.fd = rx->lfd, .events = POLLIN};
        for (int i = 0; i < RX_CONNS; i++) {
            if (!rx->conns[i]) continue;
            idx[n] = i;
            pfd[n++] = (struct pollfd){.fd = rx->conns[i]->fd, .events = POLLIN};
        }
        if (poll(pfd, (nfds_t)n, 100) < 0 && errno != EINTR) break;
        if (pfd[0].revents) break;
        if (pfd[1].revents & POLLIN) {
            int fd = accept4(rx->lfd, NULL, NULL, SOCK_CLOEXEC);
            int slot = -1;
            for (int i = 0; fd >= 0 && i < RX_CONNS && slot < 0; i++)
                if (!rx->conns[i]) slot = i;
            if (slot >= 0 && (rx->conns[slot] = calloc(1, sizeof(rx_conn)))) {
                /* The head and body go out in two sends; without this,
                 * Nagle holds the body for the client's delayed ACK. */
                int one = 1;
                setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
                rx->conns[slot]->fd = fd;
                atomic_fetch_add(&rx->accepted, 1);
            } else if (fd >= 0) {
                close(fd);
            }
        }
        for (int k = 2; k < n; k++) {
            if (!pfd[k].revents) continue;
            rx_conn *c = rx->conns[idx[k]];
            ssize_t r = recv(c->fd, c->buf + c->len, sizeof c->buf - c->len, 0);
            bool keep = r > 0;
            if (keep) {
                c->len += (size_t)r;
                keep = serve_buffer(rx, c);
            }
            if (!keep) {
                close(c->fd);
                free(c);
                rx->conns[idx[k]] = NULL;
            }
        }
    }
    for (int i = 0; i < RX_CONNS; i++) {
        if (!rx->conns[i]) continue;
        close(rx->conns[i]->fd);
        free(rx->conns[i]);
        rx->conns[i] = NULL;
    }
    return NULL;
}

static bool rx_start(receiver *rx)
{
    memset(rx, 0, sizeof *rx);
    pthread_mutex_init(&rx->mu, NULL);
    rx->lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t al = sizeof a;
    if (rx->lfd < 0 || bind(rx->lfd, (struct sockaddr *)&a, sizeof a) || listen(rx->lfd, 256) ||
        getsockname(rx->lfd, (struct sockaddr *)&a, &al) || pipe2(rx->stop, O_CLOEXEC)) {
        test_fail(__FILE__, __LINE__, "receiver: %s", strerror(errno));
        return false;
    }
    rx->port = ntohs(a.sin_port);
    if (pthread_create(&rx->th, NULL, rx_main, rx)) {
        test_fail(__FILE__, __LINE__, "receiver thread");
        return false;
    }
    return true;
}

static void rx_stop(receiver *rx)
{
    if (write(rx->stop[1], "x", 1) != 1) test_fail(__FILE__, __LINE__, "stop receiver");
    pthread_join(rx->th, NULL);
    close(rx->stop[0]);
    close(rx->stop[1]);
    close(rx->lfd);
    pthread_mutex_destroy(&rx->mu);
}

static const char *rx_url(const receiver *rx, const char *path)
{
    static char bufs[4][128];
    static int next;
    char *b = bufs[next++ % 4];
    snprintf(b, sizeof bufs[0], "http://127.0.0.1:%d%s", rx->port, path);
    return b;
}

/* ---- the client side ---------------------------------------------------- */

typedef struct got {
    int calls;
    http_out_result r;
} got;

static void on_done(void *ud, const http_out_result *r)
{
    got *g = ud;
    g->calls++;
    g->r = *r;
}

/* Runs h until g has n calls; bounded, so a broken client fails the test
 * instead of hanging the suite. */
static void run_until(http_out *h, const int *calls, int n)
{
    uint64_t end = time_mono_ns() + 20000000000ull;
    while (*calls < n && time_mono_ns() < end)
        http_out_run(h, 50);
}

/* One POST of a small JSON body; its result. */
static http_out_result post1(http_out *h, const char *url, int timeout_ms)
{
    got g = {0};
    const char *body = "{\"a\":1}";
    if (!CHECK(http_out_post(h, url, NULL, 0, body, strlen(body), timeout_ms, on_done, &g)))
        return (http_out_result){.error = -1};
    run_until(h, &g.calls, 1);
    CHECK_EQ_INT(g.calls, 1);
    CHECK_EQ_INT(http_out_in_flight(h), 0);
    return g.r;
}

TEST(http_out_sends_headers_and_body_exactly)
{
    receiver rx;
    if (!rx_start(&rx)) return;
    http_out *h = http_out_new(true, 4);
    const char *hdrs[] = {"webhook-id: msg_1", "webhook-timestamp: 1614265330",
                          "webhook-signature: v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="};
    static const char body[] = "{\"type\":\"contact.created\",\"name\":\"Zo\xc3\xab\"}\0tail";
    size_t blen = sizeof body - 1;
    got g = {0};
    CHECK(http_out_post(h, rx_url(&rx, "/echo"), hdrs, 3, body, blen, 0, on_done, &g));
    CHECK_EQ_INT(http_out_in_flight(h), 1);
    run_until(h, &g.calls, 1);
    CHECK_EQ_INT(g.calls, 1);
    CHECK_EQ_INT(g.r.status, 200);
    CHECK_EQ_INT(g.r.error, HTTP_OUT_OK);
    CHECK_STR(g.r.message, "");
    CHECK_EQ_INT(g.r.retry_after_s, -1);
    CHECK(g.r.duration_ms >= 0);
    /* The echoed body, NUL shown as a space. */
    CHECK_STR(g.r.excerpt, "{\"type\":\"contact.created\",\"name\":\"Zo\xc3\xab\"} tail");

    pthread_mutex_lock(&rx.mu);
    CHECK_EQ_INT(rx.last_body_len, blen);
    CHECK(memcmp(rx.last_body, body, blen) == 0);
    const char *head = rx.last_head;
    char line[64];
    snprintf(line, sizeof line, "\r\nContent-Length: %zu\r\n", blen);
    CHECK(strncmp(head, "POST /echo HTTP/1.1\r\n", 21) == 0);
    CHECK(strstr(head, line));
    CHECK(strstr(head, "\r\nContent-Type: application/json\r\n"));
    CHECK(strstr(head, "\r\nUser-Agent: Cairn-Webhooks/1\r\n"));
    CHECK(strstr(head, "\r\nwebhook-id: msg_1\r\n"));
    CHECK(strstr(head, "\r\nwebhook-timestamp: 1614265330\r\n"));
    CHECK(
        strstr(head, "\r\nwebhook-signature: v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=\r\n"));
    CHECK(!strcasestr(head, "\nExpect:"));
    CHECK(!strcasestr(head, "\nProxy"));
    CHECK(!strcasestr(head, "\nCookie"));
    pthread_mutex_unlock(&rx.mu);

    /* A caller's Content-Type replaces the default, not doubles it. */
    const char *ct[] = {"Content-Type: application/cloudevents+json"};
    g.calls = 0;
    CHECK(http_out_post(h, rx_url(&rx, "/echo"), ct, 1, "{}", 2, 0, on_done, &g));
    run_until(h, &g.calls, 1);
    CHECK_EQ_INT(g.r.status, 200);
    pthread_mutex_lock(&rx.mu);
    CHECK(strstr(rx.last_head, "\r\nContent-Type: application/cloudevents+json\r\n"));
    CHECK(!strstr(rx.last_head, "application/json"));
    pthread_mutex_unlock(&rx.mu);

    http_out_free(h);
    rx_stop(&rx);
}

TEST(http_out_reports_statuses_and_retry_after)
{
    receiver rx;
    if (!rx_start(&rx)) return;
    http_out *h = http_out_new(true, 4);
    http_out_result r = post1(h, rx_url(&rx, "/nocontent"), 0);
    CHECK_EQ_INT(r.status, 204);
    CHECK_EQ_INT(r.error, HTTP_OUT_OK);
    CHECK_STR(r.excerpt, "");

    r = post1(h, rx_url(&rx, "/fail"), 0);
    CHECK_EQ_INT(r.status, 500);
    CHECK_EQ_INT(r.error, HTTP_OUT_OK); /* a status came: the caller judges it */
    CHECK_EQ_INT(r.retry_after_s, -1);
    CHECK_STR(r.excerpt, "internal error "); /* the newline made a space */

    r = post1(h, rx_url(&rx, "/gone"), 0);
    CHECK_EQ_INT(r.status, 410);
    CHECK_EQ_INT(r.error, HTTP_OUT_OK);
    CHECK_STR(r.excerpt, "gone");

    r = post1(h, rx_url(&rx, "/busy"), 0);
    CHECK_EQ_INT(r.status, 429);
    CHECK_EQ_INT(r.retry_after_s, 7);
    CHECK_STR(r.excerpt, "slow down");

    /* An HTTP date two minutes ahead; the bounds leave room for a slow
     * machine between the receiver's clock read and ours. */
    r = post1(h, rx_url(&rx, "/unavailable"), 0);
    CHECK_EQ_INT(r.status, 503);
    CHECK(r.retry_after_s > 60 && r.retry_after_s <= 120);

    r = post1(h, rx_url(&rx, "/bad-retry"), 0);
    CHECK_EQ_INT(r.status, 503);
    CHECK_EQ_INT(r.retry_after_s, -1);

    r = post1(h, rx_url(&rx, "/nowhere"), 0);
    CHECK_EQ_INT(r.status, 404);
    CHECK_EQ_INT(r.error, HTTP_OUT_OK);
    /* Everything above went over one keep-alive connection. */
    CHECK_EQ_INT(atomic_load(&rx.accepted), 1);
    http_out_free(h);
    rx_stop(&rx);
}

TEST(http_out_does_not_follow_redirects)
{
    receiver rx;
    if (!rx_start(&rx)) return;
    http_out *h = http_out_new(true, 4);
    http_out_result r = post1(h, rx_url(&rx, "/redirect"), 0);
    CHECK_EQ_INT(r.status, 302);
    CHECK_EQ_INT(r.error, HTTP_OUT_REDIRECT);
    CHECK_STR(r.message, "redirect (302) not followed");
    CHECK_STR(http_out_error_name(r.error), "redirect");
    http_out_free(h);
    rx_stop(&rx);
    CHECK_EQ_INT(atomic_load(&rx.requests), 1);
    CHECK_EQ_INT(atomic_load(&rx.target_hits), 0);
}

TEST(http_out_excerpt_is_capped_clean_utf8)
{
    receiver rx;
    if (!rx_start(&rx)) return;
    http_out *h = http_out_new(true, 4);
    http_out_result r = post1(h, rx_url(&rx, "/big"), 0);
    CHECK_EQ_INT(r.status, 200);
    char want[3000];
    big_body(want);
    want[1023] = '\0'; /* the cut "é" is dropped whole */
    memcpy(want, "line1 line2  z", 14);
    CHECK_EQ_INT(strlen(r.excerpt), 1023);
    CHECK_STR(r.excerpt, want);
    CHECK(jw_utf8_valid(r.excerpt, strlen(r.excerpt)));

    r = post1(h, rx_url(&rx, "/bad-utf8"), 0);
    CHECK_STR(r.excerpt, "ok \xef\xbf\xbd\xef\xbf\xbd done  ");

    /* A body far past the read cap: the status stands, the connection is
     * dropped rather than drained. */
    r = post1(h, rx_url(&rx, "/huge"), 0);
    CHECK_EQ_INT(r.status, 200);
    CHECK_EQ_INT(r.error, HTTP_OUT_OK);
    CHECK_EQ_INT(strlen(r.excerpt), HTTP_OUT_EXCERPT_MAX);
    r = post1(h, rx_url(&rx, "/ok"), 0);
    CHECK_EQ_INT(r.status, 200);
    CHECK_STR(r.excerpt, "ok");
    http_out_free(h);
    rx_stop(&rx);
}

TEST(http_out_reports_transport_failures)
{
    receiver rx;
    if (!rx_start(&rx)) return;
    http_out *h = http_out_new(true, 4);

    http_out_result r = post1(h, rx_url(&rx, "/slow"), 300);
    CHECK_EQ_INT(r.error, HTTP_OUT_TIMEOUT);
    CHECK_EQ_INT(r.status, 0);
    CHECK_STR(r.message, "timed out after 300 ms");
    CHECK(r.duration_ms >= 290);

    r = post1(h, rx_url(&rx, "/close"), 0);
    CHECK_EQ_INT(r.error, HTTP_OUT_CLOSED);
    CHECK_EQ_INT(r.status, 0);
    CHECK(strncmp(r.message, "connection closed", 17) == 0);

    /* A bound socket that does not listen: the SYN gets a reset. */
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t al = sizeof a;
    CHECK(bind(fd, (struct sockaddr *)&a, sizeof a) == 0);
    CHECK(getsockname(fd, (struct sockaddr *)&a, &al) == 0);
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/x", ntohs(a.sin_port));
    r = post1(h, url, 0);
    CHECK_EQ_INT(r.error, HTTP_OUT_CONNECT);
    CHECK_EQ_INT(r.status, 0);
    char want[64];
    snprintf(want, sizeof want, "connection refused (127.0.0.1 port %d)", ntohs(a.sin_port));
    CHECK_STR(r.message, want);
    close(fd);

    /* TLS to a plain HTTP receiver: the handshake fails. */
    r = post1(h, rx_url(&rx, "/ok"), 0);
    CHECK_EQ_INT(r.status, 200);
    char tls[64];
    snprintf(tls, sizeof tls, "https://127.0.0.1:%d/ok", rx.port);
    r = post1(h, tls, 0);
    CHECK_EQ_INT(r.error, HTTP_OUT_TLS);
    CHECK_EQ_INT(r.status, 0);

    /* The scheme guard holds even for a URL that was never checked. */
    r = post1(h, "ftp://127.0.0.1/x", 0);
    CHECK_EQ_INT(r.error, HTTP_OUT_OTHER);
    CHECK_STR(r.message, "url scheme is not http or https");
    r = post1(h, "file:///etc/passwd", 0);
    CHECK_EQ_INT(r.error, HTTP_OUT_OTHER);
    CHECK_STR(r.excerpt, "");

    http_out_free(h);
    rx_stop(&rx);
}

TEST(http_out_refuses_private_addresses_when_connecting)
{
    receiver rx;
    if (!rx_start(&rx)) return;
    http_out *h = http_out_new(false, 4);
    http_out_result r = post1(h, rx_url(&rx, "/echo"), 0);
    CHECK_EQ_INT(r.error, HTTP_OUT_REFUSED_ADDRESS);
    CHECK_EQ_INT(r.status, 0);
    CHECK_STR(r.message,
              "refused to connect to 127.0.0.1: a private, loopback or link-local address");
    /* A name is checked by the address it resolves to. */
    char url[64];
    snprintf(url, sizeof url, "http://localhost:%d/echo", rx.port);
    r = post1(h, url, 0);
    CHECK_EQ_INT(r.error, HTTP_OUT_REFUSED_ADDRESS);
    /* So is a spelling the shape check would also catch. */
    snprintf(url, sizeof url, "http://2130706433:%d/echo", rx.port);
    r = post1(h, url, 0);
    CHECK_EQ_INT(r.error, HTTP_OUT_REFUSED_ADDRESS);
    http_out_free(h);
    rx_stop(&rx);
    CHECK_EQ_INT(atomic_load(&rx.accepted), 0);
}

static void count_ok(void *ud, const http_out_result *r)
{
    int *n = ud;
    if (r->status == 200 && r->error == HTTP_OUT_OK) n[0]++;
    n[1]++;
}

TEST(http_out_reuses_connections_under_load)
{
    receiver rx;
    if (!rx_start(&rx)) return;
    enum { MAX = 64 };
    int total = 2000;
    const char *env = getenv("CAIRN_HTTP_OUT_BENCH"); /* a manual throughput figure */
    if (env) total = (int)strtol(env, NULL, 10);
    http_out *h = http_out_new(true, MAX);
    const char *url = rx_url(&rx, "/ok");
    const char *hdrs[] = {"webhook-id: msg_x"};
    const char *body = "{\"type\":\"contact.created\",\"data\":{\"id\":\"con_123\"}}";
    int posted = 0, n[2] = {0, 0}; /* count_ok: successes, calls */
    uint64_t t0 = time_mono_ns(), end = t0 + 60000000000ull;
    while (n[1] < total && time_mono_ns() < end) {
        while (posted < total && http_out_post(h, url, hdrs, 1, body, strlen(body), 0, count_ok, n))
            posted++;
        http_out_run(h, 50);
    }
    double secs = (double)(time_mono_ns() - t0) / 1e9;
    CHECK_EQ_INT(n[1], total);
    CHECK_EQ_INT(n[0], total);
    CHECK_EQ_INT(atomic_load(&rx.requests), total);
    /* One connection per concurrent POST, then reused. */
    CHECK(atomic_load(&rx.accepted) <= MAX);
    if (env)
        printf("http_out: %d posts in %.3f s = %.0f posts/s over %d connections\n", total, secs,
               total / secs, atomic_load(&rx.accepted));
    http_out_free(h);
    rx_stop(&rx);
}

TEST(http_out_limits_in_flight_and_aborts_on_free)
{
    receiver rx;
    if (!rx_start(&rx)) return;
    http_out *h = http_out_new(true, 2);
    got a = {0}, b = {0}, c = {0};
    CHECK(http_out_post(h, rx_url(&rx, "/slow"), NULL, 0, "{}", 2, 0, on_done, &a));
    CHECK(http_out_post(h, rx_url(&rx, "/slow"), NULL, 0, "{}", 2, 0, on_done, &b));
    CHECK(!http_out_post(h, rx_url(&rx, "/ok"), NULL, 0, "{}", 2, 0, on_done, &c));
    CHECK_EQ_INT(http_out_in_flight(h), 2);
    /* Let both reach the receiver, then shut down with them in flight. */
    uint64_t end = time_mono_ns() + 10000000000ull;
    while (atomic_load(&rx.requests) < 2 && time_mono_ns() < end)
        http_out_run(h, 20);
    CHECK_EQ_INT(atomic_load(&rx.requests), 2);
    CHECK_EQ_INT(a.calls + b.calls, 0);
    http_out_free(h);
    CHECK_EQ_INT(a.calls, 1);
    CHECK_EQ_INT(b.calls, 1);
    CHECK_EQ_INT(c.calls, 0);
    CHECK_EQ_INT(a.r.error, HTTP_OUT_ABORTED);
    CHECK_EQ_INT(b.r.status, 0);
    rx_stop(&rx);
}

typedef struct chain {
    http_out *h;
    const char *url;
    int n[2];
    int left;
} chain;

/* A done that posts the next one, as a delivery worker would. */
static void chain_done(void *ud, const http_out_result *r)
{
    chain *c = ud;
    count_ok(c->n, r);
    if (c->left > 0 && http_out_post(c->h, c->url, NULL, 0, "{}", 2, 0, chain_done, c)) c->left--;
}

TEST(http_out_done_may_post_again)
{
    receiver rx;
    if (!rx_start(&rx)) return;
    http_out *h = http_out_new(true, 1);
    chain c = {h, rx_url(&rx, "/ok"), {0, 0}, 9};
    CHECK(http_out_post(h, c.url, NULL, 0, "{}", 2, 0, chain_done, &c));
    run_until(h, &c.n[1], 10);
    CHECK_EQ_INT(c.n[0], 10);
    CHECK_EQ_INT(c.n[1], 10);
    CHECK_EQ_INT(http_out_in_flight(h), 0);
    http_out_free(h);
    rx_stop(&rx);
}

static void *wake_later(void *arg)
{
    struct timespec ts = {0, 50000000};
    nanosleep(&ts, NULL);
    http_out_wakeup(arg);
    return NULL;
}

TEST(http_out_wakeup_ends_an_idle_wait)
{
    http_out *h = http_out_new(false, 1);
    pthread_t th;
    CHECK(pthread_create(&th, NULL, wake_later, h) == 0);
    uint64_t t0 = time_mono_ns();
    CHECK_EQ_INT(http_out_run(h, 30000), 0);
    /* Not a timing bound: without the wakeup this would take 30 s. */
    CHECK(time_mono_ns() - t0 < 29000000000ull);
    pthread_join(th, NULL);
    http_out_free(h);
}

/* ---- the URL shape and the address table -------------------------------- */

TEST(http_out_check_url_shapes)
{
    static const struct {
        const char *url;
        const char *why; /* refused with or without allow_private; NULL: shape is fine */
        bool local;      /* refused only without allow_private */
    } cases[] = {
        {"https://example.com", NULL, false},
        {"https://example.com/hooks/cairn?x=1#frag", NULL, false},
        {"HTTP://Example.COM:8443/a", NULL, false},
        {"http://93.184.216.34/", NULL, false},
        {"http://[2606:2800:220:1:248:1893:25c8:1946]/", NULL, false},
        {"ftp://example.com/", "url must use http or https", false},
        {"file:///etc/passwd", "url must use http or https", false},
        {"gopher://example.com/", "url must use http or https", false},
        {"javascript:alert(1)", "url must use http or https", false},
        {"example.com/hook", "url must use http or https", false},
        {"", "url is required", false},
        {"http://", "url must name a host", false},
        {"http:///path", "url must name a host", false},
        {"https://user:pass@example.com/", "url must not contain a user name or password", false},
        {"https://user@example.com/", "url must not contain a user name or password", false},
        {"https://example.com\\@127.0.0.1/", "url must not contain a user name or password", false},
        {"https://exa mple.com/", "url must not contain spaces, control or non-ASCII characters",
         false},
        {"https://example.com/a b", "url must not contain spaces, control or non-ASCII characters",
         false},
        {"https://example.com/\r\nX: y",
         "url must not contain spaces, control or non-ASCII characters", false},
        {"https://example.com/\x7f", "url must not contain spaces, control or non-ASCII characters",
         false},
        {"https://ex\xc3\xa4mple.com/",
         "url must not contain spaces, control or non-ASCII characters", false},
        {"https://example.com:99999/", "url has an invalid port", false},
        {"http://localhost/", NULL, true},
        {"http://LOCALHOST.:8080/", NULL, true},
        {"http://api.localhost/", NULL, true},
        {"http://127.0.0.1/", NULL, true},
        {"http://127.1/", NULL, true},
        {"http://0/", NULL, true},
        {"http://0.0.0.0:80/", NULL, true},
        {"http://[::1]/", NULL, true},
        {"http://[::]/", NULL, true},
        {"http://10.1.2.3/", NULL, true},
        {"http://172.16.0.1/", NULL, true},
        {"http://192.168.1.1/", NULL, true},
        {"http://169.254.169.254/latest/meta-data/", NULL, true},
        {"http://0x7f000001/", NULL, true},
        {"http://2130706433/", NULL, true},
        {"http://0177.0.0.1/", NULL, true},
        {"http://[::ffff:127.0.0.1]/", NULL, true},
        {"http://[::ffff:a9fe:a9fe]/", NULL, true},
        {"http://[fe80::1%25eth0]/", NULL, true},
        {"http://[fd00:ec2::254]/", NULL, true},
        {"http://[64:ff9b::a00:1]/", NULL, true},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        for (int allow = 0; allow <= 1; allow++) {
            char why[128] = "untouched";
            bool ok = http_out_check_url(cases[i].url, allow, why, sizeof why);
            bool want_ok = !cases[i].why && (allow || !cases[i].local);
            const char *want_why = cases[i].why ? cases[i].why
                                   : want_ok    ? "untouched"
                                                : "url points to a private or loopback address";
            if (!CHECK_EQ_INT(ok, want_ok) | !CHECK_STR(why, want_why))
                test_fail(__FILE__, __LINE__, "url %s, allow_private %d", cases[i].url, allow);
        }
    }
    /* Length: 2048 bytes pass, 2049 do not. */
    char url[2100];
    memcpy(url, "https://example.com/", 20);
    memset(url + 20, 'a', sizeof url - 20);
    url[2048] = '\0';
    CHECK(http_out_check_url(url, false, NULL, 0));
    url[2048] = 'a';
    url[2049] = '\0';
    char why[64];
    CHECK(!http_out_check_url(url, true, why, sizeof why));
    CHECK_STR(why, "url is longer than 2048 characters");
    CHECK(!http_out_check_url(NULL, true, why, sizeof why));
}

static bool refused4(const char *ip)
{
    struct sockaddr_in a = {.sin_family = AF_INET};
    if (inet_pton(AF_INET, ip, &a.sin_addr) != 1) {
        test_fail(__FILE__, __LINE__, "bad test address %s", ip);
        return false;
    }
    return http_out_addr_refused((struct sockaddr *)&a);
}

static bool refused6(const char *ip)
{
    struct sockaddr_in6 a = {.sin6_family = AF_INET6};
    if (inet_pton(AF_INET6, ip, &a.sin6_addr) != 1) {
        test_fail(__FILE__, __LINE__, "bad test address %s", ip);
        return false;
    }
    return http_out_addr_refused((struct sockaddr *)&a);
}

TEST(http_out_addr_refused_table)
{
    static const struct {
        const char *ip;
        bool refused;
    } v4[] = {
        {"0.0.0.0", true},          {"0.255.255.255", true},   {"1.0.0.0", false},
        {"1.1.1.1", false},         {"8.8.8.8", false},        {"9.255.255.255", false},
        {"10.0.0.0", true},         {"10.255.255.255", true},  {"11.0.0.0", false},
        {"100.63.255.255", false},  {"100.64.0.0", true},      {"100.64.0.1", true},
        {"100.127.255.255", true},  {"100.128.0.0", false},    {"126.255.255.255", false},
        {"127.0.0.1", true},        {"127.255.255.254", true}, {"128.0.0.0", false},
        {"169.253.255.255", false}, {"169.254.0.0", true},     {"169.254.169.254", true},
        {"169.255.0.0", false},     {"172.15.255.255", false}, {"172.16.0.0", true},
        {"172.31.255.255", true},   {"172.32.0.0", false},     {"192.0.0.1", true},
        {"192.0.1.1", false},       {"192.0.2.1", true},       {"192.88.99.1", true},
        {"192.167.255.255", false}, {"192.168.0.0", true},     {"192.168.255.255", true},
        {"192.169.0.0", false},     {"198.17.255.255", false}, {"198.18.0.0", true},
        {"198.19.255.255", true},   {"198.20.0.0", false},     {"198.51.100.7", true},
        {"203.0.113.9", true},      {"203.0.114.0", false},    {"223.255.255.255", false},
        {"224.0.0.1", true},        {"239.255.255.255", true}, {"240.0.0.0", true},
        {"255.255.255.255", true},
    };
    for (size_t i = 0; i < sizeof v4 / sizeof v4[0]; i++)
        if (!CHECK_EQ_INT(refused4(v4[i].ip), v4[i].refused))
            test_fail(__FILE__, __LINE__, "%s", v4[i].ip);
    static const struct {
        const char *ip;
        bool refused;
    } v6[] = {
        {"::", true},
        {"::1", true},
        {"::2", true},
        {"::ffff:127.0.0.1", true},
        {"::ffff:10.0.0.1", true},
        {"::ffff:169.254.169.254", true},
        {"::ffff:8.8.8.8", false},
        {"::127.0.0.1", true},
        {"::8.8.8.8", false},
        {"64:ff9b::127.0.0.1", true},
        {"64:ff9b::192.168.0.1", true},
        {"64:ff9b::8.8.8.8", false},
        {"64:ff9b:1::1", true},
        {"2002:7f00:1::", true},
        {"2002:a00:1::1", true},
        {"2002:808:808::1", false},
        {"2001::1", true},
        {"2001:db8::1", true},
        {"2001:2::1", true},
        {"2001:4860:4860::8888", false},
        {"2606:4700:4700::1111", false},
        {"2a00:1450:4001:81b::200e", false},
        {"3fff::1", true},
        {"3ffe:ffff::1", false},
        {"fc00::1", true},
        {"fd00:ec2::254", true},
        {"fdff:ffff::1", true},
        {"fe80::1", true},
        {"febf:ffff::1", true},
        {"fec0::1", true},
        {"ff02::1", true},
        {"100::1", true},
        {"1fff:ffff::1", true},
        {"4000::1", true},
    };
    for (size_t i = 0; i < sizeof v6 / sizeof v6[0]; i++)
        if (!CHECK_EQ_INT(refused6(v6[i].ip), v6[i].refused))
            test_fail(__FILE__, __LINE__, "%s", v6[i].ip);
    struct sockaddr other = {.sa_family = AF_UNIX};
    CHECK(http_out_addr_refused(&other));
    CHECK(http_out_addr_refused(NULL));
}
