/*
 * pg: the progress protocol (pg.h).
 */
#include <errno.h>
#include <mysqld_error.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "diag.h"
#include "js.h"
#include "my.h"
#include "pg.h"


void
pg_init(pg_state *p, const char *pipeline, const char *progress_file)
{
	*p = (pg_state){.pipeline = pipeline, .progress_file = progress_file};
}

void
pg_free(pg_state *p)
{
	buf_free(&p->pos);
}

int
pg_create_table(MYSQL *db, char *err, size_t errlen)
{
	if (mysql_query(db, "CREATE TABLE IF NOT EXISTS " PG_TABLE
	                    " (pipeline VARCHAR(255) NOT NULL PRIMARY KEY,"
	                    " checkpoint_id BIGINT NOT NULL, positions LONGTEXT"
	                    " NOT NULL, committed_at DATETIME(3) NOT NULL)"
	                    " ENGINE=InnoDB") == 0)
		return 0;
	snprintf(err, errlen, "cannot create table '" PG_TABLE "': %s", mysql_error(db));
	return -1;
}

void
pg_set(pg_state *p, const cp_record *r)
{
	p->pending = 1;
	p->id = r->id;
	p->pending_has_event = r->has_event;
	p->pending_event_ms = r->event_ms;
	p->pos.len = 0;
	buf_put(&p->pos, r->positions, r->positions_len);
}

void
pg_put_lock(const pg_state *p, struct buf *q)
{
	q->len = 0;
	buf_lit(q, "SELECT checkpoint_id FROM " PG_TABLE " WHERE pipeline = ");
	my_put_str(q, p->pipeline, strlen(p->pipeline));
	buf_lit(q, " FOR UPDATE");
}

int
pg_check(const pg_state *p, MYSQL_RES *res, char *err, size_t errlen)
{
	MYSQL_ROW r = mysql_fetch_row(res);

	if (r && r[0] && strtoll(r[0], NULL, 10) > p->id) {
		snprintf(err, errlen,
		         "pipeline '%s' has checkpoint %s committed, later than %lld: is another ETL "
		         "running under this name?",
		         p->pipeline, r[0], (long long)p->id);
		return -1;
	}
	return 0;
}

void
pg_put_record(const pg_state *p, struct buf *q)
{
	char num[24];

	q->len = 0;
	buf_lit(q, "REPLACE INTO " PG_TABLE " (pipeline, checkpoint_id, positions, committed_at) "
	           "VALUES (");
	my_put_str(q, p->pipeline, strlen(p->pipeline));
	buf_lit(q, ",");
	buf_put(q, num, js_fmt_i64(p->id, num));
	buf_lit(q, ",");
	my_put_str(q, p->pos.p, p->pos.len);
	buf_lit(q, ",NOW(3))");
}

/* --progress-file: the checkpoint just committed, replaced whole (a
 * temporary file renamed). Only a hint, so not fsynced: winagg keeps the
 * snapshot it names, and anything newer, from being pruned; the progress
 * table stays the truth. A failure is warned about once. */
static void
write_file(pg_state *p)
{
	char tmp[4096];
	FILE *f;
	int ok;

	snprintf(tmp, sizeof(tmp), "%s.tmp", p->progress_file);
	if ((f = fopen(tmp, "w")) == NULL) {
		ok = 0;
	} else {
		fprintf(f, "{\"id\":%lld,\"positions\":%.*s}\n", (long long)p->id, (int)p->pos.len,
		        p->pos.p);
		ok = !ferror(f);
		ok = (fclose(f) == 0) && ok && rename(tmp, p->progress_file) == 0;
	}
	if (!ok && !p->warned++)
		diag_warn("cannot write progress file '%s': %s (further failures are not reported)",
		          p->progress_file, strerror(errno));
}

void
pg_committed(pg_state *p)
{
	if (!p->pending)
		return;
	p->pending = 0;
	p->committed++;
	if (p->pending_has_event) {
		p->has_event = 1;
		p->event_ms = p->pending_event_ms;
	}
	if (p->progress_file)
		write_file(p);
}

int
pg_print_last(const pg_state *p, MYSQL *db)
{
	struct buf q = {0};
	MYSQL_RES *res;
	MYSQL_ROW r;
	int status = DIAG_EX_OK;

	buf_lit(&q, "SELECT checkpoint_id, positions FROM " PG_TABLE " WHERE pipeline = ");
	my_put_str(&q, p->pipeline, strlen(p->pipeline));
	if (mysql_real_query(db, q.p, q.len) != 0) {
		if (mysql_errno(db) != ER_NO_SUCH_TABLE) {
			diag_error("cannot read table '" PG_TABLE "': %s", mysql_error(db));
			status = DIAG_EX_FAIL;
		}
	} else if ((res = mysql_store_result(db)) != NULL) {
		if ((r = mysql_fetch_row(res)) != NULL)
			printf("{\"id\":%s,\"positions\":%s}\n", r[0], r[1]);
		mysql_free_result(res);
	} else {
		diag_error("cannot read table '" PG_TABLE "': %s", mysql_error(db));
		status = DIAG_EX_FAIL;
	}
	buf_free(&q);
	if (fflush(stdout) != 0 || ferror(stdout)) {
		diag_error("cannot write to standard output: %s", strerror(errno));
		status = DIAG_EX_FAIL;
	}
	return status;
}
