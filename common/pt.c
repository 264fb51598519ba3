/*
 * pt: partitions and their watermarks (pt.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hs.h"
#include "js.h"
#include "mem.h"
#include "out.h"
#include "pt.h"

void
pt_init(pt_set *s, int64_t delay, int64_t idle_ms)
{
	*s = (pt_set){.delay = delay, .idle_ms = idle_ms};
}

void
pt_clear(pt_set *s)
{
	for (size_t k = 0; k < s->n; k++)
		free(s->v[k].name);
	s->n = s->last = 0;
	if (s->slot)
		memset(s->slot, 0, s->nslot * sizeof(*s->slot));
}

void
pt_free(pt_set *s)
{
	pt_clear(s);
	if (s->ctl.n)
		js_want_free(&s->ctl);
	free(s->v);
	free(s->slot);
	s->v = NULL;
	s->slot = NULL;
	s->cap = s->nslot = 0;
}

size_t
pt_find(pt_set *s, const char *name, size_t len)
{
	size_t j;

	if (s->last < s->n && s->v[s->last].len == len && memcmp(s->v[s->last].name, name, len) == 0)
		return s->last;
	if ((s->n + 1) * 2 > s->nslot) {
		s->nslot = s->nslot ? s->nslot * 2 : 64;
		free(s->slot);
		s->slot = ecalloc(s->nslot, sizeof(*s->slot));
		for (size_t i = 0; i < s->n; i++) {
			j = hs_hash(s->v[i].name, s->v[i].len, 0) & (s->nslot - 1);
			while (s->slot[j])
				j = (j + 1) & (s->nslot - 1);
			s->slot[j] = (uint32_t)i + 1;
		}
	}
	for (j = hs_hash(name, len, 0) & (s->nslot - 1); s->slot[j]; j = (j + 1) & (s->nslot - 1)) {
		pt_part *q = &s->v[s->slot[j] - 1];
		if (q->len == len && memcmp(q->name, name, len) == 0)
			return s->last = s->slot[j] - 1;
	}
	s->v = egrow(s->v, &s->cap, s->n + 1, sizeof(*s->v), 16);
	s->v[s->n] = (pt_part){.name = estrndup(name, len), .len = len, .active = 1,
	                       .heard = s->caught_up_ms};
	s->slot[j] = (uint32_t)s->n + 1;
	return s->last = s->n++;
}

const char *
pt_row(pt_set *s, const js_val *v, int *part, int64_t *off)
{
	const char *p = v->p, *e = v->p + v->n, *d = e;

	*part = -1;
	if (v->type == JS_MISSING)
		return NULL;
	if (v->type != JS_STR || v->esc)
		return "field '_pos' is not a string TOPIC/PARTITION/OFFSET";
	while (d > p && (unsigned char)(d[-1] - '0') < 10)
		d--;
	if (d == e || e - d > 18 || d - 1 <= p || d[-1] != '/')
		return "field '_pos' is not a string TOPIC/PARTITION/OFFSET";
	*off = 0;
	for (const char *c = d; c < e; c++)
		*off = *off * 10 + (*c - '0');
	*part = (int)pt_find(s, p, (size_t)(d - 1 - p));
	s->seen = 1;
	return NULL;
}

void
pt_tail(pt_set *s, const char *text, size_t len, int *part, int64_t *off)
{
	static const char tag[] = "\"_pos\":\"";
	const char *e = text + len, *q;
	js_val v = {.type = JS_STR};

	if (len < sizeof(tag) + 2 || e[-1] != '}' || e[-2] != '"')
		return;
	for (q = e - 3; q > text && *q != '"'; q--)
		;
	if (q - text < (ptrdiff_t)sizeof(tag) - 1 ||
	    memcmp(q - (sizeof(tag) - 2), tag, sizeof(tag) - 1) != 0)
		return;
	v.p = q + 1;
	v.n = (uint32_t)(e - 2 - v.p);
	if (memchr(v.p, '\\', v.n) || pt_row(s, &v, part, off) != NULL)
		*part = -1;
}

const char *
pt_named(pt_set *s, const js_val *arr, int assigned)
{
	const char *p = arr->p, *e = arr->p + arr->n;

	for (p++; p < e; p++) {
		const char *q;
		size_t i;
		if (*p == ' ' || *p == ',' || *p == ']' || *p == '\t')
			continue;
		if (*p != '"')
			return "a partition list holds only strings \"TOPIC/PARTITION\"";
		for (q = ++p; q < e && *q != '"' && *q != '\\'; q++)
			;
		if (q == e || *q != '"' || q == p)
			return "a partition name is a plain string \"TOPIC/PARTITION\"";
		i = pt_find(s, p, (size_t)(q - p));
		s->v[i].active = assigned;
		s->v[i].heard = s->caught_up_ms;
		p = q;
	}
	s->seen = 1;
	return NULL;
}

int
pt_is_control(const nd_rec *r)
{
	return r->len >= 14 && memcmp(r->text, "{\"_", 3) == 0 &&
	       (memcmp(r->text + 3, "assigned\":", 10) == 0 || memcmp(r->text + 3, "revoked\":", 9) == 0);
}

int
pt_control(pt_set *s, const nd_rec *r, char *why, size_t whylen)
{
	static const char *names[] = {"_assigned", "_revoked"};
	js_val v[2];
	js_err err;
	const char *bad;

	if (!pt_is_control(r))
		return 0;
	if (!s->ctl.n)
		js_want_init(&s->ctl, names, 2);
	if (nd_scan(r, &s->ctl, v, &err, why, whylen) < 0)
		return -1;
	for (int k = 0; k < 2; k++) {
		if (v[k].type == JS_MISSING)
			continue;
		bad = v[k].type == JS_ARR ? pt_named(s, &v[k], k == 0)
		                          : "'_assigned' and '_revoked' take an array of partitions";
		if (bad) {
			snprintf(why, whylen, "%s", bad);
			return -1;
		}
	}
	return 1;
}

void
pt_heard(pt_set *s, size_t i, int64_t t)
{
	pt_part *q = &s->v[i];

	if (!q->has_max || t > q->pmax) {
		q->pmax = t;
		q->has_max = 1;
	}
	q->active = 1;
	q->heard = s->caught_up_ms;
}

void
pt_drain(pt_set *s, double now)
{
	if (!s->drained) {
		s->drained = 1;
		s->drained_at = now;
	}
}

void
pt_resume(pt_set *s, double now)
{
	if (s->drained) {
		s->caught_up_ms += (now - s->drained_at) * 1000.0;
		s->drained = 0;
	}
}

double
pt_caught_up(const pt_set *s, double now)
{
	return s->caught_up_ms + (s->drained ? (now - s->drained_at) * 1000.0 : 0);
}

int
pt_idle(const pt_set *s, const pt_part *p, double cu)
{
	return s->idle_ms && cu - p->heard >= (double)s->idle_ms;
}

double
pt_idle_due(const pt_set *s, double cu)
{
	double least = -1;

	if (!s->idle_ms)
		return -1;
	for (size_t i = 0; i < s->n; i++) {
		double left = s->v[i].heard + (double)s->idle_ms - cu;
		if (s->v[i].active && left > 0 && (least < 0 || left < least))
			least = left;
	}
	return least;
}

int64_t
pt_behind(const pt_set *s, int64_t t)
{
	int64_t w;

	return __builtin_sub_overflow(t, s->delay, &w) ? INT64_MIN : w;
}

int
pt_watermark(const pt_set *s, double cu, int64_t *wm)
{
	int64_t lo = INT64_MAX, hi = INT64_MIN;
	int live = 0;

	for (size_t i = 0; i < s->n; i++) {
		const pt_part *q = &s->v[i];
		int idle = pt_idle(s, q, cu);
		if (!q->active)
			continue;
		if (!q->has_max) {
			if (!idle)
				return 0;
			continue;
		}
		int64_t w = pt_behind(s, q->pmax);
		if (w > hi)
			hi = w;
		if (!idle) {
			live = 1;
			if (w < lo)
				lo = w;
		}
	}
	if (!live)
		lo = hi;
	if (lo == INT64_MIN || lo == INT64_MAX)
		return 0;
	*wm = lo;
	return 1;
}

void
pt_out_positions(const pt_set *s)
{
	out_byte('{');
	for (size_t i = 0, n = 0; i < s->n; i++) {
		if (s->v[i].next == 0)
			continue; /* assigned, no row read: it starts where it would */
		if (n++)
			out_byte(',');
		js_out_str(s->v[i].name, s->v[i].len);
		out_byte(':');
		js_out_i64(s->v[i].next);
	}
	out_byte('}');
}
