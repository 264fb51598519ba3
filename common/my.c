/*
 * my: MySQL connections and SQL text (see my.h).
 */
#include "my.h"

#include <errmsg.h>
#include <mysqld_error.h>
#include <errno.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>
#include <stdlib.h>
#include <string.h>

#include "diag.h"

static const char *
env(const char *name)
{
	const char *v = getenv(name);
	return v && *v ? v : NULL;
}

MYSQL *
my_connect(const struct my_opts *o, char *err, size_t errlen)
{
	MYSQL *m = mysql_init(NULL);
	unsigned ct = MY_CONNECT_TIMEOUT_S, io = MY_IO_TIMEOUT_S, port = o->port;
	const char *host = o->host ? o->host : env("MYSQL_HOST");
	const char *sock = o->socket ? o->socket : env("MYSQL_UNIX_PORT");
	my_bool no = 0;
	unsigned yes = 1;

	if (!m) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	if (!port && env("MYSQL_TCP_PORT"))
		port = (unsigned)atoi(env("MYSQL_TCP_PORT"));
	mysql_options(m, MYSQL_READ_DEFAULT_GROUP, o->group);
	if (o->defaults_file)
		mysql_options(m, MYSQL_READ_DEFAULT_FILE, o->defaults_file);
	mysql_options(m, MYSQL_OPT_CONNECT_TIMEOUT, &ct);
	mysql_options(m, MYSQL_OPT_READ_TIMEOUT, &io);
	mysql_options(m, MYSQL_OPT_WRITE_TIMEOUT, &io);
	mysql_options(m, MYSQL_OPT_RECONNECT, &no);
	mysql_options(m, MYSQL_SET_CHARSET_NAME, "utf8mb4");
	mysql_options(m, MYSQL_OPT_LOCAL_INFILE, &yes); /* only ever our own in-memory data */
	if (!mysql_real_connect(m, host, o->user, env("MYSQL_PWD"), o->database, port, sock, 0) ||
	    mysql_query(m, "SET SESSION time_zone = '+00:00', SESSION sql_mode = "
	                   "CONCAT(REPLACE(@@sql_mode, 'NO_BACKSLASH_ESCAPES', ''), "
	                   "',STRICT_ALL_TABLES')") != 0 ||
	    mysql_autocommit(m, 0) != 0) {
		snprintf(err, errlen, "%s", mysql_error(m));
		mysql_close(m);
		return NULL;
	}
	if (!o->database && o->fallback_database) {
		/* -D, else an option file's database=, else the fallback */
		MYSQL_RES *res;
		MYSQL_ROW r;
		int none = 0;
		if (mysql_query(m, "SELECT DATABASE()") != 0 || !(res = mysql_store_result(m))) {
			snprintf(err, errlen, "%s", mysql_error(m));
			mysql_close(m);
			return NULL;
		}
		none = (r = mysql_fetch_row(res)) == NULL || r[0] == NULL;
		mysql_free_result(res);
		if (none && mysql_select_db(m, o->fallback_database) != 0) {
			snprintf(err, errlen, "%s", mysql_error(m));
			mysql_close(m);
			return NULL;
		}
	}
	return m;
}

int
my_check_defaults_file(struct my_opts *o, char *err, size_t errlen)
{
	struct stat st;

	if (!o->defaults_file)
		return 0;
	if (stat(o->defaults_file, &st) != 0 || access(o->defaults_file, R_OK) != 0) {
		snprintf(err, errlen, "cannot read defaults file '%s': %s", o->defaults_file,
		         strerror(errno));
		return -1;
	}
	if (S_ISDIR(st.st_mode)) {
		snprintf(err, errlen, "cannot read defaults file '%s': %s", o->defaults_file,
		         strerror(EISDIR));
		return -1;
	}
	if (st.st_mode & S_IWOTH) {
		snprintf(err, errlen, "world-writable defaults file '%s' is ignored", o->defaults_file);
		o->defaults_file = NULL;
		return 1;
	}
	return 0;
}

const char *
my_binary_collation(MYSQL *m)
{
	return strstr(mysql_get_server_info(m), "MariaDB") ? "utf8mb4_nopad_bin" : "utf8mb4_0900_bin";
}

const char *
my_collation_merges(const char *c)
{
	size_t n;

	if (!c)
		return NULL;
	n = strlen(c);
	if (strcmp(c, "utf8mb4_0900_bin") == 0 || (n > 10 && strcmp(c + n - 10, "_nopad_bin") == 0))
		return NULL;
	if (n > 3 && strcmp(c + n - 3, "_ci") == 0)
		return "it compares case- and accent-insensitively ('SG' = 'sg', 'e' = 'é'; and pads "
		       "trailing spaces)";
	if (n > 4 && strcmp(c + n - 4, "_bin") == 0)
		return "it pads trailing spaces ('a' = 'a ')";
	return "it is not a binary NO PAD collation (distinct keys may compare equal)";
}

int
my_conn_lost(unsigned e)
{
	return e == CR_SERVER_GONE_ERROR || e == CR_SERVER_LOST || e == CR_CONNECTION_ERROR ||
	       e == CR_CONN_HOST_ERROR || e == CR_SERVER_LOST_EXTENDED || e == ER_SERVER_SHUTDOWN ||
	       e == ER_CONNECTION_KILLED || e == ER_QUERY_INTERRUPTED || e == 4031 /* idle kill */;
}

int
my_retriable(unsigned e)
{
	return e == ER_LOCK_DEADLOCK || e == ER_LOCK_WAIT_TIMEOUT;
}

/* Copies s with backslash escapes: sql for a quoted SQL string (quotes and
 * ^Z too), else for a LOAD DATA field (TAB too). */
static void
put_escaped(struct buf *b, const char *s, size_t n, int sql)
{
	size_t run = 0;

	for (size_t i = 0; i < n; i++) {
		const char *e;
		switch (s[i]) {
		case '\0': e = "\\0"; break;
		case '\n': e = "\\n"; break;
		case '\r': e = "\\r"; break;
		case '\\': e = "\\\\"; break;
		case '\t': e = sql ? NULL : "\\t"; break;
		case '\'': e = sql ? "\\'" : NULL; break;
		case '"': e = sql ? "\\\"" : NULL; break;
		case '\032': e = sql ? "\\Z" : NULL; break;
		default: e = NULL; break;
		}
		if (!e)
			continue;
		buf_put(b, s + run, i - run);
		buf_put(b, e, 2);
		run = i + 1;
	}
	buf_put(b, s + run, n - run);
}

void
my_put_str(struct buf *b, const char *s, size_t n)
{
	buf_put(b, "'", 1);
	put_escaped(b, s, n, 1);
	buf_put(b, "'", 1);
}

void
my_put_field(struct buf *b, const char *s, size_t n)
{
	put_escaped(b, s, n, 0);
}

void
my_put_ident(struct buf *b, const char *s, size_t n)
{
	size_t run = 0;

	buf_put(b, "`", 1);
	for (size_t i = 0; i < n; i++) {
		if (s[i] != '`')
			continue;
		buf_put(b, s + run, i + 1 - run);
		buf_put(b, "`", 1);
		run = i + 1;
	}
	buf_put(b, s + run, n - run);
	buf_put(b, "`", 1);
}

void
my_versions(void)
{
	printf("MariaDB Connector/C %s\n", mysql_get_client_info());
}
