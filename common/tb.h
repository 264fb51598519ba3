/*
 * tb: mysql-replace's table: the columns of an existing table (read from
 * information_schema, with the checks that make REPLACE by key safe), or a
 * new table created from what the first batch's rows hold.
 *
 * Types of a created table (ordpipe(7)): the key VARCHAR(255) NOT NULL
 * PRIMARY KEY; a field that is always an integer BIGINT, a number DOUBLE,
 * an RFC 3339 time DATETIME(3), a boolean TINYINT(1), an object or array
 * JSON, anything else or a mix VARCHAR(255) (--varchar N), all NULL but the
 * --not-null ones; a window_start time column gets
 * an index (dashboards read the last N windows). Text compares byte for byte
 * (utf8mb4_nopad_bin, MySQL 8: utf8mb4_0900_bin), so keys that differ in
 * case or trailing spaces stay distinct rows.
 */
#ifndef TB_H
#define TB_H

#include <mysql.h>
#include <stddef.h>

#include "mem.h"

#define TB_NAME_MAX 64 /* bytes, MySQL's longest identifier */
#define TB_VARCHAR 255 /* characters: a created text column's length (--varchar) */
#define TB_VARCHAR_MAX 16383 /* characters: utf8mb4 in a row of 65535 bytes */

typedef struct {
	char *name;
	size_t nlen;
	int time;    /* DATETIME, TIMESTAMP or DATE: RFC 3339 strings are converted */
	int integer; /* an integer type: a number with a fraction would be rounded */
	int used;    /* some row of the batch has this field */
} tb_col;

/* What rows say about a field, for CREATE TABLE. */
typedef struct {
	char *name;
	size_t n;
	unsigned ints, fracs, times, strs, bools, nested;
} tb_seen;

typedef struct {
	const char *name, *key;
	const char *stamp; /* --updated-at COLUMN: set to the write's time, NULL none */
	const char *notnull; /* --not-null COL[,COL]: created NOT NULL, or NULL */
	int varchar;         /* --varchar N: created text columns' length, characters */
	tb_col *cols;
	int ncols, keycol; /* keycol: -1 until known */
	int stampcol;      /* the stamp's column, -1 none */
	int ready;         /* the columns are final (found or created) */
	int keybytes;      /* the key column is text ordered byte by byte (a binary
	                    * NO PAD collation): keys' bytes sort as its index does */
	tb_seen *seen;
	int nseen;
	char err[1024];
} tb_table;

/* stamp: --updated-at's column, or NULL. */
void tb_init(tb_table *t, const char *name, const char *key, const char *stamp);
void tb_free(tb_table *t);
/* Reads an existing table: 1 found (ready), 0 there is none, -1 it cannot
 * be used (t->err), -2 its key column's collation may merge keys (t->err;
 * accept: --accept-collation). */
int tb_load(tb_table *t, MYSQL *db, int accept);
/* Notes the fields of one row (a JSON object's text) for tb_create. */
void tb_see(tb_table *t, const char *text, size_t len);
/* The CREATE TABLE for what tb_see saw, key first, into q; the columns it
 * makes become t's (ready). Fields that cannot be columns (empty, too long,
 * a name the server takes for an earlier one) are left out: their rows are
 * refused as unknown fields. -1 (t->err) when a --not-null name is not
 * among the columns. */
int tb_create_sql(tb_table *t, const char *collation, struct buf *q);
/* --add-columns: ALTER TABLE ... ADD COLUMN for the seen fields that have
 * no column (types as for a new table) into q, the columns added to t;
 * how many (0: q is not a statement). */
int tb_add_sql(tb_table *t, const char *collation, struct buf *q);
/* Drops the columns from ncols on (an ALTER that failed). */
void tb_truncate(tb_table *t, int ncols);
/* Forgets the columns (a CREATE that failed). */
void tb_reset(tb_table *t);
/* The index of the column named by the n bytes at s, or -1. */
int tb_col_named(const tb_table *t, const char *s, size_t n);

#endif
