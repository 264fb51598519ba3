/*
 * ix: open-addressing hash index (ix.h).
 */
#include <stdlib.h>

#include "ix.h"
#include "mem.h"

void
ix_init(ix_table *t, size_t cap)
{
	t->s = mem_big(cap * sizeof(*t->s));
	t->cap = cap;
	t->count = 0;
}

void
ix_free(ix_table *t)
{
	mem_big_free(t->s, t->cap * sizeof(*t->s));
	t->s = NULL;
	t->cap = t->count = 0;
}

void
ix_resize(ix_table *t, size_t ncap)
{
	ix_slot *old = t->s;
	size_t ocap = t->cap;

	t->s = mem_big(ncap * sizeof(*t->s));
	t->cap = ncap;
	for (size_t i = 0; i < ocap; i++) {
		size_t j;
		if (!old[i].e)
			continue;
		for (j = old[i].hash & (ncap - 1); t->s[j].e; j = (j + 1) & (ncap - 1))
			;
		t->s[j] = old[i];
	}
	mem_big_free(old, ocap * sizeof(*old));
}

void
ix_add(ix_table *t, uint64_t h, void *e)
{
	size_t j;

	if ((t->count + 1) * 2 > t->cap)
		ix_resize(t, t->cap * 2);
	for (j = h & (t->cap - 1); t->s[j].e; j = (j + 1) & (t->cap - 1))
		;
	t->s[j] = (ix_slot){h, e};
	t->count++;
}

void
ix_delete_at(ix_table *t, size_t j)
{
	size_t mask = t->cap - 1;

	t->s[j].e = NULL;
	for (size_t k = (j + 1) & mask; t->s[k].e; k = (k + 1) & mask) {
		size_t home = t->s[k].hash & mask;
		/* move k into the hole at j if its home is not in (j, k] */
		if ((j < k) ? (home <= j || home > k) : (home <= j && home > k)) {
			t->s[j] = t->s[k];
			t->s[k].e = NULL;
			j = k;
		}
	}
	t->count--;
}

size_t
ix_slot_of(const ix_table *t, uint64_t h, const void *e)
{
	size_t j = h & (t->cap - 1);

	while (t->s[j].e != e)
		j = (j + 1) & (t->cap - 1);
	return j;
}
