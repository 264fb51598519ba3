/*
 * wr: winagg's output rows: their layout (the group fields and the
 * aggregates, with their members' names pre-escaped and each sketch's place
 * in an entry's ext bytes), parsed from -g and -a once, and the writing of
 * a row or of a retraction through the output buffer (common/out).
 *
 * A row is {"rowkey":…,"window_start":…,"window_end":…,GROUPS…,AGGS…}; the
 * rowkey is common/rk's, by window or by session start. A retraction is
 * {"rowkey":…,"_delete":true}.
 */
#ifndef WR_H
#define WR_H

#include <stddef.h>
#include <stdint.h>

#include "ag.h"

#define WR_MAX_GROUP 64
#define WR_MAX_AGGS 64

struct wr_agg {
	char *name;
	enum ag_func fn;
	char *field; /* NULL for count */
	int want;    /* index of field in the scanner's wanted list (the caller's) */
	char *head;  /* ,"name": pre-escaped */
	size_t headlen;
	double rsd; /* approx_count_distinct: relative standard deviation */
	double pct; /* percentile_approx: the percentage P, 0 to 1 */
	double eps; /* ... its relative error, 1 / accuracy */
	int p;      /* its sketch's precision (2^p registers) */
	size_t off; /* where its sketch lies in an entry's ext bytes */
};

typedef struct {
	const char *group[WR_MAX_GROUP]; /* the caller's strings */
	char *group_head[WR_MAX_GROUP];  /* ,"field": pre-escaped */
	size_t group_headlen[WR_MAX_GROUP];
	int ngroup;
	struct wr_agg aggs[WR_MAX_AGGS];
	int naggs;
	size_t ext; /* bytes of sketches per entry */
} wr_layout;

/* -g's field name: 0, or -1 with why (too many). */
int wr_add_group(wr_layout *l, const char *name, char *why, size_t whylen);
/* -a NAME=FUNC(FIELD[,RSD]): 0, or -1 with why (the usage error's words). */
int wr_add_agg(wr_layout *l, const char *spec, char *why, size_t whylen);
void wr_free(wr_layout *l);

/* The row of [start, end) and the group key (klen bytes: ngroup JSON texts,
 * each NUL-ended) with aggregates a and sketches ext; session: the rowkey
 * is by start only (rk_session). */
void wr_row(const wr_layout *l, int64_t start, int64_t end, int session, const char *key,
            uint32_t klen, const struct ag_val *a, const unsigned char *ext);
/* The retraction of the session row written under start. */
void wr_retraction(const wr_layout *l, int64_t start, const char *key, uint32_t klen);

#endif
