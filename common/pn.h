/*
 * pn: sliding windows by panes (the "slicing" of Flink and of the stream
 * processing literature). With a slide shorter than the window, a row
 * updates the partial aggregate of one (pane, group), a pane being
 * gcd(window, slide) long, instead of each of the window/slide windows it
 * falls in: a row costs the same at any ratio of window to slide.
 *
 * The panes stand for the windows that can still take rows, those ending
 * after the watermark. In append mode, when the watermark passes a window's
 * end (no row can change it any more), pn_freeze combines the window's panes
 * into one entry of the window state (ws), which eviction writes as before;
 * panes that no open window needs are dropped. An entry that ws already
 * holds for an open window is a part of it that did not come through the
 * panes (a row late for some of its windows only, by its partition; a
 * snapshot of a winagg without panes): freezing adds the panes to it. In
 * update mode pn_changed combines, at a batch's end, the windows that the
 * batch's panes and parts changed, and writes them in the order the
 * per-window path would (by the batch's first row to change each).
 *
 * Only aggregates whose value does not depend on the order of rows combine
 * (ag_combines). A group's windows are combined in one pass over its panes
 * in time order with two stacks: each pane is pushed and popped once, so a
 * window costs O(1) amortized, not window/slide. An entry carries the number
 * of its first row (seq), and a frozen window's groups are put in that
 * order: the order they would have without panes.
 *
 * Overflow: a row that would make a window's sum overflow is refused, as
 * without panes. A bound (the sum of the magnitudes of every open part)
 * says when no window can overflow; only near the limit are the row's
 * windows added up exactly (pn_check).
 */
#ifndef PN_H
#define PN_H

#include <stddef.h>
#include <stdint.h>

#include "ag.h"
#include "ws.h"

typedef struct {
	ws_state p;                  /* the panes: a window state whose windows are the panes */
	int64_t size, slide, offset; /* ms: the windows' */
	int64_t g;                   /* ms: a pane, gcd(size, slide) */
	int naggs;
	enum ag_func *fn;
	/* per aggregate, over every open part (panes, and ws entries of open
	 * windows): the sum of |integer sums| and of |fractional sums| */
	double *mag_i, *mag_d;

	/* pn_freeze's scratch, kept between calls */
	struct pn_group *grp;
	size_t ngrp, grpcap;
	uint32_t *gix; /* open addressing over grp, index + 1 (0: empty) */
	size_t gixcap;
	struct pn_item *item;
	size_t nitem, itemcap;
	const ws_ent **list; /* one group's panes */
	struct pn_chg *chg;  /* pn_changed: the windows to write */
	size_t nchg, chgcap;
	struct ag_val *chv; /* ... their values, naggs each */
	size_t chvcap;
	int64_t *want; /* ... one group's window starts */
	size_t wantcap;
	const ws_state *ws_of_changes;
	size_t listcap;
	struct ag_val *suf; /* two stacks: the front's suffix values, naggs each */
	uint64_t *sufseq;
	size_t sufcap;
} pn_state;

/* Can winagg keep panes for these aggregates? */
int pn_supports(const enum ag_func *fn, int naggs);
/* track_dirty: update mode (pn_changed). */
void pn_init(pn_state *pn, int64_t size, int64_t slide, int64_t offset, int naggs,
             const enum ag_func *fn, int track_dirty);
void pn_free(pn_state *pn);

/* The start of the pane that holds event time t (ms). */
int64_t pn_pane(const pn_state *pn, int64_t t);
/* An open part's values leave (sign -1) or join (+1) the bound. */
void pn_mag(pn_state *pn, const struct ag_val *a, int sign);
/* Can adding xs to open parts make no window's sum or avg overflow? */
int pn_fits(const pn_state *pn, const struct ag_num *xs);
/* The exact test: would adding xs to the group's windows starting in [lo,
 * hi] overflow one? The aggregate's index and the reason's verb phrase,
 * or -1. */
int pn_check(const pn_state *pn, const ws_state *ws, uint64_t kh, const char *key, uint32_t klen,
             int64_t lo, int64_t hi, const struct ag_num *xs, const char **why);
/* The watermark moved from old (old_set: it had one) to limit: every
 * window ending in (old, limit] is combined into ws, then the panes that
 * only those windows needed are dropped. all: every window there is. */
void pn_freeze(pn_state *pn, ws_state *ws, int old_set, int64_t old, int64_t limit, int all);
/* Update mode: the watermark moved from old to limit; the windows it
 * passed are closed (nothing is written): the panes only they needed go. */
void pn_close(pn_state *pn, ws_state *ws, int old_set, int64_t old, int64_t limit);
/* Update mode at the end of a batch: every open window the batch changed
 * (through a pane or ws's part of it, both on their dirty lists, seq the
 * first row of the batch that changed each), with its whole value, to fn
 * in the order the per-window path writes them; how many. */
typedef void pn_row_fn(void *arg, int64_t wstart, const char *key, uint32_t klen,
                       const struct ag_val *a);
size_t pn_changed(pn_state *pn, ws_state *ws, int wm_set, int64_t wm, pn_row_fn *fn, void *arg);
/* The end of the earliest window that a pane is held for (ms); the panes
 * must not be empty. */
int64_t pn_first_end(const pn_state *pn);
/* After a restore: the bound again, from the panes and ws's open windows;
 * the highest seq held (the next row's number follows it). */
uint64_t pn_restored(pn_state *pn, const ws_state *ws);
/* Bytes held: the panes and the scratch. */
size_t pn_memory(const pn_state *pn);

#endif
