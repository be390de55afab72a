/* search.h - how Cairn cuts text into search words, for every backend.
 *
 * Owns: the word rule (a run of ASCII letters and digits, or of any
 * non-ASCII bytes, so "jane@acme.com" is jane, acme, com and "José" stays
 * whole) and the workspace tag. Indexed words are written as tag + word:
 * each workspace's words are then their own terms in the index, so a
 * prefix query reads only this workspace's postings instead of
 * intersecting with a term every row of the workspace carries. */
#ifndef CAIRN_SEARCH_H
#define CAIRN_SEARCH_H

#include <stdbool.h>
#include <stddef.h>

#include "core/buf.h"

#define SEARCH_TAG_LEN 7 /* 'w' + 6 base-36 characters */

/* A word may carry this mark in front, to be told apart from the same word
 * unmarked (cms.c marks its titles' words so: "0launch"). PostgreSQL's
 * postings cut words at fixed prefix lengths, and the mark does not count
 * towards them: a marked word's prefix is as selective as the word's. */
#define SEARCH_MARK "0"

/* Writes the tag of a workspace id (SEARCH_TAG_LEN chars + NUL). */
void search_tag(const char *workspace_id, char out[SEARCH_TAG_LEN + 1]);

/* Calls fn for each word of s (pointer and length, not NUL-terminated);
 * returns the number of words. */
int search_words(const char *s, void (*fn)(const char *w, size_t n, void *ud), void *ud);

/* Writes w (n bytes) to out (n bytes at least) with the Latin letters of
 * U+00C0..U+017F that carry diacritics as their base letter (é as e, Ü as
 * U; not æ, ø, ß), as FTS5's unicode61 tokenizer does on SQLite. PostgreSQL's
 * 'simple' configuration does not, so its documents and query words are
 * folded here. Returns the length written. */
size_t search_fold(const char *w, size_t n, char *out);

/* Appends " <tag><word>" for every word of s to b: the indexed document;
 * each word folded when fold is set. */
void search_doc_append(buf *b, const char *tag, const char *s, bool fold);

#endif
