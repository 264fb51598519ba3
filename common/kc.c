/*
 * kc: shared librdkafka configuration (see kc.h).
 */
#include "kc.h"

#include <errno.h>
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
	free(o->props);
	free(o->files);
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

/* Splits "name=value" (at the first '=') and sets it. */
static void
set_pair(rd_kafka_conf_t *conf, const char *pair, const char *where, const char *usage)
{
	const char *eq = strchr(pair, '=');
	char *name, errstr[512];

	if (!eq || eq == pair)
		cli_usage_error(usage, "%s: expected NAME=VALUE, not '%s'", where, pair);
	name = estrndup(pair, (size_t)(eq - pair));
	if (rd_kafka_conf_set(conf, name, eq + 1, errstr, sizeof(errstr)) != RD_KAFKA_CONF_OK)
		cli_usage_error(usage, "%s: '%s': %s", where, pair, errstr);
	free(name);
}

/* A librdkafka properties file: NAME=VALUE lines, '#' comments, blank lines. */
static void
load_file(rd_kafka_conf_t *conf, const char *path, const char *usage)
{
	FILE *fp = fopen(path, "r");
	char *line = NULL, where[600];
	size_t cap = 0;
	ssize_t n;
	unsigned long lineno = 0;

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
		set_pair(conf, s, where, usage);
	}
	free(line);
	fclose(fp);
}

static void
log_cb(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
	if (diag_verbosity >= 2)
		diag_error("librdkafka: %s: %s", fac, buf);
}

void
kc_error_cb(rd_kafka_t *rk, int err, const char *reason, void *opaque)
{
	struct kc_opts *o = opaque;
	static time_t last_down;
	char why[512];

	if (err == RD_KAFKA_RESP_ERR__FATAL) {
		rd_kafka_fatal_error(rk, why, sizeof(why));
		diag_error("fatal Kafka client error: %s", why);
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
		load_file(conf, o->files[i], usage);
	for (int i = 0; overrides && overrides[i]; i += 2)
		set(conf, overrides[i], overrides[i + 1], "option", usage);
	for (int i = 0; i < o->nprops; i++)
		set_pair(conf, o->props[i], "-X", usage);
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
	if (err == RD_KAFKA_RESP_ERR__TIMED_OUT || err == RD_KAFKA_RESP_ERR__TRANSPORT)
		diag_error("cannot reach the Kafka cluster within %d ms (is -b right?): %s",
		           timeout_ms, rd_kafka_err2str(err));
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
