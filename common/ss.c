/*
 * ss: winagg's session windows (see ss.h).
 */
#include "ss.h"

#include <stdlib.h>
#include <string.h>

#include "mem.h"

void
ss_init(ss_state *s, int naggs, const enum ag_func *fn, size_t ext)
{
	memset(s, 0, sizeof(*s));
	s->naggs = naggs;
	s->fn = emalloc((size_t)(naggs > 0 ? naggs : 1) * sizeof(*fn));
	memcpy(s->fn, fn, (size_t)naggs * sizeof(*fn));
	s->ext = ext;
	s->rs = sizeof(ss_sess) + (size_t)naggs * sizeof(struct ag_val) + ext;
	s->rs = (s->rs + 7) & ~(size_t)7;
	s->batch = 1;
	s->min_end = INT64_MAX;
	s->tmp = emalloc(s->rs);
	ix_init(&s->ix, 64);
}

/* What a session's aggregates keep outside it (texts, sets). */
static void
release(const ss_state *s, ss_sess *e)
{
	for (int a = 0; a < s->naggs; a++)
		if (ag_keeps_blobs(s->fn[a]))
			ag_release(&e->a[a]);
}

void
ss_free(ss_state *s)
{
	for (size_t k = 0; k < s->nall; k++) {
		for (uint32_t i = 0; i < s->all[k]->n; i++)
			release(s, ss_at(s, s->all[k], i));
		free(s->all[k]->recs);
		free(s->all[k]);
	}
	free(s->all);
	free(s->dirty);
	free(s->gone);
	free(s->tmp);
	free(s->fn);
	ix_free(&s->ix);
	memset(s, 0, sizeof(*s));
}

void
ss_reset(ss_state *s)
{
	int naggs = s->naggs;
	enum ag_func *fn = emalloc((size_t)(naggs > 0 ? naggs : 1) * sizeof(*fn));
	size_t ext = s->ext;

	memcpy(fn, s->fn, (size_t)naggs * sizeof(*fn));
	ss_free(s);
	ss_init(s, naggs, fn, ext);
	free(fn);
}

static ss_group *
find(const ss_state *s, uint64_t h, const char *key, uint32_t klen)
{
	size_t mask = s->ix.cap - 1;

	for (size_t j = h & mask; s->ix.s[j].e; j = (j + 1) & mask) {
		ss_group *g = s->ix.s[j].e;
		if (s->ix.s[j].hash == h && g->klen == klen && memcmp(g->key, key, klen) == 0)
			return g;
	}
	return NULL;
}

/* dst absorbs src's aggregates: NULL, or why it cannot (an overflow). The
 * sketches merge register by register (maximum). For first and last, a tie
 * in event time goes to the earlier session (first) or the later (last):
 * sessions are merged in order of start. */
static const char *
merge(const ss_state *s, ss_sess *dst, const ss_sess *src)
{
	const unsigned char *se = ss_ext(s, src);
	unsigned char *de = ss_ext(s, dst);

	for (int k = 0; k < s->naggs; k++) {
		struct ag_val *d = &dst->a[k];
		const struct ag_val *v = &src->a[k];
		struct ag_num x = {v->kind, v->i, v->d};
		const char *why;
		switch (s->fn[k]) {
		case AG_COUNT: d->n += v->n; break;
		case AG_FIRST:
		case AG_LAST:
		case AG_CDIST:
		case AG_PCT: break; /* kept whole: merged at ss_commit (the plan may be dropped) */
		case AG_AVG:
			if (v->n && !isfinite(d->d + v->d))
				return "overflows a double";
			d->n += v->n;
			d->d += v->d;
			break;
		case AG_SUM:
			if (v->kind == 0)
				break;
			if ((why = ag_check(AG_SUM, d, &x)))
				return why;
			ag_apply(AG_SUM, d, &x, 0);
			break;
		case AG_MIN:
		case AG_MAX: ag_apply(s->fn[k], d, &x, 0); break;
		default: break;
		}
	}
	for (size_t b = 0; b < s->ext; b++)
		if (se[b] > de[b])
			de[b] = se[b];
	return NULL;
}

ss_sess *
ss_plan(ss_state *s, uint64_t h, const char *key, uint32_t klen, int64_t t, int64_t gap,
        const char **why)
{
	ss_sess *p = (ss_sess *)s->tmp;
	int64_t end = t + gap; /* the caller checked the range */
	ss_group *g = find(s, h, key, klen);
	uint32_t i = 0, j;

	s->plan.g = g;
	s->plan.h = h;
	s->plan.key = key;
	s->plan.klen = klen;
	s->plan.i = s->plan.j = 0;
	memset(p, 0, s->rs);
	p->start = t;
	p->end = end;
	p->said = SS_NONE;
	if (!g)
		return p;
	/* the first session that ends at or after t, then every one that
	 * starts at or before the new end: they overlap or touch it */
	while (i < g->n && ss_at(s, g, i)->end < t)
		i++;
	for (j = i; j < g->n && ss_at(s, g, j)->start <= end; j++) {
		const ss_sess *e = ss_at(s, g, j);
		if (j == i) {
			memcpy(p, e, s->rs);
			if (t < p->start)
				p->start = t;
			if (end > p->end)
				p->end = end;
			continue;
		}
		if ((*why = merge(s, p, e)))
			return NULL;
		if (e->end > p->end)
			p->end = e->end;
	}
	s->plan.i = i;
	s->plan.j = j;
	return p;
}

static void
note_gone(ss_state *s, const ss_group *g, int64_t start)
{
	s->gone = egrow(s->gone, &s->gcap, s->ngone + 1, sizeof(*s->gone), 16);
	s->gone[s->ngone++] = (ss_gone){g, start};
}

static ss_group *
new_group(ss_state *s, uint64_t h, const char *key, uint32_t klen)
{
	ss_group *g = emalloc(sizeof(*g) + klen);

	*g = (ss_group){.hash = h, .klen = klen};
	memcpy(g->key, key, klen);
	ix_add(&s->ix, h, g);
	s->all = egrow(s->all, &s->acap, s->nall + 1, sizeof(*s->all), 64);
	g->at = s->nall;
	s->all[s->nall++] = g;
	s->bytes += sizeof(*g) + klen;
	return g;
}

/* Room for one more session in g. */
static void
make_room(ss_state *s, ss_group *g)
{
	if (g->n == g->cap) {
		uint32_t nc = g->cap ? g->cap * 2 : 1;
		g->recs = erealloc(g->recs, (size_t)nc * s->rs);
		s->bytes += (size_t)(nc - g->cap) * s->rs;
		g->cap = nc;
	}
}

ss_sess *
ss_load(ss_state *s, uint64_t h, const char *key, uint32_t klen, int64_t start, int64_t end)
{
	ss_group *g = find(s, h, key, klen);
	ss_sess *e;

	if (!g)
		g = new_group(s, h, key, klen);
	else if (g->n > 0 && ss_at(s, g, g->n - 1)->end >= start)
		return NULL;
	make_room(s, g);
	e = ss_at(s, g, g->n++);
	memset(e, 0, s->rs);
	e->start = start;
	e->end = end;
	e->said = SS_NONE;
	s->nsess++;
	if (end < s->min_end)
		s->min_end = end;
	return e;
}

ss_sess *
ss_commit(ss_state *s, ss_group **gp)
{
	ss_sess *p = (ss_sess *)s->tmp, *e;
	ss_group *g = s->plan.g;
	uint32_t merged = s->plan.j - s->plan.i;

	if (!g)
		g = new_group(s, s->plan.h, s->plan.key, s->plan.klen);
	/* the written rows this merge makes stale */
	if (merged > 0 && p->said != SS_NONE && p->said != p->start) {
		note_gone(s, g, p->said);
		p->said = SS_NONE;
	}
	for (uint32_t k = s->plan.i + 1; k < s->plan.j; k++) {
		ss_sess *o = ss_at(s, g, k);
		if (o->said != SS_NONE)
			note_gone(s, g, o->said);
		for (int a = 0; a < s->naggs; a++)
			if (ag_keeps_blobs(s->fn[a]))
				ag_merge_blob(s->fn[a], &p->a[a], &o->a[a]);
	}
	if (merged == 0) {
		make_room(s, g);
		memmove(g->recs + (size_t)(s->plan.i + 1) * s->rs,
		        g->recs + (size_t)s->plan.i * s->rs, (size_t)(g->n - s->plan.i) * s->rs);
		g->n++;
		s->nsess++;
	} else {
		/* sessions i+1..j-1 go; i becomes the plan */
		memmove(g->recs + (size_t)(s->plan.i + 1) * s->rs,
		        g->recs + (size_t)s->plan.j * s->rs, (size_t)(g->n - s->plan.j) * s->rs);
		g->n -= merged - 1;
		s->nsess -= merged - 1;
		s->merges += merged - 1;
	}
	e = ss_at(s, g, s->plan.i);
	memcpy(e, p, s->rs);
	e->stamp = s->batch;
	if (e->end < s->min_end)
		s->min_end = e->end;
	if (g->stamp != s->batch) {
		g->stamp = s->batch;
		s->dirty = egrow(s->dirty, &s->dcap, s->ndirty + 1, sizeof(*s->dirty), 64);
		s->dirty[s->ndirty++] = g;
	}
	*gp = g;
	return e;
}

static void
drop_group(ss_state *s, ss_group *g)
{
	size_t j = ix_slot_of(&s->ix, g->hash, g);

	ix_delete_at(&s->ix, j);
	s->all[g->at] = s->all[--s->nall];
	s->all[g->at]->at = g->at;
	s->bytes -= sizeof(*g) + g->klen + (size_t)g->cap * s->rs;
	free(g->recs);
	free(g);
}

void
ss_evict(ss_state *s, int64_t limit, int all, void (*fn)(void *, const ss_group *, const ss_sess *),
         void *arg)
{
	int64_t least = INT64_MAX;

	if (!all && limit < s->min_end)
		return;
	for (size_t k = 0; k < s->nall;) {
		ss_group *g = s->all[k];
		uint32_t keep = 0;
		for (uint32_t i = 0; i < g->n; i++) {
			ss_sess *e = ss_at(s, g, i);
			if (all || e->end <= limit) {
				if (fn)
					fn(arg, g, e);
				release(s, e);
				s->evicted++;
				continue;
			}
			if (e->end < least)
				least = e->end;
			if (keep != i)
				memcpy(ss_at(s, g, keep), e, s->rs);
			keep++;
		}
		s->nsess -= g->n - keep;
		g->n = keep;
		if (keep == 0 && g->stamp != s->batch)
			drop_group(s, g); /* the last of the list took its place */
		else
			k++;
	}
	s->min_end = least;
	if (s->ix.count > 0 && s->ix.count * 8 < s->ix.cap && s->ix.cap > 64)
		ix_resize(&s->ix, s->ix.cap / 4);
}

void
ss_mark_written(ss_state *s)
{
	for (size_t k = 0; k < s->nall; k++)
		for (uint32_t i = 0; i < s->all[k]->n; i++)
			ss_at(s, s->all[k], i)->said = ss_at(s, s->all[k], i)->start;
}

void
ss_next_batch(ss_state *s)
{
	/* empty groups kept for the dirty list go now */
	for (size_t k = 0; k < s->ndirty; k++)
		if (s->dirty[k]->n == 0)
			drop_group(s, s->dirty[k]);
	s->last_changed = s->ndirty;
	s->ndirty = 0;
	s->ngone = 0;
	s->batch++;
}

size_t
ss_memory(const ss_state *s)
{
	return s->bytes + s->ix.cap * sizeof(ix_slot) + s->acap * sizeof(*s->all) +
	       s->dcap * sizeof(*s->dirty) + s->gcap * sizeof(*s->gone);
}
