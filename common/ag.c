/*
 * ag: aggregate functions (ag.h).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ag.h"
#include "hs.h"
#include "mem.h"
#include "out.h"

const char *const ag_names[AG_NFUNC] = {"count", "sum",  "min",  "max",
                                        "avg",   "first", "last", "approx_count_distinct",
                                        "count_distinct"};

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

/* ---- values kept whole ---- */

/* A text: its bytes. */
struct ag_text {
	uint32_t len;
	char p[];
};

/* count_distinct's set: texts by hash, open addressing, at most half full. */
struct ag_set {
	size_t cap, n;
	struct {
		uint64_t h;
		struct ag_text *t;
	} *s;
};

static size_t blob_bytes;

size_t
ag_blob_bytes(void)
{
	return blob_bytes;
}

static struct ag_text *
text_new(const char *p, size_t n)
{
	struct ag_text *t = emalloc(sizeof(*t) + n);

	t->len = (uint32_t)n;
	memcpy(t->p, p, n);
	blob_bytes += sizeof(*t) + n;
	return t;
}

static void
text_free(struct ag_text *t)
{
	blob_bytes -= sizeof(*t) + t->len;
	free(t);
}

static struct ag_text *
as_text(const struct ag_val *s)
{
	return (struct ag_text *)(uintptr_t)s->i;
}

static struct ag_set *
as_set(const struct ag_val *s)
{
	return (struct ag_set *)(uintptr_t)s->i;
}

/* Puts t (owned from here) into the set unless an equal text is there
 * (then t is freed); 1 when it was new. */
static int
set_put(struct ag_set *z, uint64_t h, struct ag_text *t)
{
	size_t mask, j;

	if (2 * (z->n + 1) > z->cap) {
		size_t ncap = z->cap ? 2 * z->cap : 8;
		__typeof__(z->s) ns = ecalloc(ncap, sizeof(*ns));
		for (size_t k = 0; k < z->cap; k++)
			if (z->s[k].t) {
				for (j = z->s[k].h & (ncap - 1); ns[j].t; j = (j + 1) & (ncap - 1))
					;
				ns[j] = z->s[k];
			}
		blob_bytes += (ncap - z->cap) * sizeof(*ns);
		free(z->s);
		z->s = ns;
		z->cap = ncap;
	}
	mask = z->cap - 1;
	for (j = h & mask; z->s[j].t; j = (j + 1) & mask)
		if (z->s[j].h == h && z->s[j].t->len == t->len && memcmp(z->s[j].t->p, t->p, t->len) == 0) {
			text_free(t);
			return 0;
		}
	z->s[j].h = h;
	z->s[j].t = t;
	z->n++;
	return 1;
}

static struct ag_set *
set_of(struct ag_val *s)
{
	if (s->kind != AG_KIND_SET) {
		struct ag_set *z = ecalloc(1, sizeof(*z));
		blob_bytes += sizeof(*z);
		s->kind = AG_KIND_SET;
		s->i = (int64_t)(uintptr_t)z;
		s->n = 0;
	}
	return as_set(s);
}

void
ag_release(struct ag_val *s)
{
	if (s->kind == AG_KIND_TEXT) {
		text_free(as_text(s));
	} else if (s->kind == AG_KIND_SET) {
		struct ag_set *z = as_set(s);
		for (size_t k = 0; k < z->cap; k++)
			if (z->s[k].t)
				text_free(z->s[k].t);
		blob_bytes -= z->cap * sizeof(*z->s) + sizeof(*z);
		free(z->s);
		free(z);
	} else {
		return;
	}
	s->kind = 0;
	s->i = 0;
}

void
ag_apply_text(enum ag_func fn, struct ag_val *s, const char *text, size_t len, int64_t t)
{
	if (fn == AG_CDIST) {
		struct ag_set *z = set_of(s);
		s->n += set_put(z, hs_hash(text, len, 0x63646973ULL), text_new(text, len));
		return;
	}
	if (s->kind == 0 || (fn == AG_FIRST ? t < s->n : t >= s->n)) {
		ag_release(s);
		s->kind = AG_KIND_TEXT;
		s->i = (int64_t)(uintptr_t)text_new(text, len);
		s->n = t;
	}
}

void
ag_merge_blob(enum ag_func fn, struct ag_val *dst, struct ag_val *src)
{
	if (fn == AG_CDIST) {
		struct ag_set *z;
		if (src->kind != AG_KIND_SET)
			return;
		z = as_set(src);
		for (size_t k = 0; k < z->cap; k++)
			if (z->s[k].t) {
				dst->n += set_put(set_of(dst), z->s[k].h, z->s[k].t);
				z->s[k].t = NULL; /* moved (or freed as a duplicate) */
			}
		ag_release(src);
		return;
	}
	if (src->kind && (dst->kind == 0 || (fn == AG_FIRST ? src->n < dst->n : src->n >= dst->n))) {
		ag_release(dst);
		*dst = *src; /* the text moves with it */
		src->kind = 0;
		src->i = 0;
		return;
	}
	ag_release(src);
}

size_t
ag_blob_count(const struct ag_val *s)
{
	return s->kind == AG_KIND_SET ? as_set(s)->n : s->kind == AG_KIND_TEXT;
}

void
ag_blob_each(const struct ag_val *s, void (*fn)(void *, const char *, size_t), void *arg)
{
	if (s->kind == AG_KIND_TEXT) {
		fn(arg, as_text(s)->p, as_text(s)->len);
	} else if (s->kind == AG_KIND_SET) {
		const struct ag_set *z = as_set(s);
		for (size_t k = 0; k < z->cap; k++)
			if (z->s[k].t)
				fn(arg, z->s[k].t->p, z->s[k].t->len);
	}
}

void
ag_out(enum ag_func fn, const struct ag_val *s)
{
	switch (fn) {
	case AG_COUNT:
		js_out_i64(s->n);
		return;
	case AG_CDIST:
		js_out_i64(s->kind == AG_KIND_SET ? (int64_t)as_set(s)->n : 0);
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
		else if (s->kind == AG_KIND_TEXT)
			out_write(as_text(s)->p, as_text(s)->len);
		else if (s->kind == 1)
			js_out_i64(s->i);
		else
			js_out_double(s->d);
	}
}
