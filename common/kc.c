/*
 * kc: shared librdkafka configuration (see kc.h).
 */
#include "kc.h"

#include <errno.h>
#include <pthread.h>
#include <sys/stat.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "diag.h"
#include "mem.h"
#include "tm.h"

void
kc_opts_init(struct kc_opts *o, int argc)
{
	memset(o, 0, sizeof(*o));
	o->props = ecalloc((size_t)argc + 1, sizeof(*o->props));
	o->files = ecalloc((size_t)argc + 1, sizeof(*o->files));
	o->metadata_timeout_ms = KC_METADATA_TIMEOUT_MS;
}

void
kc_opts_free(struct kc_opts *o)
{
	for (int i = 0; i < o->nsecrets; i++)
		free(o->secrets[i]);
	free(o->secrets);
	free(o->props);
	free(o->files);
}

int
kc_secret_name(const char *name, size_t n)
{
	static const char *const words[] = {"pass", "pasw", "pwd", "secret", "token", "oauth",
	                                    "cred", "key.pem", "private", "jaas"};
	char low[256];

	if (n >= sizeof(low))
		n = sizeof(low) - 1;
	for (size_t i = 0; i < n; i++)
		low[i] = (char)(name[i] >= 'A' && name[i] <= 'Z' ? name[i] + 32 : name[i]);
	low[n] = '\0';
	for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++)
		if (strstr(low, words[i]))
			return 1;
	return 0;
}

const char *
kc_scrub(const struct kc_opts *o, const char *s, char *buf, size_t n)
{
	size_t len = 0;

	if (!o || o->nsecrets == 0)
		return s;
	while (*s && len + 1 < n) {
		int hit = 0;
		for (int i = 0; i < o->nsecrets && !hit; i++) {
			size_t k = strlen(o->secrets[i]);
			if (k && strncmp(s, o->secrets[i], k) == 0) {
				size_t m = len + 3 < n ? 3 : n - 1 - len;
				memcpy(buf + len, "***", m);
				len += m;
				s += k;
				hit = 1;
			}
		}
		if (!hit)
			buf[len++] = *s++;
	}
	buf[len] = '\0';
	return buf;
}

/* A secret value, kept to be masked wherever librdkafka's words go out. */
static void
keep_secret(struct kc_opts *o, const char *v)
{
	if (!*v)
		return;
	o->secrets = erealloc(o->secrets, (size_t)(o->nsecrets + 1) * sizeof(*o->secrets));
	o->secrets[o->nsecrets++] = estrdup(v);
}

int
kc_opt(struct kc_opts *o, int c, const char *arg, const char *usage)
{
	switch (c) {
	case 'b':
		o->brokers = arg;
		return 1;
	case 'X':
		if (!strchr(arg, '=') || arg[0] == '=')
			cli_usage_error(usage, "-X: expected NAME=VALUE, not '%s'", arg);
		o->props[o->nprops++] = arg;
		return 1;
	case 'F':
		o->files[o->nfiles++] = arg;
		return 1;
	case 'm': {
		long long ms = cli_dur(usage, "-m", arg, 0);
		if (ms < 1 || ms > 3600 * 1000)
			cli_usage_error(usage, "-m: %s is out of range (1ms to 1h)", arg);
		o->metadata_timeout_ms = (int)ms;
		return 1;
	}
	default:
		return 0;
	}
}

static void
set(rd_kafka_conf_t *conf, const char *name, const char *value, const char *where,
    const char *usage)
{
	char errstr[512];

	if (rd_kafka_conf_set(conf, name, value, errstr, sizeof(errstr)) != RD_KAFKA_CONF_OK)
		cli_usage_error(usage, "%s: %s", where, errstr);
}

/* Splits "name=value" (at the first '=') and sets it; a value ${env:NAME}
 * comes from the environment. 1 when it was a secret property. */
static int
set_pair(struct kc_opts *o, rd_kafka_conf_t *conf, const char *pair, const char *where,
         const char *usage)
{
	const char *eq = strchr(pair, '='), *v;
	char *name, errstr[512];
	int secret;

	if (!eq || eq == pair)
		cli_usage_error(usage, "%s: expected NAME=VALUE, not '%s'", where,
		                kc_secret_name(pair, strlen(pair)) ? "***" : pair);
	name = estrndup(pair, (size_t)(eq - pair));
	secret = kc_secret_name(name, strlen(name));
	v = eq + 1;
	if (strncmp(v, "${env:", 6) == 0 && v[strlen(v) - 1] == '}') {
		char *var = estrndup(v + 6, strlen(v) - 7);
		if (!(v = getenv(var)))
			cli_usage_error(usage, "%s: %s: environment variable '%s' is not set", where, name,
			                var);
		free(var);
	}
	if (secret)
		keep_secret(o, v);
	if (rd_kafka_conf_set(conf, name, v, errstr, sizeof(errstr)) != RD_KAFKA_CONF_OK) {
		char masked[600];
		cli_usage_error(usage, "%s: '%s=%s': %s", where, name, secret ? "***" : v,
		                kc_scrub(o, errstr, masked, sizeof(masked)));
	}
	free(name);
	return secret;
}

/* A librdkafka properties file: NAME=VALUE lines, '#' comments, blank lines. */
static void
load_file(struct kc_opts *o, rd_kafka_conf_t *conf, const char *path, const char *usage)
{
	FILE *fp = fopen(path, "r");
	char *line = NULL, where[600];
	size_t cap = 0;
	ssize_t n;
	unsigned long lineno = 0;
	int secrets = 0;
	struct stat st;

	if (!fp)
		cli_usage_error(usage, "-F: cannot open '%s': %s", path, strerror(errno));
	while ((n = getline(&line, &cap, fp)) >= 0) {
		char *s = line, *e;
		lineno++;
		while (*s == ' ' || *s == '\t')
			s++;
		e = s + strlen(s);
		while (e > s && (e[-1] == '\n' || e[-1] == '\r' || e[-1] == ' ' || e[-1] == '\t'))
			*--e = '\0';
		if (*s == '\0' || *s == '#')
			continue;
		snprintf(where, sizeof(where), "%s:%lu", path, lineno);
		secrets += set_pair(o, conf, s, where, usage);
	}
	if (secrets && fstat(fileno(fp), &st) == 0 && (st.st_mode & (S_IRGRP | S_IROTH)))
		diag_warn("-F: '%s' holds a secret that other users can read (chmod 600 it)", path);
	free(line);
	fclose(fp);
}

/* The last failure librdkafka logged (a TLS handshake, SASL, a refused
 * connection): said when the cluster cannot be reached. Log lines come
 * from librdkafka's threads. */
static pthread_mutex_t last_mu = PTHREAD_MUTEX_INITIALIZER;
static char last_fail[512];

static void
log_cb(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
	const struct kc_opts *o = rd_kafka_opaque(rk);
	char clean[1024];

	buf = kc_scrub(o, buf, clean, sizeof(clean));
	if (level <= 4 || strcmp(fac, "FAIL") == 0) {
		pthread_mutex_lock(&last_mu);
		snprintf(last_fail, sizeof(last_fail), "%s", buf);
		pthread_mutex_unlock(&last_mu);
	}
	if (diag_verbosity >= 2)
		diag_error("librdkafka: %s: %s", fac, buf);
}

void
kc_error_cb(rd_kafka_t *rk, int err, const char *reason, void *opaque)
{
	struct kc_opts *o = opaque;
	static time_t last_down;
	char why[512];

	char clean[1024];

	reason = kc_scrub(o, reason, clean, sizeof(clean));
	if (err == RD_KAFKA_RESP_ERR__FATAL) {
		char w2[600];
		rd_kafka_fatal_error(rk, why, sizeof(why));
		diag_error("fatal Kafka client error: %s", kc_scrub(o, why, w2, sizeof(w2)));
		if (o)
			o->fatal = 1;
		return;
	}
	if (err == RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN) {
		time_t now = time(NULL);
		if (o && !o->down_since)
			o->down_since = tm_mono_s();
		if (now - last_down >= 10) {
			diag_warn("all brokers are down, retrying: %s", reason);
			last_down = now;
		}
		return;
	}
	diag_info("%s", reason);
}

rd_kafka_conf_t *
kc_conf_build(struct kc_opts *o, const char *const *defaults, const char *const *overrides,
              const char *usage)
{
	rd_kafka_conf_t *conf = rd_kafka_conf_new();
	const char *brokers = o->brokers;

	for (int i = 0; defaults && defaults[i]; i += 2)
		set(conf, defaults[i], defaults[i + 1], "default", usage);
	if (!brokers || !*brokers)
		brokers = getenv("KAFKA_BROKERS");
	if (!brokers || !*brokers)
		brokers = KC_DEFAULT_BROKERS;
	set(conf, "bootstrap.servers", brokers, "-b", usage);
	for (int i = 0; i < o->nfiles; i++)
		load_file(o, conf, o->files[i], usage);
	for (int i = 0; overrides && overrides[i]; i += 2)
		set(conf, overrides[i], overrides[i + 1], "option", usage);
	for (int i = 0; i < o->nprops; i++)
		set_pair(o, conf, o->props[i], "-X", usage);
	rd_kafka_conf_set_log_cb(conf, log_cb);
	rd_kafka_conf_set_error_cb(conf, kc_error_cb);
	rd_kafka_conf_set_opaque(conf, o);
	return conf;
}

int
kc_topic_partitions(rd_kafka_t *rk, const char *topic, int timeout_ms)
{
	const struct rd_kafka_metadata *md = NULL;
	rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, topic, NULL);
	rd_kafka_resp_err_t err;
	int n = -1;

	if (!rkt) {
		diag_error("topic '%s': %s", topic, rd_kafka_err2str(rd_kafka_last_error()));
		return -1;
	}
	err = rd_kafka_metadata(rk, 0, rkt, &md, timeout_ms);
	if (err == RD_KAFKA_RESP_ERR__TIMED_OUT || err == RD_KAFKA_RESP_ERR__TRANSPORT) {
		char fail[sizeof(last_fail)];
		pthread_mutex_lock(&last_mu);
		memcpy(fail, last_fail, sizeof(fail));
		pthread_mutex_unlock(&last_mu);
		diag_error("cannot reach the Kafka cluster within %d ms (is -b right?): %s%s%s",
		           timeout_ms, rd_kafka_err2str(err), *fail ? "; last broker error: " : "",
		           fail);
	}
	else if (err)
		diag_error("cannot read metadata of topic '%s': %s", topic, rd_kafka_err2str(err));
	else if (md->topic_cnt != 1)
		diag_error("no metadata for topic '%s'", topic);
	else if (md->topics[0].err)
		diag_error("topic '%s': %s", topic, rd_kafka_err2str(md->topics[0].err));
	else if (md->topics[0].partition_cnt == 0)
		diag_error("topic '%s' has no partitions (unknown topic?)", topic);
	else
		n = md->topics[0].partition_cnt;
	if (md)
		rd_kafka_metadata_destroy(md);
	rd_kafka_topic_destroy(rkt);
	return n;
}

void
kc_versions(void)
{
	printf("librdkafka %s\n", rd_kafka_version_str());
}
