/*
 * wr: winagg's output rows (see wr.h).
 */
#include "wr.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "js.h"
#include "mem.h"
#include "out.h"
#include "rk.h"
#include "tm.h"

/* ,"name": as JSON. */
static char *
make_head(const char *name, size_t *len)
{
	struct buf b = {0};

	buf_put(&b, ",\"", 2);
	js_escape(name, strlen(name), 0, buf_sink, &b);
	buf_put(&b, "\":", 2);
	*len = b.len;
	return b.p;
}

int
wr_add_group(wr_layout *l, const char *name, char *why, size_t whylen)
{
	if (l->ngroup == WR_MAX_GROUP) {
		snprintf(why, whylen, "--group-by: more than %d fields", WR_MAX_GROUP);
		return -1;
	}
	l->group[l->ngroup] = name;
	l->group_head[l->ngroup] = make_head(name, &l->group_headlen[l->ngroup]);
	l->ngroup++;
	return 0;
}

#define BAD(...) return snprintf(why, whylen, __VA_ARGS__), -1

int
wr_add_agg(wr_layout *l, const char *spec, char *why, size_t whylen)
{
	struct wr_agg *a;
	const char *eq = strchr(spec, '='), *fn, *lp, *rp;
	int k;

	if (l->naggs == WR_MAX_AGGS)
		BAD("--agg: more than %d aggregates", WR_MAX_AGGS);
	if (!eq || eq == spec)
		BAD("--agg: '%s' is not NAME=FUNC(FIELD)", spec);
	fn = eq + 1;
	lp = strchr(fn, '(');
	if ((k = ag_func_named(fn, lp ? (size_t)(lp - fn) : strlen(fn))) < 0)
		BAD("--agg: unknown function in '%s' (count, sum, min, max, avg, first, last, "
		    "count_distinct, approx_count_distinct, percentile_approx)",
		    spec);
	a = &l->aggs[l->naggs];
	*a = (struct wr_agg){.fn = (enum ag_func)k, .rsd = 0.05 /* Spark's default */};
	if (lp) {
		const char *comma = strchr(lp, ',');
		rp = strchr(lp, ')');
		if (!rp || rp[1] != '\0')
			BAD("--agg: '%s' is not NAME=FUNC(FIELD)", spec);
		if (a->fn == AG_PCT) {
			/* percentile_approx(FIELD,P[,ACCURACY]) */
			char *end;
			const char *c2;
			long long acc = AG_PCT_ACCURACY;
			if (!comma || comma > rp)
				BAD("--agg: percentile_approx needs a percentage in '%s' (FIELD,P)",
				    spec);
			a->pct = strtod(comma + 1, &end);
			if (end == comma + 1 || !(a->pct >= 0 && a->pct <= 1) ||
			    (*end != ',' && end != rp))
				BAD("--agg: the percentage in '%s' must be from 0 to 1", spec);
			if ((c2 = end) != rp) {
				acc = strtoll(c2 + 1, &end, 10);
				if (end != rp || acc < 1 || acc > 1000000000)
					BAD("--agg: the accuracy in '%s' must be a whole number "
					    "from 1",
					    spec);
			}
			a->eps = 1.0 / (double)acc;
			rp = comma;
			comma = NULL;
		}
		if (comma && comma < rp) {
			char *end;
			if (a->fn != AG_APPROX)
				BAD("--agg: %s takes one field in '%s'", ag_names[k], spec);
			a->rsd = strtod(comma + 1, &end);
			if (end != rp || !(a->rsd >= 0.002 && a->rsd < 0.39))
				BAD("--agg: the relative standard deviation in '%s' must be from "
				    "0.002 to "
				    "less than 0.39",
				    spec);
			rp = comma;
		}
		if (rp > lp + 1)
			a->field = estrndup(lp + 1, (size_t)(rp - lp - 1));
	}
	if (a->fn == AG_COUNT && a->field) {
		free(a->field);
		BAD("--agg: count takes no field in '%s' (it counts rows)", spec);
	}
	if (a->fn != AG_COUNT && !a->field)
		BAD("--agg: %s needs a field in '%s'", ag_names[k], spec);
	if (a->fn == AG_APPROX) {
		a->p = ag_hll_precision(a->rsd);
		if (a->p > AG_HLL_PMAX)
			a->p = AG_HLL_PMAX;
		a->off = l->ext;
		l->ext += (size_t)1 << a->p;
	}
	a->name = estrndup(spec, (size_t)(eq - spec));
	a->head = make_head(a->name, &a->headlen);
	l->naggs++;
	return 0;
}

void
wr_free(wr_layout *l)
{
	for (int i = 0; i < l->naggs; i++) {
		free(l->aggs[i].name);
		free(l->aggs[i].field);
		free(l->aggs[i].head);
	}
	for (int i = 0; i < l->ngroup; i++)
		free(l->group_head[i]);
	l->naggs = l->ngroup = 0;
}

/* js_escape's sink into memory that has the room. */
struct cursor {
	char *p;
};

static void
to_mem(void *arg, const char *s, size_t n)
{
	struct cursor *c = arg;

	memcpy(c->p, s, n);
	c->p += n;
}

void
wr_row(const wr_layout *l, int64_t start, int64_t end, int session, const char *k, uint32_t klen,
       const struct ag_val *a, const unsigned char *ext)
{
	/* Rows come window by window: what a window's rows share is made once,
	 * the text before the rowkey's key part ({"rowkey":"START/END/, where
	 * nothing needs escaping) and after it (the bounds). */
	enum { T = TM_RFC3339_LEN };
	static char head[11 + 2 * T + 2], tail[18 + T + 16 + T + 1];
	static size_t headn, tailn;
	static int64_t s_ms = INT64_MIN, e_ms = INT64_MIN;
	static int s_sess = -1;
	char ws[T], we[T], rk[RK_MAX + 1];
	size_t rklen, hn = T + (session ? 7 : T) + 2; /* the rowkey's START/END/ */
	struct cursor c;
	char *d;

	if (start != s_ms || end != e_ms || session != s_sess) {
		s_ms = start;
		e_ms = end;
		s_sess = session;
		tm_format_rfc3339(start, ws);
		tm_format_rfc3339(end, we);
		memcpy(head, "{\"rowkey\":\"", 11);
		memcpy(head + 11, ws, T);
		head[11 + T] = '/';
		if (session) {
			memcpy(head + 12 + T, "session/", 8);
			headn = 11 + T + 9;
		} else {
			memcpy(head + 12 + T, we, T);
			head[12 + 2 * T] = '/';
			headn = 11 + 2 * T + 2;
		}
		memcpy(tail, "\",\"window_start\":\"", 18);
		memcpy(tail + 18, ws, T);
		memcpy(tail + 18 + T, "\",\"window_end\":\"", 16);
		memcpy(tail + 34 + T, we, T);
		tail[34 + 2 * T] = '"';
		tailn = 35 + 2 * T;
	}
	rklen = session ? rk_session(head + 11, k, klen, l->ngroup, rk)
	                : rk_make(head + 11, head + 12 + T, k, klen, l->ngroup, rk);
	/* escaped, a byte takes at most 6 */
	d = out_reserve(headn + 6 * (rklen - hn) + tailn);
	c.p = d;
	to_mem(&c, head, headn);
	js_escape(rk + hn, rklen - hn, 0, to_mem, &c);
	to_mem(&c, tail, tailn);
	out_commit((size_t)(c.p - d));
	for (int g = 0; g < l->ngroup; g++) {
		size_t n = strlen(k);
		out_write(l->group_head[g], l->group_headlen[g]);
		out_write(k, n);
		k += n + 1;
	}
	for (int i = 0; i < l->naggs; i++) {
		out_write(l->aggs[i].head, l->aggs[i].headlen);
		if (l->aggs[i].fn == AG_APPROX)
			js_out_i64((int64_t)ag_hll_estimate(ext + l->aggs[i].off, l->aggs[i].p));
		else if (l->aggs[i].fn ==
		         AG_PCT) /* a query merges the summary's buffer: not const */
			ag_pct_out((struct ag_val *)&a[i], l->aggs[i].pct);
		else
			ag_out(l->aggs[i].fn, &a[i]);
	}
	out_write("}\n", 2);
	out_end_record();
}

void
wr_retraction(const wr_layout *l, int64_t start, const char *key, uint32_t klen)
{
	char ts[TM_RFC3339_LEN], rk[RK_MAX + 1];
	size_t rklen;

	tm_format_rfc3339(start, ts);
	rklen = rk_session(ts, key, klen, l->ngroup, rk);
	out_write("{\"rowkey\":", 10);
	js_out_str(rk, rklen);
	out_write(",\"_delete\":true}\n", 17);
	out_end_record();
}
