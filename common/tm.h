/*
 * tm: durations and timestamps, parsed strictly.
 *
 * All times are int64 milliseconds since the Unix epoch (UTC); all durations
 * are int64 milliseconds. Durations: an integer with an optional unit, ms, s,
 * m, h or d; a bare number is seconds ("60" = 60 s). Timestamps: RFC 3339,
 * YYYY-MM-DDTHH:MM:SS[.fraction](Z|+hh:mm|-hh:mm), years 0000 to 9999; the
 * fraction is truncated to milliseconds; every field is range-checked, so
 * 2026-13-01 or 2026-02-29 is an error, never a date elsewhere.
 */
#ifndef TM_H
#define TM_H

#include <stddef.h>
#include <stdint.h>

#define TM_MIN_MS (-62167219200000LL) /* 0000-01-01T00:00:00.000Z */
#define TM_MAX_MS (253402300799999LL) /* 9999-12-31T23:59:59.999Z */
#define TM_RFC3339_LEN 24             /* "YYYY-MM-DDTHH:MM:SS.mmmZ" */

/* 0 ok; -1 with *why set to a static reason. allow_neg permits "-5m". */
int tm_parse_dur(const char *s, int64_t *ms, int allow_neg, const char **why);
int tm_parse_rfc3339(const char *s, size_t n, int64_t *ms, const char **why);
/* Writes TM_RFC3339_LEN bytes (no NUL); ms must be in [TM_MIN_MS, TM_MAX_MS]. */
void tm_format_rfc3339(int64_t ms, char *buf);

struct js_val;
/*
 * The event time in a JSON member, the one rule of every program that reads
 * it (winagg, kcat-in --ts-field): an RFC 3339 string without escapes, or
 * an epoch number times num/den ms (integers exactly, fractions floored),
 * within the years 0000-9999. NULL, or the reason ("no time field 'ts'",
 * "time field 'ts': ...") written to why.
 */
const char *tm_json_time(const struct js_val *v, const char *field, int64_t num, int64_t den,
                         int64_t *ms, char *why, size_t whylen);

/* Seconds on the monotonic clock, for pacing and triggers. */
double tm_mono_s(void);
/* Milliseconds since the epoch on the wall clock. */
int64_t tm_wall_ms(void);

/* Days since 1970-01-01 of a proleptic Gregorian date, and back. */
int64_t tm_days_from_civil(int64_t y, unsigned m, unsigned d);
void tm_civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d);

/* Floor division and modulo, correct for negative numerators. */
static inline int64_t
tm_floordiv(int64_t a, int64_t b)
{
	int64_t q = a / b;
	return (a % b != 0 && ((a < 0) != (b < 0))) ? q - 1 : q;
}

static inline int64_t
tm_floormod(int64_t a, int64_t b)
{
	int64_t r = a % b;
	return (r != 0 && ((r < 0) != (b < 0))) ? r + b : r;
}

#endif
