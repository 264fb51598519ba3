/*
 * failcommit: an LD_PRELOAD shim for mysql-replace's fault tests. The first
 * $FAILCOMMIT_N (default 1) calls of mysql_commit() roll the transaction
 * back and report failure, as a commit lost on the way would; the rest
 * commit as usual. With $FAILDDL_N, the first N CREATE TABLE statements
 * of a row table instead kill their own connection on the server (KILL
 * CONNECTION_ID()), as a server restart during DDL would.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdlib.h>
#include <string.h>

typedef struct st_mysql MYSQL;
typedef char my_bool;

my_bool mysql_commit(MYSQL *m);
int mysql_real_query(MYSQL *m, const char *q, unsigned long n);

int
mysql_real_query(MYSQL *m, const char *q, unsigned long n)
{
	static int (*real)(MYSQL *, const char *, unsigned long);
	static int left = -1;
	static const char ddl[] = "CREATE TABLE IF NOT EXISTS `";

	if (!real) {
		real = (int (*)(MYSQL *, const char *, unsigned long))dlsym(RTLD_NEXT, "mysql_real_query");
		left = getenv("FAILDDL_N") ? atoi(getenv("FAILDDL_N")) : 0;
	}
	if (left > 0 && n > sizeof(ddl) && memcmp(q, ddl, sizeof(ddl) - 1) == 0) {
		left--;
		return real(m, "KILL CONNECTION_ID()", 20);
	}
	return real(m, q, n);
}

my_bool
mysql_commit(MYSQL *m)
{
	static my_bool (*real_commit)(MYSQL *);
	static my_bool (*real_rollback)(MYSQL *);
	static int left = -1;

	if (!real_commit) {
		real_commit = (my_bool(*)(MYSQL *))dlsym(RTLD_NEXT, "mysql_commit");
		real_rollback = (my_bool(*)(MYSQL *))dlsym(RTLD_NEXT, "mysql_rollback");
		left = getenv("FAILCOMMIT_N") ? atoi(getenv("FAILCOMMIT_N")) : !getenv("FAILDDL_N");
	}
	if (left > 0) {
		left--;
		real_rollback(m);
		return 1;
	}
	return real_commit(m);
}
