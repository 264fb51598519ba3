/*
 * st: periodic statistics lines on stderr (see st.h).
 */
#include "st.h"

#include <fcntl.h>
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
	const char *run;  /* $ORDPIPE_RUN: the run every stage of one ETL shares */
} st = {.fd = 2};

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

void
st_free(void)
{
	buf_free(&st.b);
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

static void
put_rate(const char *n, uint64_t now, uint64_t before, double dt)
{
	st_double(n, dt > 0 ? (double)(now - before) / dt : 0.0);
}

void
st_begin(uint64_t in, uint64_t out, uint64_t rejected)
{
	double now = tm_mono_s(), dt = now - st.last;
	char ts[TM_RFC3339_LEN];

	st.b.len = 0;
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

void
st_u64(const char *n, uint64_t v)
{
	char b[24];

	name(n);
	put(b, js_fmt_u64(v, b));
}

void
st_i64(const char *n, int64_t v)
{
	char b[24];

	name(n);
	put(b, js_fmt_i64(v, b));
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
}

void
st_obj_begin(const char *n)
{
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
	put(b, js_fmt_i64(v, b));
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
	while (off < st.b.len) {
		ssize_t w = write(st.fd, st.b.p + off, st.b.len - off);
		if (w <= 0)
			break; /* best effort, never fatal */
		off += (size_t)w;
	}
	st.b.len = 0;
}
