/*
 * bt: the batch (bt.h).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bt.h"
#include "hs.h"
#include "tm.h"

void
bt_init(bt_batch *b, const char *key, size_t hint)
{
	static const char *before[3];

	*b = (bt_batch){.key = key};
	for (b->nslots = 16; b->nslots < 2 * hint; b->nslots *= 2)
		;
	b->slots = ecalloc(b->nslots, sizeof(*b->slots));
	b->tmp = emalloc(ND_LINE_MAX);
	before[0] = key;
	b->keyw = 0;
	b->nwant = 1;
	b->ckw = b->dlw = -1;
	if (strcmp(key, "_checkpoint") != 0) {
		before[b->nwant] = "_checkpoint";
		b->ckw = b->nwant++;
	}
	if (strcmp(key, "_delete") != 0) {
		before[b->nwant] = "_delete";
		b->dlw = b->nwant++;
	}
	js_want_init(&b->want, before, b->nwant);
}

void
bt_free(bt_batch *b)
{
	js_want_free(&b->want);
	free(b->names);
	free(b->rows);
	free(b->slots);
	free(b->vals);
	free(b->voffs);
	free(b->tmp);
	free(b->bykey);
	buf_free(&b->arena);
}

/* Marks an earlier row with the same key dead; the new row takes its slot.
 * A slot holds the row's index + 1 and the top half of its key's hash: a
 * probe reads another row's key only when the halves match (rows and keys
 * are far apart in a big batch: a cache miss each). */
static void
collapse(bt_batch *b, size_t idx)
{
	const bt_row *r = &b->rows[idx];
	const char *k = b->arena.p + r->koff;
	uint64_t hash = hs_hash(k, r->klen, 0), tag = hash & ~(uint64_t)UINT32_MAX;
	size_t mask = b->nslots - 1, h = (size_t)hash & mask;

	for (;; h = (h + 1) & mask) {
		uint64_t s = b->slots[h];
		if (s == 0) {
			b->slots[h] = tag | (idx + 1);
			return;
		}
		if ((s & ~(uint64_t)UINT32_MAX) != tag)
			continue;
		bt_row *o = &b->rows[(uint32_t)s - 1];
		if (o->klen == r->klen && memcmp(b->arena.p + o->koff, k, r->klen) == 0) {
			o->dead = 1;
			b->slots[h] = tag | (idx + 1);
			return;
		}
	}
}

/* Doubles the key table and puts the live rows back (with --pipeline a
 * batch can outgrow --batch: it lasts until the next checkpoint record). */
static void
slots_grow(bt_batch *b)
{
	b->nslots *= 2;
	free(b->slots);
	b->slots = ecalloc(b->nslots, sizeof(*b->slots));
	for (size_t i = 0; i < b->n; i++)
		if (!b->rows[i].dead)
			collapse(b, i);
}

/* Room for row r's values; they are kept as offsets in line (text). */
static js_val *
vals_slot(bt_batch *b, size_t r)
{
	size_t need = (r + 1) * (size_t)b->nwant, cap = b->vcap;

	if (need > cap) {
		b->vals = egrow(b->vals, &b->vcap, need, sizeof(*b->vals), 1024);
		b->voffs = egrow(b->voffs, &cap, need, sizeof(*b->voffs), 1024);
	}
	return &b->vals[r * (size_t)b->nwant];
}

static void
keep_offsets(bt_batch *b, size_t r, const char *text)
{
	js_val *v = &b->vals[r * (size_t)b->nwant];
	uint32_t *o = &b->voffs[r * (size_t)b->nwant];

	for (int k = 0; k < b->nwant; k++) {
		o[k] = v[k].type == JS_MISSING ? 0 : (uint32_t)(v[k].p - text);
		v[k].p = NULL;
	}
}

enum bt_take
bt_take(bt_batch *b, const nd_rec *rec, js_val *ck, char *why, size_t whylen)
{
	js_val three[3], *v = b->names ? vals_slot(b, b->n) : three, kv;
	int del = 0;
	js_err err;
	bt_row *r;

	if (nd_scan(rec, &b->want, v, &err, why, whylen) < 0)
		return BT_BAD;
	kv = v[b->keyw];
	if (b->ckw >= 0 && v[b->ckw].type != JS_MISSING && kv.type == JS_MISSING) {
		*ck = v[b->ckw];
		return BT_CHECKPOINT;
	}
	if (kv.type != JS_STR && kv.type != JS_NUM) {
		snprintf(why, whylen, "key field '%s' is %s", b->key,
		         kv.type == JS_MISSING ? "missing" : "not a string or number");
		return BT_BAD;
	}
	if (b->dlw >= 0 && v[b->dlw].type != JS_MISSING) {
		if (v[b->dlw].type != JS_TRUE) {
			snprintf(why, whylen, "'_delete' is not true (a delete record is {\"%s\":...,\"_delete\":true})",
			         b->key);
			return BT_BAD;
		}
		del = 1;
	}
	b->rows = egrow(b->rows, &b->cap, b->n + 1, sizeof(*b->rows), 1024);
	if (b->n == 0)
		b->first_at = tm_mono_s();
	r = &b->rows[b->n];
	*r = (bt_row){.off = b->arena.len, .len = rec->len, .file = rec->file,
	              .lineno = rec->lineno, .members = (uint32_t)err.members, .del = (uint8_t)del};
	buf_put(&b->arena, rec->text, rec->len);
	r->koff = b->arena.len;
	{
		const char *k;
		r->klen = js_text(&kv, b->tmp, &k);
		buf_put(&b->arena, k, r->klen);
	}
	if (b->names)
		keep_offsets(b, b->n, rec->text);
	if (2 * (b->n + 1) > b->nslots)
		slots_grow(b);
	collapse(b, b->n++);
	return BT_ROW;
}

void
bt_bind(bt_batch *b, const tb_table *t)
{
	int n = t->ncols;

	js_want_free(&b->want);
	free(b->names); /* bound again: --add-columns added columns */
	b->names = ecalloc((size_t)n + 2, sizeof(*b->names));
	for (int i = 0; i < n; i++)
		b->names[i] = t->cols[i].name;
	b->ncols = n;
	b->keyw = t->keycol;
	b->ckw = strcmp(b->key, "_checkpoint") == 0 ? -1 : tb_col_named(t, "_checkpoint", 11);
	if (b->ckw < 0 && strcmp(b->key, "_checkpoint") != 0) {
		b->names[n] = "_checkpoint";
		b->ckw = n++;
	}
	b->dlw = strcmp(b->key, "_delete") == 0 ? -1 : tb_col_named(t, "_delete", 7);
	if (b->dlw < 0 && strcmp(b->key, "_delete") != 0) {
		b->names[n] = "_delete";
		b->dlw = n++;
	}
	b->nwant = n;
	js_want_init(&b->want, (const char **)b->names, n);
	for (size_t r = 0; r < b->n; r++) {
		js_val *v = vals_slot(b, r);
		js_err err;
		const char *text = b->arena.p + b->rows[r].off;
		js_scan(text, b->rows[r].len, &b->want, v, &err);
		keep_offsets(b, r, text);
	}
}

size_t
bt_deletes(const bt_batch *b)
{
	size_t n = 0;

	for (size_t r = 0; r < b->n; r++)
		n += bt_is_live(b, r) && b->rows[r].del;
	return n;
}

void
bt_drop_deletes(bt_batch *b)
{
	for (size_t r = 0; r < b->n; r++)
		if (b->rows[r].del)
			b->rows[r].dead = 1;
}

void
bt_resolve(bt_batch *b)
{
	if (!b->vals)
		return; /* not bound: no table, no values to write */
	for (size_t r = 0; r < b->n; r++) {
		js_val *v = &b->vals[r * (size_t)b->nwant];
		const uint32_t *o = &b->voffs[r * (size_t)b->nwant];
		const char *text = b->arena.p + b->rows[r].off;
		for (int k = 0; k < b->nwant; k++)
			if (v[k].type != JS_MISSING)
				v[k].p = text + o[k];
	}
}

/* Names a field of the row that has no column. */
struct unknown {
	const tb_table *t;
	char name[TB_NAME_MAX * 4 + 8];
	int found;
};

static void
find_unknown(void *arg, const js_val *name, const js_val *v)
{
	struct unknown *u = arg;
	char nbuf[sizeof(u->name)];
	size_t n;

	if (u->found)
		return;
	if (name->n >= sizeof(nbuf)) {
		snprintf(u->name, sizeof(u->name), "(a long name)");
		u->found = 1;
		return;
	}
	n = js_unescape(name->p, name->n, nbuf);
	if (tb_col_named(u->t, nbuf, n) >= 0)
		return;
	snprintf(u->name, sizeof(u->name), "%.*s", (int)n, nbuf);
	u->found = 1;
}

const char *
bt_check(bt_batch *b, tb_table *t, size_t r, int ignore_unknown, char *why, size_t whylen)
{
	const bt_row *rw = &b->rows[r];
	const js_val *v = bt_vals(b, r);
	unsigned found = 0;

	for (int c = 0; c < t->ncols; c++) {
		if (v[c].type == JS_MISSING)
			continue;
		found++;
		if (t->cols[c].integer && v[c].type == JS_NUM && !v[c].isint) {
			/* the server would round 3.5 to 4: a value the column
			 * cannot hold exactly is a bad row */
			double d = js_to_double(&v[c]);
			if (d != floor(d) || !isfinite(d)) {
				snprintf(why, whylen,
				         "field '%s': %.*s is not a whole number (column '%s' is an integer)",
				         t->cols[c].name, (int)(v[c].n > 40 ? 40 : v[c].n), v[c].p,
				         t->cols[c].name);
				return why;
			}
		}
	}
	if (rw->members > found && !ignore_unknown) {
		struct unknown u = {.t = t};
		js_each(b->arena.p + rw->off, rw->len, find_unknown, &u);
		if (u.found) {
			snprintf(why, whylen,
			         "field '%s' has no column in table '%s' (--add-columns adds one, "
			         "--ignore-unknown skips it)",
			         u.name, t->name);
			return why;
		}
		/* else a repeated key, not an unknown field */
	}
	for (int c = 0; c < t->ncols; c++)
		if (v[c].type != JS_MISSING)
			t->cols[c].used = 1;
	return NULL;
}

int
bt_uniform(const bt_batch *b, const tb_table *t)
{
	for (size_t r = 0; r < b->n; r++) {
		const js_val *v = bt_vals(b, r);
		if (!bt_is_upsert(b, r))
			continue;
		for (int c = 0; c < t->ncols; c++)
			if (t->cols[c].used && v[c].type == JS_MISSING)
				return 0;
	}
	return 1;
}

size_t
bt_live(const bt_batch *b)
{
	size_t n = 0;

	for (size_t r = 0; r < b->n; r++)
		n += bt_is_live(b, r);
	return n;
}

int
bt_key_cmp(const void *a, const void *b)
{
	const bt_key *k = a, *l = b;
	int c = memcmp(k->p, l->p, k->n < l->n ? k->n : l->n);

	return c ? c : (k->n > l->n) - (k->n < l->n);
}

void
bt_sort_keys(bt_batch *b)
{
	b->bykey = egrow(b->bykey, &b->bykey_cap, b->n, sizeof(*b->bykey), 1024);
	for (size_t r = 0; r < b->n; r++)
		b->bykey[r] = (bt_key){.p = b->arena.p + b->rows[r].koff, .n = (uint32_t)b->rows[r].klen,
		                       .row = (uint32_t)r};
	qsort(b->bykey, b->n, sizeof(*b->bykey), bt_key_cmp);
	b->nbykey = b->n;
}

void
bt_clear(bt_batch *b)
{
	b->n = 0;
	b->nbykey = 0;
	b->arena.len = 0;
	memset(b->slots, 0, b->nslots * sizeof(*b->slots));
}

void
bt_truncate(bt_batch *b, size_t r)
{
	b->n = r;
	b->nbykey = 0;
}
