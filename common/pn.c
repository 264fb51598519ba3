/*
 * pn: sliding windows by panes (pn.h).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "mem.h"
#include "pn.h"
#include "tm.h"

/* The earliest window start whose window holds time t. */
static int64_t
first_window(const pn_state *pn, int64_t t)
{
	int64_t w =
	    t - tm_floormod(t - pn->offset, pn->slide) - (pn->size - 1) / pn->slide * pn->slide;

	while (w + pn->size <= t)
		w += pn->slide;
	return w;
}

/* Magnitudes below which no sum of parts can overflow: an integer sum is
 * exact to 2^63, the bound stays well below it and below a double's range. */
#define PN_INT_LIMIT 4611686018427387904.0 /* 2^62 */
#define PN_DBL_LIMIT 1e307

#define GOLDEN 0x9e3779b97f4a7c15ULL /* ws_hash's multiplier */

struct pn_group {
	uint64_t kh;     /* the group key's hash */
	const char *key; /* the key, in one of its entries */
	uint32_t klen;
	uint32_t head, tail, n;    /* its items, a list through item[].next */
	uint32_t chead, ctail, cn; /* pn_changed: its ws parts, the same way */
};

struct pn_item {
	const ws_ent *e;
	uint32_t next;
};

static int64_t
gcd64(int64_t a, int64_t b)
{
	while (b) {
		int64_t t = a % b;
		a = b;
		b = t;
	}
	return a;
}

int
pn_supports(const enum ag_func *fn, int naggs)
{
	for (int i = 0; i < naggs; i++)
		if (!ag_combines(fn[i]))
			return 0;
	return 1;
}

void
pn_init(pn_state *pn, int64_t size, int64_t slide, int64_t offset, int naggs,
        const enum ag_func *fn, int track_dirty)
{
	*pn = (pn_state){.size = size, .slide = slide, .offset = offset, .naggs = naggs};
	pn->g = gcd64(size, slide);
	pn->fn = emalloc((size_t)(naggs ? naggs : 1) * sizeof(*pn->fn));
	memcpy(pn->fn, fn, (size_t)naggs * sizeof(*fn));
	pn->mag_i = ecalloc((size_t)(naggs ? naggs : 1), sizeof(double));
	pn->mag_d = ecalloc((size_t)(naggs ? naggs : 1), sizeof(double));
	ws_init(&pn->p, pn->g, naggs, 0, track_dirty);
}

void
pn_free(pn_state *pn)
{
	ws_free(&pn->p);
	free(pn->fn);
	free(pn->mag_i);
	free(pn->mag_d);
	free(pn->grp);
	free(pn->gix);
	free(pn->item);
	free(pn->list);
	free(pn->suf);
	free(pn->sufseq);
	free(pn->chg);
	free(pn->chv);
	free(pn->want);
}

int64_t
pn_pane(const pn_state *pn, int64_t t)
{
	return t - tm_floormod(t - pn->offset, pn->g);
}

/* The latest window start at or before t. */
static int64_t
start_at(const pn_state *pn, int64_t t)
{
	return t - tm_floormod(t - pn->offset, pn->slide);
}

void
pn_mag(pn_state *pn, const struct ag_val *a, int sign)
{
	for (int i = 0; i < pn->naggs; i++) {
		if (pn->fn[i] == AG_SUM && a[i].kind == 1)
			pn->mag_i[i] += sign * fabs((double)a[i].i);
		else if ((pn->fn[i] == AG_SUM && a[i].kind == 2) || pn->fn[i] == AG_AVG)
			pn->mag_d[i] += sign * fabs(a[i].d);
	}
}

int
pn_fits(const pn_state *pn, const struct ag_num *xs)
{
	for (int i = 0; i < pn->naggs; i++) {
		const struct ag_num *x = &xs[i];
		if ((pn->fn[i] != AG_SUM && pn->fn[i] != AG_AVG) || x->kind == 0)
			continue;
		if (pn->fn[i] == AG_SUM && x->kind == 1 &&
		    pn->mag_i[i] + fabs((double)x->i) >= PN_INT_LIMIT)
			return 0;
		if (pn->mag_i[i] + pn->mag_d[i] + fabs(x->d) >= PN_DBL_LIMIT)
			return 0;
	}
	return 1;
}

/* One part of a window's sum, exactly: its integer part, fractions, and
 * whether there were any (the total is then a double). */
__extension__ typedef __int128 i128;

struct exact {
	i128 i;
	long double d;
	long nd;
};

static void
exact_add(struct exact *s, enum ag_func fn, const struct ag_val *a, int sign)
{
	if (fn == AG_AVG || a->kind == 2) {
		s->d += sign * (long double)a->d;
		s->nd += sign;
	} else if (a->kind == 1) {
		s->i += sign * (i128)a->i;
	}
}

/* Would x overflow a window whose parts add up to s (c: its ws part)? */
static const char *
exact_over(enum ag_func fn, struct exact s, const struct ag_val *c, const struct ag_num *x)
{
	if (c)
		exact_add(&s, fn, c, 1);
	if (fn == AG_SUM && s.nd == 0 && x->kind == 1) {
		s.i += x->i;
		return s.i > INT64_MAX || s.i < INT64_MIN ? "overflows a 64-bit integer" : NULL;
	}
	return isfinite((double)((long double)s.i + s.d + (long double)x->d))
	           ? NULL
	           : "overflows a double";
}

int
pn_check(const pn_state *pn, const ws_state *ws, uint64_t kh, const char *key, uint32_t klen,
         int64_t lo, int64_t hi, const struct ag_num *xs, const char **why)
{
	const ws_state *p = &pn->p;
	size_t k0 = ws_lower(p, lo); /* the group's panes in [lo, hi + size), in time order */
	for (int i = 0; i < pn->naggs; i++) {
		enum ag_func fn = pn->fn[i];
		struct exact s = {0};
		size_t in = k0, out = k0; /* panes [out, in) are in the window */
		if ((fn != AG_SUM && fn != AG_AVG) || xs[i].kind == 0)
			continue;
		for (int64_t w = lo; w <= hi; w += pn->slide) {
			const ws_ent *c;
			for (; in < p->nwins && p->wins[in].start < w + pn->size; in++) {
				const ws_ent *e = ws_find(p, ws_hash(kh, p->wins[in].start),
				                          p->wins[in].start, key, klen);
				if (e)
					exact_add(&s, fn, &e->a[i], 1);
			}
			for (; out < in && p->wins[out].start < w; out++) {
				const ws_ent *e = ws_find(p, ws_hash(kh, p->wins[out].start),
				                          p->wins[out].start, key, klen);
				if (e)
					exact_add(&s, fn, &e->a[i], -1);
			}
			c = ws_find(ws, ws_hash(kh, w), w, key, klen);
			if ((*why = exact_over(fn, s, c ? &c->a[i] : NULL, &xs[i])))
				return i;
		}
	}
	return -1;
}

/* ---- freezing ---- */

static void
grow_scratch(pn_state *pn, size_t n)
{
	if (n <= pn->sufcap)
		return;
	pn->list = egrow(pn->list, &pn->listcap, n, sizeof(*pn->list), 64);
	pn->sufseq = egrow(pn->sufseq, &pn->sufcap, n, sizeof(*pn->sufseq), 64);
	free(pn->suf);
	pn->suf = emalloc(pn->sufcap * (size_t)(pn->naggs ? pn->naggs : 1) * sizeof(*pn->suf));
}

/* The group of key (hash kh), found or added; key must outlive the call's
 * caller (it is an entry's). */
static uint32_t
group_of(pn_state *pn, uint64_t kh, const char *key, uint32_t klen)
{
	size_t mask, j;

	if (2 * (pn->ngrp + 1) > pn->gixcap) {
		size_t cap = pn->gixcap ? 2 * pn->gixcap : 1024;
		free(pn->gix);
		pn->gix = ecalloc(cap, sizeof(*pn->gix));
		pn->gixcap = cap;
		for (uint32_t g = 0; g < pn->ngrp; g++) {
			for (j = pn->grp[g].kh & (cap - 1); pn->gix[j]; j = (j + 1) & (cap - 1))
				;
			pn->gix[j] = g + 1;
		}
	}
	mask = pn->gixcap - 1;
	for (j = kh & mask; pn->gix[j]; j = (j + 1) & mask) {
		const struct pn_group *g = &pn->grp[pn->gix[j] - 1];
		if (g->kh == kh && g->klen == klen && memcmp(g->key, key, klen) == 0)
			return pn->gix[j] - 1;
	}
	pn->grp = egrow(pn->grp, &pn->grpcap, pn->ngrp + 1, sizeof(*pn->grp), 256);
	pn->grp[pn->ngrp] = (struct pn_group){
	    .kh = kh, .key = key, .klen = klen, .head = UINT32_MAX, .chead = UINT32_MAX};
	pn->gix[j] = (uint32_t)pn->ngrp + 1;
	return (uint32_t)pn->ngrp++;
}

/* Where slide_group sends a window's value: its panes as the front's
 * suffix (NULL: none) and the back, each with its least seq. */
typedef void pn_out(pn_state *pn, void *arg, const struct pn_group *g, int64_t w,
                    const struct ag_val *front, uint64_t fseq, const struct ag_val *back,
                    uint64_t bseq);

/* The value of window w's panes, ws's part added (append mode: the window
 * closes, its entry in ws holds the final value). */
static void
put_window(pn_state *pn, void *arg, const struct pn_group *g, int64_t w, const struct ag_val *front,
           uint64_t fseq, const struct ag_val *back, uint64_t bseq)
{
	ws_state *ws = arg;
	uint64_t h = ws_hash(g->kh, w), seq = fseq < bseq ? fseq : bseq;
	ws_ent *e = ws_find(ws, h, w, g->key, g->klen);
	struct ag_val v;

	if (!e) {
		e = ws_add(ws, h, w, g->key, g->klen);
		e->seq = seq;
	} else if (seq < e->seq) {
		e->seq = seq;
	}
	for (int i = 0; i < pn->naggs; i++) {
		v = front ? front[i] : (struct ag_val){0};
		ag_combine(pn->fn[i], &v, &back[i]);
		ag_combine(pn->fn[i], &v, &e->a[i]);
		e->a[i] = v;
	}
}

/* Two stacks over one group's panes list[0..m), in time order: with want
 * (nwant window starts, ascending) each of those windows, with or without
 * panes; without, every window starting in [wa, wb] that holds a pane. */
static void
slide_group(pn_state *pn, const struct pn_group *g, size_t m, int64_t wa, int64_t wb,
            const int64_t *want, size_t nwant, pn_out *out, void *arg)
{
	const ws_ent **L = pn->list;
	int na = pn->naggs;
	struct ag_val *back = pn->suf + pn->sufcap * (size_t)na - (size_t)na; /* the last slot */
	uint64_t bseq = UINT64_MAX;
	size_t f = 0, b = 0, mid = 0; /* front [f, mid) as suffixes, back [mid, b) as one value */
	size_t wi = 0;
	int64_t w;

	if (want) {
		if (nwant == 0)
			return;
		w = want[0];
	} else {
		w = first_window(pn, L[0]->wstart);
		if (w < wa)
			w = wa;
	}
	memset(back, 0, (size_t)na * sizeof(*back));
	while (want ? wi < nwant : w <= wb) {
		if (want)
			w = want[wi];
		for (; b < m && L[b]->wstart < w + pn->size; b++) {
			for (int i = 0; i < na; i++)
				ag_combine(pn->fn[i], &back[i], &L[b]->a[i]);
			if (L[b]->seq < bseq)
				bseq = L[b]->seq;
		}
		for (; f < b && L[f]->wstart < w; f++) {
			if (f == mid) {
				/* the front is empty: the back becomes it, as suffixes */
				for (size_t k = b; k-- > f;) {
					struct ag_val *s = pn->suf + k * (size_t)na;
					memcpy(s, L[k]->a, (size_t)na * sizeof(*s));
					pn->sufseq[k] = L[k]->seq;
					if (k + 1 < b) {
						for (int i = 0; i < na; i++)
							ag_combine(pn->fn[i], &s[i], &s[na + i]);
						if (pn->sufseq[k + 1] < pn->sufseq[k])
							pn->sufseq[k] = pn->sufseq[k + 1];
					}
				}
				mid = b;
				memset(back, 0, (size_t)na * sizeof(*back));
				bseq = UINT64_MAX;
			}
		}
		if (f == b && !want) {
			/* no pane in this window: on to the first that holds the next */
			if (b == m)
				break;
			mid = b;
			w = first_window(pn, L[b]->wstart);
			continue;
		}
		if (f < mid)
			out(pn, arg, g, w, pn->suf + f * (size_t)na, pn->sufseq[f], back, bseq);
		else
			out(pn, arg, g, w, NULL, UINT64_MAX, back, bseq);
		if (want)
			wi++;
		else
			w += pn->slide;
	}
}

static void
drop_pane(void *arg, const ws_ent *e)
{
	pn_mag(arg, e->a, -1);
}

/* The windows the watermark closes moving from old to limit (all: every
 * one) start in [*wa, *wb]; ws's entries of them were open parts and leave
 * the bound. 0 when none closes. */
static int
closing(pn_state *pn, const ws_state *ws, int old_set, int64_t old, int64_t limit, int all,
        int64_t *wa, int64_t *wb)
{
	*wa = INT64_MIN;
	*wb = INT64_MAX;
	if (!all) {
		if (limit < TM_MIN_MS)
			return 0;
		*wb = start_at(pn, limit - pn->size); /* the last window ending by limit */
	}
	if (old_set && old >= TM_MIN_MS)
		*wa = start_at(pn, old - pn->size) + pn->slide;
	if (*wb < *wa)
		return 0;
	for (size_t k = ws_lower(ws, *wa); k < ws->nwins && ws->wins[k].start <= *wb; k++)
		for (const ws_ent *e = ws->wins[k].head; e; e = e->next)
			pn_mag(pn, e->a, -1);
	return 1;
}

/* Appends e to one of g's lists (panes, or ws parts with part). */
static void
item_add(pn_state *pn, struct pn_group *g, const ws_ent *e, int part)
{
	uint32_t *head = part ? &g->chead : &g->head, *tail = part ? &g->ctail : &g->tail;

	pn->item = egrow(pn->item, &pn->itemcap, pn->nitem + 1, sizeof(*pn->item), 1024);
	pn->item[pn->nitem] = (struct pn_item){e, UINT32_MAX};
	if (*head == UINT32_MAX)
		*head = (uint32_t)pn->nitem;
	else
		pn->item[*tail].next = (uint32_t)pn->nitem;
	*tail = (uint32_t)pn->nitem++;
	if (part)
		g->cn++;
	else
		g->n++;
}

/* pn_freeze and pn_changed group entries anew each time. */
static void
groups_reset(pn_state *pn)
{
	pn->ngrp = pn->nitem = 0;
	if (pn->gixcap)
		memset(pn->gix, 0, pn->gixcap * sizeof(*pn->gix));
}

void
pn_freeze(pn_state *pn, ws_state *ws, int old_set, int64_t old, int64_t limit, int all)
{
	int64_t wa, wb, until;

	if (!closing(pn, ws, old_set, old, limit, all, &wa, &wb))
		return;
	until = all ? INT64_MAX : wb + pn->size;

	/* the panes of those windows, by group, each group's in time order */
	groups_reset(pn);
	for (size_t k = 0; k < pn->p.nwins && pn->p.wins[k].start < until; k++) {
		int64_t ps = pn->p.wins[k].start;
		for (const ws_ent *e = pn->p.wins[k].head; e; e = e->next) {
			uint32_t gi = group_of(pn, e->hash ^ ((uint64_t)ps * GOLDEN),
			                       ws_key(&pn->p, e), e->klen);
			item_add(pn, &pn->grp[gi], e, 0);
		}
	}
	for (size_t gi = 0; gi < pn->ngrp; gi++) {
		const struct pn_group *g = &pn->grp[gi];
		size_t m = 0;
		grow_scratch(pn, (size_t)g->n + 1); /* + 1: the back's slot */
		for (uint32_t it = g->head; it != UINT32_MAX; it = pn->item[it].next)
			pn->list[m++] = pn->item[it].e;
		slide_group(pn, g, m, wa, wb, NULL, 0, put_window, ws);
	}
	ws_sort(ws, wa, wb);
	ws_evict(&pn->p, all ? 0 : wb + pn->slide, all, drop_pane, pn);
}

void
pn_close(pn_state *pn, ws_state *ws, int old_set, int64_t old, int64_t limit)
{
	int64_t wa, wb;

	if (closing(pn, ws, old_set, old, limit, 0, &wa, &wb))
		ws_evict(&pn->p, wb + pn->slide, 0, drop_pane, pn);
}

/* A window update mode writes: its group, start, the first row of the
 * batch that changed it, and where its value goes in chv. */
struct pn_chg {
	uint32_t g;
	int64_t w;
	uint64_t seq;
	size_t vi;
};

/* The per-window path's order: by the first row that changed a window,
 * then a row's windows from the latest start back. */
static int
by_row_order(const void *a, const void *b)
{
	const struct pn_chg *x = a, *y = b;

	if (x->seq != y->seq)
		return x->seq < y->seq ? -1 : 1;
	return x->w > y->w ? -1 : x->w < y->w;
}

static int
by_start(const void *a, const void *b)
{
	const ws_ent *x = *(const ws_ent *const *)a, *y = *(const ws_ent *const *)b;

	return x->wstart < y->wstart ? -1 : x->wstart > y->wstart;
}

/* slide_group's sink in update mode: the value, ws's part added, into the
 * next change of the group (they come in the order of want). */
static void
put_changed(pn_state *pn, void *arg, const struct pn_group *g, int64_t w,
            const struct ag_val *front, uint64_t fseq, const struct ag_val *back, uint64_t bseq)
{
	struct pn_chg **next = arg;
	struct ag_val *v = pn->chv + (*next)->vi * (size_t)pn->naggs;
	const ws_ent *c = ws_find(pn->ws_of_changes, ws_hash(g->kh, w), w, g->key, g->klen);

	(void)fseq;
	(void)bseq;
	for (int i = 0; i < pn->naggs; i++) {
		v[i] = front ? front[i] : (struct ag_val){0};
		ag_combine(pn->fn[i], &v[i], &back[i]);
		if (c)
			ag_combine(pn->fn[i], &v[i], &c->a[i]);
	}
	(*next)++;
}

/* The windows of group gi the batch changed, each with the first row that
 * changed it: a dirty pane changes its window/slide windows (from open on),
 * all as long, so in pane order they enter and leave in the same order and
 * the least seq of those covering a window is a sliding minimum; a dirty
 * ws part changes its own window. */
static void
group_changes(pn_state *pn, uint32_t gi, int64_t open)
{
	const struct pn_group *g = &pn->grp[gi];
	const ws_ent **P, **C;
	size_t np = 0, nc = 0, in = 0, out = 0, ci = 0, dh = 0, dt = 0;
	uint64_t *dq; /* indexes into P, their seq increasing */
	int64_t w;

	grow_scratch(pn, (size_t)g->n + g->cn + 2);
	P = pn->list;
	C = pn->list + g->n;
	for (uint32_t it = g->head; it != UINT32_MAX; it = pn->item[it].next)
		P[np++] = pn->item[it].e;
	for (uint32_t it = g->chead; it != UINT32_MAX; it = pn->item[it].next)
		C[nc++] = pn->item[it].e;
	qsort(P, np, sizeof(*P), by_start);
	qsort(C, nc, sizeof(*C), by_start);
	dq = pn->sufseq; /* free until the values are computed */
	w = INT64_MAX;
	if (np)
		w = first_window(pn, P[0]->wstart) < open ? open : first_window(pn, P[0]->wstart);
	if (nc && C[0]->wstart < w)
		w = C[0]->wstart;
	while (w != INT64_MAX) {
		uint64_t seq = UINT64_MAX;
		int64_t next = INT64_MAX;
		for (; in < np && first_window(pn, P[in]->wstart) <= w; in++) {
			while (dt > dh && P[dq[dt - 1]]->seq >= P[in]->seq)
				dt--;
			dq[dt++] = in;
		}
		for (; out < in && start_at(pn, P[out]->wstart) < w; out++)
			if (dh < dt && dq[dh] == out)
				dh++;
		if (dh < dt)
			seq = P[dq[dh]]->seq;
		for (; ci < nc && C[ci]->wstart <= w; ci++)
			if (C[ci]->wstart == w && C[ci]->seq < seq)
				seq = C[ci]->seq;
		if (seq != UINT64_MAX) {
			pn->chg = egrow(pn->chg, &pn->chgcap, pn->nchg + 1, sizeof(*pn->chg), 1024);
			pn->chg[pn->nchg] = (struct pn_chg){gi, w, seq, pn->nchg};
			pn->nchg++;
		}
		/* the next window some pane or part changed */
		if (out < in)
			next = w + pn->slide;
		else if (in < np)
			next = first_window(pn, P[in]->wstart);
		if (ci < nc && C[ci]->wstart < next)
			next = C[ci]->wstart;
		w = next;
	}
}

size_t
pn_changed(pn_state *pn, ws_state *ws, int wm_set, int64_t wm, pn_row_fn *fn, void *arg)
{
	int64_t open =
	    wm_set && wm >= TM_MIN_MS ? start_at(pn, wm - pn->size) + pn->slide : INT64_MIN;
	size_t n;

	groups_reset(pn);
	pn->nchg = 0;
	for (size_t k = 0; k < pn->p.ndirty; k++) {
		const ws_ent *e = pn->p.dirty[k];
		uint32_t g = group_of(pn, e->hash ^ ((uint64_t)e->wstart * GOLDEN),
		                      ws_key(&pn->p, e), e->klen);
		item_add(pn, &pn->grp[g], e, 0);
	}
	for (size_t k = 0; k < ws->ndirty; k++) {
		const ws_ent *e = ws->dirty[k];
		if (e->wstart >= open) {
			uint32_t g = group_of(pn, e->hash ^ ((uint64_t)e->wstart * GOLDEN),
			                      ws_key(ws, e), e->klen);
			item_add(pn, &pn->grp[g], e, 1);
		}
	}
	for (uint32_t g = 0; g < pn->ngrp; g++)
		group_changes(pn, g, open);
	n = pn->nchg;
	if (pn->chvcap < n) {
		free(pn->chv);
		pn->chvcap = n;
		pn->chv = emalloc(n * (size_t)(pn->naggs ? pn->naggs : 1) * sizeof(*pn->chv));
	}
	/* the values, a group at a time, from its panes in its windows' span */
	pn->ws_of_changes = ws;
	for (size_t k0 = 0, k1; k0 < n; k0 = k1) {
		const struct pn_group *g = &pn->grp[pn->chg[k0].g];
		int64_t lo = pn->chg[k0].w, hi;
		size_t m = 0, p;
		struct pn_chg *next = &pn->chg[k0];
		for (k1 = k0; k1 < n && pn->chg[k1].g == pn->chg[k0].g; k1++)
			;
		hi = pn->chg[k1 - 1].w + pn->size;
		pn->want = egrow(pn->want, &pn->wantcap, k1 - k0, sizeof(*pn->want), 64);
		for (size_t k = k0; k < k1; k++)
			pn->want[k - k0] = pn->chg[k].w;
		for (p = ws_lower(&pn->p, lo); p < pn->p.nwins && pn->p.wins[p].start < hi; p++) {
			int64_t ps = pn->p.wins[p].start;
			const ws_ent *e = ws_find(&pn->p, ws_hash(g->kh, ps), ps, g->key, g->klen);
			if (e) {
				grow_scratch(pn, m + 2);
				pn->list[m++] = e;
			}
		}
		grow_scratch(pn, m + 1);
		slide_group(pn, g, m, 0, 0, pn->want, k1 - k0, put_changed, &next);
	}
	qsort(pn->chg, n, sizeof(*pn->chg), by_row_order);
	for (size_t k = 0; k < n; k++) {
		const struct pn_group *g = &pn->grp[pn->chg[k].g];
		fn(arg, pn->chg[k].w, g->key, g->klen, pn->chv + pn->chg[k].vi * (size_t)pn->naggs);
	}
	return n;
}

int64_t
pn_first_end(const pn_state *pn)
{
	return first_window(pn, pn->p.wins[0].start) + pn->size;
}

uint64_t
pn_restored(pn_state *pn, const ws_state *ws)
{
	uint64_t top = 0;

	memset(pn->mag_i, 0, (size_t)pn->naggs * sizeof(double));
	memset(pn->mag_d, 0, (size_t)pn->naggs * sizeof(double));
	for (size_t k = 0; k < pn->p.nwins; k++)
		for (const ws_ent *e = pn->p.wins[k].head; e; e = e->next) {
			pn_mag(pn, e->a, 1);
			top = e->seq > top ? e->seq : top;
		}
	for (size_t k = 0; k < ws->nwins; k++)
		for (const ws_ent *e = ws->wins[k].head; e; e = e->next) {
			if (!ws->wm_set || ws->wins[k].end > ws->wm)
				pn_mag(pn, e->a, 1);
			top = e->seq > top ? e->seq : top;
		}
	return top;
}

size_t
pn_memory(const pn_state *pn)
{
	return ws_memory(&pn->p) + pn->grpcap * sizeof(*pn->grp) + pn->gixcap * sizeof(*pn->gix) +
	       pn->itemcap * sizeof(*pn->item) + pn->listcap * sizeof(*pn->list) +
	       pn->sufcap * ((size_t)pn->naggs * sizeof(*pn->suf) + sizeof(*pn->sufseq));
}
