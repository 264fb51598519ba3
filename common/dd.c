/*
 * dd: deduplication state (dd.h).
 */
#include <stdlib.h>
#include <string.h>

#include "dd.h"
#include "hs.h"
#include "mem.h"

#define DD_MIN_SLOTS 1024

static void
resize(dd_set *d, size_t ncap)
{
	struct dd_slot *old = d->table;
	size_t ocap = d->tcap;

	d->table = ecalloc(ncap, sizeof(*d->table));
	d->tcap = ncap;
	for (size_t i = 0; i < ocap; i++) {
		size_t j;
		if (!old[i].e)
			continue;
		for (j = old[i].hash & (ncap - 1); d->table[j].e; j = (j + 1) & (ncap - 1))
			;
		d->table[j] = old[i];
	}
	free(old);
}

void
dd_init(dd_set *d)
{
	*d = (dd_set){0};
	resize(d, DD_MIN_SLOTS);
}

void
dd_free(dd_set *d)
{
	dd_ent *e = d->head, *next;

	for (; e; e = next) {
		next = e->next;
		free(e);
	}
	free(d->table);
	*d = (dd_set){0};
}

/* The slot of key, or of the empty slot where it would go. */
static size_t
slot_of(const dd_set *d, uint64_t h, const char *key, uint32_t klen)
{
	size_t mask = d->tcap - 1, j = h & mask;

	for (; d->table[j].e; j = (j + 1) & mask) {
		const dd_ent *e = d->table[j].e;
		if (d->table[j].hash == h && e->klen == klen && memcmp(e->key, key, klen) == 0)
			break;
	}
	return j;
}

/* Empties slot j, shifting later members of its probe run back. */
static void
delete_slot(dd_set *d, size_t j)
{
	size_t mask = d->tcap - 1;

	d->table[j].e = NULL;
	for (size_t k = (j + 1) & mask; d->table[k].e; k = (k + 1) & mask) {
		size_t home = d->table[k].hash & mask;
		if ((j < k) ? (home <= j || home > k) : (home <= j && home > k)) {
			d->table[j] = d->table[k];
			d->table[k].e = NULL;
			j = k;
		}
	}
	d->count--;
}

int
dd_seen(dd_set *d, const char *key, uint32_t klen, int64_t expiry, int wm_set, int64_t wm)
{
	uint64_t h = hs_hash(key, klen, 0);
	size_t j = slot_of(d, h, key, klen);
	dd_ent *e = d->table[j].e;

	if (e && !(wm_set && e->expiry < wm))
		return 1;
	if (e) {
		/* expired, not yet swept: forget it now, remember the new one */
		e->dead = 1;
		delete_slot(d, j);
	}
	if ((d->count + 1) * 2 > d->tcap)
		resize(d, d->tcap * 2);
	j = slot_of(d, h, key, klen);
	e = emalloc(sizeof(*e) + klen);
	*e = (dd_ent){.hash = h, .expiry = expiry, .klen = klen};
	memcpy(e->key, key, klen);
	d->table[j].hash = h;
	d->table[j].e = e;
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
			delete_slot(d, slot_of(d, e->hash, e->key, e->klen));
		d->head = e->next;
		if (!d->head)
			d->tail = NULL;
		free(e);
	}
	if (d->tcap > DD_MIN_SLOTS && d->count * 8 < d->tcap)
		resize(d, d->tcap / 2);
}
