/*
 * ck: durable, checksummed snapshot files.
 *
 * A snapshot is written to NAME.tmp in its directory through a 1 MiB
 * buffer, followed by a 64-bit checksum of everything before it; then the
 * file is fsynced, renamed to NAME and the directory fsynced. So a reader
 * finds either the whole snapshot under NAME or none: a crash leaves at
 * most a .tmp file, and a torn or truncated file (a disk that lied) fails
 * the checksum. The checksum is hs_hash chained over 1 MiB chunks, so it is
 * computed as the data streams out, without holding the file in memory.
 */
#ifndef CK_H
#define CK_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define CK_CHUNK (1024 * 1024) /* bytes per checksum chunk and per write */

typedef struct ck_writer {
	int fd;
	char *dir, *path, *tmp;
	char *buf;
	size_t len;   /* bytes in buf */
	uint64_t sum; /* checksum of the chunks written so far */
	int err;      /* errno of the first failure, sticky */
} ck_writer;

/* Opens DIR/NAME.tmp for writing; -1 with errno. */
int ck_begin(ck_writer *w, const char *dir, const char *name);
void ck_put(ck_writer *w, const void *p, size_t n);
/* Appends the checksum, fsyncs, renames to DIR/NAME and fsyncs DIR. On
 * failure the .tmp file is removed and -1 returned with errno: any older
 * snapshot is untouched. Frees w either way. */
int ck_commit(ck_writer *w);
/* Gives up on a snapshot being written: removes the .tmp file, frees w. */
void ck_abort(ck_writer *w);

/* Reads DIR/NAME whole and checks its checksum. Returns the contents
 * without the checksum (malloc'd, *len bytes), or NULL with *why set
 * ("cannot read: ...", "truncated", "checksum mismatch"). */
char *ck_load(const char *path, size_t *len, const char **why);

#endif
