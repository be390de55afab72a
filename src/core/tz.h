/* tz.h - IANA time zones, read from the system's zoneinfo files (TZif).
 *
 * Owns: the offset from UTC of a named zone at an instant, which business
 * hours (support queues) need to place "Monday 09:00 in Europe/Paris" on
 * the UTC timeline. A zone is loaded once from /usr/share/zoneinfo (or
 * $TZDIR) and kept for the life of the process; lookups are thread-safe. */
#ifndef CAIRN_TZ_H
#define CAIRN_TZ_H

#include <stdbool.h>
#include <stdint.h>

typedef struct tz_zone tz_zone;

/* The zone named `name` ("UTC", "Europe/Paris"), or NULL when no such
 * zone file exists or it is not a valid TZif file. */
const tz_zone *tz_find(const char *name);
/* Seconds east of UTC in zone z at UTC instant `utc_s`. Past the file's
 * last transition the last offset holds. */
int32_t tz_offset(const tz_zone *z, int64_t utc_s);
/* The UTC instant of local time `local_s` (seconds since the epoch as if
 * the zone's wall clock were UTC); a wall time skipped or repeated by a
 * change of offset resolves to one of its candidates. */
int64_t tz_to_utc(const tz_zone *z, int64_t local_s);

#endif
