/*
 * sn: winagg's snapshot directory (ordpipe(7), CRASH-SAFE RESTART): the
 * snapshot format, the directory's lock, the list, pruning and restore.
 *
 * A snapshot holds everything the stream's future depends on: the clock
 * (watermark, latest event time), every live (window, group) with its
 * aggregates, and the input positions that state covers, each partition
 * with its own latest event time. winagg writes one at a batch end, after
 * the batch's rows; it is durable (ck) before the checkpoint record goes
 * out behind those rows, so when the sink commits the record, the snapshot
 * exists. Layout, little-endian, field by field: magic "ORDPCKP1", version
 * (u32), the configuration text (u32 length, bytes), id, wm_set, wm,
 * have_max, max_seen (i64 each), positions (u32 count; each: u32 name
 * length, name, next, has_max, pmax), entries (u64 count; each: window
 * start, u32 key length, key, then per aggregate kind (u8), n, i, d (its
 * bits), from version 5 the entry's sketch bytes (ws ext)); from version 4 the --dedup keys (u64 count; each: expiry, u32
 * key length, key, in first-seen order); from version 6 the sessions of
 * --session (u64 count; each: start, end, the start its row was written
 * with (i64 each), u32 key length, key, aggregates as above, sketch bytes;
 * a group's sessions in order of start); from version 7 an aggregate that
 * keeps values whole (first/last of a non-number, count_distinct) is
 * followed by them (u32 count; each u32 length, bytes: canonical JSON
 * texts); from version 8 each entry's seq after its window start, and
 * after the sessions the panes of common/pn (u64 count; each: pane start,
 * seq, u32 key length, key, aggregates); then ck's checksum. Versions 1
 * and 2 (struct ag_val as it lay in memory, configuration with enum
 * numbers) 3 (no dedup keys), 4 (no sketches), 5 (no sessions), 6 and 7
 * (no panes: restored with panes, its entries are the open windows' parts)
 * are still read.
 *
 * Files in DIR: ckpt-NNNNNNNNNNNNNNNNNNNN (id, 20 digits), lock (one winagg
 * per directory), committed (the sink's last committed checkpoint record,
 * written by mysql-replace --progress-file: never pruned from there on).
 */
#ifndef SN_H
#define SN_H

#include <stdint.h>

#include "dd.h"
#include "pt.h"
#include "ss.h"
#include "ws.h"

#define SN_VERSION 8
#define SN_COMMITTED "committed"
#define SN_PATH_MAX 4096 /* bytes of a path in DIR */
#define SN_LOCK_WAIT_MS 3000 /* ms a start waits for DIR's lock (a killed winagg exiting) */

typedef struct {
	const char *dir;
	int64_t keep;        /* snapshots kept besides those from the committed one on */
	const char *cfg;     /* the configuration text a snapshot must match */
	const char *cfg_v2;  /* the same as versions 1 and 2 wrote it */
	int64_t next_id;     /* the id the next snapshot gets */
	int64_t oldest;      /* the oldest id that may be on disk */
	int64_t last_id;     /* taken or restored last, 0: none */
	int lockfd;
	uint64_t count;      /* snapshots written */
	double ms_last, ms_total; /* ms spent writing them */
	char err[SN_PATH_MAX + 256];
} sn_dir;

/* Creates DIR if needed, locks it, removes stale .tmp files and finds the
 * next id. 0, or -1 with the reason in d->err. cfg texts stay the caller's. */
int sn_open(sn_dir *d, const char *dir, int64_t keep, const char *cfg, const char *cfg_v2);
void sn_close(sn_dir *d);
/* Writes snapshot d->next_id of the state, makes it durable, prunes; 0, or
 * -1 with d->err (a full disk: older snapshots are intact). */
int sn_write(sn_dir *d, const ws_state *ws, const ws_state *pn, const ss_state *ss,
             const pt_set *pt, const dd_set *dd);
/* Restores the newest usable snapshot at or before want (INT64_MAX: the
 * newest) into the empty ws, pn (the panes of common/pn, or NULL), ss
 * (NULL: windows) and pt, warning for each
 * unusable one; 0 with
 * *id, -1 none usable, -2 one of another configuration (d->err says both). */
int sn_restore(sn_dir *d, int64_t want, ws_state *ws, ws_state *pn, ss_state *ss, pt_set *pt,
               dd_set *dd, int64_t *id);
/* The id in DIR/committed: 1 and *id, 0 no such file, -1 unreadable (d->err). */
int sn_committed(sn_dir *d, int64_t *id);

#endif
