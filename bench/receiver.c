/* receiver.c - the webhook benchmark's receiver: a loopback HTTP/1.1
 * server that answers every POST 200 (keep-alive) and measures, for each
 * delivery, how long after its event it arrived (now - the body's
 * "timestamp"), and how many came per second.
 *
 *   bench-receiver PORTFILE SECONDS
 *
 * Listens on 127.0.0.1, port 0, writes the port to PORTFILE, and after
 * SECONDS (or SIGTERM) prints one line:
 *   RECEIVER n=<deliveries> first_ms=<t> last_ms=<t> p50_ms=.. p99_ms=.. max_ms=..
 * (first_ms/last_ms: arrival times of the first and last, epoch ms). One
 * thread, epoll; bounded in time, so it always stops by itself. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_CONNS   1024
#define BUF         (1 << 20)
#define MAX_SAMPLES 4000000

typedef struct conn {
    int fd;
    char *buf;
    size_t len;
} conn;

static double samples[MAX_SAMPLES];
static long nsamples, total;
static double first_ms, last_ms;
static volatile sig_atomic_t stop;

static double now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_REALTIME, &t);
    return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

/* "2026-12-06T13:10:31.163Z" as epoch ms, or -1. */
static double parse_ts(const char *s)
{
    struct tm tm = {0};
    int ms = 0;
    if (sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d.%3dZ", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour,
               &tm.tm_min, &tm.tm_sec, &ms) != 7)
        return -1;
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    return (double)timegm(&tm) * 1e3 + ms;
}

static void delivered(const char *body, size_t n)
{
    double t = now_ms();
    if (!total) first_ms = t;
    last_ms = t;
    total++;
    const char *k = memmem(body, n, "\"timestamp\":\"", 13);
    if (!k || nsamples == MAX_SAMPLES) return;
    double ev = parse_ts(k + 13);
    if (ev > 0) samples[nsamples++] = t - ev;
}

/* Answers every whole request in c's buffer; false when the peer is gone. */
static bool serve(conn *c)
{
    static const char ok[] = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";
    for (;;) {
        char *end = memmem(c->buf, c->len, "\r\n\r\n", 4);
        if (!end) return c->len < BUF;
        size_t head = (size_t)(end + 4 - c->buf), body = 0;
        for (char *p = c->buf; p < end; p++)
            if ((p == c->buf || p[-1] == '\n') && strncasecmp(p, "content-length:", 15) == 0)
                body = strtoul(p + 15, NULL, 10);
        if (head + body > BUF) return false;
        if (c->len < head + body) return true;
        delivered(c->buf + head, body);
        if (write(c->fd, ok, sizeof ok - 1) != (ssize_t)(sizeof ok - 1)) return false;
        memmove(c->buf, c->buf + head + body, c->len - head - body);
        c->len -= head + body;
    }
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static void on_term(int sig)
{
    (void)sig;
    stop = 1;
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: bench-receiver PORTFILE SECONDS\n");
        return 2;
    }
    double until = now_ms() + atof(argv[2]) * 1e3;
    signal(SIGTERM, on_term);
    signal(SIGPIPE, SIG_IGN);
    int lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0), one = 1;
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t al = sizeof a;
    setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(lfd, (struct sockaddr *)&a, sizeof a) || listen(lfd, 512) ||
        getsockname(lfd, (struct sockaddr *)&a, &al)) {
        perror("bench-receiver");
        return 1;
    }
    FILE *pf = fopen(argv[1], "w");
    if (!pf) return 1;
    fprintf(pf, "%d\n", ntohs(a.sin_port));
    fclose(pf);
    int ep = epoll_create1(0);
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = NULL};
    epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev);
    while (!stop && now_ms() < until) {
        struct epoll_event evs[64];
        int n = epoll_wait(ep, evs, 64, 100);
        for (int i = 0; i < n; i++) {
            conn *c = evs[i].data.ptr;
            if (!c) {
                int fd;
                while ((fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK)) >= 0) {
                    c = calloc(1, sizeof *c);
                    c->fd = fd;
                    c->buf = malloc(BUF);
                    struct epoll_event ce = {.events = EPOLLIN, .data.ptr = c};
                    epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ce);
                }
                continue;
            }
            ssize_t r;
            bool alive = true;
            while (alive && (r = read(c->fd, c->buf + c->len, BUF - c->len)) > 0) {
                c->len += (size_t)r;
                alive = serve(c);
            }
            if (!alive || r == 0 || (r < 0 && errno != EAGAIN)) {
                close(c->fd);
                free(c->buf);
                free(c);
            }
        }
    }
    qsort(samples, (size_t)nsamples, sizeof *samples, cmp);
    double p50 = nsamples ? samples[nsamples / 2] : 0;
    double p99 = nsamples ? samples[(long)(nsamples * 0.99)] : 0;
    double max = nsamples ? samples[nsamples - 1] : 0;
    printf("RECEIVER n=%ld first_ms=%.0f last_ms=%.0f p50_ms=%.1f p99_ms=%.1f max_ms=%.1f\n", total,
           first_ms, last_ms, p50, p99, max);
    return 0;
}
