/*
 * nd: block reader and line splitter (see nd.h).
 *
 * One buffer of ND_BUFSZ bytes; [pos, end) is unread data. When no newline is
 * left in it, the unread tail moves to the front and the next block is read
 * behind it. The buffer is larger than ND_LINE_MAX, so a line that fills it
 * without a newline is known to be too long; the rest of it is skipped.
 */
#include "nd.h"

#include "diag.h"
#include "mem.h"
#include "sig.h"
#include "st.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define ND_BUFSZ (ND_LINE_MAX + 256 * 1024) /* bytes */

struct nd_reader {
	char **paths;
	int npaths;
	int next_path; /* index of the next file to open */
	int fd;        /* -1 when no file is open */
	int eof;       /* the open file reached its end */
	const char *file;
	uint64_t lineno;
	char *buf;
	size_t pos, end; /* unread data in buf, bytes */
	int skipping;    /* discarding the rest of a too-long line */
	int idle_said;   /* ND_IDLE was returned; the next read may block */
	const char *errfile;
};

nd_reader *
nd_new(char **paths, int npaths)
{
	nd_reader *r = ecalloc(1, sizeof(*r));

	r->buf = emalloc(ND_BUFSZ);
	r->paths = paths;
	r->npaths = npaths;
	r->fd = -1;
	return r;
}

void
nd_free(nd_reader *r)
{
	if (!r)
		return;
	if (r->fd > 0)
		close(r->fd);
	free(r->buf);
	free(r);
}

int
nd_wait(const nd_reader *r, int ms)
{
	struct pollfd pfd = {.fd = r->fd, .events = POLLIN};
	enum st_phase was;
	int k;

	if (r->fd < 0)
		return 1;
	if (ms == 0)
		return poll(&pfd, 1, 0) != 0;
	was = st_enter(ST_WAIT);
	k = poll(&pfd, 1, ms) != 0;
	st_enter(was);
	return k;
}

int
nd_scan(const nd_rec *rec, const js_want *w, js_val *vals, js_err *err, char *why, size_t whylen)
{
	if (rec->too_long) {
		snprintf(why, whylen, "line longer than %d bytes", ND_LINE_MAX);
		return -1;
	}
	if (js_scan(rec->text, rec->len, w, vals, err) < 0) {
		snprintf(why, whylen, "invalid JSON at byte %zu: %s", err->pos + 1, err->why);
		return -1;
	}
	return 0;
}

const char *
nd_errfile(const nd_reader *r)
{
	return r->errfile ? r->errfile : "<stdin>";
}

/* Opens the next input; 1 opened, 0 none left, -1 error. */
static int
open_next(nd_reader *r)
{
	const char *p;

	if (r->npaths == 0 && r->next_path == 0) {
		r->next_path = 1;
		r->fd = 0;
		r->file = "<stdin>";
	} else if (r->next_path < r->npaths) {
		p = r->paths[r->next_path++];
		if (strcmp(p, "-") == 0) {
			r->fd = 0;
			r->file = "<stdin>";
		} else {
			r->fd = open(p, O_RDONLY | O_CLOEXEC);
			if (r->fd < 0) {
				r->errfile = p;
				return -1;
			}
			r->file = p;
		}
	} else {
		return 0;
	}
	r->eof = 0;
	r->lineno = 0;
	r->pos = r->end = 0;
	r->skipping = 0;
	return 1;
}

static void
close_cur(nd_reader *r)
{
	if (r->fd > 0)
		close(r->fd);
	r->fd = -1;
}

/* Reads one more block; 1 data, 0 end of file, ND_IDLE nothing ready (once
 * before a read that would block), -1 error. */
static int
fill(nd_reader *r)
{
	enum st_phase was;
	ssize_t n;

	if (r->pos > 0) {
		memmove(r->buf, r->buf + r->pos, r->end - r->pos);
		r->end -= r->pos;
		r->pos = 0;
	}
	if (!r->idle_said && !nd_wait(r, 0)) {
		r->idle_said = 1;
		return ND_IDLE;
	}
	/* A signal the caller's waiting swallowed must not be followed by a
	 * read that blocks forever. */
	if (sig_stop) {
		errno = EINTR;
		return -1;
	}
	/* after ND_IDLE the read may block: waiting, not reading */
	was = st_enter(r->idle_said ? ST_WAIT : ST_READ);
	r->idle_said = 0;
	n = read(r->fd, r->buf + r->end, ND_BUFSZ - r->end);
	st_enter(was);
	if (n < 0) {
		r->errfile = r->file;
		return -1;
	}
	if (n == 0)
		return 0;
	r->end += (size_t)n;
	return 1;
}

static void
emit(nd_reader *r, nd_rec *rec, size_t start, size_t len, int too_long)
{
	if (!too_long && len > 0 && r->buf[start + len - 1] == '\r')
		len--;
	rec->text = r->buf + start;
	rec->len = len;
	rec->file = r->file;
	rec->lineno = r->lineno;
	rec->too_long = too_long;
}

/* The line from pos up to nl, the newline after it: 1 with a record in rec,
 * 0 for a line that is none (empty, or the rest of a too-long one). */
static int
take_line(nd_reader *r, nd_rec *rec, const char *nl)
{
	size_t start = r->pos, len = (size_t)(nl - (r->buf + start));

	r->pos = start + len + 1;
	if (r->skipping) {
		r->skipping = 0;
		return 0;
	}
	r->lineno++;
	/* the limit is on the line without its CR: LF and CRLF alike */
	if (len - (len > 0 && r->buf[start + len - 1] == '\r') > ND_LINE_MAX) {
		emit(r, rec, start, ND_TOO_LONG_KEEP, 1);
		return 1;
	}
	if (len == 0 || (len == 1 && r->buf[start] == '\r'))
		return 0;
	emit(r, rec, start, len, 0);
	return 1;
}

int
nd_next(nd_reader *r, nd_rec *rec)
{
	for (;;) {
		char *nl;
		size_t start, len;
		int rc;

		if (r->fd < 0) {
			rc = open_next(r);
			if (rc <= 0)
				return rc;
		}
		nl = r->pos < r->end ? memchr(r->buf + r->pos, '\n', r->end - r->pos) : NULL;
		if (nl) {
			if (take_line(r, rec, nl))
				return 1;
			continue;
		}
		if (r->end - r->pos > ND_LINE_MAX + 1 && !r->skipping) { /* + 1: a CR */
			/* A line longer than the limit: report it once, skip its rest. */
			r->lineno++;
			r->skipping = 1;
			start = r->pos;
			r->pos = r->end;
			emit(r, rec, start, ND_TOO_LONG_KEEP, 1);
			return 1;
		}
		if (r->skipping)
			r->pos = r->end;
		if (r->eof) {
			if (r->pos < r->end && !r->skipping) {
				start = r->pos;
				len = r->end - start;
				r->pos = r->end;
				r->lineno++;
				if (len == 1 && r->buf[start] == '\r')
					continue;
				if (len - (r->buf[start + len - 1] == '\r') > ND_LINE_MAX) {
					emit(r, rec, start, ND_TOO_LONG_KEEP, 1);
					return 1;
				}
				emit(r, rec, start, len, 0);
				return 1;
			}
			close_cur(r);
			continue;
		}
		rc = fill(r);
		if (rc < 0)
			return -1;
		if (rc == ND_IDLE)
			return ND_IDLE;
		if (rc == 0)
			r->eof = 1;
	}
}

int
nd_next_buffered(nd_reader *r, nd_rec *rec)
{
	for (;;) {
		const char *nl = r->fd >= 0 && r->pos < r->end
		                     ? memchr(r->buf + r->pos, '\n', r->end - r->pos)
		                     : NULL;
		if (!nl)
			return 0;
		if (take_line(r, rec, nl))
			return 1;
	}
}

int
nd_next_checked(nd_reader *r, nd_rec *rec)
{
	for (;;) {
		int rc = nd_next(r, rec);
		if (rc >= 0)
			return rc;
		if (errno == EINTR) {
			if (sig_stop)
				return 0;
			continue;
		}
		diag_error("cannot read '%s': %s", nd_errfile(r), strerror(errno));
		return -1;
	}
}
