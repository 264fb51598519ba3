/*
 * my: MySQL connections and SQL text (see my.h).
 */
#include "my.h"

#include <errmsg.h>
#include <mysqld_error.h>
#include <dirent.h>
#include <netdb.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "diag.h"
#include "mem.h"

static const char *
env(const char *name)
{
	const char *v = getenv(name);
	return v && *v ? v : NULL;
}

/* ---- option files ---- */

#define CNF_DEPTH 10 /* !include nesting */

struct cnf {
	struct my_opts *o;
	const char *group;
	char *err;
	size_t errlen;
	int failed;
};

static char *
own(struct my_file *f, const char *s, size_t n)
{
	char *p = estrndup(s, n);

	f->owned = egrow(f->owned, &f->owned_cap, f->nowned + 1, sizeof(*f->owned), 16);
	f->owned[f->nowned++] = p;
	return p;
}

static int
cnf_bool(const char *v)
{
	return !v || !(strcmp(v, "0") == 0 || strcasecmp(v, "off") == 0 ||
	               strcasecmp(v, "false") == 0 || strcasecmp(v, "no") == 0);
}

/* One key (normalized: '_' as '-', no "loose-", tls-* as ssl-*). */
static void
cnf_key(struct my_file *f, const char *k, const char *v, int *password)
{
	static const struct {
		const char *name;
		size_t off;
	} strs[] = {
	    {"host", offsetof(struct my_file, host)},
	    {"socket", offsetof(struct my_file, socket)},
	    {"user", offsetof(struct my_file, user)},
	    {"password", offsetof(struct my_file, password)},
	    {"database", offsetof(struct my_file, database)},
	    {"ssl-ca", offsetof(struct my_file, tls.ca)},
	    {"ssl-capath", offsetof(struct my_file, tls.capath)},
	    {"ssl-cert", offsetof(struct my_file, tls.cert)},
	    {"ssl-key", offsetof(struct my_file, tls.key)},
	    {"ssl-crl", offsetof(struct my_file, tls.crl)},
	    {"ssl-crlpath", offsetof(struct my_file, tls.crlpath)},
	    {"ssl-cipher", offsetof(struct my_file, tls.cipher)},
	    {"ssl-version", offsetof(struct my_file, tls.version)},
	};
	/* booleans: ssl (TLS required) and verify, or their skip- forms */
	static const struct {
		const char *name;
		int verify, skip;
	} flags[] = {
	    {"ssl", 0, 0},
	    {"ssl-enforce", 0, 0},
	    {"skip-ssl", 0, 1},
	    {"ssl-verify-server-cert", 1, 0},
	    {"ssl-verify-peer", 1, 0},
	    {"skip-ssl-verify-server-cert", 1, 1},
	};

	if (strcmp(k, "port") == 0 && v) {
		f->port = (unsigned)atoi(v);
		return;
	}
	for (size_t i = 0; i < sizeof(flags) / sizeof(flags[0]); i++) {
		if (strcmp(k, flags[i].name) != 0)
			continue;
		*(flags[i].verify ? &f->tls.verify : &f->tls.ssl) = flags[i].skip ? 0 : cnf_bool(v);
		return;
	}
	for (size_t i = 0; i < sizeof(strs) / sizeof(strs[0]); i++) {
		if (strcmp(k, strs[i].name) != 0 || !v)
			continue;
		*(const char **)((char *)f + strs[i].off) = own(f, v, strlen(v));
		*password |= i == 3;
		return;
	}
	/* anything else belongs to other clients (or is not ours to apply) */
}

static int cnf_file(struct cnf *c, const char *path, int must, int depth);

/* !includedir DIR: its *.cnf files, in name order. */
static int
cnf_dir(struct cnf *c, const char *dir, int depth)
{
	struct dirent **names;
	int n = scandir(dir, &names, NULL, alphasort), rc = 0;

	if (n < 0)
		return 0; /* as the client: a missing directory is no error */
	for (int i = 0; i < n; i++) {
		size_t l = strlen(names[i]->d_name);
		char path[4096];
		if (rc == 0 && l > 4 && strcmp(names[i]->d_name + l - 4, ".cnf") == 0) {
			snprintf(path, sizeof(path), "%s/%s", dir, names[i]->d_name);
			rc = cnf_file(c, path, 0, depth);
		}
		free(names[i]);
	}
	free(names);
	return rc;
}

static int
in_group(const struct cnf *c, const char *g, size_t n)
{
	static const char *const groups[] = {"client", "client-server", "client-mariadb"};

	for (size_t i = 0; i < 3; i++)
		if (strlen(groups[i]) == n && strncmp(g, groups[i], n) == 0)
			return 1;
	return c->group && strlen(c->group) == n && strncmp(g, c->group, n) == 0;
}

static char *
trim(char *s)
{
	char *e;

	while (*s == ' ' || *s == '\t')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\n' || e[-1] == '\r'))
		*--e = '\0';
	return s;
}

static int
cnf_file(struct cnf *c, const char *path, int must, int depth)
{
	struct my_file *f = &c->o->file;
	struct stat st;
	char line[4096];
	FILE *fp;
	int in = 0, password = 0;

	if (depth > CNF_DEPTH) {
		snprintf(c->err, c->errlen, "option file '%s': !include nested too deeply", path);
		return -1;
	}
	if (!(fp = fopen(path, "r")) || fstat(fileno(fp), &st) != 0) {
		if (fp)
			fclose(fp);
		if (!must)
			return 0;
		snprintf(c->err, c->errlen, "cannot read option file '%s': %s", path, strerror(errno));
		return -1;
	}
	if (st.st_mode & S_IWOTH) {
		diag_warn("world-writable option file '%s' is ignored", path);
		fclose(fp);
		return 0;
	}
	while (fgets(line, sizeof(line), fp)) {
		char *s = trim(line), *eq, *k, *v = NULL;
		if (*s == '\0' || *s == '#' || *s == ';')
			continue;
		if (*s == '[') {
			char *g = s + 1, *e = strchr(g, ']');
			in = 0;
			if (e) {
				*e = '\0';
				g = trim(g);
				in = in_group(c, g, strlen(g));
			}
			continue;
		}
		if (strncmp(s, "!includedir", 11) == 0 || strncmp(s, "!include", 8) == 0) {
			int dir = strncmp(s, "!includedir", 11) == 0;
			char *arg = trim(s + (dir ? 11 : 8));
			if ((dir ? cnf_dir(c, arg, depth + 1) : cnf_file(c, arg, 1, depth + 1)) < 0) {
				fclose(fp);
				return -1;
			}
			continue;
		}
		if (!in)
			continue;
		if ((eq = strchr(s, '=')) != NULL) {
			*eq = '\0';
			v = trim(eq + 1);
			size_t n = strlen(v);
			if (n >= 2 && (v[0] == '"' || v[0] == '\'') && v[n - 1] == v[0]) {
				v[n - 1] = '\0';
				v++;
			}
		}
		k = trim(s);
		for (char *p = k; *p; p++)
			if (*p == '_')
				*p = '-';
		if (strncmp(k, "loose-", 6) == 0)
			k += 6;
		if (strncmp(k, "tls-", 4) == 0)
			memcpy(k, "ssl", 3); /* tls-ca is ssl-ca, tls-version ssl-version */
		cnf_key(f, k, v, &password);
	}
	fclose(fp);
	if (password && (st.st_mode & (S_IRGRP | S_IROTH)))
		diag_warn("option file '%s' holds a password that other users can read (chmod 600 it)",
		          path);
	return 0;
}

/* Sets *dst from the option files where the command line said nothing. */
static void
merge_tls(struct my_tls *t, const struct my_tls *f)
{
	const char **dst[] = {&t->ca, &t->capath, &t->cert, &t->key, &t->crl, &t->crlpath, &t->cipher,
	                      &t->version};
	const char *const src[] = {f->ca, f->capath, f->cert, f->key, f->crl, f->crlpath, f->cipher,
	                           f->version};

	for (size_t i = 0; i < sizeof(src) / sizeof(src[0]); i++)
		if (!*dst[i])
			*dst[i] = src[i];
	if (t->ssl < 0)
		t->ssl = f->ssl;
	if (t->verify < 0)
		t->verify = f->verify;
}

int
my_prepare(struct my_opts *o, char *err, size_t errlen)
{
	struct cnf c = {.o = o, .group = o->group, .err = err, .errlen = errlen};
	struct stat st;
	const char *home = env("HOME"), *mh = env("MARIADB_HOME") ? env("MARIADB_HOME") : env("MYSQL_HOME");
	char path[4096];
	int rc = 0;

	o->file.tls.ssl = o->file.tls.verify = -1;
	if (o->defaults_file) {
		if (stat(o->defaults_file, &st) != 0 || access(o->defaults_file, R_OK) != 0 ||
		    S_ISDIR(st.st_mode)) {
			snprintf(err, errlen, "cannot read defaults file '%s': %s", o->defaults_file,
			         strerror(S_ISDIR(st.st_mode) ? EISDIR : errno));
			return -1;
		}
		if (st.st_mode & S_IWOTH) {
			diag_warn("world-writable defaults file '%s' is ignored", o->defaults_file);
			o->defaults_file = NULL;
		}
	}
	if (o->defaults_file) {
		rc = cnf_file(&c, o->defaults_file, 1, 0);
	} else {
		rc = cnf_file(&c, "/etc/my.cnf", 0, 0);
		if (rc == 0)
			rc = cnf_file(&c, "/etc/mysql/my.cnf", 0, 0);
		if (rc == 0 && mh) {
			snprintf(path, sizeof(path), "%s/my.cnf", mh);
			rc = cnf_file(&c, path, 0, 0);
		}
		if (rc == 0 && home) {
			snprintf(path, sizeof(path), "%s/.my.cnf", home);
			rc = cnf_file(&c, path, 0, 0);
		}
	}
	if (rc < 0)
		return -1;
	merge_tls(&o->tls, &o->file.tls);
	{
		const struct my_tls *t = &o->tls;
		o->required = t->ssl == 1 || (t->ssl < 0 && (t->ca || t->capath || t->cert || t->key ||
		                                              t->crl || t->crlpath || t->cipher ||
		                                              t->version || t->verify == 1));
	}
	return 0;
}

void
my_free(struct my_opts *o)
{
	for (size_t i = 0; i < o->file.nowned; i++)
		free(o->file.owned[i]);
	free(o->file.owned);
	o->file.owned = NULL;
	o->file.nowned = o->file.owned_cap = 0;
}

/* ---- connections ---- */

const char *
my_tls_info(MYSQL *m, char *buf, size_t n)
{
	const char *cipher = mysql_get_ssl_cipher(m), *ver = NULL;

	if (!cipher)
		return NULL;
	if (mariadb_get_infov(m, MARIADB_CONNECTION_TLS_VERSION, &ver) != 0 || !ver)
		ver = "TLS";
	snprintf(buf, n, "%s %s", ver, cipher);
	return buf;
}

/*
 * Does the server offer TLS? Its first packet (the handshake) says so in
 * its capability flags, before the client sends anything: so a server
 * without TLS is refused before the password could go out in plaintext
 * (the library refuses by itself only when it verifies the certificate).
 * 1 yes, 0 no, -1 not known (the library then connects and says why).
 */
static int
offers_tls(const char *host, unsigned port, const char *sock)
{
	struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM}, *ai = NULL;
	struct timeval tv = {.tv_sec = MY_CONNECT_TIMEOUT_S};
	unsigned char p[512];
	size_t got = 0, need = 4, i;
	char portstr[16];
	int fd = -1, rc = -1;

	if (host && (strcmp(host, "localhost") != 0 || !sock)) {
		snprintf(portstr, sizeof(portstr), "%u", port ? port : 3306);
		if (getaddrinfo(host, portstr, &hints, &ai) != 0)
			return -1;
		if ((fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0)) >= 0) {
			setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
			setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
			if (connect(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
				close(fd);
				fd = -1;
			}
		}
		freeaddrinfo(ai);
	} else if (sock && strlen(sock) < sizeof(((struct sockaddr_un *)0)->sun_path)) {
		struct sockaddr_un sa = {.sun_family = AF_UNIX};
		strcpy(sa.sun_path, sock);
		if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) >= 0) {
			setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
			if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
				close(fd);
				fd = -1;
			}
		}
	}
	if (fd < 0)
		return -1;
	while (got < need && got < sizeof(p)) {
		ssize_t k = read(fd, p + got, sizeof(p) - got);
		if (k <= 0)
			break;
		got += (size_t)k;
		if (got >= 4)
			need = 4 + (size_t)(p[0] | p[1] << 8 | p[2] << 16);
	}
	close(fd);
	/* protocol 10: version, server version NUL-ended, thread id (4),
	 * scramble (8), filler (1), capabilities (2, low half) */
	if (got < need || got < 5 || p[4] != 10)
		return -1;
	for (i = 5; i < got && p[i]; i++)
		;
	i += 1 + 4 + 8 + 1;
	if (i + 2 > got)
		return -1;
	rc = (p[i] | p[i + 1] << 8) & 0x800 ? 1 : 0; /* CLIENT_SSL */
	return rc;
}

static void
set_tls(MYSQL *m, const struct my_opts *o)
{
	const struct my_tls *t = &o->tls;
	my_bool on = 1, off = 0;

	const struct {
		enum mysql_option opt;
		const char *v;
	} files[] = {
	    {MYSQL_OPT_SSL_CA, t->ca},           {MYSQL_OPT_SSL_CAPATH, t->capath},
	    {MYSQL_OPT_SSL_CERT, t->cert},       {MYSQL_OPT_SSL_KEY, t->key},
	    {MYSQL_OPT_SSL_CRL, t->crl},         {MYSQL_OPT_SSL_CRLPATH, t->crlpath},
	    {MYSQL_OPT_SSL_CIPHER, t->cipher},   {MYSQL_OPT_TLS_VERSION, t->version},
	};

	if (t->ssl == 0) {
		mysql_options(m, MYSQL_OPT_SSL_ENFORCE, &off);
		return;
	}
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++)
		if (files[i].v)
			mysql_options(m, files[i].opt, files[i].v);
	/* no plaintext fallback: the library refuses a server without TLS
	 * before the password is sent */
	if (o->required)
		mysql_options(m, MYSQL_OPT_SSL_ENFORCE, &on);
	mysql_options(m, MYSQL_OPT_SSL_VERIFY_SERVER_CERT, t->verify == 1 ? &on : &off);
}

MYSQL *
my_connect(const struct my_opts *o, char *err, size_t errlen)
{
	MYSQL *m = mysql_init(NULL);
	unsigned ct = MY_CONNECT_TIMEOUT_S, io = MY_IO_TIMEOUT_S, port = o->port;
	const char *host = o->host ? o->host : env("MYSQL_HOST") ? env("MYSQL_HOST") : o->file.host;
	const char *sock = o->socket ? o->socket : env("MYSQL_UNIX_PORT") ? env("MYSQL_UNIX_PORT")
	                                                                  : o->file.socket;
	const char *user = o->user ? o->user : o->file.user;
	const char *pw = o->password           ? o->password
	                 : env("MYSQL_PWD") ? env("MYSQL_PWD")
	                                    : o->file.password;
	const char *db = o->database ? o->database : o->file.database;
	char server[300];
	my_bool no = 0;
	unsigned yes = 1;

	if (!m) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	if (!port && env("MYSQL_TCP_PORT"))
		port = (unsigned)atoi(env("MYSQL_TCP_PORT"));
	if (!port)
		port = o->file.port;
	if (host && (strcmp(host, "localhost") != 0 || !sock))
		snprintf(server, sizeof(server), "%s:%u", host, port ? port : 3306);
	else
		snprintf(server, sizeof(server), "%s", sock ? sock : "the default socket");
	mysql_options(m, MYSQL_OPT_CONNECT_TIMEOUT, &ct);
	mysql_options(m, MYSQL_OPT_READ_TIMEOUT, &io);
	mysql_options(m, MYSQL_OPT_WRITE_TIMEOUT, &io);
	mysql_options(m, MYSQL_OPT_RECONNECT, &no);
	mysql_options(m, MYSQL_SET_CHARSET_NAME, "utf8mb4");
	mysql_options(m, MYSQL_OPT_LOCAL_INFILE, &yes); /* only ever our own in-memory data */
	set_tls(m, o);
	if (o->required && offers_tls(host, port, sock) == 0) {
		snprintf(err, errlen, "the server does not offer TLS (server %s, TLS required)", server);
		mysql_close(m);
		return NULL;
	}
	if (!mysql_real_connect(m, host, user, pw, db, port, sock, 0)) {
		if (o->required)
			snprintf(err, errlen, "%s (server %s, TLS required)", mysql_error(m), server);
		else
			snprintf(err, errlen, "%s", mysql_error(m));
		mysql_close(m);
		return NULL;
	}
	if (o->required && !mysql_get_ssl_cipher(m)) {
		snprintf(err, errlen, "TLS is required but the connection to %s is not encrypted", server);
		mysql_close(m);
		return NULL;
	}
	if (mysql_query(m, "SET SESSION time_zone = '+00:00', SESSION sql_mode = "
	                   "CONCAT(REPLACE(@@sql_mode, 'NO_BACKSLASH_ESCAPES', ''), "
	                   "',STRICT_ALL_TABLES')") != 0 ||
	    mysql_autocommit(m, 0) != 0) {
		snprintf(err, errlen, "%s", mysql_error(m));
		mysql_close(m);
		return NULL;
	}
	if (!db && o->fallback_database && mysql_select_db(m, o->fallback_database) != 0) {
		/* -D, else an option file's database=, else the fallback */
		snprintf(err, errlen, "%s", mysql_error(m));
		mysql_close(m);
		return NULL;
	}
	return m;
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
	       e == ER_CONNECTION_KILLED || e == ER_QUERY_INTERRUPTED || e == 4031 /* idle kill */ ||
	       e == CR_SSL_CONNECTION_ERROR; /* a TLS connection cut (the server went away) */
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
