/*
 * kc: the librdkafka configuration kcat-in and kcat-out share.
 *
 * A program collects -b, -X and -F while parsing its options (kc_opt), then
 * builds one rd_kafka_conf_t in a fixed order: the program's defaults, the
 * bootstrap list (-b, else $KAFKA_BROKERS, else localhost:9092), every -F
 * file in order, the program's own options (like -z), every -X in order; so -X wins over files wherever they
 * appear on the command line. A property librdkafka refuses is a usage error
 * (exit 2), found before anything connects. librdkafka's log lines go through
 * diag (shown with -vv), its errors through kc_error_cb.
 *
 * Secrets: a value written ${env:NAME} is read from the environment (so it
 * is not in ps or in a file); a property whose name suggests a secret
 * (password, secret, token, oauth, credential, private key) is never shown:
 * a refused one is named with its value as ***, a -F file holding one that
 * other users can read is warned about, and every value of such a property
 * is replaced by *** in whatever kc passes on from librdkafka (log lines at
 * any verbosity, errors).
 */
#ifndef KC_H
#define KC_H

#include <librdkafka/rdkafka.h>

#define KC_DEFAULT_BROKERS "localhost:9092"
#define KC_METADATA_TIMEOUT_MS 10000 /* ms, default of -m: how long to wait for the cluster */

struct kc_opts {
	const char *brokers; /* -b, or NULL */
	const char **props;  /* -X name=value, in order */
	int nprops;
	const char **files; /* -F FILE, in order */
	int nfiles;
	int metadata_timeout_ms; /* -m */
	int fatal;               /* set by kc_error_cb on a fatal client error */
	double down_since;       /* monotonic s of "all brokers down", 0: not known down;
	                            the program clears it when the cluster answers */
	char **secrets;          /* values of secret properties, to mask */
	int nsecrets;
};

/* -V: the version of librdkafka. */
void kc_versions(void);

/* argc bounds how many -X and -F there can be. */
void kc_opts_init(struct kc_opts *o, int argc);
void kc_opts_free(struct kc_opts *o);

/*
 * Handles -b, -X, -F and -m; returns 1 if c was one of them. usage is the
 * program's synopsis for usage errors.
 */
int kc_opt(struct kc_opts *o, int c, const char *arg, const char *usage);

/*
 * Builds the configuration: defaults and overrides (set after the -F files,
 * before -X) are NULL-terminated lists of name, value pairs, or NULL. Exits 2 on a property librdkafka refuses or an unreadable -F
 * file. The opaque of the configuration is o (for kc_error_cb).
 */
rd_kafka_conf_t *kc_conf_build(struct kc_opts *o, const char *const *defaults,
                               const char *const *overrides, const char *usage);

/* librdkafka's error callback: transient errors are shown with -v, "all
 * brokers down" always (once per episode), fatal errors always and recorded. */
void kc_error_cb(rd_kafka_t *rk, int err, const char *reason, void *opaque);

/* Does the property name suggest a secret? */
int kc_secret_name(const char *name, size_t n);
/* s with every secret value replaced by *** (into buf, n bytes). */
const char *kc_scrub(const struct kc_opts *o, const char *s, char *buf, size_t n);

/* Waits up to the -m timeout for the topic's metadata; returns its partition
 * count, or -1 after printing why (unreachable cluster, unknown topic; with
 * librdkafka's last broker failure: a TLS handshake, SASL). */
int kc_topic_partitions(rd_kafka_t *rk, const char *topic, int timeout_ms);

#endif
