/*
 * tm: strict duration and RFC 3339 parsing, and the formatter (see tm.h).
 * The calendar arithmetic uses the era-based day count (400-year cycles),
 * which is exact for negative years and before 1970.
 */
#include <math.h>
#include <stdio.h>
#include "tm.h"

#include "js.h"

#include <limits.h>
#include <time.h>

int64_t
tm_days_from_civil(int64_t y, unsigned m, unsigned d)
{
	int64_t era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

void
tm_civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
	int64_t era, doe, yoe, doy, mp;

	z += 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = z - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	*d = (unsigned)(doy - (153 * mp + 2) / 5 + 1);
	*m = (unsigned)(mp < 10 ? mp + 3 : mp - 9);
	*y = yoe + era * 400 + (*m <= 2);
}

static int
is_leap(int64_t y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static unsigned
days_in_month(int64_t y, unsigned m)
{
	static const unsigned char dim[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	return m == 2 && is_leap(y) ? 29 : dim[m - 1];
}

int
tm_parse_dur(const char *s, int64_t *ms, int allow_neg, const char **why)
{
	int neg = 0;
	int64_t v = 0, mult;
	const char *p = s;

	if (*p == '-' && allow_neg) {
		neg = 1;
		p++;
	}
	if (*p < '0' || *p > '9') {
		*why = "expected a number with an optional unit (ms, s, m, h, d)";
		return -1;
	}
	while (*p >= '0' && *p <= '9') {
		if (v > (INT64_MAX - (*p - '0')) / 10) {
			*why = "duration too large";
			return -1;
		}
		v = v * 10 + (*p++ - '0');
	}
	if (*p == '\0' || (p[0] == 's' && p[1] == '\0'))
		mult = 1000;
	else if (p[0] == 'm' && p[1] == 's' && p[2] == '\0')
		mult = 1;
	else if (p[0] == 'm' && p[1] == '\0')
		mult = 60 * 1000;
	else if (p[0] == 'h' && p[1] == '\0')
		mult = 3600 * 1000;
	else if (p[0] == 'd' && p[1] == '\0')
		mult = 86400 * 1000;
	else {
		*why = "unknown unit (use ms, s, m, h or d)";
		return -1;
	}
	if (v > INT64_MAX / mult) {
		*why = "duration too large";
		return -1;
	}
	*ms = neg ? -(v * mult) : v * mult;
	return 0;
}

/* Reads exactly n digits at s; -1 if any is not a digit. */
static int
digits(const char *s, int n)
{
	int v = 0;

	for (int i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v;
}

int
tm_parse_rfc3339(const char *s, size_t n, int64_t *ms, const char **why)
{
	int y, mo, d, h, mi, sec, frac = 0, fdig = 0, offmin = 0;
	size_t i;

	*why = "not an RFC 3339 time (YYYY-MM-DDTHH:MM:SS[.fff](Z|+hh:mm))";
	if (n < 20 || s[4] != '-' || s[7] != '-' || s[13] != ':' || s[16] != ':')
		return -1;
	if (s[10] != 'T' && s[10] != 't' && s[10] != ' ')
		return -1;
	y = digits(s, 4);
	mo = digits(s + 5, 2);
	d = digits(s + 8, 2);
	h = digits(s + 11, 2);
	mi = digits(s + 14, 2);
	sec = digits(s + 17, 2);
	if (y < 0 || mo < 0 || d < 0 || h < 0 || mi < 0 || sec < 0)
		return -1;
	i = 19;
	if (i < n && s[i] == '.') {
		i++;
		while (i < n && s[i] >= '0' && s[i] <= '9') {
			if (fdig < 3)
				frac = frac * 10 + (s[i] - '0');
			fdig++;
			i++;
		}
		if (fdig == 0)
			return -1;
		for (int k = fdig; k < 3; k++)
			frac *= 10;
	}
	if (i >= n)
		return -1;
	if (s[i] == 'Z' || s[i] == 'z') {
		i++;
	} else if (s[i] == '+' || s[i] == '-') {
		int oh, om;
		if (n - i != 6 || s[i + 3] != ':')
			return -1;
		oh = digits(s + i + 1, 2);
		om = digits(s + i + 4, 2);
		if (oh < 0 || om < 0)
			return -1;
		if (oh > 23 || om > 59) {
			*why = "time zone offset out of range";
			return -1;
		}
		offmin = oh * 60 + om;
		if (s[i] == '-')
			offmin = -offmin;
		i += 6;
	} else {
		return -1;
	}
	if (i != n)
		return -1;
	if (mo < 1 || mo > 12) {
		*why = "month out of range";
		return -1;
	}
	if (d < 1 || (unsigned)d > days_in_month(y, (unsigned)mo)) {
		*why = "day out of range for its month";
		return -1;
	}
	if (h > 23 || mi > 59 || sec > 59) {
		*why = "time of day out of range";
		return -1;
	}
	*ms = ((tm_days_from_civil(y, (unsigned)mo, (unsigned)d) * 86400 + h * 3600 + mi * 60 + sec) -
	       (int64_t)offmin * 60) * 1000 + frac;
	return 0;
}

static void
put2(char *b, unsigned v)
{
	b[0] = (char)('0' + v / 10);
	b[1] = (char)('0' + v % 10);
}

void
tm_format_rfc3339(int64_t ms, char *b)
{
	int64_t days = tm_floordiv(ms, 86400000), y;
	int64_t rem = ms - days * 86400000;
	unsigned m, d, secs = (unsigned)(rem / 1000), milli = (unsigned)(rem % 1000);

	tm_civil_from_days(days, &y, &m, &d);
	put2(b, (unsigned)(y / 100));
	put2(b + 2, (unsigned)(y % 100));
	b[4] = '-';
	put2(b + 5, m);
	b[7] = '-';
	put2(b + 8, d);
	b[10] = 'T';
	put2(b + 11, secs / 3600);
	b[13] = ':';
	put2(b + 14, secs / 60 % 60);
	b[16] = ':';
	put2(b + 17, secs % 60);
	b[19] = '.';
	b[20] = (char)('0' + milli / 100);
	put2(b + 21, milli % 100);
	b[23] = 'Z';
}

double
tm_mono_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int64_t
tm_wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

const char *
tm_json_time(const js_val *v, const char *field, int64_t num, int64_t den, int64_t *ms, char *why,
             size_t whylen)
{
	const char *w;
	int64_t i;

	if (v->type == JS_STR) {
		if (v->esc || tm_parse_rfc3339(v->p, v->n, ms, &w) < 0) {
			snprintf(why, whylen, "time field '%s': %s", field,
			         v->esc ? "not an RFC 3339 time" : w);
			return why;
		}
	} else if (v->type == JS_NUM) {
		if (v->isint && js_to_i64(v, &i) == 0) {
			if (den > 1)
				*ms = tm_floordiv(i, den);
			else if (i > INT64_MAX / num || i < INT64_MIN / num)
				goto range;
			else
				*ms = i * num;
		} else {
			double d = floor(js_to_double(v) * (double)num / (double)den);
			if (!(d >= (double)TM_MIN_MS && d <= (double)TM_MAX_MS))
				goto range;
			*ms = (int64_t)d;
		}
	} else {
		if (v->type == JS_MISSING)
			snprintf(why, whylen, "no time field '%s'", field);
		else
			snprintf(why, whylen, "time field '%s' is not a string or number", field);
		return why;
	}
	if (*ms < TM_MIN_MS || *ms > TM_MAX_MS)
		goto range;
	return NULL;
range:
	snprintf(why, whylen, "time field '%s' is outside the years 0000-9999", field);
	return why;
}
