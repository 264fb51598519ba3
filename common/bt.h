/*
 * bt: mysql-replace's batch: the rows held until their transaction, one
 * per key (a later row with the same key replaces the earlier one, as the
 * table would), each line scanned once.
 *
 * A line's text and key are copied into one arena. Once the table's
 * columns are known (bt_bind), each line is scanned when it is taken, for
 * the key, the checkpoint member and every column at once, and its values
 * are kept as offsets into its text (the arena moves as it grows); before
 * that (the first batch, which decides the columns of a new table) only
 * the key is read, and bt_bind scans the rows held.
 */
#ifndef BT_H
#define BT_H

#include <stddef.h>
#include <stdint.h>

#include "js.h"
#include "mem.h"
#include "nd.h"
#include "tb.h"

typedef struct {
	size_t off, len;   /* line bytes in the arena */
	size_t koff, klen; /* key bytes in the arena */
	const char *file;
	uint64_t lineno;
	uint32_t members; /* members of the object (a repeated one counted each time) */
	uint8_t dead;     /* a later row has the same key */
	uint8_t rejected; /* refused (by us or the server) and rejected */
	uint8_t del;      /* {"KEY":...,"_delete":true}: the row is deleted, not written */
} bt_row;

/* A row and its key (bytes in the arena), for sorting by key. */
typedef struct {
	const char *p;
	uint32_t n;
	uint32_t row;
} bt_key;

typedef struct {
	const char *key;  /* the key field */
	bt_row *rows;
	size_t n, cap;
	struct buf arena;
	uint64_t *slots;  /* key hash -> top half of the hash, row index + 1; open addressing */
	size_t nslots;
	js_want want;     /* before bt_bind: key, "_checkpoint", "_delete"; after: columns (and those) */
	const char **names;
	int nwant, ncols, keyw, ckw; /* ckw: index of "_checkpoint", -1 when it is the key */
	int dlw;          /* index of "_delete", -1 when it is the key */
	js_val *vals;     /* n x nwant once bound; p resolved by bt_resolve */
	uint32_t *voffs;  /* per value, its offset in its line */
	size_t vcap;
	char *tmp;        /* ND_LINE_MAX bytes: a value unescaped */
	double first_at;  /* monotonic s when the batch's first row came */
	bt_key *bykey;    /* bt_sort_keys: every row, by key bytes (nbykey == n: current) */
	size_t nbykey, bykey_cap;
} bt_batch;

enum bt_take { BT_ROW, BT_CHECKPOINT, BT_BAD };

/* hint: rows expected per batch (sizes the key table). */
void bt_init(bt_batch *b, const char *key, size_t hint);
void bt_free(bt_batch *b);
/* One line: BT_ROW held (collapsed by key; a delete record, "_delete":true
 * beside the key, is held as a delete of that key); BT_CHECKPOINT, a
 * {"_checkpoint":...} record, its value in *ck (valid until the next
 * line), not held; BT_BAD not held, the reason in why. */
enum bt_take bt_take(bt_batch *b, const nd_rec *rec, js_val *ck, char *why, size_t whylen);
/* The table's columns are final: scans the rows held against them. */
void bt_bind(bt_batch *b, const tb_table *t);
/* Points every value of the held rows into the arena (before writing). */
void bt_resolve(bt_batch *b);
/* Row r's values, one per column of the table (after bt_resolve). */
static inline const js_val *
bt_vals(const bt_batch *b, size_t r)
{
	return &b->vals[r * (size_t)b->nwant];
}
/* Checks row r against the columns and marks those it uses: NULL, or why
 * it cannot be written (a field without a column, unless ignore_unknown;
 * a fraction for an integer column). */
const char *bt_check(bt_batch *b, tb_table *t, size_t r, int ignore_unknown, char *why,
                     size_t whylen);
/* 1 when every live row carries every column the batch uses. */
int bt_uniform(const bt_batch *b, const tb_table *t);
/* Rows neither replaced by a later one nor rejected. */
size_t bt_live(const bt_batch *b);
/* Of those, the deletes. */
size_t bt_deletes(const bt_batch *b);
/* A batch of deletes only, for a table that does not exist: there is
 * nothing to delete; they count as done. */
void bt_drop_deletes(bt_batch *b);
static inline int
bt_is_live(const bt_batch *b, size_t r)
{
	return !b->rows[r].dead && !b->rows[r].rejected;
}
/* A live row to write (not a delete). */
static inline int
bt_is_upsert(const bt_batch *b, size_t r)
{
	return bt_is_live(b, r) && !b->rows[r].del;
}
/* Every row of the batch, dead and rejected ones too, sorted by its key's
 * bytes into bykey: the reader does it for a full batch while the one
 * before is written, so the write sends rows in key order at no cost to
 * the server. Valid until the batch takes another row. */
void bt_sort_keys(bt_batch *b);
/* Orders keys by their bytes (then length). */
int bt_key_cmp(const void *a, const void *b);
/* The batch is written: empty it. */
void bt_clear(bt_batch *b);
/* Drops the rows from r on (the stop policy ended the batch there). */
void bt_truncate(bt_batch *b, size_t r);

#endif
