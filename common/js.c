/*
 * js: JSON scanning and writing (see js.h).
 *
 * The scanner is a recursive descent over the bytes with no lookahead
 * buffer: whitespace, then one value. Strings are checked byte by byte for
 * control characters, escapes and UTF-8; numbers against RFC 8259's grammar.
 */
#include "js.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mem.h"
#include "out.h"

typedef struct scan {
	const char *s;
	size_t n, i;
	const char *why;
	int spaced;   /* whitespace was skipped somewhere */
	int members;  /* members of the top-level object */
} scan;

/* Bytes a string can hold as they are: printable ASCII but '"' and '\\'. */
static const unsigned char plain[256] = {
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	1, 1, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 1, 1, 1,
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
};

/* Eight bytes at a time: the high bit of a byte of the result is set where
 * v's byte is c (and, harmlessly, maybe after such a byte), so that a zero
 * result says no byte of v is c. */
#define WORD_ONES 0x0101010101010101ULL
#define WORD_TOP 0x8080808080808080ULL

static inline uint64_t
word_has(uint64_t v, unsigned char c)
{
	uint64_t x = v ^ (WORD_ONES * c);

	return (x - WORD_ONES) & ~x & WORD_TOP;
}

/* Are the eight bytes at p free of what a JSON string cannot hold as it is
 * (a control character, '"', '\\') and, with high, of bytes above 0x7f?
 * The scanner's and the encoder's runs of plain text. */
static inline int
word_plain(const char *p, int high)
{
	uint64_t v;

	memcpy(&v, p, 8);
	return !((((v - WORD_ONES * 0x20) & ~v & WORD_TOP) | word_has(v, '"') | word_has(v, '\\') |
	          (high ? v & WORD_TOP : 0)));
}

void
js_want_init(js_want *w, const char **names, int n)
{
	w->n = n;
	w->names = names;
	w->lens = emalloc(sizeof(*w->lens) * (size_t)(n > 0 ? n : 1));
	for (int i = 0; i < n; i++)
		w->lens[i] = strlen(names[i]);
}

void
js_want_free(js_want *w)
{
	free(w->lens);
	w->lens = NULL;
}

static void
skip_ws_run(scan *sc)
{
	size_t i0 = sc->i;

	while (sc->i < sc->n) {
		char c = sc->s[sc->i];
		if (c != ' ' && c != '\t' && c != '\n' && c != '\r')
			break;
		sc->i++;
	}
	sc->spaced |= sc->i != i0;
}

/* Inline for its common case: compact JSON, no space to skip. */
static inline void
skip_ws(scan *sc)
{
	if (sc->i < sc->n && sc->s[sc->i] > ' ')
		return;
	skip_ws_run(sc);
}

size_t
js_utf8_len(const char *str, size_t n)
{
	const unsigned char *s = (const unsigned char *)str;
	unsigned char c = s[0];

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		return n >= 2 && (s[1] & 0xc0) == 0x80 ? 2 : 0;
	if (c >= 0xe0 && c <= 0xef) {
		if (n < 3 || (s[1] & 0xc0) != 0x80 || (s[2] & 0xc0) != 0x80)
			return 0;
		if (c == 0xe0 && s[1] < 0xa0)
			return 0; /* overlong */
		if (c == 0xed && s[1] >= 0xa0)
			return 0; /* surrogate */
		return 3;
	}
	if (c >= 0xf0 && c <= 0xf4) {
		if (n < 4 || (s[1] & 0xc0) != 0x80 || (s[2] & 0xc0) != 0x80 || (s[3] & 0xc0) != 0x80)
			return 0;
		if (c == 0xf0 && s[1] < 0x90)
			return 0; /* overlong */
		if (c == 0xf4 && s[1] >= 0x90)
			return 0; /* above U+10FFFF */
		return 4;
	}
	return 0;
}

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* At the opening quote; leaves i after the closing one. */
static int
scan_string(scan *sc, js_val *v)
{
	const char *s = sc->s;
	size_t i = sc->i + 1, n = sc->n;
	uint8_t esc = 0;

	for (;;) {
		unsigned char c;
		while (n - i >= 8 && word_plain(s + i, 1))
			i += 8;
		while (i < n && plain[(unsigned char)s[i]])
			i++;
		if (i >= n) {
			sc->i = i;
			sc->why = "unterminated string";
			return -1;
		}
		c = (unsigned char)s[i];
		if (c == '"')
			break;
		if (c < 0x20) {
			sc->i = i;
			sc->why = "control character in string";
			return -1;
		}
		if (c == '\\') {
			esc = 1;
			if (i + 1 >= n) {
				sc->i = i;
				sc->why = "unterminated string";
				return -1;
			}
			switch (s[i + 1]) {
			case '"': case '\\': case '/': case 'b': case 'f': case 'n': case 'r': case 't':
				i += 2;
				break;
			case 'u':
				if (i + 6 > n || hexval(s[i + 2]) < 0 || hexval(s[i + 3]) < 0 ||
				    hexval(s[i + 4]) < 0 || hexval(s[i + 5]) < 0) {
					sc->i = i;
					sc->why = "bad \\u escape";
					return -1;
				}
				{
					/* A surrogate must come as a high-low pair: a lone one
					 * is no character (json-c would make it U+FFFD, and
					 * "x\ud800" would then equal "x\ufffd"). */
					unsigned cp = (unsigned)(hexval(s[i + 2]) << 12 | hexval(s[i + 3]) << 8 |
					                         hexval(s[i + 4]) << 4 | hexval(s[i + 5]));
					int lone = cp >= 0xdc00 && cp <= 0xdfff;
					if (cp >= 0xd800 && cp <= 0xdbff) {
						unsigned lo = 0;
						lone = 1;
						if (i + 12 <= n && s[i + 6] == '\\' && s[i + 7] == 'u' &&
						    hexval(s[i + 8]) >= 0 && hexval(s[i + 9]) >= 0 &&
						    hexval(s[i + 10]) >= 0 && hexval(s[i + 11]) >= 0) {
							lo = (unsigned)(hexval(s[i + 8]) << 12 | hexval(s[i + 9]) << 8 |
							                hexval(s[i + 10]) << 4 | hexval(s[i + 11]));
							lone = !(lo >= 0xdc00 && lo <= 0xdfff);
						}
						if (!lone)
							i += 6;
					}
					if (lone) {
						sc->i = i;
						sc->why = "lone surrogate in \\u escape (not a character)";
						return -1;
					}
				}
				i += 6;
				break;
			default:
				sc->i = i;
				sc->why = "bad escape in string";
				return -1;
			}
			continue;
		}
		{
			size_t k = js_utf8_len(s + i, n - i);
			if (k == 0) {
				sc->i = i;
				sc->why = "invalid UTF-8 in string";
				return -1;
			}
			i += k;
		}
	}
	if (v) {
		v->type = JS_STR;
		v->p = s + sc->i + 1;
		v->n = (uint32_t)(i - sc->i - 1);
		v->esc = esc;
	}
	sc->i = i + 1;
	return 0;
}

static int
scan_number(scan *sc, js_val *v)
{
	const char *s = sc->s;
	size_t i = sc->i, n = sc->n, start = i;
	uint8_t isint = 1;

	if (i < n && s[i] == '-')
		i++;
	if (i >= n || s[i] < '0' || s[i] > '9')
		goto bad;
	if (s[i] == '0') {
		i++;
		if (i < n && s[i] >= '0' && s[i] <= '9')
			goto bad; /* no leading zeros */
	} else
		while (i < n && s[i] >= '0' && s[i] <= '9')
			i++;
	if (i < n && s[i] == '.') {
		isint = 0;
		i++;
		if (i >= n || s[i] < '0' || s[i] > '9')
			goto bad;
		while (i < n && s[i] >= '0' && s[i] <= '9')
			i++;
	}
	if (i < n && (s[i] == 'e' || s[i] == 'E')) {
		isint = 0;
		i++;
		if (i < n && (s[i] == '+' || s[i] == '-'))
			i++;
		if (i >= n || s[i] < '0' || s[i] > '9')
			goto bad;
		while (i < n && s[i] >= '0' && s[i] <= '9')
			i++;
	}
	if (v) {
		v->type = JS_NUM;
		v->p = s + start;
		v->n = (uint32_t)(i - start);
		v->isint = isint;
	}
	sc->i = i;
	return 0;
bad:
	sc->i = i;
	sc->why = "bad number";
	return -1;
}

static int
scan_lit(scan *sc, const char *lit, size_t len, js_type t, js_val *v)
{
	if (sc->n - sc->i < len || memcmp(sc->s + sc->i, lit, len) != 0) {
		sc->why = "unexpected character";
		return -1;
	}
	if (v) {
		v->type = t;
		v->p = sc->s + sc->i;
		v->n = (uint32_t)len;
	}
	sc->i += len;
	return 0;
}

static int scan_value(scan *sc, js_val *v, int depth);

/* At '{' or '['; validates the container and leaves i after its end. */
static int
scan_container(scan *sc, js_val *v, int depth, const js_want *w, js_val *vals)
{
	char close = sc->s[sc->i] == '{' ? '}' : ']';
	size_t start = sc->i;

	if (depth >= JS_MAX_DEPTH) {
		sc->why = "nesting too deep";
		return -1;
	}
	sc->i++;
	skip_ws(sc);
	if (sc->i < sc->n && sc->s[sc->i] == close) {
		sc->i++;
		goto done;
	}
	for (;;) {
		js_val *dst = NULL;
		if (close == '}') {
			js_val key;
			if (depth == 0)
				sc->members++;
			if (sc->i >= sc->n || sc->s[sc->i] != '"') {
				sc->why = sc->i >= sc->n ? "unexpected end of input" : "expected a string key";
				return -1;
			}
			if (scan_string(sc, &key) < 0)
				return -1;
			if (w) {
				for (int k = 0; k < w->n; k++) {
					if (!key.esc) {
						if (key.n == w->lens[k] && key.p[0] == w->names[k][0] &&
						    memcmp(key.p, w->names[k], key.n) == 0) {
							dst = &vals[k];
							break; /* names are distinct */
						}
					} else {
						char tmp[256];
						if (key.n <= sizeof(tmp)) {
							size_t l = js_unescape(key.p, key.n, tmp);
							if (l == w->lens[k] && memcmp(tmp, w->names[k], l) == 0)
								dst = &vals[k];
						}
					}
				}
			}
			skip_ws(sc);
			if (sc->i >= sc->n || sc->s[sc->i] != ':') {
				sc->why = sc->i >= sc->n ? "unexpected end of input" : "expected ':'";
				return -1;
			}
			sc->i++;
			skip_ws(sc);
		}
		if (scan_value(sc, dst, depth + 1) < 0)
			return -1;
		skip_ws(sc);
		if (sc->i >= sc->n) {
			sc->why = "unexpected end of input";
			return -1;
		}
		if (sc->s[sc->i] == ',') {
			sc->i++;
			skip_ws(sc);
			continue;
		}
		if (sc->s[sc->i] == close) {
			sc->i++;
			break;
		}
		sc->why = close == '}' ? "expected ',' or '}'" : "expected ',' or ']'";
		return -1;
	}
done:
	if (v) {
		v->type = close == '}' ? JS_OBJ : JS_ARR;
		v->p = sc->s + start;
		v->n = (uint32_t)(sc->i - start);
	}
	return 0;
}

static int
scan_value(scan *sc, js_val *v, int depth)
{
	if (sc->i >= sc->n) {
		sc->why = "unexpected end of input";
		return -1;
	}
	switch (sc->s[sc->i]) {
	case '"':
		return scan_string(sc, v);
	case '{':
	case '[':
		return scan_container(sc, v, depth, NULL, NULL);
	case 't':
		return scan_lit(sc, "true", 4, JS_TRUE, v);
	case 'f':
		return scan_lit(sc, "false", 5, JS_FALSE, v);
	case 'n':
		return scan_lit(sc, "null", 4, JS_NULL, v);
	default:
		if (sc->s[sc->i] == '-' || (sc->s[sc->i] >= '0' && sc->s[sc->i] <= '9'))
			return scan_number(sc, v);
		sc->why = "unexpected character";
		return -1;
	}
}

int
js_scan(const char *s, size_t n, const js_want *w, js_val *vals, js_err *err)
{
	scan sc = {.s = s, .n = n, .i = 0, .why = NULL, .spaced = 0, .members = 0};

	for (int k = 0; w && k < w->n; k++)
		vals[k].type = JS_MISSING;
	skip_ws(&sc);
	if (sc.i >= n || s[sc.i] != '{') {
		err->pos = sc.i;
		err->why = sc.i >= n ? "empty line" : "not JSON";
		if (sc.i < n && scan_value(&sc, NULL, 0) == 0) {
			skip_ws(&sc);
			if (sc.i == n)
				err->why = "a JSON value but not an object";
		}
		return -1;
	}
	if (scan_container(&sc, NULL, 0, w, vals) < 0) {
		err->pos = sc.i;
		err->why = sc.why;
		return -1;
	}
	skip_ws(&sc);
	if (sc.i != n) {
		err->pos = sc.i;
		err->why = "trailing characters after the object";
		return -1;
	}
	err->spaced = sc.spaced;
	err->members = sc.members;
	return 0;
}

int
js_to_i64(const js_val *v, int64_t *out)
{
	const char *p = v->p, *e = v->p + v->n;
	int neg = 0;
	uint64_t acc = 0, lim;

	if (*p == '-') {
		neg = 1;
		p++;
	}
	lim = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
	for (; p < e; p++) {
		unsigned d = (unsigned)(*p - '0');
		if (acc > (lim - d) / 10)
			return -1;
		acc = acc * 10 + d;
	}
	*out = neg ? (int64_t)(0 - acc) : (int64_t)acc;
	return 0;
}

double
js_to_double(const js_val *v)
{
	char tmp[128];
	char *heap = NULL, *buf = tmp;
	double d;

	if (v->n >= sizeof(tmp)) {
		heap = emalloc(v->n + 1);
		buf = heap;
	}
	memcpy(buf, v->p, v->n);
	buf[v->n] = '\0';
	d = strtod(buf, NULL);
	free(heap);
	return d;
}

static size_t
put_utf8(unsigned cp, char *o)
{
	if (cp < 0x80) {
		o[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		o[0] = (char)(0xc0 | (cp >> 6));
		o[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		o[0] = (char)(0xe0 | (cp >> 12));
		o[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		o[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	o[0] = (char)(0xf0 | (cp >> 18));
	o[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
	o[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
	o[3] = (char)(0x80 | (cp & 0x3f));
	return 4;
}

static unsigned
hex4(const char *p)
{
	return (unsigned)(hexval(p[0]) << 12 | hexval(p[1]) << 8 | hexval(p[2]) << 4 | hexval(p[3]));
}

size_t
js_unescape(const char *p, size_t n, char *out)
{
	size_t i = 0, o = 0;

	while (i < n) {
		if (p[i] != '\\') {
			out[o++] = p[i++];
			continue;
		}
		char c = p[i + 1];
		i += 2;
		switch (c) {
		case 'b': out[o++] = '\b'; break;
		case 'f': out[o++] = '\f'; break;
		case 'n': out[o++] = '\n'; break;
		case 'r': out[o++] = '\r'; break;
		case 't': out[o++] = '\t'; break;
		case 'u': {
			unsigned cp = hex4(p + i);
			i += 4;
			if (cp >= 0xd800 && cp <= 0xdbff && i + 6 <= n && p[i] == '\\' && p[i + 1] == 'u') {
				unsigned lo = hex4(p + i + 2);
				if (lo >= 0xdc00 && lo <= 0xdfff) {
					cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
					i += 6;
				}
			}
			if (cp >= 0xd800 && cp <= 0xdfff)
				cp = 0xfffd; /* a lone surrogate has no UTF-8 form */
			o += put_utf8(cp, out + o);
			break;
		}
		default: out[o++] = c; break;
		}
	}
	return o;
}

size_t
js_escape_ascii(unsigned char c, char *out)
{
	static const char hex[] = "0123456789abcdef";

	switch (c) {
	case '"': out[0] = '\\'; out[1] = '"'; return 2;
	case '\\': out[0] = '\\'; out[1] = '\\'; return 2;
	case '\n': out[0] = '\\'; out[1] = 'n'; return 2;
	case '\r': out[0] = '\\'; out[1] = 'r'; return 2;
	case '\t': out[0] = '\\'; out[1] = 't'; return 2;
	case '\b': out[0] = '\\'; out[1] = 'b'; return 2;
	case '\f': out[0] = '\\'; out[1] = 'f'; return 2;
	default:
		if (c < 0x20) {
			memcpy(out, "\\u00", 4);
			out[4] = hex[c >> 4];
			out[5] = hex[c & 15];
			return 6;
		}
		out[0] = (char)c;
		return 1;
	}
}

void
js_escape(const char *s, size_t n, int bytes, void (*put)(void *, const char *, size_t), void *arg)
{
	size_t i = 0, run = 0;
	char tmp[8];

	while (i < n) {
		unsigned char c;
		/* eight bytes at a time while none needs escaping (a control
		 * character, '"', '\\', or with bytes a byte above 0x7f) */
		while (n - i >= 8 && word_plain(s + i, bytes))
			i += 8;
		if (i >= n)
			break;
		c = (unsigned char)s[i];
		if (c >= 0x80 && bytes) {
			size_t ulen = js_utf8_len(s + i, n - i);
			if (ulen > 0) {
				i += ulen;
				continue;
			}
			put(arg, s + run, i - run);
			snprintf(tmp, sizeof(tmp), "\\u%04x", c);
			put(arg, tmp, 6);
			run = ++i;
			continue;
		}
		if (c >= 0x20 && c != '"' && c != '\\') {
			i++;
			continue;
		}
		put(arg, s + run, i - run);
		put(arg, tmp, js_escape_ascii(c, tmp));
		run = ++i;
	}
	put(arg, s + run, i - run);
}

static void
to_out(void *arg, const char *p, size_t n)
{
	(void)arg;
	out_write(p, n);
}

void
js_out_str(const char *s, size_t n)
{
	out_byte('"');
	js_escape(s, n, 0, to_out, NULL);
	out_byte('"');
}

size_t
js_fmt_u64(uint64_t v, char *buf)
{
	char tmp[20];
	size_t n = 0;

	do {
		tmp[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	for (size_t i = 0; i < n; i++)
		buf[i] = tmp[n - 1 - i];
	return n;
}

size_t
js_fmt_i64(int64_t v, char *buf)
{
	if (v < 0) {
		buf[0] = '-';
		return 1 + js_fmt_u64(0 - (uint64_t)v, buf + 1);
	}
	return js_fmt_u64((uint64_t)v, buf);
}

size_t
js_fmt_double(double d, char *buf)
{
	int len = 0;

	for (int prec = 15; prec <= 17; prec++) {
		len = snprintf(buf, 32, "%.*g", prec, d);
		if (strtod(buf, NULL) == d)
			break;
	}
	if (!strpbrk(buf, ".eEn")) {
		memcpy(buf + len, ".0", 3);
		len += 2;
	}
	return (size_t)len;
}

void
js_out_i64(int64_t v)
{
	char *p = out_reserve(24);
	out_commit(js_fmt_i64(v, p));
}

void
js_out_double(double d)
{
	char *p;

	if (!isfinite(d)) {
		out_write("null", 4); /* JSON has no infinities */
		return;
	}
	p = out_reserve(40);
	out_commit(js_fmt_double(d, p));
}

size_t
js_compact(const char *s, size_t n, char *out)
{
	size_t o = 0;
	int in_str = 0;

	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (in_str) {
			out[o++] = c;
			if (c == '\\' && i + 1 < n)
				out[o++] = s[++i];
			else if (c == '"')
				in_str = 0;
		} else if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
			continue;
		} else {
			if (c == '"')
				in_str = 1;
			out[o++] = c;
		}
	}
	return o;
}


size_t
js_key_put(char *dst, size_t cap, const char *s, size_t n)
{
	size_t len = 0;

	for (size_t i = 0; i < n; i++) {
		/* eight bytes at once while none is '%' or '|' and each would
		 * have had its 3 bytes of room in the loop below */
		while (n - i >= 8 && len + 10 <= cap) {
			uint64_t v;
			memcpy(&v, s + i, 8);
			if (word_has(v, '%') | word_has(v, '|'))
				break;
			memcpy(dst + len, s + i, 8);
			len += 8;
			i += 8;
		}
		if (i >= n)
			break;
		if (len + 3 > cap)
			return (size_t)-1;
		if (s[i] == '%') {
			memcpy(dst + len, "%25", 3);
			len += 3;
		} else if (s[i] == '|') {
			memcpy(dst + len, "%7C", 3);
			len += 3;
		} else {
			dst[len++] = s[i];
		}
	}
	return len;
}

void
js_out_bytes(const char *s, size_t n)
{
	out_byte('"');
	js_escape(s, n, 1, to_out, NULL);
	out_byte('"');
}

void
js_each(const char *s, size_t n, void (*fn)(void *arg, const js_val *name, const js_val *val),
        void *arg)
{
	scan sc = {.s = s, .n = n, .i = 0, .why = NULL, .spaced = 0, .members = 0};

	skip_ws(&sc);
	sc.i++; /* '{' */
	skip_ws(&sc);
	if (sc.i < n && s[sc.i] == '}')
		return;
	for (;;) {
		js_val key, val;
		if (scan_string(&sc, &key) < 0)
			return;
		skip_ws(&sc);
		sc.i++; /* ':' */
		skip_ws(&sc);
		if (scan_value(&sc, &val, 1) < 0)
			return;
		fn(arg, &key, &val);
		skip_ws(&sc);
		if (sc.i >= n || s[sc.i] != ',')
			return;
		sc.i++;
		skip_ws(&sc);
	}
}

size_t
js_text(const js_val *v, char *buf, const char **p)
{
	if (v->type == JS_STR && v->esc) {
		*p = buf;
		return js_unescape(v->p, v->n, buf);
	}
	*p = v->p;
	return v->n;
}
