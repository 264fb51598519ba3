/*
 * rej: rejects file and bad-input policy (see rej.h).
 */
#include "rej.h"

#include <errno.h>
#include <string.h>

#include "diag.h"
#include "js.h"

int
rej_open(rej *r, const char *path)
{
	r->fp = NULL;
	r->path = path;
	r->count = 0;
	r->failed = 0;
	if (!path)
		return 0;
	r->fp = fopen(path, "a");
	return r->fp ? 0 : -1;
}

static void
to_file(void *fp, const char *p, size_t n)
{
	fwrite(p, 1, n, fp);
}

void
rej_put_jstr(FILE *fp, const char *s, size_t n)
{
	fputc('"', fp);
	js_escape(s, n, 1, to_file, fp);
	fputc('"', fp);
}

/* Flushed per record: a rejected line must survive a crash, and a full disk
 * must be seen at this record, not at exit. */
static int
flushed(rej *r)
{
	if (fflush(r->fp) != 0 || ferror(r->fp)) {
		diag_error("cannot write rejects file '%s': %s", r->path, strerror(errno));
		r->failed = 1;
		return -1;
	}
	r->count++;
	return 0;
}

int
rej_bad(rej *r, const char *file, uint64_t line, const char *text, size_t len, const char *reason)
{
	if (!r->fp) {
		diag_at(file, line, "%s", reason);
		return -1;
	}
	fputs("{\"file\":", r->fp);
	rej_put_jstr(r->fp, file, strlen(file));
	fprintf(r->fp, ",\"line\":%llu,\"reason\":", (unsigned long long)line);
	rej_put_jstr(r->fp, reason, strlen(reason));
	fputs(",\"text\":", r->fp);
	rej_put_jstr(r->fp, text, len);
	fputs("}\n", r->fp);
	return flushed(r);
}

int
rej_bad_msg(rej *r, const char *topic, int32_t partition, int64_t offset, const char *text,
            size_t len, const char *reason)
{
	if (!r->fp) {
		diag_error("%s [%d] at offset %lld: %s", topic, (int)partition, (long long)offset,
		           reason);
		return -1;
	}
	fputs("{\"topic\":", r->fp);
	rej_put_jstr(r->fp, topic, strlen(topic));
	fprintf(r->fp, ",\"partition\":%d,\"offset\":%lld,\"reason\":", (int)partition,
	        (long long)offset);
	rej_put_jstr(r->fp, reason, strlen(reason));
	fputs(",\"text\":", r->fp);
	rej_put_jstr(r->fp, text ? text : "", text ? len : 0);
	fputs("}\n", r->fp);
	return flushed(r);
}

int
rej_close(rej *r)
{
	int rc = 0;

	if (!r->fp)
		return 0;
	errno = 0;
	if (fflush(r->fp) != 0 || ferror(r->fp)) {
		rc = -1;
		r->close_errno = errno ? errno : EIO;
	}
	if (fclose(r->fp) != 0 && rc == 0) {
		rc = -1;
		r->close_errno = errno ? errno : EIO;
	}
	r->fp = NULL;
	if (r->count > 0)
		diag_warn("%llu bad record%s written to '%s'", (unsigned long long)r->count,
		          r->count == 1 ? "" : "s", r->path);
	return rc;
}

int
rej_finish(rej *r)
{
	int failed_before = r->failed;

	if (rej_close(r) == 0 && !failed_before)
		return 0;
	if (!failed_before)
		diag_error("cannot write rejects file '%s': %s", r->path, strerror(r->close_errno));
	return -1;
}
