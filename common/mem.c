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

/* Under AddressSanitizer a region is poisoned but for its pieces, each
 * followed by a redzone, so a piece overrun is caught as with malloc. */
#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/asan_interface.h>
#define PIECE_RED 16
#else
#define PIECE_RED 0
#define ASAN_POISON_MEMORY_REGION(a, n) ((void)(a), (void)(n))
#define ASAN_UNPOISON_MEMORY_REGION(a, n) ((void)(a), (void)(n))
#endif

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

/* The pool of mem_big's pieces. */
static mem_pool big_pool;

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

	if (n <= MEM_HUGE / 2)
		return mem_piece(&big_pool, n); /* fresh: pieces are never reused */
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
	if (n <= MEM_HUGE / 2)
		mem_piece_free(&big_pool, p);
	else
		munmap(p, big_len(n));
}

/* Regions of p starting at or before q: q's region is the one before. */
static size_t
regions_upto(const mem_pool *p, const char *q)
{
	size_t lo = 0, hi = p->n;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (p->r[mid].base <= q)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static void
region_drop(mem_pool *p, size_t k)
{
	ASAN_UNPOISON_MEMORY_REGION(p->r[k].base, MEM_HUGE);
	mem_big_free(p->r[k].base, MEM_HUGE);
	memmove(&p->r[k], &p->r[k + 1], (p->n - k - 1) * sizeof(*p->r));
	p->n--;
}

void *
mem_piece(mem_pool *p, size_t n)
{
	size_t k, m;

	n = (n + 15) & ~(size_t)15;
	m = n + PIECE_RED;
	if (!p->carving || MEM_HUGE - p->carved < m) {
		char *old = p->carving;
		p->carving = mem_big(MEM_HUGE);
		ASAN_POISON_MEMORY_REGION(p->carving, MEM_HUGE);
		p->carved = 0;
		p->r = egrow(p->r, &p->cap, p->n + 1, sizeof(*p->r), 16);
		k = regions_upto(p, p->carving);
		memmove(&p->r[k + 1], &p->r[k], (p->n - k) * sizeof(*p->r));
		p->r[k] = (struct mem_region){p->carving, 0};
		p->n++;
		if (old && p->r[k = regions_upto(p, old) - 1].live == 0)
			region_drop(p, k);
	}
	p->r[regions_upto(p, p->carving) - 1].live++;
	p->carved += m;
	ASAN_UNPOISON_MEMORY_REGION(p->carving + p->carved - m, n);
	return p->carving + p->carved - m;
}

void
mem_piece_free(mem_pool *p, void *q)
{
	size_t k;

	if (!q)
		return;
	k = regions_upto(p, q) - 1;
	if (--p->r[k].live == 0 && p->r[k].base != p->carving)
		region_drop(p, k);
	if (p->n == 1 && p->r[0].live == 0) {
		/* nothing left: the region being carved goes too (no leak at exit) */
		region_drop(p, 0);
		free(p->r);
		*p = (mem_pool){0};
	}
}
