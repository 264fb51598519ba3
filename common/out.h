/*
 * out: the one output buffer over standard output.
 *
 * Data is block-buffered for speed; the program flushes when its input is
 * momentarily idle, at exit, and per record with -u. A write error is sticky:
 * once a write failed, nothing more is written and out_failed() returns the
 * errno, so a program checks it at its flush points and decides what to do
 * (EPIPE is a normal end for some programs, ENOSPC never is).
 */
#ifndef OUT_H
#define OUT_H

#include <stddef.h>
#include <string.h>

#define OUT_BUFSZ (256 * 1024) /* bytes */

struct out_state {
	char *buf;
	size_t len; /* bytes pending in buf */
	int fd;
	int err;        /* errno of the first failed write, 0 if none */
	int unbuffered; /* -u: flush after each record */
};

extern struct out_state out_st;

void out_init(int fd, int unbuffered);
void out_free(void);
/* Writes what is pending; returns 0 or -1 with errno set (sticky). */
int out_flush(void);
int out_failed(void);
/* For filters, where a failed write always ends the run: if a write failed,
 * "PROG: cannot write to standard output: reason" and exit 1. */
void out_check(void);
/* Ensures n contiguous free bytes (n <= OUT_BUFSZ) and returns where they start. */
char *out_reserve(size_t n);
void out_write(const void *p, size_t n);
/* Ends a record: flushes under -u. */
void out_end_record(void);

static inline void
out_commit(size_t n)
{
	out_st.len += n;
}

static inline void
out_byte(char c)
{
	if (out_st.len == OUT_BUFSZ)
		out_flush();
	out_st.buf[out_st.len++] = c;
}

#endif
