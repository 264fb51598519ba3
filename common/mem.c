/*
 * mem: allocation that stops the program on failure, and the growable
 * buffer (mem.h).
 */
#define _DEFAULT_SOURCE /* MADV_HUGEPAGE, MAP_ANONYMOUS */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

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

static size_t
big_len(size_t n)
{
	return (n + MEM_HUGE - 1) & ~(MEM_HUGE - 1);
}

void *
mem_big(size_t n)
{
	size_t len = big_len(n);
	char *p, *a;

	if (n < MEM_HUGE)
		return ecalloc(1, n);
	/* one piece more, so that an aligned start is inside; the rest is
	 * given back */
	p = mmap(NULL, len + MEM_HUGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		oom(n);
	a = p + ((MEM_HUGE - (uintptr_t)p % MEM_HUGE) % MEM_HUGE);
	if (a > p)
		munmap(p, (size_t)(a - p));
	if (a + len < p + len + MEM_HUGE)
		munmap(a + len, (size_t)(p + len + MEM_HUGE - (a + len)));
#ifdef MADV_HUGEPAGE
	madvise(a, len, MADV_HUGEPAGE); /* a hint: without THP, small pages */
#endif
	return a;
}

void
mem_big_free(void *p, size_t n)
{
	if (!p)
		return;
	if (n < MEM_HUGE)
		free(p);
	else
		munmap(p, big_len(n));
}
