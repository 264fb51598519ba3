/*
 * ag: aggregate functions (ag.h).
 */
#include <math.h>
#include <string.h>

#include "ag.h"
#include "out.h"

const char *const ag_names[AG_NFUNC] = {"count", "sum", "min", "max", "avg", "first", "last"};

int
ag_func_named(const char *s, size_t n)
{
	for (int k = 0; k < AG_NFUNC; k++)
		if (strlen(ag_names[k]) == n && strncmp(s, ag_names[k], n) == 0)
			return k;
	return -1;
}

const char *
ag_input(const js_val *v, struct ag_num *x)
{
	if (v->type == JS_MISSING || v->type == JS_NULL) {
		x->kind = 0;
		return NULL;
	}
	if (v->type != JS_NUM)
		return "is not a number";
	if (v->isint && js_to_i64(v, &x->i) == 0) {
		x->kind = 1;
		x->d = (double)x->i;
	} else if (v->isint) {
		/* as a double it would not be exact: 99999999999999999999 */
		return "is an integer outside the 64-bit range";
	} else {
		x->kind = 2;
		x->d = js_to_double(v);
		if (!isfinite(x->d))
			return "is a number outside the range of a double"; /* 1e400 */
	}
	return NULL;
}

void
ag_out(enum ag_func fn, const struct ag_val *s)
{
	switch (fn) {
	case AG_COUNT:
		js_out_i64(s->n);
		return;
	case AG_AVG:
		if (s->n == 0)
			out_write("null", 4);
		else
			js_out_double(s->d / (double)s->n);
		return;
	default:
		if (s->kind == 0)
			out_write("null", 4);
		else if (s->kind == 1)
			js_out_i64(s->i);
		else
			js_out_double(s->d);
	}
}
