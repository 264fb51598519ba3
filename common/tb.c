/*
 * tb: the table (tb.h).
 */
#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "diag.h"
#include "js.h"
#include "my.h"
#include "tb.h"
#include "tm.h"


void
tb_init(tb_table *t, const char *name, const char *key, const char *stamp)
{
	*t = (tb_table){.name = name, .key = key, .stamp = stamp, .keycol = -1, .stampcol = -1,
	                .varchar = TB_VARCHAR};
}

void
tb_reset(tb_table *t)
{
	for (int i = 0; i < t->ncols; i++)
		free(t->cols[i].name);
	t->ncols = 0;
	t->keycol = -1;
	t->stampcol = -1;
	t->ready = 0;
	t->keybytes = 0;
}

void
tb_free(tb_table *t)
{
	tb_reset(t);
	free(t->cols);
	t->cols = NULL;
	for (int i = 0; i < t->nseen; i++)
		free(t->seen[i].name);
	free(t->seen);
	t->seen = NULL;
	t->nseen = 0;
}

static tb_col *
add_col(tb_table *t, const char *name, size_t n, int time, int integer)
{
	tb_col *c;

	t->cols = erealloc(t->cols, (size_t)(t->ncols + 1) * sizeof(*t->cols));
	c = &t->cols[t->ncols];
	*c = (tb_col){.name = estrndup(name, n), .nlen = n, .time = time, .integer = integer};
	if (n == strlen(t->key) && memcmp(name, t->key, n) == 0)
		t->keycol = t->ncols;
	t->ncols++;
	return c;
}

int
tb_col_named(const tb_table *t, const char *s, size_t n)
{
	for (int i = 0; i < t->ncols; i++)
		if (t->cols[i].nlen == n && memcmp(t->cols[i].name, s, n) == 0)
			return i;
	return -1;
}

/* Runs a query that returns rows; NULL with the error in t->err. */
static MYSQL_RES *
query_rows(tb_table *t, MYSQL *db, const struct buf *q)
{
	MYSQL_RES *res;

	if (mysql_real_query(db, q->p, q->len) != 0 || !(res = mysql_store_result(db))) {
		snprintf(t->err, sizeof(t->err), "cannot read the table's definition: %s",
		         mysql_error(db));
		return NULL;
	}
	return res;
}

int
tb_load(tb_table *t, MYSQL *db, int accept)
{
	struct buf q = {0};
	MYSQL_RES *res;
	MYSQL_ROW r;
	int pk_ok = 0, pk_cols = 0, rc = -1;
	const char *why;

	buf_lit(&q, "SELECT COLUMN_NAME, DATA_TYPE, COLLATION_NAME FROM information_schema.COLUMNS WHERE "
	            "TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ");
	my_put_str(&q, t->name, strlen(t->name));
	buf_lit(&q, " ORDER BY ORDINAL_POSITION");
	if (!(res = query_rows(t, db, &q)))
		goto out;
	while ((r = mysql_fetch_row(res)) != NULL) {
		size_t tl = strlen(r[1]);
		int time = strcmp(r[1], "datetime") == 0 || strcmp(r[1], "timestamp") == 0 ||
		           strcmp(r[1], "date") == 0;
		add_col(t, r[0], strlen(r[0]), time, tl >= 3 && strcmp(r[1] + tl - 3, "int") == 0);
		if (strcmp(r[0], t->key) != 0)
			continue;
		why = my_collation_merges(r[2]);
		t->keybytes = r[2] && !why;
		if (why && !accept) {
			snprintf(t->err, sizeof(t->err),
			         "the key column '%s' of table '%s' has collation %s: %s, so distinct "
			         "keys would become one row (ALTER it to %s, or --accept-collation if "
			         "that is intended)",
			         t->key, t->name, r[2], why, my_binary_collation(db));
			mysql_free_result(res);
			rc = -2;
			goto out;
		}
	}
	mysql_free_result(res);
	if (t->ncols == 0) {
		rc = 0;
		goto out;
	}
	if (t->keycol < 0) {
		snprintf(t->err, sizeof(t->err), "table '%s' has no column '%s' for the key", t->name,
		         t->key);
		goto out;
	}
	if (t->stamp && (t->stampcol = tb_col_named(t, t->stamp, strlen(t->stamp))) < 0) {
		snprintf(t->err, sizeof(t->err),
		         "table '%s' has no column '%s' for --updated-at (ALTER TABLE ... ADD `%s` "
		         "DATETIME(3) NOT NULL)",
		         t->name, t->stamp, t->stamp);
		goto out;
	}
	q.len = 0;
	buf_lit(&q, "SELECT INDEX_NAME, COLUMN_NAME FROM information_schema.STATISTICS WHERE "
	            "TABLE_SCHEMA = DATABASE() AND NON_UNIQUE = 0 AND TABLE_NAME = ");
	my_put_str(&q, t->name, strlen(t->name));
	if (!(res = query_rows(t, db, &q)))
		goto out;
	while ((r = mysql_fetch_row(res)) != NULL) {
		if (strcmp(r[0], "PRIMARY") == 0) {
			pk_cols++;
			pk_ok |= strcmp(r[1], t->key) == 0;
		} else {
			diag_warn("table '%s' has the unique index '%s' besides the primary key: "
			          "REPLACE deletes every row that matches either",
			          t->name, r[0]);
		}
	}
	mysql_free_result(res);
	if (!pk_ok || pk_cols != 1) {
		snprintf(t->err, sizeof(t->err),
		         "column '%s' is not the primary key of table '%s': REPLACE would not "
		         "de-duplicate",
		         t->key, t->name);
		goto out;
	}
	t->ready = 1;
	rc = 1;
out:
	if (rc < 0)
		tb_reset(t);
	buf_free(&q);
	return rc;
}

static void
see_member(void *arg, const js_val *name, const js_val *v)
{
	tb_table *t = arg;
	char nbuf[TB_NAME_MAX * 4];
	size_t n;
	int i;

	if (name->n > sizeof(nbuf))
		return; /* too long for a column: the row is refused later */
	n = js_unescape(name->p, name->n, nbuf);
	for (i = 0; i < t->nseen; i++)
		if (t->seen[i].n == n && memcmp(t->seen[i].name, nbuf, n) == 0)
			break;
	if (i == t->nseen) {
		t->seen = erealloc(t->seen, (size_t)(t->nseen + 1) * sizeof(*t->seen));
		t->seen[i] = (tb_seen){.name = estrndup(nbuf, n), .n = n};
		t->nseen++;
	}
	switch (v->type) {
	case JS_NUM: v->isint ? t->seen[i].ints++ : t->seen[i].fracs++; break;
	case JS_TRUE:
	case JS_FALSE: t->seen[i].bools++; break;
	case JS_OBJ:
	case JS_ARR: t->seen[i].nested++; break;
	case JS_STR: {
		int64_t ms;
		const char *why;
		char tmp[64];
		size_t k = v->n < sizeof(tmp) ? js_unescape(v->p, v->n, tmp) : 0;
		if (k && tm_parse_rfc3339(tmp, k, &ms, &why) == 0)
			t->seen[i].times++;
		else
			t->seen[i].strs++;
		break;
	}
	default: break;
	}
}

void
tb_see(tb_table *t, const char *text, size_t len)
{
	js_each(text, len, see_member, t);
}

/* The base type: nullability and collation come from put_coldef. */
static const char *
sql_type(const tb_seen *s)
{
	unsigned kinds = !!(s->ints + s->fracs) + !!s->times + !!s->strs + !!s->bools + !!s->nested;

	if (kinds != 1 || s->strs)
		return "VARCHAR";
	if (s->fracs)
		return "DOUBLE";
	if (s->ints)
		return "BIGINT";
	if (s->times)
		return "DATETIME(3)";
	if (s->bools)
		return "TINYINT(1)";
	return "JSON";
}

/* Is the n bytes at name in the comma-separated list? */
static int
in_list(const char *list, const char *name, size_t n)
{
	while (list && *list) {
		size_t k = strcspn(list, ",");
		if (k == n && memcmp(list, name, n) == 0)
			return 1;
		list += k + (list[k] == ',');
	}
	return 0;
}

/* Is there a column whose name MySQL takes for this one (ASCII case)? */
static int
col_named_alike(const tb_table *t, const char *name, size_t n)
{
	for (int i = 0; i < t->ncols; i++) {
		size_t k = 0;
		if (t->cols[i].nlen != n)
			continue;
		while (k < n && tolower((unsigned char)t->cols[i].name[k]) == tolower((unsigned char)name[k]))
			k++;
		if (k == n)
			return 1;
	}
	return 0;
}

/* The column definition of a seen field: "`name` TYPE [COLLATE C] [NOT] NULL". */
static void
put_coldef(struct buf *q, const tb_table *t, const tb_seen *s, const char *coll, const char *type,
           int creating)
{
	my_put_ident(q, s->name, s->n);
	buf_lit(q, " ");
	buf_put(q, type, strlen(type));
	if (strcmp(type, "VARCHAR") == 0) {
		char len[24];
		buf_put(q, len, (size_t)snprintf(len, sizeof(len), "(%d)", t->varchar));
		buf_lit(q, " COLLATE ");
		buf_put(q, coll, strlen(coll));
	}
	/* a column added to a table with rows is NULL: they have no value */
	if (creating && in_list(t->notnull, s->name, s->n))
		buf_lit(q, " NOT NULL");
	else
		buf_lit(q, " NULL");
}

/* Can the seen field s become a new column? */
static int
may_add(const tb_table *t, const tb_seen *s)
{
	if ((s->n == strlen(t->key) && memcmp(s->name, t->key, s->n) == 0) ||
	    (t->stamp && s->n == strlen(t->stamp) && memcmp(s->name, t->stamp, s->n) == 0))
		return 0; /* the stamp's rows are refused: mysql-replace sets it */
	/* not a column name, or one the server takes for an earlier one ('a'
	 * and 'A'): its rows are refused as unknown fields */
	return s->n > 0 && s->n <= TB_NAME_MAX && !memchr(s->name, 0, s->n) &&
	       !col_named_alike(t, s->name, s->n);
}

static void
forget_seen(tb_table *t)
{
	for (int i = 0; i < t->nseen; i++)
		free(t->seen[i].name);
	free(t->seen);
	t->seen = NULL;
	t->nseen = 0;
}

int
tb_add_sql(tb_table *t, const char *coll, struct buf *q)
{
	int n = 0;

	q->len = 0;
	buf_lit(q, "ALTER TABLE ");
	my_put_ident(q, t->name, strlen(t->name));
	for (int i = 0; i < t->nseen; i++) {
		const tb_seen *s = &t->seen[i];
		const char *type = sql_type(s);
		if (!may_add(t, s))
			continue;
		if (n++)
			buf_lit(q, ",");
		buf_lit(q, " ADD COLUMN ");
		put_coldef(q, t, s, coll, type, 0);
		add_col(t, s->name, s->n, s->times > 0 && strncmp(type, "DATETIME", 8) == 0,
		        strncmp(type, "BIGINT", 6) == 0);
	}
	forget_seen(t);
	return n;
}

void
tb_truncate(tb_table *t, int ncols)
{
	while (t->ncols > ncols)
		free(t->cols[--t->ncols].name);
}

int
tb_create_sql(tb_table *t, const char *coll, struct buf *q)
{
	/* a --not-null name the rows do not have would be silently ignored */
	for (const char *l = t->notnull; l && *l;) {
		size_t k = strcspn(l, ",");
		int found = 0;
		for (int i = 0; i < t->nseen && !found; i++)
			found = t->seen[i].n == k && memcmp(t->seen[i].name, l, k) == 0 &&
			        may_add(t, &t->seen[i]);
		if (!found) {
			snprintf(t->err, sizeof(t->err),
			         "--not-null '%.*s': no row of the first batch has that field", (int)k, l);
			forget_seen(t);
			return -1;
		}
		l += k + (l[k] == ',');
	}
	q->len = 0;
	buf_lit(q, "CREATE TABLE IF NOT EXISTS ");
	my_put_ident(q, t->name, strlen(t->name));
	buf_lit(q, " (");
	my_put_ident(q, t->key, strlen(t->key));
	/* Keys and text compare byte for byte: 'SG' and 'sg', 'a' and 'a '
	 * are distinct rows and groups. */
	buf_lit(q, " VARCHAR(255) COLLATE ");
	buf_put(q, coll, strlen(coll));
	buf_lit(q, " NOT NULL PRIMARY KEY");
	t->keybytes = !my_collation_merges(coll);
	add_col(t, t->key, strlen(t->key), 0, 0);
	for (int i = 0; i < t->nseen; i++) {
		const tb_seen *s = &t->seen[i];
		const char *type = sql_type(s);
		if (!may_add(t, s))
			continue;
		buf_lit(q, ", ");
		put_coldef(q, t, s, coll, type, 1);
		add_col(t, s->name, s->n, s->times > 0 && strncmp(type, "DATETIME", 8) == 0,
		        strncmp(type, "BIGINT", 6) == 0);
	}
	if (t->stamp) {
		buf_lit(q, ", ");
		my_put_ident(q, t->stamp, strlen(t->stamp));
		buf_lit(q, " DATETIME(3) NOT NULL");
		t->stampcol = t->ncols;
		add_col(t, t->stamp, strlen(t->stamp), 1, 0);
	}
	/* dashboards ask for the last N windows */
	{
		int w = tb_col_named(t, "window_start", 12);
		if (w >= 0 && t->cols[w].time) {
			buf_lit(q, ", KEY `window_start` (`window_start`)");
		}
	}
	buf_lit(q, ") ENGINE=InnoDB DEFAULT CHARSET=utf8mb4");
	forget_seen(t);
	t->ready = 1;
	return 0;
}
