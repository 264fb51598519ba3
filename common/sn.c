/*
 * sn: winagg's snapshots (sn.h).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "ck.h"
#include "cp.h"
#include "diag.h"
#include "hs.h"
#include "mem.h"
#include "sn.h"
#include "tm.h"

#define MAGIC "ORDPCKP1"
#define STR_(x) #x
#define STR(x) STR_(x)

static void
name_of(char *buf, size_t n, int64_t id)
{
	snprintf(buf, n, "ckpt-%020lld", (long long)id);
}

static void
path_of(const sn_dir *d, char *buf, size_t n, int64_t id)
{
	char name[48];

	name_of(name, sizeof(name), id);
	snprintf(buf, n, "%s/%s", d->dir, name);
}

/* One winagg per directory: two would write the same snapshot ids, and
 * one's start removes the other's snapshot in progress. A POSIX lock on
 * DIR/lock, held until exit (a kill releases it too). */
static int
lock_dir(sn_dir *d)
{
	char path[SN_PATH_MAX];
	struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET};

	snprintf(path, sizeof(path), "%s/lock", d->dir);
	if ((d->lockfd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644)) < 0) {
		snprintf(d->err, sizeof(d->err), "cannot open '%s': %s", path, strerror(errno));
		return -1;
	}
	/* A previous winagg killed a moment ago may still be exiting (a kill
	 * waits for an fsync in progress): give it SN_LOCK_WAIT_MS. */
	for (int waited = 0;; waited += 50) {
		struct timespec ts = {0, 50 * 1000000L};
		if (fcntl(d->lockfd, F_SETLK, &fl) == 0)
			return 0; /* the fd stays open: closing it would release the lock */
		if ((errno != EACCES && errno != EAGAIN) || waited >= SN_LOCK_WAIT_MS)
			break;
		nanosleep(&ts, NULL);
	}
	if (errno != EACCES && errno != EAGAIN) {
		snprintf(d->err, sizeof(d->err), "cannot lock '%s': %s", path, strerror(errno));
		return -1;
	}
	fl.l_type = F_WRLCK;
	if (fcntl(d->lockfd, F_GETLK, &fl) == 0 && fl.l_type != F_UNLCK)
		snprintf(d->err, sizeof(d->err), "checkpoint directory '%s' is in use by process %ld",
		         d->dir, (long)fl.l_pid);
	else
		snprintf(d->err, sizeof(d->err), "checkpoint directory '%s' is in use by another process",
		         d->dir);
	return -1;
}

static int
cmp_desc(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return x < y ? 1 : x > y ? -1 : 0;
}

/* The snapshot ids in DIR, newest first; removes stale .tmp files. NULL
 * with d->err when DIR cannot be read. */
static int64_t *
list(sn_dir *d, size_t *n)
{
	DIR *dp = opendir(d->dir);
	struct dirent *de;
	int64_t *ids = emalloc(sizeof(*ids));
	size_t cap = 1;

	*n = 0;
	if (!dp) {
		snprintf(d->err, sizeof(d->err), "cannot read checkpoint directory '%s': %s", d->dir,
		         strerror(errno));
		free(ids);
		return NULL;
	}
	while ((de = readdir(dp)) != NULL) {
		const char *nm = de->d_name;
		size_t len = strlen(nm);
		if (strncmp(nm, "ckpt-", 5) != 0)
			continue;
		if (len == 29 && strcmp(nm + 25, ".tmp") == 0) {
			char path[SN_PATH_MAX];
			snprintf(path, sizeof(path), "%s/%s", d->dir, nm);
			unlink(path); /* a snapshot a crash interrupted */
			continue;
		}
		if (len != 25 || strspn(nm + 5, "0123456789") != 20)
			continue;
		ids = egrow(ids, &cap, *n + 1, sizeof(*ids), 16);
		ids[(*n)++] = strtoll(nm + 5, NULL, 10);
	}
	closedir(dp);
	if (*n > 1)
		qsort(ids, *n, sizeof(*ids), cmp_desc);
	return ids;
}

int
sn_open(sn_dir *d, const char *dir, int64_t keep, const char *cfg, const char *cfg_v2)
{
	size_t n;
	int64_t *ids;

	*d = (sn_dir){.dir = dir, .keep = keep, .cfg = cfg, .cfg_v2 = cfg_v2, .next_id = 1,
	              .lockfd = -1};
	if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
		snprintf(d->err, sizeof(d->err), "cannot create checkpoint directory '%s': %s", dir,
		         strerror(errno));
		return -1;
	}
	if (lock_dir(d) < 0 || !(ids = list(d, &n)))
		return -1;
	if (n > 0) {
		d->next_id = ids[0] + 1; /* never reuse an id a sink may have seen */
		d->oldest = ids[n - 1];
	} else {
		d->oldest = d->next_id;
	}
	free(ids);
	return 0;
}

void
sn_close(sn_dir *d)
{
	if (d->lockfd >= 0)
		close(d->lockfd);
	d->lockfd = -1;
}

int
sn_committed(sn_dir *d, int64_t *id)
{
	char path[SN_PATH_MAX];
	cp_record r;
	const char *why;

	snprintf(path, sizeof(path), "%s/" SN_COMMITTED, d->dir);
	if (cp_read(path, &r, &why) < 0) {
		int unread = strcmp(why, "cannot read") == 0;
		if (unread && errno == ENOENT)
			return 0;
		snprintf(d->err, sizeof(d->err), "'%s': %s%s%s", path, why, unread ? ": " : "",
		         unread ? strerror(errno) : "");
		return -1;
	}
	*id = r.id;
	cp_free(&r);
	return 1;
}

/* Removes the snapshots that are neither among the newest keep nor at or
 * after the one the sink committed: that one is where a restart resumes,
 * and a stalled sink can be many snapshots behind. An unreadable committed
 * file keeps everything until the sink writes it again. */
static void
prune(sn_dir *d)
{
	char path[SN_PATH_MAX];
	int64_t below = d->next_id - d->keep, committed = INT64_MAX;
	int k;

	if (d->oldest >= below)
		return;
	if ((k = sn_committed(d, &committed)) < 0)
		committed = 0;
	else if (k == 0)
		committed = INT64_MAX;
	if (committed < below)
		below = committed;
	for (; d->oldest < below; d->oldest++) {
		path_of(d, path, sizeof(path), d->oldest);
		unlink(path);
	}
}

/* Little-endian whatever the host (versions 1 and 2 wrote host order, the
 * same on the little-endian machines that ran them). */
static void
put_le(ck_writer *w, uint64_t v, int n)
{
	unsigned char b[8];

	for (int k = 0; k < n; k++)
		b[k] = (unsigned char)(v >> (8 * k));
	ck_put(w, b, (size_t)n);
}

static void
put_u32(ck_writer *w, uint32_t v)
{
	put_le(w, v, 4);
}

static void
put_i64(ck_writer *w, int64_t v)
{
	put_le(w, (uint64_t)v, 8);
}

static void
put_text(void *arg, const char *p, size_t n)
{
	put_u32(arg, (uint32_t)n);
	ck_put(arg, p, n);
}

static void
put_val(ck_writer *w, const struct ag_val *a)
{
	uint64_t bits;

	memcpy(&bits, &a->d, 8);
	put_le(w, a->kind, 1);
	put_i64(w, a->n);
	put_i64(w, a->kind >= AG_KIND_TEXT ? 0 : a->i); /* not the blob's address */
	put_le(w, bits, 8);
	if (a->kind >= AG_KIND_TEXT) {
		/* from version 7: the values kept whole, each as u32 length, bytes */
		put_u32(w, (uint32_t)ag_blob_count(a));
		ag_blob_each(a, put_text, w);
	}
}

int
sn_write(sn_dir *d, const ws_state *ws, const ws_state *pn, const ss_state *ss, const pt_set *pt,
         const dd_set *dd)
{
	char name[48];
	ck_writer w;
	double t0 = tm_mono_s();

	name_of(name, sizeof(name), d->next_id);
	if (ck_begin(&w, d->dir, name) < 0) {
		snprintf(d->err, sizeof(d->err), "cannot write checkpoint '%s/%s.tmp': %s", d->dir, name,
		         strerror(errno));
		return -1;
	}
	ck_put(&w, MAGIC, 8);
	put_u32(&w, SN_VERSION);
	put_u32(&w, (uint32_t)strlen(d->cfg));
	ck_put(&w, d->cfg, strlen(d->cfg));
	put_i64(&w, d->next_id);
	put_i64(&w, ws->wm_set);
	put_i64(&w, ws->wm);
	put_i64(&w, ws->have_max);
	put_i64(&w, ws->max_seen);
	put_u32(&w, (uint32_t)pt->n);
	for (size_t i = 0; i < pt->n; i++) {
		put_u32(&w, (uint32_t)pt->v[i].len);
		ck_put(&w, pt->v[i].name, pt->v[i].len);
		put_i64(&w, pt->v[i].next);
		put_i64(&w, pt->v[i].has_max);
		put_i64(&w, pt->v[i].pmax);
	}
	put_le(&w, ws->count, 8);
	for (size_t k = 0; k < ws->nwins; k++)
		for (const ws_ent *e = ws->wins[k].head; e; e = e->next) {
			put_i64(&w, e->wstart);
			put_i64(&w, (int64_t)e->seq);
			put_u32(&w, e->klen);
			ck_put(&w, ws_key(ws, e), e->klen);
			for (int i = 0; i < ws->naggs; i++)
				put_val(&w, &e->a[i]);
			ck_put(&w, ws_ext(ws, e), ws->ext);
		}
	put_le(&w, dd->count, 8);
	for (const dd_ent *e = dd->head; e; e = e->next) {
		if (e->dead)
			continue;
		put_i64(&w, e->expiry);
		put_u32(&w, e->klen);
		ck_put(&w, e->key, e->klen);
	}
	put_le(&w, ss ? ss->nsess : 0, 8);
	for (size_t k = 0; ss && k < ss->nall; k++) {
		const ss_group *g = ss->all[k];
		for (uint32_t j = 0; j < g->n; j++) {
			const ss_sess *e = ss_at(ss, g, j);
			put_i64(&w, e->start);
			put_i64(&w, e->end);
			put_i64(&w, e->said);
			put_u32(&w, g->klen);
			ck_put(&w, g->key, g->klen);
			for (int i = 0; i < ss->naggs; i++)
				put_val(&w, &e->a[i]);
			ck_put(&w, ss_ext(ss, e), ss->ext);
		}
	}
	put_le(&w, pn ? pn->count : 0, 8);
	for (size_t k = 0; pn && k < pn->nwins; k++)
		for (const ws_ent *e = pn->wins[k].head; e; e = e->next) {
			put_i64(&w, e->wstart);
			put_i64(&w, (int64_t)e->seq);
			put_u32(&w, e->klen);
			ck_put(&w, ws_key(pn, e), e->klen);
			for (int i = 0; i < pn->naggs; i++)
				put_val(&w, &e->a[i]);
		}
	if (ck_commit(&w) < 0) {
		snprintf(d->err, sizeof(d->err), "cannot write checkpoint '%s/%s': %s", d->dir, name,
		         strerror(errno));
		return -1;
	}
	d->last_id = d->next_id++;
	prune(d);
	d->count++;
	d->ms_last = (tm_mono_s() - t0) * 1000.0;
	d->ms_total += d->ms_last;
	return 0;
}

/* Bounds-checked reading of a loaded snapshot. */
struct rd {
	const char *p;
	size_t len, off;
	int bad;
};

static const void *
take_bytes(struct rd *r, size_t n)
{
	const void *p;

	if (r->bad || r->len - r->off < n) {
		r->bad = 1;
		return NULL;
	}
	p = r->p + r->off;
	r->off += n;
	return p;
}

static uint64_t
take_le(struct rd *r, int n)
{
	const unsigned char *p = take_bytes(r, (size_t)n);
	uint64_t v = 0;

	for (int k = 0; p && k < n; k++)
		v |= (uint64_t)p[k] << (8 * k);
	return v;
}

static int64_t
take_i64(struct rd *r)
{
	return (int64_t)take_le(r, 8);
}

static uint32_t
take_u32(struct rd *r)
{
	return (uint32_t)take_le(r, 4);
}

/* struct ag_val as versions 1 and 2 stored it, byte for byte (x86-64). */
struct val_v2 {
	int64_t n, i;
	double d;
	uint8_t kind;
};

static int
take_val(struct rd *r, uint32_t version, struct ag_val *a)
{
	if (version <= 2) {
		struct val_v2 o;
		const void *p = take_bytes(r, sizeof(o));
		if (!p)
			return -1;
		memcpy(&o, p, sizeof(o));
		*a = (struct ag_val){.n = o.n, .i = o.i, .d = o.d, .kind = o.kind};
	} else {
		uint64_t bits;
		a->kind = (uint8_t)take_le(r, 1);
		a->n = take_i64(r);
		a->i = take_i64(r);
		bits = take_le(r, 8);
		memcpy(&a->d, &bits, 8);
	}
	if (version >= 7 && a->kind == AG_KIND_QS) {
		uint32_t len;
		const char *p;
		int64_t n = a->n;
		a->kind = 0;
		a->i = 0;
		if (take_u32(r) != 1)
			return -1;
		len = take_u32(r);
		if (!(p = take_bytes(r, len)) || ag_blob_load(a, p, len) < 0)
			return -1;
		a->n = n;
		return 0;
	}
	if (version >= 7 && (a->kind == AG_KIND_TEXT || a->kind == AG_KIND_SET)) {
		uint8_t kind = a->kind;
		int64_t t = a->n;
		uint32_t n = take_u32(r);
		a->kind = 0;
		a->n = a->i = 0;
		if (n == 0 || (kind == AG_KIND_TEXT && n != 1))
			return -1; /* a text is one value; a set exists once it has one */
		for (uint32_t k = 0; k < n && !r->bad; k++) {
			uint32_t len = take_u32(r);
			const char *p = take_bytes(r, len);
			if (!p)
				return -1;
			/* the first's time comes back with it; a set counts its values */
			ag_apply_text(kind == AG_KIND_TEXT ? AG_FIRST : AG_CDIST, a, p, len, t);
		}
		return r->bad ? -1 : 0;
	}
	return r->bad || a->kind > 2 ? -1 : 0;
}

/* Loads snapshot id into the empty state: 0; -1 unusable (why); -2 made
 * with another configuration (d->err). */
static int
load(sn_dir *d, int64_t id, ws_state *ws, ws_state *pn, ss_state *ss, pt_set *pt, dd_set *dd,
     const char **why)
{
	char path[SN_PATH_MAX];
	size_t len;
	char *buf;
	struct rd r;
	uint32_t clen, np, version;
	uint64_t nents;
	const char *c, *want;

	path_of(d, path, sizeof(path), id);
	if (!(buf = ck_load(path, &len, why)))
		return -1;
	r = (struct rd){buf, len, 0, 0};
	c = take_bytes(&r, 8);
	version = take_u32(&r);
	if (!c || memcmp(c, MAGIC, 8) != 0 || version < 1 || version > SN_VERSION) {
		*why = "not an ordpipe winagg snapshot of version 1 to " STR(SN_VERSION);
		free(buf);
		return -1;
	}
	clen = take_u32(&r);
	c = take_bytes(&r, clen);
	want = version >= 3 ? d->cfg : d->cfg_v2;
	if (c && (clen != strlen(want) || memcmp(c, want, clen) != 0)) {
		snprintf(d->err, sizeof(d->err),
		         "checkpoint '%s' was made with another configuration: %.*s; this run: %s", path,
		         (int)clen, c, want);
		free(buf);
		return -2;
	}
	if (take_i64(&r) != id)
		r.bad = 1;
	ws->wm_set = (int)take_i64(&r);
	ws->wm = take_i64(&r);
	ws->have_max = (int)take_i64(&r);
	ws->max_seen = take_i64(&r);
	np = take_u32(&r);
	for (uint32_t i = 0; i < np && !r.bad; i++) {
		uint32_t nl = take_u32(&r);
		const char *nm = take_bytes(&r, nl);
		int64_t next = take_i64(&r), has = 0, pmax = 0;
		if (version >= 2) {
			has = take_i64(&r);
			pmax = take_i64(&r);
		}
		if (nm) {
			/* version 1 kept no event time per partition: its watermark,
			 * restored above, still holds eviction where it was */
			size_t k = pt_find(pt, nm, nl);
			pt->v[k].next = next;
			pt->v[k].has_max = has != 0;
			pt->v[k].pmax = pmax;
			pt->seen = 1;
		}
	}
	nents = take_le(&r, 8);
	for (uint64_t i = 0; i < nents && !r.bad; i++) {
		int64_t ws_start = take_i64(&r), seq = version >= 8 ? take_i64(&r) : -1;
		uint32_t kl = take_u32(&r);
		const char *key = take_bytes(&r, kl);
		if (!key)
			break;
		ws_ent *e = ws_add(ws, ws_hash(hs_hash(key, kl, 0), ws_start), ws_start, key, kl);
		if (seq >= 0)
			e->seq = (uint64_t)seq;
		for (int k = 0; k < ws->naggs; k++)
			if (take_val(&r, version, &e->a[k]) < 0)
				r.bad = 1;
		if (ws->ext) {
			/* only version 5 has sketches (older runs had no such aggregate,
			 * so their configuration differs) */
			const void *x = version >= 5 ? take_bytes(&r, ws->ext) : NULL;
			if (!x)
				r.bad = 1;
			else
				memcpy(ws_ext(ws, e), x, ws->ext);
		}
	}
	nents = version >= 4 ? take_le(&r, 8) : 0;
	for (uint64_t i = 0; i < nents && !r.bad; i++) {
		int64_t expiry = take_i64(&r);
		uint32_t kl = take_u32(&r);
		const char *key = take_bytes(&r, kl);
		if (!key || dd_seen(dd, key, kl, expiry, 0, 0))
			r.bad = 1; /* a key twice */
	}
	nents = version >= 6 ? take_le(&r, 8) : 0;
	if (nents && !ss)
		r.bad = 1; /* the configuration said sessions: cannot happen */
	for (uint64_t i = 0; i < nents && !r.bad; i++) {
		int64_t start = take_i64(&r), end = take_i64(&r), said = take_i64(&r);
		uint32_t kl = take_u32(&r);
		const char *key = take_bytes(&r, kl);
		ss_sess *e;
		if (!key || end <= start || !(e = ss_load(ss, hs_hash(key, kl, 0), key, kl, start, end))) {
			r.bad = 1; /* out of order, or overlapping its group's previous one */
			break;
		}
		e->said = said;
		for (int k = 0; k < ss->naggs; k++)
			if (take_val(&r, version, &e->a[k]) < 0)
				r.bad = 1;
		if (ss->ext) {
			const void *x = take_bytes(&r, ss->ext);
			if (!x)
				r.bad = 1;
			else
				memcpy(ss_ext(ss, e), x, ss->ext);
		}
	}
	nents = version >= 8 ? take_le(&r, 8) : 0;
	if (nents && !pn)
		r.bad = 1; /* the configuration said panes: cannot happen */
	for (uint64_t i = 0; i < nents && !r.bad; i++) {
		int64_t start = take_i64(&r), seq = take_i64(&r);
		uint32_t kl = take_u32(&r);
		const char *key = take_bytes(&r, kl);
		uint64_t h;
		if (!key)
			break;
		h = ws_hash(hs_hash(key, kl, 0), start);
		if (ws_find(pn, h, start, key, kl)) {
			r.bad = 1; /* a pane twice */
			break;
		}
		ws_ent *e = ws_add(pn, h, start, key, kl);
		e->seq = (uint64_t)seq;
		for (int k = 0; k < pn->naggs; k++)
			if (take_val(&r, version, &e->a[k]) < 0)
				r.bad = 1;
	}
	free(buf);
	if (r.bad || r.off != r.len) {
		*why = "malformed";
		return -1;
	}
	return 0;
}

int
sn_restore(sn_dir *d, int64_t want, ws_state *ws, ws_state *pn, ss_state *ss, pt_set *pt,
           dd_set *dd, int64_t *id)
{
	size_t n;
	int64_t *ids = list(d, &n);
	const char *why;
	int rc = -1;

	if (!ids)
		return -1;
	for (size_t i = 0; i < n && rc == -1; i++) {
		if (ids[i] > want)
			continue;
		if ((rc = load(d, ids[i], ws, pn, ss, pt, dd, &why)) == 0) {
			*id = d->last_id = ids[i];
			if (ids[i] != want && want != INT64_MAX)
				diag_warn("restored checkpoint %lld instead of %lld", (long long)ids[i],
				          (long long)want);
			break;
		}
		if (rc == -1)
			diag_warn("checkpoint %lld in '%s' is unusable (%s); trying an older one",
			          (long long)ids[i], d->dir, why);
		{
			int blobs = ws->blobs;
			ws_free(ws);
			ws_init(ws, ws->size, ws->naggs, ws->ext, ws->track_dirty);
			ws->blobs = blobs;
		}
		if (pn) {
			ws_free(pn);
			ws_init(pn, pn->size, pn->naggs, pn->ext, pn->track_dirty);
		}
		if (ss)
			ss_reset(ss);
		pt_clear(pt);
		dd_free(dd);
		dd_init(dd);
	}
	if (rc == -1) {
		if (want == INT64_MAX)
			snprintf(d->err, sizeof(d->err), "no usable checkpoint at all in '%s'", d->dir);
		else
			snprintf(d->err, sizeof(d->err), "no usable checkpoint at or before %lld in '%s'",
			         (long long)want, d->dir);
	}
	free(ids);
	return rc;
}
