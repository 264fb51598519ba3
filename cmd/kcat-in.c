/*
 * kcat-in: NDJSON lines in, Kafka messages out, every delivery checked.
 *
 * Each input line must be one JSON object; it becomes one message whose value
 * is the line without insignificant whitespace. The key can be taken from
 * JSON fields (-k) so that equal keys land in one partition, and the message
 * timestamp from the record's event time (--ts-field).
 *
 * The producer is idempotent with acks=all. A message counts as sent only
 * when its delivery report says so: a failed delivery goes to the rejects
 * file (if any) with the reason, and makes the exit status 1. At end of input
 * or on SIGINT/SIGTERM the producer flushes for at most --flush-timeout;
 * what is still queued then is purged, reported and counted as not
 * delivered. Delivery reports are served on this thread (rd_kafka_poll), so
 * the -T output and the counters need no locking.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "diag.h"
#include "js.h"
#include "kc.h"
#include "mem.h"
#include "nd.h"
#include "out.h"
#include "rej.h"
#include "sig.h"
#include "st.h"
#include "tm.h"

#define USAGE "[-b BROKERS] [-t TOPIC] [-k FIELD[,FIELD]...] [OPTION]... [FILE]..."
#define DEFAULT_TOPIC "orders"
#define DEFAULT_FLUSH_TIMEOUT "30s"
#define MAX_KEY_FIELDS 16
#define KEY_MAX (3 * ND_LINE_MAX) /* bytes: every byte of a line percent-encoded */
#define SHOW_FAILED 10            /* failed deliveries printed without --rejects */
#define POLL_EVERY 1024           /* messages between two rd_kafka_poll(0) */
#define LINE_BITS 48              /* opaque: line number bits; the rest is the file */

enum { OPT_KEY_FIELD = CLI_OPT_FIRST_PRIVATE, OPT_TS_FIELD, OPT_FLUSH_TIMEOUT };

static struct opts {
	struct cli_common cc;
	struct kc_opts kc;
	const char *topic;
	int32_t partition; /* RD_KAFKA_PARTITION_UA: the partitioner picks */
	const char *keys[MAX_KEY_FIELDS];
	int nkeys;
	const char *ts_field;
	const char **hdrs; /* -H name=value */
	int nhdrs;
	const char *codec;        /* -z */
	long long count;          /* -c: messages to send, -1 all */
	int tee;                  /* -T */
	int64_t flush_timeout_ms; /* --flush-timeout */
} opt;

static rd_kafka_t *rk;
static rej rejects;
static int stop_reading;    /* a rejects write failed, or stdout closed under -T */
static uint64_t n_read, n_sent, n_acked, n_failed;
static const char **files; /* file names seen, indexed by the opaque's top bits */
static size_t nfiles, files_cap;

static void
help(void)
{
	printf("usage: kcat-in " USAGE "\n"
	       "Send NDJSON lines (standard input or FILEs) to a Kafka topic, one message a line.\n\n"
	       "  -b BROKERS           bootstrap servers (default $KAFKA_BROKERS, else " KC_DEFAULT_BROKERS
	       ")\n"
	       "  -t TOPIC             topic (default " DEFAULT_TOPIC ")\n"
	       "  -p PARTITION         partition, -1 for the partitioner (default -1)\n"
	       "  -k, --key-field LIST message key from these JSON fields, comma-separated\n"
	       "      --ts-field NAME  message timestamp from this field (RFC 3339 or epoch ms)\n"
	       "  -H NAME=VALUE        add a header to every message (repeatable)\n"
	       "  -z CODEC             compression: none, gzip, snappy, lz4, zstd (default none)\n"
	       "  -X NAME=VALUE        librdkafka property (repeatable; wins over -F)\n"
	       "  -F FILE              librdkafka properties file (NAME=VALUE lines)\n"
	       "  -m DUR               wait at most DUR for the cluster at start (default 10s)\n"
	       "  -c N                 send at most N messages\n"
	       "  -T, --tee            write each line to stdout once its delivery is confirmed\n"
	       "      --flush-timeout DUR  how long to wait for deliveries at the end (default " DEFAULT_FLUSH_TIMEOUT ")\n"
	       "      --rejects FILE   append bad lines and failed deliveries to FILE and go on\n"
	       "      --stats DUR      a JSON line of counters and queue depth on stderr every DUR\n"
	       "      --stats-file FILE those lines to FILE (appended) instead; alone, the final one\n"
	       "      --metrics FILE   the same values for Prometheus (textfile), each period\n"
	       "  -q, --quiet          no warnings\n"
	       "  -v, --verbose        counters at exit; -vv adds librdkafka's log\n"
	       "  -u, --unbuffered     with -T, flush each line\n"
	       "  -h, --help           this help\n"
	       "  -V, --version        versions of kcat-in and its libraries\n\n"
	       "Exit status: 0 every message delivered, 1 a delivery or runtime failure,\n"
	       "2 usage error, 3 stopped at a bad input line (without --rejects).\n");
}

static void
parse_opts(int argc, char **argv)
{
	static const struct option longopts[] = {
	    CLI_LONGOPTS,
	    {"key-field", required_argument, NULL, 'k'},
	    {"ts-field", required_argument, NULL, OPT_TS_FIELD},
	    {"tee", no_argument, NULL, 'T'},
	    {"flush-timeout", required_argument, NULL, OPT_FLUSH_TIMEOUT},
	    {NULL, 0, NULL, 0},
	};
	int c;

	opt.topic = DEFAULT_TOPIC;
	opt.partition = RD_KAFKA_PARTITION_UA;
	opt.count = -1;
	opt.flush_timeout_ms = cli_dur(USAGE, "--flush-timeout", DEFAULT_FLUSH_TIMEOUT, 0);
	kc_opts_init(&opt.kc, argc);
	opt.hdrs = ecalloc((size_t)argc + 1, sizeof(*opt.hdrs));
	while ((c = getopt_long(argc, argv, CLI_SHORTOPTS "b:t:p:k:H:z:X:F:m:c:T", longopts, NULL)) !=
	       -1) {
		if (kc_opt(&opt.kc, c, optarg, USAGE))
			continue;
		switch (c) {
		case 't':
			if (!*optarg)
				cli_usage_error(USAGE, "-t: empty topic name");
			opt.topic = optarg;
			break;
		case 'p':
			opt.partition = (int32_t)cli_num(USAGE, "-p", optarg, -1, INT32_MAX);
			break;
		case 'k': {
			char *s = optarg, *f, *whole = estrdup(optarg);
			if (opt.nkeys)
				cli_usage_error(USAGE, "-k: give the key fields once, comma-separated");
			for (f = s; f; f = s) {
				if ((s = strchr(f, ',')) != NULL)
					*s++ = '\0';
				if (!*f)
					cli_usage_error(USAGE, "-k: empty field name in '%s'", whole);
				if (opt.nkeys == MAX_KEY_FIELDS)
					cli_usage_error(USAGE, "-k: at most %d fields", MAX_KEY_FIELDS);
				for (int i = 0; i < opt.nkeys; i++)
					if (strcmp(opt.keys[i], f) == 0)
						cli_usage_error(USAGE, "-k: field '%s' given twice", f);
				opt.keys[opt.nkeys++] = f;
			}
			free(whole);
			break;
		}
		case OPT_TS_FIELD:
			if (!*optarg)
				cli_usage_error(USAGE, "--ts-field: empty field name");
			opt.ts_field = optarg;
			break;
		case 'H':
			if (!strchr(optarg, '=') || optarg[0] == '=')
				cli_usage_error(USAGE, "-H: expected NAME=VALUE, not '%s'", optarg);
			opt.hdrs[opt.nhdrs++] = optarg;
			break;
		case 'z':
			if (strcmp(optarg, "none") && strcmp(optarg, "gzip") && strcmp(optarg, "snappy") &&
			    strcmp(optarg, "lz4") && strcmp(optarg, "zstd"))
				cli_usage_error(USAGE, "-z: '%s' is not none, gzip, snappy, lz4 or zstd",
				                optarg);
			opt.codec = optarg;
			break;
		case 'c':
			opt.count = cli_num(USAGE, "-c", optarg, 0, INT64_MAX);
			break;
		case 'T':
			opt.tee = 1;
			break;
		case OPT_FLUSH_TIMEOUT:
			opt.flush_timeout_ms = cli_dur(USAGE, "--flush-timeout", optarg, 0);
			break;
		default:
			if (!cli_common(c, argv, &opt.cc, help, USAGE))
				cli_usage_error(USAGE, "unexpected option");
		}
	}
}

static uint32_t
file_index(const char *file)
{
	for (size_t i = nfiles; i-- > 0;)
		if (files[i] == file)
			return (uint32_t)i;
	files = egrow(files, &files_cap, nfiles + 1, sizeof(*files), 8);
	files[nfiles] = file;
	return (uint32_t)nfiles++;
}

/* A failed delivery: to the rejects file, or printed (the first few). */
static void
undelivered(const rd_kafka_message_t *m)
{
	uintptr_t op = (uintptr_t)m->_private;
	uint64_t line = op & ((UINT64_C(1) << LINE_BITS) - 1);
	const char *file = files[op >> LINE_BITS];
	char why[300];

	n_failed++;
	snprintf(why, sizeof(why), "not delivered to %s [%d]: %s", opt.topic, (int)m->partition,
	         rd_kafka_err2str(m->err));
	if (!rejects.fp) {
		if (n_failed <= SHOW_FAILED)
			diag_at(file, line, "%s", why);
		return;
	}
	if (rej_bad(&rejects, file, line, m->payload, m->len, why) < 0)
		stop_reading = 1;
}

static void
dr_cb(rd_kafka_t *h, const rd_kafka_message_t *m, void *opaque)
{
	if (m->err) {
		undelivered(m);
		return;
	}
	n_acked++;
	if (opt.tee && !out_failed()) {
		out_write(m->payload, m->len);
		out_byte('\n');
		out_end_record();
	}
}

/* --stats: lines in, messages delivered, failures and the local queue. */
static void
stats(void)
{
	if (!st_due())
		return;
	st_begin(n_read, n_acked, rejects.count);
	st_u64("sent", n_sent);
	st_u64("delivery_failures", n_failed);
	st_i64("queue_depth", rd_kafka_outq_len(rk));
	st_end();
}

/* Input is idle: serve delivery reports (and write -T lines) until input
 * comes or nothing is in flight, so a slow producer's lines are confirmed
 * promptly instead of at the next input. With --stats, keep waiting here
 * so that lines keep coming while the input is quiet. */
static void
on_idle(const nd_reader *rd)
{
	for (;;) {
		rd_kafka_poll(rk, 0);
		out_flush();
		stats();
		if (sig_stop)
			return;
		if (rd_kafka_outq_len(rk) > 0) {
			if (nd_wait(rd, 10))
				return;
		} else if (!opt.cc.stats_ms || nd_wait(rd, st_wait_ms())) {
			return;
		}
	}
}

static int
bad(const nd_rec *r, const char *why)
{
	if (rej_bad(&rejects, r->file, r->lineno, r->text, r->len, why) < 0)
		return -1;
	return 0;
}

/* Appends one key field's value to key: a string's content, else the JSON
 * text (a missing field is null). */
static size_t
key_value(const js_val *v, char *buf, const char **p)
{
	if (v->type == JS_MISSING) {
		*p = "null";
		return 4;
	}
	return js_text(v, buf, p);
}

/* The key: one field's value as it is; several joined with '|', each with
 * '%' and '|' percent-encoded. (size_t)-1 when it does not fit KEY_MAX. */
static size_t
make_key(const js_val *vals, char *key, char *tmp)
{
	const char *p;
	size_t n, len = 0;

	if (opt.nkeys == 1) {
		n = key_value(&vals[0], key, &p);
		if (p != key)
			memcpy(key, p, n);
		return n;
	}
	for (int i = 0; i < opt.nkeys; i++) {
		size_t k;
		if (i > 0) {
			if (len + 1 > KEY_MAX)
				return (size_t)-1;
			key[len++] = '|';
		}
		n = key_value(&vals[i], tmp, &p);
		if ((k = js_key_put(key + len, KEY_MAX - len, p, n)) == (size_t)-1)
			return (size_t)-1;
		len += k;
	}
	return len;
}

/* The message timestamp: the event time as winagg takes it (tm_json_time,
 * so that nothing kcat-in accepts stops winagg), and positive, as Kafka
 * needs. NULL, or the reason in why. */
static const char *
event_time(const js_val *v, int64_t *ms, char *why, size_t whylen)
{
	if (tm_json_time(v, opt.ts_field, 1, 1, ms, why, whylen))
		return why;
	if (*ms <= 0) {
		snprintf(why, whylen, "time field '%s': before 1970 (a Kafka timestamp must be positive)",
		         opt.ts_field);
		return why;
	}
	return NULL;
}

/* Sends one message; waits while the local queue is full. -1: a bad record
 * the policy stops at; -2: a client failure. */
static int
produce(const nd_rec *r, const char *val, size_t vlen, const char *key, size_t klen, int64_t ts,
        rd_kafka_topic_t *rkt, rd_kafka_headers_t *hdrs)
{
	uintptr_t op = ((uintptr_t)file_index(r->file) << LINE_BITS) | (uintptr_t)r->lineno;
	rd_kafka_resp_err_t err;
	enum st_phase was;
	char why[300];

	for (;;) {
		if (ts == 0 && !hdrs) {
			/* The plain call: no varargs to walk, a little faster. */
			if (rd_kafka_produce(rkt, opt.partition, RD_KAFKA_MSG_F_COPY, (void *)val, vlen, key,
			                     klen, (void *)op) == 0)
				err = RD_KAFKA_RESP_ERR_NO_ERROR;
			else
				err = rd_kafka_last_error();
		} else {
			err = rd_kafka_producev(
			    rk, RD_KAFKA_V_RKT(rkt), RD_KAFKA_V_PARTITION(opt.partition),
			    RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_VALUE((void *)val, vlen),
			    RD_KAFKA_V_KEY(key, klen), RD_KAFKA_V_TIMESTAMP(ts),
			    RD_KAFKA_V_OPAQUE((void *)op),
			    RD_KAFKA_V_HEADERS(hdrs ? rd_kafka_headers_copy(hdrs) : NULL), RD_KAFKA_V_END);
		}
		if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL)
			break;
		was = st_enter(ST_COMMIT); /* the broker's acknowledgements are awaited */
		rd_kafka_poll(rk, 100);
		st_enter(was);
		if (opt.kc.fatal)
			return -2;
	}
	if (err == RD_KAFKA_RESP_ERR_NO_ERROR) {
		n_sent++;
		return 0;
	}
	if (err == RD_KAFKA_RESP_ERR__FATAL)
		return -2;
	snprintf(why, sizeof(why), "cannot send: %s", rd_kafka_err2str(err));
	return bad(r, why);
}

static rd_kafka_headers_t *
make_headers(void)
{
	rd_kafka_headers_t *h;

	if (opt.nhdrs == 0)
		return NULL;
	h = rd_kafka_headers_new((size_t)opt.nhdrs);
	for (int i = 0; i < opt.nhdrs; i++) {
		const char *eq = strchr(opt.hdrs[i], '=');
		rd_kafka_header_add(h, opt.hdrs[i], eq - opt.hdrs[i], eq + 1, -1);
	}
	return h;
}

/* Waits for outstanding deliveries up to the flush timeout, then purges the
 * rest, whose reports say they were not delivered. */
static void
finish_deliveries(void)
{
	double deadline = tm_mono_s() + (double)opt.flush_timeout_ms / 1000.0;

	st_enter(ST_COMMIT);
	while (rd_kafka_outq_len(rk) > 0 && tm_mono_s() < deadline && !opt.kc.fatal) {
		rd_kafka_flush(rk, 100);
		out_flush();
	}
	if (rd_kafka_outq_len(rk) > 0) {
		rd_kafka_purge(rk, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
		for (int i = 0; i < 50 && n_acked + n_failed < n_sent; i++)
			rd_kafka_poll(rk, 100);
	}
	rd_kafka_poll(rk, 0);
	out_flush();
}

int
main(int argc, char **argv)
{
	static const char *const defaults[] = {
	    "acks", "all",
	    "enable.idempotence", "true",
	    "linger.ms", "5",
	    "batch.num.messages", "10000",
	    "batch.size", "1000000",
	    "queue.buffering.max.messages", "1000000",
	    "allow.auto.create.topics", "false",
	    "partitioner", "murmur2_random",
	    "log_level", "7",
	    NULL,
	};
	const char *codec[] = {"compression.codec", NULL, NULL};
	const char *names[MAX_KEY_FIELDS + 1];
	int nnames = 0, ts_idx = -1, status = DIAG_EX_OK, rc, nparts;
	char errstr[512], *key = NULL, *tmp = NULL, *compact = NULL;
	js_want want;
	js_val vals[MAX_KEY_FIELDS + 1];
	rd_kafka_conf_t *conf;
	rd_kafka_topic_t *rkt;
	rd_kafka_headers_t *hdrs;
	nd_reader *rd;
	nd_rec rec;

	diag_init(argv[0]);
	diag_set_versions(kc_versions);
	parse_opts(argc, argv);
	cli_done(&opt.cc, USAGE);
	for (int i = 0; i < opt.nkeys; i++)
		names[nnames++] = opt.keys[i];
	if (opt.ts_field) {
		for (ts_idx = 0; ts_idx < nnames && strcmp(names[ts_idx], opt.ts_field) != 0; ts_idx++)
			;
		if (ts_idx == nnames)
			names[nnames++] = opt.ts_field;
	}
	js_want_init(&want, names, nnames);
	codec[1] = opt.codec;
	conf = kc_conf_build(&opt.kc, defaults, opt.codec ? codec : NULL, USAGE);
	rd_kafka_conf_set_dr_msg_cb(conf, dr_cb);

	if (rej_open(&rejects, opt.cc.rejects) < 0)
		diag_die(DIAG_EX_FAIL, "cannot open rejects file '%s': %s", opt.cc.rejects,
		         strerror(errno));
	rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
	if (!rk)
		diag_die(DIAG_EX_FAIL, "cannot create the producer: %s", errstr);
	sig_install(1);
	nparts = kc_topic_partitions(rk, opt.topic, opt.kc.metadata_timeout_ms);
	if (nparts >= 0 && opt.partition >= nparts)
		diag_error("topic '%s' has no partition %d (it has %d)", opt.topic, (int)opt.partition,
		           nparts);
	if (nparts < 0 || opt.partition >= nparts) {
		/* Nothing was read or sent. */
		rd_kafka_destroy(rk);
		rej_close(&rejects);
		js_want_free(&want);
		free(opt.hdrs);
		kc_opts_free(&opt.kc);
		return DIAG_EX_FAIL;
	}
	rkt = rd_kafka_topic_new(rk, opt.topic, NULL);
	hdrs = make_headers();
	out_init(1, opt.cc.unbuffered);
	rd = nd_new(argv + optind, argc - optind);
	compact = emalloc(ND_LINE_MAX);
	if (opt.nkeys) {
		key = emalloc(KEY_MAX);
		tmp = emalloc(ND_LINE_MAX);
	}
	if (!rkt)
		diag_die(DIAG_EX_FAIL, "cannot use topic '%s': %s", opt.topic,
		         rd_kafka_err2str(rd_kafka_last_error()));
	if (st_start(opt.cc.stats_ms, opt.cc.stats_file, opt.cc.metrics, "produce",
	             1u << ST_READ | 1u << ST_WAIT | 1u << ST_EMIT | 1u << ST_COMMIT) < 0)
		diag_die(DIAG_EX_FAIL, "cannot open stats file '%s': %s", opt.cc.stats_file, strerror(errno));

	while (!sig_stop && !stop_reading && !opt.kc.fatal &&
	       (opt.count < 0 || (long long)n_sent < opt.count) && (rc = nd_next_checked(rd, &rec)) != 0) {
		const char *val = rec.text;
		size_t vlen = rec.len, klen = 0;
		int64_t ts = 0;
		js_err jerr;
		char msg[300];

		if (rc < 0) {
			status = DIAG_EX_FAIL;
			break;
		}
		if (rc == ND_IDLE) {
			on_idle(rd);
			continue;
		}
		n_read++;
		if (nd_scan(&rec, &want, vals, &jerr, msg, sizeof(msg)) < 0) {
			rc = bad(&rec, msg);
		} else if (ts_idx >= 0 && event_time(&vals[ts_idx], &ts, msg, sizeof(msg))) {
			rc = bad(&rec, msg);
		} else {
			if (jerr.spaced) {
				vlen = js_compact(val, vlen, compact);
				val = compact;
			}
			if (opt.nkeys && (klen = make_key(vals, key, tmp)) == (size_t)-1) {
				snprintf(msg, sizeof(msg), "key longer than %d bytes", KEY_MAX);
				rc = bad(&rec, msg);
			} else {
				rc = produce(&rec, val, vlen, key, klen, ts, rkt, hdrs);
			}
		}
		if (rc == -1) {
			status = DIAG_EX_BADINPUT;
			break;
		}
		if (rc == -2)
			break;
		if ((n_sent & (POLL_EVERY - 1)) == 0) {
			rd_kafka_poll(rk, 0);
			stats();
		}
		if (out_failed())
			stop_reading = 1;
	}
	if (rejects.failed)
		status = DIAG_EX_FAIL;

	finish_deliveries();
	if (n_sent > n_acked + n_failed)
		n_failed = n_sent - n_acked; /* reports lost with a fatal error */
	if (n_failed > 0) {
		diag_error("%llu of %llu messages not delivered%s", (unsigned long long)n_failed,
		           (unsigned long long)n_sent,
		           rejects.fp ? " (see the rejects file)" : "");
		status = DIAG_EX_FAIL;
	}
	if (opt.kc.fatal)
		status = DIAG_EX_FAIL;
	if (out_failed() && out_failed() != EPIPE) {
		diag_error("cannot write to standard output: %s", strerror(out_failed()));
		status = DIAG_EX_FAIL;
	}
	if (rej_finish(&rejects) < 0)
		status = DIAG_EX_FAIL;
	st_final();
	stats();
	diag_info("%llu lines read, %llu messages sent, %llu delivered, %llu not delivered, %llu "
	          "rejected",
	          (unsigned long long)n_read, (unsigned long long)n_sent,
	          (unsigned long long)n_acked, (unsigned long long)n_failed,
	          (unsigned long long)rejects.count);
	if (sig_stop)
		diag_info("stopped by signal %d", (int)sig_stop);
	if (hdrs)
		rd_kafka_headers_destroy(hdrs);
	rd_kafka_topic_destroy(rkt);
	rd_kafka_destroy(rk);
	nd_free(rd);
	free(compact);
	free(key);
	free(tmp);
	free(files);
	free(opt.hdrs);
	kc_opts_free(&opt.kc);
	js_want_free(&want);
	out_free();
	st_free();
	return status;
}
