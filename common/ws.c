/*
 * ws: window state (ws.h).
 */
#include <stdlib.h>
#include <string.h>

#include "mem.h"
#include "ws.h"

#define WS_MIN_SLOTS 4
/* Chunks (with their header) are powers of two from WS_CHUNK_MIN bytes,
 * doubling per window up to an eighth of a huge page: pieces of
 * the state's pool (common/mem: huge pages; apart from the tables, whose
 * lifetimes differ); the last chunk of a window is resident whole there:
 * small enough that it costs little. */
#define WS_CHUNK_MIN 4096
#define WS_CHUNK_MAX (MEM_HUGE / 8)
#define WS_SPARE_MIN (4 << 20) /* bytes of spare chunks kept even for a small state */

static void
chunk_free(ws_state *s, ws_chunk *c)
{
	if (sizeof(*c) + c->cap <= WS_CHUNK_MAX)
		mem_piece_free(&s->pool, c);
	else
		mem_big_free(c, sizeof(*c) + c->cap);
}

/* An evicted window's chunks are kept for the windows to come (fresh memory
 * costs a page fault and the kernel's zeroing per page), as long as live and
 * spare bytes stay within the recent high-water of the live ones, so memory
 * still follows the live state: a state that fills and empties each batch
 * reuses its chunks instead of mapping them again. */
static void
free_chunks(ws_state *s, ws_window *w)
{
	ws_chunk *c = w->chunks, *next;

	for (; c; c = next) {
		next = c->next;
		s->bytes -= c->used;
		if (sizeof(*c) + c->cap <= WS_CHUNK_MAX &&
		    s->bytes + s->spare_bytes + c->cap <= s->hw + WS_SPARE_MIN) {
			c->next = s->spare;
			s->spare = c;
			s->spare_bytes += c->cap;
		} else {
			chunk_free(s, c);
		}
	}
	w->chunks = NULL;
}

/* A chunk of cap bytes: a spare one of that size (chunk sizes are few),
 * or a new one. */
static ws_chunk *
chunk_new(ws_state *s, size_t cap)
{
	for (ws_chunk **p = &s->spare; *p; p = &(*p)->next)
		if ((*p)->cap == cap) {
			ws_chunk *c = *p;
			*p = c->next;
			s->spare_bytes -= c->cap;
			return c;
		}
	{
		size_t n = sizeof(ws_chunk) + cap;
		ws_chunk *c = n <= WS_CHUNK_MAX ? mem_piece(&s->pool, n) : mem_big(n);
		c->cap = cap;
		return c;
	}
}

/* n bytes (zeroed) for an entry of window w. */
static void *
chunk_alloc(ws_state *s, ws_window *w, size_t n)
{
	ws_chunk *c = w->chunks;
	void *p;

	n = (n + 15) & ~(size_t)15;
	if (!c || c->cap - c->used < n) {
		size_t sz = c ? 2 * (sizeof(*c) + c->cap) : WS_CHUNK_MIN;
		if (sz > WS_CHUNK_MAX)
			sz = WS_CHUNK_MAX;
		while (sz < sizeof(*c) + n)
			sz *= 2;
		c = chunk_new(s, sz - sizeof(*c));
		c->next = w->chunks;
		c->used = 0;
		w->chunks = c;
	}
	p = c->mem + c->used;
	c->used += n;
	s->bytes += n;
	if (s->bytes > s->hw)
		s->hw = s->bytes;
	memset(p, 0, n);
	return p;
}

void
ws_init(ws_state *s, int64_t size, int naggs, size_t ext, int track_dirty)
{
	*s = (ws_state){.size = size, .naggs = naggs, .ext = ext, .track_dirty = track_dirty,
	                .batch = 1};
}

/* What e's aggregates keep outside it (texts, sets). */
static void
release(const ws_state *s, ws_ent *e)
{
	if (s->blobs)
		for (int i = 0; i < s->naggs; i++)
			ag_release(&e->a[i]);
}

void
ws_free(ws_state *s)
{
	for (size_t k = 0; k < s->nwins; k++) {
		for (ws_ent *e = s->wins[k].head; e; e = e->next)
			release(s, e);
		free_chunks(s, &s->wins[k]);
		ix_free(&s->wins[k].ix);
	}
	while (s->spare) {
		ws_chunk *c = s->spare;
		s->spare = c->next;
		chunk_free(s, c);
	}
	s->spare_bytes = 0;
	free(s->wins);
	free(s->dirty);
	s->wins = NULL;
	s->dirty = NULL;
	s->nwins = s->wcap = s->count = s->ndirty = s->dcap = 0;
}

static ws_window *
window_get(ws_state *s, int64_t start)
{
	size_t lo = ws_lower(s, start), cap = WS_MIN_SLOTS;

	if (lo < s->nwins && s->wins[lo].start == start)
		return &s->wins[lo];
	s->wins = egrow(s->wins, &s->wcap, s->nwins + 1, sizeof(*s->wins), 16);
	memmove(&s->wins[lo + 1], &s->wins[lo], (s->nwins - lo) * sizeof(*s->wins));
	s->nwins++;
	s->wins[lo] = (ws_window){.start = start, .end = start + s->size};
	/* sized for as many entries as the window made before it: most
	 * windows then never grow their table */
	while (cap < 2 * s->last_nents)
		cap *= 2;
	ix_init(&s->wins[lo].ix, cap);
	return &s->wins[lo];
}

ws_ent *
ws_add(ws_state *s, uint64_t h, int64_t wstart, const char *key, uint32_t klen)
{
	ws_window *w = window_get(s, wstart);
	ws_ent *e = chunk_alloc(s, w, sizeof(ws_ent) + sizeof(struct ag_val) * (size_t)s->naggs + s->ext + klen);

	e->hash = h;
	e->wstart = wstart;
	e->seq = s->count + s->evicted; /* creation order unless the owner says otherwise */
	e->klen = klen;
	if (klen)
		memcpy(ws_key(s, e), key, klen);
	ix_add(&w->ix, h, e);
	if (w->nents + 1 > s->last_nents)
		s->last_nents = w->nents + 1;
	if (++s->count > s->peak) {
		s->peak = s->count;
		if ((s->peak & 1023) == 0 || s->peak < 1024)
			s->peak_bytes = ws_memory(s);
	}
	if (w->tail)
		w->tail->next = e;
	else
		w->head = e;
	w->tail = e;
	w->nents++;
	return e;
}

void
ws_dirty_add_(ws_state *s, ws_ent *e)
{
	s->dirty = egrow(s->dirty, &s->dcap, s->ndirty + 1, sizeof(*s->dirty), 1024);
	s->dirty[s->ndirty++] = e;
}

void
ws_next_batch(ws_state *s)
{
	s->ndirty = 0;
	s->last_changed = s->changed;
	s->changed = 0;
	s->batch++;
}

void
ws_evict(ws_state *s, int64_t limit, int all, void (*fn)(void *, const ws_ent *), void *arg)
{
	size_t k = 0;

	while (k < s->nwins && (all || s->wins[k].end <= limit)) {
		for (ws_ent *e = s->wins[k].head; e; e = e->next) {
			if (fn)
				fn(arg, e);
			release(s, e);
		}
		s->count -= s->wins[k].nents;
		s->evicted += s->wins[k].nents;
		s->last_nents = s->wins[k].nents;
		free_chunks(s, &s->wins[k]);
		ix_free(&s->wins[k].ix);
		k++;
	}
	if (k) {
		memmove(s->wins, s->wins + k, (s->nwins - k) * sizeof(*s->wins));
		s->nwins -= k;
		s->hw -= (s->hw - s->bytes) / 8; /* a peak long past keeps less */
	}
}

static int
by_seq(const void *a, const void *b)
{
	const ws_ent *x = *(ws_ent *const *)a, *y = *(ws_ent *const *)b;

	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

void
ws_sort(ws_state *s, int64_t lo, int64_t hi)
{
	ws_ent **v = NULL;
	size_t cap = 0;

	for (size_t k = 0; k < s->nwins; k++) {
		ws_window *w = &s->wins[k];
		size_t n = 0;
		if (w->start < lo || w->start > hi || w->nents < 2)
			continue;
		v = egrow(v, &cap, w->nents, sizeof(*v), 64);
		for (ws_ent *e = w->head; e; e = e->next)
			v[n++] = e;
		qsort(v, n, sizeof(*v), by_seq);
		for (size_t i = 0; i + 1 < n; i++)
			v[i]->next = v[i + 1];
		v[n - 1]->next = NULL;
		w->head = v[0];
		w->tail = v[n - 1];
	}
	free(v);
}

size_t
ws_memory(const ws_state *s)
{
	size_t slots = 0;

	for (size_t k = 0; k < s->nwins; k++)
		slots += s->wins[k].ix.cap;
	return s->bytes + s->spare_bytes + slots * sizeof(ix_slot) + s->wcap * sizeof(ws_window) +
	       s->dcap * sizeof(ws_ent *);
}

void
ws_advance(ws_state *s, int64_t w)
{
	if (!s->wm_set || w > s->wm) {
		s->wm = w;
		s->wm_set = 1;
	}
}

void
ws_saw(ws_state *s, int64_t t)
{
	if (!s->have_max || t > s->max_seen) {
		s->max_seen = t;
		s->have_max = 1;
	}
}
