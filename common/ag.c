/*
 * ag: aggregate functions (ag.h).
 */
#include <math.h>
#include <string.h>

#include "ag.h"
#include "out.h"

const char *const ag_names[AG_NFUNC] = {"count", "sum",  "min", "max",
                                        "avg",   "first", "last", "approx_count_distinct"};

int
ag_func_named(const char *s, size_t n)
{
	for (int k = 0; k < AG_NFUNC; k++)
		if (strlen(ag_names[k]) == n && strncmp(s, ag_names[k], n) == 0)
			return k;
	return -1;
}

const char *
ag_input(const js_val *v, struct ag_num *x)
{
	if (v->type == JS_MISSING || v->type == JS_NULL) {
		x->kind = 0;
		return NULL;
	}
	if (v->type != JS_NUM)
		return "is not a number";
	if (v->isint && js_to_i64(v, &x->i) == 0) {
		x->kind = 1;
		x->d = (double)x->i;
	} else if (v->isint) {
		/* as a double it would not be exact: 99999999999999999999 */
		return "is an integer outside the 64-bit range";
	} else {
		x->kind = 2;
		x->d = js_to_double(v);
		if (!isfinite(x->d))
			return "is a number outside the range of a double"; /* 1e400 */
	}
	return NULL;
}

int
ag_hll_precision(double rsd)
{
	int p = (int)ceil(2.0 * log2(1.106 / rsd));

	return p < AG_HLL_PMIN ? AG_HLL_PMIN : p;
}

void
ag_hll_add(uint8_t *reg, int p, uint64_t hash)
{
	/* murmur3's finalizer: every bit of the index and of the run below
	 * depends on every bit of the hash */
	hash ^= hash >> 33;
	hash *= 0xff51afd7ed558ccdULL;
	hash ^= hash >> 33;
	hash *= 0xc4ceb9fe1a85ec53ULL;
	hash ^= hash >> 33;
	uint64_t idx = hash >> (64 - p), w = (hash << p) | (1ULL << (p - 1));
	uint8_t rho = (uint8_t)(__builtin_clzll(w) + 1);

	if (rho > reg[idx])
		reg[idx] = rho;
}

uint64_t
ag_hll_estimate(const uint8_t *reg, int p)
{
	size_t m = (size_t)1 << p, zeros = 0;
	double sum = 0, alpha, e;

	for (size_t j = 0; j < m; j++) {
		sum += ldexp(1.0, -reg[j]);
		zeros += reg[j] == 0;
	}
	alpha = m == 16 ? 0.673 : m == 32 ? 0.697 : m == 64 ? 0.709 : 0.7213 / (1 + 1.079 / (double)m);
	e = alpha * (double)m * (double)m / sum;
	if (e <= 2.5 * (double)m && zeros > 0)
		e = (double)m * log((double)m / (double)zeros); /* linear counting */
	return (uint64_t)llround(e);
}

void
ag_out(enum ag_func fn, const struct ag_val *s)
{
	switch (fn) {
	case AG_COUNT:
		js_out_i64(s->n);
		return;
	case AG_AVG:
		if (s->n == 0)
			out_write("null", 4);
		else
			js_out_double(s->d / (double)s->n);
		return;
	default:
		if (s->kind == 0)
			out_write("null", 4);
		else if (s->kind == 1)
			js_out_i64(s->i);
		else
			js_out_double(s->d);
	}
}
