/*
 * ix: the open-addressing hash index under winagg's window state (ws), sessions (ss) and
 * deduplication keys (dd): slots of (hash, entry), linear probing, at most
 * half full, deleted from by shifting the rest of the probe run back (no
 * tombstones), shrunk by the owner when it empties. The owner compares keys:
 * ix only places and moves entries by their stored hash.
 */
#ifndef IX_H
#define IX_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
	uint64_t hash;
	void *e; /* NULL: empty */
} ix_slot;

typedef struct {
	ix_slot *s;
	size_t cap, count; /* slots (a power of two), entries */
} ix_table;

void ix_init(ix_table *t, size_t cap);
void ix_free(ix_table *t);
/* Rehashes into ncap slots. */
void ix_resize(ix_table *t, size_t ncap);
/* Adds e (not present), growing the table first when it would pass half full. */
void ix_add(ix_table *t, uint64_t h, void *e);
/* Empties slot j. */
void ix_delete_at(ix_table *t, size_t j);
/* The slot holding e (present). */
size_t ix_slot_of(const ix_table *t, uint64_t h, const void *e);

#endif
