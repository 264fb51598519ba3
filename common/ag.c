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
                                        "count_distinct", "percentile_approx"};

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


/* ---- percentile_approx: Greenwald-Khanna, as Spark's QuantileSummaries ---- */

struct ag_qs_sample {
	double v;
	int64_t g, delta; /* rank gap to the previous sample; the uncertainty of its rank */
};

struct ag_qs {
	double eps;   /* relative error */
	int64_t count; /* values in the samples */
	int ints;     /* every value was an integer */
	size_t ns, scap, nh, hcap;
	struct ag_qs_sample *s; /* by value */
	double *head;           /* values not yet in the samples */
};

#define QS_HEAD_MIN 256     /* values buffered before they are merged in */
#define QS_COMPRESS 10000   /* samples that trigger a compression (Spark's) */

static struct ag_qs *
as_qs(const struct ag_val *s)
{
	return (struct ag_qs *)(uintptr_t)s->i;
}

static size_t
qs_bytes(const struct ag_qs *q)
{
	return sizeof(*q) + q->scap * sizeof(*q->s) + q->hcap * sizeof(*q->head);
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

/* Merges adjacent samples whose combined band stays under 2 eps count,
 * from the end, keeping the first (the minimum) and the last. */
static void
qs_compress(struct ag_qs *q)
{
	int64_t thr = (int64_t)floor(2.0 * q->eps * (double)q->count);
	size_t w;
	struct ag_qs_sample head;

	if (q->ns < 3)
		return;
	w = q->ns; /* written from the end, downwards */
	head = q->s[q->ns - 1];
	for (size_t i = q->ns - 2; i >= 1; i--) {
		if (q->s[i].g + head.g + head.delta < thr) {
			head.g += q->s[i].g;
		} else {
			q->s[--w] = head;
			head = q->s[i];
		}
	}
	q->s[--w] = head;
	q->s[--w] = q->s[0];
	memmove(q->s, q->s + w, (q->ns - w) * sizeof(*q->s));
	q->ns -= w;
}

/* The buffered values into the samples, sorted, each with its uncertainty. */
static void
qs_flush(struct ag_qs *q)
{
	struct ag_qs_sample *ns;
	size_t i = 0, k = 0, cap;

	if (q->nh == 0)
		return;
	qsort(q->head, q->nh, sizeof(*q->head), cmp_double);
	cap = q->ns + q->nh;
	ns = emalloc(cap * sizeof(*ns));
	for (size_t h = 0; h < q->nh; h++) {
		double x = q->head[h];
		int64_t delta;
		while (i < q->ns && q->s[i].v <= x)
			ns[k++] = q->s[i++];
		/* a new minimum or maximum is exact */
		delta = k == 0 || (i == q->ns && h == q->nh - 1) ? 0 : (int64_t)floor(2.0 * q->eps * (double)q->count);
		ns[k++] = (struct ag_qs_sample){x, 1, delta};
		q->count++;
	}
	while (i < q->ns)
		ns[k++] = q->s[i++];
	blob_bytes -= q->scap * sizeof(*q->s);
	free(q->s);
	q->s = ns;
	q->ns = k;
	q->scap = cap;
	blob_bytes += q->scap * sizeof(*q->s);
	q->nh = 0;
	if (q->ns >= QS_COMPRESS)
		qs_compress(q);
}

static struct ag_qs *
qs_of(struct ag_val *s, double eps)
{
	if (s->kind != AG_KIND_QS) {
		struct ag_qs *q = ecalloc(1, sizeof(*q));
		q->eps = eps;
		q->ints = 1;
		blob_bytes += sizeof(*q);
		s->kind = AG_KIND_QS;
		s->i = (int64_t)(uintptr_t)q;
	}
	return as_qs(s);
}

void
ag_pct_add(struct ag_val *s, const struct ag_num *x, double eps)
{
	struct ag_qs *q;

	if (x->kind == 0)
		return;
	q = qs_of(s, eps);
	q->ints &= x->kind == 1;
	if (q->nh == q->hcap) {
		size_t old = q->hcap;
		q->head = egrow(q->head, &q->hcap, q->nh + 1, sizeof(*q->head), QS_HEAD_MIN);
		blob_bytes += (q->hcap - old) * sizeof(*q->head);
	}
	q->head[q->nh++] = x->d;
	s->n++;
	/* merge when the buffer is as large as the samples: amortized cost */
	if (q->nh >= QS_HEAD_MIN && q->nh >= q->ns)
		qs_flush(q);
}

/* Spark's query: the first sample whose rank band holds ceil(p count). */
static double
qs_query(struct ag_qs *q, double p)
{
	int64_t rank, target = INT64_MIN, minrank = 0;

	qs_flush(q);
	if (p <= q->eps)
		return q->s[0].v;
	if (p >= 1 - q->eps)
		return q->s[q->ns - 1].v;
	rank = (int64_t)ceil(p * (double)q->count);
	for (size_t i = 0; i < q->ns; i++)
		if (q->s[i].g + q->s[i].delta > target)
			target = q->s[i].g + q->s[i].delta;
	target /= 2;
	for (size_t i = 0; i + 1 < q->ns; i++) {
		minrank += q->s[i].g;
		if (minrank + q->s[i].delta - target <= rank && rank <= minrank + target)
			return q->s[i].v;
	}
	return q->s[q->ns - 1].v;
}

void
ag_pct_out(struct ag_val *s, double p)
{
	double v;

	if (s->kind != AG_KIND_QS) {
		out_write("null", 4);
		return;
	}
	v = qs_query(as_qs(s), p);
	if (as_qs(s)->ints && fabs(v) < 9007199254740992.0)
		js_out_i64((int64_t)v);
	else
		js_out_double(v);
}

/* Two summaries into one (sessions merge): Spark's merge, samples sorted
 * together and compressed at the larger error. */
static void
qs_merge(struct ag_val *dst, struct ag_val *src)
{
	struct ag_qs *a, *b = as_qs(src);
	struct ag_qs_sample *m;
	size_t i = 0, j = 0, k = 0;

	qs_flush(b);
	a = qs_of(dst, b->eps);
	qs_flush(a);
	m = emalloc((a->ns + b->ns + 1) * sizeof(*m));
	while (i < a->ns || j < b->ns)
		m[k++] = j >= b->ns || (i < a->ns && a->s[i].v <= b->s[j].v) ? a->s[i++] : b->s[j++];
	blob_bytes -= a->scap * sizeof(*a->s);
	free(a->s);
	a->s = m;
	a->ns = k;
	a->scap = k + 1;
	blob_bytes += a->scap * sizeof(*a->s);
	a->count += b->count;
	a->ints &= b->ints;
	if (b->eps > a->eps)
		a->eps = b->eps;
	dst->n += src->n;
	qs_compress(a);
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
	} else if (s->kind == AG_KIND_QS) {
		struct ag_qs *q = as_qs(s);
		blob_bytes -= qs_bytes(q);
		free(q->s);
		free(q->head);
		free(q);
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
	if (fn == AG_PCT) {
		if (src->kind == AG_KIND_QS)
			qs_merge(dst, src);
		ag_release(src);
		return;
	}
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
	return s->kind == AG_KIND_SET ? as_set(s)->n : s->kind == AG_KIND_TEXT || s->kind == AG_KIND_QS;
}

/* A summary packed as it is: eps, count, ints, ns, nh, then ns (v, g,
 * delta) and nh buffered values; in the host's byte order (snapshots do
 * not move between machines of other byte orders). */
struct qs_packed {
	double eps;
	int64_t count, ints, ns, nh;
};

int
ag_blob_load(struct ag_val *s, const char *p, size_t n)
{
	struct qs_packed h;
	struct ag_qs *q;

	if (n < sizeof(h))
		return -1;
	memcpy(&h, p, sizeof(h));
	if (h.ns < 0 || h.nh < 0 || h.ns + h.nh < 1 || h.count < h.ns || h.ns > (1 << 30) ||
	    h.nh > (1 << 30) || !(h.eps > 0 && h.eps <= 1) ||
	    n != sizeof(h) + (size_t)h.ns * sizeof(struct ag_qs_sample) + (size_t)h.nh * sizeof(double))
		return -1;
	q = qs_of(s, h.eps);
	q->count = h.count;
	q->ints = h.ints != 0;
	q->ns = q->scap = (size_t)h.ns;
	q->s = emalloc((q->ns ? q->ns : 1) * sizeof(*q->s));
	memcpy(q->s, p + sizeof(h), q->ns * sizeof(*q->s));
	q->nh = q->hcap = (size_t)h.nh;
	q->head = emalloc((q->nh ? q->nh : 1) * sizeof(*q->head));
	memcpy(q->head, p + sizeof(h) + q->ns * sizeof(*q->s), q->nh * sizeof(*q->head));
	blob_bytes += q->scap * sizeof(*q->s) + q->hcap * sizeof(*q->head);
	return 0;
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
	} else if (s->kind == AG_KIND_QS) {
		const struct ag_qs *q = as_qs(s);
		struct qs_packed h = {q->eps, q->count, q->ints, (int64_t)q->ns, (int64_t)q->nh};
		size_t ls = q->ns * sizeof(*q->s), lh = q->nh * sizeof(*q->head);
		char *buf = emalloc(sizeof(h) + ls + lh);
		memcpy(buf, &h, sizeof(h));
		if (ls)
			memcpy(buf + sizeof(h), q->s, ls);
		if (lh)
			memcpy(buf + sizeof(h) + ls, q->head, lh);
		fn(arg, buf, sizeof(h) + ls + lh);
		free(buf);
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
