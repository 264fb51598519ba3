/*
 * ss: winagg's session windows (--session): per group, its open sessions,
 * each [start, end) with the aggregates of its rows.
 *
 * A row at t with gap g is the session [t, t+g); it merges with every
 * session of its group that it overlaps or touches into one session from
 * the least start to the greatest end (Spark's session_window). A group's
 * sessions are kept sorted by start and disjoint, in one array per group,
 * the groups in an index (common/ix) by key and in a list for eviction and
 * complete mode.
 *
 * Retractions: a session's row is written under a rowkey made from its
 * start. When a session that was written is merged into another, or its
 * start moves back, its old rowkey no longer names a session; ss notes it
 * (group, start) for the caller to write a delete before the batch's rows.
 *
 * No I/O: tests/unit drives it.
 */
#ifndef SS_H
#define SS_H

#include <stddef.h>
#include <stdint.h>

#include "ag.h"
#include "ix.h"

#define SS_NONE INT64_MIN /* ss_sess.said: never written */

typedef struct ss_sess {
	int64_t start, end; /* ms: [start, end) */
	int64_t said;       /* the start its row was last written with (its rowkey), or SS_NONE */
	uint64_t stamp;     /* batch of its last change */
	struct ag_val a[];  /* naggs of them, then ext bytes (sketches) */
} ss_sess;

typedef struct ss_group {
	uint64_t hash;
	uint64_t stamp; /* batch it went on the dirty list */
	size_t at;      /* its index in the list of groups */
	uint32_t klen, n, cap;
	unsigned char *recs; /* n sessions of rs bytes each, by start */
	char key[];          /* klen bytes */
} ss_group;

/* A written row whose rowkey no longer names a session. */
typedef struct {
	const ss_group *g;
	int64_t start; /* ms: the start its rowkey was made from */
} ss_gone;

typedef struct {
	int naggs;
	enum ag_func *fn; /* per aggregate */
	size_t ext, rs;   /* bytes: sketches after the aggregates; one session record */
	ix_table ix;      /* key -> group */
	ss_group **all;   /* every group */
	size_t nall, acap;
	ss_group **dirty; /* groups changed in this batch */
	size_t ndirty, dcap;
	ss_gone *gone; /* retractions of this batch, in the order they happened */
	size_t ngone, gcap;
	uint64_t batch;      /* from 1 */
	size_t last_changed; /* groups changed in the last batch */
	size_t nsess;        /* live sessions */
	size_t bytes;        /* of groups and their records */
	int64_t min_end;     /* ms: no session ends before it (eviction skips until then) */
	uint64_t evicted, merges;
	char *tmp;           /* one record, to merge into before committing */
	struct {             /* what ss_plan found, for ss_commit */
		ss_group *g; /* NULL: a new group */
		uint64_t h;
		const char *key;
		uint32_t klen;
		uint32_t i, j; /* g's sessions [i, j) merge into the plan */
	} plan;
} ss_state;

/* fn: the naggs functions (copied). */
void ss_init(ss_state *s, int naggs, const enum ag_func *fn, size_t ext);
void ss_free(ss_state *s);
/* Forgets every session (a snapshot that failed to load half way). */
void ss_reset(ss_state *s);
/* Restoring a snapshot: a session [start, end) appended to its group's (a
 * group's come in order of start), aggregates zero, not changed in this
 * batch; NULL when it is out of order or touches the previous one. */
ss_sess *ss_load(ss_state *s, uint64_t h, const char *key, uint32_t klen, int64_t start,
                 int64_t end);

static inline unsigned char *
ss_ext(const ss_state *s, const ss_sess *e)
{
	return (unsigned char *)&e->a[s->naggs];
}
static inline ss_sess *
ss_at(const ss_state *s, const ss_group *g, uint32_t i)
{
	return (ss_sess *)(g->recs + (size_t)i * s->rs);
}

/* The session [t, t+gap) would make for the group with key (hash h) once
 * merged with what it overlaps: built in s->tmp (aggregates merged), the
 * state unchanged. NULL, or why the merge cannot be made (a sum that
 * overflows). The caller checks and applies the row to the result, then
 * calls ss_commit. */
ss_sess *ss_plan(ss_state *s, uint64_t h, const char *key, uint32_t klen, int64_t t, int64_t gap,
                 const char **why);
/* Puts the planned session in place of the ones it merged (noting
 * retractions), marks it changed in this batch; returns it and its group. */
ss_sess *ss_commit(ss_state *s, ss_group **gp);
/* Removes every session ending at or before limit (all: every one), each
 * passed to fn first when fn is not NULL; frees groups left empty. */
void ss_evict(ss_state *s, int64_t limit, int all,
              void (*fn)(void *, const ss_group *, const ss_sess *), void *arg);
/* Every session's row counts as written under its start (append mode at
 * end of input, before the snapshot that keeps them open). */
void ss_mark_written(ss_state *s);
/* The batch is over: dirty list and retractions empty. */
void ss_next_batch(ss_state *s);
size_t ss_memory(const ss_state *s);

#endif
