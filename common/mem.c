/*
 * mem: allocation that stops the program on failure, and the growable
 * buffer (mem.h).
 */
#include <stdlib.h>
#include <string.h>

#include "diag.h"
#include "mem.h"

static _Noreturn void
oom(size_t n)
{
	diag_die(DIAG_EX_FAIL, "out of memory (%zu bytes wanted)", n);
}

void *
emalloc(size_t n)
{
	void *p = malloc(n ? n : 1);

	if (!p)
		oom(n);
	return p;
}

void *
ecalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size ? size : 1);

	if (!p)
		oom(n * size);
	return p;
}

void *
erealloc(void *p, size_t n)
{
	void *q = realloc(p, n ? n : 1);

	if (!q)
		oom(n);
	return q;
}

char *
estrdup(const char *s)
{
	return estrndup(s, strlen(s));
}

char *
estrndup(const char *s, size_t n)
{
	char *p = emalloc(n + 1);

	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

void *
egrow(void *p, size_t *cap, size_t need, size_t size, size_t first)
{
	size_t c = *cap ? *cap : first;

	if (need <= *cap)
		return p;
	while (c < need) {
		if (c > ((size_t)-1 / 2) / size)
			oom((size_t)-1);
		c *= 2;
	}
	p = erealloc(p, c * size);
	*cap = c;
	return p;
}

void
buf_reserve(struct buf *b, size_t n)
{
	b->p = egrow(b->p, &b->cap, b->len + n, 1, 512);
}

void
buf_sink(void *arg, const char *s, size_t n)
{
	buf_put(arg, s, n);
}

void
buf_free(struct buf *b)
{
	free(b->p);
	b->p = NULL;
	b->len = b->cap = 0;
}
