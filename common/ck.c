/*
 * ck: durable, checksummed snapshot files (see ck.h).
 */
#include "ck.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hs.h"
#include "mem.h"

#define CK_SEED 0x636b70746f726470ULL

static char *
join(const char *dir, const char *name, const char *suffix)
{
	size_t n = strlen(dir) + strlen(name) + strlen(suffix) + 2;
	char *p = emalloc(n);

	snprintf(p, n, "%s/%s%s", dir, name, suffix);
	return p;
}

static void
writer_free(ck_writer *w)
{
	if (w->fd >= 0)
		close(w->fd);
	w->fd = -1;
	free(w->dir);
	free(w->path);
	free(w->tmp);
	free(w->buf);
	w->dir = w->path = w->tmp = w->buf = NULL;
}

int
ck_begin(ck_writer *w, const char *dir, const char *name)
{
	memset(w, 0, sizeof(*w));
	w->fd = -1;
	w->dir = estrdup(dir);
	w->path = join(dir, name, "");
	w->tmp = join(dir, name, ".tmp");
	w->buf = emalloc(CK_CHUNK);
	w->sum = CK_SEED;
	w->fd = open(w->tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (w->fd < 0) {
		int e = errno;
		writer_free(w);
		errno = e;
		return -1;
	}
	return 0;
}

static void
write_all(ck_writer *w, const char *p, size_t n)
{
	while (n > 0 && !w->err) {
		ssize_t k = write(w->fd, p, n);
		if (k < 0) {
			if (errno == EINTR)
				continue;
			w->err = errno;
			return;
		}
		p += k;
		n -= (size_t)k;
	}
}

/* Checksums and writes the buffered chunk. */
static void
drain(ck_writer *w)
{
	if (w->len == 0)
		return;
	w->sum = hs_hash(w->buf, w->len, w->sum);
	write_all(w, w->buf, w->len);
	w->len = 0;
}

void
ck_put(ck_writer *w, const void *p, size_t n)
{
	const char *s = p;

	while (n > 0 && !w->err) {
		size_t k = CK_CHUNK - w->len;
		if (k > n)
			k = n;
		memcpy(w->buf + w->len, s, k);
		w->len += k;
		s += k;
		n -= k;
		if (w->len == CK_CHUNK)
			drain(w);
	}
}

int
ck_commit(ck_writer *w)
{
	unsigned char sum[8];
	int dfd, e;

	drain(w);
	for (int i = 0; i < 8; i++)
		sum[i] = (unsigned char)(w->sum >> (8 * i));
	write_all(w, (const char *)sum, 8);
	if (!w->err && fsync(w->fd) != 0)
		w->err = errno;
	if (close(w->fd) != 0 && !w->err)
		w->err = errno;
	w->fd = -1;
	if (!w->err && rename(w->tmp, w->path) != 0)
		w->err = errno;
	if (!w->err) {
		/* The rename is durable only once the directory is. */
		dfd = open(w->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (dfd < 0 || fsync(dfd) != 0)
			w->err = errno;
		if (dfd >= 0)
			close(dfd);
	}
	e = w->err;
	if (e)
		unlink(w->tmp);
	writer_free(w);
	errno = e;
	return e ? -1 : 0;
}

void
ck_abort(ck_writer *w)
{
	if (w->tmp)
		unlink(w->tmp);
	writer_free(w);
}

char *
ck_load(const char *path, size_t *len, const char **why)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	char *p = NULL;
	size_t n, got = 0;
	uint64_t sum = CK_SEED, want = 0;

	if (fd < 0 || fstat(fd, &st) != 0) {
		*why = strerror(errno);
		goto fail;
	}
	n = (size_t)st.st_size;
	if (n < 8) {
		*why = "truncated (no checksum)";
		goto fail;
	}
	p = emalloc(n);
	while (got < n) {
		ssize_t k = read(fd, p + got, n - got);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0) {
			*why = k < 0 ? strerror(errno) : "truncated";
			goto fail;
		}
		got += (size_t)k;
	}
	n -= 8;
	for (size_t off = 0; off < n; off += CK_CHUNK)
		sum = hs_hash(p + off, n - off < CK_CHUNK ? n - off : CK_CHUNK, sum);
	for (int i = 0; i < 8; i++)
		want |= (uint64_t)(unsigned char)p[n + i] << (8 * i);
	if (sum != want) {
		*why = "checksum mismatch (torn or truncated)";
		goto fail;
	}
	close(fd);
	*len = n;
	return p;
fail:
	if (fd >= 0)
		close(fd);
	free(p);
	return NULL;
}
