/*
 * tx: mysql-replace's transactions: a batch written and committed, with
 * the strategies, retries and reconnects that make that certain.
 *
 * Strategies, fastest first: one LOAD DATA LOCAL ... REPLACE fed from
 * memory (only when every live row has every column the batch uses, since
 * a LOAD DATA field cannot say DEFAULT, and not in upsert mode); multi-row
 * REPLACE (or INSERT ... ON DUPLICATE KEY UPDATE) statements of at most
 * TX_STMT_MAX bytes; and, after the server refused a row's data, row by
 * row, so that the refused rows are found and follow the bad-input policy
 * while the rest commits. LOAD DATA sends the rows sorted by key, 4096 at a
 * time, when the key column's collation orders keys by their bytes (keys
 * are distinct in a batch, so the order changes nothing but the server's
 * work: index pages filled in turn). Every attempt ends in COMMIT, with the pending
 * checkpoint recorded first in the same transaction (common/pg), or in a
 * rollback. Because REPLACE by key is idempotent, a batch whose outcome is
 * unknown (the connection died around COMMIT) is simply written again
 * after reconnecting. The SQL is text: values escaped by my_put_str (the
 * session guarantees backslash escapes), identifiers by my_put_ident.
 */
#ifndef TX_H
#define TX_H

#include <mysql.h>
#include <stdint.h>

#include "bt.h"
#include "my.h"
#include "pg.h"
#include "rej.h"
#include "tb.h"

#define TX_STMT_MAX (4u << 20) /* bytes of SQL per statement (max_allowed_packet is 16 MiB) */
#define TX_BACKOFF_MAX_MS 4000 /* ms, the longest wait between two attempts */

/* How an attempt ended. */
enum tx_verdict {
	TX_OK,     /* committed */
	TX_AGAIN,  /* worth another attempt: connection lost (db closed), deadlock */
	TX_ROWERR, /* a row's data was refused: find it row by row */
	TX_FATAL,  /* anything else: the run fails */
	TX_UNAVAILABLE, /* the server does not allow this strategy: choose another */
};

typedef struct {
	MYSQL *db; /* NULL while disconnected */
	const struct my_opts *my;
	tb_table *t;
	bt_batch *b;
	pg_state *pg;
	rej *rejects;
	int upsert, dry_run;
	int retries;        /* attempts after the first */
	int64_t backoff_ms; /* the first wait, doubling */
	int use_infile;     /* the server allows LOAD DATA LOCAL */
	int stop_bad;       /* a refused row under the stop policy ended the batch */
	unsigned last_errno;
	char last_error[512];
	struct buf sql, tsv;
	uint64_t n_retries, n_rejected_db;
	int inf_armed;            /* our LOAD DATA runs: the only time data is served */
	size_t inf_row, inf_pos;  /* the next of order to encode, bytes of tsv handed out */
	bt_key *order;            /* the rows LOAD DATA writes, in key order if keybytes */
	size_t norder, order_cap;
	int order_sorted;         /* all of order is (from the batch's bykey) */
} tx_ctx;

void tx_free(tx_ctx *x);
/* A connection with the LOCAL INFILE handler that only serves the batch. */
MYSQL *tx_connect(tx_ctx *x, char *err, size_t errlen);
/* Connects if needed, with the retries of a batch: 0, or -1 (said). */
int tx_ensure(tx_ctx *x, int64_t *backoff, int *attempts);
/* After a failure worth retrying (last_error): -1 when the retries are
 * used up (said), else says so, waits the backoff and doubles it. */
int tx_retry_wait(tx_ctx *x, int64_t *backoff, int *attempts, const char *what);
/* How tx_write may write: any strategy (row by row once the server refused
 * a row); the whole batch only, returning 1 when a row was refused (nothing
 * of it committed), so that the refused rows are found where the rejects
 * file is written; row by row from the start. */
enum tx_how { TX_ANY, TX_WHOLE, TX_BY_ROWS };
/* Writes the checked batch (bt_check done, columns marked used) and
 * commits it, retrying as configured: 0, or -1 the run fails (said), or 1
 * (TX_WHOLE only) as above. Touches nothing but x, its connection and
 * x->b's rows, except row by row (the rejects file, rows marked rejected). */
int tx_write(tx_ctx *x, enum tx_how how);
/* --explain: the statement the batch would be written with, values as ?. */
void tx_explain(tx_ctx *x);
/* Runs the table's CREATE (q): TX_OK, TX_AGAIN (connection lost, db
 * closed), TX_FATAL (last_error). */
enum tx_verdict tx_run_ddl(tx_ctx *x, const struct buf *q);

#endif
