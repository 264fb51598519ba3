/*
 * winagg: event-time window aggregation with Spark Structured Streaming's
 * semantics, as a Unix filter (NDJSON rows in, NDJSON aggregate rows out).
 *
 * The model (winagg(1), ordpipe(7) WINDOW SEMANTICS): input is cut into
 * micro-batches (input drained, --trigger-rows, --trigger-interval, end of
 * input). Batch N runs with watermark wm_N; a (row, window) pair is late iff
 * window_end <= wm_N. After the batch: output by mode, eviction of every
 * window with end <= wm_N, then wm_{N+1} = max(wm_N, max event time - delay).
 * End of input sets the watermark to +infinity. Rows that carry their
 * partition ("_pos") are judged by their own partition instead, and
 * windows close by the least watermark of the partitions (common/pt).
 *
 * This file is the program: options, a row's way into the state, the end of
 * a batch, output and the main loop. The state is common/ws (with the
 * aggregates of common/ag), the partitions common/pt, the snapshots
 * common/sn.
 */
#include <errno.h>
#include <getopt.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ag.h"
#include "cli.h"
#include "dd.h"
#include "diag.h"
#include "hs.h"
#include "js.h"
#include "mem.h"
#include "nd.h"
#include "out.h"
#include "pn.h"
#include "pt.h"
#include "rej.h"
#include "rk.h"
#include "sig.h"
#include "sn.h"
#include "st.h"
#include "tm.h"
#include "ss.h"
#include "wr.h"
#include "ws.h"

#define USAGE "[-w DUR] [-s DUR] [-W DUR] [-m MODE] [-g LIST] [-a NAME=FUNC(FIELD)]... [FILE]..."
#define MAX_GROUP_FIELDS 64
/* Without --trigger-rows a batch also ends after this many rows (Spark's
 * maxOffsetsPerTrigger): a producer faster than winagg never lets the input
 * drain, and state could then not be evicted until end of input. */
#define BATCH_MAX_ROWS 100000
#define IDLE_TIMEOUT_MS 10000 /* --idle-timeout default */
#define CKPT_KEEP 10 /* snapshots kept: the sink may commit a few behind the newest */
#define CKPT_GAP_MIN 50 /* ms: --checkpoint-budget never snapshots more often */

enum mode { MODE_UPDATE, MODE_APPEND, MODE_COMPLETE };

/* The configuration: filled by parse_opts, then read-only. */
struct opts {
	int64_t size, slide, offset; /* ms */
	int64_t session;             /* --session GAP: ms, 0 windows */
	const char *gap_field;       /* --gap-field FIELD: a row's own gap */
	int gap_want;                /* its index in the wanted list */
	const char *time_field;
	int64_t unit_num, unit_den; /* numeric time * num / den = ms */
	wr_layout l;                 /* the output rows: group fields, aggregates */
	int gwant[WR_MAX_GROUP];     /* index of each group field in the wanted list */
	char *group_buf;
	size_t wpr; /* windows per row at most: ceil(window / slide) */
	int panes;  /* sliding windows kept as panes (common/pn) */
	int has_wm;
	int64_t delay; /* ms */
	enum mode mode;
	long long trigger_rows;   /* 0: off */
	int64_t trigger_interval; /* ms, 0: off */
	const char *late_path;
	char *dedup[MAX_GROUP_FIELDS]; /* --dedup fields */
	int ddwant[MAX_GROUP_FIELDS];  /* index of each in the wanted list */
	int ndedup;
	char *dedup_buf;
	const char *dup_path;          /* --dup FILE */
	const char *ckpt_dir;   /* --checkpoint DIR */
	int64_t ckpt_interval;  /* ms */
	double ckpt_budget;     /* --checkpoint-budget: percent of the time snapshots may take, 0 off */
	long long ckpt_keep;
	const char *restore;    /* --restore ID, "latest" or "committed" */
	int restore_info;
	int pos_want;           /* index of "_pos" in the wanted list */
	int64_t idle_ms;        /* --idle-timeout: caught-up ms before a quiet partition is idle, 0 never */
	struct cli_common cc;
};

static struct opts opt;

/* The run: state, partitions, snapshots, the batch in progress, counters. */
static struct run {
	ws_state ws;            /* windows, and the clock in both modes */
	ss_state ss;            /* --session: the sessions */
	pn_state pn;            /* opt.panes: the panes of open windows */
	uint64_t seq;           /* the next row's number (pn: a window's groups in order) */
	size_t pane_rows;       /* update mode with panes: windows the last batch changed */
	pt_set pt;
	dd_set dd;              /* --dedup keys */
	struct buf dkey;        /* the row's dedup key */
	struct rowin {          /* the row's values for the aggregates (row_inputs) */
		struct ag_num xs[WR_MAX_AGGS];
		uint64_t hv[WR_MAX_AGGS]; /* approx_count_distinct: the value's hash */
		int hvok[WR_MAX_AGGS];    /* ... 0 when null or missing */
		struct buf tx[WR_MAX_AGGS]; /* a value's canonical text, NUL-ended */
		int txok[WR_MAX_AGGS];      /* ... kept whole (count_distinct, first/last) */
	} in;
	ws_ent **ents;          /* opt.wpr of them: a row's windows' entries */
	int64_t *starts;        /* ... and starts (ms) */
	FILE *dup_fp;
	sn_dir sn;
	rej rejects;
	FILE *late_fp;
	js_want want;           /* members of a row */
	js_val *vals;           /* per wanted member (the row's: one of pre[]'s) */
	struct buf key;         /* the row's group key: its values' JSON texts, each NUL-ended */
	struct pre {            /* a row scanned ahead of the one before it (main) */
		nd_rec rec;
		js_val *vals;
		struct buf key;
		uint64_t kh;     /* the key's hash */
		int64_t t;       /* event time, when time_why is empty */
		int scan_bad;    /* nd_scan's reason in scan_why */
		char scan_why[200], time_why[160];
	} pre[2];
	char *unesc;            /* ND_LINE_MAX bytes: a group value decoded */
	char *cfg, *cfg_v2;     /* the configuration a snapshot must match */

	long long batch_rows;   /* rows in the batch in progress */
	double batch_t0;        /* monotonic s it began (--trigger-interval) */

	uint64_t rows_since_ckpt;
	uint64_t written_at_ckpt; /* n_written at the last checkpoint record */
	double ckpt_t0;           /* monotonic s of the last snapshot */

	/* counters for -v and --stats */
	uint64_t n_read, n_written, n_late_rows, n_late_pairs, n_batches;
	uint64_t late_at_batch, batch_late; /* late rows before this batch, in the last one */
	uint64_t n_retracted;               /* --session: deletes written */
	uint64_t n_late_closed; /* rows late only because their window had closed */
	uint64_t n_dups;        /* rows dropped as duplicates (--dedup) */
	/* event times of the rows since the last --stats line (Spark's eventTime) */
	int64_t et_min, et_max; /* ms */
	double et_sum;          /* ms */
	uint64_t et_n;
} run;

static void
help(void)
{
	printf("usage: winagg " USAGE "\n"
	       "Aggregate NDJSON rows over event-time windows (Spark Structured Streaming semantics).\n\n"
	       "  -w, --window DUR          window length (default 60s)\n"
	       "  -s, --slide DUR           slide; shorter than the window gives sliding windows\n"
	       "                            (default: the window, tumbling)\n"
	       "      --offset DUR          shift window starts from the epoch (|offset| < slide)\n"
	       "      --session GAP         session windows: a row at t is [t, t+GAP), merged with\n"
	       "                            the sessions of its group it overlaps or touches\n"
	       "      --gap-field FIELD     a row's own gap (a duration or ms), else GAP\n"
	       "  -t, --time-field NAME     event time field (default ts): RFC 3339 or epoch number\n"
	       "      --time-unit s|ms|us   unit of numeric times (default ms)\n"
	       "  -g, --group-by LIST       comma-separated group fields (default shopid,region)\n"
	       "  -a, --agg NAME=FUNC(FIELD)  aggregate: count, sum, min, max, avg, first, last\n"
	       "                            (by event time), count_distinct (exact),\n"
	       "                            approx_count_distinct(FIELD[,RSD]),\n"
	       "                            percentile_approx(FIELD,P[,ACCURACY]);\n"
	       "                            repeatable\n"
	       "                            (default -a orders=count -a items=sum(count))\n"
	       "  -W, --watermark DUR       allowed lateness behind the latest event time\n"
	       "  -m, --mode MODE           update (default), append (needs -W) or complete\n"
	       "      --trigger-rows N      end a micro-batch every N input rows\n"
	       "      --trigger-interval DUR  end a micro-batch at least every DUR of wall time\n"
	       "      --late FILE           append late rows (their original line) to FILE\n"
	       "      --dedup LIST          drop a row whose LIST fields were seen, until the\n"
	       "                            watermark passes the first one's time + the delay\n"
	       "      --dup FILE            append the dropped duplicates to FILE\n"
	       "      --idle-timeout DUR    rows with \"_pos\" (kcat-out --positions): a partition\n"
	       "                            quiet this long while winagg waits for input stops\n"
	       "                            holding windows open (default 10s; 0: never)\n"
	       "      --checkpoint DIR      snapshot the state and input positions into DIR at batch\n"
	       "                            ends, then write {\"_checkpoint\":{\"id\":N,...}} on stdout\n"
	       "      --checkpoint-interval DUR  a snapshot every DUR while rows come (default 1s)\n"
	       "      --checkpoint-budget PCT  snapshots sooner when they are cheap: as often as\n"
	       "                            takes PCT%% of the time (at most every 50ms)\n"
	       "      --checkpoint-keep N   snapshots kept in DIR (default 10), and all from the\n"
	       "                            one in DIR/committed on (mysql-replace --progress-file)\n"
	       "      --restore ID|latest|committed  start from snapshot ID of DIR (or an older\n"
	       "                            one if it is unusable); committed: the one DIR/committed\n"
	       "                            names (nothing committed: start empty)\n"
	       "      --restore-info        print the snapshot --restore would use and exit\n"
	       "      --rejects FILE        append bad records to FILE and go on\n"
	       "  -u, --unbuffered          flush after every output row\n"
	       "  -q, --quiet               no warnings\n"
	       "      --stats DUR           a JSON line of counters on stderr every DUR\n"
	       "      --stats-file FILE     those lines to FILE (appended) instead; alone, the final one\n"
	       "      --metrics FILE        the same values for Prometheus (textfile), each period\n"
	       "  -v, --verbose             counters on stderr at exit\n"
	       "  -h, --help                this help\n"
	       "  -V, --version             version of winagg and its libraries\n\n"
	       "DUR: a number with an optional unit ms, s, m, h, d (a bare number is seconds).\n"
	       "See winagg(1).\n");
}

enum { OPT_OFFSET = CLI_OPT_FIRST_PRIVATE, OPT_TIME_UNIT, OPT_TRIGGER_ROWS, OPT_TRIGGER_INTERVAL,
       OPT_LATE, OPT_CHECKPOINT, OPT_CHECKPOINT_INTERVAL, OPT_CHECKPOINT_KEEP, OPT_RESTORE,
       OPT_RESTORE_INFO, OPT_IDLE_TIMEOUT, OPT_DEDUP, OPT_DUP, OPT_SESSION, OPT_GAP_FIELD,
       OPT_CHECKPOINT_BUDGET };

static void
add_agg(const char *spec)
{
	char why[300];

	if (wr_add_agg(&opt.l, spec, why, sizeof(why)) < 0)
		cli_usage_error(USAGE, "%s", why);
}

static void
free_opts(void)
{
	wr_free(&opt.l);
	free(opt.group_buf);
	free(opt.dedup_buf);
}

static void
parse_opts(int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"window", required_argument, NULL, 'w'},
	    {"slide", required_argument, NULL, 's'},
	    {"offset", required_argument, NULL, OPT_OFFSET},
	    {"time-field", required_argument, NULL, 't'},
	    {"time-unit", required_argument, NULL, OPT_TIME_UNIT},
	    {"group-by", required_argument, NULL, 'g'},
	    {"agg", required_argument, NULL, 'a'},
	    {"watermark", required_argument, NULL, 'W'},
	    {"mode", required_argument, NULL, 'm'},
	    {"trigger-rows", required_argument, NULL, OPT_TRIGGER_ROWS},
	    {"trigger-interval", required_argument, NULL, OPT_TRIGGER_INTERVAL},
	    {"late", required_argument, NULL, OPT_LATE},
	    {"checkpoint", required_argument, NULL, OPT_CHECKPOINT},
	    {"checkpoint-interval", required_argument, NULL, OPT_CHECKPOINT_INTERVAL},
	    {"checkpoint-budget", required_argument, NULL, OPT_CHECKPOINT_BUDGET},
	    {"checkpoint-keep", required_argument, NULL, OPT_CHECKPOINT_KEEP},
	    {"restore", required_argument, NULL, OPT_RESTORE},
	    {"restore-info", no_argument, NULL, OPT_RESTORE_INFO},
	    {"idle-timeout", required_argument, NULL, OPT_IDLE_TIMEOUT},
	    {"dedup", required_argument, NULL, OPT_DEDUP},
	    {"session", required_argument, NULL, OPT_SESSION},
	    {"gap-field", required_argument, NULL, OPT_GAP_FIELD},
	    {"dup", required_argument, NULL, OPT_DUP},
	    CLI_LONGOPTS,
	    {NULL, 0, NULL, 0}};
	const char *group = "shopid,region", *mode = "update", *dedup = NULL;
	char *p, *tok, *save = NULL, why[300];
	int c, slide_set = 0, window_set = 0;

	opt.size = 60000;
	opt.ckpt_interval = 1000;
	opt.ckpt_keep = CKPT_KEEP;
	opt.idle_ms = IDLE_TIMEOUT_MS;
	opt.time_field = "ts";
	opt.unit_num = opt.unit_den = 1;
	while ((c = getopt_long(argc, argv, CLI_SHORTOPTS "w:s:t:g:a:W:m:", longopts, NULL)) != -1) {
		switch (c) {
		case 'w':
			opt.size = cli_dur(USAGE, "--window", optarg, 0);
			window_set = 1;
			break;
		case OPT_SESSION:
			if ((opt.session = cli_dur(USAGE, "--session", optarg, 0)) <= 0)
				cli_usage_error(USAGE, "--session: the gap must be more than 0");
			break;
		case OPT_GAP_FIELD: opt.gap_field = optarg; break;
		case 's':
			opt.slide = cli_dur(USAGE, "--slide", optarg, 0);
			slide_set = 1;
			break;
		case OPT_OFFSET:
			opt.offset = cli_dur(USAGE, "--offset", optarg, 1);
			window_set = 1;
			break;
		case 't': opt.time_field = optarg; break;
		case OPT_TIME_UNIT:
			if (strcmp(optarg, "s") == 0)
				opt.unit_num = 1000;
			else if (strcmp(optarg, "ms") == 0)
				opt.unit_num = 1;
			else if (strcmp(optarg, "us") == 0)
				opt.unit_den = 1000;
			else
				cli_usage_error(USAGE, "--time-unit: '%s' is not s, ms or us", optarg);
			break;
		case 'g': group = optarg; break;
		case 'a': add_agg(optarg); break;
		case 'W':
			opt.delay = cli_dur(USAGE, "--watermark", optarg, 0);
			opt.has_wm = 1;
			break;
		case 'm': mode = optarg; break;
		case OPT_TRIGGER_ROWS:
			opt.trigger_rows = cli_num(USAGE, "--trigger-rows", optarg, 1, INT64_MAX);
			break;
		case OPT_TRIGGER_INTERVAL:
			opt.trigger_interval = cli_dur(USAGE, "--trigger-interval", optarg, 0);
			if (opt.trigger_interval == 0)
				cli_usage_error(USAGE, "--trigger-interval: must be more than 0");
			break;
		case OPT_LATE: opt.late_path = optarg; break;
		case OPT_CHECKPOINT: opt.ckpt_dir = optarg; break;
		case OPT_CHECKPOINT_INTERVAL:
			opt.ckpt_interval = cli_dur(USAGE, "--checkpoint-interval", optarg, 0);
			break;
		case OPT_CHECKPOINT_BUDGET:
			opt.ckpt_budget = (double)cli_num(USAGE, "--checkpoint-budget", optarg, 1, 100);
			break;
		case OPT_CHECKPOINT_KEEP:
			opt.ckpt_keep = cli_num(USAGE, "--checkpoint-keep", optarg, 1, 1000000);
			break;
		case OPT_RESTORE:
			if (strcmp(optarg, "latest") != 0 && strcmp(optarg, "committed") != 0)
				cli_num(USAGE, "--restore", optarg, 1, INT64_MAX);
			opt.restore = optarg;
			break;
		case OPT_RESTORE_INFO: opt.restore_info = 1; break;
		case OPT_IDLE_TIMEOUT: opt.idle_ms = cli_dur(USAGE, "--idle-timeout", optarg, 0); break;
		case OPT_DEDUP: dedup = optarg; break;
		case OPT_DUP: opt.dup_path = optarg; break;
		default:
			if (!cli_common(c, argv, &opt.cc, help, USAGE))
				cli_usage_error(USAGE, "unexpected option");
		}
	}
	if (opt.session && (window_set || slide_set))
		cli_usage_error(USAGE, "--session: sessions have no --window, --slide or --offset");
	if (opt.gap_field && !opt.session)
		cli_usage_error(USAGE, "--gap-field needs --session GAP (the gap of rows without one)");
	if (!slide_set)
		opt.slide = opt.size;
	if (opt.size <= 0)
		cli_usage_error(USAGE, "--window: must be more than 0");
	if (opt.slide <= 0)
		cli_usage_error(USAGE, "--slide: must be more than 0");
	if (opt.slide > opt.size)
		cli_usage_error(USAGE, "--slide (%lldms) is longer than --window (%lldms)",
		                (long long)opt.slide, (long long)opt.size);
	if (opt.offset <= -opt.slide || opt.offset >= opt.slide)
		cli_usage_error(USAGE, "--offset: |offset| must be less than the slide (%lldms)",
		                (long long)opt.slide);
	/* a row falls in up to ceil(window / slide) windows: no cap (Spark has
	 * none); each costs a lookup per row */
	opt.wpr = (size_t)((opt.size + opt.slide - 1) / opt.slide);
	if (strcmp(mode, "update") == 0)
		opt.mode = MODE_UPDATE;
	else if (strcmp(mode, "append") == 0)
		opt.mode = MODE_APPEND;
	else if (strcmp(mode, "complete") == 0)
		opt.mode = MODE_COMPLETE;
	else
		cli_usage_error(USAGE, "--mode: '%s' is not update, append or complete", mode);
	if (opt.mode == MODE_APPEND && !opt.has_wm)
		cli_usage_error(USAGE, "--mode append needs --watermark (windows must be able to close)");
	if (opt.ckpt_budget > 0 && !opt.ckpt_dir)
		cli_usage_error(USAGE, "--checkpoint-budget needs --checkpoint DIR");
	if ((opt.restore || opt.restore_info) && !opt.ckpt_dir)
		cli_usage_error(USAGE, "--restore and --restore-info need --checkpoint DIR");
	if (opt.restore_info && !opt.restore)
		cli_usage_error(USAGE, "--restore-info needs --restore ID|latest|committed");

	opt.group_buf = estrdup(group);
	for (p = opt.group_buf; (tok = strtok_r(p, ",", &save)) != NULL; p = NULL)
		if (wr_add_group(&opt.l, tok, why, sizeof(why)) < 0)
			cli_usage_error(USAGE, "%s", why);
	if (dedup) {
		opt.dedup_buf = estrdup(dedup);
		for (p = opt.dedup_buf; (tok = strtok_r(p, ",", &save)) != NULL; p = NULL) {
			if (opt.ndedup == MAX_GROUP_FIELDS)
				cli_usage_error(USAGE, "--dedup: more than %d fields", MAX_GROUP_FIELDS);
			opt.dedup[opt.ndedup++] = tok;
		}
		if (opt.ndedup == 0)
			cli_usage_error(USAGE, "--dedup: name at least one field");
	}
	if (opt.dup_path && !opt.ndedup)
		cli_usage_error(USAGE, "--dup needs --dedup FIELD[,FIELD]...");
	if (opt.l.naggs == 0) {
		add_agg("orders=count");
		add_agg("items=sum(count)");
	}
	/* append mode writes a window once, when it closes: its panes can be
	 * combined then, if the aggregates combine; update mode combines those
	 * of the windows a batch changed, when a pane is the slide (so that a
	 * window's panes are window/slide lookups) */
	opt.panes = !opt.session && opt.slide < opt.size &&
	            (opt.mode == MODE_APPEND || (opt.mode == MODE_UPDATE && opt.size % opt.slide == 0));
	for (int i = 0; i < opt.l.naggs; i++)
		opt.panes &= ag_combines(opt.l.aggs[i].fn);
	/* Output names must be distinct: they become JSON members and columns. */
	{
		const char *names[3 + MAX_GROUP_FIELDS + WR_MAX_AGGS];
		int n = 0;
		names[n++] = "rowkey";
		names[n++] = "window_start";
		names[n++] = "window_end";
		for (int i = 0; i < opt.l.ngroup; i++)
			names[n++] = opt.l.group[i];
		for (int i = 0; i < opt.l.naggs; i++)
			names[n++] = opt.l.aggs[i].name;
		for (int i = 0; i < n; i++)
			for (int j = 0; j < i; j++)
				if (strcmp(names[i], names[j]) == 0)
					cli_usage_error(USAGE, "output field '%s' named twice (group or aggregate)",
					                names[i]);
	}
}

/* ---- output ---- */

static void
emit(const ws_ent *e)
{
	wr_row(&opt.l, e->wstart, e->wstart + opt.size, 0, ws_key(&run.ws, e), e->klen, e->a,
	       ws_ext(&run.ws, e));
	run.n_written++;
}

static void
emit_evicted(void *arg, const ws_ent *e)
{
	(void)arg;
	emit(e);
}

/* A session's row; its rowkey is now the one written. */
static void
emit_session(const ss_group *g, ss_sess *e)
{
	wr_row(&opt.l, e->start, e->end, 1, g->key, g->klen, e->a, ss_ext(&run.ss, e));
	e->said = e->start;
	run.n_written++;
}

static void
emit_closed_session(void *arg, const ss_group *g, const ss_sess *e)
{
	(void)arg;
	wr_row(&opt.l, e->start, e->end, 1, g->key, g->klen, e->a, ss_ext(&run.ss, e));
	run.n_written++;
}

/* A retraction: the row written under the session's old start names no
 * session now (merged, or its start moved back); mysql-replace deletes it. */
static void
emit_retraction(const ss_gone *d)
{
	wr_retraction(&opt.l, d->start, d->g->key, d->g->klen);
	run.n_written++;
	run.n_retracted++;
}

/* The end of a batch in session mode: retractions first, then the
 * sessions changed (update) or all of them (complete). */
static void
emit_sessions(void)
{
	ss_state *ss = &run.ss;

	for (size_t k = 0; k < ss->ngone; k++)
		emit_retraction(&ss->gone[k]);
	if (opt.mode == MODE_UPDATE) {
		for (size_t k = 0; k < ss->ndirty; k++)
			for (uint32_t i = 0; i < ss->dirty[k]->n; i++)
				if (ss_at(ss, ss->dirty[k], i)->stamp == ss->batch)
					emit_session(ss->dirty[k], ss_at(ss, ss->dirty[k], i));
	} else if (opt.mode == MODE_COMPLETE) {
		for (size_t k = 0; k < ss->nall; k++)
			for (uint32_t i = 0; i < ss->all[k]->n; i++)
				emit_session(ss->all[k], ss_at(ss, ss->all[k], i));
	}
}

/* Closes every window (session) ending at or before limit (all: every
 * one); append mode writes them now. */
static void
evict(int64_t limit, int all)
{
	if (opt.session) {
		ss_evict(&run.ss, limit, all, opt.mode == MODE_APPEND ? emit_closed_session : NULL,
		         NULL);
		return;
	}
	if (opt.panes && all && opt.mode == MODE_APPEND) {
		/* every window closes: a slice of them at a time (an eighth of
		 * a window's span), so that memory holds a slice of the output */
		int set = run.ws.wm_set;
		int64_t old = run.ws.wm, step = opt.size / 8 / opt.slide * opt.slide + opt.slide;
		while (run.pn.p.nwins) {
			int64_t lim = pn_first_end(&run.pn);
			if (set && old + step > lim)
				lim = old + step;
			pn_freeze(&run.pn, &run.ws, set, old, lim, 0);
			ws_evict(&run.ws, lim, 0, emit_evicted, NULL);
			set = 1;
			old = lim;
		}
	}
	ws_evict(&run.ws, limit, all, opt.mode == MODE_APPEND ? emit_evicted : NULL, NULL);
}

/* Update mode with panes: a window the batch changed, its whole value. */
static void
emit_changed(void *arg, int64_t wstart, const char *key, uint32_t klen, const struct ag_val *a)
{
	static const uint8_t no_ext[8];

	(void)arg;
	wr_row(&opt.l, wstart, wstart + opt.size, 0, key, klen, a, no_ext);
	run.n_written++;
}

/* The watermark moves to w (never back); with panes, the windows it passes
 * take no more rows: they are combined now, written when evicted. */
static void
advance(int64_t w)
{
	int old_set = run.ws.wm_set;
	int64_t old = run.ws.wm;

	ws_advance(&run.ws, w);
	if (!opt.panes || (old_set && run.ws.wm == old))
		return;
	if (opt.mode == MODE_APPEND)
		pn_freeze(&run.pn, &run.ws, old_set, old, run.ws.wm, 0);
	else
		pn_close(&run.pn, &run.ws, old_set, old, run.ws.wm);
}

/* ---- checkpoints (ordpipe(7), CRASH-SAFE RESTART; the format: common/sn) ---- */

/* The configuration a snapshot depends on, as text: restoring into another
 * window, grouping or aggregate would give wrong rows, so it is refused.
 * Version 3 names the functions; 1 and 2 wrote the enum's numbers. */
static char *
cfg_text(int version)
{
	struct buf b = {0};
	char num[160];

	snprintf(num, sizeof(num), "window=%lldms slide=%lldms offset=%lldms time=", (long long)opt.size,
	         (long long)opt.slide, (long long)opt.offset);
	buf_put(&b, num, strlen(num));
	buf_put(&b, opt.time_field, strlen(opt.time_field));
	snprintf(num, sizeof(num), " unit=%lld/%lld", (long long)opt.unit_num, (long long)opt.unit_den);
	buf_put(&b, num, strlen(num));
	if (opt.has_wm)
		snprintf(num, sizeof(num), " watermark=%lldms", (long long)opt.delay);
	else
		snprintf(num, sizeof(num), " watermark=none");
	buf_put(&b, num, strlen(num));
	snprintf(num, sizeof(num), " mode=%s group=",
	         opt.mode == MODE_UPDATE ? "update" : opt.mode == MODE_APPEND ? "append" : "complete");
	buf_put(&b, num, strlen(num));
	for (int g = 0; g < opt.l.ngroup; g++) {
		if (g)
			buf_putc(&b, ',');
		buf_put(&b, opt.l.group[g], strlen(opt.l.group[g]));
	}
	buf_put(&b, " aggs=", 6);
	for (int i = 0; i < opt.l.naggs; i++) {
		const struct wr_agg *a = &opt.l.aggs[i];
		if (i)
			buf_putc(&b, ',');
		buf_put(&b, a->name, strlen(a->name));
		buf_putc(&b, '=');
		if (version >= 3)
			buf_put(&b, ag_names[a->fn], strlen(ag_names[a->fn]));
		else
			buf_putc(&b, (char)('0' + (int)a->fn)); /* the enum's value then */
		buf_putc(&b, '(');
		if (a->field)
			buf_put(&b, a->field, strlen(a->field));
		if (a->fn == AG_APPROX) {
			snprintf(num, sizeof(num), ",%g", a->rsd);
			buf_put(&b, num, strlen(num));
		}
		if (a->fn == AG_PCT) {
			snprintf(num, sizeof(num), ",%.17g,%.17g", a->pct, a->eps);
			buf_put(&b, num, strlen(num));
		}
		buf_putc(&b, ')');
	}
	if (opt.session) {
		/* a window snapshot's text never has this: they cannot be mixed */
		snprintf(num, sizeof(num), " session=%lldms gap-field=", (long long)opt.session);
		buf_put(&b, num, strlen(num));
		if (opt.gap_field)
			buf_put(&b, opt.gap_field, strlen(opt.gap_field));
	}
	if (opt.ndedup) {
		buf_put(&b, " dedup=", 7);
		for (int i = 0; i < opt.ndedup; i++) {
			if (i)
				buf_putc(&b, ',');
			buf_put(&b, opt.dedup[i], strlen(opt.dedup[i]));
		}
	}
	buf_putc(&b, '\0');
	return b.p;
}

/* {"id":N,"positions":{...}}: the checkpoint record (common/cp reads it). */
static void
put_record_body(int64_t id, int event_time)
{
	out_write("{\"id\":", 6);
	js_out_i64(id);
	if (event_time && run.ws.have_max) {
		/* the newest event time read: the sink's end-to-end delay */
		char ts[TM_RFC3339_LEN];
		tm_format_rfc3339(run.ws.max_seen, ts);
		out_write(",\"event_time\":\"", 15);
		out_write(ts, TM_RFC3339_LEN);
		out_byte('"');
	}
	out_write(",\"positions\":", 13);
	pt_out_positions(&run.pt);
	out_byte('}');
}

/* The control record of the last snapshot: the sink commits every row
 * before it (mysql-replace --pipeline). */
static void
ckpt_record(void)
{
	out_write("{\"_checkpoint\":", 15);
	put_record_body(run.sn.last_id, 1);
	out_write("}\n", 2);
	out_end_record();
	out_flush();
	out_check();
	run.written_at_ckpt = run.n_written;
}

/* A snapshot, then its record behind the rows it covers. A failure (a full
 * disk) stops winagg: the previous snapshots are intact. */
static void
checkpoint(void)
{
	enum st_phase was = st_enter(ST_SNAPSHOT);

	if (sn_write(&run.sn, &run.ws, opt.panes ? &run.pn.p : NULL, opt.session ? &run.ss : NULL,
	             &run.pt, &run.dd) < 0)
		diag_die(DIAG_EX_FAIL, "%s", run.sn.err);
	ckpt_record();
	st_enter(was);
	run.rows_since_ckpt = 0;
	run.ckpt_t0 = tm_mono_s();
}

/* ms until a snapshot is due (0: now), -1 when none is: there must be
 * rows or output it would cover. With --checkpoint-budget a snapshot is
 * due once the time since the last is what that one took, scaled to the
 * budget: the sink commits sooner (end-to-end delay) at a bounded cost. */
static int
ckpt_due(void)
{
	double left, gap = (double)opt.ckpt_interval;

	if (!opt.ckpt_dir || (!run.rows_since_ckpt && run.n_written == run.written_at_ckpt))
		return -1;
	if (opt.ckpt_budget > 0) {
		double cheap = run.sn.ms_last * 100.0 / opt.ckpt_budget;
		cheap = cheap < CKPT_GAP_MIN ? CKPT_GAP_MIN : cheap;
		gap = cheap < gap ? cheap : gap;
	}
	left = gap - (tm_mono_s() - run.ckpt_t0) * 1000.0;
	return left <= 0 ? 0 : left > 1e9 ? 1000000000 : (int)left + 1;
}

/* --checkpoint at start: the directory, then --restore. */
static void
ckpt_start(void)
{
	int64_t want = INT64_MAX, id;
	int rc;

	run.cfg = cfg_text(SN_VERSION);
	run.cfg_v2 = cfg_text(2);
	if (sn_open(&run.sn, opt.ckpt_dir, opt.ckpt_keep, run.cfg, run.cfg_v2) < 0)
		diag_die(DIAG_EX_FAIL, "%s", run.sn.err);
	if (opt.restore && strcmp(opt.restore, "committed") == 0) {
		/* the sink's last committed cut, as etl.sh writes it there at start */
		if ((rc = sn_committed(&run.sn, &want)) < 0)
			diag_die(DIAG_EX_FAIL, "--restore committed: %s", run.sn.err);
		if (rc == 0 || want == 0) {
			diag_info("nothing committed yet in '%s/%s': starting empty", opt.ckpt_dir,
			          SN_COMMITTED);
			opt.restore = NULL; /* --restore-info then prints nothing */
		}
	} else if (opt.restore && strcmp(opt.restore, "latest") != 0) {
		want = strtoll(opt.restore, NULL, 10);
	}
	if (opt.restore) {
		if ((rc = sn_restore(&run.sn, want, &run.ws, opt.panes ? &run.pn.p : NULL,
		                     opt.session ? &run.ss : NULL, &run.pt, &run.dd, &id)) < 0)
			diag_die(rc == -2 ? DIAG_EX_USAGE : DIAG_EX_FAIL, "%s", run.sn.err);
		if (opt.panes)
			run.seq = pn_restored(&run.pn, &run.ws) + 1;
		diag_info("restored checkpoint %lld: %zu live groups", (long long)id, run.ws.count);
		if (opt.restore_info) {
			put_record_body(id, 0);
			out_byte('\n');
		}
	}
	run.ckpt_t0 = tm_mono_s();
}

/* ---- the end of a batch ---- */

/* Partitioned input: each row was judged by its own partition; windows
 * close as soon as every partition that is not idle is past them. */
static void
close_partitioned(void)
{
	int64_t w;

	if (pt_watermark(&run.pt, pt_caught_up(&run.pt, tm_mono_s()), &w))
		advance(w);
	if (run.ws.wm_set && opt.mode != MODE_COMPLETE)
		evict(run.ws.wm, 0);
}

static void
end_batch(void)
{
	ws_state *s = &run.ws;

	if (run.batch_rows == 0)
		return;
	st_enter(ST_EMIT);
	if (opt.session) {
		emit_sessions();
	} else if (opt.mode == MODE_UPDATE && opt.panes) {
		run.pane_rows = pn_changed(&run.pn, s, s->wm_set, s->wm, emit_changed, NULL);
	} else if (opt.mode == MODE_UPDATE) {
		for (size_t i = 0; i < s->ndirty; i++)
			emit(s->dirty[i]);
	} else if (opt.mode == MODE_COMPLETE) {
		for (size_t k = 0; k < s->nwins; k++)
			for (const ws_ent *e = s->wins[k].head; e; e = e->next)
				emit(e);
	}
	if (opt.has_wm && run.pt.seen) {
		close_partitioned();
	} else if (opt.has_wm) {
		if (s->wm_set && opt.mode != MODE_COMPLETE)
			evict(s->wm, 0);
		if (s->have_max)
			advance(pt_behind(&run.pt, s->max_seen));
	}
	st_enter(ST_WORK); /* the windows closed above were emitted too */
	if (opt.ndedup && s->wm_set)
		dd_sweep(&run.dd, s->wm);
	if (ckpt_due() == 0)
		checkpoint();
	ws_next_batch(s);
	if (opt.panes)
		ws_next_batch(&run.pn.p);
	if (opt.session)
		ss_next_batch(&run.ss);
	run.batch_late = run.n_late_rows - run.late_at_batch;
	run.late_at_batch = run.n_late_rows;
	run.n_batches++;
	run.batch_rows = 0;
	run.batch_t0 = opt.trigger_interval ? tm_mono_s() : 0;
	out_flush();
	out_check();
}

/* --stats: rows, late rows, live state and the watermark (ordpipe(7)). */
static void
stats(void)
{
	const ws_state *s = &run.ws;

	if (!st_due())
		return;
	st_begin(run.n_read, run.n_written, run.rejects.count);
	st_u64("late_rows", run.n_late_rows);
	st_u64("late_windows", run.n_late_pairs);
	if (opt.session) {
		st_gauge("live_groups", run.ss.nall);
		st_gauge("live_sessions", run.ss.nsess);
		st_u64("merges", run.ss.merges);
		st_u64("retractions", run.n_retracted);
		st_gauge("state_bytes", ws_memory(s) + ss_memory(&run.ss) + ag_blob_bytes());
	} else {
		st_gauge("live_groups", s->count + (opt.panes ? run.pn.p.count : 0));
		st_gauge("live_windows", s->nwins);
		if (opt.panes)
			st_gauge("live_panes", run.pn.p.nwins);
		st_gauge("state_bytes",
		         ws_memory(s) + (opt.panes ? pn_memory(&run.pn) : 0) + ag_blob_bytes());
	}
	st_time("watermark", s->wm_set, s->wm);
	st_time("max_event_time", s->have_max, s->max_seen);
	/* Spark's eventTime {min, avg, max} over the rows since the last line */
	st_time("event_time_min", run.et_n > 0, run.et_min);
	st_time("event_time_avg", run.et_n > 0, run.et_n ? (int64_t)(run.et_sum / (double)run.et_n) : 0);
	st_time("event_time_max", run.et_n > 0, run.et_max);
	run.et_n = 0;
	run.et_sum = 0;
	st_gauge("batch_id", s->batch);
	st_gauge("batch_updated_groups", opt.session                            ? run.ss.last_changed
	                                 : opt.panes && opt.mode == MODE_UPDATE ? run.pane_rows
	                                 : s->last_changed + run.pn.p.last_changed);
	st_gauge("batch_late_rows", run.batch_late);
	st_u64("batches", run.n_batches);
	st_u64("evicted", opt.session ? run.ss.evicted : s->evicted);
	if (run.pt.seen) {
		uint64_t live = 0, idle = 0;
		double cu = pt_caught_up(&run.pt, tm_mono_s());
		for (size_t i = 0; i < run.pt.n; i++) {
			live += run.pt.v[i].active;
			idle += run.pt.v[i].active && pt_idle(&run.pt, &run.pt.v[i], cu);
		}
		st_gauge("partitions", live);
		st_gauge("idle_partitions", idle);
		st_u64("late_closed_rows", run.n_late_closed);
	}
	if (opt.ndedup) {
		st_u64("duplicates", run.n_dups);
		st_gauge("dedup_keys", run.dd.count);
	}
	if (opt.ckpt_dir) {
		st_u64("checkpoints", run.sn.count);
		st_double("checkpoint_ms_last", run.sn.ms_last);
	}
	st_end();
}

/* ms until a partition that is not idle becomes idle (caught-up time),
 * -1 when none will or it would change nothing. */
static int
idle_due(void)
{
	double least;

	if (!opt.has_wm || !run.pt.seen || opt.mode == MODE_COMPLETE)
		return -1;
	least = pt_idle_due(&run.pt, pt_caught_up(&run.pt, tm_mono_s()));
	return least < 0 ? -1 : least > 1e9 ? 1000000000 : (int)least + 1;
}

/* Input is idle: the batch ends. Then wait here while something is due
 * before more input comes: a --stats line, a partition turning idle (its
 * windows may close), and the trailing snapshot, so that what was read
 * reaches a sink that commits at checkpoint records within the interval. */
static void
on_idle(const nd_reader *rd)
{
	pt_drain(&run.pt, tm_mono_s());
	end_batch();
	for (;;) {
		int ms = st_wait_ms(), k;
		out_flush();
		out_check();
		stats();
		if ((k = idle_due()) >= 0 && (ms < 0 || k < ms))
			ms = k;
		if ((k = ckpt_due()) >= 0 && (ms < 0 || k < ms))
			ms = k;
		if (sig_stop || ms < 0 || nd_wait(rd, ms))
			return;
		if (opt.has_wm && run.pt.seen)
			close_partitioned(); /* a partition may have turned idle */
		if (ckpt_due() == 0)
			checkpoint();
	}
}

/* ---- one input row ---- */

/* A control record of kcat-out: 1 handled (or rejected), 0 not one (a
 * row), -1 a bad one that stops the run. */
static int
control(const nd_rec *r)
{
	char why[200];
	int k = pt_control(&run.pt, r, why, sizeof(why));

	if (k < 0)
		return rej_bad(&run.rejects, r->file, r->lineno, r->text, r->len, why) < 0 ? -1 : 1;
	return k;
}

/* Time field to ms; NULL or a reason (tm_json_time: the rule kcat-in
 * --ts-field applies too). */
static const char *
row_time(const js_val *v, int64_t *t)
{
	static char cached[20];
	static int64_t cached_ms = INT64_MIN;
	static char why[160];
	const char *w;

	/* Rows of one second share the first 19 bytes: parse those once. */
	if (v->type == JS_STR && v->n == 24 && !v->esc && cached_ms != INT64_MIN &&
	    memcmp(v->p, cached, 19) == 0 && v->p[19] == '.' && v->p[23] == 'Z') {
		int a = v->p[20] - '0', b = v->p[21] - '0', c = v->p[22] - '0';
		if (a >= 0 && a <= 9 && b >= 0 && b <= 9 && c >= 0 && c <= 9) {
			*t = cached_ms + a * 100 + b * 10 + c;
			return NULL;
		}
	}
	if ((w = tm_json_time(v, opt.time_field, opt.unit_num, opt.unit_den, t, why, sizeof(why))))
		return w;
	if (v->type == JS_STR && v->n == 24 && v->p[19] == '.' && v->p[23] == 'Z') {
		memcpy(cached, v->p, 19);
		cached_ms = *t - tm_floormod(*t, 1000);
	}
	return NULL;
}

/* A value's canonical text, NUL-ended, onto a key (common/rk). */
static void
key_put(struct buf *key, const js_val *v)
{
	rk_key_put(key, v, run.unesc);
}

static int
bad(const nd_rec *r, const char *why)
{
	return rej_bad(&run.rejects, r->file, r->lineno, r->text, r->len, why);
}

/* --dedup: is the row a duplicate (counted, and written to --dup)? The
 * first row of a key is remembered until the watermark passes its event
 * time + the delay (without a watermark: until end of input). */
static int
duplicate(const nd_rec *r, int64_t t)
{
	int64_t expiry = INT64_MAX;

	run.dkey.len = 0;
	for (int i = 0; i < opt.ndedup; i++)
		key_put(&run.dkey, &run.vals[opt.ddwant[i]]);
	if (opt.has_wm && __builtin_add_overflow(t, opt.delay, &expiry))
		expiry = INT64_MAX;
	if (!dd_seen(&run.dd, run.dkey.p, (uint32_t)run.dkey.len, expiry, run.ws.wm_set, run.ws.wm))
		return 0;
	run.n_dups++;
	if (run.dup_fp) {
		fwrite(r->text, 1, r->len, run.dup_fp);
		fputc('\n', run.dup_fp);
	}
	return 1;
}

/* Where a row came from: its partition's index (-1: none) and offset. */
struct rowpos {
	int part;
	int64_t off;
};

/* A row that passed every check: the clock, Spark's eventTime, its
 * partition; then 1 when --dedup finds it a duplicate (dropped). */
static int
row_seen(const nd_rec *r, const struct rowpos *rp, int64_t t)
{
	ws_saw(&run.ws, t);
	if (run.et_n++ == 0 || t < run.et_min)
		run.et_min = t;
	if (run.et_n == 1 || t > run.et_max)
		run.et_max = t;
	run.et_sum += (double)t;
	if (rp->part >= 0)
		pt_heard(&run.pt, (size_t)rp->part, t);
	return opt.ndedup && duplicate(r, t);
}

/* A late row: late windows, closed (late only because its window had
 * closed, partitioned input), to --late. */
static void
note_late(const nd_rec *r, int late, int closed)
{
	run.n_late_pairs += (uint64_t)late;
	run.n_late_rows++;
	run.n_late_closed += closed > 0;
	if (run.late_fp) {
		fwrite(r->text, 1, r->len, run.late_fp);
		fputc('\n', run.late_fp);
	}
}

/* --gap-field: the row's gap, a duration ("30s") or whole ms; null or
 * missing: --session's. NULL, or why it cannot be one. */
static const char *
row_gap(const js_val *v, int64_t *gap)
{
	static char why[160];
	char txt[64];
	const char *w;

	if (v->type == JS_MISSING || v->type == JS_NULL)
		return NULL;
	if (v->type == JS_NUM && v->isint && js_to_i64(v, gap) == 0 && *gap > 0)
		return NULL;
	if (v->type == JS_STR && !v->esc && v->n < sizeof(txt)) {
		memcpy(txt, v->p, v->n);
		txt[v->n] = '\0';
		if (tm_parse_dur(txt, gap, 0, &w) == 0 && *gap > 0)
			return NULL;
	}
	snprintf(why, sizeof(why), "gap field '%s' is not a duration above 0 (\"30s\", or ms)",
	         opt.gap_field);
	return why;
}

/* A row's values for the aggregates (common/ag): NULL, or why one cannot be
 * (the reason in msg). Numbers for the arithmetic ones; for
 * approx_count_distinct the hash of the value's canonical text; for
 * count_distinct, and first and last of what is not a number, the text. */
static const char *
row_inputs(const js_val *vals, char *msg, size_t msglen)
{
	struct rowin *in = &run.in;
	const char *why;

	for (int i = 0; i < opt.l.naggs; i++) {
		const struct wr_agg *a = &opt.l.aggs[i];
		const js_val *v = a->field ? &vals[a->want] : NULL;
		int some = v && v->type != JS_MISSING && v->type != JS_NULL;
		in->txok[i] = 0;
		if (a->fn == AG_APPROX || a->fn == AG_CDIST ||
		    ((a->fn == AG_FIRST || a->fn == AG_LAST) && some && v->type != JS_NUM)) {
			in->tx[i].len = 0;
			if (some)
				key_put(&in->tx[i], v); /* canonical: equal values, equal texts */
			in->hvok[i] = some && a->fn == AG_APPROX;
			in->txok[i] = some && a->fn != AG_APPROX;
			if (in->hvok[i])
				in->hv[i] = hs_hash(in->tx[i].p, in->tx[i].len, 0x61707072ULL);
			in->xs[i].kind = 0;
			continue;
		}
		if (v && (why = ag_input(v, &in->xs[i]))) {
			snprintf(msg, msglen, "field '%s' %s", a->field, why);
			return msg;
		}
	}
	return NULL;
}

/* The row into one (window, group) or session: its aggregates and sketches. */
static void
apply_row(struct ag_val *a, unsigned char *ext, int64_t t)
{
	const struct rowin *in = &run.in;

	for (int i = 0; i < opt.l.naggs; i++) {
		const struct wr_agg *d = &opt.l.aggs[i];
		if (d->fn == AG_APPROX) {
			if (in->hvok[i])
				ag_hll_add(ext + d->off, d->p, in->hv[i]);
		} else if (in->txok[i]) {
			/* without the NUL key_put ends it with */
			ag_apply_text(d->fn, &a[i], in->tx[i].p, in->tx[i].len - 1, t);
		} else if (d->fn == AG_PCT) {
			ag_pct_add(&a[i], &in->xs[i], d->eps);
		} else if (d->fn != AG_CDIST) {
			ag_apply(d->fn, &a[i], &in->xs[i], t);
		}
	}
}

/* --session: the row's session [t, t+gap) merges with the sessions of its
 * group that it overlaps or touches (ss); it is late when it would end at
 * or before the watermark (its partition's, or the stream's). */
static int
session_row(const nd_rec *r, const struct rowpos *rp, int64_t t, uint64_t kh, int judge,
            int64_t plim)
{
	int64_t gap = opt.session, end;
	const char *why;
	char msg[200];
	ss_sess *p = NULL;
	ss_group *g;
	int late_part, late_wm;

	if (opt.gap_field && (why = row_gap(&run.vals[opt.gap_want], &gap)))
		return bad(r, why);
	if (__builtin_add_overflow(t, gap, &end) || end > TM_MAX_MS)
		return bad(r, "the row's session falls outside the years 0000-9999");
	late_part = judge && rp->part >= 0 && end <= plim;
	late_wm = judge && run.ws.wm_set && end <= run.ws.wm;
	if (!late_part && !late_wm) {
		if (!(p = ss_plan(&run.ss, kh, run.key.p, (uint32_t)run.key.len, t, gap, &why))) {
			snprintf(msg, sizeof(msg), "merging the sessions it joins %s", why);
			return bad(r, msg);
		}
		for (int i = 0; i < opt.l.naggs; i++)
			if ((why = ag_check(opt.l.aggs[i].fn, &p->a[i], &run.in.xs[i]))) {
				snprintf(msg, sizeof(msg), "%s '%s' %s", ag_names[opt.l.aggs[i].fn],
				         opt.l.aggs[i].name, why);
				return bad(r, msg);
			}
	}
	if (row_seen(r, rp, t))
		return 0;
	if (!p) {
		note_late(r, 1, !late_part && rp->part >= 0);
		return 0;
	}
	apply_row(p->a, ss_ext(&run.ss, p), t);
	ss_commit(&run.ss, &g);
	return 0;
}

/* How many of the n windows starting at first (by slide) end at or before x. */
static int64_t
ends_by(int64_t first, int64_t n, int64_t x)
{
	int64_t k;

	if (x < first + opt.size)
		return 0;
	k = (x - first - opt.size) / opt.slide + 1;
	return k < n ? k : n;
}

/* The row into the entry of (start, key) in t (a pane, or a window's own
 * part): its seq is the row's number when it is new, and in update mode
 * when the batch first changes it (pn_changed's order). */
static void
pane_apply(ws_state *t, uint64_t kh, int64_t start, int64_t tm)
{
	const char *key = run.key.p;
	uint32_t klen = (uint32_t)run.key.len;
	ws_ent *e = ws_find(t, ws_hash(kh, start), start, key, klen);

	if (!e) {
		e = ws_add(t, ws_hash(kh, start), start, key, klen);
		e->seq = run.seq;
	} else if (opt.mode == MODE_UPDATE && e->stamp != t->batch) {
		e->seq = run.seq;
	}
	pn_mag(&run.pn, e->a, -1);
	apply_row(e->a, ws_ext(t, e), tm);
	pn_mag(&run.pn, e->a, 1);
	ws_touch(t, e);
}

/* With panes (opt.panes): the row goes into its pane, which stands for
 * every open window it falls in; the windows it is late for have been
 * combined already (their end is at or before the watermark) unless its
 * partition alone makes it late for some: then it goes into its other
 * windows directly (ws entries, added to the panes when they close). */
static int
pane_row(const nd_rec *r, const struct rowpos *rp, int64_t t, uint64_t kh, int judge, int64_t plim)
{
	ws_state *s = &run.ws;
	pn_state *pn = &run.pn;
	const char *key = run.key.p, *why;
	uint32_t klen = (uint32_t)run.key.len;
	int64_t last = t - tm_floormod(t - opt.offset, opt.slide), lend;
	int64_t n = (last - t + opt.size - 1) / opt.slide + 1, first = last - (n - 1) * opt.slide;
	int64_t late_pl = 0, late_wm = 0, late, lo;
	char msg[200];
	int i;

	if (first < TM_MIN_MS || __builtin_add_overflow(last, opt.size, &lend) || lend > TM_MAX_MS)
		return bad(r, "a window of this row falls outside the years 0000-9999");
	if (judge && rp->part >= 0)
		late_pl = ends_by(first, n, plim);
	if (judge && s->wm_set)
		late_wm = ends_by(first, n, s->wm);
	late = late_pl > late_wm ? late_pl : late_wm;
	lo = first + late * opt.slide;
	if (late < n && !pn_fits(pn, run.in.xs) &&
	    (i = pn_check(pn, s, kh, key, klen, lo, last, run.in.xs, &why)) >= 0) {
		snprintf(msg, sizeof(msg), "%s '%s' %s", ag_names[opt.l.aggs[i].fn],
		         opt.l.aggs[i].name, why);
		return bad(r, msg);
	}
	if (row_seen(r, rp, t))
		return 0;
	if (late < n && late_pl > late_wm) {
		for (int64_t w = lo; w <= last; w += opt.slide)
			pane_apply(s, kh, w, t);
	} else if (late < n) {
		pane_apply(&pn->p, kh, pn_pane(pn, t), t);
	}
	run.seq++;
	if (late)
		note_late(r, (int)late,
		          rp->part >= 0 && late_wm > late_pl ? (int)(late_wm - late_pl) : 0);
	return 0;
}

/* The first look at a row, which changes nothing: its members, event time,
 * group key and hash; and the table slots of its windows are fetched into
 * the cache while the row before it is applied (the main loop holds a row
 * scanned ahead: with many groups, that slot is a cache miss a row). */
static void
row_scan(struct pre *p, const nd_rec *r)
{
	js_err err;
	const char *why;

	p->rec = *r;
	p->scan_bad = nd_scan(r, &run.want, p->vals, &err, p->scan_why, sizeof(p->scan_why)) < 0;
	p->time_why[0] = '\0';
	if (p->scan_bad)
		return;
	if ((why = row_time(&p->vals[0], &p->t)) != NULL) {
		snprintf(p->time_why, sizeof(p->time_why), "%s", why);
		return;
	}
	p->key.len = 0;
	for (int g = 0; g < opt.l.ngroup; g++)
		key_put(&p->key, &p->vals[opt.gwant[g]]);
	p->kh = hs_hash(p->key.p, p->key.len, 0);
	if (!opt.session && !opt.panes) {
		int64_t w = p->t - tm_floormod(p->t - opt.offset, opt.slide);
		for (int k = 0; k < 4 && w > p->t - opt.size; k++, w -= opt.slide) {
			const ws_window *win = ws_window_at(&run.ws, w);
			if (win)
				__builtin_prefetch(&win->ix.s[ws_hash(p->kh, w) & (win->ix.cap - 1)]);
		}
	}
}

/* 0: row done (aggregated, late or rejected); -1: stop (bad row, no
 * rejects). *rp: the row's position, also for a row rejected. */
static int
process_row(struct pre *p, struct rowpos *rp)
{
	ws_ent **ents = run.ents;  /* per window of the row: its entry, or NULL */
	int64_t *starts = run.starts;
	ws_state *s = &run.ws;
	const nd_rec *r = &p->rec;
	js_val *vals = p->vals;
	const char *why;
	char msg[200];
	int64_t t = p->t, last_start;
	uint64_t kh = p->kh;
	int nw = 0, late = 0, closed = 0, judge = opt.has_wm && opt.mode != MODE_COMPLETE;
	int64_t plim = INT64_MIN;
	struct buf key = run.key;

	run.n_read++;
	run.rows_since_ckpt++;
	run.vals = vals;
	if (p->scan_bad) {
		/* still covered by a checkpoint when rejected, so that a restart
		 * does not reject it again: kcat-out writes "_pos" last */
		if (!r->too_long)
			pt_tail(&run.pt, r->text, r->len, &rp->part, &rp->off);
		return bad(r, p->scan_why);
	}
	if ((why = pt_row(&run.pt, &vals[opt.pos_want], &rp->part, &rp->off)) != NULL)
		return bad(r, why);
	if (p->time_why[0])
		return bad(r, p->time_why);
	if (rp->part >= 0 && run.pt.v[rp->part].has_max)
		plim = pt_behind(&run.pt, run.pt.v[rp->part].pmax);
	if ((why = row_inputs(vals, msg, sizeof(msg))) != NULL)
		return bad(r, why);
	run.key = p->key; /* the row's key is run.key; its buffer before, p's */
	p->key = key;
	if (opt.session)
		return session_row(r, rp, t, kh, judge, plim);
	if (opt.panes)
		return pane_row(r, rp, t, kh, judge, plim);

	/* Spark's assignment: the latest window start at or before t, then back by slides. */
	last_start = t - tm_floormod(t - opt.offset, opt.slide);
	for (int64_t w = last_start; w > t - opt.size; w -= opt.slide) {
		int64_t wend;
		if (w < TM_MIN_MS || __builtin_add_overflow(w, opt.size, &wend) || wend > TM_MAX_MS)
			return bad(r, "a window of this row falls outside the years 0000-9999");
		/* Partitioned: late by the rows before it in its own partition,
		 * or (after an idle partition resumed) its window has closed. */
		if (judge && rp->part >= 0 && wend <= plim) {
			late++;
			continue;
		}
		if (judge && s->wm_set && wend <= s->wm) {
			late++;
			closed += rp->part >= 0;
			continue;
		}
		starts[nw] = w;
		ents[nw] = ws_find(s, ws_hash(kh, w), w, run.key.p, (uint32_t)run.key.len);
		nw++;
	}
	/* Sums must not overflow: check every window before changing any. */
	for (int i = 0; i < opt.l.naggs; i++)
		for (int k = 0; k < nw; k++)
			if (ents[k] && (why = ag_check(opt.l.aggs[i].fn, &ents[k]->a[i], &run.in.xs[i]))) {
				snprintf(msg, sizeof(msg), "%s '%s' %s", ag_names[opt.l.aggs[i].fn],
				         opt.l.aggs[i].name, why);
				return bad(r, msg);
			}
	if (row_seen(r, rp, t))
		return 0;
	for (int k = 0; k < nw; k++) {
		ws_ent *e = ents[k];
		if (!e)
			e = ws_add(s, ws_hash(kh, starts[k]), starts[k], run.key.p, (uint32_t)run.key.len);
		apply_row(e->a, ws_ext(s, e), t);
		ws_touch(s, e);
	}
	if (late)
		note_late(r, late, closed);
	return 0;
}

/* A row, and with --checkpoint its position: covered once the row is done,
 * but not a bad row that stops the run (a restart must stop at it again). */
static int
process(struct pre *p)
{
	struct rowpos rp = {-1, 0};
	int rc = process_row(p, &rp);

	if (rc == 0 && rp.part >= 0 && rp.off + 1 > run.pt.v[rp.part].next)
		run.pt.v[rp.part].next = rp.off + 1;
	return rc;
}

/* A scanned row applied, then what follows each row: the batch's end when
 * due, statistics, the output checked. -1: a bad row stops the run. */
static int
apply(struct pre *p)
{
	if (process(p) < 0)
		return -1;
	if (++run.batch_rows >= (opt.trigger_rows ? opt.trigger_rows : BATCH_MAX_ROWS))
		end_batch();
	else if (opt.trigger_interval && (run.batch_rows & 63) == 0 &&
	         (tm_mono_s() - run.batch_t0) * 1000 >= (double)opt.trigger_interval)
		end_batch();
	if (opt.cc.stats_ms && (run.n_read & 1023) == 0)
		stats();
	out_check();
	return 0;
}

/* ---- the program ---- */

static int
want_index(const char **names, int *n, const char *name)
{
	for (int k = 0; k < *n; k++)
		if (strcmp(names[k], name) == 0)
			return k;
	names[*n] = name;
	return (*n)++;
}

/* The scanner's wanted members, each name once (a group field may also be
 * the time field or an aggregate's field). Index 0 is the time field. */
static void
want_init(void)
{
	static const char *names[3 + 2 * MAX_GROUP_FIELDS + WR_MAX_AGGS]; /* run.want holds them */
	int n = 0;

	names[n++] = opt.time_field;
	for (int g = 0; g < opt.l.ngroup; g++)
		opt.gwant[g] = want_index(names, &n, opt.l.group[g]);
	for (int i = 0; i < opt.l.naggs; i++)
		if (opt.l.aggs[i].field)
			opt.l.aggs[i].want = want_index(names, &n, opt.l.aggs[i].field);
	for (int i = 0; i < opt.ndedup; i++)
		opt.ddwant[i] = want_index(names, &n, opt.dedup[i]);
	opt.pos_want = want_index(names, &n, "_pos");
	if (opt.gap_field)
		opt.gap_want = want_index(names, &n, opt.gap_field);
	js_want_init(&run.want, names, n);
	for (int k = 0; k < 2; k++)
		run.pre[k].vals = ecalloc((size_t)n, sizeof(*run.pre[k].vals));
	run.vals = run.pre[0].vals;
}

/* End of input (or a stop signal): the last batch, a last snapshot with the
 * windows still open (a restart resumes them: the input may only have
 * paused), then every window closes. A bad row that stops the run: the rows
 * before it are good, so they are snapshotted and a restart resumes at the
 * bad row and says so again. */
static void
finish(int status)
{
	end_batch();
	if (opt.session && opt.ckpt_dir && opt.mode == MODE_APPEND && status == DIAG_EX_OK &&
	    !sig_stop && run.ss.nsess > 0) {
		/* End of input writes the open sessions; a restart from this
		 * snapshot may merge them further, even move a start back: the
		 * snapshot says they were written, so such a merge retracts them. */
		ss_mark_written(&run.ss);
		checkpoint();
	} else if (opt.ckpt_dir && run.rows_since_ckpt) {
		checkpoint();
	}
	if (status != DIAG_EX_OK)
		return;
	if (!sig_stop && opt.mode != MODE_COMPLETE)
		evict(0, 1);
	/* The rows closing the windows are committed too, under the same
	 * snapshot's record again: that snapshot has them open, so a restart
	 * from it writes them again if the stream goes on. */
	if (opt.ckpt_dir && run.sn.last_id && run.n_written > run.written_at_ckpt)
		ckpt_record();
}

static void
report(void)
{
	st_final();
	stats();
	diag_info("%llu rows read, %llu rows written, %llu rejected, %llu late rows (%llu late "
	          "windows), %llu batches, %llu groups evicted, %zu live groups (peak %llu)",
	          (unsigned long long)run.n_read, (unsigned long long)run.n_written,
	          (unsigned long long)run.rejects.count, (unsigned long long)run.n_late_rows,
	          (unsigned long long)run.n_late_pairs, (unsigned long long)run.n_batches,
	          (unsigned long long)run.ws.evicted, run.ws.count,
	          (unsigned long long)run.ws.peak);
	if (run.ws.peak)
		diag_info("state at its peak: %zu bytes, %.0f bytes per live group",
		          run.ws.peak_bytes, (double)run.ws.peak_bytes / (double)run.ws.peak);
	if (opt.panes)
		diag_info("panes of %lld ms: %llu (pane, group) entries at the peak, %zu held",
		          (long long)run.pn.g, (unsigned long long)run.pn.p.peak, run.pn.p.count);
	if (run.n_late_closed)
		diag_info(
		    "%llu late rows were on time in their partition but their window had closed "
		    "(a partition idle or not yet assigned came in behind the others)",
		    (unsigned long long)run.n_late_closed);
	if (opt.session)
		diag_info("%zu sessions open in %zu groups, %llu closed, %llu merged away, %llu "
		          "retractions written",
		          run.ss.nsess, run.ss.nall, (unsigned long long)run.ss.evicted,
		          (unsigned long long)run.ss.merges, (unsigned long long)run.n_retracted);
	if (opt.ndedup)
		diag_info("%llu duplicates dropped, %zu keys held (peak %llu)",
		          (unsigned long long)run.n_dups, run.dd.count, (unsigned long long)run.dd.peak);
	if (opt.ckpt_dir)
		diag_info("%llu checkpoints written in %.0f ms", (unsigned long long)run.sn.count,
		          run.sn.ms_total);
	if (sig_stop)
		diag_info("stopped by signal %d", (int)sig_stop);
}

static void
free_run(void)
{
	pt_free(&run.pt);
	ws_free(&run.ws);
	if (opt.panes)
		pn_free(&run.pn);
	if (opt.session)
		ss_free(&run.ss);
	dd_free(&run.dd);
	buf_free(&run.dkey);
	for (int i = 0; i < WR_MAX_AGGS; i++)
		buf_free(&run.in.tx[i]);
	free(run.ents);
	free(run.starts);
	if (opt.ckpt_dir)
		sn_close(&run.sn);
	free(run.cfg);
	free(run.cfg_v2);
	for (int k = 0; k < 2; k++) {
		free(run.pre[k].vals);
		buf_free(&run.pre[k].key);
	}
	free(run.unesc);
	buf_free(&run.key);
	js_want_free(&run.want);
}

int
main(int argc, char **argv)
{
	int status = DIAG_EX_OK, rc;
	nd_reader *rd;
	nd_rec rec;
	struct pre *held = NULL, *next;

	diag_init(argv[0]);
	parse_opts(argc, argv);
	cli_done(&opt.cc, USAGE);
	want_init();
	if (rej_open(&run.rejects, opt.cc.rejects) < 0)
		diag_die(DIAG_EX_FAIL, "cannot open rejects file '%s': %s", opt.cc.rejects,
		         strerror(errno));
	if (opt.dup_path && !(run.dup_fp = fopen(opt.dup_path, "a")))
		diag_die(DIAG_EX_FAIL, "cannot open duplicates file '%s': %s", opt.dup_path,
		         strerror(errno));
	if (opt.late_path && !(run.late_fp = fopen(opt.late_path, "a")))
		diag_die(DIAG_EX_FAIL, "cannot open late-rows file '%s': %s", opt.late_path,
		         strerror(errno));
	sig_install(0);
	out_init(1, opt.cc.unbuffered);
	run.unesc = emalloc(ND_LINE_MAX);
	run.ents = ecalloc(opt.wpr, sizeof(*run.ents));
	run.starts = ecalloc(opt.wpr, sizeof(*run.starts));
	/* never NULL, even for no group fields (-g '') */
	buf_reserve(&run.key, 256);
	buf_reserve(&run.pre[0].key, 256);
	buf_reserve(&run.pre[1].key, 256);
	rd = nd_new(argv + optind, argc - optind);
	ws_init(&run.ws, opt.size, opt.l.naggs, (opt.l.ext + 7) & ~(size_t)7, opt.mode == MODE_UPDATE);
	for (int i = 0; i < opt.l.naggs; i++)
		run.ws.blobs |= ag_keeps_blobs(opt.l.aggs[i].fn);
	if (opt.session) {
		enum ag_func fn[WR_MAX_AGGS];
		for (int i = 0; i < opt.l.naggs; i++)
			fn[i] = opt.l.aggs[i].fn;
		ss_init(&run.ss, opt.l.naggs, fn, (opt.l.ext + 7) & ~(size_t)7);
	}
	if (opt.panes) {
		enum ag_func fn[WR_MAX_AGGS];
		for (int i = 0; i < opt.l.naggs; i++)
			fn[i] = opt.l.aggs[i].fn;
		pn_init(&run.pn, opt.size, opt.slide, opt.offset, opt.l.naggs, fn,
		        opt.mode == MODE_UPDATE);
	}
	pt_init(&run.pt, opt.delay, opt.idle_ms);
	dd_init(&run.dd);
	if (opt.ckpt_dir)
		ckpt_start();
	if (opt.restore_info)
		goto done;
	if (st_start(opt.cc.stats_ms, opt.cc.stats_file, opt.cc.metrics, "aggregate",
	             1u << ST_READ | 1u << ST_WAIT | 1u << ST_EMIT |
	                 (opt.ckpt_dir ? 1u << ST_SNAPSHOT : 0)) < 0)
		diag_die(DIAG_EX_FAIL, "cannot open stats file '%s': %s", opt.cc.stats_file, strerror(errno));
	run.batch_t0 = opt.trigger_interval ? tm_mono_s() : 0;

	/* A row is scanned (row_scan) before the row ahead of it is applied,
	 * while both are in the reader's buffer: the row held (held) waits for
	 * the next one, or is applied first when the next one is not read yet,
	 * is a control record, or the input ends. Rows are applied in order,
	 * each seeing what the ones before it did, as one at a time. */
	for (;;) {
		if (!held || sig_stop || !nd_next_buffered(rd, &rec)) {
			if (held && apply(held) < 0) {
				status = DIAG_EX_BADINPUT;
				break;
			}
			held = NULL;
			if (sig_stop || (rc = nd_next_checked(rd, &rec)) == 0)
				break;
			if (rc < 0) {
				status = DIAG_EX_FAIL;
				break;
			}
			if (rc == ND_IDLE) {
				on_idle(rd);
				continue;
			}
		}
		if (run.pt.drained || pt_is_control(&rec)) {
			if (held && apply(held) < 0) {
				status = DIAG_EX_BADINPUT;
				break;
			}
			held = NULL;
			if (run.pt.drained)
				pt_resume(&run.pt, tm_mono_s());
			if ((rc = control(&rec)) > 0)
				continue;
			if (rc < 0) {
				status = DIAG_EX_BADINPUT;
				break;
			}
		}
		next = &run.pre[held == &run.pre[0]];
		row_scan(next, &rec);
		if (held && apply(held) < 0) {
			status = DIAG_EX_BADINPUT;
			break;
		}
		held = next;
	}
	if (status != DIAG_EX_FAIL)
		finish(status);
	if (out_flush() < 0 && status == DIAG_EX_OK)
		status = DIAG_EX_FAIL;
	if (out_failed())
		diag_error("cannot write to standard output: %s", strerror(out_failed()));
	if (rej_finish(&run.rejects) < 0)
		status = DIAG_EX_FAIL;
	if (run.dup_fp && fclose(run.dup_fp) != 0) {
		diag_error("cannot write duplicates file '%s': %s", opt.dup_path, strerror(errno));
		status = DIAG_EX_FAIL;
	}
	if (run.late_fp && fclose(run.late_fp) != 0) {
		diag_error("cannot write late-rows file '%s': %s", opt.late_path, strerror(errno));
		status = DIAG_EX_FAIL;
	}
	report();
done:
	if (opt.restore_info && out_flush() < 0)
		status = DIAG_EX_FAIL;
	nd_free(rd);
	st_free();
	free_run();
	out_free();
	free_opts();
	return status;
}
