/*
 * nd: NDJSON input, line by line, with file names and line numbers.
 *
 * Reads the files named on the command line in order ("-" or none: standard
 * input) in large blocks and splits lines itself. A last line without a
 * newline is a record; a trailing CR is dropped; empty lines are skipped (but
 * counted in line numbers). A line longer than ND_LINE_MAX is returned once
 * with too_long set and only its first bytes, so the caller can reject it.
 *
 * Before a read that would block (nothing more is ready right now),
 * nd_next returns ND_IDLE once: that is where a program's loop flushes
 * output and ends micro-batches, and may wait (nd_wait) for what it has due;
 * the next nd_next then blocks until input comes.
 */
#ifndef ND_H
#define ND_H

#include <stddef.h>
#include <stdint.h>

#include "js.h"

#define ND_LINE_MAX (1024 * 1024) /* bytes, the longest line accepted */
#define ND_TOO_LONG_KEEP 256      /* bytes kept of a too-long line */

typedef struct nd_reader nd_reader;

typedef struct nd_rec {
	const char *text; /* not NUL-terminated; valid until the next nd_next (nd_next_buffered keeps it) */
	size_t len;       /* bytes */
	const char *file; /* "<stdin>" for standard input */
	uint64_t lineno;
	int too_long;
} nd_rec;

nd_reader *nd_new(char **paths, int npaths);
void nd_free(nd_reader *r);
#define ND_IDLE 2 /* nd_next: nothing more to read right now */

/* 1: a record in rec; ND_IDLE: the input is momentarily drained (the next
 * call blocks); 0: end of all input; -1: read or open error (errno set,
 * nd_errfile() names the file). Interrupted reads return -1 with EINTR. */
int nd_next(nd_reader *r, nd_rec *rec);
/* The next record only if it is whole in what was read already: 1 (in rec),
 * or 0 with nothing consumed or moved, so that the record before stays valid
 * (a program may then hold two). nd_next reads on from there. */
int nd_next_buffered(nd_reader *r, nd_rec *rec);
const char *nd_errfile(const nd_reader *r);
/* nd_next for a program's main loop: retries interrupted reads unless a
 * stop signal came (then 0, as at end of input); a read or open error is
 * reported ("cannot read 'FILE': reason") and gives -1. */
int nd_next_checked(nd_reader *r, nd_rec *rec);
/* After ND_IDLE: waits up to ms for input; 1 when input (or its end, or a
 * signal) came or there is no file to wait on, 0 when the time ran out. */
int nd_wait(const nd_reader *r, int ms);
/* Checks that rec is one JSON object within the line limit and picks out w's
 * members (js_scan). 0 ok; -1 with the reason, as every program words it, in
 * why: "line longer than N bytes", "invalid JSON at byte N: ...". */
int nd_scan(const nd_rec *rec, const js_want *w, js_val *vals, js_err *err, char *why,
            size_t whylen);

#endif
