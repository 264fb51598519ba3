/*
 * js: a validating single-pass JSON scanner for the hot path, and JSON writing.
 *
 * js_scan() checks that a line is exactly one JSON object (RFC 8259: strict
 * number grammar, escapes, UTF-8, nesting up to JS_MAX_DEPTH like json-c's
 * default) and, in the same pass, picks out the top-level members the caller
 * asked for. Nothing is copied or allocated: a value points into the line.
 * When a key occurs twice the last one wins, as in json-c. The scanner is
 * tested for agreement with json-c on valid and corrupted inputs
 * (tests/unit). Nested values are validated, not returned.
 */
#ifndef JS_H
#define JS_H

#include <stddef.h>
#include <stdint.h>

#define JS_MAX_DEPTH 32 /* nesting levels, as json-c's default */

typedef enum { JS_MISSING = 0, JS_NULL, JS_FALSE, JS_TRUE, JS_NUM, JS_STR, JS_OBJ, JS_ARR } js_type;

typedef struct js_val {
	js_type type;
	const char *p; /* the token; for a string, its content between the quotes, still escaped */
	uint32_t n;    /* bytes */
	uint8_t esc;   /* string: contains backslash escapes */
	uint8_t isint; /* number: no fraction and no exponent */
} js_val;

/* The members a caller wants; the names must be distinct. */
typedef struct js_want {
	int n;
	const char **names;
	size_t *lens;
} js_want;

typedef struct js_err {
	size_t pos; /* byte offset of the error, 0-based */
	const char *why;
	int spaced;  /* on success: whitespace outside strings (js_compact would shorten it) */
	int members; /* on success: members of the object, a repeated key counted each time */
} js_err;

/* w refers to names (not copied): they must outlive it. */
void js_want_init(js_want *w, const char **names, int n);
void js_want_free(js_want *w);

/* vals[i] gets member w->names[i] (type JS_MISSING if absent). 0 ok, -1 err. */
int js_scan(const char *s, size_t n, const js_want *w, js_val *vals, js_err *err);

/* Calls fn for each member of an object js_scan accepted, in order; name is
 * a string value (still escaped). */
void js_each(const char *s, size_t n, void (*fn)(void *arg, const js_val *name, const js_val *val),
             void *arg);

/* A value as text: a string's content (escapes decoded into buf, which needs
 * v->n bytes), else its JSON text as written. Returns the length; *p is
 * where the text is (in the line or in buf). Not for JS_MISSING. */
size_t js_text(const js_val *v, char *buf, const char **p);

/* Integer value of an isint number; -1 if it does not fit in int64. */
int js_to_i64(const js_val *v, int64_t *out);
double js_to_double(const js_val *v);
/* Decodes a string value's escapes into out (at least v->n bytes); returns length. */
size_t js_unescape(const char *p, size_t n, char *out);

/* Length of the valid UTF-8 sequence at s, or 0 if it is not valid. */
size_t js_utf8_len(const char *s, size_t n);
/* Escaped form of an ASCII byte as it goes inside a JSON string; returns length. */
size_t js_escape_ascii(unsigned char c, char *out);

/* Copies a valid JSON text without the whitespace outside strings; out needs
 * n bytes; returns the length. */
size_t js_compact(const char *s, size_t n, char *out);
/* Copies s to dst with '%' and '|' percent-encoded (%25, %7C), so values can
 * be joined with '|'; returns the length, or (size_t)-1 if cap is too small. */
size_t js_key_put(char *dst, size_t cap, const char *s, size_t n);

/* The one JSON string encoder: s as a string's content (no quotes) through
 * put: '"', '\\' and control characters escaped; with bytes, a byte that is
 * not part of valid UTF-8 becomes \\u00XX, one per byte, so that any bytes
 * make valid JSON (else bytes are copied as they are). */
void js_escape(const char *s, size_t n, int bytes, void (*put)(void *, const char *, size_t),
               void *arg);

/* Writers to the out buffer. */
void js_out_str(const char *s, size_t n);
/* Any bytes as a JSON string: bytes that are not valid UTF-8 become \u00XX, one per byte. */
void js_out_bytes(const char *s, size_t n);
void js_out_i64(int64_t v);
void js_out_double(double d);
/* Shortest text of d that reads back as d, always with '.' or 'e'; returns length. */
size_t js_fmt_double(double d, char *buf);
/* Decimal digits of v into buf; returns length. */
size_t js_fmt_u64(uint64_t v, char *buf);
size_t js_fmt_i64(int64_t v, char *buf);

#endif
