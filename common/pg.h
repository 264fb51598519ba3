/*
 * pg: mysql-replace's progress protocol (--pipeline; ordpipe(7), CRASH-SAFE
 * RESTART).
 *
 * A {"_checkpoint":{"id":N,"positions":{...}}} record from winagg commits
 * every row before it and, in the same transaction, the checkpoint's id and
 * positions in table ordpipe_progress, one row per pipeline. So a committed
 * checkpoint always covers exactly the rows committed with or before it:
 * the consistent cut a restart resumes from. Checkpoint ids only grow, so a
 * committed id above the pending one means another writer uses the same
 * pipeline name; the same id is a replay of our own transaction after an
 * unknown outcome. After each commit the record may also go to a progress
 * file (winagg's DIR/committed), a hint that keeps the snapshot it names.
 */
#ifndef PG_H
#define PG_H

#include <mysql.h>
#include <stdint.h>

#include "cp.h"
#include "mem.h"

#define PG_TABLE "ordpipe_progress"

typedef struct {
	const char *pipeline;      /* --pipeline NAME */
	const char *progress_file; /* --progress-file, or NULL */
	int pending;               /* a checkpoint waits for its transaction */
	int64_t id;                /* its id */
	struct buf pos;            /* its positions, JSON text as it came */
	uint64_t committed;        /* checkpoints committed */
	int has_event, pending_has_event; /* an event_time came with it */
	int64_t event_ms, pending_event_ms; /* the last committed one's, the pending one's */
	int warned;                /* a progress file failure was reported */
} pg_state;

void pg_init(pg_state *p, const char *pipeline, const char *progress_file);
void pg_free(pg_state *p);
/* Creates the progress table if needed: 0, or -1 with err. */
int pg_create_table(MYSQL *db, char *err, size_t errlen);
/* The checkpoint r now waits for the next commit. */
void pg_set(pg_state *p, const cp_record *r);
/* The statement that locks the pipeline's row (SELECT ... FOR UPDATE). */
void pg_put_lock(const pg_state *p, struct buf *q);
/* Its answer: 0, or -1 with err when a later checkpoint is committed. */
int pg_check(const pg_state *p, MYSQL_RES *res, char *err, size_t errlen);
/* The statement that records the pending checkpoint. */
void pg_put_record(const pg_state *p, struct buf *q);
/* The transaction holding it committed: counts it, writes the progress file. */
void pg_committed(pg_state *p);
/* --last-checkpoint: prints {"id":N,"positions":{...}} of the pipeline (or
 * nothing when it has none); a diag exit status. */
int pg_print_last(const pg_state *p, MYSQL *db);

#endif
