/*
 * ordgen: generates mock orders as NDJSON, fast and reproducibly.
 *
 * One order a line: {"orderid","itemid","shopid","region","count","ts"}.
 * Randomness comes from xoshiro256** seeded by --seed through splitmix64, and
 * event time from a synthetic clock (--start, --step) unless --rate is given
 * without --start, when it follows the wall clock. So the same seed and flags
 * give byte-identical output. orderids are a 64-bit bijection of the order's
 * index, hence unique within a run.
 *
 * The formatter is hand-written: the timestamp's date and time of day are
 * rendered once per second of event time and reused.
 */
#include <errno.h>
#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "diag.h"
#include "js.h"
#include "mem.h"
#include "out.h"
#include "sig.h"
#include "st.h"
#include "tm.h"

#define USAGE "[-n COUNT] [-r RATE] [--seed N] [--start TIME] [--step DUR] [OPTION]..."
#define MAX_REGIONS 256
#define DEFAULT_START "2026-01-01T00:00:00Z"

struct opts {
	long long count; /* orders to write, -1: endless */
	long long rate;  /* orders per second, 0: as fast as possible */
	uint64_t seed;
	int64_t start;   /* ms since epoch */
	int has_start;
	int64_t step;    /* ms of event time per order */
	int64_t disorder; /* ms, the most an order's ts lags the clock */
	uint32_t shops, items, max_count;
	char *regions[MAX_REGIONS];
	size_t region_len[MAX_REGIONS];
	uint32_t nregions;
	char *regions_buf;
	int unbuffered;
	int64_t stats_ms; /* --stats, 0 off */
	const char *stats_file; /* --stats-file */
	const char *metrics;    /* --metrics */
};

static void
help(void)
{
	printf("usage: ordgen " USAGE "\n"
	       "Generate mock orders as NDJSON on stdout.\n\n"
	       "  -n, --count N        write N orders, then stop (default: endless)\n"
	       "  -r, --rate N         at most N orders per second (default: as fast as possible)\n"
	       "      --seed N         random seed; the same seed and flags give the same output (default 1)\n"
	       "      --start TIME     event time of the first order, RFC 3339 (default " DEFAULT_START
	       ",\n"
	       "                       or the wall clock when --rate is given)\n"
	       "      --step DUR       event time between orders (default 1ms)\n"
	       "      --shops N        shop ids 1..N (default 100)\n"
	       "      --items N        item ids 1..N (default 10000)\n"
	       "      --regions LIST   comma-separated region codes (default SG,MY,TH,ID,VN,PH)\n"
	       "      --max-count N    items per order 1..N (default 5)\n"
	       "      --disorder DUR   each ts lags the clock by a random 0..DUR (default 0)\n"
	       "  -u, --unbuffered     flush after every order\n"
	       "  -q, --quiet          no progress line, no warnings\n"
	       "      --stats DUR      a JSON line of counters on stderr every DUR\n"
	       "      --stats-file FILE those lines to FILE (appended) instead; alone, the final one\n"
	       "      --metrics FILE   the same values for Prometheus (textfile), each period\n"
	       "  -v, --verbose        counters on stderr at exit\n"
	       "  -h, --help           this help\n"
	       "  -V, --version        version of ordgen and its libraries\n\n"
	       "DUR: a number with an optional unit ms, s, m, h, d (a bare number is seconds).\n"
	       "See ordgen(1).\n");
}

enum { OPT_SEED = CLI_OPT_FIRST_PRIVATE, OPT_START, OPT_STEP, OPT_SHOPS, OPT_ITEMS, OPT_REGIONS,
       OPT_MAXCOUNT, OPT_DISORDER };

static void
parse_regions(struct opts *o, const char *arg)
{
	char *p, *tok, *save = NULL;

	free(o->regions_buf);
	o->regions_buf = estrdup(arg);
	o->nregions = 0;
	for (p = o->regions_buf; (tok = strtok_r(p, ",", &save)) != NULL; p = NULL) {
		size_t len = strlen(tok);
		if (o->nregions == MAX_REGIONS)
			cli_usage_error(USAGE, "--regions: more than %d regions", MAX_REGIONS);
		if (len > 64)
			cli_usage_error(USAGE, "--regions: '%s' is longer than 64 bytes", tok);
		for (size_t i = 0; i < len; i++)
			if (tok[i] == '"' || tok[i] == '\\' || (unsigned char)tok[i] < 0x20)
				cli_usage_error(USAGE, "--regions: '%s' has a character that needs escaping",
				                tok);
		o->regions[o->nregions] = tok;
		o->region_len[o->nregions++] = len;
	}
	if (o->nregions == 0)
		cli_usage_error(USAGE, "--regions: empty list");
}

static void
parse_opts(struct opts *o, int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"count", required_argument, NULL, 'n'},  {"rate", required_argument, NULL, 'r'},
	    {"seed", required_argument, NULL, OPT_SEED}, {"start", required_argument, NULL, OPT_START},
	    {"step", required_argument, NULL, OPT_STEP}, {"shops", required_argument, NULL, OPT_SHOPS},
	    {"items", required_argument, NULL, OPT_ITEMS},
	    {"regions", required_argument, NULL, OPT_REGIONS},
	    {"max-count", required_argument, NULL, OPT_MAXCOUNT},
	    {"disorder", required_argument, NULL, OPT_DISORDER},
	    CLI_LONGOPTS_BASE,
	    {NULL, 0, NULL, 0}};
	struct cli_common cc = {0};
	const char *why;
	int c;

	o->count = -1;
	o->seed = 1;
	o->step = 1;
	o->shops = 100;
	o->items = 10000;
	o->max_count = 5;
	parse_regions(o, "SG,MY,TH,ID,VN,PH");
	while ((c = getopt_long(argc, argv, CLI_SHORTOPTS "n:r:", longopts, NULL)) != -1) {
		switch (c) {
		case 'n': o->count = cli_num(USAGE, "--count", optarg, 0, INT64_MAX); break;
		case 'r': o->rate = cli_num(USAGE, "--rate", optarg, 1, 1000000000); break;
		case OPT_SEED: o->seed = (uint64_t)cli_num(USAGE, "--seed", optarg, 0, INT64_MAX); break;
		case OPT_START:
			if (tm_parse_rfc3339(optarg, strlen(optarg), &o->start, &why) < 0)
				cli_usage_error(USAGE, "--start: bad time '%s': %s", optarg, why);
			o->has_start = 1;
			break;
		case OPT_STEP: o->step = cli_dur(USAGE, "--step", optarg, 0); break;
		case OPT_SHOPS: o->shops = (uint32_t)cli_num(USAGE, "--shops", optarg, 1, UINT32_MAX); break;
		case OPT_ITEMS: o->items = (uint32_t)cli_num(USAGE, "--items", optarg, 1, UINT32_MAX); break;
		case OPT_REGIONS: parse_regions(o, optarg); break;
		case OPT_MAXCOUNT:
			o->max_count = (uint32_t)cli_num(USAGE, "--max-count", optarg, 1, UINT32_MAX);
			break;
		case OPT_DISORDER: o->disorder = cli_dur(USAGE, "--disorder", optarg, 0); break;
		default:
			if (!cli_common(c, argv, &cc, help, USAGE))
				cli_usage_error(USAGE, "unexpected option");
		}
	}
	if (optind < argc)
		cli_usage_error(USAGE, "unexpected argument '%s'", argv[optind]);
	if (o->disorder > 1000LL * 86400 * 365)
		cli_usage_error(USAGE, "--disorder: at most 365d");
	if (!o->has_start && !o->rate) {
		tm_parse_rfc3339(DEFAULT_START, strlen(DEFAULT_START), &o->start, &why);
		o->has_start = 1;
	}
	if (o->has_start && o->count > 0) {
		/* every order's time must be printable: refused before the first */
		int64_t span, last;
		if (__builtin_mul_overflow((int64_t)(o->count - 1), o->step, &span) ||
		    __builtin_add_overflow(o->start, span, &last) || last > TM_MAX_MS ||
		    o->start - o->disorder < TM_MIN_MS)
			cli_usage_error(USAGE, "-n %lld orders from --start with --step %lldms (and "
			                       "--disorder) leave the years 0000-9999",
			                o->count, (long long)o->step);
	}
	o->unbuffered = cc.unbuffered;
	o->stats_ms = cc.stats_ms;
	o->stats_file = cc.stats_file;
	o->metrics = cc.metrics;
	cli_done(&cc, USAGE);
}

/* xoshiro256**: fast, 256 bits of state, good enough for mock data. */
struct rng {
	uint64_t s[4];
};

static uint64_t
splitmix64(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static inline uint64_t
rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

static inline uint64_t
rng_next(struct rng *r)
{
	uint64_t *s = r->s, res = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;

	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = rotl(s[3], 45);
	return res;
}

/* A value in [0, n) from 32 random bits (Lemire's multiply-shift). */
static inline uint32_t
bounded(uint32_t r, uint32_t n)
{
	return (uint32_t)(((uint64_t)r * n) >> 32);
}

/* A bijection on 64 bits: every step (xor-shift, odd multiply) is invertible. */
static inline uint64_t
mix64(uint64_t z)
{
	z = (z ^ (z >> 33)) * 0xff51afd7ed558ccdULL;
	z = (z ^ (z >> 33)) * 0xc4ceb9fe1a85ec53ULL;
	return z ^ (z >> 33);
}

static const char hexd[] = "0123456789abcdef";

static inline char *
put_u32(char *p, uint32_t v)
{
	return p + js_fmt_u64(v, p);
}

/* --stats: orders written so far. */
static void
stats(long long written)
{
	if (!st_due())
		return;
	st_begin(0, (uint64_t)written, 0);
	st_end();
}

/* Sleeps until order i is due under --rate, flushing first so nothing waits. */
static void
pace(const struct opts *o, long long i, double t0)
{
	double due = t0 + (double)i / (double)o->rate, now = tm_mono_s();

	if (now >= due)
		return;
	out_flush();
	out_check();
	stats(i);
	while (now < due && !sig_stop) {
		double d = due - now;
		struct timespec ts = {(time_t)d, (long)((d - (double)(time_t)d) * 1e9)};
		nanosleep(&ts, NULL);
		now = tm_mono_s();
	}
}

static void
progress(const struct opts *o, long long done, double t0, int last)
{
	double el = tm_mono_s() - t0, rate = el > 0 ? (double)done / el : 0;
	double eta = rate > 0 ? (double)(o->count - done) / rate : 0;

	fprintf(stderr, "\r%s: %lld/%lld (%.0f%%) %.2f M/s ETA %.0fs   %s", diag_prog, done, o->count,
	        o->count ? 100.0 * (double)done / (double)o->count : 100.0, rate / 1e6, eta,
	        last ? "\n" : "");
}

int
main(int argc, char **argv)
{
	struct opts o = {0};
	struct rng rng;
	uint64_t sm, idkey;
	int64_t cached_sec = INT64_MIN, clock;
	char tsbuf[TM_RFC3339_LEN];
	long long i, pace_every;
	double t0, last_prog;
	int show_progress;

	diag_init(argv[0]);
	parse_opts(&o, argc, argv);
	sig_install(0);
	out_init(1, o.unbuffered);

	sm = o.seed;
	for (int k = 0; k < 4; k++)
		rng.s[k] = splitmix64(&sm);
	idkey = splitmix64(&sm);
	clock = o.has_start ? o.start : tm_wall_ms();
	t0 = last_prog = tm_mono_s();
	pace_every = o.rate ? (o.rate / 1000 > 0 ? o.rate / 1000 : 1) : 0;
	show_progress = o.count > 0 && diag_verbosity >= 0 && isatty(2);
	if (st_start(o.stats_ms, o.stats_file, o.metrics, NULL, 0) < 0) /* no phases: it only writes */
		diag_die(DIAG_EX_FAIL, "cannot open stats file '%s': %s", o.stats_file, strerror(errno));

	for (i = 0; o.count < 0 || i < o.count; i++) {
		uint64_t r1, r2, id;
		int64_t ts;
		char *p;

		if (sig_stop)
			break;
		if (pace_every && i % pace_every == 0)
			pace(&o, i, t0);
		r1 = rng_next(&rng);
		r2 = rng_next(&rng);
		if (!o.has_start)
			clock = tm_wall_ms();
		ts = clock;
		if (o.disorder)
			ts -= (int64_t)(rng_next(&rng) % (uint64_t)(o.disorder + 1));
		if (ts < TM_MIN_MS || ts > TM_MAX_MS) {
			out_flush(); /* the orders before it are good */
			diag_die(DIAG_EX_FAIL, "event time left the years 0000-9999 after %lld orders", i);
		}
		if (tm_floordiv(ts, 1000) != cached_sec) {
			cached_sec = tm_floordiv(ts, 1000);
			tm_format_rfc3339(ts, tsbuf);
		} else {
			unsigned ms = (unsigned)tm_floormod(ts, 1000);
			tsbuf[20] = (char)('0' + ms / 100);
			tsbuf[21] = (char)('0' + ms / 10 % 10);
			tsbuf[22] = (char)('0' + ms % 10);
		}

		char *line = p = out_reserve(128 + 256);
		memcpy(p, "{\"orderid\":\"", 12);
		p += 12;
		id = mix64((uint64_t)i ^ idkey);
		for (int k = 15; k >= 0; k--)
			p[15 - k] = hexd[(id >> (k * 4)) & 15];
		p += 16;
		memcpy(p, "\",\"itemid\":", 11);
		p = put_u32(p + 11, 1 + bounded((uint32_t)r1, o.items));
		memcpy(p, ",\"shopid\":", 10);
		p = put_u32(p + 10, 1 + bounded((uint32_t)(r1 >> 32), o.shops));
		memcpy(p, ",\"region\":\"", 11);
		p += 11;
		{
			uint32_t reg = bounded((uint32_t)r2, o.nregions);
			memcpy(p, o.regions[reg], o.region_len[reg]);
			p += o.region_len[reg];
		}
		memcpy(p, "\",\"count\":", 10);
		p = put_u32(p + 10, 1 + bounded((uint32_t)(r2 >> 32), o.max_count));
		memcpy(p, ",\"ts\":\"", 7);
		memcpy(p + 7, tsbuf, TM_RFC3339_LEN);
		memcpy(p + 7 + TM_RFC3339_LEN, "\"}\n", 3);
		p += 7 + TM_RFC3339_LEN + 3;
		out_commit((size_t)(p - line));
		out_end_record();
		if (o.has_start)
			clock += o.step;
		if (o.stats_ms && (i & 1023) == 0)
			stats(i);
		if ((i & 0xffff) == 0) {
			out_check();
			if (show_progress && tm_mono_s() - last_prog >= 0.5) {
				last_prog = tm_mono_s();
				progress(&o, i, t0, 0);
			}
		}
	}
	if (show_progress)
		progress(&o, i, t0, 1);
	out_flush();
	out_check();
	st_final();
	stats(i);
	out_free();
	st_free();
	free(o.regions_buf);
	diag_info("%lld orders written", i);
	return DIAG_EX_OK;
}
