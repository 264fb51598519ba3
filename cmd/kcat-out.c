/*
 * kcat-out: Kafka messages in, NDJSON lines out, at least once.
 *
 * Each message's payload must be one JSON object; it is written as one
 * compact line (re-serialised when the producer sent it with whitespace or
 * pretty-printed), or with -J inside an envelope that also tells where it
 * came from. Partitions come from a static assignment (-p, or every
 * partition of each topic) or from a balanced consumer group (-G).
 *
 * With a group, an offset is stored for commit only once its line has been
 * written to standard output (out_flush succeeded): a kill at any moment
 * replays, it never skips. Start offsets are resolved here, not by
 * librdkafka's auto.offset.reset: a partition with a committed offset
 * resumes there, one without starts at -o. auto.offset.reset is "error", so
 * a committed offset that retention has removed is reported as data loss
 * (--fail-on-data-loss) instead of a silent jump.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "cp.h"
#include "diag.h"
#include "js.h"
#include "kc.h"
#include "mem.h"
#include "out.h"
#include "rej.h"
#include "sig.h"
#include "st.h"
#include "tm.h"

#define USAGE "[-b BROKERS] [-t TOPIC]... [-p LIST | -G GROUP] [-o OFFSET] [OPTION]..."
#define DEFAULT_TOPIC "orders"
#define STORE_EVERY 20000 /* messages between two flush-and-store under steady input */
#define POLL_MS 100       /* ms, how long one poll waits when input is idle */
#define BATCH_MAX 1024    /* messages taken from the queue at once */
#define STOP_WAIT_MS 3000 /* ms, the longest a signalled stop waits for the commit */

enum { OPT_FAIL_ON_DATA_LOSS = CLI_OPT_FIRST_PRIVATE, OPT_NO_FAIL_ON_DATA_LOSS, OPT_POSITIONS,
       OPT_START_FROM, OPT_REPORT_GROUP, OPT_REPORT_FROM };
#define REPORT_EVERY_S 1.0 /* s between two looks at --report-from */

enum start { START_BEGINNING, START_END, START_STORED, START_ABS, START_TAIL, START_TIME };

static struct opts {
	struct cli_common cc;
	struct kc_opts kc;
	const char **topics;
	int ntopics;
	int32_t *parts; /* -p */
	int nparts;
	const char *group; /* -G */
	enum start start;  /* -o */
	int64_t start_arg; /* offset, count from the end, or ms */
	int exit_eof;      /* -e */
	long long count;   /* -c, -1 endless */
	int envelope;      /* -J */
	int fail_on_data_loss;
	int positions;     /* --positions: "_pos":"TOPIC/P/OFFSET" in each line */
	cp_record from; /* --start-from FILE: per partition, the next offset to read */
	const char *report_group; /* --report-group NAME: commit the sink's positions there */
	const char *report_from;  /* --report-from FILE: the sink's last committed checkpoint */
} opt;

/* A partition this consumer holds, for -e and --stats. */
struct part {
	char *topic;
	int32_t partition;
	int eof;
	int64_t line_pos; /* the position at the previous --stats line, -1 none */
	int64_t next;     /* after the last message written, -1 none yet */
};

static rd_kafka_t *rk;
static rej rejects;
static struct part *held;
static int nheld, held_ever; /* held_ever: an assignment has happened */
static size_t held_cap;
static int nheld_eof;                  /* how many of them are at their end */
static int st_on;       /* --stats or --stats-file */
static struct part *cur_part; /* note_written's cache */
static rd_kafka_topic_partition_list_t *pending; /* offsets written, not yet stored */
static int pending_idx = -1;                      /* cache: the entry last used */
static const rd_kafka_topic_t *pending_rkt;
static int32_t pending_part;
static uint64_t n_msgs, n_out, n_since_store;
static int failed; /* a fatal condition: stop and exit 1 */

static void
help(void)
{
	printf("usage: kcat-out " USAGE "\n"
	       "Write the JSON messages of Kafka topics as NDJSON lines on stdout.\n\n"
	       "  -b BROKERS           bootstrap servers (default $KAFKA_BROKERS, else " KC_DEFAULT_BROKERS
	       ")\n"
	       "  -t TOPIC             topic, repeatable (default " DEFAULT_TOPIC ")\n"
	       "  -p LIST              these partitions only, e.g. 0,2,4 (static assignment)\n"
	       "  -G GROUP             balanced consumer group; offsets committed once written\n"
	       "  -o OFFSET            where to start: beginning, end, stored, N, -N (N from the end),\n"
	       "                       s@MS (first message at or after epoch ms); with -G, only for\n"
	       "                       partitions without a committed offset (default beginning)\n"
	       "  -e                   exit 0 once every assigned partition is at its end\n"
	       "  -c N                 stop after N messages\n"
	       "  -J                   a JSON envelope per message: topic, partition, offset,\n"
	       "                       timestamp, key, headers, payload\n"
	       "      --report-group NAME  with static partitions: commit the positions in\n"
	       "                       --report-from FILE to group NAME (for lag tools), never joining\n"
	       "      --positions      add \"_pos\":\"TOPIC/PARTITION/OFFSET\" to each line (for\n"
	       "                       winagg --checkpoint)\n"
	       "      --start-from FILE  start each partition named in FILE's \"positions\" there\n"
	       "                       (a checkpoint record: {\"id\":N,\"positions\":{\"T/P\":OFFSET}})\n"
	       "  -X NAME=VALUE        librdkafka property (repeatable; wins over -F)\n"
	       "  -F FILE              librdkafka properties file (NAME=VALUE lines)\n"
	       "  -m DUR               wait at most DUR for the cluster at start (default 10s)\n"
	       "      --fail-on-data-loss     a committed offset that no longer exists is an error\n"
	       "                       (default)\n"
	       "      --no-fail-on-data-loss  restart such a partition at its earliest offset\n"
	       "      --rejects FILE   append messages that are not JSON objects to FILE and go on\n"
	       "  -q, --quiet          no warnings\n"
	       "      --stats DUR      a JSON line of counters and lag per partition on stderr\n"
	       "                       every DUR\n"
	       "      --stats-file FILE those lines to FILE (appended) instead; alone, the final one\n"
	       "      --metrics FILE   the same values for Prometheus (textfile), each period\n"
	       "  -v, --verbose        counters at exit; -vv adds librdkafka's log\n"
	       "  -u, --unbuffered     flush each line\n"
	       "  -h, --help           this help\n"
	       "  -V, --version        versions of kcat-out and its libraries\n\n"
	       "Exit status: 0 done (-e, -c, a signal or a closed stdout), 1 a runtime failure,\n"
	       "2 usage error, 3 stopped at a bad message (without --rejects).\n");
}

static void
parse_offset(const char *s)
{
	if (strcmp(s, "beginning") == 0) {
		opt.start = START_BEGINNING;
	} else if (strcmp(s, "end") == 0) {
		opt.start = START_END;
	} else if (strcmp(s, "stored") == 0) {
		opt.start = START_STORED;
	} else if (strncmp(s, "s@", 2) == 0) {
		opt.start = START_TIME;
		opt.start_arg = cli_num(USAGE, "-o s@", s + 2, 0, INT64_MAX);
	} else if (s[0] == '-') {
		opt.start = START_TAIL;
		opt.start_arg = cli_num(USAGE, "-o", s + 1, 1, INT64_MAX / 2);
	} else if (s[0] >= '0' && s[0] <= '9') {
		opt.start = START_ABS;
		opt.start_arg = cli_num(USAGE, "-o", s, 0, INT64_MAX / 2);
	} else {
		cli_usage_error(USAGE, "-o: '%s' is not beginning, end, stored, N, -N or s@MS", s);
	}
}

static void
parse_parts(const char *s)
{
	const char *p = s;

	if (opt.parts)
		cli_usage_error(USAGE, "-p: give the partitions once, comma-separated");
	opt.parts = ecalloc(strlen(s) / 2 + 1, sizeof(*opt.parts));
	for (;;) {
		char num[16];
		size_t n = strcspn(p, ",");
		if (n == 0 || n >= sizeof(num))
			cli_usage_error(USAGE, "-p: '%s' is not a list of partitions like 0,2,4", s);
		memcpy(num, p, n);
		num[n] = '\0';
		int32_t v = (int32_t)cli_num(USAGE, "-p", num, 0, INT32_MAX);
		for (int i = 0; i < opt.nparts; i++)
			if (opt.parts[i] == v)
				cli_usage_error(USAGE, "-p: partition %d given twice", (int)v);
		opt.parts[opt.nparts++] = v;
		if (p[n] == '\0')
			break;
		p += n + 1;
	}
}

/* --start-from: the checkpoint record's positions, read before anything
 * connects; an unreadable or malformed file is a usage error. */
static void
read_start_from(const char *path)
{
	const char *why;

	if (cp_read(path, &opt.from, &why) < 0) {
		if (strcmp(why, "cannot read") == 0)
			cli_usage_error(USAGE, "--start-from: cannot read '%s': %s", path, strerror(errno));
		cli_usage_error(USAGE, "--start-from: '%s': %s", path, why);
	}
}

/* The --start-from offset of a partition, or -1. */
static int64_t
start_from(const char *topic, int32_t partition)
{
	char name[300];

	snprintf(name, sizeof(name), "%s/%d", topic, (int)partition);
	for (size_t i = 0; i < opt.from.n; i++)
		if (strcmp(opt.from.names[i], name) == 0)
			return opt.from.next[i];
	return -1;
}

static void
parse_opts(int argc, char **argv)
{
	static const struct option longopts[] = {
	    CLI_LONGOPTS,
	    {"fail-on-data-loss", no_argument, NULL, OPT_FAIL_ON_DATA_LOSS},
	    {"no-fail-on-data-loss", no_argument, NULL, OPT_NO_FAIL_ON_DATA_LOSS},
	    {"positions", no_argument, NULL, OPT_POSITIONS},
	    {"start-from", required_argument, NULL, OPT_START_FROM},
	    {"report-group", required_argument, NULL, OPT_REPORT_GROUP},
	    {"report-from", required_argument, NULL, OPT_REPORT_FROM},
	    {NULL, 0, NULL, 0},
	};
	int c, has_start = 0;

	opt.count = -1;
	opt.fail_on_data_loss = 1;
	kc_opts_init(&opt.kc, argc);
	opt.topics = ecalloc((size_t)argc + 1, sizeof(*opt.topics));
	while ((c = getopt_long(argc, argv, CLI_SHORTOPTS "b:t:p:G:o:ec:JX:F:m:", longopts, NULL)) !=
	       -1) {
		if (kc_opt(&opt.kc, c, optarg, USAGE))
			continue;
		switch (c) {
		case 't':
			if (!*optarg)
				cli_usage_error(USAGE, "-t: empty topic name");
			opt.topics[opt.ntopics++] = optarg;
			break;
		case 'p': parse_parts(optarg); break;
		case 'G':
			if (!*optarg)
				cli_usage_error(USAGE, "-G: empty group name");
			opt.group = optarg;
			break;
		case 'o':
			parse_offset(optarg);
			has_start = 1;
			break;
		case 'e': opt.exit_eof = 1; break;
		case 'c': opt.count = cli_num(USAGE, "-c", optarg, 0, INT64_MAX); break;
		case 'J': opt.envelope = 1; break;
		case OPT_FAIL_ON_DATA_LOSS: opt.fail_on_data_loss = 1; break;
		case OPT_NO_FAIL_ON_DATA_LOSS: opt.fail_on_data_loss = 0; break;
		case OPT_POSITIONS: opt.positions = 1; break;
		case OPT_START_FROM: read_start_from(optarg); break;
		case OPT_REPORT_GROUP:
			if (!*optarg)
				cli_usage_error(USAGE, "--report-group: empty group name");
			opt.report_group = optarg;
			break;
		case OPT_REPORT_FROM: opt.report_from = optarg; break;
		default:
			if (!cli_common(c, argv, &opt.cc, help, USAGE))
				cli_usage_error(USAGE, "unexpected option");
		}
	}
	if (optind < argc)
		cli_usage_error(USAGE, "unexpected argument '%s' (topics go with -t)", argv[optind]);
	if (opt.ntopics == 0)
		opt.topics[opt.ntopics++] = DEFAULT_TOPIC;
	if (opt.start == START_STORED && !opt.group)
		cli_usage_error(USAGE, "-o stored needs a consumer group (-G)");
	if (opt.positions && opt.envelope)
		cli_usage_error(USAGE, "--positions and -J do not go together (-J names each position)");
	if (!has_start)
		opt.start = START_BEGINNING;
	if (!opt.report_group != !opt.report_from)
		cli_usage_error(USAGE, "--report-group and --report-from go together");
	if (opt.report_group && opt.group)
		cli_usage_error(USAGE, "--report-group is for static partitions (without -G): a "
		                       "group member commits its own offsets");
}

/* ---- --report-group: the sink's positions, for lag tools ---- */

/*
 * In checkpoint mode kcat-out reads by static partitions and stores nothing
 * in Kafka, so lag tools (kafka-consumer-groups, Burrow, Kafka UI) see no
 * group. With --report-group the positions the sink has committed
 * (--report-from: the checkpoint record mysql-replace --progress-file
 * writes) are committed to that group whenever the file changes, without
 * joining it: for monitoring only, the restart reads the sink's own table.
 */
static struct timespec report_mtime;
static double report_next;
static uint64_t n_reported;

static void
report(int final)
{
	struct stat st;
	cp_record r;
	const char *why;
	rd_kafka_topic_partition_list_t *l;
	rd_kafka_resp_err_t err;

	if (!opt.report_from || (!final && tm_mono_s() < report_next))
		return;
	report_next = tm_mono_s() + REPORT_EVERY_S;
	if (stat(opt.report_from, &st) != 0 ||
	    (st.st_mtim.tv_sec == report_mtime.tv_sec && st.st_mtim.tv_nsec == report_mtime.tv_nsec))
		return; /* none yet, or unchanged */
	if (cp_read(opt.report_from, &r, &why) < 0)
		return; /* being replaced: the next look reads it */
	report_mtime = st.st_mtim;
	l = rd_kafka_topic_partition_list_new(r.n > 0 ? (int)r.n : 1);
	for (size_t i = 0; i < r.n; i++) {
		char *slash = strrchr(r.names[i], '/');
		*slash = '\0';
		rd_kafka_topic_partition_list_add(l, r.names[i], (int32_t)atoi(slash + 1))->offset =
		    r.next[i];
		*slash = '/';
	}
	if (l->cnt > 0 && (err = rd_kafka_commit(rk, l, final ? 0 : 1)) != 0)
		diag_info("--report-group: %s", rd_kafka_err2str(err));
	else
		n_reported++;
	rd_kafka_topic_partition_list_destroy(l);
	cp_free(&r);
}

/* ---- partitions held, for -e ---- */

/* With --positions, {"_assigned":["TOPIC/P",...]} (or "_revoked") before
 * the lines of those partitions: winagg then knows every partition it must
 * wait for, also one whose rows come last in a backlog. */
static void
put_parts(const char *member, const rd_kafka_topic_partition_list_t *l)
{
	if (!opt.positions || l->cnt == 0)
		return;
	out_write("{\"", 2);
	out_write(member, strlen(member));
	out_write("\":[", 3);
	for (int i = 0; i < l->cnt; i++) {
		char name[300];
		int n = snprintf(name, sizeof(name), "%s/%d", l->elems[i].topic,
		                 (int)l->elems[i].partition);
		if (i)
			out_byte(',');
		js_out_bytes(name, (size_t)n < sizeof(name) ? (size_t)n : sizeof(name) - 1);
	}
	out_write("]}\n", 3);
	out_end_record();
}

static struct part *
held_find(const char *topic, int32_t partition)
{
	for (int i = 0; i < nheld; i++)
		if (held[i].partition == partition && strcmp(held[i].topic, topic) == 0)
			return &held[i];
	return NULL;
}

static void
held_add(const rd_kafka_topic_partition_list_t *l)
{
	for (int i = 0; i < l->cnt; i++) {
		if (held_find(l->elems[i].topic, l->elems[i].partition))
			continue;
		held = egrow(held, &held_cap, (size_t)nheld + 1, sizeof(*held), 16);
		cur_part = NULL; /* it may have moved */
		held[nheld].topic = estrdup(l->elems[i].topic);
		held[nheld].partition = l->elems[i].partition;
		held[nheld].eof = 0;
		held[nheld].line_pos = held[nheld].next = -1;
		nheld++;
	}
	held_ever = 1;
	put_parts("_assigned", l);
}

static void
held_remove(const rd_kafka_topic_partition_list_t *l)
{
	put_parts("_revoked", l);
	for (int i = 0; i < l->cnt; i++) {
		struct part *p = held_find(l->elems[i].topic, l->elems[i].partition);
		if (!p)
			continue;
		nheld_eof -= p->eof;
		cur_part = NULL;
		free(p->topic);
		*p = held[--nheld];
	}
}

static int
all_at_end(void)
{
	return held_ever && nheld > 0 && nheld_eof == nheld;
}

/* Marks a held partition at its end (eof 1) or not (0). */
static void
held_set_eof(const char *topic, int32_t partition, int eof)
{
	struct part *p = held_find(topic, partition);

	if (p && p->eof != eof) {
		nheld_eof += eof ? 1 : -1;
		p->eof = eof;
	}
}

/* ---- offsets: written, then stored ---- */

/* The messages handled since the last store, in order: where each one's
 * line ends in the output stream, and its offset in which pending entry.
 * Only those whose line write(2) took are stored, so that a closed pipe
 * (kcat-out | head) still commits exactly what went out. */
struct sent {
	uint64_t end; /* out_pos() after its line */
	int idx;      /* in pending */
	int64_t offset;
};
static struct sent *sent;
static size_t nsent, sent_cap;

static void
pending_note(const rd_kafka_message_t *m)
{
	if (!opt.group || out_failed())
		return;
	if (pending_idx < 0 || m->rkt != pending_rkt || m->partition != pending_part) {
		const char *topic = rd_kafka_topic_name(m->rkt);
		rd_kafka_topic_partition_t *e =
		    rd_kafka_topic_partition_list_find(pending, topic, m->partition);
		if (!e)
			e = rd_kafka_topic_partition_list_add(pending, topic, m->partition);
		pending_idx = (int)(e - pending->elems);
		pending_rkt = m->rkt;
		pending_part = m->partition;
	}
	sent = egrow(sent, &sent_cap, nsent + 1, sizeof(*sent), 4096);
	sent[nsent++] = (struct sent){out_pos(), pending_idx, m->offset + 1};
}

/* Writes what is buffered, then stores the offsets of the messages whose
 * lines were written (all of them, unless the write failed part way). */
static int
flush_and_store(void)
{
	int rc = out_flush();
	rd_kafka_topic_partition_list_t *l;

	n_since_store = 0;
	if (!opt.group || nsent == 0)
		goto done;
	l = rd_kafka_topic_partition_list_new(pending->cnt);
	rd_kafka_topic_partition_t *d = NULL;
	int didx = -1;
	for (size_t i = 0; i < nsent && sent[i].end <= out_written(); i++) {
		if (sent[i].idx != didx) { /* runs of one partition are the rule */
			const rd_kafka_topic_partition_t *e = &pending->elems[sent[i].idx];
			if (!(d = rd_kafka_topic_partition_list_find(l, e->topic, e->partition)))
				d = rd_kafka_topic_partition_list_add(l, e->topic, e->partition);
			didx = sent[i].idx;
		}
		d->offset = sent[i].offset;
	}
	if (l->cnt > 0)
		rd_kafka_offsets_store(rk, l); /* partitions revoked meanwhile are refused: fine */
	rd_kafka_topic_partition_list_destroy(l);
done:
	/* what was not written is never written now (a failed write is sticky) */
	nsent = 0;
	rd_kafka_topic_partition_list_destroy(pending);
	pending = rd_kafka_topic_partition_list_new(16);
	pending_idx = -1;
	return rc;
}

/* Commits what is stored; remembers the outcome, so that the one at exit
 * can be judged after the close (whose revoke commits once more). */
static rd_kafka_resp_err_t commit_err;

/* Commits what is stored, waiting at most ms for the answer
 * (RD_KAFKA_RESP_ERR__TIMED_OUT when none came). */
static rd_kafka_resp_err_t
commit_bounded(int ms)
{
	rd_kafka_queue_t *q = rd_kafka_queue_new(rk);
	rd_kafka_resp_err_t err = rd_kafka_commit_queue(rk, NULL, q, NULL, NULL);

	if (!err) {
		rd_kafka_event_t *ev = rd_kafka_queue_poll(q, ms);
		if (!ev) {
			err = RD_KAFKA_RESP_ERR__TIMED_OUT;
		} else {
			err = rd_kafka_event_error(ev);
			rd_kafka_event_destroy(ev);
		}
	}
	rd_kafka_queue_destroy(q);
	return err == RD_KAFKA_RESP_ERR__NO_OFFSET ? RD_KAFKA_RESP_ERR_NO_ERROR : err;
}

static void
commit_now(rd_kafka_t *h)
{
	rd_kafka_resp_err_t err = rd_kafka_commit(h, NULL, 0);

	commit_err = err == RD_KAFKA_RESP_ERR__NO_OFFSET ? RD_KAFKA_RESP_ERR_NO_ERROR : err;
}

/* ---- where partitions start ---- */

static int64_t
start_offset(void)
{
	switch (opt.start) {
	case START_END: return RD_KAFKA_OFFSET_END;
	case START_ABS: return opt.start_arg;
	case START_TAIL: return RD_KAFKA_OFFSET_TAIL(opt.start_arg);
	default: return RD_KAFKA_OFFSET_BEGINNING;
	}
}

/*
 * Sets each partition's start: its committed offset under a group, else -o.
 * s@MS is looked up with offsets_for_times (a time after the last message
 * means the end).
 */
static int
resolve_starts(rd_kafka_topic_partition_list_t *l)
{
	rd_kafka_topic_partition_list_t *times = rd_kafka_topic_partition_list_new(l->cnt);
	rd_kafka_resp_err_t err;
	int rc = 0;

	if (opt.group) {
		err = rd_kafka_committed(rk, l, opt.kc.metadata_timeout_ms);
		if (err) {
			diag_error("cannot read the committed offsets of group '%s': %s", opt.group,
			           rd_kafka_err2str(err));
			rc = -1;
			goto out;
		}
	}
	for (int i = 0; i < l->cnt; i++) {
		rd_kafka_topic_partition_t *e = &l->elems[i];
		int64_t from = start_from(e->topic, e->partition);
		if (from >= 0) {
			e->offset = from;
			diag_info("%s [%d]: starting at offset %" PRId64 " (--start-from)", e->topic,
			          (int)e->partition, from);
			continue;
		}
		if (opt.group && e->offset >= 0) {
			diag_info("%s [%d]: resuming at committed offset %" PRId64, e->topic,
			          (int)e->partition, e->offset);
			continue;
		}
		e->offset = start_offset();
		if (opt.start == START_TIME)
			rd_kafka_topic_partition_list_add(times, e->topic, e->partition)->offset =
			    opt.start_arg;
	}
	if (times->cnt > 0) {
		err = rd_kafka_offsets_for_times(rk, times, opt.kc.metadata_timeout_ms);
		if (err) {
			diag_error("cannot look up offsets for time %" PRId64 ": %s", opt.start_arg,
			           rd_kafka_err2str(err));
			rc = -1;
			goto out;
		}
		for (int i = 0; i < times->cnt; i++) {
			rd_kafka_topic_partition_t *t = &times->elems[i];
			rd_kafka_topic_partition_t *e =
			    rd_kafka_topic_partition_list_find(l, t->topic, t->partition);
			e->offset = t->offset >= 0 ? t->offset : RD_KAFKA_OFFSET_END;
		}
	}
out:
	rd_kafka_topic_partition_list_destroy(times);
	return rc;
}

static void
rebalance_cb(rd_kafka_t *h, rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t *l,
             void *opaque)
{
	int coop = strcmp(rd_kafka_rebalance_protocol(h), "COOPERATIVE") == 0;

	if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
		if (resolve_starts(l) < 0)
			failed = 1;
		held_add(l);
		diag_info("assigned %d partition%s", l->cnt, l->cnt == 1 ? "" : "s");
		if (coop)
			rd_kafka_error_destroy(rd_kafka_incremental_assign(h, l));
		else
			rd_kafka_assign(h, l);
		return;
	}
	/* Revoked: what was written is stored and committed before the
	 * partitions go to another member. */
	flush_and_store();
	if (opt.group)
		commit_now(h);
	held_remove(l);
	diag_info("revoked %d partition%s", l->cnt, l->cnt == 1 ? "" : "s");
	if (coop)
		rd_kafka_error_destroy(rd_kafka_incremental_unassign(h, l));
	else
		rd_kafka_assign(h, NULL);
}

/* ---- output ---- */

static void
out_i64(int64_t v)
{
	char *p = out_reserve(24);
	out_commit(js_fmt_i64(v, p));
}

/* The payload, compact; spaced: js_scan saw whitespace outside strings. */
static void
put_payload(const char *p, size_t n, int spaced)
{
	if (!spaced) {
		out_write(p, n);
		return;
	}
	if (n <= OUT_BUFSZ) {
		out_commit(js_compact(p, n, out_reserve(n)));
		return;
	}
	char *tmp = emalloc(n);
	out_write(tmp, js_compact(p, n, tmp));
	free(tmp);
}

static void
put_headers(const rd_kafka_message_t *m)
{
	rd_kafka_headers_t *hdrs = NULL;
	const char *name;
	const void *val;
	size_t vlen;

	if (rd_kafka_message_headers(m, &hdrs) != RD_KAFKA_RESP_ERR_NO_ERROR || !hdrs) {
		out_write("null", 4);
		return;
	}
	out_byte('{');
	for (size_t i = 0; rd_kafka_header_get_all(hdrs, i, &name, &val, &vlen) == 0; i++) {
		if (i > 0)
			out_byte(',');
		js_out_bytes(name, strlen(name));
		out_byte(':');
		if (val)
			js_out_bytes(val, vlen);
		else
			out_write("null", 4);
	}
	out_byte('}');
}

static void
put_envelope(const rd_kafka_message_t *m, int spaced)
{
	const char *topic = rd_kafka_topic_name(m->rkt);
	rd_kafka_timestamp_type_t tstype;
	int64_t ts = rd_kafka_message_timestamp(m, &tstype);

	out_write("{\"topic\":", 9);
	js_out_bytes(topic, strlen(topic));
	out_write(",\"partition\":", 13);
	out_i64(m->partition);
	out_write(",\"offset\":", 10);
	out_i64(m->offset);
	out_write(",\"timestamp\":", 13);
	if (tstype == RD_KAFKA_TIMESTAMP_NOT_AVAILABLE)
		out_write("null", 4);
	else
		out_i64(ts);
	out_write(",\"key\":", 7);
	if (m->key)
		js_out_bytes(m->key, m->key_len);
	else
		out_write("null", 4);
	out_write(",\"headers\":", 11);
	put_headers(m);
	out_write(",\"payload\":", 11);
	put_payload(m->payload, m->len, spaced);
	out_byte('}');
}

/* The payload with "_pos":"TOPIC/P/OFFSET" as its last member, so that it
 * wins over a member of that name in the payload (the last one wins). */
static void
put_with_position(const rd_kafka_message_t *m, int spaced)
{
	const char *topic = rd_kafka_topic_name(m->rkt), *pl = m->payload;
	size_t n = m->len;
	char *tmp = NULL, *p;

	if (spaced) {
		tmp = emalloc(n);
		n = js_compact(pl, n, tmp);
		pl = tmp;
	}
	/* The compact object ends in '}' and is "{}" when empty. */
	out_write(pl, n - 1);
	if (n > 2)
		out_byte(',');
	out_write("\"_pos\":\"", 8);
	out_write(topic, strlen(topic));
	char *base = p = out_reserve(48);
	*p++ = '/';
	p += js_fmt_i64(m->partition, p);
	*p++ = '/';
	p += js_fmt_i64(m->offset, p);
	*p++ = '"';
	*p++ = '}';
	out_commit((size_t)(p - base));
	free(tmp);
}

/* One message: -1 when the bad-input policy says stop. */
static int
message(const rd_kafka_message_t *m)
{
	js_err jerr;
	char why[300];

	n_msgs++;
	if (!m->payload) {
		snprintf(why, sizeof(why), "empty message (null payload), not a JSON object");
	} else if (js_scan(m->payload, m->len, NULL, NULL, &jerr) < 0) {
		snprintf(why, sizeof(why), "payload is not a JSON object: byte %zu: %s", jerr.pos + 1,
		         jerr.why);
	} else {
		if (opt.envelope)
			put_envelope(m, jerr.spaced);
		else if (opt.positions)
			put_with_position(m, jerr.spaced);
		else
			put_payload(m->payload, m->len, jerr.spaced);
		out_byte('\n');
		out_end_record();
		n_out++;
		pending_note(m);
		return 0;
	}
	if (rej_bad_msg(&rejects, rd_kafka_topic_name(m->rkt), m->partition, m->offset, m->payload,
	                m->len, why) < 0)
		return -1;
	pending_note(m); /* rejected is handled: its offset may be committed */
	return 0;
}

/* A consumer event that is not a message. Returns -1 to stop with failure. */
static int
event(const rd_kafka_message_t *m)
{
	const char *topic = m->rkt ? rd_kafka_topic_name(m->rkt) : "?";

	switch (m->err) {
	case RD_KAFKA_RESP_ERR__PARTITION_EOF:
		held_set_eof(topic, m->partition, 1);
		return 0;
	case RD_KAFKA_RESP_ERR__AUTO_OFFSET_RESET:
	case RD_KAFKA_RESP_ERR_OFFSET_OUT_OF_RANGE:
		diag_error("%s [%d]: data loss: %s%s", topic, (int)m->partition,
		           rd_kafka_message_errstr(m),
		           opt.fail_on_data_loss ? " (--no-fail-on-data-loss skips to the earliest)"
		                                 : "");
		return -1;
	case RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART:
	case RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED:
	case RD_KAFKA_RESP_ERR_GROUP_AUTHORIZATION_FAILED:
		diag_error("%s: %s", topic, rd_kafka_message_errstr(m));
		return -1;
	default:
		if (m->err == RD_KAFKA_RESP_ERR__FATAL || opt.kc.fatal)
			return -1;
		diag_info("%s [%d]: %s", topic, (int)m->partition, rd_kafka_message_errstr(m));
		return 0;
	}
}

static rd_kafka_topic_partition_list_t *
static_assignment(void)
{
	rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(16);

	for (int t = 0; t < opt.ntopics; t++) {
		int n = kc_topic_partitions(rk, opt.topics[t], opt.kc.metadata_timeout_ms);
		if (n < 0)
			goto fail;
		if (opt.nparts == 0) {
			for (int32_t p = 0; p < n; p++)
				rd_kafka_topic_partition_list_add(l, opt.topics[t], p);
			continue;
		}
		for (int i = 0; i < opt.nparts; i++) {
			if (opt.parts[i] >= n) {
				diag_error("topic '%s' has no partition %d (it has %d)", opt.topics[t],
				           (int)opt.parts[i], n);
				goto fail;
			}
			rd_kafka_topic_partition_list_add(l, opt.topics[t], opt.parts[i]);
		}
	}
	return l;
fail:
	rd_kafka_topic_partition_list_destroy(l);
	return NULL;
}

/* Subscribes (-G without -p) or assigns; -1 after printing why. */
static int
start_consuming(void)
{
	rd_kafka_topic_partition_list_t *l;
	rd_kafka_resp_err_t err;

	if (opt.group && opt.nparts == 0) {
		/* Check the topics first: a clear error now, not a consumer error later. */
		for (int t = 0; t < opt.ntopics; t++)
			if (kc_topic_partitions(rk, opt.topics[t], opt.kc.metadata_timeout_ms) < 0)
				return -1;
		l = rd_kafka_topic_partition_list_new(opt.ntopics);
		for (int t = 0; t < opt.ntopics; t++)
			rd_kafka_topic_partition_list_add(l, opt.topics[t], RD_KAFKA_PARTITION_UA);
		err = rd_kafka_subscribe(rk, l);
		rd_kafka_topic_partition_list_destroy(l);
		if (err) {
			diag_error("cannot subscribe: %s", rd_kafka_err2str(err));
			return -1;
		}
		return 0;
	}
	if (!(l = static_assignment()))
		return -1;
	if (resolve_starts(l) < 0) {
		rd_kafka_topic_partition_list_destroy(l);
		return -1;
	}
	held_add(l);
	err = rd_kafka_assign(rk, l);
	rd_kafka_topic_partition_list_destroy(l);
	if (err) {
		diag_error("cannot assign partitions: %s", rd_kafka_err2str(err));
		return -1;
	}
	return 0;
}

/* --stats: the partition of a message written, looked up only when it
 * changes from the previous message's (the cache is reset when the held
 * set changes); the first one since the assignment is where the offsets of
 * the next line start, and end is the offset after the last one written. */
static void
note_written(const rd_kafka_message_t *m)
{
	static const rd_kafka_topic_t *rkt;
	static int32_t part = -1;

	if (!cur_part || m->rkt != rkt || m->partition != part) {
		rkt = m->rkt;
		part = m->partition;
		if (!(cur_part = held_find(rd_kafka_topic_name(m->rkt), m->partition)))
			return;
	}
	if (cur_part->line_pos < 0)
		cur_part->line_pos = m->offset;
	cur_part->next = m->offset + 1;
}

/* The high watermark the fetcher last saw, -1 unknown. */
static int64_t
latest_offset(const rd_kafka_topic_partition_t *e, int64_t *lo)
{
	int64_t hi;

	if (rd_kafka_get_watermark_offsets(rk, e->topic, e->partition, lo, &hi) != 0)
		return *lo = -1;
	return hi;
}

/* --stats: messages, lines, and per held partition ("TOPIC/P") the lag
 * (the high watermark last seen by the fetcher minus the consumer's
 * position; -1 while either is unknown) and the offsets read since the
 * previous line (Spark's source progress: start, end, latest). */
static void
stats(void)
{
	rd_kafka_topic_partition_list_t *l;
	int64_t total = 0;
	char name[300];

	if (!st_due())
		return;
	st_begin(n_msgs, n_out, rejects.count);
	l = rd_kafka_topic_partition_list_new(nheld > 0 ? nheld : 1);
	for (int i = 0; i < nheld; i++)
		rd_kafka_topic_partition_list_add(l, held[i].topic, held[i].partition);
	rd_kafka_position(rk, l);
	st_obj_begin("lag");
	for (int i = 0; i < l->cnt; i++) {
		rd_kafka_topic_partition_t *e = &l->elems[i];
		int64_t lo, hi = latest_offset(e, &lo), lag = -1;
		if (hi >= 0 && e->offset >= 0)
			lag = hi > e->offset ? hi - e->offset : 0;
		else if (hi >= 0 && lo >= 0 && e->offset < 0)
			lag = hi - lo; /* nothing consumed yet */
		if (lag > 0)
			total += lag;
		snprintf(name, sizeof(name), "%s/%d", e->topic, (int)e->partition);
		st_obj_i64(name, lag);
	}
	st_obj_end();
	st_i64("lag_total", total);
	st_obj_begin("offsets");
	for (int i = 0; i < l->cnt; i++) {
		rd_kafka_topic_partition_t *e = &l->elems[i];
		struct part *p = held_find(e->topic, e->partition);
		int64_t lo, v[3];
		v[1] = p->next >= 0 ? p->next : e->offset >= 0 ? e->offset : -1;
		v[0] = p->line_pos >= 0 ? p->line_pos : v[1];
		v[2] = latest_offset(e, &lo);
		if (v[1] >= 0)
			p->line_pos = v[1];
		snprintf(name, sizeof(name), "%s/%d", e->topic, (int)e->partition);
		st_obj_obj(name, (const char *const[]){"start", "end", "latest"}, v, 3);
	}
	st_obj_end();
	st_i64("partitions", nheld);
	if (opt.report_group)
		st_u64("reported", n_reported); /* commits made to --report-group */
	st_end();
	rd_kafka_topic_partition_list_destroy(l);
}

/* -c reached, or -e and every partition at its end. */
static int
done(void)
{
	return (opt.count >= 0 && (long long)n_msgs >= opt.count) || (opt.exit_eof && all_at_end());
}

int
main(int argc, char **argv)
{
	const char *defaults[] = {
	    "group.id", "kcat-out",
	    "enable.auto.offset.store", "false",
	    "enable.auto.commit", "true",
	    "auto.commit.interval.ms", "1000",
	    "auto.offset.reset", "error",
	    "enable.partition.eof", "false",
	    "fetch.wait.max.ms", "100",
	    "queued.min.messages", "1000000",
	    "queued.max.messages.kbytes", "262144",
	    "allow.auto.create.topics", "false",
	    "log_level", "7",
	    NULL,
	};
	const char *overrides[7 * 2 + 1] = {NULL};
	int n = 0, status = DIAG_EX_OK;
	char errstr[512];
	rd_kafka_conf_t *conf;
	rd_kafka_queue_t *queue;
	rd_kafka_message_t *batch[BATCH_MAX];

	diag_init(argv[0]);
	diag_set_versions(kc_versions);
	parse_opts(argc, argv);
	cli_done(&opt.cc, USAGE);
	if (opt.group || opt.report_group) {
		overrides[n++] = "group.id";
		overrides[n++] = opt.group ? opt.group : opt.report_group;
	}
	if (opt.exit_eof) {
		overrides[n++] = "enable.partition.eof";
		overrides[n++] = "true";
	}
	if (!opt.fail_on_data_loss) {
		overrides[n++] = "auto.offset.reset";
		overrides[n++] = "earliest";
	}
	conf = kc_conf_build(&opt.kc, defaults, overrides, USAGE);
	if (opt.group)
		rd_kafka_conf_set_rebalance_cb(conf, rebalance_cb);
	else
		rd_kafka_conf_set(conf, "enable.auto.commit", "false", NULL, 0);

	if (rej_open(&rejects, opt.cc.rejects) < 0)
		diag_die(DIAG_EX_FAIL, "cannot open rejects file '%s': %s", opt.cc.rejects,
		         strerror(errno));
	rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr, sizeof(errstr));
	if (!rk)
		diag_die(DIAG_EX_FAIL, "cannot create the consumer: %s", errstr);
	rd_kafka_poll_set_consumer(rk);
	pending = rd_kafka_topic_partition_list_new(16);
	if (st_start(opt.cc.stats_ms, opt.cc.stats_file, opt.cc.metrics, "format",
	             1u << ST_READ | 1u << ST_WAIT | 1u << ST_EMIT | 1u << ST_COMMIT) < 0)
		diag_die(DIAG_EX_FAIL, "cannot open stats file '%s': %s", opt.cc.stats_file, strerror(errno));
	st_on = opt.cc.stats_ms || opt.cc.stats_file;
	sig_install(1);
	out_init(1, opt.cc.unbuffered);
	st_enter(ST_WAIT); /* for the cluster's metadata */
	if (start_consuming() < 0)
		status = DIAG_EX_FAIL;
	st_enter(ST_WORK);

	queue = rd_kafka_queue_get_consumer(rk);
	while (status == DIAG_EX_OK && !sig_stop && !failed && !opt.kc.fatal && !out_failed()) {
		ssize_t got;
		st_enter(ST_READ);
		got = rd_kafka_consume_batch_queue(queue, 0, batch, BATCH_MAX);
		if (got == 0) {
			/* Idle: what is written out is made durable before waiting. */
			st_enter(ST_COMMIT);
			if (flush_and_store() < 0)
				break;
			st_enter(ST_WAIT);
			got = rd_kafka_consume_batch_queue(queue, POLL_MS, batch, BATCH_MAX);
		}
		st_enter(ST_WORK);
		if (got < 0) {
			diag_error("cannot consume: %s", rd_kafka_err2str(rd_kafka_last_error()));
			status = DIAG_EX_FAIL;
			break;
		}
		if (got > 0)
			opt.kc.down_since = 0; /* the cluster answers */
		else if (opt.exit_eof && opt.kc.down_since &&
		         (tm_mono_s() - opt.kc.down_since) * 1000 >= opt.kc.metadata_timeout_ms) {
			/* -e must end: with no broker for the -m bound, the end is unknowable */
			diag_error("no broker reachable for %d ms (-m): cannot reach the end of the "
			           "partitions (-e)",
			           opt.kc.metadata_timeout_ms);
			status = DIAG_EX_FAIL;
			break;
		}
		for (ssize_t i = 0; i < got; i++) {
			rd_kafka_message_t *m = batch[i];
			/* Past a stop, the rest of the batch is dropped unwritten and
			 * unstored: it is read again next time. */
			if (status == DIAG_EX_OK && !done()) {
				if (m->err) {
					if (event(m) < 0)
						status = DIAG_EX_FAIL;
				} else {
					/* Only a partition at its end needs looking up. */
					if (nheld_eof > 0)
						held_set_eof(rd_kafka_topic_name(m->rkt), m->partition, 0);
					if (message(m) < 0)
						status = rejects.failed ? DIAG_EX_FAIL : DIAG_EX_BADINPUT;
					else if (st_on)
						note_written(m);
				}
			}
			rd_kafka_message_destroy(m);
		}
		if (done())
			break;
		if ((n_since_store += (uint64_t)got) >= STORE_EVERY && flush_and_store() < 0)
			break;
		report(0);
		if (opt.cc.stats_ms)
			stats();
	}
	if (failed || opt.kc.fatal)
		status = DIAG_EX_FAIL;

	/* Whatever stopped us: store and commit exactly what was written. */
	flush_and_store();
	if (!opt.kc.down_since)
		report(1); /* synchronous: the cluster answers */
	st_final();
	stats();
	if (out_failed() && out_failed() != EPIPE) {
		diag_error("cannot write to standard output: %s", strerror(out_failed()));
		status = DIAG_EX_FAIL;
	}
	/* A commit refused because the group is rebalancing is made again when
	 * the close revokes our partitions; only the last outcome counts. The
	 * wait is bounded (STOP_WAIT_MS after a signal, else -m): with the
	 * brokers gone, a stop must not outlast systemd's stop timeout. Then
	 * the close, which leaves the group, only while the cluster answers. */
	int unreachable = 0;
	if (opt.group) {
		commit_err = commit_bounded(sig_stop ? STOP_WAIT_MS : opt.kc.metadata_timeout_ms);
		unreachable = commit_err == RD_KAFKA_RESP_ERR__TIMED_OUT;
	}
	rd_kafka_queue_destroy(queue);
	if (!unreachable)
		rd_kafka_consumer_close(rk);
	if (opt.group && commit_err) {
		/* The group moved on (another member leaving or joining): the
		 * partitions' next owner reads again from the last commit. That is
		 * at-least-once working, not a failure. */
		int moved = commit_err == RD_KAFKA_RESP_ERR_REBALANCE_IN_PROGRESS ||
		            commit_err == RD_KAFKA_RESP_ERR_ILLEGAL_GENERATION ||
		            commit_err == RD_KAFKA_RESP_ERR_UNKNOWN_MEMBER_ID;
		if (unreachable) {
			diag_error("last offsets not committed: no broker answered within %d ms; the "
			           "lines since the previous commit will be read again",
			           sig_stop ? STOP_WAIT_MS : opt.kc.metadata_timeout_ms);
			status = DIAG_EX_FAIL;
		} else if (moved) {
			diag_warn("last offsets not committed: %s; the lines since the previous commit "
			          "will be read again",
			          rd_kafka_err2str(commit_err));
		} else {
			diag_error("cannot commit offsets: %s", rd_kafka_err2str(commit_err));
			status = DIAG_EX_FAIL;
		}
	}
	if (rej_finish(&rejects) < 0)
		status = DIAG_EX_FAIL;
	diag_info("%llu messages read, %llu lines written, %llu rejected",
	          (unsigned long long)n_msgs, (unsigned long long)n_out,
	          (unsigned long long)rejects.count);
	if (sig_stop)
		diag_info("stopped by signal %d", (int)sig_stop);
	rd_kafka_topic_partition_list_destroy(pending);
	free(sent);
	if (unreachable) {
		/* Destroying the handle now waits for the group's session timeout
		 * (45 s by default) with no broker to answer: everything of ours is
		 * written and said, so the process ends here, as a kill would. */
		out_free();
		_exit(status);
	}
	rd_kafka_destroy(rk);
	for (int i = 0; i < nheld; i++)
		free(held[i].topic);
	free(held);
	free(opt.topics);
	free(opt.parts);
	cp_free(&opt.from);
	kc_opts_free(&opt.kc);
	out_free();
	st_free();
	return status;
}
