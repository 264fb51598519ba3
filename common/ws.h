/*
 * ws: winagg's window state: one entry per live (window, group), found by
 * hash, kept per window and evicted window by window.
 *
 * Each window has its own table (common/ix) of its entries by group key,
 * sized from the window before it: a window's table stays small enough for
 * the caches, and eviction frees it whole instead of deleting entry by
 * entry, so memory follows the live state. Entries are also chained per
 * window in creation order, and windows
 * are kept sorted by start, so eviction takes whole windows from the front
 * and output comes in a stable order (creation order, or the owner's seq
 * after ws_sort). Entries hold their window's start; all windows of a state
 * have its size. An entry holds its aggregates, then the key bytes; it lives in its
 * window's chunks (an arena), so eviction frees memory a chunk at a time.
 *
 * The stream's clock (watermark and latest event time) lives here too: it
 * is part of what a snapshot must restore. No I/O: tests/unit drives it.
 */
#ifndef WS_H
#define WS_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "ag.h"
#include "ix.h"
#include "mem.h"

typedef struct ws_ent {
	struct ws_ent *next; /* in its window, creation order */
	uint64_t hash;
	int64_t wstart;    /* ms; the window ends at wstart + the state's size */
	uint64_t stamp;    /* batch that last changed it */
	uint64_t seq;      /* the owner's order of creation (winagg: the first row's number) */
	uint32_t klen;     /* bytes of key */
	struct ag_val a[]; /* naggs of them, ext bytes (sketches), then the key bytes */
} ws_ent;

/* Entries are carved from chunks owned by their window: eviction frees a
 * window's chunks whole, with no malloc or free per entry. */
typedef struct ws_chunk {
	struct ws_chunk *next;
	size_t used, cap; /* bytes */
	_Alignas(16) unsigned char mem[];
} ws_chunk;

typedef struct {
	int64_t start, end; /* ms */
	ws_ent *head, *tail;
	size_t nents;
	ws_chunk *chunks; /* the newest first */
	ix_table ix;      /* its entries by hash */
} ws_window;

typedef struct {
	int64_t size; /* ms, window length */
	int naggs;
	size_t ext;      /* bytes after the aggregates: sketches (approx_count_distinct) */
	int track_dirty; /* keep the list of entries changed in this batch */
	int blobs;       /* some aggregate keeps values outside the entry (ag_release at eviction) */

	size_t count;       /* live entries */
	ws_window *wins;    /* sorted by start */
	size_t nwins, wcap;
	ws_ent **dirty; /* changed in batch `batch`, in first-change order */
	size_t ndirty, dcap;
	uint64_t batch; /* the current batch's number, from 1 */
	size_t changed, last_changed; /* entries changed in this batch, in the last one */
	uint64_t peak, evicted;
	size_t bytes;      /* of entries in chunks */
	mem_pool pool;     /* the chunks' memory */
	ws_chunk *spare;   /* chunks of evicted windows, for the next ones (no page faults) */
	size_t spare_bytes;
	size_t hw;         /* recent high-water of bytes (decays at each eviction) */
	size_t last_nents; /* entries of the window created last: the next table's size */
	size_t peak_bytes; /* ws_memory when count was at its peak */

	/* the clock: watermark (wm, when wm_set) and latest event time (max_seen) */
	int wm_set, have_max;
	int64_t wm, max_seen; /* ms */
} ws_state;

/* ext: a multiple of 8. */
void ws_init(ws_state *s, int64_t size, int naggs, size_t ext, int track_dirty);
/* Frees every entry and the table; ws_init again to reuse. */
void ws_free(ws_state *s);

static inline char *
ws_key(const ws_state *s, const ws_ent *e)
{
	return (char *)(e->a + s->naggs) + s->ext;
}
/* The ext bytes of an entry (zero when it is made). */
static inline uint8_t *
ws_ext(const ws_state *s, const ws_ent *e)
{
	(void)s;
	return (uint8_t *)(e->a + s->naggs);
}
/* The slot hash of a group key's hash in the window starting at wstart. */
static inline uint64_t
ws_hash(uint64_t khash, int64_t wstart)
{
	return khash ^ ((uint64_t)wstart * 0x9e3779b97f4a7c15ULL);
}

/* The index of the first window starting at or after start (nwins: none). */
static inline size_t
ws_lower(const ws_state *s, int64_t start)
{
	size_t lo = 0, hi = s->nwins;

	if (hi && s->wins[hi - 1].start == start) /* most rows go to the newest */
		return hi - 1;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (s->wins[mid].start < start)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* The window starting at start, or NULL. */
static inline ws_window *
ws_window_at(const ws_state *s, int64_t start)
{
	size_t k = ws_lower(s, start);

	return k < s->nwins && s->wins[k].start == start ? &s->wins[k] : NULL;
}

static inline ws_ent *
ws_find(const ws_state *s, uint64_t h, int64_t wstart, const char *key, uint32_t klen)
{
	const ws_window *w = ws_window_at(s, wstart);
	size_t mask;

	if (!w)
		return NULL;
	mask = w->ix.cap - 1;
	for (size_t j = h & mask; w->ix.s[j].e; j = (j + 1) & mask) {
		ws_ent *e = w->ix.s[j].e;
		if (w->ix.s[j].hash == h && e->klen == klen && memcmp(ws_key(s, e), key, klen) == 0)
			return e;
	}
	return NULL;
}

/* A new entry (aggregates zero) for a key ws_find did not find. */
ws_ent *ws_add(ws_state *s, uint64_t h, int64_t wstart, const char *key, uint32_t klen);
void ws_dirty_add_(ws_state *s, ws_ent *e);
/* e changed in this batch: on the dirty list once. */
static inline void
ws_touch(ws_state *s, ws_ent *e)
{
	if (e->stamp == s->batch)
		return;
	e->stamp = s->batch;
	s->changed++;
	if (s->track_dirty)
		ws_dirty_add_(s, e);
}
/* The batch is over: the dirty list empties, the next batch begins. */
void ws_next_batch(ws_state *s);
/* Removes every window ending at or before limit (all: every window), each
 * entry passed to fn first when fn is not NULL. */
void ws_evict(ws_state *s, int64_t limit, int all, void (*fn)(void *, const ws_ent *), void *arg);
/* Orders the entries of every window starting in [lo, hi] by seq: output
 * and snapshots follow that order (common/pn builds windows out of order). */
void ws_sort(ws_state *s, int64_t lo, int64_t hi);
/* Bytes the state holds: entries' chunks (spare ones too), the windows'
 * tables, windows, dirty list. */
size_t ws_memory(const ws_state *s);
/* Raises the watermark to w (it never moves back). */
void ws_advance(ws_state *s, int64_t w);
/* Notes event time t. */
void ws_saw(ws_state *s, int64_t t);

#endif
