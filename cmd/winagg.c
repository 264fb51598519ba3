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
 * windows close by the least watermark of the partitions (see "partitions").
 *
 * State: one entry per live (window, group) in an open-addressing hash table
 * keyed by (window start, group key); entries are also chained per window,
 * in creation order, and windows are kept sorted by start, so eviction takes
 * whole windows from the front. Window bounds live in each entry, so windows
 * that are not aligned (sessions) can be added without changing the table.
 */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ck.h"
#include "cp.h"
#include "cli.h"
#include "diag.h"
#include "hs.h"
#include "js.h"
#include "nd.h"
#include "out.h"
#include "rej.h"
#include "sig.h"
#include "st.h"
#include "tm.h"

#define USAGE "[-w DUR] [-s DUR] [-W DUR] [-m MODE] [-g LIST] [-a NAME=FUNC(FIELD)]... [FILE]..."
#define MAX_WINDOWS_PER_ROW 1024 /* ceil(window / slide) */
#define MAX_GROUP_FIELDS 64
#define MAX_AGGS 64
#define ROWKEY_MAX 255 /* bytes */
#define KEY_MAX (ND_LINE_MAX + 64) /* bytes of one group key */
/* Without --trigger-rows a batch also ends after this many rows (Spark's
 * maxOffsetsPerTrigger): a producer faster than winagg never lets the input
 * drain, and state could then not be evicted until end of input. */
#define BATCH_MAX_ROWS 100000
#define CKPT_MAGIC "ORDPCKP1"
/* 2: each position also holds its partition's latest event time; 3: the
 * aggregates field by field and the functions by name, all little-endian
 * (1 and 2 stored struct aggst as it lies in memory: still read). */
#define CKPT_VERSION 3
#define CKPT_VERSION_S "3"
#define IDLE_TIMEOUT_MS 10000 /* --idle-timeout default */
#define CKPT_KEEP 10 /* snapshots kept: the sink may commit a few behind the newest */
#define PATH_MAX_CKPT 4096 /* bytes of a snapshot's path */
#define CKPT_COMMITTED "committed" /* in DIR: the sink's last committed checkpoint */

enum mode { MODE_UPDATE, MODE_APPEND, MODE_COMPLETE };
enum func { F_COUNT, F_SUM, F_MIN, F_MAX, F_AVG };
static const char *const func_names[] = {"count", "sum", "min", "max", "avg"}; /* by enum func */

struct aggdef {
	char *name;
	enum func fn;
	char *field; /* NULL for count */
	int want;    /* index of field in the scanner's wanted list */
	char *head;  /* ,"name": pre-escaped */
	size_t headlen;
};

struct opts {
	int64_t size, slide, offset; /* ms */
	const char *time_field;
	int64_t unit_num, unit_den; /* numeric time * num / den = ms */
	char *group[MAX_GROUP_FIELDS];
	int gwant[MAX_GROUP_FIELDS]; /* index of each group field in the wanted list */
	int ngroup;
	char *group_head[MAX_GROUP_FIELDS]; /* ,"field": pre-escaped */
	size_t group_headlen[MAX_GROUP_FIELDS];
	char *group_buf;
	struct aggdef aggs[MAX_AGGS];
	int naggs;
	int has_wm;
	int64_t delay; /* ms */
	enum mode mode;
	long long trigger_rows;   /* 0: off */
	int64_t trigger_interval; /* ms, 0: off */
	const char *late_path;
	const char *ckpt_dir;   /* --checkpoint DIR */
	int64_t ckpt_interval;  /* ms */
	long long ckpt_keep;
	const char *restore;    /* --restore ID or "latest" */
	int restore_info;
	int pos_want;           /* index of "_pos" in the wanted list */
	int64_t idle_ms;        /* --idle-timeout: caught-up ms before a quiet partition is idle, 0 never */
	struct cli_common cc;
};

/* One aggregate's running value. kind: 0 no value yet, 1 int64, 2 double. */
struct aggst {
	int64_t n; /* rows counted (count, avg) */
	int64_t i;
	double d;
	uint8_t kind;
};

struct window;

struct ent {
	struct ent *next; /* in its window, creation order */
	uint64_t hash;
	int64_t wstart, wend; /* ms */
	uint64_t stamp;       /* batch that last changed it */
	uint32_t klen;        /* bytes of key */
	struct aggst a[];     /* then the key bytes */
};

struct window {
	int64_t start, end; /* ms */
	struct ent *head, *tail;
	size_t nents;
};

struct slot {
	uint64_t hash;
	struct ent *e;
};

static struct opts opt;
static const js_want *want_ptr;

/* The state. */
static struct slot *table;
static size_t tcap, tcount; /* slots, live entries */
static struct window *wins;
static size_t nwins, wcap;
static struct ent **dirty;
static size_t ndirty, dcap;

/* The stream. */
static uint64_t batch_no = 1;
static long long rows_in_batch;
static int wm_set;
static int64_t wm;
static int have_max;
static int64_t max_seen;
static double batch_t0;

/* Counters for -v. */
static uint64_t n_read, n_written, n_late_rows, n_late_pairs, n_batches, n_evicted, peak_groups;

static rej rejects;
static FILE *late_fp;

/*
 * The input's partitions, per "TOPIC/P" as kcat-out --positions names them
 * in each row's "_pos" (and in its {"_assigned":[...]} records): the next
 * offset to read (what a checkpoint covers) and the partition's own event
 * time. Where rows carry partitions, a row is late only by the rows before
 * it in its own partition, and windows are evicted by the least of the
 * partitions' watermarks, leaving out partitions that are idle: quiet for
 * --idle-timeout of the time winagg was caught up with its input (waiting
 * for it), so that reading a backlog, when input never runs dry, makes no
 * partition idle however long another one's run lasts.
 */
struct pos {
	char *name;
	size_t len;     /* bytes of name */
	int64_t next;   /* the next offset to read; 0: no row of it yet */
	int64_t pmax;   /* ms, its latest event time (has_max) */
	int has_max;
	int active;     /* assigned or sending, and not revoked */
	double heard;   /* caught_up_ms when it last sent a row or was assigned */
};
static struct pos *poss;
static size_t nposs, poscap, pos_last;
static int by_partition;     /* rows carry partitions: lateness per partition */
static js_want ctl_want;     /* the members of a control record */
static double caught_up_ms;  /* ms spent waiting for input, up to drained_at */
static double drained_at;    /* monotonic s when the input last ran dry (drained) */
static int drained;
static uint64_t n_late_idle; /* rows late only because their window had closed */
static char *cfg_text;            /* the configuration a snapshot must match */
static char *cfg_text_v2;         /* the same as versions 1 and 2 wrote it */
static int64_t ckpt_next_id = 1;
static int64_t ckpt_oldest = 1;   /* the oldest snapshot id that may be on disk */
static int64_t ckpt_last_id;      /* the snapshot taken or restored last, 0: none */
static uint64_t written_at_ckpt;  /* n_written at its record */
static double ckpt_t0;            /* monotonic s of the last snapshot */
static uint64_t rows_since_ckpt, n_ckpts;
static double ckpt_ms_total, ckpt_ms_last; /* ms spent writing snapshots */

static void
help(void)
{
	printf("usage: winagg " USAGE "\n"
	       "Aggregate NDJSON rows over event-time windows (Spark Structured Streaming semantics).\n\n"
	       "  -w, --window DUR          window length (default 60s)\n"
	       "  -s, --slide DUR           slide; shorter than the window gives sliding windows\n"
	       "                            (default: the window, tumbling)\n"
	       "      --offset DUR          shift window starts from the epoch (|offset| < slide)\n"
	       "  -t, --time-field NAME     event time field (default ts): RFC 3339 or epoch number\n"
	       "      --time-unit s|ms|us   unit of numeric times (default ms)\n"
	       "  -g, --group-by LIST       comma-separated group fields (default shopid,region)\n"
	       "  -a, --agg NAME=FUNC(FIELD)  aggregate: count, sum, min, max, avg; repeatable\n"
	       "                            (default -a orders=count -a items=sum(count))\n"
	       "  -W, --watermark DUR       allowed lateness behind the latest event time\n"
	       "  -m, --mode MODE           update (default), append (needs -W) or complete\n"
	       "      --trigger-rows N      end a micro-batch every N input rows\n"
	       "      --trigger-interval DUR  end a micro-batch at least every DUR of wall time\n"
	       "      --late FILE           append late rows (their original line) to FILE\n"
	       "      --idle-timeout DUR    rows with \"_pos\" (kcat-out --positions): a partition\n"
	       "                            quiet this long while winagg waits for input stops\n"
	       "                            holding windows open (default 10s; 0: never)\n"
	       "      --checkpoint DIR      snapshot the state and input positions into DIR at batch\n"
	       "                            ends, then write {\"_checkpoint\":{\"id\":N,...}} on stdout\n"
	       "      --checkpoint-interval DUR  at most one snapshot per DUR (default 1s)\n"
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
	       "  -v, --verbose             counters on stderr at exit\n"
	       "  -h, --help                this help\n"
	       "  -V, --version             version of winagg and its libraries\n\n"
	       "DUR: a number with an optional unit ms, s, m, h, d (a bare number is seconds).\n"
	       "See winagg(1).\n");
}

enum { OPT_OFFSET = CLI_OPT_FIRST_PRIVATE, OPT_TIME_UNIT, OPT_TRIGGER_ROWS, OPT_TRIGGER_INTERVAL,
       OPT_LATE, OPT_CHECKPOINT, OPT_CHECKPOINT_INTERVAL, OPT_CHECKPOINT_KEEP, OPT_RESTORE,
       OPT_RESTORE_INFO, OPT_IDLE_TIMEOUT };

/* ,"name": as JSON, for the output rows. */
struct membuf {
	char *p;
	size_t len;
};

static void
to_mem(void *arg, const char *s, size_t n)
{
	struct membuf *m = arg;

	memcpy(m->p + m->len, s, n);
	m->len += n;
}

static char *
make_head(const char *name, size_t *len)
{
	size_t n = strlen(name);
	struct membuf m = {malloc(n * 6 + 8), 0};

	if (!m.p)
		diag_die(DIAG_EX_FAIL, "out of memory");
	to_mem(&m, ",\"", 2);
	js_escape(name, n, 0, to_mem, &m);
	to_mem(&m, "\":", 2);
	*len = m.len;
	return m.p;
}

static void
add_agg(const char *spec)
{
	struct aggdef *a;
	const char *eq = strchr(spec, '='), *fn, *lp, *rp;
	size_t fl;
	int k;

	if (opt.naggs == MAX_AGGS)
		cli_usage_error(USAGE, "--agg: more than %d aggregates", MAX_AGGS);
	if (!eq || eq == spec)
		cli_usage_error(USAGE, "--agg: '%s' is not NAME=FUNC(FIELD)", spec);
	fn = eq + 1;
	lp = strchr(fn, '(');
	fl = lp ? (size_t)(lp - fn) : strlen(fn);
	for (k = 0; k < 5; k++)
		if (strlen(func_names[k]) == fl && strncmp(fn, func_names[k], fl) == 0)
			break;
	if (k == 5)
		cli_usage_error(USAGE, "--agg: unknown function in '%s' (count, sum, min, max, avg)", spec);
	a = &opt.aggs[opt.naggs++];
	if (!(a->name = strndup(spec, (size_t)(eq - spec))))
		diag_die(DIAG_EX_FAIL, "out of memory");
	a->fn = (enum func)k;
	a->field = NULL;
	if (lp) {
		rp = strchr(lp, ')');
		if (!rp || rp[1] != '\0')
			cli_usage_error(USAGE, "--agg: '%s' is not NAME=FUNC(FIELD)", spec);
		if (rp > lp + 1 && !(a->field = strndup(lp + 1, (size_t)(rp - lp - 1))))
			diag_die(DIAG_EX_FAIL, "out of memory");
	}
	if (a->fn == F_COUNT && a->field)
		cli_usage_error(USAGE, "--agg: count takes no field in '%s' (it counts rows)", spec);
	if (a->fn != F_COUNT && !a->field)
		cli_usage_error(USAGE, "--agg: %s needs a field in '%s'", func_names[k], spec);
	a->head = make_head(a->name, &a->headlen);
}

static void
free_opts(void)
{
	for (int i = 0; i < opt.naggs; i++) {
		free(opt.aggs[i].name);
		free(opt.aggs[i].field);
		free(opt.aggs[i].head);
	}
	for (int i = 0; i < opt.ngroup; i++)
		free(opt.group_head[i]);
	free(opt.group_buf);
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
	    {"checkpoint-keep", required_argument, NULL, OPT_CHECKPOINT_KEEP},
	    {"restore", required_argument, NULL, OPT_RESTORE},
	    {"restore-info", no_argument, NULL, OPT_RESTORE_INFO},
	    {"idle-timeout", required_argument, NULL, OPT_IDLE_TIMEOUT},
	    CLI_LONGOPTS,
	    {NULL, 0, NULL, 0}};
	const char *group = "shopid,region", *mode = "update";
	char *p, *tok, *save = NULL;
	int c, slide_set = 0;

	opt.size = 60000;
	opt.ckpt_interval = 1000;
	opt.ckpt_keep = CKPT_KEEP;
	opt.idle_ms = IDLE_TIMEOUT_MS;
	opt.time_field = "ts";
	opt.unit_num = opt.unit_den = 1;
	while ((c = getopt_long(argc, argv, CLI_SHORTOPTS "w:s:t:g:a:W:m:", longopts, NULL)) != -1) {
		switch (c) {
		case 'w': opt.size = cli_dur(USAGE, "--window", optarg, 0); break;
		case 's':
			opt.slide = cli_dur(USAGE, "--slide", optarg, 0);
			slide_set = 1;
			break;
		case OPT_OFFSET: opt.offset = cli_dur(USAGE, "--offset", optarg, 1); break;
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
		default:
			if (!cli_common(c, argv, &opt.cc, help, USAGE))
				cli_usage_error(USAGE, "unexpected option");
		}
	}
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
	if ((opt.size + opt.slide - 1) / opt.slide > MAX_WINDOWS_PER_ROW)
		cli_usage_error(USAGE, "--slide: a row would fall in more than %d windows",
		                MAX_WINDOWS_PER_ROW);
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
	if ((opt.restore || opt.restore_info) && !opt.ckpt_dir)
		cli_usage_error(USAGE, "--restore and --restore-info need --checkpoint DIR");
	if (opt.restore_info && !opt.restore)
		cli_usage_error(USAGE, "--restore-info needs --restore ID|latest|committed");

	opt.group_buf = strdup(group);
	if (!opt.group_buf)
		diag_die(DIAG_EX_FAIL, "out of memory");
	for (p = opt.group_buf; (tok = strtok_r(p, ",", &save)) != NULL; p = NULL) {
		if (opt.ngroup == MAX_GROUP_FIELDS)
			cli_usage_error(USAGE, "--group-by: more than %d fields", MAX_GROUP_FIELDS);
		opt.group[opt.ngroup++] = tok;
	}
	if (opt.naggs == 0) {
		add_agg("orders=count");
		add_agg("items=sum(count)");
	}
	/* Output names must be distinct: they become JSON members and columns. */
	{
		const char *names[3 + MAX_GROUP_FIELDS + MAX_AGGS];
		int n = 0;
		names[n++] = "rowkey";
		names[n++] = "window_start";
		names[n++] = "window_end";
		for (int i = 0; i < opt.ngroup; i++)
			names[n++] = opt.group[i];
		for (int i = 0; i < opt.naggs; i++)
			names[n++] = opt.aggs[i].name;
		for (int i = 0; i < n; i++)
			for (int j = 0; j < i; j++)
				if (strcmp(names[i], names[j]) == 0)
					cli_usage_error(USAGE, "output field '%s' named twice (group or aggregate)",
					                names[i]);
	}
	for (int i = 0; i < opt.ngroup; i++)
		opt.group_head[i] = make_head(opt.group[i], &opt.group_headlen[i]);
}

/* ---- state: hash table, windows, dirty list ---- */

static size_t
ent_size(uint32_t klen)
{
	return sizeof(struct ent) + sizeof(struct aggst) * (size_t)opt.naggs + klen;
}

static inline char *
ent_key(struct ent *e)
{
	return (char *)(e->a + opt.naggs);
}

static void
table_resize(size_t ncap)
{
	struct slot *old = table;
	size_t ocap = tcap;

	table = calloc(ncap, sizeof(*table));
	if (!table)
		diag_die(DIAG_EX_FAIL, "out of memory (%zu state slots)", ncap);
	tcap = ncap;
	for (size_t i = 0; i < ocap; i++) {
		if (!old[i].e)
			continue;
		size_t j = old[i].hash & (tcap - 1);
		while (table[j].e)
			j = (j + 1) & (tcap - 1);
		table[j] = old[i];
	}
	free(old);
}

static inline uint64_t
slot_hash(uint64_t khash, int64_t wstart)
{
	return khash ^ ((uint64_t)wstart * 0x9e3779b97f4a7c15ULL);
}

static struct ent *
table_find(uint64_t h, int64_t wstart, const char *key, uint32_t klen)
{
	size_t j = h & (tcap - 1);

	for (; table[j].e; j = (j + 1) & (tcap - 1)) {
		struct ent *e = table[j].e;
		if (table[j].hash == h && e->wstart == wstart && e->klen == klen &&
		    memcmp(ent_key(e), key, klen) == 0)
			return e;
	}
	return NULL;
}

/* Deletes e, shifting later members of its probe run back (no tombstones). */
static void
table_delete(struct ent *e)
{
	size_t j = e->hash & (tcap - 1), k;

	while (table[j].e != e)
		j = (j + 1) & (tcap - 1);
	table[j].e = NULL;
	for (k = (j + 1) & (tcap - 1); table[k].e; k = (k + 1) & (tcap - 1)) {
		size_t home = table[k].hash & (tcap - 1);
		/* Move k into the hole at j if its home is not in (j, k]. */
		if ((j < k) ? (home <= j || home > k) : (home <= j && home > k)) {
			table[j] = table[k];
			table[k].e = NULL;
			j = k;
		}
	}
	tcount--;
}

static struct window *
window_get(int64_t start)
{
	size_t lo = 0, hi = nwins;

	if (nwins && wins[nwins - 1].start == start)
		return &wins[nwins - 1];
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (wins[mid].start < start)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo < nwins && wins[lo].start == start)
		return &wins[lo];
	if (nwins == wcap) {
		wcap = wcap ? wcap * 2 : 16;
		wins = realloc(wins, wcap * sizeof(*wins));
		if (!wins)
			diag_die(DIAG_EX_FAIL, "out of memory");
	}
	memmove(&wins[lo + 1], &wins[lo], (nwins - lo) * sizeof(*wins));
	nwins++;
	wins[lo] = (struct window){.start = start, .end = start + opt.size};
	return &wins[lo];
}

static struct ent *
ent_new(uint64_t h, int64_t wstart, const char *key, uint32_t klen)
{
	struct ent *e = calloc(1, ent_size(klen));
	struct window *w;
	size_t j;

	if (!e)
		diag_die(DIAG_EX_FAIL, "out of memory (%zu live groups)", tcount);
	e->hash = h;
	e->wstart = wstart;
	e->wend = wstart + opt.size;
	e->klen = klen;
	memcpy(ent_key(e), key, klen);
	if ((tcount + 1) * 2 > tcap)
		table_resize(tcap * 2);
	j = h & (tcap - 1);
	while (table[j].e)
		j = (j + 1) & (tcap - 1);
	table[j].hash = h;
	table[j].e = e;
	tcount++;
	if (tcount > peak_groups)
		peak_groups = tcount;
	w = window_get(wstart);
	if (w->tail)
		w->tail->next = e;
	else
		w->head = e;
	w->tail = e;
	w->nents++;
	return e;
}

static void
mark_dirty(struct ent *e)
{
	if (e->stamp == batch_no)
		return;
	e->stamp = batch_no;
	if (opt.mode != MODE_UPDATE)
		return;
	if (ndirty == dcap) {
		dcap = dcap ? dcap * 2 : 1024;
		dirty = realloc(dirty, dcap * sizeof(*dirty));
		if (!dirty)
			diag_die(DIAG_EX_FAIL, "out of memory");
	}
	dirty[ndirty++] = e;
}

/* ---- partitions ---- */

/* The index of position NAME, added (next offset 0) when new. Rows of one
 * partition usually come in runs (pos_last); otherwise a small
 * open-addressing index keyed by the name's hash (pos_slot, slots hold an
 * index + 1). */
static uint32_t *pos_slot;
static size_t pos_nslot;

static size_t
pos_find(const char *name, size_t nlen)
{
	size_t j;

	if (pos_last < nposs && poss[pos_last].len == nlen &&
	    memcmp(poss[pos_last].name, name, nlen) == 0)
		return pos_last;
	if ((nposs + 1) * 2 > pos_nslot) {
		pos_nslot = pos_nslot ? pos_nslot * 2 : 64;
		free(pos_slot);
		if (!(pos_slot = calloc(pos_nslot, sizeof(*pos_slot))))
			diag_die(DIAG_EX_FAIL, "out of memory");
		for (size_t i = 0; i < nposs; i++) {
			j = hs_hash(poss[i].name, poss[i].len, 0) & (pos_nslot - 1);
			while (pos_slot[j])
				j = (j + 1) & (pos_nslot - 1);
			pos_slot[j] = (uint32_t)i + 1;
		}
	}
	for (j = hs_hash(name, nlen, 0) & (pos_nslot - 1); pos_slot[j]; j = (j + 1) & (pos_nslot - 1)) {
		struct pos *q = &poss[pos_slot[j] - 1];
		if (q->len == nlen && memcmp(q->name, name, nlen) == 0)
			return pos_last = pos_slot[j] - 1;
	}
	if (nposs == poscap) {
		poscap = poscap ? poscap * 2 : 16;
		if (!(poss = realloc(poss, poscap * sizeof(*poss))))
			diag_die(DIAG_EX_FAIL, "out of memory");
	}
	if (!(poss[nposs].name = strndup(name, nlen)))
		diag_die(DIAG_EX_FAIL, "out of memory");
	poss[nposs].len = nlen;
	poss[nposs].next = 0;
	poss[nposs].has_max = 0;
	poss[nposs].active = 1;
	poss[nposs].heard = caught_up_ms;
	pos_slot[j] = (uint32_t)nposs + 1;
	return pos_last = nposs++;
}

/* A row's "_pos":"TOPIC/P/OFFSET": its partition's index and the offset;
 * NULL, or the reason it is not a position. Missing: *part is -1. */
static const char *
row_part(const js_val *v, int *part, int64_t *off)
{
	const char *s = v->p, *e = v->p + v->n, *d = e;

	*part = -1;
	if (v->type == JS_MISSING)
		return NULL;
	if (v->type != JS_STR || v->esc)
		return "field '_pos' is not a string TOPIC/PARTITION/OFFSET";
	while (d > s && (unsigned char)(d[-1] - '0') < 10)
		d--;
	if (d == e || e - d > 18 || d - 1 <= s || d[-1] != '/')
		return "field '_pos' is not a string TOPIC/PARTITION/OFFSET";
	*off = 0;
	for (const char *c = d; c < e; c++)
		*off = *off * 10 + (*c - '0');
	*part = (int)pos_find(s, (size_t)(d - 1 - s));
	by_partition = 1;
	return NULL;
}

/* A watermark behind t by the delay (the earliest time on overflow). */
static int64_t
behind(int64_t t)
{
	int64_t w;

	return __builtin_sub_overflow(t, opt.delay, &w) ? INT64_MIN : w;
}

/* The caught-up time now: ms spent waiting for input so far. */
static double
caught_up_now(void)
{
	return caught_up_ms + (drained ? (tm_mono_s() - drained_at) * 1000.0 : 0);
}

static int
part_idle(const struct pos *q, double cu)
{
	return opt.idle_ms && cu - q->heard >= (double)opt.idle_ms;
}

/*
 * The watermark of partitioned input: the least of the partitions'
 * (latest event time - delay) over those not idle, or the greatest when
 * all are idle (Flink's rule); an assigned partition that has sent nothing
 * and is not idle holds it where it is. It never moves back.
 */
static void
wm_partitions(void)
{
	double cu = caught_up_now();
	int64_t lo = INT64_MAX, hi = INT64_MIN;
	int live = 0;

	for (size_t i = 0; i < nposs; i++) {
		const struct pos *q = &poss[i];
		int idle = part_idle(q, cu);
		if (!q->active)
			continue;
		if (!q->has_max) {
			if (!idle)
				return;
			continue;
		}
		int64_t w = behind(q->pmax);
		if (w > hi)
			hi = w;
		if (!idle) {
			live = 1;
			if (w < lo)
				lo = w;
		}
	}
	if (!live)
		lo = hi;
	if (lo != INT64_MIN && lo != INT64_MAX && (!wm_set || lo > wm)) {
		wm = lo;
		wm_set = 1;
	}
}

/* Partitions named by kcat-out's {"_assigned":[...]} or {"_revoked":[...]}
 * (arr: the array's text): an assigned partition holds windows open until
 * it sends rows or goes idle, so that one whose rows come last in a backlog
 * does not find its windows closed; a revoked one holds nothing. */
static const char *
parts_named(const js_val *arr, int assigned)
{
	const char *p = arr->p, *e = arr->p + arr->n;

	for (p++; p < e; p++) {
		const char *q;
		size_t i;
		if (*p == ' ' || *p == ',' || *p == ']' || *p == '\t')
			continue;
		if (*p != '"')
			return "a partition list holds only strings \"TOPIC/PARTITION\"";
		for (q = ++p; q < e && *q != '"' && *q != '\\'; q++)
			;
		if (q == e || *q != '"' || q == p)
			return "a partition name is a plain string \"TOPIC/PARTITION\"";
		i = pos_find(p, (size_t)(q - p));
		poss[i].active = assigned;
		poss[i].heard = caught_up_ms;
		p = q;
	}
	by_partition = 1;
	return NULL;
}

/* A control record of kcat-out (text starts {"_): 1 handled (or rejected),
 * 0 not one (a row), -1 a bad one that stops the run. */
static int
control(const nd_rec *r)
{
	static const char *names[] = {"_assigned", "_revoked"};
	js_want *w = &ctl_want;
	js_val v[2];
	js_err err;
	const char *why;
	char msg[200];

	if (r->len < 14 || memcmp(r->text, "{\"_", 3) != 0 ||
	    (memcmp(r->text + 3, "assigned\":", 10) != 0 && memcmp(r->text + 3, "revoked\":", 9) != 0))
		return 0;
	if (!w->n)
		js_want_init(w, names, 2);
	if (nd_scan(r, w, v, &err, msg, sizeof(msg)) < 0)
		return rej_bad(&rejects, r->file, r->lineno, r->text, r->len, msg) < 0 ? -1 : 1;
	for (int k = 0; k < 2; k++) {
		if (v[k].type == JS_MISSING)
			continue;
		why = v[k].type == JS_ARR ? parts_named(&v[k], k == 0)
		                          : "'_assigned' and '_revoked' take an array of partitions";
		if (why)
			return rej_bad(&rejects, r->file, r->lineno, r->text, r->len, why) < 0 ? -1 : 1;
	}
	return 1;
}

/* ---- output ---- */

/* Appends s to the rowkey with '%' and '|' percent-encoded; -1 if past the limit. */
static int
rk_put(char *rk, size_t *len, const char *s, size_t n)
{
	size_t k = js_key_put(rk + *len, ROWKEY_MAX - *len, s, n);

	if (k == (size_t)-1)
		return -1;
	*len += k;
	return 0;
}

/*
 * The rowkey: "START/END/V1|V2|…" with START and END as in window_start and
 * window_end and each group value as its JSON text ('%' and '|' in it
 * percent-encoded), or, when that would pass 255 bytes, "START/END/#" and 32
 * hex digits of a 128-bit hash of the group values. A JSON text never starts
 * with '#', so the two forms cannot meet.
 */
static size_t
make_rowkey(struct ent *e, const char *ws, const char *we, char *rk)
{
	size_t len = 0;
	const char *k = ent_key(e), *end = k + e->klen;

	memcpy(rk, ws, TM_RFC3339_LEN);
	rk[TM_RFC3339_LEN] = '/';
	memcpy(rk + TM_RFC3339_LEN + 1, we, TM_RFC3339_LEN);
	rk[2 * TM_RFC3339_LEN + 1] = '/';
	len = 2 * TM_RFC3339_LEN + 2;
	for (int g = 0; g < opt.ngroup; g++) {
		const char *v = k;
		while (k < end && *k != '\0')
			k++;
		if (g > 0) {
			if (len + 1 > ROWKEY_MAX)
				goto hashed;
			rk[len++] = '|';
		}
		if (rk_put(rk, &len, v, (size_t)(k - v)) < 0)
			goto hashed;
		k++;
	}
	return len;
hashed:
	{
		static const char hex[] = "0123456789abcdef";
		uint64_t h1 = hs_hash(ent_key(e), e->klen, 0x6f72647069706531ULL);
		uint64_t h2 = hs_hash(ent_key(e), e->klen, 0x77696e6167673232ULL);
		len = 2 * TM_RFC3339_LEN + 2;
		rk[len++] = '#';
		for (int i = 15; i >= 0; i--)
			rk[len++] = hex[(h1 >> (4 * i)) & 15];
		for (int i = 15; i >= 0; i--)
			rk[len++] = hex[(h2 >> (4 * i)) & 15];
		return len;
	}
}

static void
put_aggval(const struct aggdef *d, const struct aggst *s)
{
	switch (d->fn) {
	case F_COUNT:
		js_out_i64(s->n);
		return;
	case F_AVG:
		if (s->n == 0)
			out_write("null", 4);
		else
			js_out_double(s->d / (double)s->n);
		return;
	default:
		if (s->kind == 0)
			out_write("null", 4);
		else if (s->kind == 1)
			js_out_i64(s->i);
		else
			js_out_double(s->d);
	}
}

static void
emit(struct ent *e)
{
	char ws[TM_RFC3339_LEN], we[TM_RFC3339_LEN], rk[ROWKEY_MAX + 1];
	const char *k = ent_key(e);
	size_t rklen;

	tm_format_rfc3339(e->wstart, ws);
	tm_format_rfc3339(e->wend, we);
	rklen = make_rowkey(e, ws, we, rk);
	out_write("{\"rowkey\":", 10);
	js_out_str(rk, rklen);
	out_write(",\"window_start\":\"", 17);
	out_write(ws, TM_RFC3339_LEN);
	out_write("\",\"window_end\":\"", 16);
	out_write(we, TM_RFC3339_LEN);
	out_byte('"');
	for (int g = 0; g < opt.ngroup; g++) {
		size_t n = strlen(k);
		out_write(opt.group_head[g], opt.group_headlen[g]);
		out_write(k, n);
		k += n + 1;
	}
	for (int i = 0; i < opt.naggs; i++) {
		out_write(opt.aggs[i].head, opt.aggs[i].headlen);
		put_aggval(&opt.aggs[i], &e->a[i]);
	}
	out_write("}\n", 2);
	out_end_record();
	n_written++;
}

/* Evicts every window whose end is at or before limit, emitting in append mode. */
static void
evict(int64_t limit, int all)
{
	size_t k = 0;

	while (k < nwins && (all || wins[k].end <= limit)) {
		struct ent *e = wins[k].head, *next;
		for (; e; e = next) {
			next = e->next;
			if (opt.mode == MODE_APPEND)
				emit(e);
			table_delete(e);
			free(e);
			n_evicted++;
		}
		k++;
	}
	if (k) {
		memmove(wins, wins + k, (nwins - k) * sizeof(*wins));
		nwins -= k;
	}
	if (tcap > 1024 && tcount * 8 < tcap)
		table_resize(tcap / 2); /* memory follows live state */
}

static void checkpoint(void);
static void wm_partitions(void);

/* Partitioned input: each row was judged by its own partition; windows
 * close as soon as every partition that is not idle is past them. */
static void
close_partitioned(void)
{
	wm_partitions();
	if (wm_set && opt.mode != MODE_COMPLETE)
		evict(wm, 0);
}

/* ms until a snapshot is due (0: now), -1 when none is: there must be
 * rows or output it would cover. */
static int
ckpt_due(void)
{
	double left;

	if (!opt.ckpt_dir || (!rows_since_ckpt && n_written == written_at_ckpt))
		return -1;
	left = (double)opt.ckpt_interval - (tm_mono_s() - ckpt_t0) * 1000.0;
	return left <= 0 ? 0 : left > 1e9 ? 1000000000 : (int)left + 1;
}

static void
end_batch(void)
{
	if (rows_in_batch == 0)
		return;
	if (opt.mode == MODE_UPDATE) {
		for (size_t i = 0; i < ndirty; i++)
			emit(dirty[i]);
		ndirty = 0;
	} else if (opt.mode == MODE_COMPLETE) {
		for (size_t k = 0; k < nwins; k++)
			for (struct ent *e = wins[k].head; e; e = e->next)
				emit(e);
	}
	if (opt.has_wm && by_partition) {
		close_partitioned();
	} else {
		if (opt.has_wm && wm_set && opt.mode != MODE_COMPLETE)
			evict(wm, 0);
		if (opt.has_wm && have_max && (!wm_set || behind(max_seen) > wm)) {
			wm = behind(max_seen);
			wm_set = 1;
		}
	}
	if (ckpt_due() == 0)
		checkpoint();
	batch_no++;
	n_batches++;
	rows_in_batch = 0;
	batch_t0 = opt.trigger_interval ? tm_mono_s() : 0;
	out_flush();
	out_check();
}

/* --stats: rows, late rows, live state and the watermark (ordpipe(7)). */
static void
stats(void)
{
	if (!st_due())
		return;
	st_begin(n_read, n_written, rejects.count);
	st_u64("late_rows", n_late_rows);
	st_u64("late_windows", n_late_pairs);
	st_u64("live_groups", tcount);
	st_u64("live_windows", nwins);
	st_time("watermark", wm_set, wm);
	st_time("max_event_time", have_max, max_seen);
	st_u64("batches", n_batches);
	st_u64("evicted", n_evicted);
	if (by_partition) {
		uint64_t live = 0, idle = 0;
		double cu = caught_up_now();
		for (size_t i = 0; i < nposs; i++) {
			live += poss[i].active;
			idle += poss[i].active && part_idle(&poss[i], cu);
		}
		st_u64("partitions", live);
		st_u64("idle_partitions", idle);
		st_u64("late_closed_rows", n_late_idle);
	}
	if (opt.ckpt_dir) {
		st_u64("checkpoints", n_ckpts);
		st_double("checkpoint_ms_last", ckpt_ms_last);
	}
	st_end();
}

/* ms until a partition that is not idle becomes idle (caught-up time),
 * -1 when none will. */
static int
idle_due(void)
{
	double cu, least = -1;

	if (!opt.has_wm || !by_partition || !opt.idle_ms || opt.mode == MODE_COMPLETE)
		return -1;
	cu = caught_up_now();
	for (size_t i = 0; i < nposs; i++) {
		double left = poss[i].heard + (double)opt.idle_ms - cu;
		if (poss[i].active && left > 0 && (least < 0 || left < least))
			least = left;
	}
	return least < 0 ? -1 : least > 1e9 ? 1000000000 : (int)least + 1;
}

/* Input is idle: the batch ends. Then wait here while something is due
 * before more input comes: a --stats line, a partition turning idle (its
 * windows may close), and the trailing snapshot, so that what was read
 * reaches a sink that commits at checkpoint records within the interval. */
static void
on_idle(const nd_reader *rd)
{
	if (!drained) {
		drained = 1;
		drained_at = tm_mono_s();
	}
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
		if (opt.has_wm && by_partition)
			close_partitioned(); /* a partition may have turned idle */
		if (ckpt_due() == 0)
			checkpoint();
	}
}

/* ---- one input row ---- */

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

/* A row's number for an aggregate: kind 0 (null/missing), 1 int, 2 double.
 * agg_input: 0, or -1 not a number, -2 an integer outside int64, -3 a
 * number outside the range of a double. */
struct num {
	int kind;
	int64_t i;
	double d;
};

static int
agg_input(const js_val *v, struct num *x)
{
	if (v->type == JS_MISSING || v->type == JS_NULL) {
		x->kind = 0;
		return 0;
	}
	if (v->type != JS_NUM)
		return -1;
	if (v->isint && js_to_i64(v, &x->i) == 0) {
		x->kind = 1;
		x->d = (double)x->i;
	} else if (v->isint) {
		return -2; /* as a double it would not be exact: 99999999999999999999 */
	} else {
		x->kind = 2;
		x->d = js_to_double(v);
		if (!isfinite(x->d))
			return -3; /* 1e400 */
	}
	return 0;
}

/* Is x less than the stored value? Exact for int64 against double. */
static int
num_less(const struct num *x, const struct aggst *s)
{
	if (x->kind == 1 && s->kind == 1)
		return x->i < s->i;
	long double a = x->kind == 1 ? (long double)x->i : (long double)x->d;
	long double b = s->kind == 1 ? (long double)s->i : (long double)s->d;
	return a < b;
}

static int
num_greater(const struct num *x, const struct aggst *s)
{
	if (x->kind == 1 && s->kind == 1)
		return x->i > s->i;
	long double a = x->kind == 1 ? (long double)x->i : (long double)x->d;
	long double b = s->kind == 1 ? (long double)s->i : (long double)s->d;
	return a > b;
}

static void
agg_apply(struct aggst *s, const struct aggdef *d, const struct num *x)
{
	if (d->fn == F_COUNT) {
		s->n++;
		return;
	}
	if (x->kind == 0)
		return;
	switch (d->fn) {
	case F_SUM:
		if (s->kind == 0) {
			s->kind = (uint8_t)x->kind;
			s->i = x->i;
			s->d = x->d;
		} else if (s->kind == 1 && x->kind == 1) {
			s->i += x->i; /* overflow was ruled out before */
		} else {
			if (s->kind == 1)
				s->d = (double)s->i;
			s->kind = 2;
			s->d += x->d;
		}
		break;
	case F_AVG:
		s->n++;
		s->d += x->d;
		break;
	case F_MIN:
	case F_MAX:
		if (s->kind == 0 || (d->fn == F_MIN ? num_less(x, s) : num_greater(x, s))) {
			s->kind = (uint8_t)x->kind;
			s->i = x->i;
			s->d = x->d;
		}
		break;
	default:
		break;
	}
}

static int
bad(const nd_rec *r, const char *why)
{
	return rej_bad(&rejects, r->file, r->lineno, r->text, r->len, why);
}

static char *unesc; /* ND_LINE_MAX bytes: a group value decoded */

/* Appends a group value's canonical JSON text and a NUL to key. */
static size_t
key_put(char *key, size_t len, const js_val *v)
{
	switch (v->type) {
	case JS_MISSING:
		memcpy(key + len, "null", 4);
		len += 4;
		break;
	case JS_STR:
		key[len++] = '"';
		if (!v->esc) {
			memcpy(key + len, v->p, v->n);
			len += v->n;
		} else {
			/* Decode, then escape minimally: equal strings, equal keys. */
			struct membuf m = {key, len};
			js_escape(unesc, js_unescape(v->p, v->n, unesc), 0, to_mem, &m);
			len = m.len;
		}
		key[len++] = '"';
		break;
	default:
		memcpy(key + len, v->p, v->n);
		len += v->n;
	}
	key[len++] = '\0';
	return len;
}

/* Where a row came from: its partition's index (-1: none) and offset. */
struct rowpos {
	int part;
	int64_t off;
};

/* The position of a line that is not valid JSON, if it ends in
 * "_pos":"TOPIC/P/OFFSET"} as kcat-out writes it. */
static void
tail_pos(const nd_rec *r, struct rowpos *rp)
{
	static const char tag[] = "\"_pos\":\"";
	const char *t = r->text, *e = r->text + r->len, *q;
	js_val v = {.type = JS_STR};

	if (r->too_long || r->len < sizeof(tag) + 2 || e[-1] != '}' || e[-2] != '"')
		return;
	for (q = e - 3; q > t && *q != '"'; q--)
		;
	if (q - t < (ptrdiff_t)sizeof(tag) - 1 || memcmp(q - (sizeof(tag) - 2), tag, sizeof(tag) - 1) != 0)
		return;
	v.p = q + 1;
	v.n = (uint32_t)(e - 2 - v.p);
	if (memchr(v.p, '\\', v.n) || row_part(&v, &rp->part, &rp->off) != NULL)
		rp->part = -1;
}

/* 0: row done (aggregated, late or rejected); -1: stop (bad row, no rejects). */
static int
process_row(const nd_rec *r, js_val *vals, char *key, struct rowpos *rp)
{
	static struct num xs[MAX_AGGS];
	static struct ent *ents[MAX_WINDOWS_PER_ROW];
	static int64_t starts[MAX_WINDOWS_PER_ROW];
	js_err err;
	const char *why;
	char msg[200];
	int64_t t, last_start;
	size_t klen = 0;
	uint64_t kh;
	int nw = 0, late = 0, closed = 0, judge = opt.has_wm && opt.mode != MODE_COMPLETE;
	int64_t plim = INT64_MIN;

	n_read++;
	rows_since_ckpt++;
	if (nd_scan(r, want_ptr, vals, &err, msg, sizeof(msg)) < 0) {
		/* still covered by a checkpoint when rejected, so that a restart
		 * does not reject it again: kcat-out writes "_pos" last */
		tail_pos(r, rp);
		return bad(r, msg);
	}
	if ((why = row_part(&vals[opt.pos_want], &rp->part, &rp->off)) != NULL)
		return bad(r, why);
	if ((why = row_time(&vals[0], &t)) != NULL)
		return bad(r, why);
	if (rp->part >= 0 && poss[rp->part].has_max)
		plim = behind(poss[rp->part].pmax);
	for (int i = 0; i < opt.naggs; i++) {
		int k = opt.aggs[i].field ? agg_input(&vals[opt.aggs[i].want], &xs[i]) : 0;
		if (k < 0) {
			snprintf(msg, sizeof(msg), "field '%s' %s", opt.aggs[i].field,
			         k == -1   ? "is not a number"
			         : k == -2 ? "is an integer outside the 64-bit range"
			                   : "is a number outside the range of a double");
			return bad(r, msg);
		}
	}
	for (int g = 0; g < opt.ngroup; g++)
		klen = key_put(key, klen, &vals[opt.gwant[g]]);
	kh = hs_hash(key, klen, 0);

	/* Spark's assignment: the latest window start at or before t, then back by slides. */
	last_start = t - tm_floormod(t - opt.offset, opt.slide);
	for (int64_t s = last_start; s > t - opt.size; s -= opt.slide) {
		int64_t wend;
		if (s < TM_MIN_MS || __builtin_add_overflow(s, opt.size, &wend) || wend > TM_MAX_MS) {
			snprintf(msg, sizeof(msg), "a window of this row falls outside the years 0000-9999");
			return bad(r, msg);
		}
		/* Partitioned: late by the rows before it in its own partition,
		 * or (after an idle partition resumed) its window has closed. */
		if (judge && rp->part >= 0 && s + opt.size <= plim) {
			late++;
			continue;
		}
		if (judge && wm_set && s + opt.size <= wm) {
			late++;
			closed += rp->part >= 0;
			continue;
		}
		starts[nw] = s;
		ents[nw] = table_find(slot_hash(kh, s), s, key, (uint32_t)klen);
		nw++;
	}
	/* Sums must not overflow, as integers or as doubles (a sum of inf
	 * would print as null and wipe out the others' contributions): check
	 * every window before changing any. */
	for (int i = 0; i < opt.naggs; i++) {
		if ((opt.aggs[i].fn != F_SUM && opt.aggs[i].fn != F_AVG) || xs[i].kind == 0)
			continue;
		for (int k = 0; k < nw; k++) {
			const struct aggst *a = ents[k] ? &ents[k]->a[i] : NULL;
			int64_t dummy;
			if (!a || (opt.aggs[i].fn == F_SUM && a->kind == 0))
				continue;
			if (opt.aggs[i].fn == F_SUM && a->kind == 1 && xs[i].kind == 1) {
				if (__builtin_add_overflow(a->i, xs[i].i, &dummy)) {
					snprintf(msg, sizeof(msg), "sum '%s' overflows a 64-bit integer",
					         opt.aggs[i].name);
					return bad(r, msg);
				}
			} else if (!isfinite((opt.aggs[i].fn == F_SUM && a->kind == 1 ? (double)a->i : a->d) +
			                     xs[i].d)) {
				snprintf(msg, sizeof(msg), "%s '%s' overflows a double",
				         opt.aggs[i].fn == F_SUM ? "sum" : "avg", opt.aggs[i].name);
				return bad(r, msg);
			}
		}
	}
	if (!have_max || t > max_seen) {
		max_seen = t;
		have_max = 1;
	}
	if (rp->part >= 0) {
		struct pos *q = &poss[rp->part];
		if (!q->has_max || t > q->pmax) {
			q->pmax = t;
			q->has_max = 1;
		}
		q->active = 1;
		q->heard = caught_up_ms;
	}
	for (int k = 0; k < nw; k++) {
		struct ent *e = ents[k];
		if (!e)
			e = ent_new(slot_hash(kh, starts[k]), starts[k], key, (uint32_t)klen);
		for (int i = 0; i < opt.naggs; i++)
			agg_apply(&e->a[i], &opt.aggs[i], &xs[i]);
		mark_dirty(e);
	}
	if (late) {
		n_late_pairs += (uint64_t)late;
		n_late_rows++;
		n_late_idle += closed > 0;
		if (late_fp) {
			fwrite(r->text, 1, r->len, late_fp);
			fputc('\n', late_fp);
		}
	}
	return 0;
}

/* A row, and with --checkpoint its position: covered once the row is done,
 * but not a bad row that stops the run (a restart must stop at it again). */
static int
process(const nd_rec *r, js_val *vals, char *key)
{
	struct rowpos rp = {-1, 0};
	int rc;

	rc = process_row(r, vals, key, &rp);
	if (rc == 0 && rp.part >= 0 && rp.off + 1 > poss[rp.part].next)
		poss[rp.part].next = rp.off + 1;
	return rc;
}

static int
want_index(const char **names, int *n, const char *name)
{
	for (int k = 0; k < *n; k++)
		if (strcmp(names[k], name) == 0)
			return k;
	names[*n] = name;
	return (*n)++;
}

static void
free_state(void)
{
	for (size_t k = 0; k < nwins; k++) {
		struct ent *e = wins[k].head, *next;
		for (; e; e = next) {
			next = e->next;
			free(e);
		}
	}
	free(wins);
	free(table);
	free(dirty);
	wins = NULL;
	table = NULL;
	dirty = NULL;
	nwins = wcap = tcap = tcount = ndirty = dcap = 0;
}

/* ---- checkpoints (ordpipe(7), CRASH-SAFE RESTART) ----
 *
 * A snapshot holds everything the stream's future depends on: the
 * watermark, the latest event time, every live (window, group) with its
 * aggregates, and the input positions that state covers. It is written at
 * a batch end, after the batch's rows, and made durable before the control
 * record {"_checkpoint":{"id":N,"positions":{...}}} goes out behind those
 * rows; so when the sink commits the record, snapshot N exists. Layout (host
 * byte order): magic, version, configuration text, id, watermark, latest
 * event time, positions, entries; then ck's checksum.
 */

/* The configuration a snapshot depends on, as text: restoring into another
 * window, grouping or aggregate would give wrong rows, so it is refused. */
static char *
cfg_text_of(int version)
{
	char *text = NULL;
	size_t len;
	FILE *f = open_memstream(&text, &len);

	if (!f)
		diag_die(DIAG_EX_FAIL, "out of memory");
	fprintf(f, "window=%lldms slide=%lldms offset=%lldms time=%s unit=%lld/%lld", (long long)opt.size,
	        (long long)opt.slide, (long long)opt.offset, opt.time_field, (long long)opt.unit_num,
	        (long long)opt.unit_den);
	if (opt.has_wm)
		fprintf(f, " watermark=%lldms", (long long)opt.delay);
	else
		fprintf(f, " watermark=none");
	fprintf(f, " mode=%s group=",
	        opt.mode == MODE_UPDATE ? "update" : opt.mode == MODE_APPEND ? "append" : "complete");
	for (int g = 0; g < opt.ngroup; g++)
		fprintf(f, "%s%s", g ? "," : "", opt.group[g]);
	fprintf(f, " aggs=");
	for (int i = 0; i < opt.naggs; i++) {
		fprintf(f, "%s%s=", i ? "," : "", opt.aggs[i].name);
		if (version >= 3)
			fprintf(f, "%s", func_names[opt.aggs[i].fn]);
		else
			fprintf(f, "%d", (int)opt.aggs[i].fn); /* the enum's value then */
		fprintf(f, "(%s)", opt.aggs[i].field ? opt.aggs[i].field : "");
	}
	if (fclose(f) != 0 || !text)
		diag_die(DIAG_EX_FAIL, "out of memory");
	return text;
}

static void
make_cfg_text(void)
{
	cfg_text = cfg_text_of(CKPT_VERSION);
	cfg_text_v2 = cfg_text_of(2);
}

/* {"id":N,"positions":{...}} through the out buffer. */
static void
put_ckpt_body(int64_t id)
{
	out_write("{\"id\":", 6);
	js_out_i64(id);
	out_write(",\"positions\":{", 14);
	for (size_t i = 0, n = 0; i < nposs; i++) {
		if (poss[i].next == 0)
			continue; /* assigned, no row read: it starts where it would */
		if (n++)
			out_byte(',');
		js_out_str(poss[i].name, poss[i].len);
		out_byte(':');
		js_out_i64(poss[i].next);
	}
	out_write("}}", 2);
}

static void
ckpt_name(char *buf, size_t n, int64_t id)
{
	snprintf(buf, n, "ckpt-%020lld", (long long)id);
}

/* DIR/ckpt-NNN of snapshot id. */
static void
ckpt_path(char *buf, size_t n, int64_t id)
{
	char name[48];

	ckpt_name(name, sizeof(name), id);
	snprintf(buf, n, "%s/%s", opt.ckpt_dir, name);
}

/* Little-endian whatever the host (versions 1 and 2 wrote host order, the
 * same on the little-endian machines that ran them). */
static void
put_le(ck_writer *w, uint64_t v, int n)
{
	unsigned char b[8];

	for (int k = 0; k < n; k++)
		b[k] = (unsigned char)(v >> (8 * k));
	ck_put(w, b, (size_t)n);
}

static void
put_u32(ck_writer *w, uint32_t v)
{
	put_le(w, v, 4);
}

static void
put_i64(ck_writer *w, int64_t v)
{
	put_le(w, (uint64_t)v, 8);
}

/* One aggregate's state, field by field. */
static void
put_aggst(ck_writer *w, const struct aggst *a)
{
	uint64_t d;

	memcpy(&d, &a->d, 8);
	put_le(w, a->kind, 1);
	put_i64(w, a->n);
	put_i64(w, a->i);
	put_le(w, d, 8);
}

/* The control record of snapshot ckpt_last_id: the sink commits every row
 * before it (mysql-replace --pipeline). */
static void
ckpt_record(void)
{
	out_write("{\"_checkpoint\":", 15);
	put_ckpt_body(ckpt_last_id);
	out_write("}\n", 2);
	out_end_record();
	out_flush();
	out_check();
	written_at_ckpt = n_written;
}

/* The id of the checkpoint the sink committed last, from DIR/committed
 * (written by mysql-replace --progress-file after each commit, and by
 * etl.sh at start): INT64_MAX when there is no such file, 0 when it cannot
 * be read as a checkpoint record (keep everything until the sink writes it
 * again). */
static int64_t
ckpt_committed(void)
{
	char path[PATH_MAX_CKPT];
	cp_record r;
	const char *why;
	int64_t id;

	snprintf(path, sizeof(path), "%s/" CKPT_COMMITTED, opt.ckpt_dir);
	if (cp_read(path, &r, &why) < 0)
		return strcmp(why, "cannot read") == 0 && errno == ENOENT ? INT64_MAX : 0;
	id = r.id;
	cp_free(&r);
	return id;
}

/* Removes the snapshots that are neither among the newest --checkpoint-keep
 * nor at or after the one the sink committed: that one is where a restart
 * resumes, and a stalled sink can be many snapshots behind. */
static void
ckpt_prune(void)
{
	char path[PATH_MAX_CKPT];
	int64_t below = ckpt_next_id - opt.ckpt_keep, committed;

	if (ckpt_oldest >= below)
		return;
	committed = ckpt_committed();
	if (committed < below)
		below = committed;
	for (; ckpt_oldest < below; ckpt_oldest++) {
		ckpt_path(path, sizeof(path), ckpt_oldest);
		unlink(path);
	}
}

/* Writes snapshot ckpt_next_id, then its control record; prunes old ones.
 * A failure (a full disk) stops winagg: the previous snapshots are intact. */
static void
checkpoint(void)
{
	char name[48];
	ck_writer w;
	uint64_t nents = tcount;
	double t0 = tm_mono_s();

	ckpt_name(name, sizeof(name), ckpt_next_id);
	if (ck_begin(&w, opt.ckpt_dir, name) < 0)
		diag_die(DIAG_EX_FAIL, "cannot write checkpoint '%s/%s.tmp': %s", opt.ckpt_dir, name,
		         strerror(errno));
	ck_put(&w, CKPT_MAGIC, 8);
	put_u32(&w, CKPT_VERSION);
	put_u32(&w, (uint32_t)strlen(cfg_text));
	ck_put(&w, cfg_text, strlen(cfg_text));
	put_i64(&w, ckpt_next_id);
	put_i64(&w, wm_set);
	put_i64(&w, wm);
	put_i64(&w, have_max);
	put_i64(&w, max_seen);
	put_u32(&w, (uint32_t)nposs);
	for (size_t i = 0; i < nposs; i++) {
		put_u32(&w, (uint32_t)poss[i].len);
		ck_put(&w, poss[i].name, poss[i].len);
		put_i64(&w, poss[i].next);
		put_i64(&w, poss[i].has_max);
		put_i64(&w, poss[i].pmax);
	}
	put_le(&w, nents, 8);
	for (size_t k = 0; k < nwins; k++)
		for (struct ent *e = wins[k].head; e; e = e->next) {
			put_i64(&w, e->wstart);
			put_u32(&w, e->klen);
			ck_put(&w, ent_key(e), e->klen);
			for (int i = 0; i < opt.naggs; i++)
				put_aggst(&w, &e->a[i]);
		}
	if (ck_commit(&w) < 0)
		diag_die(DIAG_EX_FAIL, "cannot write checkpoint '%s/%s': %s", opt.ckpt_dir, name,
		         strerror(errno));
	/* Durable: now the record may follow the rows it covers. */
	ckpt_last_id = ckpt_next_id;
	ckpt_record();
	ckpt_next_id++;
	ckpt_prune();
	n_ckpts++;
	rows_since_ckpt = 0;
	ckpt_t0 = tm_mono_s();
	ckpt_ms_last = (ckpt_t0 - t0) * 1000.0;
	ckpt_ms_total += ckpt_ms_last;
}

static int
cmp_desc(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return x < y ? 1 : x > y ? -1 : 0;
}

/* The snapshot ids in DIR, newest first; removes stale .tmp files. */
static int64_t *
ckpt_list(size_t *n)
{
	DIR *d = opendir(opt.ckpt_dir);
	struct dirent *de;
	int64_t *ids = NULL;
	size_t cap = 0;

	*n = 0;
	if (!d)
		diag_die(DIAG_EX_FAIL, "cannot read checkpoint directory '%s': %s", opt.ckpt_dir,
		         strerror(errno));
	while ((de = readdir(d)) != NULL) {
		const char *nm = de->d_name;
		size_t len = strlen(nm);
		if (strncmp(nm, "ckpt-", 5) != 0)
			continue;
		if (len == 29 && strcmp(nm + 25, ".tmp") == 0) {
			char path[PATH_MAX_CKPT];
			snprintf(path, sizeof(path), "%s/%s", opt.ckpt_dir, nm);
			unlink(path); /* a snapshot a crash interrupted */
			continue;
		}
		if (len != 25 || strspn(nm + 5, "0123456789") != 20)
			continue;
		if (*n == cap) {
			cap = cap ? cap * 2 : 16;
			if (!(ids = realloc(ids, cap * sizeof(*ids))))
				diag_die(DIAG_EX_FAIL, "out of memory");
		}
		ids[(*n)++] = strtoll(nm + 5, NULL, 10);
	}
	closedir(d);
	if (*n > 1)
		qsort(ids, *n, sizeof(*ids), cmp_desc);
	return ids;
}

/* Bounds-checked reading of a loaded snapshot. */
struct rd {
	const char *p;
	size_t len, off;
	int bad;
};

static const void *
take_bytes(struct rd *r, size_t n)
{
	const void *p;

	if (r->bad || r->len - r->off < n) {
		r->bad = 1;
		return NULL;
	}
	p = r->p + r->off;
	r->off += n;
	return p;
}

static uint64_t
take_le(struct rd *r, int n)
{
	const unsigned char *p = take_bytes(r, (size_t)n);
	uint64_t v = 0;

	for (int k = 0; p && k < n; k++)
		v |= (uint64_t)p[k] << (8 * k);
	return v;
}

static int64_t
take_i64(struct rd *r)
{
	return (int64_t)take_le(r, 8);
}

static uint32_t
take_u32(struct rd *r)
{
	return (uint32_t)take_le(r, 4);
}

/* struct aggst as versions 1 and 2 stored it, byte for byte (x86-64). */
struct aggst_v2 {
	int64_t n, i;
	double d;
	uint8_t kind;
};

static int
take_aggst(struct rd *r, uint32_t version, struct aggst *a)
{
	if (version <= 2) {
		struct aggst_v2 o;
		const void *p = take_bytes(r, sizeof(o));
		if (!p)
			return -1;
		memcpy(&o, p, sizeof(o));
		*a = (struct aggst){.n = o.n, .i = o.i, .d = o.d, .kind = o.kind};
	} else {
		uint64_t d;
		a->kind = (uint8_t)take_le(r, 1);
		a->n = take_i64(r);
		a->i = take_i64(r);
		d = take_le(r, 8);
		memcpy(&a->d, &d, 8);
	}
	return r->bad || a->kind > 2 ? -1 : 0;
}

/* Loads snapshot id into the (empty) state. 0 ok; -1 unusable (why set);
 * a snapshot of another configuration is fatal (exit 2). */
static int
ckpt_load(int64_t id, const char **why)
{
	char path[PATH_MAX_CKPT];
	size_t len;
	char *buf;
	struct rd r;
	uint32_t clen, np, version;
	uint64_t nents = 0;
	const char *c;

	ckpt_path(path, sizeof(path), id);
	if (!(buf = ck_load(path, &len, why)))
		return -1;
	r = (struct rd){buf, len, 0, 0};
	c = take_bytes(&r, 8);
	version = take_u32(&r);
	if (!c || memcmp(c, CKPT_MAGIC, 8) != 0 || version < 1 || version > CKPT_VERSION) {
		*why = "not an ordpipe winagg snapshot of version 1 to " CKPT_VERSION_S;
		free(buf);
		return -1;
	}
	clen = take_u32(&r);
	c = take_bytes(&r, clen);
	{
		const char *want = version >= 3 ? cfg_text : cfg_text_v2;
		if (c && (clen != strlen(want) || memcmp(c, want, clen) != 0))
			diag_die(DIAG_EX_USAGE,
			         "checkpoint '%s' was made with another configuration: %.*s; this run: %s",
			         path, (int)clen, c, want);
	}
	if (take_i64(&r) != id)
		r.bad = 1;
	wm_set = (int)take_i64(&r);
	wm = take_i64(&r);
	have_max = (int)take_i64(&r);
	max_seen = take_i64(&r);
	np = take_u32(&r);
	for (uint32_t i = 0; i < np && !r.bad; i++) {
		uint32_t nl = take_u32(&r);
		const char *nm = take_bytes(&r, nl);
		int64_t next = take_i64(&r), has = 0, pmax = 0;
		if (version >= 2) {
			has = take_i64(&r);
			pmax = take_i64(&r);
		}
		if (nm) {
			/* version 1 kept no event time per partition: its watermark,
			 * restored above, still holds eviction where it was */
			size_t k = pos_find(nm, nl); /* may move poss */
			poss[k].next = next;
			poss[k].has_max = has != 0;
			poss[k].pmax = pmax;
			by_partition = 1;
		}
	}
	nents = take_le(&r, 8);
	for (uint64_t i = 0; i < nents && !r.bad; i++) {
		int64_t ws = take_i64(&r);
		uint32_t kl = take_u32(&r);
		const char *key = take_bytes(&r, kl);
		if (!key)
			break;
		struct ent *e = ent_new(slot_hash(hs_hash(key, kl, 0), ws), ws, key, kl);
		for (int k = 0; k < opt.naggs; k++)
			if (take_aggst(&r, version, &e->a[k]) < 0)
				r.bad = 1;
	}
	free(buf);
	if (r.bad || r.off != r.len) {
		*why = "malformed";
		return -1;
	}
	return 0;
}

static int64_t restore_committed; /* --restore committed: the id DIR/committed names */

/* --restore: the newest usable snapshot at or before the one asked for;
 * the state is loaded and its id returned. */
static int64_t
restore(int64_t *ids, size_t n)
{
	int64_t want = strcmp(opt.restore, "latest") == 0 ? INT64_MAX : strtoll(opt.restore, NULL, 10);
	const char *why;

	if (strcmp(opt.restore, "committed") == 0)
		want = restore_committed;

	for (size_t i = 0; i < n; i++) {
		if (ids[i] > want)
			continue;
		if (ckpt_load(ids[i], &why) == 0) {
			if (ids[i] != want && want != INT64_MAX)
				diag_warn("restored checkpoint %lld instead of %lld", (long long)ids[i],
				          (long long)want);
			return ids[i];
		}
		diag_warn("checkpoint %lld in '%s' is unusable (%s); trying an older one",
		          (long long)ids[i], opt.ckpt_dir, why);
		free_state();
		for (size_t k = 0; k < nposs; k++)
			free(poss[k].name);
		nposs = 0;
		if (pos_slot)
			memset(pos_slot, 0, pos_nslot * sizeof(*pos_slot));
		table_resize(1024);
		wm_set = have_max = 0;
	}
	diag_die(DIAG_EX_FAIL, "no usable checkpoint %s %s in '%s'",
	         want == INT64_MAX ? "at all" : "at or before", want == INT64_MAX ? "" : opt.restore,
	         opt.ckpt_dir);
}

/* One winagg per checkpoint directory: two would write the same snapshot
 * ids, and one's start removes the other's snapshot in progress. A POSIX
 * lock on DIR/lock, held until exit (a kill releases it too). */
static void
ckpt_lock(void)
{
	char path[PATH_MAX_CKPT];
	struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET};
	int fd;

	snprintf(path, sizeof(path), "%s/lock", opt.ckpt_dir);
	if ((fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644)) < 0)
		diag_die(DIAG_EX_FAIL, "cannot open '%s': %s", path, strerror(errno));
	if (fcntl(fd, F_SETLK, &fl) == 0)
		return; /* fd stays open: closing it would release the lock */
	if (errno != EACCES && errno != EAGAIN)
		diag_die(DIAG_EX_FAIL, "cannot lock '%s': %s", path, strerror(errno));
	fl.l_type = F_WRLCK;
	if (fcntl(fd, F_GETLK, &fl) == 0 && fl.l_type != F_UNLCK)
		diag_die(DIAG_EX_FAIL, "checkpoint directory '%s' is in use by process %ld",
		         opt.ckpt_dir, (long)fl.l_pid);
	diag_die(DIAG_EX_FAIL, "checkpoint directory '%s' is in use by another process",
	         opt.ckpt_dir);
}

/* --checkpoint at start: the directory, the next id, and --restore. */
static void
ckpt_start(void)
{
	size_t n;
	int64_t *ids, id;

	if (mkdir(opt.ckpt_dir, 0755) != 0 && errno != EEXIST)
		diag_die(DIAG_EX_FAIL, "cannot create checkpoint directory '%s': %s", opt.ckpt_dir,
		         strerror(errno));
	ckpt_lock();
	make_cfg_text();
	ids = ckpt_list(&n);
	if (n > 0) {
		ckpt_next_id = ids[0] + 1; /* never reuse an id a sink may have seen */
		ckpt_oldest = ids[n - 1];
	} else {
		ckpt_oldest = ckpt_next_id;
	}
	if (opt.restore && strcmp(opt.restore, "committed") == 0) {
		/* the sink's last committed cut, as etl.sh writes it there at start */
		char path[PATH_MAX_CKPT];
		cp_record r;
		const char *why;
		snprintf(path, sizeof(path), "%s/" CKPT_COMMITTED, opt.ckpt_dir);
		if (cp_read(path, &r, &why) < 0) {
			if (strcmp(why, "cannot read") != 0 || errno != ENOENT)
				diag_die(DIAG_EX_FAIL, "--restore committed: '%s': %s%s%s", path, why,
				         strcmp(why, "cannot read") == 0 ? ": " : "",
				         strcmp(why, "cannot read") == 0 ? strerror(errno) : "");
			r.id = 0;
		}
		restore_committed = r.id;
		cp_free(&r);
		if (restore_committed == 0) {
			diag_info("nothing committed yet in '%s': starting empty", path);
			opt.restore = NULL; /* --restore-info then prints nothing */
		}
	}
	if (opt.restore) {
		id = restore(ids, n);
		ckpt_last_id = id;
		diag_info("restored checkpoint %lld: %zu live groups", (long long)id, tcount);
		if (opt.restore_info) {
			put_ckpt_body(id);
			out_byte('\n');
		}
	}
	free(ids);
	ckpt_t0 = tm_mono_s();
}

int
main(int argc, char **argv)
{
	const char *names[2 + MAX_GROUP_FIELDS + MAX_AGGS];
	int nnames = 0, status = DIAG_EX_OK;
	js_want want;
	js_val *vals;
	char *key;
	nd_reader *rd;
	nd_rec rec;
	int rc;

	diag_init(argv[0]);
	parse_opts(argc, argv);

	/* The scanner's wanted members, each name once (a group field may also be
	 * the time field or an aggregate's field). Index 0 is the time field. */
	names[nnames++] = opt.time_field;
	for (int g = 0; g < opt.ngroup; g++)
		opt.gwant[g] = want_index(names, &nnames, opt.group[g]);
	for (int i = 0; i < opt.naggs; i++)
		if (opt.aggs[i].field)
			opt.aggs[i].want = want_index(names, &nnames, opt.aggs[i].field);
	opt.pos_want = want_index(names, &nnames, "_pos");
	js_want_init(&want, names, nnames);
	want_ptr = &want;

	if (rej_open(&rejects, opt.cc.rejects) < 0)
		diag_die(DIAG_EX_FAIL, "cannot open rejects file '%s': %s", opt.cc.rejects,
		         strerror(errno));
	if (opt.late_path && !(late_fp = fopen(opt.late_path, "a")))
		diag_die(DIAG_EX_FAIL, "cannot open late-rows file '%s': %s", opt.late_path,
		         strerror(errno));
	sig_install(0);
	out_init(1, opt.cc.unbuffered);
	vals = calloc((size_t)nnames, sizeof(*vals));
	key = malloc(2 * KEY_MAX);
	unesc = malloc(ND_LINE_MAX);
	rd = nd_new(argv + optind, argc - optind);
	if (!vals || !key || !unesc || !rd)
		diag_die(DIAG_EX_FAIL, "out of memory");
	table_resize(1024);
	if (opt.ckpt_dir) {
		ckpt_start();
		if (opt.restore_info)
			goto done;
	}
	st_init(opt.cc.stats_ms);
	batch_t0 = opt.trigger_interval ? tm_mono_s() : 0;

	while (!sig_stop && (rc = nd_next_checked(rd, &rec)) != 0) {
		if (rc < 0) {
			status = DIAG_EX_FAIL;
			break;
		}
		if (rc == ND_IDLE) {
			on_idle(rd);
			continue;
		}
		if (drained) {
			caught_up_ms += (tm_mono_s() - drained_at) * 1000.0;
			drained = 0;
		}
		if ((rc = control(&rec)) != 0) {
			if (rc < 0) {
				status = DIAG_EX_BADINPUT;
				break;
			}
			continue;
		}
		if (process(&rec, vals, key) < 0) {
			status = DIAG_EX_BADINPUT;
			break;
		}
		rows_in_batch++;
		if (rows_in_batch >= (opt.trigger_rows ? opt.trigger_rows : BATCH_MAX_ROWS))
			end_batch();
		else if (opt.trigger_interval && (rows_in_batch & 63) == 0 &&
		         (tm_mono_s() - batch_t0) * 1000 >= (double)opt.trigger_interval)
			end_batch();
		if (opt.cc.stats_ms && (n_read & 1023) == 0)
			stats();
		out_check();
	}
	if (status == DIAG_EX_OK) {
		/* End of input (or a stop signal): the last batch, a last snapshot
		 * with the windows still open (a restart resumes them: the input may
		 * only have paused), then every window closes. */
		end_batch();
		if (opt.ckpt_dir && rows_since_ckpt)
			checkpoint();
		if (!sig_stop && opt.mode != MODE_COMPLETE)
			evict(0, 1);
		/* The rows closing the windows are committed too, under the same
		 * snapshot's record again: that snapshot has them open, so a
		 * restart from it writes them again if the stream goes on. */
		if (opt.ckpt_dir && ckpt_last_id && n_written > written_at_ckpt)
			ckpt_record();
	} else if (status == DIAG_EX_BADINPUT) {
		/* the rows before the bad one are good: snapshot them, so that a
		 * restart resumes at the bad row and says so again */
		end_batch();
		if (opt.ckpt_dir && rows_since_ckpt)
			checkpoint();
	}
	if (out_flush() < 0 && status == DIAG_EX_OK)
		status = DIAG_EX_FAIL;
	if (out_failed())
		diag_error("cannot write to standard output: %s", strerror(out_failed()));
	if (rej_finish(&rejects) < 0)
		status = DIAG_EX_FAIL;
	if (late_fp && fclose(late_fp) != 0) {
		diag_error("cannot write late-rows file '%s': %s", opt.late_path, strerror(errno));
		status = DIAG_EX_FAIL;
	}
	st_final();
	stats();
	diag_info("%llu rows read, %llu rows written, %llu rejected, %llu late rows (%llu late "
	          "windows), %llu batches, %llu groups evicted, %zu live groups (peak %llu)",
	          (unsigned long long)n_read, (unsigned long long)n_written,
	          (unsigned long long)rejects.count, (unsigned long long)n_late_rows,
	          (unsigned long long)n_late_pairs, (unsigned long long)n_batches,
	          (unsigned long long)n_evicted, tcount, (unsigned long long)peak_groups);
	if (n_late_idle)
		diag_info("%llu late rows were on time in their partition but their window had closed "
		          "(a partition idle or not yet assigned came in behind the others)",
		          (unsigned long long)n_late_idle);
	if (opt.ckpt_dir)
		diag_info("%llu checkpoints written in %.0f ms", (unsigned long long)n_ckpts,
		          ckpt_ms_total);
	if (sig_stop)
		diag_info("stopped by signal %d", (int)sig_stop);
done:
	if (opt.restore_info && out_flush() < 0)
		status = DIAG_EX_FAIL;
	nd_free(rd);
	st_free();
	for (size_t i = 0; i < nposs; i++)
		free(poss[i].name);
	free(poss);
	free(pos_slot);
	free(cfg_text);
	free(cfg_text_v2);
	free(vals);
	free(key);
	free(unesc);
	free_state();
	js_want_free(&want);
	if (ctl_want.n)
		js_want_free(&ctl_want);
	out_free();
	free_opts();
	return status;
}
