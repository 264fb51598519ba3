/*
 * ag: winagg's aggregate functions: the running value of one aggregate in
 * one (window, group), how a row's field feeds it, and how it is printed.
 *
 * Numbers stay exact where JSON allows: integers are summed and compared as
 * int64 until a fraction arrives, then as doubles; min and max compare an
 * int64 against a double exactly. Overflow is refused before any state
 * changes (ag_check), so a bad row never leaves a half-applied update.
 */
#ifndef AG_H
#define AG_H

#include <math.h>
#include <stddef.h>
#include <stdint.h>

#include "js.h"

enum ag_func {
	AG_COUNT, AG_SUM, AG_MIN, AG_MAX, AG_AVG, AG_FIRST, AG_LAST,
	AG_APPROX, /* approx_count_distinct: a HyperLogLog sketch beside the value */
	AG_CDIST,  /* count_distinct: the set of distinct values, exact */
	AG_PCT,    /* percentile_approx: a Greenwald-Khanna summary, as Spark's */
	AG_NFUNC
};
extern const char *const ag_names[AG_NFUNC]; /* by enum ag_func: count, sum, ... */

/* One aggregate's running value. kind: 0 no value yet, 1 int64, 2 double,
 * AG_KIND_TEXT (first, last of a value that is not a number: its JSON text)
 * or AG_KIND_SET (count_distinct), the blob's address in i: values kept
 * whole live outside the entry, and whoever drops an entry releases them
 * (ag_release). */
#define AG_KIND_TEXT 3
#define AG_KIND_SET 4
#define AG_KIND_QS 5 /* percentile_approx's summary */
struct ag_val {
	int64_t n; /* rows counted (count, avg); first, last: the value's event time, ms */
	int64_t i;
	double d;
	uint8_t kind;
};

/* A row's number for an aggregate: kind 0 (null or missing), 1 int, 2 double. */
struct ag_num {
	int kind;
	int64_t i;
	double d;
};

/* The function named by the n bytes at s, or -1. */
int ag_func_named(const char *s, size_t n);
/* v as an aggregate's input: NULL, or why it cannot be one ("is not a number"). */
const char *ag_input(const js_val *v, struct ag_num *x);
/* Inline: they run per row and window. */

/* Would adding x to s overflow (sum as int64 or as double, avg as double)?
 * NULL, or the reason's verb phrase ("overflows a 64-bit integer"). */
static inline const char *
ag_check(enum ag_func fn, const struct ag_val *s, const struct ag_num *x)
{
	int64_t dummy;

	if ((fn != AG_SUM && fn != AG_AVG) || x->kind == 0 || (fn == AG_SUM && s->kind == 0))
		return NULL;
	if (fn == AG_SUM && s->kind == 1 && x->kind == 1)
		return __builtin_add_overflow(s->i, x->i, &dummy) ? "overflows a 64-bit integer" : NULL;
	/* a sum of inf would print as null and wipe out the others' contributions */
	if (!isfinite((fn == AG_SUM && s->kind == 1 ? (double)s->i : s->d) + x->d))
		return "overflows a double";
	return NULL;
}

/* Is x less than the stored value? Exact for int64 against double. */
static inline int
ag_num_less_(const struct ag_num *x, const struct ag_val *s)
{
	if (x->kind == 1 && s->kind == 1)
		return x->i < s->i;
	long double a = x->kind == 1 ? (long double)x->i : (long double)x->d;
	long double b = s->kind == 1 ? (long double)s->i : (long double)s->d;
	return a < b;
}

static inline int
ag_num_greater_(const struct ag_num *x, const struct ag_val *s)
{
	if (x->kind == 1 && s->kind == 1)
		return x->i > s->i;
	long double a = x->kind == 1 ? (long double)x->i : (long double)x->d;
	long double b = s->kind == 1 ? (long double)s->i : (long double)s->d;
	return a > b;
}

/* Frees what s holds outside the entry (a text, a set); s has no value. */
void ag_release(struct ag_val *s);
/* first, last, count_distinct of a value by its canonical JSON text (the
 * row's value is not a number, or the function is count_distinct). */
void ag_apply_text(enum ag_func fn, struct ag_val *s, const char *text, size_t len, int64_t t);
/* Merging two sessions: dst takes src's first, last or distinct values;
 * src is released. A tie in time goes to dst (first) or src (last). */
void ag_merge_blob(enum ag_func fn, struct ag_val *dst, struct ag_val *src);
/* Does fn keep values outside the entry? */
static inline int
ag_keeps_blobs(enum ag_func fn)
{
	return fn == AG_FIRST || fn == AG_LAST || fn == AG_CDIST || fn == AG_PCT;
}

/*
 * percentile_approx(FIELD, P[, ACCURACY]) as Spark's: a Greenwald-Khanna
 * quantile summary with relative error 1/ACCURACY (default 10000): the
 * answer's rank is within count/ACCURACY of ceil(P * count), the smallest
 * value at that rank when the summary is exact (few values). Values are
 * kept as doubles (an integer beyond 2^53 loses digits); the answer is
 * written as an integer when every value was one. Summaries merge (sessions).
 */
#define AG_PCT_ACCURACY 10000
void ag_pct_add(struct ag_val *s, const struct ag_num *x, double eps);
/* The answer for P, through the output buffer (null without values). */
void ag_pct_out(struct ag_val *s, double p);
/* Bytes held outside the entries, by every state (for state_bytes). */
size_t ag_blob_bytes(void);
/* A blob's serial form (snapshots): count_distinct's values, the text, or
 * percentile_approx's summary packed in one, each passed to fn; back with
 * ag_apply_text (texts, sets) or ag_blob_load (a summary). */
void ag_blob_each(const struct ag_val *s, void (*fn)(void *, const char *, size_t), void *arg);
size_t ag_blob_count(const struct ag_val *s);
/* A packed summary into s (no value): 0, or -1 when it is malformed. */
int ag_blob_load(struct ag_val *s, const char *p, size_t n);

/* first and last: the value of the row with the earliest (latest) event
 * time t; on a tie the first (last) such row read. */
static inline void
ag_apply(enum ag_func fn, struct ag_val *s, const struct ag_num *x, int64_t t)
{
	if (fn == AG_COUNT) {
		s->n++;
		return;
	}
	if (x->kind == 0)
		return;
	switch (fn) {
	case AG_SUM:
		if (s->kind == 0) {
			s->kind = (uint8_t)x->kind;
			s->i = x->i;
			s->d = x->d;
		} else if (s->kind == 1 && x->kind == 1) {
			s->i += x->i; /* ag_check ruled out overflow */
		} else {
			if (s->kind == 1)
				s->d = (double)s->i;
			s->kind = 2;
			s->d += x->d;
		}
		break;
	case AG_AVG:
		s->n++;
		s->d += x->d;
		break;
	case AG_FIRST:
	case AG_LAST:
		if (s->kind == 0 || (fn == AG_FIRST ? t < s->n : t >= s->n)) {
			if (s->kind == AG_KIND_TEXT)
				ag_release(s);
			s->kind = (uint8_t)x->kind;
			s->i = x->i;
			s->d = x->d;
			s->n = t;
		}
		break;
	case AG_MIN:
	case AG_MAX:
		if (s->kind == 0 || (fn == AG_MIN ? ag_num_less_(x, s) : ag_num_greater_(x, s))) {
			s->kind = (uint8_t)x->kind;
			s->i = x->i;
			s->d = x->d;
		}
		break;
	default:
		break;
	}
}

/* Can two partial values of fn combine into one (common/pn's panes)? The
 * functions whose value does not depend on the order rows came in: count,
 * sum, avg, min, max. */
static inline int
ag_combines(enum ag_func fn)
{
	return fn == AG_COUNT || fn == AG_SUM || fn == AG_AVG || fn == AG_MIN || fn == AG_MAX;
}

/* dst becomes the value of dst's rows and src's rows together (dst's rows
 * the earlier ones: on a tie min and max keep dst's). Integer sums add
 * modulo 2^64: a total that fits is exact whatever the order of the parts
 * (the caller has refused rows that make a total overflow). */
static inline void
ag_combine(enum ag_func fn, struct ag_val *dst, const struct ag_val *src)
{
	struct ag_num x;

	switch (fn) {
	case AG_COUNT: dst->n += src->n; return;
	case AG_AVG:
		dst->n += src->n;
		dst->d += src->d;
		return;
	case AG_SUM:
		if (src->kind == 0)
			return;
		if (dst->kind == 0) {
			*dst = *src;
		} else if (dst->kind == 1 && src->kind == 1) {
			dst->i = (int64_t)((uint64_t)dst->i + (uint64_t)src->i);
		} else {
			dst->d = (dst->kind == 1 ? (double)dst->i : dst->d) +
			         (src->kind == 1 ? (double)src->i : src->d);
			dst->kind = 2;
		}
		return;
	case AG_MIN:
	case AG_MAX:
		if (src->kind == 0)
			return;
		x = (struct ag_num){src->kind, src->i, src->d};
		if (dst->kind == 0 ||
		    (fn == AG_MIN ? ag_num_less_(&x, dst) : ag_num_greater_(&x, dst)))
			*dst = *src;
		return;
	default: return;
	}
}

/*
 * approx_count_distinct: HyperLogLog with Spark's precision for a relative
 * standard deviation rsd, p = ceil(2 log2(1.106 / rsd)) (rsd 0.05: p 9),
 * 2^p one-byte registers, the 64-bit hash of each value's JSON text (hs),
 * linear counting while the estimate is at most 2.5 * 2^p and a register
 * is empty. Registers merge by maximum, so the sketch is exact to combine.
 */
#define AG_HLL_PMIN 4
#define AG_HLL_PMAX 16
int ag_hll_precision(double rsd);
void ag_hll_add(uint8_t *reg, int p, uint64_t hash);
uint64_t ag_hll_estimate(const uint8_t *reg, int p);

/* The value as JSON through the output buffer (null when there is none). */
void ag_out(enum ag_func fn, const struct ag_val *s);

#endif
