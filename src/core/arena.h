/* arena.h - per-request bump allocator.
 *
 * Owns: every allocation a request makes (parsed parameters, rows read from
 * the store, the response body). Nothing allocated here is freed on its own;
 * arena_release() frees it all at once when the response has been sent.
 * Allocation failure aborts: a request that cannot get a few KiB cannot
 * answer either, and checking every small allocation buys nothing. */
#ifndef CAIRN_ARENA_H
#define CAIRN_ARENA_H

#include <stddef.h>

typedef struct arena_chunk arena_chunk;

typedef struct arena {
    arena_chunk *head;
    size_t used; /* bytes used in head */
} arena;

void arena_init(arena *a);
void arena_release(arena *a);
void *arena_alloc(arena *a, size_t n);  /* 16-byte aligned, uninitialised */
void *arena_zalloc(arena *a, size_t n); /* zeroed */
char *arena_strndup(arena *a, const char *s, size_t n);
char *arena_strdup(arena *a, const char *s);
char *arena_printf(arena *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
