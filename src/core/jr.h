/* jr.h - JSON text to Jansson values, fast for the texts clients send.
 *
 * Owns: jr_load, which answers exactly as json_loadb does (the same values,
 * the same key order, the same errors). Why not json_loadb alone: Jansson
 * reads a byte at a time through a stream and took 2.2 to 2.8 us for a
 * 130-byte MCP tool call here, 6.7 to 7.5 us for a 348-byte contact; jr_load
 * takes 0.5 to 0.8 and 1.3 to 1.7 us. It builds the values itself for
 * objects, arrays, strings (UTF-8 checked as jw checks it, the short
 * escapes), integers of up to 18 digits and the literals, and hands
 * everything else to json_loadb: a \u escape, a real, a longer integer, a
 * duplicate key, deep nesting and every error. Jansson so stays the
 * reference, and tests/fuzz/fuzz_json.c holds the two to the same answers. */
#ifndef CAIRN_JR_H
#define CAIRN_JR_H

#include <jansson.h>
#include <stddef.h>

/* json_loadb(text, len, flags, err). flags: JSON_REJECT_DUPLICATES,
 * JSON_DECODE_ANY and JSON_ALLOW_NUL take the fast path; others go to
 * Jansson. err is only set by a failure. */
json_t *jr_load(const char *text, size_t len, size_t flags, json_error_t *err);

#endif
