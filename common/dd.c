/*
 * dd: deduplication state (dd.h).
 */
#include <stdlib.h>
#include <string.h>

#include "dd.h"
#include "hs.h"
#include "mem.h"

#define DD_MIN_SLOTS 1024

void
dd_init(dd_set *d)
{
	*d = (dd_set){0};
	ix_init(&d->ix, DD_MIN_SLOTS);
}

void
dd_free(dd_set *d)
{
	dd_ent *e = d->head, *next;

	for (; e; e = next) {
		next = e->next;
		free(e);
	}
	ix_free(&d->ix);
	*d = (dd_set){0};
}

/* The slot of key, or of the empty slot where it would go. */
static size_t
slot_of(const dd_set *d, uint64_t h, const char *key, uint32_t klen)
{
	size_t mask = d->ix.cap - 1, j = h & mask;

	for (; d->ix.s[j].e; j = (j + 1) & mask) {
		const dd_ent *e = d->ix.s[j].e;
		if (d->ix.s[j].hash == h && e->klen == klen && memcmp(e->key, key, klen) == 0)
			break;
	}
	return j;
}

static void
delete_slot(dd_set *d, size_t j)
{
	ix_delete_at(&d->ix, j);
	d->count--;
}

int
dd_seen(dd_set *d, const char *key, uint32_t klen, int64_t expiry, int wm_set, int64_t wm)
{
	uint64_t h = hs_hash(key, klen, 0);
	size_t j = slot_of(d, h, key, klen);
	dd_ent *e = d->ix.s[j].e;

	if (e && !(wm_set && e->expiry < wm))
		return 1;
	if (e) {
		/* expired, not yet swept: forget it now, remember the new one */
		e->dead = 1;
		delete_slot(d, j);
	}
	e = emalloc(sizeof(*e) + klen);
	*e = (dd_ent){.hash = h, .expiry = expiry, .klen = klen};
	if (klen)
		memcpy(e->key, key, klen);
	ix_add(&d->ix, h, e);
	if (++d->count > d->peak)
		d->peak = d->count;
	if (d->tail)
		d->tail->next = e;
	else
		d->head = e;
	d->tail = e;
	return 0;
}

void
dd_sweep(dd_set *d, int64_t wm)
{
	dd_ent *e;

	while ((e = d->head) && (e->dead || e->expiry < wm)) {
		if (!e->dead)
			delete_slot(d, ix_slot_of(&d->ix, e->hash, e));
		d->head = e->next;
		if (!d->head)
			d->tail = NULL;
		free(e);
	}
	if (d->ix.cap > DD_MIN_SLOTS && d->count * 8 < d->ix.cap)
		ix_resize(&d->ix, d->ix.cap / 2);
}
