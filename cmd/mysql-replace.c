/*
 * mysql-replace: NDJSON rows into a MySQL/MariaDB table, REPLACE by key.
 *
 * Rows are read into a batch (rows with the same key collapse to the last),
 * and a batch is written as multi-row REPLACE (or INSERT ... ON DUPLICATE KEY
 * UPDATE) statements in one transaction when it is full, when its oldest row
 * has waited --flush-interval, at end of input and on SIGINT/SIGTERM.
 * Because REPLACE by key is idempotent, a batch whose outcome is unknown (the
 * connection died around COMMIT) is simply replayed after reconnecting.
 *
 * A batch the server refuses because of one row's data is retried row by
 * row to find that row, which then follows the bad-input policy. The SQL is
 * text built here: values escaped by my_put_str (the session guarantees
 * backslash escapes), identifiers quoted by my_put_ident.
 */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <mysqld_error.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "cli.h"
#include "cp.h"
#include "diag.h"
#include "hs.h"
#include "js.h"
#include "my.h"
#include "nd.h"
#include "out.h"
#include "rej.h"
#include "sig.h"
#include "st.h"
#include "tm.h"

#define USAGE "[-h HOST] [-P PORT] [-S SOCKET] [-u USER] [-D DATABASE] [-t TABLE] [OPTION]... [FILE]..."
#define DEFAULT_DATABASE "ordpipe"
#define DEFAULT_TABLE "order_agg"
#define DEFAULT_KEY "rowkey"
#define DEFAULT_BATCH 5000
#define DEFAULT_FLUSH "1s"
#define DEFAULT_RETRIES 10
#define DEFAULT_BACKOFF "500ms"
#define BACKOFF_MAX_MS 4000   /* ms, the longest wait between two attempts */
#define STMT_MAX (4u << 20)   /* bytes of SQL per statement (max_allowed_packet is 16 MiB) */
#define NAME_MAX_LEN 64       /* bytes, MySQL's longest identifier */
#define PUT_LIT(b, s) my_buf_put((b), (s), sizeof(s) - 1)
#define PROGRESS_TABLE "ordpipe_progress" /* checkpoints committed, one row per pipeline */

enum {
	OPT_HELP = CLI_OPT_FIRST_PRIVATE,
	OPT_UNBUFFERED,
	OPT_DEFAULTS_FILE,
	OPT_ACCEPT_COLLATION,
	OPT_PASSWORD,
	OPT_NO_CREATE,
	OPT_IGNORE_UNKNOWN,
	OPT_MODE,
	OPT_BATCH,
	OPT_FLUSH_INTERVAL,
	OPT_DRY_RUN,
	OPT_RETRIES,
	OPT_RETRY_BACKOFF,
	OPT_PIPELINE,
	OPT_LAST_CHECKPOINT,
	OPT_PROGRESS_FILE,
};

static struct opts {
	struct cli_common cc;
	struct my_opts my;
	const char *table, *key;
	int no_create, ignore_unknown, upsert, tee, dry_run;
	int accept_collation; /* --accept-collation: a key column that may merge keys is intended */
	long long batch;
	int64_t flush_ms, backoff_ms;
	int retries;
	const char *pipeline; /* --pipeline: checkpoint barriers recorded under this name */
	int last_checkpoint;  /* --last-checkpoint: print the pipeline's last one and exit */
	const char *progress_file; /* --progress-file: the last committed checkpoint, a hint */
} opt;

/* A column of the table. */
struct col {
	char *name;
	size_t nlen;
	int time; /* DATETIME, TIMESTAMP or DATE: RFC 3339 strings are converted */
	int integer; /* an integer type: a number with a fraction would be rounded */
	int used; /* some row of the batch has this field */
};

/* A row of the batch: its line and key live in the arena. */
struct row {
	size_t off, len;   /* line bytes in the arena */
	size_t koff, klen; /* key bytes in the arena */
	const char *file;
	uint64_t lineno;
	uint8_t dead;     /* a later row has the same key */
	uint8_t rejected; /* refused (by us or the server) and rejected */
};

static MYSQL *db;
static rej rejects;
static struct col *cols;
static int ncols, keycol = -1, have_table;
static unsigned last_errno;    /* of the last failed statement */
static char last_error[512];
static js_want colwant;
static js_val *vals; /* rows x ncols for the batch being written */
static struct row *rows;
static size_t nrows, rows_cap;
static struct my_buf arena, sql;
static uint32_t *slots; /* key hash -> row index + 1, open addressing */
static int uniform;      /* every live row of the batch has every used column */
static int use_infile = 1; /* LOAD DATA LOCAL is allowed by the server */
static struct my_buf tsv;
static size_t nslots;
static double first_row_at; /* monotonic s when the batch's first row came */
static int stop_bad;        /* a bad row under the stop policy */
static int failed;          /* a failure that ends the run with status 1 */
static uint64_t n_read, n_committed, n_rejected_db, n_batches, n_retries;
/* Commit latency of batches since the last --stats line: from the first
 * attempt to the COMMIT's answer, ms. */
static double commit_ms_sum, commit_ms_max;
static uint64_t commit_n;

/*
 * The checkpoint barrier (--pipeline): a {"_checkpoint":{"id":N,
 * "positions":{...}}} record from winagg commits every row before it and, in
 * the same transaction, the checkpoint's id and positions in
 * PROGRESS_TABLE. So a committed checkpoint always covers exactly the rows
 * committed with or before it: the consistent cut a restart resumes from.
 */
static int ck_pending;        /* a barrier waits for its transaction */
static int64_t ck_id;         /* its id */
static struct my_buf ck_pos;  /* its positions, JSON text */
static uint64_t n_checkpoints;

static void
help(void)
{
	printf("usage: mysql-replace " USAGE "\n"
	       "Write NDJSON rows into a MySQL/MariaDB table by REPLACE on their key.\n\n"
	       "  -h HOST              server host (default: the socket, or option files)\n"
	       "  -P PORT              TCP port\n"
	       "  -S SOCKET            unix socket\n"
	       "  -u USER              user (password: option files or MYSQL_PWD, never -p)\n"
	       "  -D DATABASE          database (default: an option file's database=, else "
	       DEFAULT_DATABASE ")\n"
	       "      --defaults-file FILE  read options from FILE ([client], [mysql-replace])\n"
	       "      --accept-collation  use an existing table whose key column's collation\n"
	       "                       may merge distinct keys ('SG' and 'sg')\n"
	       "  -t, --table NAME     table (default " DEFAULT_TABLE ")\n"
	       "  -k, --key FIELD      key field, the table's primary key (default " DEFAULT_KEY ")\n"
	       "      --no-create      refuse to create a missing table\n"
	       "      --ignore-unknown skip fields that have no column\n"
	       "      --mode MODE      replace or upsert (INSERT ... ON DUPLICATE KEY UPDATE)\n"
	       "      --batch N        rows per transaction (default %d)\n"
	       "      --flush-interval DUR  longest a row waits before commit (default " DEFAULT_FLUSH ")\n"
	       "      --retries N      attempts after a lost connection or deadlock (default %d)\n"
	       "      --retry-backoff DUR   first wait between attempts, doubling (default " DEFAULT_BACKOFF ")\n"
	       "  -T, --tee            write each row to stdout once committed\n"
	       "      --dry-run        print the SQL instead of running it\n"
	       "      --pipeline NAME  commit each {\"_checkpoint\":...} record with the rows before it,\n"
	       "                       recording it in table " PROGRESS_TABLE " under NAME\n"
	       "      --last-checkpoint  print NAME's last committed checkpoint and exit\n"
	       "      --progress-file FILE  after each commit of a checkpoint, write it to FILE\n"
	       "                       (for winagg: FILE is its checkpoint DIR/committed)\n"
	       "      --rejects FILE   append bad rows to FILE and go on\n"
	       "  -q, --quiet          no notices or warnings\n"
	       "      --stats DUR      a JSON line of counters on stderr every DUR\n"
	       "  -v, --verbose        counters at exit\n"
	       "      --unbuffered     with -T, flush each row\n"
	       "      --help           this help\n"
	       "  -V, --version        versions of mysql-replace and its libraries\n\n"
	       "Exit status: 0 every row committed (or rejected with --rejects), 1 a runtime\n"
	       "failure (rows not committed are counted), 2 usage error, 3 stopped at a bad row.\n",
	       DEFAULT_BATCH, DEFAULT_RETRIES);
}

static void
parse_opts(int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"help", no_argument, NULL, OPT_HELP},
	    {"version", no_argument, NULL, 'V'},
	    {"quiet", no_argument, NULL, 'q'},
	    {"verbose", no_argument, NULL, 'v'},
	    {"unbuffered", no_argument, NULL, OPT_UNBUFFERED},
	    {"rejects", required_argument, NULL, CLI_OPT_REJECTS},
	    {"stats", required_argument, NULL, CLI_OPT_STATS},
	    {"host", required_argument, NULL, 'h'},
	    {"port", required_argument, NULL, 'P'},
	    {"socket", required_argument, NULL, 'S'},
	    {"user", required_argument, NULL, 'u'},
	    {"database", required_argument, NULL, 'D'},
	    {"defaults-file", required_argument, NULL, OPT_DEFAULTS_FILE},
	    {"accept-collation", no_argument, NULL, OPT_ACCEPT_COLLATION},
	    {"password", optional_argument, NULL, OPT_PASSWORD},
	    {"table", required_argument, NULL, 't'},
	    {"key", required_argument, NULL, 'k'},
	    {"no-create", no_argument, NULL, OPT_NO_CREATE},
	    {"ignore-unknown", no_argument, NULL, OPT_IGNORE_UNKNOWN},
	    {"mode", required_argument, NULL, OPT_MODE},
	    {"batch", required_argument, NULL, OPT_BATCH},
	    {"flush-interval", required_argument, NULL, OPT_FLUSH_INTERVAL},
	    {"retries", required_argument, NULL, OPT_RETRIES},
	    {"retry-backoff", required_argument, NULL, OPT_RETRY_BACKOFF},
	    {"tee", no_argument, NULL, 'T'},
	    {"dry-run", no_argument, NULL, OPT_DRY_RUN},
	    {"pipeline", required_argument, NULL, OPT_PIPELINE},
	    {"last-checkpoint", no_argument, NULL, OPT_LAST_CHECKPOINT},
	    {"progress-file", required_argument, NULL, OPT_PROGRESS_FILE},
	    {NULL, 0, NULL, 0},
	};
	int c;

	opt.my.fallback_database = DEFAULT_DATABASE;
	opt.my.group = "mysql-replace";
	opt.table = DEFAULT_TABLE;
	opt.key = DEFAULT_KEY;
	opt.batch = DEFAULT_BATCH;
	opt.flush_ms = cli_dur(USAGE, "--flush-interval", DEFAULT_FLUSH, 0);
	opt.backoff_ms = cli_dur(USAGE, "--retry-backoff", DEFAULT_BACKOFF, 0);
	opt.retries = DEFAULT_RETRIES;
	/* -h and -u are the mariadb client's host and user here; --help and
	 * --unbuffered keep the shared meanings. */
	while ((c = getopt_long(argc, argv, ":Vqvh:P:S:u:D:t:k:Tp::", longopts, NULL)) != -1) {
		switch (c) {
		case 'h': opt.my.host = optarg; break;
		case 'P': opt.my.port = (unsigned)cli_num(USAGE, "-P", optarg, 1, 65535); break;
		case 'S': opt.my.socket = optarg; break;
		case 'u': opt.my.user = optarg; break;
		case 'D': opt.my.database = optarg; break;
		case OPT_DEFAULTS_FILE: opt.my.defaults_file = optarg; break;
		case OPT_ACCEPT_COLLATION: opt.accept_collation = 1; break;
		case 'p':
		case OPT_PASSWORD:
			cli_usage_error(USAGE, "a password is never taken on the command line (ps would "
			                       "show it): put password= in an option file ([client] or "
			                       "[mysql-replace], --defaults-file FILE) or set MYSQL_PWD");
		case 't': opt.table = optarg; break;
		case 'k': opt.key = optarg; break;
		case OPT_NO_CREATE: opt.no_create = 1; break;
		case OPT_IGNORE_UNKNOWN: opt.ignore_unknown = 1; break;
		case OPT_MODE:
			if (strcmp(optarg, "replace") == 0)
				opt.upsert = 0;
			else if (strcmp(optarg, "upsert") == 0)
				opt.upsert = 1;
			else
				cli_usage_error(USAGE, "--mode: '%s' is not replace or upsert", optarg);
			break;
		case OPT_BATCH: opt.batch = cli_num(USAGE, "--batch", optarg, 1, 1000000); break;
		case OPT_FLUSH_INTERVAL:
			opt.flush_ms = cli_dur(USAGE, "--flush-interval", optarg, 0);
			break;
		case OPT_RETRIES: opt.retries = (int)cli_num(USAGE, "--retries", optarg, 0, 1000); break;
		case OPT_RETRY_BACKOFF:
			opt.backoff_ms = cli_dur(USAGE, "--retry-backoff", optarg, 0);
			break;
		case 'T': opt.tee = 1; break;
		case OPT_DRY_RUN: opt.dry_run = 1; break;
		case OPT_PIPELINE:
			if (!*optarg || strlen(optarg) > 255)
				cli_usage_error(USAGE, "--pipeline: a name is 1 to 255 bytes");
			opt.pipeline = optarg;
			break;
		case OPT_LAST_CHECKPOINT: opt.last_checkpoint = 1; break;
		case OPT_PROGRESS_FILE:
			if (!*optarg || strlen(optarg) > 4000)
				cli_usage_error(USAGE, "--progress-file: a path is 1 to 4000 bytes");
			opt.progress_file = optarg;
			break;
		case OPT_HELP: cli_common('h', argv, &opt.cc, help, USAGE); break;
		case OPT_UNBUFFERED: opt.cc.unbuffered = 1; break;
		default:
			if (!cli_common(c, argv, &opt.cc, help, USAGE))
				cli_usage_error(USAGE, "unexpected option");
		}
	}
	if (!*opt.table || strlen(opt.table) > NAME_MAX_LEN)
		cli_usage_error(USAGE, "-t: a table name is 1 to %d bytes", NAME_MAX_LEN);
	if (strcasecmp(opt.table, PROGRESS_TABLE) == 0)
		cli_usage_error(USAGE, "-t: '%s' is the progress table of --pipeline, not a table "
		                       "for rows", opt.table);
	if (!*opt.key || strlen(opt.key) > NAME_MAX_LEN)
		cli_usage_error(USAGE, "-k: a key name is 1 to %d bytes", NAME_MAX_LEN);
	if (opt.dry_run && opt.tee)
		cli_usage_error(USAGE, "--dry-run and --tee do not go together");
	if (opt.last_checkpoint && !opt.pipeline)
		cli_usage_error(USAGE, "--last-checkpoint needs --pipeline NAME");
	if (opt.progress_file && !opt.pipeline)
		cli_usage_error(USAGE, "--progress-file needs --pipeline NAME");
	if (opt.last_checkpoint && opt.dry_run)
		cli_usage_error(USAGE, "--last-checkpoint and --dry-run do not go together");
	{
		char why[600];
		int k = my_check_defaults_file(&opt.my, why, sizeof(why));
		if (k < 0)
			diag_die(DIAG_EX_USAGE, "%s", why);
		if (k > 0)
			diag_warn("%s", why);
	}
}

/* ---- the table ---- */

static void
add_col(const char *name, size_t n, int time)
{
	cols = realloc(cols, (size_t)(ncols + 1) * sizeof(*cols));
	if (!cols)
		diag_die(DIAG_EX_FAIL, "out of memory");
	cols[ncols].name = strndup(name, n);
	if (!cols[ncols].name)
		diag_die(DIAG_EX_FAIL, "out of memory");
	cols[ncols].nlen = n;
	cols[ncols].time = time;
	cols[ncols].used = 0;
	if (n == strlen(opt.key) && memcmp(name, opt.key, n) == 0)
		keycol = ncols;
	ncols++;
}

static const char **colnames; /* colwant keeps pointing at it */

static void
cols_ready(void)
{
	colnames = malloc((size_t)ncols * sizeof(*colnames));
	if (!colnames)
		diag_die(DIAG_EX_FAIL, "out of memory");
	for (int i = 0; i < ncols; i++)
		colnames[i] = cols[i].name;
	js_want_init(&colwant, colnames, ncols);
	have_table = 1;
}

/* Runs a query that returns rows; NULL with the error printed. */
static MYSQL_RES *
query_rows(const struct my_buf *q)
{
	MYSQL_RES *res;

	if (mysql_real_query(db, q->p, q->len) != 0 || !(res = mysql_store_result(db))) {
		diag_error("cannot read the table's definition: %s", mysql_error(db));
		return NULL;
	}
	return res;
}

/* Reads an existing table's columns and checks its keys. 1 found, 0 missing,
 * -1 error, -2 a key column whose collation may merge keys (said). */
static int
load_table(void)
{
	struct my_buf q = {0};
	MYSQL_RES *res;
	MYSQL_ROW r;
	int pk_ok = 0, pk_cols = 0;
	const char *why;

	PUT_LIT(&q, "SELECT COLUMN_NAME, DATA_TYPE, COLLATION_NAME FROM information_schema.COLUMNS WHERE "
	            "TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ");
	my_put_str(&q, opt.table, strlen(opt.table));
	PUT_LIT(&q, " ORDER BY ORDINAL_POSITION");
	if (!(res = query_rows(&q)))
		goto fail;
	while ((r = mysql_fetch_row(res)) != NULL) {
		int t = strcmp(r[1], "datetime") == 0 || strcmp(r[1], "timestamp") == 0 ||
		        strcmp(r[1], "date") == 0;
		add_col(r[0], strlen(r[0]), t);
		cols[ncols - 1].integer = strlen(r[1]) >= 3 && strcmp(r[1] + strlen(r[1]) - 3, "int") == 0;
		if (strcmp(r[0], opt.key) == 0 && !opt.accept_collation &&
		    (why = my_collation_merges(r[2])) != NULL) {
			diag_error("the key column '%s' of table '%s' has collation %s: %s, so distinct "
			           "keys would become one row (ALTER it to %s, or --accept-collation if "
			           "that is intended)",
			           opt.key, opt.table, r[2], why, my_binary_collation(db));
			mysql_free_result(res);
			my_buf_free(&q);
			return -2;
		}
	}
	mysql_free_result(res);
	if (ncols == 0) {
		my_buf_free(&q);
		return 0;
	}
	if (keycol < 0) {
		diag_error("table '%s' has no column '%s' for the key", opt.table, opt.key);
		goto fail;
	}
	q.len = 0;
	PUT_LIT(&q, "SELECT INDEX_NAME, COLUMN_NAME FROM information_schema.STATISTICS WHERE "
	            "TABLE_SCHEMA = DATABASE() AND NON_UNIQUE = 0 AND TABLE_NAME = ");
	my_put_str(&q, opt.table, strlen(opt.table));
	if (!(res = query_rows(&q)))
		goto fail;
	while ((r = mysql_fetch_row(res)) != NULL) {
		if (strcmp(r[0], "PRIMARY") == 0) {
			pk_cols++;
			pk_ok |= strcmp(r[1], opt.key) == 0;
		} else {
			diag_warn("table '%s' has the unique index '%s' besides the primary key: "
			          "REPLACE deletes every row that matches either",
			          opt.table, r[0]);
		}
	}
	mysql_free_result(res);
	if (!pk_ok || pk_cols != 1) {
		diag_error("column '%s' is not the primary key of table '%s': REPLACE would not "
		           "de-duplicate",
		           opt.key, opt.table);
		goto fail;
	}
	my_buf_free(&q);
	cols_ready();
	return 1;
fail:
	my_buf_free(&q);
	return -1;
}

/* What the rows of the first batch say about a field, for CREATE TABLE. */
struct seen {
	char *name;
	size_t n;
	unsigned ints, fracs, times, strs, bools, nested;
};
static struct seen *seen;
static int nseen;

static void
see_member(void *arg, const js_val *name, const js_val *v)
{
	char nbuf[NAME_MAX_LEN * 4];
	size_t n;
	int i;

	if (name->n > sizeof(nbuf))
		return; /* too long for a column: the row is refused later */
	n = js_unescape(name->p, name->n, nbuf);
	for (i = 0; i < nseen; i++)
		if (seen[i].n == n && memcmp(seen[i].name, nbuf, n) == 0)
			break;
	if (i == nseen) {
		seen = realloc(seen, (size_t)(nseen + 1) * sizeof(*seen));
		if (!seen)
			diag_die(DIAG_EX_FAIL, "out of memory");
		memset(&seen[i], 0, sizeof(*seen));
		if (!(seen[i].name = strndup(nbuf, n)))
			diag_die(DIAG_EX_FAIL, "out of memory");
		seen[i].n = n;
		nseen++;
	}
	switch (v->type) {
	case JS_NUM: v->isint ? seen[i].ints++ : seen[i].fracs++; break;
	case JS_TRUE:
	case JS_FALSE: seen[i].bools++; break;
	case JS_OBJ:
	case JS_ARR: seen[i].nested++; break;
	case JS_STR: {
		int64_t ms;
		const char *why;
		char tmp[64];
		size_t k = v->n < sizeof(tmp) ? js_unescape(v->p, v->n, tmp) : 0;
		if (k && tm_parse_rfc3339(tmp, k, &ms, &why) == 0)
			seen[i].times++;
		else
			seen[i].strs++;
		break;
	}
	default: break;
	}
}

static const char *
sql_type(const struct seen *s, int key)
{
	unsigned kinds = !!(s->ints + s->fracs) + !!s->times + !!s->strs + !!s->bools + !!s->nested;

	if (key)
		return "VARCHAR(255) NOT NULL";
	if (kinds != 1 || s->strs)
		return "VARCHAR(255)";
	if (s->fracs)
		return "DOUBLE NULL";
	if (s->ints)
		return "BIGINT NULL";
	if (s->times)
		return "DATETIME(3) NULL";
	if (s->bools)
		return "TINYINT(1) NULL";
	return "JSON NULL";
}

/* Is there a column whose name MySQL takes for this one (ASCII case)? */
static int
col_named_alike(const char *name, size_t n)
{
	for (int i = 0; i < ncols; i++) {
		size_t k = 0;
		if (cols[i].nlen != n)
			continue;
		while (k < n && tolower((unsigned char)cols[i].name[k]) == tolower((unsigned char)name[k]))
			k++;
		if (k == n)
			return 1;
	}
	return 0;
}

/* CREATE TABLE from the fields of the batch's rows, key first. 0 done, -1
 * failed (said), -2 the connection was lost (last_error; db closed). */
static int
create_table(void)
{
	struct my_buf q = {0};
	int rc = 0;
	const char *coll = db ? my_binary_collation(db) : "utf8mb4_nopad_bin";

	for (size_t r = 0; r < nrows; r++)
		if (!rows[r].dead)
			js_each(arena.p + rows[r].off, rows[r].len, see_member, NULL);
	PUT_LIT(&q, "CREATE TABLE IF NOT EXISTS ");
	my_put_ident(&q, opt.table, strlen(opt.table));
	PUT_LIT(&q, " (");
	my_put_ident(&q, opt.key, strlen(opt.key));
	/* Keys and text compare byte for byte: 'SG' and 'sg', 'a' and 'a '
	 * are distinct rows and groups. */
	PUT_LIT(&q, " VARCHAR(255) COLLATE ");
	my_buf_put(&q, coll, strlen(coll));
	PUT_LIT(&q, " NOT NULL PRIMARY KEY");
	add_col(opt.key, strlen(opt.key), 0);
	for (int i = 0; i < nseen; i++) {
		const char *t = sql_type(&seen[i], 0);
		if (seen[i].n == strlen(opt.key) && memcmp(seen[i].name, opt.key, seen[i].n) == 0)
			continue;
		if (seen[i].n == 0 || seen[i].n > NAME_MAX_LEN || memchr(seen[i].name, 0, seen[i].n) ||
		    col_named_alike(seen[i].name, seen[i].n))
			continue; /* not a column name, or one the server takes for an earlier one
			             ('a' and 'A'): its rows are refused as unknown fields */
		PUT_LIT(&q, ", ");
		my_put_ident(&q, seen[i].name, seen[i].n);
		PUT_LIT(&q, " ");
		my_buf_put(&q, t, strlen(t));
		if (strcmp(t, "VARCHAR(255)") == 0) {
			PUT_LIT(&q, " COLLATE ");
			my_buf_put(&q, coll, strlen(coll));
			PUT_LIT(&q, " NULL");
		}
		add_col(seen[i].name, seen[i].n, seen[i].times > 0 && strncmp(t, "DATETIME", 8) == 0);
		cols[ncols - 1].integer = strncmp(t, "BIGINT", 6) == 0;
	}
	PUT_LIT(&q, ") ENGINE=InnoDB DEFAULT CHARSET=utf8mb4");
	if (opt.dry_run) {
		out_write(q.p, q.len);
		out_write(";\n", 2);
	} else if (mysql_real_query(db, q.p, q.len) != 0) {
		if (my_conn_lost(mysql_errno(db))) {
			/* the caller reconnects and tries again, as for a batch */
			snprintf(last_error, sizeof(last_error), "cannot create table '%s': %s", opt.table,
			         mysql_error(db));
			mysql_close(db);
			db = NULL;
			rc = -2;
		} else {
			diag_error("cannot create table '%s': %s", opt.table, mysql_error(db));
			rc = -1;
		}
		for (int i = 0; i < ncols; i++)
			free(cols[i].name);
		ncols = 0;
		keycol = -1;
	} else {
		my_buf_put(&q, "", 1);
		diag_warn("created table %s", q.p + sizeof("CREATE TABLE IF NOT EXISTS ") - 1);
	}
	for (int i = 0; i < nseen; i++)
		free(seen[i].name);
	free(seen);
	seen = NULL;
	nseen = 0;
	my_buf_free(&q);
	if (rc == 0)
		cols_ready();
	return rc;
}

/* ---- the batch ---- */

static void
batch_clear(void)
{
	nrows = 0;
	arena.len = 0;
	memset(slots, 0, nslots * sizeof(*slots));
}

/* Marks an earlier row with the same key dead; the new row takes its slot. */
static void
collapse(size_t idx)
{
	const struct row *r = &rows[idx];
	const char *k = arena.p + r->koff;
	size_t mask = nslots - 1, h = (size_t)hs_hash(k, r->klen, 0) & mask;

	for (;; h = (h + 1) & mask) {
		uint32_t s = slots[h];
		if (s == 0) {
			slots[h] = (uint32_t)idx + 1;
			return;
		}
		struct row *o = &rows[s - 1];
		if (o->klen == r->klen && memcmp(arena.p + o->koff, k, r->klen) == 0) {
			o->dead = 1;
			slots[h] = (uint32_t)idx + 1;
			return;
		}
	}
}

/* Doubles the key table and puts the live rows back (with --pipeline a
 * batch can outgrow --batch: it lasts until the next checkpoint record). */
static void
slots_grow(void)
{
	nslots *= 2;
	free(slots);
	if (!(slots = calloc(nslots, sizeof(*slots))))
		diag_die(DIAG_EX_FAIL, "out of memory");
	for (size_t i = 0; i < nrows; i++)
		if (!rows[i].dead)
			collapse(i);
}

static int
bad_row(const struct row *r, const char *why)
{
	return rej_bad(&rejects, r->file, r->lineno, arena.p + r->off, r->len, why);
}

/* The bytes a string value stores: decoded, and for a time column an RFC 3339
 * time in the session's UTC as 'YYYY-MM-DD HH:MM:SS.mmm'. */
static size_t
str_value(const struct col *c, const js_val *v, char *tmp, const char **p)
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
put_value(struct my_buf *b, const struct col *c, const js_val *v, char *tmp, int field)
{
	const char *p = v->p;
	size_t n = v->n;

	switch (v->type) {
	case JS_MISSING:
	case JS_NULL:
		if (field)
			PUT_LIT(b, "\\N");
		else if (v->type == JS_MISSING)
			PUT_LIT(b, "DEFAULT");
		else
			PUT_LIT(b, "NULL");
		return;
	case JS_TRUE: PUT_LIT(b, "1"); return;
	case JS_FALSE: PUT_LIT(b, "0"); return;
	case JS_NUM: my_buf_put(b, p, n); return; /* validated number grammar */
	case JS_STR: n = str_value(c, v, tmp, &p); break;
	case JS_OBJ:
	case JS_ARR: break;
	}
	if (field)
		my_put_field(b, p, n);
	else
		my_put_str(b, p, n);
}

/* Names a field of the row that has no column (unknown_found). */
static char unknown_name[NAME_MAX_LEN * 4 + 8];
static int unknown_found;
static void
find_unknown(void *arg, const js_val *name, const js_val *v)
{
	char nbuf[sizeof(unknown_name)];
	size_t n;

	if (unknown_found)
		return;
	if (name->n >= sizeof(nbuf)) {
		snprintf(unknown_name, sizeof(unknown_name), "(a long name)");
		unknown_found = 1;
		return;
	}
	n = js_unescape(name->p, name->n, nbuf);
	for (int i = 0; i < ncols; i++)
		if (cols[i].nlen == n && memcmp(cols[i].name, nbuf, n) == 0)
			return;
	snprintf(unknown_name, sizeof(unknown_name), "%.*s", (int)n, nbuf);
	unknown_found = 1;
}

/*
 * Scans the live rows against the columns: vals[r * ncols + c], marks the
 * columns used. A row with a field that has no column is bad. Returns -1
 * when the stop policy ends the batch there (rows after it are dropped).
 */
static int
scan_batch(void)
{
	for (int c = 0; c < ncols; c++)
		cols[c].used = c == keycol;
	for (size_t r = 0; r < nrows; r++) {
		struct row *rw = &rows[r];
		js_val *v = &vals[r * (size_t)ncols];
		js_err err;
		int found = 0;
		if (rw->dead || rw->rejected)
			continue;
		js_scan(arena.p + rw->off, rw->len, &colwant, v, &err);
		for (int c = 0; c < ncols; c++) {
			if (v[c].type == JS_MISSING)
				continue;
			found++;
			cols[c].used = 1;
			if (cols[c].integer && v[c].type == JS_NUM && !v[c].isint) {
				/* the server would round 3.5 to 4: a value the column
				 * cannot hold exactly is a bad row */
				double d = js_to_double(&v[c]);
				if (d != floor(d) || !isfinite(d)) {
					char why[400];
					snprintf(why, sizeof(why),
					         "field '%s': %.*s is not a whole number (column '%s' is an "
					         "integer)",
					         cols[c].name, (int)(v[c].n > 40 ? 40 : v[c].n), v[c].p,
					         cols[c].name);
					if (bad_row(rw, why) < 0) {
						nrows = r;
						stop_bad = 1;
						return -1;
					}
					rw->rejected = 1;
					break;
				}
			}
		}
		if (rw->rejected)
			continue;
		if (err.members > found && !opt.ignore_unknown) {
			char why[400];
			unknown_name[0] = '\0';
			unknown_found = 0;
			js_each(arena.p + rw->off, rw->len, find_unknown, NULL);
			if (!unknown_found)
				continue; /* a repeated key, not an unknown field */
			snprintf(why, sizeof(why), "field '%s' has no column in table '%s'",
			         unknown_name, opt.table);
			if (bad_row(rw, why) < 0) {
				nrows = r;
				stop_bad = 1;
				return -1;
			}
			rw->rejected = 1;
		}
	}
	/* LOAD DATA cannot say DEFAULT: it is used only when every live row
	 * carries every column the batch uses. */
	uniform = 1;
	for (size_t r = 0; r < nrows && uniform; r++) {
		if (rows[r].dead || rows[r].rejected)
			continue;
		for (int c = 0; c < ncols; c++)
			if (cols[c].used && vals[r * (size_t)ncols + c].type == JS_MISSING)
				uniform = 0;
	}
	return 0;
}

/* Appends "REPLACE INTO t (cols) VALUES" (or INSERT). */
static void
put_head(struct my_buf *b)
{
	int first = 1;

	if (opt.upsert)
		PUT_LIT(b, "INSERT INTO ");
	else
		PUT_LIT(b, "REPLACE INTO ");
	my_put_ident(b, opt.table, strlen(opt.table));
	PUT_LIT(b, " (");
	for (int c = 0; c < ncols; c++) {
		if (!cols[c].used)
			continue;
		if (!first)
			PUT_LIT(b, ",");
		my_put_ident(b, cols[c].name, cols[c].nlen);
		first = 0;
	}
	PUT_LIT(b, ") VALUES ");
}

static void
put_tail(struct my_buf *b)
{
	int first = 1;

	if (!opt.upsert)
		return;
	PUT_LIT(b, " ON DUPLICATE KEY UPDATE ");
	for (int c = 0; c < ncols; c++) {
		if (!cols[c].used || c == keycol)
			continue;
		if (!first)
			PUT_LIT(b, ",");
		my_put_ident(b, cols[c].name, cols[c].nlen);
		PUT_LIT(b, "=VALUES(");
		my_put_ident(b, cols[c].name, cols[c].nlen);
		PUT_LIT(b, ")");
		first = 0;
	}
	if (first) { /* only the key: keep the row as it is */
		my_put_ident(b, opt.key, strlen(opt.key));
		PUT_LIT(b, "=");
		my_put_ident(b, opt.key, strlen(opt.key));
	}
}

static char *tmpval; /* ND_LINE_MAX bytes for unescaped strings */

static void
put_tuple(struct my_buf *b, size_t r)
{
	const js_val *v = &vals[r * (size_t)ncols];
	int first = 1;

	PUT_LIT(b, "(");
	for (int c = 0; c < ncols; c++) {
		if (!cols[c].used)
			continue;
		if (!first)
			PUT_LIT(b, ",");
		put_value(b, &cols[c], &v[c], tmpval, 0);
		first = 0;
	}
	PUT_LIT(b, ")");
}

/* ---- running it ---- */

enum attempt { AT_OK, AT_AGAIN, AT_ROWERR, AT_FATAL };

static int
sleep_ms(int64_t ms)
{
	struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};
	return nanosleep(&ts, NULL);
}

static enum attempt classify(void);

/* One statement; classifies a failure. A refused statement leaves the
 * transaction open (InnoDB undoes just the statement): the caller decides. */
static enum attempt
run(const char *q, size_t n)
{
	if (mysql_real_query(db, q, n) == 0)
		return AT_OK;
	return classify();
}

/* Classifies the error on the handle now (after run's query, or a failed
 * fetch of its result), keeping it in last_errno and last_error. */
static enum attempt
classify(void)
{
	last_errno = mysql_errno(db);
	snprintf(last_error, sizeof(last_error), "%s", mysql_error(db));
	if (my_conn_lost(last_errno)) {
		mysql_close(db);
		db = NULL;
		return AT_AGAIN;
	}
	if (my_retriable(last_errno))
		return AT_AGAIN;
	switch (last_errno) {
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
		return AT_ROWERR;
	default:
		return AT_FATAL;
	}
}

/* --progress-file: {"id":N,"positions":{...}} of the checkpoint just
 * committed, replaced whole (a temporary file renamed). Only a hint, so
 * not fsynced: winagg keeps the snapshot it names, and anything newer, from
 * being pruned; the progress table stays the truth. A failure is warned
 * about once. */
static void
write_progress_file(void)
{
	static int warned;
	char tmp[4096];
	FILE *f;
	int ok;

	snprintf(tmp, sizeof(tmp), "%s.tmp", opt.progress_file);
	if ((f = fopen(tmp, "w")) == NULL) {
		ok = 0;
	} else {
		fprintf(f, "{\"id\":%lld,\"positions\":%.*s}\n", (long long)ck_id, (int)ck_pos.len,
		        ck_pos.p);
		ok = !ferror(f);
		ok = (fclose(f) == 0) && ok && rename(tmp, opt.progress_file) == 0;
	}
	if (!ok && !warned++)
		diag_warn("cannot write progress file '%s': %s (further failures are not reported)",
		          opt.progress_file, strerror(errno));
}

/* The statement that records the pending checkpoint. */
static void
put_progress(struct my_buf *b)
{
	char num[24];

	b->len = 0;
	PUT_LIT(b, "REPLACE INTO " PROGRESS_TABLE " (pipeline, checkpoint_id, positions, committed_at) "
	           "VALUES (");
	my_put_str(b, opt.pipeline, strlen(opt.pipeline));
	PUT_LIT(b, ",");
	my_buf_put(b, num, js_fmt_i64(ck_id, num));
	PUT_LIT(b, ",");
	my_put_str(b, ck_pos.p, ck_pos.len);
	PUT_LIT(b, ",NOW(3))");
}

/*
 * Checkpoint ids only grow (winagg never reuses one), so a committed id
 * above the pending one means another writer uses this pipeline name: two
 * ETLs whose cuts would interleave. The row is locked until the commit. The
 * same id is a replay of our own transaction after an unknown outcome.
 */
static enum attempt
check_progress(void)
{
	struct my_buf q = {0};
	enum attempt a = AT_OK;
	MYSQL_RES *res;
	MYSQL_ROW r;

	PUT_LIT(&q, "SELECT checkpoint_id FROM " PROGRESS_TABLE " WHERE pipeline = ");
	my_put_str(&q, opt.pipeline, strlen(opt.pipeline));
	PUT_LIT(&q, " FOR UPDATE");
	if ((a = run(q.p, q.len)) == AT_OK) {
		if (!(res = mysql_store_result(db))) {
			a = classify(); /* the fetch failed: the connection, most likely */
		} else {
			if ((r = mysql_fetch_row(res)) != NULL && r[0] && strtoll(r[0], NULL, 10) > ck_id) {
				snprintf(last_error, sizeof(last_error),
				         "pipeline '%s' has checkpoint %s committed, later than %lld: is "
				         "another ETL running under this name?",
				         opt.pipeline, r[0], (long long)ck_id);
				last_errno = 0;
				a = AT_FATAL;
			}
			mysql_free_result(res);
		}
	}
	my_buf_free(&q);
	return a;
}

/* Ends an attempt: rolled back after a failure, else committed, with the
 * pending checkpoint recorded in the same transaction. */
static enum attempt
end_tx(enum attempt a)
{
	if (a == AT_OK && ck_pending) {
		a = check_progress();
		if (a == AT_OK) {
			put_progress(&sql);
			a = run(sql.p, sql.len);
		}
		if (a == AT_ROWERR)
			a = AT_FATAL; /* not a row's fault: the progress table is wrong */
	}
	if (a != AT_OK) {
		if (db)
			mysql_rollback(db);
		return a;
	}
	if (mysql_commit(db) != 0) {
		/* The outcome is unknown (a second COMMIT would succeed on an
		 * empty transaction and count the batch as written): the batch is
		 * retried, which REPLACE makes safe, or the failure is fatal. */
		a = classify();
		if (a != AT_AGAIN) {
			if (!last_errno)
				snprintf(last_error, sizeof(last_error), "COMMIT failed");
			a = last_errno ? AT_FATAL : AT_AGAIN;
		}
		if (db)
			mysql_rollback(db);
		return a;
	}
	return AT_OK;
}

/* The whole batch in multi-row statements, then COMMIT. */
static enum attempt
attempt_batch(void)
{
	size_t r = 0;
	enum attempt a;

	while (r < nrows) {
		int any = 0;
		sql.len = 0;
		put_head(&sql);
		for (; r < nrows && sql.len < STMT_MAX; r++) {
			if (rows[r].dead || rows[r].rejected)
				continue;
			if (any)
				PUT_LIT(&sql, ",");
			put_tuple(&sql, r);
			any = 1;
		}
		if (!any)
			break;
		put_tail(&sql);
		if (opt.dry_run) {
			out_write(sql.p, sql.len);
			out_write(";\n", 2);
			continue;
		}
		if ((a = run(sql.p, sql.len)) != AT_OK)
			return end_tx(a);
	}
	if (opt.dry_run) {
		if (ck_pending) {
			put_progress(&sql);
			out_write(sql.p, sql.len);
			out_write(";\n", 2);
		}
		out_write("COMMIT;\n", 8);
		return AT_OK;
	}
	return end_tx(AT_OK);
}

/* LOAD DATA LOCAL reads the batch through these: rows are turned into
 * fields as the library asks for more, so building the data overlaps with
 * the server loading what was sent. */
struct infile {
	size_t row;  /* next row to encode */
	size_t pos;  /* bytes of tsv already handed out */
};

static void
encode_row(size_t r)
{
	const js_val *v = &vals[r * (size_t)ncols];
	int any = 0;

	for (int c = 0; c < ncols; c++) {
		if (!cols[c].used)
			continue;
		if (any)
			PUT_LIT(&tsv, "\t");
		put_value(&tsv, &cols[c], &v[c], tmpval, 1);
		any = 1;
	}
	PUT_LIT(&tsv, "\n");
}

static int inf_armed; /* our LOAD DATA is running: the only time data is served */

static int
inf_init(void **ptr, const char *name, void *userdata)
{
	struct infile *f = userdata;

	*ptr = f;
	if (!inf_armed)
		return 1; /* a server asking for a file on its own gets nothing */

	f->row = 0;
	f->pos = 0;
	tsv.len = 0;
	return 0;
}

static int
inf_read(void *ptr, char *buf, unsigned int n)
{
	struct infile *f = ptr;
	size_t k;

	if (f->pos == tsv.len) {
		tsv.len = f->pos = 0;
		while (f->row < nrows && tsv.len < n) {
			if (!rows[f->row].dead && !rows[f->row].rejected)
				encode_row(f->row);
			f->row++;
		}
	}
	k = tsv.len - f->pos;
	if (k > n)
		k = n;
	memcpy(buf, tsv.p + f->pos, k);
	f->pos += k;
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

static enum attempt attempt_batch(void);
static struct infile infile;

/* Every connection gets our handler: LOCAL INFILE can only ever read the
 * batch, never a file the server names. */
static MYSQL *
connect_db(char *err, size_t errlen)
{
	MYSQL *m = my_connect(&opt.my, err, errlen);

	if (m)
		mysql_set_local_infile_handler(m, inf_init, inf_read, inf_end, inf_error, &infile);
	return m;
}

/*
 * The batch as one LOAD DATA LOCAL ... REPLACE, the server's fastest load
 * path, fed from memory. LOCAL turns data errors into warnings (the server
 * cannot stop the client mid-file), so any warning sends the batch back,
 * rolled back, to be found row by row with REPLACE statements, which fail
 * properly.
 */
static enum attempt
attempt_infile(void)
{
	enum attempt a;
	int first = 1;

	sql.len = 0;
	PUT_LIT(&sql, "LOAD DATA LOCAL INFILE 'batch' REPLACE INTO TABLE ");
	my_put_ident(&sql, opt.table, strlen(opt.table));
	PUT_LIT(&sql, " CHARACTER SET utf8mb4 FIELDS TERMINATED BY '\\t' ESCAPED BY '\\\\' "
	              "LINES TERMINATED BY '\\n' (");
	for (int c = 0; c < ncols; c++) {
		if (!cols[c].used)
			continue;
		if (!first)
			PUT_LIT(&sql, ",");
		my_put_ident(&sql, cols[c].name, cols[c].nlen);
		first = 0;
	}
	PUT_LIT(&sql, ")");
	inf_armed = 1;
	a = run(sql.p, sql.len);
	inf_armed = 0;
	if (a == AT_FATAL && (last_errno == ER_NOT_ALLOWED_COMMAND || last_errno == 4166)) {
		diag_info("the server refuses LOAD DATA LOCAL (%s): using REPLACE statements",
		          last_error);
		use_infile = 0;
		mysql_rollback(db);
		return attempt_batch();
	}
	if (a == AT_OK && mysql_warning_count(db) > 0) {
		snprintf(last_error, sizeof(last_error), "LOAD DATA reported %u warnings",
		         mysql_warning_count(db));
		a = AT_ROWERR;
	}
	return end_tx(a);
}

/*
 * Row by row, to find the rows the server refuses: each refused row follows
 * the policy (rejected, or the batch ends before it), the rest is committed.
 */
static enum attempt
attempt_rows(void)
{
	for (size_t r = 0; r < nrows; r++) {
		enum attempt a;
		if (rows[r].dead || rows[r].rejected)
			continue;
		sql.len = 0;
		put_head(&sql);
		put_tuple(&sql, r);
		put_tail(&sql);
		a = run(sql.p, sql.len);
		if (a == AT_ROWERR) {
			char why[600];
			snprintf(why, sizeof(why), "MySQL error %u: %s", last_errno, last_error);
			if (bad_row(&rows[r], why) < 0) {
				nrows = r;
				stop_bad = 1;
				break;
			}
			rows[r].rejected = 1;
			n_rejected_db++;
			continue;
		}
		if (a != AT_OK)
			return end_tx(a);
	}
	return end_tx(AT_OK);
}

static size_t
live_rows(void)
{
	size_t n = 0;
	for (size_t r = 0; r < nrows; r++)
		n += !rows[r].dead && !rows[r].rejected;
	return n;
}

/* Connects if needed, with the same retries as a batch. */
static int
ensure_db(int64_t *backoff, int *attempts)
{
	char err[512];

	while (!db) {
		if ((db = connect_db(err, sizeof(err))) != NULL)
			break;
		if (*attempts >= opt.retries || sig_stop > 0) {
			diag_error("cannot connect to MySQL: %s", err);
			return -1;
		}
		diag_warn("cannot connect to MySQL, retrying in %lld ms: %s", (long long)*backoff, err);
		sleep_ms(*backoff);
		*backoff = *backoff * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : *backoff * 2;
		(*attempts)++;
		n_retries++;
	}
	return 0;
}

/* After a failure worth retrying (last_error): gives up (-1, said) when the
 * retries are used up, else says so, waits the backoff and doubles it. */
static int
retry_wait(int64_t *backoff, int *attempts, const char *what)
{
	if (*attempts >= opt.retries) {
		diag_error("giving up after %d retries: %s", *attempts, last_error);
		return -1;
	}
	diag_warn("%s; retrying%s in %lld ms", last_error, what, (long long)*backoff);
	sleep_ms(*backoff);
	*backoff = *backoff * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : *backoff * 2;
	(*attempts)++;
	n_retries++;
	return 0;
}

/* Writes the batch; on return it is committed (or the run has failed). */
static void
flush_batch(void)
{
	int64_t backoff = opt.backoff_ms;
	int attempts = 0, by_rows = 0;
	size_t vcap;

	if ((nrows == 0 && !ck_pending) || failed)
		return;
	if (!have_table && nrows > 0) {
		int t = opt.dry_run ? 0 : load_table();
		if (t < 0) {
			failed = 1;
			return;
		}
		if (t == 0) {
			if (opt.no_create) {
				diag_error("table '%s' does not exist (--no-create)", opt.table);
				failed = 1;
				return;
			}
			int c;
			while ((c = create_table()) == -2)
				if (retry_wait(&backoff, &attempts, "") < 0 || ensure_db(&backoff, &attempts) < 0)
					break;
			if (c < 0) {
				failed = 1;
				return;
			}
		}
	}
	double t0 = tm_mono_s();
	vcap = nrows * (size_t)ncols;
	vals = realloc(vals, (vcap ? vcap : 1) * sizeof(*vals));
	if (!vals)
		diag_die(DIAG_EX_FAIL, "out of memory");
	scan_batch();
	for (;;) {
		enum attempt a;
		if (!opt.dry_run && ensure_db(&backoff, &attempts) < 0) {
			failed = 1;
			break;
		}
		if (by_rows)
			a = attempt_rows();
		else if (use_infile && uniform && !opt.upsert && !opt.dry_run && nrows > 0)
			a = attempt_infile();
		else
			a = attempt_batch();
		if (a == AT_OK)
			break;
		if (a == AT_ROWERR && !by_rows) {
			by_rows = 1;
			continue;
		}
		if (a == AT_FATAL || a == AT_ROWERR) {
			if (last_errno)
				diag_error("MySQL error %u: %s", last_errno, last_error);
			else
				diag_error("%s", last_error);
			failed = 1;
			break;
		}
		if (retry_wait(&backoff, &attempts, " the batch") < 0) {
			failed = 1;
			break;
		}
		/* A row-by-row attempt starts over (the server rolled it back);
		 * rows it refused stay rejected: they would be refused again. */
	}
	if (failed) {
		diag_error("%zu rows not committed", live_rows());
		return;
	}
	n_batches++;
	n_committed += live_rows();
	{
		double ms = (tm_mono_s() - t0) * 1000.0;
		commit_ms_sum += ms;
		commit_n++;
		if (ms > commit_ms_max)
			commit_ms_max = ms;
	}
	if (opt.tee) {
		for (size_t r = 0; r < nrows; r++) {
			if (rows[r].rejected)
				continue;
			out_write(arena.p + rows[r].off, rows[r].len);
			out_byte('\n');
			out_end_record();
		}
		out_flush();
	}
	n_rejected_db = 0;
	batch_clear();
	if (ck_pending) {
		ck_pending = 0;
		n_checkpoints++;
		if (opt.progress_file)
			write_progress_file();
	}
}

/* --stats: rows in, committed, the batch held and commit latency. */
static void
stats(void)
{
	if (!st_due())
		return;
	st_begin(n_read, n_committed, rejects.count);
	st_u64("batches", n_batches);
	st_u64("retries", n_retries);
	st_u64("checkpoints", n_checkpoints);
	st_u64("pending", nrows);
	st_double("oldest_pending_ms", nrows ? (tm_mono_s() - first_row_at) * 1000.0 : 0.0);
	st_double("commit_ms_avg", commit_n ? commit_ms_sum / (double)commit_n : 0.0);
	st_double("commit_ms_max", commit_ms_max);
	st_end();
	commit_ms_sum = commit_ms_max = 0;
	commit_n = 0;
}

/* Input is idle: commit when the oldest row has waited long enough, else
 * wait for input at most until then (or until the next --stats line). */
static void
on_idle(const nd_reader *rd)
{
	out_flush();
	for (;;) {
		int wait_ms = st_wait_ms();
		stats();
		if (failed || sig_stop)
			return;
		if (nrows > 0 && !opt.pipeline) {
			double waited_ms = (tm_mono_s() - first_row_at) * 1000.0;
			if (waited_ms >= (double)opt.flush_ms) {
				flush_batch();
				continue;
			}
			int left = (int)((double)opt.flush_ms - waited_ms) + 1;
			if (wait_ms < 0 || left < wait_ms)
				wait_ms = left;
		} else if (wait_ms < 0) {
			return; /* nothing held, no statistics: block on input */
		}
		if (nd_wait(rd, wait_ms))
			return;
	}
}

/* A {"_checkpoint":{...}} record: with --pipeline, commits the batch and
 * the checkpoint together, then passes the record on under -T; without, it
 * is only passed on under -T (it is not a row). -1: a malformed record
 * under the stop policy. */
static int
barrier(const nd_rec *rec, const js_val *ck)
{
	cp_record cr;
	const char *why;
	char msg[300];

	if (!opt.pipeline) {
		if (opt.tee) {
			flush_batch(); /* -T keeps the order: the rows before it first */
			out_write(rec->text, rec->len);
			out_byte('\n');
			out_end_record();
		}
		return 0;
	}
	if (ck->type != JS_OBJ || cp_parse(ck->p, ck->n, &cr, &why) < 0) {
		snprintf(msg, sizeof(msg), "'_checkpoint': %s",
		         ck->type != JS_OBJ ? "not {\"id\":N,\"positions\":{...}}" : why);
		return rej_bad(&rejects, rec->file, rec->lineno, rec->text, rec->len, msg);
	}
	ck_pending = 1;
	ck_id = cr.id;
	ck_pos.len = 0; /* the positions as they came, for the progress table */
	my_buf_put(&ck_pos, cr.positions, cr.positions_len);
	cp_free(&cr);
	flush_batch();
	if (opt.tee && !failed) {
		out_write(rec->text, rec->len);
		out_byte('\n');
		out_end_record();
		out_flush();
	}
	return 0;
}

/* Reads one line into the batch; -1 when the policy says stop. */
static int
take(const nd_rec *rec, js_want *keywant)
{
	js_val kvs[2], kv;
	js_err err;
	char why[300];
	struct row *r;

	if (nd_scan(rec, keywant, kvs, &err, why, sizeof(why)) < 0)
		return rej_bad(&rejects, rec->file, rec->lineno, rec->text, rec->len, why);
	kv = kvs[0];
	if (keywant->n > 1 && kvs[1].type != JS_MISSING && kv.type == JS_MISSING)
		return barrier(rec, &kvs[1]);
	if (kv.type != JS_STR && kv.type != JS_NUM) {
		snprintf(why, sizeof(why), "key field '%s' is %s", opt.key,
		         kv.type == JS_MISSING ? "missing" : "not a string or number");
		return rej_bad(&rejects, rec->file, rec->lineno, rec->text, rec->len, why);
	}
	if (nrows == rows_cap) {
		rows_cap = rows_cap ? rows_cap * 2 : 1024;
		rows = realloc(rows, rows_cap * sizeof(*rows));
		if (!rows)
			diag_die(DIAG_EX_FAIL, "out of memory");
	}
	if (nrows == 0)
		first_row_at = tm_mono_s();
	r = &rows[nrows];
	r->off = arena.len;
	r->len = rec->len;
	my_buf_put(&arena, rec->text, rec->len);
	r->koff = arena.len;
	{
		const char *k;
		r->klen = js_text(&kv, tmpval, &k);
		my_buf_put(&arena, k, r->klen);
	}
	r->file = rec->file;
	r->lineno = rec->lineno;
	r->dead = r->rejected = 0;
	if (2 * (nrows + 1) > nslots)
		slots_grow();
	collapse(nrows++);
	return 0;
}

/* --last-checkpoint: {"id":N,"positions":{...}} of the pipeline, or
 * nothing when it has none. */
static int
print_last_checkpoint(void)
{
	struct my_buf q = {0};
	MYSQL_RES *res;
	MYSQL_ROW r;
	int status = DIAG_EX_OK;

	PUT_LIT(&q, "SELECT checkpoint_id, positions FROM " PROGRESS_TABLE " WHERE pipeline = ");
	my_put_str(&q, opt.pipeline, strlen(opt.pipeline));
	if (mysql_real_query(db, q.p, q.len) != 0) {
		if (mysql_errno(db) != ER_NO_SUCH_TABLE) {
			diag_error("cannot read table '" PROGRESS_TABLE "': %s", mysql_error(db));
			status = DIAG_EX_FAIL;
		}
	} else if ((res = mysql_store_result(db)) != NULL) {
		if ((r = mysql_fetch_row(res)) != NULL)
			printf("{\"id\":%s,\"positions\":%s}\n", r[0], r[1]);
		mysql_free_result(res);
	} else {
		diag_error("cannot read table '" PROGRESS_TABLE "': %s", mysql_error(db));
		status = DIAG_EX_FAIL;
	}
	my_buf_free(&q);
	mysql_close(db);
	mysql_library_end();
	if (fflush(stdout) != 0 || ferror(stdout)) {
		diag_error("cannot write to standard output: %s", strerror(errno));
		status = DIAG_EX_FAIL;
	}
	return status;
}

/* --pipeline, at the end: the rows after the last checkpoint record are
 * not committed, since no restart resumes from a cut after them (the
 * replay from the last committed checkpoint writes them again). Says so;
 * 1 when that is a failure: the input ended where no checkpoint did. */
static int
drop_tail(void)
{
	size_t n = failed ? 0 : live_rows();

	batch_clear();
	if (n == 0)
		return 0;
	if (sig_stop || stop_bad) {
		diag_warn("%zu rows after the last checkpoint record not committed (a restart from "
		          "the last committed checkpoint writes them again)",
		          n);
		return 0;
	}
	diag_error("%zu rows not committed: the input ended without a checkpoint record after "
	           "them (did winagg stop?); a restart from the last committed checkpoint writes "
	           "them again",
	           n);
	return 1;
}

int
main(int argc, char **argv)
{
	const char *keynames[2] = {NULL, "_checkpoint"};
	js_want keywant;
	nd_reader *rd;
	nd_rec rec;
	int rc, status = DIAG_EX_OK;
	char err[512];

	diag_init(argv[0]);
	diag_set_versions(my_versions);
	parse_opts(argc, argv);
	keynames[0] = opt.key;
	js_want_init(&keywant, keynames, strcmp(opt.key, "_checkpoint") == 0 ? 1 : 2);
	for (nslots = 16; nslots < 2 * (size_t)opt.batch; nslots *= 2)
		;
	slots = calloc(nslots, sizeof(*slots));
	tmpval = malloc(ND_LINE_MAX);
	if (!slots || !tmpval)
		diag_die(DIAG_EX_FAIL, "out of memory");
	if (rej_open(&rejects, opt.cc.rejects) < 0)
		diag_die(DIAG_EX_FAIL, "cannot open rejects file '%s': %s", opt.cc.rejects,
		         strerror(errno));
	if (!opt.dry_run) {
		/* A wrong password or host is an error now, before reading input. */
		if (!(db = connect_db(err, sizeof(err))))
			diag_die(DIAG_EX_FAIL, "cannot connect to MySQL: %s", err);
		if (opt.last_checkpoint) {
			int st = print_last_checkpoint();
			js_want_free(&keywant);
			rej_close(&rejects);
			free(slots);
			free(tmpval);
			return st;
		}
		int t = load_table();
		if (t == -2)
			exit(DIAG_EX_USAGE);
		if (t < 0)
			diag_die(DIAG_EX_FAIL, "cannot use table '%s'", opt.table);
		if (t == 0 && opt.no_create)
			diag_die(DIAG_EX_FAIL, "table '%s' does not exist (--no-create)", opt.table);
		if (opt.pipeline && mysql_query(db, "CREATE TABLE IF NOT EXISTS " PROGRESS_TABLE
		                                    " (pipeline VARCHAR(255) NOT NULL PRIMARY KEY,"
		                                    " checkpoint_id BIGINT NOT NULL, positions LONGTEXT"
		                                    " NOT NULL, committed_at DATETIME(3) NOT NULL)"
		                                    " ENGINE=InnoDB") != 0)
			diag_die(DIAG_EX_FAIL, "cannot create table '" PROGRESS_TABLE "': %s",
			         mysql_error(db));
	}
	sig_install(1);
	out_init(1, opt.cc.unbuffered);
	rd = nd_new(argv + optind, argc - optind);
	if (!rd)
		diag_die(DIAG_EX_FAIL, "out of memory");
	st_init(opt.cc.stats_ms);

	while (!sig_stop && !failed && !stop_bad && !out_failed() && (rc = nd_next_checked(rd, &rec)) != 0) {
		if (rc < 0) {
			status = DIAG_EX_FAIL;
			break;
		}
		if (rc == ND_IDLE) {
			on_idle(rd);
			continue;
		}
		n_read++;
		if (take(&rec, &keywant) < 0) {
			stop_bad = 1;
			break;
		}
		if (!opt.pipeline && ((long long)nrows >= opt.batch ||
		                      (tm_mono_s() - first_row_at) * 1000.0 >= (double)opt.flush_ms))
			flush_batch();
		if (opt.cc.stats_ms && (n_read & 1023) == 0)
			stats();
	}
	/* End of input, a signal, a bad row or a closed stdout: commit what is
	 * held; with --pipeline only a checkpoint record commits. */
	if (!opt.pipeline)
		flush_batch();
	else if (drop_tail() && status == DIAG_EX_OK)
		status = DIAG_EX_FAIL;
	if (rejects.failed || failed)
		status = DIAG_EX_FAIL;
	else if (stop_bad)
		status = DIAG_EX_BADINPUT;
	if (out_flush() < 0 && out_failed() != EPIPE) {
		diag_error("cannot write to standard output: %s", strerror(out_failed()));
		status = DIAG_EX_FAIL;
	}
	if (rej_finish(&rejects) < 0)
		status = DIAG_EX_FAIL;
	st_final();
	stats();
	diag_info("%llu rows read, %llu committed in %llu batches, %llu rejected, %llu retries, "
	          "%llu checkpoints",
	          (unsigned long long)n_read, (unsigned long long)n_committed,
	          (unsigned long long)n_batches, (unsigned long long)rejects.count,
	          (unsigned long long)n_retries, (unsigned long long)n_checkpoints);
	if (db)
		mysql_close(db);
	mysql_library_end();
	nd_free(rd);
	for (int i = 0; i < ncols; i++)
		free(cols[i].name);
	free(cols);
	if (have_table)
		js_want_free(&colwant);
	free(colnames);
	js_want_free(&keywant);
	free(vals);
	free(rows);
	free(slots);
	free(tmpval);
	my_buf_free(&arena);
	my_buf_free(&sql);
	my_buf_free(&tsv);
	my_buf_free(&ck_pos);
	out_free();
	st_free();
	return status;
}
