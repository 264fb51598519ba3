/*
 * mem: memory, with the one out-of-memory policy of ordpipe.
 *
 * Every program stops with "PROG: out of memory" (status 1) when an
 * allocation fails, as sbase's emalloc does: no caller handles NULL, and no
 * partial result is ever written as if it were whole. struct buf is the one
 * growable byte buffer (SQL statements, --stats lines, JSON heads).
 * mem_big and pools of pieces put winagg's state on huge pages.
 */
#ifndef MEM_H
#define MEM_H

#include <stddef.h>
#include <string.h>

void *emalloc(size_t n);
void *ecalloc(size_t n, size_t size);
void *erealloc(void *p, size_t n);
char *estrdup(const char *s);
char *estrndup(const char *s, size_t n);
/* p grown to hold at least need elements of size bytes (*cap doubles from
 * first); p itself when it already does. */
void *egrow(void *p, size_t *cap, size_t need, size_t size, size_t first);

/* Big state (winagg's hash tables and entry chunks): n bytes, zeroed, on
 * transparent huge pages asked for (madvise), so a table of millions of
 * slots costs a fault and a TLB entry per 2 MiB instead of per 4 KiB: up to
 * MEM_HUGE / 2 a piece of a pool of its own (mem_piece), above that whole
 * 2 MiB pieces aligned to 2 MiB. Freed with its size. Not thread-safe. */
#define MEM_HUGE ((size_t)2 << 20)
void *mem_big(size_t n);
void mem_big_free(void *p, size_t n);

/* A pool of pieces (n <= MEM_HUGE / 2 bytes; zeroed: never reused) carved
 * in turn from 2 MiB regions on huge pages, for state made and freed a
 * piece at a time: a region costs one page fault, not 512. A region is
 * given back once every piece of it is freed and it is not the one being
 * carved; pieces of like lifetimes share a pool (one that lives long pins
 * its region). Zero-initialized; empty again once every piece is freed. */
struct mem_region {
	char *base;
	size_t live; /* pieces */
};
typedef struct {
	struct mem_region *r; /* sorted by base */
	size_t n, cap;
	char *carving; /* the region pieces come from, and its bytes used */
	size_t carved;
} mem_pool;
void *mem_piece(mem_pool *p, size_t n);
void mem_piece_free(mem_pool *p, void *q);

struct buf {
	char *p;
	size_t len, cap; /* bytes */
};

/* Room for n more bytes (b->p is never NULL after it). */
void buf_reserve(struct buf *b, size_t n);
/* Inline: winagg builds every row's group key with them. */
static inline void
buf_put(struct buf *b, const char *s, size_t n)
{
	if (b->len + n > b->cap)
		buf_reserve(b, n);
	if (n)
		memcpy(b->p + b->len, s, n);
	b->len += n;
}
static inline void
buf_putc(struct buf *b, char c)
{
	if (b->len + 1 > b->cap)
		buf_reserve(b, 1);
	b->p[b->len++] = c;
}
/* A string literal (only: "" s refuses anything else at compile time). */
#define buf_lit(b, s) buf_put((b), "" s, sizeof(s) - 1)
/* buf_put as a sink for js_escape (arg: the struct buf). */
void buf_sink(void *arg, const char *s, size_t n);
void buf_free(struct buf *b);

#endif
