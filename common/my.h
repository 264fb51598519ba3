/*
 * my: MySQL/MariaDB connections the way the mariadb client makes them.
 *
 * -h HOST, -P PORT, -S SOCKET, -u USER, -D DATABASE and --defaults-file, then
 * the environment (MYSQL_HOST, MYSQL_TCP_PORT, MYSQL_UNIX_PORT, MYSQL_PWD),
 * then the option files' [client] group and the program's own group
 * (MYSQL_READ_DEFAULT_GROUP). A password is never needed on the command
 * line. Every connection has bounded connect, read and write timeouts, the
 * utf8mb4 character set, and a session in UTC with strict SQL and without
 * NO_BACKSLASH_ESCAPES, so the escaping in my_put_str is always right.
 */
#ifndef MY_H
#define MY_H

#include <mysql.h>
#include <stddef.h>

#include "mem.h"

#define MY_CONNECT_TIMEOUT_S 5 /* s */
#define MY_IO_TIMEOUT_S 60     /* s, read and write: a hung server is an error, not a hang */

struct my_opts {
	const char *host, *socket, *user, *database, *defaults_file;
	unsigned port;
	const char *group; /* the option-file group besides [client] */
	/* used when neither database (-D) nor an option file's database= names one */
	const char *fallback_database;
};

/* -V: the version of the MySQL client library. */
void my_versions(void);

/* A connected handle with the session set up, or NULL with the error in err. */
MYSQL *my_connect(const struct my_opts *o, char *err, size_t errlen);
/* As the mariadb client: a defaults file that cannot be read is an error
 * (-1, the reason in err); one that others can write is ignored (1, the
 * warning in err; o->defaults_file is cleared); 0 fine. */
int my_check_defaults_file(struct my_opts *o, char *err, size_t errlen);
/* The collation that compares utf8mb4 text byte for byte, trailing spaces
 * included (NO PAD): MariaDB's utf8mb4_nopad_bin or MySQL 8's
 * utf8mb4_0900_bin. */
const char *my_binary_collation(MYSQL *m);
/* Why keys in a column of this collation could be merged, NULL if they
 * cannot (a binary NO PAD collation; NULL collation: binary strings). */
const char *my_collation_merges(const char *collation);

/* 1 when errno means the connection is gone (reconnect and retry). */
int my_conn_lost(unsigned err);
/* 1 for a deadlock or lock-wait timeout (roll back, retry). */
int my_retriable(unsigned err);

/* s as a quoted SQL string: ', ", \, NUL, LF, CR and ^Z backslash-escaped. */
void my_put_str(struct buf *b, const char *s, size_t n);
/* s as a LOAD DATA field: \\, TAB, LF, CR and NUL backslash-escaped. */
void my_put_field(struct buf *b, const char *s, size_t n);
/* s as a quoted identifier: `...` with ` doubled. */
void my_put_ident(struct buf *b, const char *s, size_t n);

#endif
