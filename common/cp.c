/*
 * cp: the checkpoint record (see cp.h), read with js's scanner.
 */
#include "cp.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "js.h"
#include "mem.h"
#include "tm.h"

#define CP_FILE_MAX (16 * 1024 * 1024) /* bytes: a record file larger than this is not one */

static const char *bad_shape = "not {\"id\":N,\"positions\":{\"TOPIC/P\":OFFSET,...}}";

struct walk {
	cp_record *r;
	const char *why;
};

static void
add_pos(void *arg, const js_val *name, const js_val *v)
{
	struct walk *w = arg;
	cp_record *r = w->r;
	int64_t next;
	char *nm, *slash;
	size_t k;

	if (w->why)
		return;
	if (v->type != JS_NUM || !v->isint || js_to_i64(v, &next) < 0 || next < 0) {
		w->why = "a position's offset is not a whole number >= 0";
		return;
	}
	nm = emalloc((size_t)name->n + 1);
	k = js_unescape(name->p, name->n, nm);
	nm[k] = '\0';
	slash = strrchr(nm, '/');
	if (!slash || slash == nm || slash[1] == '\0' || strlen(nm) != k) {
		free(nm);
		w->why = "a position's name is not TOPIC/PARTITION";
		return;
	}
	r->names[r->n] = nm;
	r->next[r->n++] = next;
}

int
cp_parse(const char *s, size_t n, cp_record *r, const char **why)
{
	static const char *names[] = {"id", "positions", "event_time"};
	js_want want;
	js_val v[3];
	js_err err;
	struct walk w = {r, NULL};

	memset(r, 0, sizeof(*r));
	js_want_init(&want, names, 3);
	if (js_scan(s, n, &want, v, &err) < 0) {
		js_want_free(&want);
		*why = "not JSON";
		return -1;
	}
	js_want_free(&want);
	if (v[0].type != JS_NUM || !v[0].isint || js_to_i64(&v[0], &r->id) < 0 || r->id < 0 ||
	    v[1].type != JS_OBJ) {
		*why = bad_shape;
		return -1;
	}
	if (v[2].type != JS_MISSING) {
		const char *w2;
		if (v[2].type != JS_STR || tm_parse_rfc3339(v[2].p, v[2].n, &r->event_ms, &w2) < 0) {
			*why = "event_time is not an RFC 3339 time";
			return -1;
		}
		r->has_event = 1;
	}
	/* a member per comma is an upper bound on the positions */
	size_t cap = 1;
	for (uint32_t i = 0; i < v[1].n; i++)
		cap += v[1].p[i] == ',';
	r->names = ecalloc(cap, sizeof(*r->names));
	r->next = ecalloc(cap, sizeof(*r->next));
	r->positions = v[1].p;
	r->positions_len = v[1].n;
	js_each(v[1].p, v[1].n, add_pos, &w);
	if (w.why) {
		cp_free(r);
		*why = w.why;
		return -1;
	}
	return 0;
}

int
cp_read(const char *path, cp_record *r, const char **why)
{
	struct stat st;
	char *buf;
	size_t len = 0;
	ssize_t k;
	int fd, rc, e;

	memset(r, 0, sizeof(*r));
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0 || fstat(fd, &st) < 0) {
		e = errno;
		if (fd >= 0)
			close(fd);
		errno = e;
		*why = "cannot read";
		return -1;
	}
	if (st.st_size > CP_FILE_MAX) {
		close(fd);
		*why = "too large for a checkpoint record";
		return -1;
	}
	buf = emalloc((size_t)st.st_size + 1);
	while (len < (size_t)st.st_size && (k = read(fd, buf + len, (size_t)st.st_size - len)) != 0) {
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0) {
			e = errno;
			free(buf);
			close(fd);
			errno = e;
			*why = "cannot read";
			return -1;
		}
		len += (size_t)k;
	}
	close(fd);
	while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == '\r'))
		len--;
	rc = cp_parse(buf, len, r, why);
	free(buf);
	r->positions = NULL; /* it pointed into buf */
	r->positions_len = 0;
	return rc;
}

void
cp_free(cp_record *r)
{
	for (size_t i = 0; i < r->n; i++)
		free(r->names[i]);
	free(r->names);
	free(r->next);
	memset(r, 0, sizeof(*r));
}
