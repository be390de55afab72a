/* timeutil.h - wall-clock time and RFC 3339.
 *
 * Owns: the one time format Cairn speaks, RFC 3339 UTC with milliseconds
 * ("2026-11-23T13:17:56.123Z"). Parsing accepts any offset and normalises. */
#ifndef CAIRN_TIMEUTIL_H
#define CAIRN_TIMEUTIL_H

#include <stdbool.h>
#include <stdint.h>

#define TIME_STR 64

uint64_t time_now_ms(void);
uint64_t time_mono_ns(void);
void time_format_ms(uint64_t ms, char out[TIME_STR]);
/* Parses RFC 3339 (date-time, 'Z' or +hh:mm); false if malformed. */
bool time_parse(const char *s, int64_t *ms_out);
/* Parses a full date YYYY-MM-DD. */
bool time_parse_date(const char *s);

#endif
