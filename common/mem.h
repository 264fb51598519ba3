/*
 * mem: memory, with the one out-of-memory policy of ordpipe.
 *
 * Every program stops with "PROG: out of memory" (status 1) when an
 * allocation fails, as sbase's emalloc does: no caller handles NULL, and no
 * partial result is ever written as if it were whole. struct buf is the one
 * growable byte buffer (SQL statements, --stats lines, JSON heads).
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

/* Big state (winagg's hash tables and entry chunks): n bytes, zeroed, in
 * whole 2 MiB pieces aligned to 2 MiB with transparent huge pages asked for
 * (madvise), so a table of millions of slots costs a fault and a TLB entry
 * per 2 MiB instead of per 4 KiB; below MEM_HUGE, calloc. Freed with its
 * size. */
#define MEM_HUGE ((size_t)2 << 20)
void *mem_big(size_t n);
void mem_big_free(void *p, size_t n);

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
