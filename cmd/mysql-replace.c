/*
 * mysql-replace: NDJSON rows into a MySQL/MariaDB table, REPLACE by key.
 *
 * Rows are read into a batch (common/bt: rows with the same key collapse to
 * the last), and a batch is written in one transaction (common/tx) when it
 * is full, when its oldest row has waited --flush-interval, at end of input
 * and on SIGINT/SIGTERM; under --pipeline only at a checkpoint record, which
 * commits with it (common/pg). The table is found or created from the first
 * batch (common/tb). Because REPLACE by key is idempotent, a batch whose
 * outcome is unknown is simply written again after reconnecting.
 *
 * This file is the program: options, the main loop, and the end of a batch:
 * table ready, rows checked against it (the bad-input policy), written,
 * counted, passed on under -T. A full batch is written on a thread of its
 * own while the next one is read and parsed (see "the writer" below).
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <termios.h>

#include "bt.h"
#include "cli.h"
#include "cp.h"
#include "diag.h"
#include "js.h"
#include "mem.h"
#include "my.h"
#include "nd.h"
#include "out.h"
#include "pg.h"
#include "rej.h"
#include "sig.h"
#include "st.h"
#include "tb.h"
#include "tm.h"
#include "tx.h"

#define USAGE "[-h HOST] [-P PORT] [-S SOCKET] [-u USER] [-D DATABASE] [-t TABLE] [OPTION]... [FILE]..."
#define DEFAULT_DATABASE "ordpipe"
#define DEFAULT_TABLE "order_agg"
#define DEFAULT_KEY "rowkey"
#define DEFAULT_BATCH 5000
#define DEFAULT_FLUSH "1s"
#define DEFAULT_RETRIES 10
#define DEFAULT_BACKOFF "500ms"

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
	OPT_EXPLAIN,
	OPT_UPDATED_AT,
	OPT_ADD_COLUMNS,
	OPT_NOT_NULL,
	OPT_VARCHAR,
	OPT_RETRIES,
	OPT_RETRY_BACKOFF,
	OPT_PIPELINE,
	OPT_LAST_CHECKPOINT,
	OPT_PROGRESS_FILE,
	OPT_SSL,
	OPT_SKIP_SSL,
	OPT_SSL_CA,
	OPT_SSL_CAPATH,
	OPT_SSL_CERT,
	OPT_SSL_KEY,
	OPT_SSL_CRL,
	OPT_SSL_CRLPATH,
	OPT_SSL_CIPHER,
	OPT_TLS_VERSION,
	OPT_SSL_VERIFY,
	OPT_SKIP_SSL_VERIFY,
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
	int ask_password;          /* -p alone: ask on the terminal */
	int explain;               /* --explain: the first batch's CREATE and statement, then exit */
	const char *updated_at;    /* --updated-at COLUMN */
	int add_columns;           /* --add-columns: a new field becomes a column */
	const char *not_null;      /* --not-null COL[,COL]: created NOT NULL */
	int varchar;               /* --varchar N: created text columns' length */
} opt;


/* The run: table, batches, progress, transactions, counters. */
static struct run {
	tb_table t;
	bt_batch bb[2];
	bt_batch *b; /* the batch being read; the other one may be being written */
	pg_state pg;
	tx_ctx x;
	rej rejects;
	int stop_bad; /* a bad row under the stop policy */
	int failed;   /* a failure that ends the run with status 1 */
	uint64_t n_read, n_committed, n_batches;
	uint64_t n_retries; /* run.x's, as of the last batch written */
	/* commit latency of batches since the last --stats line: from the
	 * first attempt to the COMMIT's answer, ms */
	double commit_ms_sum, commit_ms_max;
	uint64_t commit_n;
	int explained; /* --explain: said, stop reading */
	const char *tls_last; /* the last connection's TLS ("TLSv1.3 CIPHER"), NULL plain */
	char tls_buf[200];
} run;

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
	       "  -p, --password       ask for the password on the terminal (never a value)\n"
	       "      --ssl, --skip-ssl  require TLS (never fall back to plaintext) / no TLS\n"
	       "      --ssl-ca FILE, --ssl-capath DIR  the CA(s) to verify the server with\n"
	       "      --ssl-cert FILE, --ssl-key FILE  a client certificate (mutual TLS)\n"
	       "      --ssl-crl FILE, --ssl-crlpath DIR, --ssl-cipher LIST, --tls-version LIST\n"
	       "      --ssl-verify-server-cert  verify the certificate and host name (any TLS\n"
	       "                       option requires TLS; this also refuses a wrong CA or host)\n"
	       "      --skip-ssl-verify-server-cert  do not verify (an option file said to)\n"
	       "      --accept-collation  use an existing table whose key column's collation\n"
	       "                       may merge distinct keys ('SG' and 'sg')\n"
	       "  -t, --table NAME     table (default " DEFAULT_TABLE ")\n"
	       "  -k, --key FIELD      key field, the table's primary key (default " DEFAULT_KEY ")\n"
	       "      --no-create      refuse to create a missing table\n"
	       "      --ignore-unknown skip fields that have no column\n"
	       "      --add-columns    add a column for a field that has none (type inferred)\n"
	       "      --not-null COL[,COL]  a created table's columns that are NOT NULL (counts)\n"
	       "      --varchar N      a created table's text columns are VARCHAR(N) (default 255)\n"
	       "      --mode MODE      replace or upsert (INSERT ... ON DUPLICATE KEY UPDATE)\n"
	       "      --batch N        rows per transaction (default %d)\n"
	       "      --flush-interval DUR  longest a row waits before commit (default " DEFAULT_FLUSH ")\n"
	       "      --retries N      attempts after a lost connection or deadlock (default %d)\n"
	       "      --retry-backoff DUR   first wait between attempts, doubling (default " DEFAULT_BACKOFF ")\n"
	       "  -T, --tee            write each row to stdout once committed\n"
	       "      --dry-run        print the SQL instead of running it\n"
	       "      --updated-at COLUMN  set COLUMN to the time of every write (created\n"
	       "                       DATETIME(3) NOT NULL)\n"
	       "      --explain        print the CREATE TABLE the first batch would make and the\n"
	       "                       statement's shape, then exit (no database)\n"
	       "      --pipeline NAME  commit each {\"_checkpoint\":...} record with the rows before it,\n"
	       "                       recording it in table " PG_TABLE " under NAME\n"
	       "      --last-checkpoint  print NAME's last committed checkpoint and exit\n"
	       "      --progress-file FILE  after each commit of a checkpoint, write it to FILE\n"
	       "                       (for winagg: FILE is its checkpoint DIR/committed)\n"
	       "      --rejects FILE   append bad rows to FILE and go on\n"
	       "  -q, --quiet          no notices or warnings\n"
	       "      --stats DUR      a JSON line of counters on stderr every DUR\n"
	       "      --stats-file FILE those lines to FILE (appended) instead; alone, the final one\n"
	       "      --metrics FILE   the same values for Prometheus (textfile), each period\n"
	       "  -v, --verbose        counters at exit\n"
	       "      --unbuffered     with -T, flush each row\n"
	       "      --help           this help\n"
	       "  -V, --version        versions of mysql-replace and its libraries\n\n"
	       "Exit status: 0 every row committed (or rejected with --rejects), 1 a runtime\n"
	       "failure (rows not committed are counted), 2 usage error, 3 stopped at a bad row.\n",
	       DEFAULT_BATCH, DEFAULT_RETRIES);
}

/* -p: the password, asked on the terminal (not standard input: that is
 * the rows) with echo off, as the mariadb client asks. */
static void
ask_password(void)
{
	static char pw[512];
	struct termios old, quiet;
	FILE *tty = fopen("/dev/tty", "r+");
	size_t n;
	int echo_off;

	if (!tty)
		cli_usage_error(USAGE, "-p: no terminal to ask for the password on: put password= in an "
		                       "option file or set MYSQL_PWD");
	/* echo off before the prompt: what is typed after it is never shown */
	echo_off = tcgetattr(fileno(tty), &old) == 0;
	if (echo_off) {
		quiet = old;
		quiet.c_lflag &= ~(tcflag_t)ECHO;
		tcsetattr(fileno(tty), TCSANOW, &quiet);
	}
	fputs("Enter password: ", tty);
	fflush(tty);
	if (!fgets(pw, sizeof(pw), tty))
		pw[0] = '\0';
	if (echo_off)
		tcsetattr(fileno(tty), TCSANOW, &old);
	fputs("\n", tty);
	fclose(tty);
	n = strlen(pw);
	while (n > 0 && (pw[n - 1] == '\n' || pw[n - 1] == '\r'))
		pw[--n] = '\0';
	opt.my.password = pw;
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
	    {"stats-file", required_argument, NULL, CLI_OPT_STATS_FILE},
	    {"metrics", required_argument, NULL, CLI_OPT_METRICS},
	    {"host", required_argument, NULL, 'h'},
	    {"port", required_argument, NULL, 'P'},
	    {"socket", required_argument, NULL, 'S'},
	    {"user", required_argument, NULL, 'u'},
	    {"database", required_argument, NULL, 'D'},
	    {"defaults-file", required_argument, NULL, OPT_DEFAULTS_FILE},
	    {"accept-collation", no_argument, NULL, OPT_ACCEPT_COLLATION},
	    {"password", optional_argument, NULL, OPT_PASSWORD},
	    {"ssl", no_argument, NULL, OPT_SSL},
	    {"skip-ssl", no_argument, NULL, OPT_SKIP_SSL},
	    {"ssl-ca", required_argument, NULL, OPT_SSL_CA},
	    {"ssl-capath", required_argument, NULL, OPT_SSL_CAPATH},
	    {"ssl-cert", required_argument, NULL, OPT_SSL_CERT},
	    {"ssl-key", required_argument, NULL, OPT_SSL_KEY},
	    {"ssl-crl", required_argument, NULL, OPT_SSL_CRL},
	    {"ssl-crlpath", required_argument, NULL, OPT_SSL_CRLPATH},
	    {"ssl-cipher", required_argument, NULL, OPT_SSL_CIPHER},
	    {"tls-version", required_argument, NULL, OPT_TLS_VERSION},
	    {"ssl-verify-server-cert", no_argument, NULL, OPT_SSL_VERIFY},
	    {"skip-ssl-verify-server-cert", no_argument, NULL, OPT_SKIP_SSL_VERIFY},
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
	    {"explain", no_argument, NULL, OPT_EXPLAIN},
	    {"updated-at", required_argument, NULL, OPT_UPDATED_AT},
	    {"add-columns", no_argument, NULL, OPT_ADD_COLUMNS},
	    {"not-null", required_argument, NULL, OPT_NOT_NULL},
	    {"varchar", required_argument, NULL, OPT_VARCHAR},
	    {"pipeline", required_argument, NULL, OPT_PIPELINE},
	    {"last-checkpoint", no_argument, NULL, OPT_LAST_CHECKPOINT},
	    {"progress-file", required_argument, NULL, OPT_PROGRESS_FILE},
	    {NULL, 0, NULL, 0},
	};
	int c;

	opt.my.fallback_database = DEFAULT_DATABASE;
	opt.my.tls.ssl = opt.my.tls.verify = -1;
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
			if (optarg)
				cli_usage_error(USAGE, "a password is never taken on the command line (ps "
				                       "would show it): put password= in an option file "
				                       "([client] or [mysql-replace], --defaults-file FILE), "
				                       "set MYSQL_PWD, or give -p alone to be asked on the "
				                       "terminal");
			opt.ask_password = 1;
			break;
		case OPT_SSL: opt.my.tls.ssl = 1; break;
		case OPT_SKIP_SSL: opt.my.tls.ssl = 0; break;
		case OPT_SSL_CA: opt.my.tls.ca = optarg; break;
		case OPT_SSL_CAPATH: opt.my.tls.capath = optarg; break;
		case OPT_SSL_CERT: opt.my.tls.cert = optarg; break;
		case OPT_SSL_KEY: opt.my.tls.key = optarg; break;
		case OPT_SSL_CRL: opt.my.tls.crl = optarg; break;
		case OPT_SSL_CRLPATH: opt.my.tls.crlpath = optarg; break;
		case OPT_SSL_CIPHER: opt.my.tls.cipher = optarg; break;
		case OPT_TLS_VERSION: opt.my.tls.version = optarg; break;
		case OPT_SSL_VERIFY: opt.my.tls.verify = 1; break;
		case OPT_SKIP_SSL_VERIFY: opt.my.tls.verify = 0; break;
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
		case OPT_EXPLAIN: opt.explain = opt.dry_run = 1; break;
		case OPT_UPDATED_AT: opt.updated_at = optarg; break;
		case OPT_ADD_COLUMNS: opt.add_columns = 1; break;
		case OPT_NOT_NULL:
			if (!*optarg || optarg[0] == ',' || strstr(optarg, ",,") ||
			    optarg[strlen(optarg) - 1] == ',')
				cli_usage_error(USAGE, "--not-null: a comma-separated list of columns");
			opt.not_null = optarg;
			break;
		case OPT_VARCHAR:
			opt.varchar = (int)cli_num(USAGE, "--varchar", optarg, 1, TB_VARCHAR_MAX);
			break;
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
	if (!*opt.table || strlen(opt.table) > TB_NAME_MAX)
		cli_usage_error(USAGE, "-t: a table name is 1 to %d bytes", TB_NAME_MAX);
	if (strcasecmp(opt.table, PG_TABLE) == 0)
		cli_usage_error(USAGE, "-t: '%s' is the progress table of --pipeline, not a table "
		                       "for rows", opt.table);
	if (!*opt.key || strlen(opt.key) > TB_NAME_MAX)
		cli_usage_error(USAGE, "-k: a key name is 1 to %d bytes", TB_NAME_MAX);
	if (opt.updated_at && (!*opt.updated_at || strlen(opt.updated_at) > TB_NAME_MAX ||
	                       strcasecmp(opt.updated_at, opt.key) == 0))
		cli_usage_error(USAGE, "--updated-at: a column name of 1 to %d bytes, not the key",
		                TB_NAME_MAX);
	if (opt.add_columns && opt.ignore_unknown)
		cli_usage_error(USAGE, "--add-columns and --ignore-unknown do not go together");
	if (opt.dry_run && opt.tee)
		cli_usage_error(USAGE, "--dry-run and --tee do not go together");
	if (opt.last_checkpoint && !opt.pipeline)
		cli_usage_error(USAGE, "--last-checkpoint needs --pipeline NAME");
	if (opt.progress_file && !opt.pipeline)
		cli_usage_error(USAGE, "--progress-file needs --pipeline NAME");
	if (opt.last_checkpoint && opt.dry_run)
		cli_usage_error(USAGE, "--last-checkpoint and --dry-run (or --explain) do not go together");
	{
		char why[600];
		if (my_prepare(&opt.my, why, sizeof(why)) < 0)
			diag_die(DIAG_EX_USAGE, "%s", why);
	}
}

/* ---- the end of a batch ---- */

/* CREATE TABLE from the fields of the batch's rows, retried like a batch
 * when the connection is lost. 0, or -1 (said). */
static int
create_table(void)
{
	struct buf q = {0};
	int64_t backoff = opt.backoff_ms;
	int attempts = 0, rc = 0;

	for (;;) {
		enum tx_verdict v = TX_OK;
		for (size_t r = 0; r < run.b->n; r++)
			if (!run.b->rows[r].dead && !run.b->rows[r].del) /* a delete has only the key */
				tb_see(&run.t, run.b->arena.p + run.b->rows[r].off, run.b->rows[r].len);
		if (tb_create_sql(&run.t, run.x.db ? my_binary_collation(run.x.db) : "utf8mb4_nopad_bin",
		                  &q) < 0) {
			diag_error("cannot create table '%s': %s", opt.table, run.t.err);
			rc = -1;
			break;
		}
		if (opt.dry_run) {
			out_write(q.p, q.len);
			out_write(";\n", 2);
		} else if ((v = tx_run_ddl(&run.x, &q)) == TX_OK) {
			buf_putc(&q, '\0');
			diag_warn("created table %s", q.p + sizeof("CREATE TABLE IF NOT EXISTS ") - 1);
		}
		if (v == TX_OK)
			break;
		tb_reset(&run.t);
		if (v == TX_FATAL) {
			diag_error("cannot create table '%s': %s", opt.table, run.x.last_error);
			rc = -1;
			break;
		}
		/* the connection was lost: reconnect and try again, as for a batch */
		{
			char why[sizeof(run.x.last_error)];
			snprintf(why, sizeof(why), "%s", run.x.last_error);
			snprintf(run.x.last_error, sizeof(run.x.last_error), "cannot create table '%s': %.400s",
			         opt.table, why);
		}
		if (tx_retry_wait(&run.x, &backoff, &attempts, "") < 0 ||
		    tx_ensure(&run.x, &backoff, &attempts) < 0) {
			rc = -1;
			break;
		}
	}
	buf_free(&q);
	return rc;
}

/* Both batches scan their rows against the table's columns: the one being
 * flushed, and the other, empty (no write is in flight at a flush's start). */
static void
bind_both(void)
{
	bt_bind(&run.bb[0], &run.t);
	bt_bind(&run.bb[1], &run.t);
}

/* The table, at the first batch: the one that exists (someone may have
 * created it since the start), or one made for the batch's rows. Then the
 * batch scans its rows against the columns. 0, or -1 (said). */
static int
ensure_table(void)
{
	int k;

	if (run.t.ready)
		return 0;
	k = opt.dry_run ? 0 : tb_load(&run.t, run.x.db, opt.accept_collation);
	if (k < 0) {
		diag_error("%s", run.t.err);
		return -1;
	}
	if (k == 0 && opt.no_create) {
		diag_error("table '%s' does not exist (--no-create)", opt.table);
		return -1;
	}
	if (k == 0 && bt_deletes(run.b) == bt_live(run.b)) {
		/* deletes only, and no table: nothing to delete (the table is
		 * made by the first batch with rows) */
		run.n_committed += bt_deletes(run.b);
		bt_drop_deletes(run.b);
		return 0;
	}
	if (k == 0 && create_table() < 0)
		return -1;
	bind_both();
	return 0;
}

/* --add-columns: the fields of the batch's rows that have no column become
 * columns (ALTER TABLE, types inferred as for a new table), and the batch is
 * scanned again against them. 0, or -1 (said). */
static int
add_columns(void)
{
	bt_batch *b = run.b;
	struct buf q = {0};
	int before = run.t.ncols, n;
	enum tx_verdict v = TX_OK;

	for (size_t r = 0; r < b->n; r++) {
		const js_val *vals = bt_vals(b, r);
		unsigned found = 0;
		if (!bt_is_upsert(b, r))
			continue;
		for (int c = 0; c < run.t.ncols; c++)
			found += vals[c].type != JS_MISSING;
		if (b->rows[r].members > found) /* an unknown field, or a repeated one */
			tb_see(&run.t, b->arena.p + b->rows[r].off, b->rows[r].len);
	}
	if ((n = tb_add_sql(&run.t, run.x.db ? my_binary_collation(run.x.db) : "utf8mb4_nopad_bin", &q)) == 0) {
		buf_free(&q);
		return 0;
	}
	if (opt.dry_run) {
		out_write(q.p, q.len);
		out_write(";\n", 2);
	} else if ((v = tx_run_ddl(&run.x, &q)) != TX_OK) {
		diag_error("cannot add columns to table '%s': %s", opt.table, run.x.last_error);
		tb_truncate(&run.t, before);
		buf_free(&q);
		return -1;
	} else {
		buf_putc(&q, '\0');
		diag_warn("altered table: %s", q.p + sizeof("ALTER TABLE ") - 1);
	}
	buf_free(&q);
	bind_both();
	return 0;
}

/* Checks the live rows against the columns: a row that cannot be written
 * follows the bad-input policy, rejected or (stop policy) the batch ends
 * before it. */
static void
check_rows(void)
{
	bt_batch *b = run.b;
	char why[400];

	for (int c = 0; c < run.t.ncols; c++)
		run.t.cols[c].used = c == run.t.keycol;
	bt_resolve(b);
	for (size_t r = 0; r < b->n; r++) {
		const bt_row *rw = &b->rows[r];
		if (!bt_is_upsert(b, r))
			continue; /* a delete needs only its key */
		if (run.t.stampcol >= 0 && bt_vals(b, r)[run.t.stampcol].type != JS_MISSING)
			snprintf(why, sizeof(why), "field '%s' is the --updated-at column (mysql-replace sets it)",
			         opt.updated_at);
		else if (!bt_check(b, &run.t, r, opt.ignore_unknown, why, sizeof(why)))
			continue;
		if (rej_bad(&run.rejects, rw->file, rw->lineno, b->arena.p + rw->off, rw->len, why) < 0) {
			bt_truncate(b, r);
			run.stop_bad = 1;
			return;
		}
		b->rows[r].rejected = 1;
	}
}

/* ---- the writer ----
 *
 * A batch is written (tx_write: the LOAD DATA or statements, the COMMIT, the
 * retries) on a thread while the main thread reads and parses the next one,
 * so that the client's work overlaps the server's. One write at a time and
 * in order: a flush first waits for the write before it. While a write is
 * in flight the writer owns run.x (the connection) and the batch it writes;
 * the main thread owns everything else: the table, the rejects file, the
 * output, the counters, which it updates when it takes the outcome. Rows the
 * server refuses are found row by row back on the main thread. The writer
 * takes no signals (they interrupt the main thread's read); its waits end
 * early on sig_stop.
 */
static struct flight {
	pthread_t th;
	int on;        /* a write is in flight */
	bt_batch *b;   /* the batch written */
	int rc;        /* tx_write's answer */
	double t0, t1; /* when the batch's write began (its checks included), ended */
} fl;

static void *
writer(void *arg)
{
	mysql_thread_init();
	fl.rc = tx_write(&run.x, TX_WHOLE);
	fl.t1 = tm_mono_s();
	mysql_thread_end();
	return NULL;
}

/* The outcome of the write of b (rc as tx_write's, begun at t0, ended at
 * t1): counted, passed on under -T, b emptied; a batch with a refused row
 * is written again row by row. */
static void
written(bt_batch *b, int rc, double t0, double t1)
{
	double ms;

	if (rc == 1) {
		rc = tx_write(&run.x, TX_BY_ROWS);
		t1 = tm_mono_s();
	}
	run.n_retries = run.x.n_retries;
	if (rc < 0) {
		run.failed = 1;
		diag_error("%zu rows not committed", bt_live(b) + (run.b != b ? bt_live(run.b) : 0));
		bt_clear(b);
		return;
	}
	run.stop_bad |= run.x.stop_bad;
	run.n_batches++;
	run.n_committed += bt_live(b);
	ms = (t1 - t0) * 1000.0;
	run.commit_ms_sum += ms;
	run.commit_n++;
	if (ms > run.commit_ms_max)
		run.commit_ms_max = ms;
	if (opt.tee) {
		for (size_t r = 0; r < b->n; r++) {
			if (b->rows[r].rejected)
				continue;
			out_write(b->arena.p + b->rows[r].off, b->rows[r].len);
			out_byte('\n');
			out_end_record();
		}
		out_flush();
	}
	bt_clear(b);
	pg_committed(&run.pg);
}

/* Waits for the write in flight, if any, and takes its outcome. The time
 * waited is the "commit" phase of --stats: the server's, not hidden. */
static void
write_wait(void)
{
	enum st_phase was;

	if (!fl.on)
		return;
	was = st_enter(ST_COMMIT);
	pthread_join(fl.th, NULL);
	st_enter(was);
	fl.on = 0;
	written(fl.b, fl.rc, fl.t0, fl.t1);
}

/* Starts the write of the checked batch run.b, and reads into the other
 * one; or writes it here (--dry-run prints from tx; a thread it cannot
 * start). */
static void
write_start(double t0)
{
	sigset_t block, was;
	bt_batch *b = run.b;
	int k;

	run.x.b = b;
	if (!opt.dry_run) {
		sigemptyset(&block);
		sigaddset(&block, SIGINT);
		sigaddset(&block, SIGTERM);
		pthread_sigmask(SIG_BLOCK, &block, &was);
		fl = (struct flight){.b = b, .t0 = t0};
		k = pthread_create(&fl.th, NULL, writer, NULL);
		pthread_sigmask(SIG_SETMASK, &was, NULL);
		if (k == 0) {
			fl.on = 1;
			run.b = b == &run.bb[0] ? &run.bb[1] : &run.bb[0];
			return;
		}
	}
	k = tx_write(&run.x, TX_ANY);
	written(b, k, t0, tm_mono_s());
}

enum { FLUSH_START, FLUSH_WAIT };

/* Writes the batch being read: FLUSH_WAIT returns with it committed (or the
 * run failed); FLUSH_START may return with the write in flight. */
static void
flush_batch(int how)
{
	bt_batch *b;
	double t0;

	/* its rows in key order, while the server still writes the batch
	 * before (LOAD DATA then sends them so, at no cost to the server) */
	if (run.t.ready && run.t.keybytes && !opt.dry_run && run.b->n > 1)
		bt_sort_keys(run.b);
	write_wait();
	b = run.b;
	if (run.x.stop_bad) {
		/* the write before ended at a refused row (stop policy): these
		 * rows come after it, and are not written, as if not read */
		bt_clear(b);
		return;
	}
	if ((b->n == 0 && !run.pg.pending) || run.failed)
		return;
	if (b->n > 0 && ensure_table() < 0) {
		run.failed = 1;
		return;
	}
	t0 = tm_mono_s();
	if (opt.add_columns && b->n > 0 && add_columns() < 0) {
		run.failed = 1;
		return;
	}
	check_rows();
	if (opt.explain) {
		run.x.b = b;
		tx_explain(&run.x);
		run.explained = 1;
		bt_clear(b);
		return;
	}
	write_start(t0);
	if (how == FLUSH_WAIT)
		write_wait();
}

/* --stats: rows in, committed, the batch held and commit latency. */
static void
stats(void)
{
	if (!st_due())
		return;
	st_begin(run.n_read, run.n_committed, run.rejects.count);
	st_u64("batches", run.n_batches);
	st_u64("retries", run.n_retries);
	st_u64("checkpoints", run.pg.committed);
	{
		/* held: the batch being read, and the one being written */
		const bt_batch *old = fl.on ? fl.b : run.b;
		size_t n = run.b->n + (fl.on ? fl.b->n : 0);
		st_gauge("pending", n);
		st_double("oldest_pending_ms", n ? (tm_mono_s() - old->first_at) * 1000.0 : 0.0);
	}
	st_double("commit_ms_avg", run.commit_n ? run.commit_ms_sum / (double)run.commit_n : 0.0);
	st_double("commit_ms_max", run.commit_ms_max);
	if (opt.pipeline) {
		/* end to end: the newest event behind what is committed */
		int64_t now = tm_wall_ms();
		st_time("event_time_committed", run.pg.has_event, run.pg.event_ms);
		if (run.pg.has_event)
			st_double("event_delay_ms", (double)(now - run.pg.event_ms));
		else
			st_str("event_delay_ms", NULL);
	}
	if (!opt.dry_run) {
		char tls[200];
		/* the writer's connection is its own while a write is in flight */
		st_str("tls", !fl.on && run.x.db ? my_tls_info(run.x.db, tls, sizeof(tls)) : run.tls_last);
	}
	st_end();
	run.commit_ms_sum = run.commit_ms_max = 0;
	run.commit_n = 0;
}

/* Input is idle: commit when the oldest row has waited long enough, else
 * wait for input at most until then (or until the next --stats line). */
static void
on_idle(const nd_reader *rd)
{
	write_wait(); /* nothing to read meanwhile: the outcome now */
	out_flush();
	for (;;) {
		int wait_ms = st_wait_ms();
		stats();
		if (run.failed || sig_stop)
			return;
		if (run.b->n > 0 && !opt.pipeline) {
			double waited_ms = (tm_mono_s() - run.b->first_at) * 1000.0;
			if (waited_ms >= (double)opt.flush_ms) {
				flush_batch(FLUSH_WAIT);
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

/* ---- one input line ---- */

static void
pass_on(const nd_rec *rec)
{
	out_write(rec->text, rec->len);
	out_byte('\n');
	out_end_record();
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
			flush_batch(FLUSH_WAIT); /* -T keeps the order: the rows before it first */
			pass_on(rec);
		}
		return 0;
	}
	if (ck->type != JS_OBJ || cp_parse(ck->p, ck->n, &cr, &why) < 0) {
		snprintf(msg, sizeof(msg), "'_checkpoint': %s",
		         ck->type != JS_OBJ ? "not {\"id\":N,\"positions\":{...}}" : why);
		return rej_bad(&run.rejects, rec->file, rec->lineno, rec->text, rec->len, msg);
	}
	write_wait(); /* the checkpoint before is committed first */
	pg_set(&run.pg, &cr);
	cp_free(&cr);
	flush_batch(opt.tee ? FLUSH_WAIT : FLUSH_START);
	if (opt.tee && !run.failed) {
		pass_on(rec);
		out_flush();
	}
	return 0;
}

/* Reads one line into the batch; -1 when the policy says stop. */
static int
take(const nd_rec *rec)
{
	js_val ck;
	char why[300];

	switch (bt_take(run.b, rec, &ck, why, sizeof(why))) {
	case BT_ROW: return 0;
	case BT_CHECKPOINT: return barrier(rec, &ck);
	default: return rej_bad(&run.rejects, rec->file, rec->lineno, rec->text, rec->len, why);
	}
}

/* --pipeline, at the end: the rows after the last checkpoint record are
 * not committed, since no restart resumes from a cut after them (the
 * replay from the last committed checkpoint writes them again). Says so;
 * 1 when that is a failure: the input ended where no checkpoint did. */
static int
drop_tail(void)
{
	size_t n;

	write_wait();
	n = run.failed ? 0 : bt_live(run.b);
	bt_clear(run.b);
	if (n == 0)
		return 0;
	if (sig_stop || run.stop_bad) {
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

/* ---- the program ---- */

/* Before any input: the server is reachable, the table usable, the
 * progress table there. Exits on failure. */
static void
start_db(void)
{
	char err[512];
	int k;

	/* A wrong password or host is an error now, before reading input. */
	if (!(run.x.db = tx_connect(&run.x, err, sizeof(err))))
		diag_die(DIAG_EX_FAIL, "cannot connect to MySQL: %s", err);
	run.tls_last = my_tls_info(run.x.db, run.tls_buf, sizeof(run.tls_buf));
	if (opt.last_checkpoint)
		return;
	if ((k = tb_load(&run.t, run.x.db, opt.accept_collation)) < 0) {
		diag_error("%s", run.t.err);
		if (k == -2)
			exit(DIAG_EX_USAGE);
		diag_die(DIAG_EX_FAIL, "cannot use table '%s'", opt.table);
	}
	if (k == 0 && opt.no_create)
		diag_die(DIAG_EX_FAIL, "table '%s' does not exist (--no-create)", opt.table);
	if (k == 1)
		bind_both();
	if (opt.pipeline && pg_create_table(run.x.db, err, sizeof(err)) < 0)
		diag_die(DIAG_EX_FAIL, "%s", err);
}

static void
free_run(void)
{
	tx_free(&run.x);
	mysql_library_end();
	tb_free(&run.t);
	bt_free(&run.bb[0]);
	bt_free(&run.bb[1]);
	pg_free(&run.pg);
	my_free(&opt.my);
}

int
main(int argc, char **argv)
{
	nd_reader *rd;
	nd_rec rec;
	int rc, status = DIAG_EX_OK;

	diag_init(argv[0]);
	diag_set_versions(my_versions);
	parse_opts(argc, argv);
	cli_done(&opt.cc, USAGE);
	if (opt.ask_password)
		ask_password(); /* after every usage check: nothing asked for in vain */
	tb_init(&run.t, opt.table, opt.key, opt.updated_at);
	run.t.notnull = opt.not_null;
	if (opt.varchar)
		run.t.varchar = opt.varchar;
	bt_init(&run.bb[0], opt.key, (size_t)opt.batch);
	bt_init(&run.bb[1], opt.key, (size_t)opt.batch);
	run.b = &run.bb[0];
	pg_init(&run.pg, opt.pipeline, opt.progress_file);
	run.x = (tx_ctx){.my = &opt.my, .t = &run.t, .b = run.b, .pg = &run.pg,
	                 .rejects = &run.rejects, .upsert = opt.upsert, .dry_run = opt.dry_run,
	                 .retries = opt.retries, .backoff_ms = opt.backoff_ms, .use_infile = 1};
	if (rej_open(&run.rejects, opt.cc.rejects) < 0)
		diag_die(DIAG_EX_FAIL, "cannot open rejects file '%s': %s", opt.cc.rejects,
		         strerror(errno));
	if (!opt.dry_run)
		start_db();
	if (opt.last_checkpoint) {
		status = pg_print_last(&run.pg, run.x.db);
		rej_close(&run.rejects);
		free_run();
		return status;
	}
	sig_install(1);
	out_init(1, opt.cc.unbuffered);
	rd = nd_new(argv + optind, argc - optind);
	if (st_start(opt.cc.stats_ms, opt.cc.stats_file, opt.cc.metrics, "parse",
	             1u << ST_READ | 1u << ST_WAIT | 1u << ST_COMMIT | (opt.tee ? 1u << ST_EMIT : 0)) < 0)
		diag_die(DIAG_EX_FAIL, "cannot open stats file '%s': %s", opt.cc.stats_file, strerror(errno));

	while (!sig_stop && !run.failed && !run.stop_bad && !run.explained && !out_failed() &&
	       (rc = nd_next_checked(rd, &rec)) != 0) {
		if (rc < 0) {
			status = DIAG_EX_FAIL;
			break;
		}
		if (rc == ND_IDLE) {
			on_idle(rd);
			continue;
		}
		run.n_read++;
		if (take(&rec) < 0) {
			run.stop_bad = 1;
			break;
		}
		if ((!opt.pipeline || opt.explain) && ((long long)run.b->n >= opt.batch ||
		                      (tm_mono_s() - run.b->first_at) * 1000.0 >= (double)opt.flush_ms))
			flush_batch(FLUSH_START);
		if (opt.cc.stats_ms && (run.n_read & 1023) == 0)
			stats();
	}
	/* End of input, a signal, a bad row or a closed stdout: commit what is
	 * held; with --pipeline only a checkpoint record commits. */
	if (!opt.pipeline || opt.explain)
		flush_batch(FLUSH_WAIT);
	else if (drop_tail() && status == DIAG_EX_OK)
		status = DIAG_EX_FAIL;
	if (run.rejects.failed || run.failed)
		status = DIAG_EX_FAIL;
	else if (run.stop_bad)
		status = DIAG_EX_BADINPUT;
	if (out_flush() < 0 && out_failed() != EPIPE) {
		diag_error("cannot write to standard output: %s", strerror(out_failed()));
		status = DIAG_EX_FAIL;
	}
	if (rej_finish(&run.rejects) < 0)
		status = DIAG_EX_FAIL;
	st_final();
	stats();
	diag_info("%llu rows read, %llu committed in %llu batches, %llu rejected, %llu retries, "
	          "%llu checkpoints",
	          (unsigned long long)run.n_read, (unsigned long long)run.n_committed,
	          (unsigned long long)run.n_batches, (unsigned long long)run.rejects.count,
	          (unsigned long long)run.n_retries, (unsigned long long)run.pg.committed);
	if (!opt.dry_run)
		diag_info("connection %s", run.tls_last ? run.tls_last : "not encrypted (no TLS)");
	nd_free(rd);
	free_run();
	out_free();
	st_free();
	return status;
}
