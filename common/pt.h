/*
 * pt: the input's partitions, as kcat-out --positions names them ("TOPIC/P"
 * in each row's "_pos" and in its {"_assigned":[...]} and {"_revoked":[...]}
 * records), for winagg.
 *
 * Per partition: the next offset to read (what a checkpoint covers) and its
 * own latest event time. A row is late only by the rows before it in its
 * own partition, and windows close by the least of the partitions'
 * watermarks, leaving out idle partitions: quiet for idle_ms of *caught-up
 * time* (time winagg spent waiting for input), so that reading a backlog,
 * when input never runs dry, makes no partition idle however long another
 * one's run lasts. All idle: the greatest watermark (Flink's rule).
 */
#ifndef PT_H
#define PT_H

#include <stddef.h>
#include <stdint.h>

#include "js.h"
#include "nd.h"

typedef struct {
	char *name;
	size_t len;   /* bytes of name */
	int64_t next; /* the next offset to read; 0: no row of it yet */
	int64_t pmax; /* ms, its latest event time (has_max) */
	int has_max;
	int active;   /* assigned or sending, and not revoked */
	double heard; /* caught-up ms when it last sent a row or was assigned */
} pt_part;

typedef struct {
	pt_part *v;
	size_t n, cap, last; /* last: the one found last (rows come in runs) */
	uint32_t *slot;      /* open-addressing index by name: index + 1, 0 empty */
	size_t nslot;
	int seen;            /* rows or control records named partitions */
	int64_t delay;       /* ms, the watermark's delay */
	int64_t idle_ms;     /* caught-up ms before a quiet partition is idle; 0 never */
	double caught_up_ms; /* waited for input so far, up to drained_at */
	double drained_at;   /* monotonic s when the input last ran dry */
	int drained;
	js_want ctl; /* the members of a control record */
} pt_set;

void pt_init(pt_set *s, int64_t delay, int64_t idle_ms);
void pt_free(pt_set *s);
/* Forgets every partition (a snapshot that could not be restored). */
void pt_clear(pt_set *s);

/* The index of partition NAME, added (next offset 0, active) when new. */
size_t pt_find(pt_set *s, const char *name, size_t len);
/* A row's "_pos":"TOPIC/P/OFFSET": its partition's index in *part and the
 * offset; NULL, or why it is not a position. Missing: *part is -1. */
const char *pt_row(pt_set *s, const js_val *v, int *part, int64_t *off);
/* The position of a line that is not valid JSON, if it ends in
 * "_pos":"TOPIC/P/OFFSET"} as kcat-out writes it (else *part stays -1). */
void pt_tail(pt_set *s, const char *text, size_t len, int *part, int64_t *off);
/* The partitions of an {"_assigned":[...]} (assigned 1) or {"_revoked":[...]}
 * array: NULL, or why the list is bad. */
const char *pt_named(pt_set *s, const js_val *arr, int assigned);
/* Is r a control record of kcat-out (its text starts {"_assigned": or
 * {"_revoked":)? Only looks: a row scanned ahead is applied before one. */
int pt_is_control(const nd_rec *r);
/* A control record taken: 1 taken, 0 not one (a row), -1 a bad one (the
 * reason in why). */
int pt_control(pt_set *s, const nd_rec *r, char *why, size_t whylen);
/* A row of partition i at event time t was taken. */
void pt_heard(pt_set *s, size_t i, int64_t t);

/* Input ran dry (waiting starts) / came back, at monotonic time now (s). */
void pt_drain(pt_set *s, double now);
void pt_resume(pt_set *s, double now);
/* Caught-up ms at monotonic time now (s). */
double pt_caught_up(const pt_set *s, double now);
int pt_idle(const pt_set *s, const pt_part *p, double cu);
/* Caught-up ms until a partition that is not idle turns idle, -1 never. */
double pt_idle_due(const pt_set *s, double cu);
/* A watermark behind t by the delay (the earliest time on overflow). */
int64_t pt_behind(const pt_set *s, int64_t t);
/* The watermark of the partitions at caught-up time cu: 1 and *wm set, or 0
 * when there is none yet (an assigned partition with no rows, not idle,
 * holds it where it is). */
int pt_watermark(const pt_set *s, double cu, int64_t *wm);
/* {"TOPIC/P":NEXT,...} of the partitions read from, through the output buffer. */
void pt_out_positions(const pt_set *s);

#endif
