/*
 * out: buffered standard output with a sticky error (see out.h).
 */
#include "mem.h"
#include "out.h"

#include <errno.h>
#include <string.h>
#include <stdlib.h>
#include <unistd.h>

#include "diag.h"
#include "st.h"

struct out_state out_st;

void
out_init(int fd, int unbuffered)
{
	out_st.buf = emalloc(OUT_BUFSZ);
	out_st.len = 0;
	out_st.fd = fd;
	out_st.err = 0;
	out_st.unbuffered = unbuffered;
}

void
out_free(void)
{
	free(out_st.buf);
	out_st.buf = NULL;
}

int
out_flush(void)
{
	enum st_phase was;
	size_t off = 0;

	if (out_st.err) {
		out_st.len = 0;
		errno = out_st.err;
		return -1;
	}
	was = st_enter(ST_EMIT); /* a slow reader downstream shows here */
	while (off < out_st.len) {
		ssize_t n = write(out_st.fd, out_st.buf + off, out_st.len - off);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			out_st.err = errno;
			break;
		}
		off += (size_t)n;
		out_st.written += (uint64_t)n;
	}
	st_enter(was);
	out_st.len = 0;
	return out_st.err ? -1 : 0;
}

int
out_failed(void)
{
	return out_st.err;
}

char *
out_reserve(size_t n)
{
	if (OUT_BUFSZ - out_st.len < n)
		out_flush();
	return out_st.buf + out_st.len;
}

void
out_write(const void *p, size_t n)
{
	const char *s = p;

	while (n > 0) {
		size_t room = OUT_BUFSZ - out_st.len;
		if (room == 0) {
			out_flush();
			room = OUT_BUFSZ;
		}
		if (room > n)
			room = n;
		memcpy(out_st.buf + out_st.len, s, room);
		out_st.len += room;
		s += room;
		n -= room;
	}
}

void
out_end_record(void)
{
	if (out_st.unbuffered)
		out_flush();
}

void
out_check(void)
{
	if (out_st.err)
		diag_die(DIAG_EX_FAIL, "cannot write to standard output: %s", strerror(out_st.err));
}
