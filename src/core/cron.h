/* cron.h - five-field cron schedules (minute hour day-of-month month
 * day-of-week), as Vixie cron reads them, and when one next fires in a
 * time zone.
 *
 * Owns: parsing a schedule into bit sets (each field *, a number, a range
 * a-b, any of those followed by a step /n (a/n: every n from a on), or a
 * comma list of those; months
 * JAN-DEC and days SUN-SAT by name, any case; 0 and 7 are both Sunday)
 * and walking the zone's wall clock to the next minute it names. When
 * both day fields are restricted (neither starts with *), a day matching
 * either is due, as in Vixie cron. Nothing here allocates. */
#ifndef CAIRN_CRON_H
#define CAIRN_CRON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/tz.h"

typedef struct cron_spec {
    uint64_t minute; /* bit m: minute m (0-59) */
    uint32_t hour;   /* bit h: 0-23 */
    uint32_t dom;    /* bit d: day of month 1-31 */
    uint16_t month;  /* bit m: 1-12 */
    uint8_t dow;     /* bit d: 0 (Sunday) - 6 */
    bool dom_star, dow_star;
} cron_spec;

/* Parses `text`; false with why it cannot (naming the field) in err. */
bool cron_parse(const char *text, cron_spec *out, char *err, size_t cap);

/* The first minute strictly after UTC instant after_ms (epoch ms) that c
 * names on the wall clock of zone z (NULL: UTC), as UTC epoch ms; -1 when
 * none falls in the next five years (February 30th). A wall time a change
 * of offset skips runs at the instant tz_to_utc gives it. */
int64_t cron_next(const cron_spec *c, const tz_zone *z, int64_t after_ms);

#endif
