/*
 * enospc: an LD_PRELOAD shim for the full-disk tests. write(2) to a file
 * whose path contains $ENOSPC_MATCH fails with ENOSPC, as on a full disk;
 * everything else is written as usual.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

ssize_t write(int fd, const void *buf, size_t n);

ssize_t
write(int fd, const void *buf, size_t n)
{
	static ssize_t (*real)(int, const void *, size_t);
	const char *match = getenv("ENOSPC_MATCH");
	char link[64], path[4096];
	ssize_t k;

	if (!real)
		real = (ssize_t(*)(int, const void *, size_t))dlsym(RTLD_NEXT, "write");
	if (match && *match && fd > 2) {
		snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
		k = readlink(link, path, sizeof(path) - 1);
		if (k > 0) {
			path[k] = '\0';
			if (strstr(path, match)) {
				errno = ENOSPC;
				return -1;
			}
		}
	}
	return real(fd, buf, n);
}
