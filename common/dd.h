/*
 * dd: winagg's deduplication state (--dedup): the keys seen, each kept as
 * long as Spark's dropDuplicatesWithinWatermark keeps it.
 *
 * A row whose key was seen is a duplicate while the watermark has not
 * passed the first row's event time + the watermark delay (its expiry);
 * after that the key is forgotten and the next row with it counts again.
 * Without a watermark nothing expires (until end of input). Keys live in
 * a hash index (common/ix) and in a list in the
 * order they were first seen, swept from the front at batch ends; a key
 * whose expiry has passed but that is not yet swept (the input's disorder
 * keeps it behind a later one) is treated as absent, so the answer never
 * depends on when the sweep ran. No I/O: tests/unit drives it.
 */
#ifndef DD_H
#define DD_H

#include <stddef.h>
#include <stdint.h>

#include "ix.h"

typedef struct dd_ent {
	struct dd_ent *next; /* first-seen order */
	uint64_t hash;
	int64_t expiry;      /* ms: first event time + delay */
	uint32_t klen;       /* bytes of key */
	uint8_t dead;        /* replaced by a newer entry for the same key */
	char key[];
} dd_ent;

typedef struct {
	ix_table ix;  /* key -> entry */
	size_t count; /* live keys */
	dd_ent *head, *tail;
	uint64_t peak;
} dd_set;

void dd_init(dd_set *d);
void dd_free(dd_set *d);
/* 1: key is a duplicate at watermark wm (wm_set 0: none); 0: first seen,
 * now recorded with expiry. */
int dd_seen(dd_set *d, const char *key, uint32_t klen, int64_t expiry, int wm_set, int64_t wm);
/* Forgets the keys at the front whose expiry the watermark has passed. */
void dd_sweep(dd_set *d, int64_t wm);

#endif
