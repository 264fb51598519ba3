/*
 * st: periodic statistics lines on stderr (see st.h).
 */
#include "st.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "diag.h"
#include "js.h"
#include "mem.h"
#include "tm.h"

static struct {
	int64_t every_ms;    /* 0: off */
	double t0, last, next; /* monotonic s: start, previous line, next line */
	uint64_t last_in, last_out;
	struct buf b;     /* the line being written */
	int nobj;         /* members written in the open nested object */
	int final;        /* st_final: the next line is the last, "final":true */
	int fd;           /* where the lines go: stderr, or --stats-file */
	char objname[48]; /* the nested object being written */
	const char *run;  /* $ORDPIPE_RUN: the run every stage of one ETL shares */
	/* phases: seconds in each since start, and at the previous line */
	unsigned mask; /* phases reported; 0: none, st_enter does nothing */
	const char *names[ST_NPHASE];
	enum st_phase cur;
	double since; /* monotonic s: cur was entered, or last charged */
	double in[ST_NPHASE], at_last[ST_NPHASE];
} st = {.fd = 2};

/* --metrics: the same values in Prometheus' text exposition format. */
static struct {
	const char *path;   /* NULL: off */
	const char *labels; /* {pipeline="..."} or "" */
	char lab[600];
	struct buf m;       /* the file being built */
	char obj[64];       /* the nested object's metric */
	int warned;
} mx;

/* Appends s with the label escapes (\\, \", \n). */
static void
mx_escape(struct buf *b, const char *s)
{
	for (; *s; s++) {
		if (*s == '\\' || *s == '"')
			buf_putc(b, '\\');
		if (*s == '\n') {
			buf_put(b, "\\n", 2);
			continue;
		}
		buf_putc(b, *s);
	}
}

/* ordpipe_PROG_FIELD[SUFFIX] into buf: names as Prometheus wants them. */
static void
mx_name(char *buf, size_t n, const char *field, const char *suffix)
{
	size_t k = (size_t)snprintf(buf, n, "ordpipe_%s_%s%s", diag_prog, field, suffix);

	for (size_t i = 0; i < k && i < n; i++)
		if (!((buf[i] >= 'a' && buf[i] <= 'z') || (buf[i] >= '0' && buf[i] <= '9')))
			buf[i] = '_';
}

/* One series, with its HELP and TYPE lines unless it continues a family. */
static void
mx_series(const char *field, const char *suffix, const char *type, const char *extra, const char *value)
{
	char nm[160];

	if (!mx.path)
		return;
	mx_name(nm, sizeof(nm), field, suffix);
	if (!extra || strcmp(nm, mx.obj) != 0) {
		buf_put(&mx.m, "# HELP ", 7);
		buf_put(&mx.m, nm, strlen(nm));
		buf_put(&mx.m, " ", 1);
		buf_put(&mx.m, diag_prog, strlen(diag_prog));
		buf_put(&mx.m, " --stats field ", 15);
		buf_put(&mx.m, field, strlen(field));
		buf_put(&mx.m, " (ordpipe(7), MONITORING)\n# TYPE ", 33);
		buf_put(&mx.m, nm, strlen(nm));
		buf_putc(&mx.m, ' ');
		buf_put(&mx.m, type, strlen(type));
		buf_putc(&mx.m, '\n');
		snprintf(mx.obj, sizeof(mx.obj), "%s", extra ? nm : "");
	}
	buf_put(&mx.m, nm, strlen(nm));
	if (extra || *mx.labels) {
		buf_putc(&mx.m, '{');
		if (*mx.labels)
			buf_put(&mx.m, mx.labels, strlen(mx.labels));
		if (extra && *mx.labels)
			buf_putc(&mx.m, ',');
		if (extra)
			buf_put(&mx.m, extra, strlen(extra));
		buf_putc(&mx.m, '}');
	}
	buf_putc(&mx.m, ' ');
	buf_put(&mx.m, value, strlen(value));
	buf_putc(&mx.m, '\n');
}

int
st_metrics(const char *path)
{
	const char *p = getenv("ORDPIPE_PIPELINE");
	struct buf b = {0};

	mx.path = path;
	mx.labels = "";
	if (p && *p) {
		buf_put(&b, "pipeline=\"", 10);
		mx_escape(&b, p);
		buf_putc(&b, '"');
		snprintf(mx.lab, sizeof(mx.lab), "%.*s", (int)b.len, b.p);
		mx.labels = mx.lab;
		buf_free(&b);
	}
	return 0;
}

/* Rewrites the file whole: a scraper never reads half of it. */
static void
mx_write(void)
{
	char tmp[4200];
	int fd, ok;

	snprintf(tmp, sizeof(tmp), "%s.tmp", mx.path);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	ok = fd >= 0 && write(fd, mx.m.p, mx.m.len) == (ssize_t)mx.m.len;
	if (fd >= 0 && close(fd) != 0)
		ok = 0;
	if (ok && rename(tmp, mx.path) != 0)
		ok = 0;
	if (!ok && !mx.warned++)
		diag_warn("cannot write metrics file '%s': %s (further failures are not reported)",
		          mx.path, strerror(errno));
}

int
st_init(int64_t every_ms, const char *path)
{
	const char *run = getenv("ORDPIPE_RUN");

	st.every_ms = every_ms;
	st.t0 = st.last = tm_mono_s();
	st.next = st.t0 + (double)every_ms / 1000.0;
	st.run = run && *run ? run : NULL;
	if (path && (st.fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644)) < 0) {
		st.fd = 2;
		return -1;
	}
	return 0;
}

int
st_start(int64_t every_ms, const char *path, const char *metrics, const char *work, unsigned mask)
{
	if (st_init(every_ms, path) < 0)
		return -1;
	if (metrics)
		st_metrics(metrics);
	if ((every_ms || path) && work)
		st_phases(work, mask);
	return 0;
}

void
st_free(void)
{
	buf_free(&st.b);
	buf_free(&mx.m);
	if (st.fd != 2)
		close(st.fd);
	st.fd = 2;
}

void
st_final(void)
{
	if (st.every_ms > 0 || st.fd != 2) {
		st.final = 1;
		st.next = 0;
	}
}

int
st_due(void)
{
	return (st.every_ms > 0 || st.final) && tm_mono_s() >= st.next;
}

int
st_wait_ms(void)
{
	double left;

	if (st.every_ms <= 0)
		return -1;
	left = (st.next - tm_mono_s()) * 1000.0;
	return left <= 0 ? 0 : (int)left + 1;
}

static void
put(const char *s, size_t n)
{
	buf_put(&st.b, s, n);
}

static void
to_st(void *arg, const char *p, size_t n)
{
	(void)arg;
	put(p, n);
}

/* A string's content, escaped (a partition's name comes from outside). */
static void
put_str(const char *s)
{
	js_escape(s, strlen(s), 1, to_st, NULL);
}

static void
name(const char *n)
{
	put(",\"", 2);
	put_str(n);
	put("\":", 2);
}

/* A value in the line only: Prometheus derives rates from the counters. */
static void
put_line_only(const char *n, double v)
{
	const char *p = mx.path;

	mx.path = NULL;
	st_double(n, v);
	mx.path = p;
}

static void
put_rate(const char *n, uint64_t now, uint64_t before, double dt)
{
	put_line_only(n, dt > 0 ? (double)(now - before) / dt : 0.0);
}

void
st_phases(const char *work, unsigned mask)
{
	static const char *const names[ST_NPHASE] = {
	    [ST_READ] = "read", [ST_WAIT] = "wait", [ST_EMIT] = "emit",
	    [ST_SNAPSHOT] = "snapshot", [ST_COMMIT] = "commit",
	};
	memcpy(st.names, names, sizeof(names));
	st.names[ST_WORK] = work;
	st.mask = mask | 1u << ST_WORK;
	st.cur = ST_WORK;
	st.since = tm_mono_s();
}

enum st_phase
st_enter(enum st_phase p)
{
	enum st_phase was = st.cur;
	double now;

	if (!st.mask || p == was)
		return was;
	now = tm_mono_s();
	st.in[was] += now - st.since;
	st.since = now;
	st.cur = p;
	return was;
}

/* "duration_ms" and "processed_rate": the phases since the previous line. */
static void
put_phases(uint64_t in, uint64_t before)
{
	double now = tm_mono_s(), busy = 0;
	int k = 0;

	st.in[st.cur] += now - st.since;
	st.since = now;
	name("duration_ms");
	put("{", 1);
	for (int p = 0; p < ST_NPHASE; p++) {
		char b[32];
		double d = st.in[p] - st.at_last[p];
		if (!(st.mask & 1u << p))
			continue;
		if (p != ST_WAIT)
			busy += d;
		if (k++)
			put(",", 1);
		put("\"", 1);
		put_str(st.names[p]);
		put("\":", 2);
		b[js_fmt_i64((int64_t)(d * 1000.0 + 0.5), b)] = '\0';
		put(b, strlen(b));
		if (mx.path) {
			char lab[64], val[40];
			snprintf(lab, sizeof(lab), "phase=\"%s\"", st.names[p]);
			snprintf(val, sizeof(val), "%.6f", st.in[p]);
			mx_series("duration_seconds", "_total", "counter", lab, val);
		}
		st.at_last[p] = st.in[p];
	}
	put("}", 1);
	put_line_only("processed_rate", busy > 0 ? (double)(in - before) / busy : 0.0);
}

void
st_begin(uint64_t in, uint64_t out, uint64_t rejected)
{
	double now = tm_mono_s(), dt = now - st.last;
	char ts[TM_RFC3339_LEN];

	st.b.len = 0;
	mx.m.len = 0;
	mx.obj[0] = '\0';
	put("{\"prog\":\"", 9);
	put_str(diag_prog);
	if (st.run) {
		put("\",\"run\":\"", 9);
		put_str(st.run);
	}
	put("\",\"time\":\"", 10);
	tm_format_rfc3339(tm_wall_ms(), ts);
	put(ts, TM_RFC3339_LEN);
	put("\"", 1);
	st_double("uptime_s", now - st.t0);
	st_u64("in", in);
	st_u64("out", out);
	st_u64("rejected", rejected);
	put_rate("in_rate", in, st.last_in, dt);
	put_rate("out_rate", out, st.last_out, dt);
	if (st.final)
		put(",\"final\":true", 13);
	if (st.mask)
		put_phases(in, st.last_in);
	st.last_in = in;
	st.last_out = out;
	st.last = now;
	/* The next line is due one period later, without drifting: a slow
	 * caller skips periods rather than bunching lines. */
	while (st.every_ms > 0 && st.next <= now)
		st.next += (double)st.every_ms / 1000.0;
}

void
st_str(const char *n, const char *s)
{
	name(n);
	if (!s) {
		put("null", 4);
		return;
	}
	put("\"", 1);
	put_str(s);
	put("\"", 1);
}

/* An integer member: in the line as it is, in --metrics as a counter
 * (_total) or a gauge. */
static void
put_int(const char *n, const char *text, int counter)
{
	name(n);
	put(text, strlen(text));
	mx_series(n, counter ? "_total" : "", counter ? "counter" : "gauge", NULL, text);
}

void
st_u64(const char *n, uint64_t v)
{
	char b[24];

	b[js_fmt_u64(v, b)] = '\0';
	put_int(n, b, 1);
}

void
st_gauge(const char *n, uint64_t v)
{
	char b[24];

	b[js_fmt_u64(v, b)] = '\0';
	put_int(n, b, 0);
}

void
st_i64(const char *n, int64_t v)
{
	char b[24];

	b[js_fmt_i64(v, b)] = '\0';
	put_int(n, b, 0);
}

void
st_double(const char *n, double v)
{
	char b[32];
	/* Three decimals are plenty for rates and latencies. */
	int64_t k = (int64_t)(v * 1000.0 + (v < 0 ? -0.5 : 0.5));
	size_t len;

	name(n);
	if (k < 0) {
		put("-", 1);
		k = -k;
	}
	len = js_fmt_i64(k / 1000, b);
	b[len++] = '.';
	b[len++] = (char)('0' + k / 100 % 10);
	b[len++] = (char)('0' + k / 10 % 10);
	b[len++] = (char)('0' + k % 10);
	put(b, len);
	if (mx.path) {
		/* in base units: *_ms as seconds, uptime_s as uptime_seconds */
		char field[64], val[40];
		const char *ms = strstr(n, "_ms");
		double x = v;
		if (ms) {
			snprintf(field, sizeof(field), "%.*s_seconds%s", (int)(ms - n), n, ms + 3);
			x = v / 1000.0;
		} else if (strcmp(n, "uptime_s") == 0) {
			snprintf(field, sizeof(field), "uptime_seconds");
		} else {
			snprintf(field, sizeof(field), "%s", n);
		}
		snprintf(val, sizeof(val), "%.6g", x);
		mx_series(field, "", "gauge", NULL, val);
	}
}

void
st_time(const char *n, int have, int64_t ms)
{
	char ts[TM_RFC3339_LEN];

	name(n);
	if (!have || ms < TM_MIN_MS || ms > TM_MAX_MS) {
		put("null", 4);
		return;
	}
	tm_format_rfc3339(ms, ts);
	put("\"", 1);
	put(ts, TM_RFC3339_LEN);
	put("\"", 1);
	if (mx.path) {
		char val[40];
		snprintf(val, sizeof(val), "%.3f", (double)ms / 1000.0);
		mx_series(n, "_timestamp_seconds", "gauge", NULL, val);
	}
}

void
st_obj_begin(const char *n)
{
	snprintf(st.objname, sizeof(st.objname), "%s", n);
	name(n);
	put("{", 1);
	st.nobj = 0;
}

void
st_obj_i64(const char *key, int64_t v)
{
	char b[24];

	if (st.nobj++)
		put(",", 1);
	put("\"", 1);
	put_str(key); /* topic/partition names: escaped */
	put("\":", 2);
	b[js_fmt_i64(v, b)] = '\0';
	put(b, strlen(b));
	if (mx.path) {
		struct buf l = {0};
		buf_put(&l, "partition=\"", 11);
		mx_escape(&l, key);
		buf_put(&l, "\"", 2); /* with its NUL */
		mx_series(st.objname, "", "gauge", l.p, b);
		buf_free(&l);
	}
}

void
st_obj_obj(const char *key, const char *const *names, const int64_t *v, int n)
{
	if (st.nobj++)
		put(",", 1);
	put("\"", 1);
	put_str(key);
	put("\":{", 3);
	for (int i = 0; i < n; i++) {
		char b[24];
		if (i)
			put(",", 1);
		put("\"", 1);
		put_str(names[i]);
		put("\":", 2);
		put(b, js_fmt_i64(v[i], b));
	}
	put("}", 1);
}

void
st_obj_end(void)
{
	put("}", 1);
}

void
st_end(void)
{
	size_t off = 0;

	put("}\n", 2);
	if (mx.path)
		mx_write();
	while (off < st.b.len) {
		ssize_t w = write(st.fd, st.b.p + off, st.b.len - off);
		if (w <= 0)
			break; /* best effort, never fatal */
		off += (size_t)w;
	}
	st.b.len = 0;
}
