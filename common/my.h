/*
 * my: MySQL/MariaDB connections the way the mariadb client makes them.
 *
 * -h HOST, -P PORT, -S SOCKET, -u USER, -D DATABASE, the TLS options and
 * --defaults-file, then the environment (MYSQL_HOST, MYSQL_TCP_PORT,
 * MYSQL_UNIX_PORT, MYSQL_PWD), then the option files (my_prepare reads
 * them; the library reads none). A password is never taken on the command
 * line. TLS fails closed: asked for anywhere and not refused by --skip-ssl,
 * the library must not fall back to plaintext (MYSQL_OPT_SSL_ENFORCE) and a
 * connection that is not encrypted is refused all the same, on every
 * reconnect. Every connection has bounded connect, read and write
 * timeouts, the utf8mb4 character set, and a session in UTC with strict SQL
 * and without NO_BACKSLASH_ESCAPES, so the escaping in my_put_str is always
 * right.
 */
#ifndef MY_H
#define MY_H

#include <mysql.h>
#include <stddef.h>

#include "mem.h"

#define MY_CONNECT_TIMEOUT_S 5 /* s */
#define MY_IO_TIMEOUT_S 60     /* s, read and write: a hung server is an error, not a hang */

/* TLS, with the mariadb client's options and option-file keys. */
struct my_tls {
	int ssl;    /* 1 --ssl, 0 --skip-ssl, -1 not said */
	int verify; /* --ssl-verify-server-cert: 1, 0 (--skip-...), -1 not said */
	const char *ca, *capath, *cert, *key, *crl, *crlpath, *cipher, *version;
};

struct my_opts {
	const char *host, *socket, *user, *database, *defaults_file;
	unsigned port;
	const char *group; /* the option-file group besides [client] */
	/* used when neither database (-D) nor an option file's database= names one */
	const char *fallback_database;
	struct my_tls tls;
	const char *password; /* asked on the terminal (-p), never from argv */
	/* set by my_prepare: what the option files say (the command line and
	 * the environment win), and the TLS settings merged */
	struct my_file {
		char *host, *socket, *user, *password, *database;
		unsigned port;
		struct my_tls tls;
		char **owned; /* every string above and in tls, to free */
		size_t nowned, owned_cap;
	} file;
	int required; /* TLS must be on: asked for, by flag or file, and not --skip-ssl */
};

/* -V: the version of the MySQL client library. */
void my_versions(void);

/* A connected handle with the session set up, or NULL with the error in err. */
MYSQL *my_connect(const struct my_opts *o, char *err, size_t errlen);
/*
 * Reads the option files once, before anything connects, the way the
 * mariadb client does: --defaults-file alone, or /etc/my.cnf,
 * /etc/mysql/my.cnf, $MARIADB_HOME/my.cnf (else $MYSQL_HOME/my.cnf) and
 * ~/.my.cnf, with !include and !includedir; groups [client],
 * [client-server], [client-mariadb] and o->group, a later value winning;
 * keys host, port, socket, user, password, database and the TLS ones
 * (ssl-*, tls-* spellings too, tls-version), others ignored. Values the
 * command line gave win. A defaults file that cannot be read is an error
 * (-1, the reason in err); one that others can write is ignored, and one
 * that holds a password others can read is warned about (both through
 * diag_warn). 0 fine.
 */
int my_prepare(struct my_opts *o, char *err, size_t errlen);
void my_free(struct my_opts *o);
/* "TLSv1.3 TLS_AES_256_GCM_SHA384", or NULL for a plain connection. */
const char *my_tls_info(MYSQL *m, char *buf, size_t n);
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
