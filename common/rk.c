/*
 * rk: rowkeys (rk.h).
 */
#include <stdint.h>
#include <string.h>

#include "hs.h"
#include "js.h"
#include "rk.h"
#include "tm.h"

/* Appends s with '%' and '|' percent-encoded; -1 if past the limit. */
static int
put(char *rk, size_t *len, const char *s, size_t n)
{
	size_t k = js_key_put(rk + *len, RK_MAX - *len, s, n);

	if (k == (size_t)-1)
		return -1;
	*len += k;
	return 0;
}

/* "WS/WE/..." with WE of welen bytes. */
static size_t
make(const char *ws, const char *we, size_t welen, const char *key, size_t klen, int ngroup,
     char *rk)
{
	static const char hex[] = "0123456789abcdef";
	const char *k = key, *end = key + klen;
	const size_t head = TM_RFC3339_LEN + welen + 2;
	size_t len = head;
	uint64_t h1, h2;

	memcpy(rk, ws, TM_RFC3339_LEN);
	rk[TM_RFC3339_LEN] = '/';
	memcpy(rk + TM_RFC3339_LEN + 1, we, welen);
	rk[head - 1] = '/';
	for (int g = 0; g < ngroup; g++) {
		const char *v = k;
		while (k < end && *k != '\0')
			k++;
		if (g > 0) {
			if (len + 1 > RK_MAX)
				goto hashed;
			rk[len++] = '|';
		}
		if (put(rk, &len, v, (size_t)(k - v)) < 0)
			goto hashed;
		k++;
	}
	return len;
hashed:
	h1 = hs_hash(key, klen, 0x6f72647069706531ULL);
	h2 = hs_hash(key, klen, 0x77696e6167673232ULL);
	len = head;
	rk[len++] = '#';
	for (int i = 15; i >= 0; i--)
		rk[len++] = hex[(h1 >> (4 * i)) & 15];
	for (int i = 15; i >= 0; i--)
		rk[len++] = hex[(h2 >> (4 * i)) & 15];
	return len;
}

size_t
rk_make(const char *ws, const char *we, const char *key, size_t klen, int ngroup, char *rk)
{
	return make(ws, we, TM_RFC3339_LEN, key, klen, ngroup, rk);
}

size_t
rk_session(const char *start, const char *key, size_t klen, int ngroup, char *rk)
{
	return make(start, "session", 7, key, klen, ngroup, rk);
}

void
rk_key_put(struct buf *key, const js_val *v, char *tmp)
{
	switch (v->type) {
	case JS_MISSING:
		buf_put(key, "null", 4);
		break;
	case JS_STR:
		buf_putc(key, '"');
		if (!v->esc)
			buf_put(key, v->p, v->n);
		else
			js_escape(tmp, js_unescape(v->p, v->n, tmp), 0, buf_sink, key);
		buf_putc(key, '"');
		break;
	default:
		buf_put(key, v->p, v->n);
	}
	buf_putc(key, '\0');
}
