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
#include <stdint.h>
#include <string.h>

#define OUT_BUFSZ (256 * 1024) /* bytes */

struct out_state {
	char *buf;
	size_t len; /* bytes pending in buf */
	int fd;
	int err;        /* errno of the first failed write, 0 if none */
	uint64_t written; /* bytes write(2) took so far, partial writes included */
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
/* Where the bytes appended so far end, in the stream of all output: a
 * record whose end is at or before out_written() has been written out. */
static inline uint64_t
out_pos(void)
{
	return out_st.written + out_st.len;
}

/* Bytes write(2) has taken so far. */
static inline uint64_t
out_written(void)
{
	return out_st.written;
}
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
