/*
 * tx: transactions (tx.h).
 */
#include <errno.h>
#include <mysqld_error.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "diag.h"
#include "out.h"
#include "sig.h"
#include "tm.h"
#include "tx.h"


void
tx_free(tx_ctx *x)
{
	if (x->db)
		mysql_close(x->db);
	x->db = NULL;
	buf_free(&x->sql);
	buf_free(&x->tsv);
	free(x->order);
	x->order = NULL;
}

/* Waits ms, in slices, so that a stop asked by a signal ends the wait soon
 * also on mysql-replace's writer thread, which does not take signals. */
static void
sleep_ms(int64_t ms)
{
	while (ms > 0 && !sig_stop) {
		int64_t s = ms < 50 ? ms : 50;
		struct timespec ts = {.tv_sec = 0, .tv_nsec = (long)s * 1000000L};
		nanosleep(&ts, NULL);
		ms -= s;
	}
}

/* What a server error means for the batch. */
static enum tx_verdict
verdict_of(unsigned e)
{
	if (my_conn_lost(e) || my_retriable(e))
		return TX_AGAIN;
	switch (e) {
	case ER_BAD_NULL_ERROR:
	case ER_NO_DEFAULT_FOR_FIELD:
	case ER_TRUNCATED_WRONG_VALUE_FOR_FIELD:
	case ER_DATA_TOO_LONG:
	case ER_WARN_DATA_OUT_OF_RANGE:
	case WARN_DATA_TRUNCATED:
	case ER_TRUNCATED_WRONG_VALUE:
	case ER_WRONG_VALUE_FOR_TYPE:
	case ER_NO_REFERENCED_ROW_2:
	case ER_DUP_ENTRY:
	case ER_CONSTRAINT_FAILED:
	case ER_DIVISION_BY_ZERO:
	case ER_BAD_FIELD_ERROR:
	case ER_ILLEGAL_VALUE_FOR_TYPE:      /* 1367: illegal double '1e400' */
	case ER_INVALID_CHARACTER_STRING:    /* 1300 */
	case ER_DATA_OUT_OF_RANGE:           /* 1690 */
	case ER_FIELD_SPECIFIED_TWICE:       /* 1110: names that differ in case */
	case ER_DUP_FIELDNAME:               /* 1060 */
	case ER_CANT_CREATE_GEOMETRY_OBJECT: /* 1416 */
	case ER_WARN_NULL_TO_NOTNULL:        /* 1263 */
	case ER_BAD_DATA:                    /* 1918 */
	case 3140:                           /* MySQL: invalid JSON text */
	case ER_JSON_BAD_CHR:
	case ER_JSON_NOT_JSON_CHR:
	case ER_JSON_EOS:
	case ER_JSON_SYNTAX:
	case ER_JSON_ESCAPING:
	case ER_JSON_DEPTH:
		return TX_ROWERR;
	default:
		return TX_FATAL;
	}
}

/* The failure on the handle now (a statement, or the fetch of its result):
 * kept in last_errno and last_error, and a lost connection is closed (the
 * next attempt reconnects). */
static enum tx_verdict
note_failure(tx_ctx *x)
{
	x->last_errno = mysql_errno(x->db);
	snprintf(x->last_error, sizeof(x->last_error), "%s", mysql_error(x->db));
	if (my_conn_lost(x->last_errno)) {
		mysql_close(x->db);
		x->db = NULL;
	}
	return verdict_of(x->last_errno);
}

/* One statement. A refused statement leaves the transaction open (InnoDB
 * undoes just the statement): the caller decides. */
static enum tx_verdict
run(tx_ctx *x, const char *q, size_t n)
{
	if (mysql_real_query(x->db, q, n) == 0)
		return TX_OK;
	return note_failure(x);
}

enum tx_verdict
tx_run_ddl(tx_ctx *x, const struct buf *q)
{
	return run(x, q->p, q->len) == TX_OK ? TX_OK : x->db ? TX_FATAL : TX_AGAIN;
}

/* Locks the pipeline's progress row, checks no later checkpoint is
 * committed, and records the pending one. */
static enum tx_verdict
record_progress(tx_ctx *x)
{
	enum tx_verdict a;
	MYSQL_RES *res;

	pg_put_lock(x->pg, &x->sql);
	if ((a = run(x, x->sql.p, x->sql.len)) != TX_OK)
		return a;
	if (!(res = mysql_store_result(x->db)))
		return note_failure(x); /* the fetch failed: the connection, most likely */
	if (pg_check(x->pg, res, x->last_error, sizeof(x->last_error)) < 0) {
		x->last_errno = 0;
		a = TX_FATAL;
	}
	mysql_free_result(res);
	if (a != TX_OK)
		return a;
	pg_put_record(x->pg, &x->sql);
	return run(x, x->sql.p, x->sql.len);
}

/* Ends an attempt: rolled back after a failure, else committed, with the
 * pending checkpoint recorded in the same transaction. */
static enum tx_verdict
end_tx(tx_ctx *x, enum tx_verdict a)
{
	if (a == TX_OK && x->pg->pending) {
		a = record_progress(x);
		if (a == TX_ROWERR)
			a = TX_FATAL; /* not a row's fault: the progress table is wrong */
	}
	if (a != TX_OK) {
		if (x->db)
			mysql_rollback(x->db);
		return a;
	}
	if (mysql_commit(x->db) != 0) {
		/* The outcome is unknown (a second COMMIT would succeed on an
		 * empty transaction and count the batch as written): the batch is
		 * written again, which REPLACE makes safe, or the failure is fatal. */
		a = note_failure(x);
		if (a != TX_AGAIN) {
			if (!x->last_errno)
				snprintf(x->last_error, sizeof(x->last_error), "COMMIT failed");
			a = x->last_errno ? TX_FATAL : TX_AGAIN;
		}
		if (x->db)
			mysql_rollback(x->db);
		return a;
	}
	return TX_OK;
}

/* ---- the SQL of rows ---- */

/* The bytes a string value stores: decoded, and for a time column an RFC 3339
 * time in the session's UTC as 'YYYY-MM-DD HH:MM:SS.mmm'. */
static size_t
str_value(const tb_col *c, const js_val *v, char *tmp, const char **p)
{
	size_t n = js_text(v, tmp, p);
	int64_t ms;
	const char *why;

	if (c->time && tm_parse_rfc3339(*p, n, &ms, &why) == 0 && ms >= TM_MIN_MS && ms <= TM_MAX_MS) {
		tm_format_rfc3339(ms, tmp);
		tmp[10] = ' ';
		*p = tmp;
		return TM_RFC3339_LEN - 1; /* no Z */
	}
	return n;
}

/* One value for a column: as SQL, or (field) as a LOAD DATA field, where a
 * missing value cannot occur (the batch is uniform) and null is \N. */
static void
put_value(struct buf *b, const tb_col *c, const js_val *v, char *tmp, int field)
{
	const char *p = v->p;
	size_t n = v->n;

	switch (v->type) {
	case JS_MISSING:
	case JS_NULL:
		if (field)
			buf_lit(b, "\\N");
		else if (v->type == JS_MISSING)
			buf_lit(b, "DEFAULT");
		else
			buf_lit(b, "NULL");
		return;
	case JS_TRUE: buf_lit(b, "1"); return;
	case JS_FALSE: buf_lit(b, "0"); return;
	case JS_NUM: buf_put(b, p, n); return; /* validated number grammar */
	case JS_STR: n = str_value(c, v, tmp, &p); break;
	case JS_OBJ:
	case JS_ARR: break;
	}
	if (field)
		my_put_field(b, p, n);
	else
		my_put_str(b, p, n);
}

/* The used columns, as identifiers separated by commas; the stamp's last
 * (with_stamp: in statements, not in LOAD DATA's list, which SETs it). */
static void
put_cols(const tb_table *t, struct buf *b, int with_stamp)
{
	int first = 1;

	for (int c = 0; c < t->ncols; c++) {
		if (!t->cols[c].used)
			continue;
		if (!first)
			buf_lit(b, ",");
		my_put_ident(b, t->cols[c].name, t->cols[c].nlen);
		first = 0;
	}
	if (with_stamp && t->stampcol >= 0) {
		buf_lit(b, ",");
		my_put_ident(b, t->stamp, strlen(t->stamp));
	}
}

/* "REPLACE INTO t (cols) VALUES " (or INSERT). */
static void
put_head(const tx_ctx *x, struct buf *b)
{
	buf_put(b, x->upsert ? "INSERT INTO " : "REPLACE INTO ", x->upsert ? 12 : 13);
	my_put_ident(b, x->t->name, strlen(x->t->name));
	buf_lit(b, " (");
	put_cols(x->t, b, 1);
	buf_lit(b, ") VALUES ");
}

static void
put_tail(const tx_ctx *x, struct buf *b)
{
	const tb_table *t = x->t;
	int first = 1;

	if (!x->upsert)
		return;
	buf_lit(b, " ON DUPLICATE KEY UPDATE ");
	for (int c = 0; c < t->ncols; c++) {
		if (!t->cols[c].used || c == t->keycol)
			continue;
		if (!first)
			buf_lit(b, ",");
		my_put_ident(b, t->cols[c].name, t->cols[c].nlen);
		buf_lit(b, "=VALUES(");
		my_put_ident(b, t->cols[c].name, t->cols[c].nlen);
		buf_lit(b, ")");
		first = 0;
	}
	if (t->stampcol >= 0) {
		if (!first)
			buf_lit(b, ",");
		my_put_ident(b, t->stamp, strlen(t->stamp));
		buf_lit(b, "=VALUES(");
		my_put_ident(b, t->stamp, strlen(t->stamp));
		buf_lit(b, ")");
		first = 0;
	}
	if (first) { /* only the key: keep the row as it is */
		my_put_ident(b, t->key, strlen(t->key));
		buf_lit(b, "=");
		my_put_ident(b, t->key, strlen(t->key));
	}
}

/* Row r as a tuple (sql) or a LOAD DATA line (field). */
static void
put_row(const tx_ctx *x, struct buf *b, size_t r, int field)
{
	const js_val *v = bt_vals(x->b, r);
	const tb_table *t = x->t;
	int first = 1;

	if (!field)
		buf_lit(b, "(");
	for (int c = 0; c < t->ncols; c++) {
		if (!t->cols[c].used)
			continue;
		if (!first)
			buf_putc(b, field ? '\t' : ',');
		put_value(b, &t->cols[c], &v[c], x->b->tmp, field);
		first = 0;
	}
	if (!field && t->stampcol >= 0)
		buf_lit(b, ",NOW(3)"); /* the statement's time, in the transaction it commits with */
	buf_putc(b, field ? '\n' : ')');
}

static void
show(const struct buf *q)
{
	out_write(q->p, q->len);
	out_write(";\n", 2);
}

void
tx_explain(tx_ctx *x)
{
	int first = 1;

	if (bt_deletes(x->b) > 0) {
		/* winagg's retractions: keys only */
		x->sql.len = 0;
		buf_lit(&x->sql, "DELETE FROM ");
		my_put_ident(&x->sql, x->t->name, strlen(x->t->name));
		buf_lit(&x->sql, " WHERE ");
		if (x->t->keycol >= 0)
			my_put_ident(&x->sql, x->t->cols[x->t->keycol].name, x->t->cols[x->t->keycol].nlen);
		else
			my_put_ident(&x->sql, x->b->key, strlen(x->b->key));
		buf_lit(&x->sql, " IN (?,...)");
		show(&x->sql);
	}
	if (bt_live(x->b) == bt_deletes(x->b))
		return;
	x->sql.len = 0;
	put_head(x, &x->sql);
	buf_lit(&x->sql, "(");
	for (int c = 0; c < x->t->ncols; c++) {
		if (!x->t->cols[c].used)
			continue;
		buf_put(&x->sql, first ? "?" : ",?", first ? 1 : 2);
		first = 0;
	}
	if (x->t->stampcol >= 0)
		buf_lit(&x->sql, ",NOW(3)");
	buf_lit(&x->sql, "),...");
	put_tail(x, &x->sql);
	out_write(x->sql.p, x->sql.len);
	out_write(";\n", 2);
}

/* ---- the strategies ---- */


/* The batch's deletes (winagg's retractions), in the transaction of its
 * rows: DELETE ... WHERE key IN (...). Keys are distinct in a batch (the
 * last record of a key wins), so it does not matter that they come after
 * the rows. */
static enum tx_verdict
run_deletes(tx_ctx *x)
{
	const bt_batch *b = x->b;
	const tb_col *kc;
	size_t r = 0;
	enum tx_verdict a;

	if (bt_deletes(b) == 0)
		return TX_OK;
	kc = &x->t->cols[x->t->keycol];
	while (r < b->n) {
		int any = 0;
		x->sql.len = 0;
		buf_lit(&x->sql, "DELETE FROM ");
		my_put_ident(&x->sql, x->t->name, strlen(x->t->name));
		buf_lit(&x->sql, " WHERE ");
		my_put_ident(&x->sql, kc->name, kc->nlen);
		buf_lit(&x->sql, " IN (");
		for (; r < b->n && x->sql.len < TX_STMT_MAX; r++) {
			if (!bt_is_live(b, r) || !b->rows[r].del)
				continue;
			if (any)
				buf_lit(&x->sql, ",");
			put_value(&x->sql, kc, &bt_vals(b, r)[x->t->keycol], b->tmp, 0);
			any = 1;
		}
		if (!any)
			break;
		buf_lit(&x->sql, ")");
		if (x->dry_run)
			show(&x->sql);
		else if ((a = run(x, x->sql.p, x->sql.len)) != TX_OK)
			return a == TX_ROWERR ? TX_FATAL : a; /* no row's fault */
	}
	return TX_OK;
}

/* The whole batch in multi-row statements, then COMMIT. */
static enum tx_verdict
attempt_statements(tx_ctx *x)
{
	const bt_batch *b = x->b;
	size_t r = 0;
	enum tx_verdict a;

	while (r < b->n) {
		int any = 0;
		x->sql.len = 0;
		put_head(x, &x->sql);
		for (; r < b->n && x->sql.len < TX_STMT_MAX; r++) {
			if (!bt_is_upsert(b, r))
				continue;
			if (any)
				buf_lit(&x->sql, ",");
			put_row(x, &x->sql, r, 0);
			any = 1;
		}
		if (!any)
			break;
		put_tail(x, &x->sql);
		if (x->dry_run)
			show(&x->sql);
		else if ((a = run(x, x->sql.p, x->sql.len)) != TX_OK)
			return end_tx(x, a);
	}
	if ((a = run_deletes(x)) != TX_OK)
		return end_tx(x, a);
	if (x->dry_run) {
		if (x->pg->pending) {
			pg_put_record(x->pg, &x->sql);
			show(&x->sql);
		}
		out_write("COMMIT;\n", 8);
		return TX_OK;
	}
	return end_tx(x, TX_OK);
}

/* The rows LOAD DATA writes (x->order): in key order when the reader
 * sorted the batch (bykey) and the index orders keys as bytes; else in the
 * order read, and inf_read sorts them a slice at a time (order_slice). */
static void
order_rows(tx_ctx *x)
{
	const bt_batch *b = x->b;

	x->order = egrow(x->order, &x->order_cap, b->n, sizeof(*x->order), 1024);
	x->norder = 0;
	x->order_sorted = x->t->keybytes && b->nbykey == b->n;
	for (size_t i = 0; i < b->n; i++) {
		size_t r = x->order_sorted ? b->bykey[i].row : i;
		if (!bt_is_upsert(b, r))
			continue;
		x->order[x->norder++] = x->order_sorted
		                            ? b->bykey[i]
		                            : (bt_key){.p = b->arena.p + b->rows[r].koff,
		                                       .n = (uint32_t)b->rows[r].klen, .row = (uint32_t)r};
	}
}

/* A batch the reader did not sort (the first, read before the table was
 * known) is sorted by key a slice at a time, as LOAD DATA asks for it, if the
 * index orders keys as bytes: inserts then go page after page instead of
 * all over the index, and the sorting of a slice overlaps the server's work
 * on the one before (one sort of a big batch would keep the server waiting).
 * Otherwise (a collation that merges keys, where the last row must win; a
 * numeric key) in the order read. */
#define TX_SORT_SLICE 4096 /* rows */

static void
order_slice(tx_ctx *x)
{
	size_t k = x->norder - x->inf_row;

	if (x->order_sorted || !x->t->keybytes || x->inf_row % TX_SORT_SLICE != 0)
		return;
	if (k > TX_SORT_SLICE)
		k = TX_SORT_SLICE;
	qsort(x->order + x->inf_row, k, sizeof(*x->order), bt_key_cmp);
}

/* LOAD DATA LOCAL reads the batch through these: rows are turned into
 * fields as the library asks for more, so building the data overlaps with
 * the server loading what was sent. */
static int
inf_init(void **ptr, const char *name, void *userdata)
{
	tx_ctx *x = userdata;

	*ptr = x;
	if (!x->inf_armed)
		return 1; /* a server asking for a file on its own gets nothing */
	x->inf_row = x->inf_pos = 0;
	x->tsv.len = 0;
	return 0;
}

static int
inf_read(void *ptr, char *buf, unsigned int n)
{
	tx_ctx *x = ptr;
	size_t k;

	if (x->inf_pos == x->tsv.len) {
		x->tsv.len = x->inf_pos = 0;
		while (x->inf_row < x->norder && x->tsv.len < n) {
			order_slice(x);
			put_row(x, &x->tsv, x->order[x->inf_row++].row, 1);
		}
	}
	k = x->tsv.len - x->inf_pos;
	if (k > n)
		k = n;
	if (k)
		memcpy(buf, x->tsv.p + x->inf_pos, k);
	x->inf_pos += k;
	return (int)k;
}

static void
inf_end(void *ptr)
{
}

static int
inf_error(void *ptr, char *msg, unsigned int n)
{
	snprintf(msg, n, "cannot read the batch");
	return 2000; /* CR_UNKNOWN_ERROR */
}

MYSQL *
tx_connect(tx_ctx *x, char *err, size_t errlen)
{
	MYSQL *m = my_connect(x->my, err, errlen);

	if (m)
		mysql_set_local_infile_handler(m, inf_init, inf_read, inf_end, inf_error, x);
	return m;
}

/*
 * The batch as one LOAD DATA LOCAL ... REPLACE, the server's fastest load
 * path, fed from memory. LOCAL turns data errors into warnings (the server
 * cannot stop the client mid-file), so any warning sends the batch back,
 * rolled back, to be found row by row with REPLACE statements, which fail
 * properly.
 */
static enum tx_verdict
attempt_infile(tx_ctx *x)
{
	enum tx_verdict a;

	x->sql.len = 0;
	buf_lit(&x->sql, "LOAD DATA LOCAL INFILE 'batch' REPLACE INTO TABLE ");
	my_put_ident(&x->sql, x->t->name, strlen(x->t->name));
	buf_lit(&x->sql, " CHARACTER SET utf8mb4 FIELDS TERMINATED BY '\\t' ESCAPED BY '\\\\' "
	                 "LINES TERMINATED BY '\\n' (");
	put_cols(x->t, &x->sql, 0);
	buf_lit(&x->sql, ")");
	if (x->t->stampcol >= 0) {
		buf_lit(&x->sql, " SET ");
		my_put_ident(&x->sql, x->t->stamp, strlen(x->t->stamp));
		buf_lit(&x->sql, " = NOW(3)");
	}
	order_rows(x);
	x->inf_armed = 1;
	a = run(x, x->sql.p, x->sql.len);
	x->inf_armed = 0;
	if (a == TX_FATAL && (x->last_errno == ER_NOT_ALLOWED_COMMAND || x->last_errno == 4166)) {
		diag_info("the server refuses LOAD DATA LOCAL (%s): using REPLACE statements",
		          x->last_error);
		x->use_infile = 0;
		mysql_rollback(x->db);
		return TX_UNAVAILABLE;
	}
	if (a == TX_OK && mysql_warning_count(x->db) > 0) {
		snprintf(x->last_error, sizeof(x->last_error), "LOAD DATA reported %u warnings",
		         mysql_warning_count(x->db));
		a = TX_ROWERR;
	}
	if (a == TX_OK)
		a = run_deletes(x);
	return end_tx(x, a);
}

/*
 * Row by row, to find the rows the server refuses: each refused row follows
 * the policy (rejected, or the batch ends before it: stop_bad), the rest is
 * committed.
 */
static enum tx_verdict
attempt_rows(tx_ctx *x)
{
	bt_batch *b = x->b;

	for (size_t r = 0; r < b->n; r++) {
		enum tx_verdict a;
		if (!bt_is_upsert(b, r))
			continue;
		x->sql.len = 0;
		put_head(x, &x->sql);
		put_row(x, &x->sql, r, 0);
		put_tail(x, &x->sql);
		a = run(x, x->sql.p, x->sql.len);
		if (a == TX_ROWERR) {
			char why[600];
			const bt_row *rw = &b->rows[r];
			snprintf(why, sizeof(why), "MySQL error %u: %s", x->last_errno, x->last_error);
			if (rej_bad(x->rejects, rw->file, rw->lineno, b->arena.p + rw->off, rw->len, why) <
			    0) {
				bt_truncate(b, r);
				x->stop_bad = 1;
				break;
			}
			b->rows[r].rejected = 1;
			x->n_rejected_db++;
			continue;
		}
		if (a != TX_OK)
			return end_tx(x, a);
	}
	return end_tx(x, run_deletes(x));
}

int
tx_ensure(tx_ctx *x, int64_t *backoff, int *attempts)
{
	char err[512];

	while (!x->db) {
		if ((x->db = tx_connect(x, err, sizeof(err))) != NULL)
			break;
		if (*attempts >= x->retries || sig_stop > 0) {
			diag_error("cannot connect to MySQL: %s", err);
			return -1;
		}
		diag_warn("cannot connect to MySQL, retrying in %lld ms: %s", (long long)*backoff, err);
		sleep_ms(*backoff);
		*backoff = *backoff * 2 > TX_BACKOFF_MAX_MS ? TX_BACKOFF_MAX_MS : *backoff * 2;
		(*attempts)++;
		x->n_retries++;
	}
	return 0;
}

int
tx_retry_wait(tx_ctx *x, int64_t *backoff, int *attempts, const char *what)
{
	if (*attempts >= x->retries) {
		diag_error("giving up after %d retries: %s", *attempts, x->last_error);
		return -1;
	}
	diag_warn("%s; retrying%s in %lld ms", x->last_error, what, (long long)*backoff);
	sleep_ms(*backoff);
	*backoff = *backoff * 2 > TX_BACKOFF_MAX_MS ? TX_BACKOFF_MAX_MS : *backoff * 2;
	(*attempts)++;
	x->n_retries++;
	return 0;
}

/* The strategy is chosen here only: row by row once the server refused
 * a row, else LOAD DATA where it can say everything, else statements. */
int
tx_write(tx_ctx *x, enum tx_how how)
{
	int64_t backoff = x->backoff_ms;
	int attempts = 0, by_rows = how == TX_BY_ROWS, uniform = bt_uniform(x->b, x->t);

	x->n_rejected_db = 0;
	for (;;) {
		enum tx_verdict a;
		if (!x->dry_run && tx_ensure(x, &backoff, &attempts) < 0)
			return -1;
		if (by_rows)
			a = attempt_rows(x);
		else if (x->use_infile && uniform && !x->upsert && !x->dry_run &&
		         bt_live(x->b) > bt_deletes(x->b))
			a = attempt_infile(x);
		else
			a = attempt_statements(x);
		if (a == TX_OK)
			return 0;
		if (a == TX_UNAVAILABLE)
			continue; /* use_infile is off now */
		if (a == TX_ROWERR && !by_rows) {
			if (how == TX_WHOLE)
				return 1; /* rolled back: the caller goes row by row */
			by_rows = 1;
			continue;
		}
		if (a == TX_FATAL || a == TX_ROWERR) {
			if (x->last_errno)
				diag_error("MySQL error %u: %s", x->last_errno, x->last_error);
			else
				diag_error("%s", x->last_error);
			return -1;
		}
		if (tx_retry_wait(x, &backoff, &attempts, " the batch") < 0)
			return -1;
		/* A row-by-row attempt starts over (the server rolled it back);
		 * rows it refused stay rejected: they would be refused again. */
	}
}
