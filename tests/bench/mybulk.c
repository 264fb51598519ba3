/*
 * mybulk: a peer for mysql-replace's bench. Loads a TSV file of order_agg
 * rows (rowkey, window_start, window_end, shopid, region, orders, items)
 * with a prepared REPLACE and MariaDB's array binding (STMT_ATTR_ARRAY_SIZE):
 * BATCH rows per execution and per transaction, like mysql-replace.
 * usage: mybulk TABLE FILE BATCH (connection from MYSQL_UNIX_PORT)
 */
#include <mysql.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NCOL 7

static void
die(MYSQL *m, const char *what)
{
	fprintf(stderr, "mybulk: %s: %s\n", what, mysql_error(m));
	exit(1);
}

int
main(int argc, char **argv)
{
	MYSQL *m = mysql_init(NULL);
	FILE *fp;
	char *line = NULL, q[256];
	size_t cap = 0;
	long batch;
	char **val[NCOL];
	unsigned long *len[NCOL];
	long n = 0;

	if (argc != 4)
		return 2;
	batch = atol(argv[3]);
	if (!(fp = fopen(argv[2], "r")))
		return 1;
	if (!mysql_real_connect(m, NULL, "root", NULL, "ordpipe", 0, getenv("MYSQL_UNIX_PORT"), 0))
		die(m, "connect");
	mysql_autocommit(m, 0);
	for (int c = 0; c < NCOL; c++) {
		val[c] = malloc((size_t)batch * sizeof(char *));
		len[c] = malloc((size_t)batch * sizeof(unsigned long));
	}
	snprintf(q, sizeof(q), "REPLACE INTO %s (rowkey, window_start, window_end, shopid, region, "
	                       "orders, items) VALUES (?,?,?,?,?,?,?)", argv[1]);
	MYSQL_STMT *st = mysql_stmt_init(m);
	if (mysql_stmt_prepare(st, q, strlen(q)) != 0)
		die(m, "prepare");
	for (;;) {
		ssize_t got = getline(&line, &cap, fp);
		if (got > 0) {
			char *s = strdup(line), *f = s;
			s[got - 1] = '\0';
			for (int c = 0; c < NCOL; c++) {
				char *tab = strchr(f, '\t');
				if (tab)
					*tab = '\0';
				val[c][n] = f;
				len[c][n] = strlen(f);
				f = tab ? tab + 1 : f + strlen(f);
			}
			n++;
		}
		if (n == batch || (got <= 0 && n > 0)) {
			MYSQL_BIND b[NCOL];
			unsigned int size = (unsigned int)n;
			memset(b, 0, sizeof(b));
			for (int c = 0; c < NCOL; c++) {
				b[c].buffer_type = MYSQL_TYPE_STRING;
				b[c].buffer = val[c];
				b[c].length = len[c];
			}
			mysql_stmt_attr_set(st, STMT_ATTR_ARRAY_SIZE, &size);
			if (mysql_stmt_bind_param(st, b) != 0 || mysql_stmt_execute(st) != 0)
				die(m, mysql_stmt_error(st));
			if (mysql_commit(m) != 0)
				die(m, "commit");
			for (long i = 0; i < n; i++)
				free(val[0][i]);
			n = 0;
		}
		if (got <= 0)
			break;
	}
	mysql_stmt_close(st);
	mysql_close(m);
	free(line);
	fclose(fp);
	for (int c = 0; c < NCOL; c++) {
		free(val[c]);
		free(len[c]);
	}
	return 0;
}
