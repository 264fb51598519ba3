/*
 * kbroker: a Kafka-protocol test broker for ordpipe's suites (not installed).
 *
 * Starts N brokers of librdkafka's mock cluster on loopback, creates the
 * topics it is told to, prints the bootstrap list as its first line of
 * standard output, then takes one command per line on standard input and
 * answers "ok" or "error: reason" on standard output:
 *
 *   topic NAME PARTITIONS    create a topic
 *   down ID | up ID          take broker ID down or bring it back
 *   rtt ID MS                delay broker ID's responses
 *   error APIKEY CODE [N]    fail the next N (default 1) requests of APIKEY
 *                            (0 Produce, 1 Fetch, 3 Metadata, ...) with CODE
 *   unknown NAME             answer metadata requests for topic NAME with
 *                            "unknown topic" (the mock creates any topic a
 *                            client asks for; a real broker without
 *                            auto.create.topics.enable does not)
 *   quit                     stop
 *
 * It exits 0 at end of its input, on quit, or on SIGINT/SIGTERM. Clients
 * connect to it over TCP like to real Kafka. Mind the mock's traits: about
 * 5 MiB kept per partition, empty fetches that wait fetch.wait.max.ms,
 * group rejoins that wait for session.timeout.ms, and no check of the
 * idempotent producer's sequence numbers: a batch in flight when a broker
 * goes down is appended twice when the producer retries it (a real broker
 * drops the copy).
 */
#include <errno.h>
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "diag.h"
#include "sig.h"

#define USAGE "[-n BROKERS] [-t TOPIC:PARTITIONS]..."

static void
help(void)
{
	printf("usage: kbroker " USAGE "\n"
	       "A mock Kafka cluster on loopback for tests; commands on stdin (see the source).\n");
}

static int
create_topic(rd_kafka_mock_cluster_t *mc, const char *spec, char *why, size_t whylen)
{
	char name[256];
	int parts = 1;
	const char *colon = strrchr(spec, ':');
	size_t n = colon ? (size_t)(colon - spec) : strlen(spec);
	rd_kafka_resp_err_t err;

	if (n == 0 || n >= sizeof(name)) {
		snprintf(why, whylen, "bad topic name");
		return -1;
	}
	memcpy(name, spec, n);
	name[n] = '\0';
	if (colon && (parts = atoi(colon + 1)) <= 0) {
		snprintf(why, whylen, "bad partition count");
		return -1;
	}
	err = rd_kafka_mock_topic_create(mc, name, parts, 1);
	if (err) {
		snprintf(why, whylen, "%s", rd_kafka_err2str(err));
		return -1;
	}
	return 0;
}

static int
command(rd_kafka_mock_cluster_t *mc, char *line, char *why, size_t whylen)
{
	char verb[16] = "", arg1[256] = "";
	long a2 = 0, a3 = 1;
	int n = sscanf(line, "%15s %255s %ld %ld", verb, arg1, &a2, &a3);
	rd_kafka_resp_err_t err = 0;

	if (n < 1)
		return 0;
	if (strcmp(verb, "topic") == 0 && n >= 3) {
		char spec[300];
		snprintf(spec, sizeof(spec), "%s:%ld", arg1, a2);
		return create_topic(mc, spec, why, whylen);
	} else if (strcmp(verb, "unknown") == 0 && n >= 2) {
		rd_kafka_mock_topic_set_error(mc, arg1, RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART);
	} else if (strcmp(verb, "down") == 0 && n >= 2) {
		err = rd_kafka_mock_broker_set_down(mc, atoi(arg1));
	} else if (strcmp(verb, "up") == 0 && n >= 2) {
		err = rd_kafka_mock_broker_set_up(mc, atoi(arg1));
	} else if (strcmp(verb, "rtt") == 0 && n >= 3) {
		err = rd_kafka_mock_broker_set_rtt(mc, atoi(arg1), (int)a2);
	} else if (strcmp(verb, "error") == 0 && n >= 3) {
		for (long i = 0; i < a3; i++)
			rd_kafka_mock_push_request_errors(mc, (int16_t)atoi(arg1), 1,
			                                  (rd_kafka_resp_err_t)a2);
	} else {
		snprintf(why, whylen, "unknown command '%s'", verb);
		return -1;
	}
	if (err) {
		snprintf(why, whylen, "%s", rd_kafka_err2str(err));
		return -1;
	}
	return 0;
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {CLI_LONGOPTS_BASE, {NULL, 0, NULL, 0}};
	struct cli_common cc = {0};
	char errstr[512], line[1024], why[300];
	const char *topics[64];
	int ntopics = 0, nbrokers = 1, c;
	rd_kafka_conf_t *conf;
	rd_kafka_t *rk;
	rd_kafka_mock_cluster_t *mc;

	diag_init(argv[0]);
	while ((c = getopt_long(argc, argv, CLI_SHORTOPTS "n:t:", longopts, NULL)) != -1) {
		switch (c) {
		case 'n': nbrokers = (int)cli_num(USAGE, "-n", optarg, 1, 16); break;
		case 't':
			if (ntopics == 64)
				cli_usage_error(USAGE, "-t: at most 64 topics");
			topics[ntopics++] = optarg;
			break;
		default:
			if (!cli_common(c, argv, &cc, help, USAGE))
				cli_usage_error(USAGE, "unexpected option");
		}
	}
	conf = rd_kafka_conf_new();
	rd_kafka_conf_set(conf, "log_level", "3", NULL, 0);
	rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
	if (!rk)
		diag_die(DIAG_EX_FAIL, "cannot create the client handle: %s", errstr);
	mc = rd_kafka_mock_cluster_new(rk, nbrokers);
	if (!mc)
		diag_die(DIAG_EX_FAIL, "cannot start the mock cluster");
	for (int i = 0; i < ntopics; i++)
		if (create_topic(mc, topics[i], why, sizeof(why)) < 0)
			diag_die(DIAG_EX_FAIL, "cannot create topic '%s': %s", topics[i], why);
	sig_install(1);
	printf("%s\n", rd_kafka_mock_cluster_bootstraps(mc));
	fflush(stdout);

	while (!sig_stop && fgets(line, sizeof(line), stdin)) {
		if (strncmp(line, "quit", 4) == 0)
			break;
		if (command(mc, line, why, sizeof(why)) < 0)
			printf("error: %s\n", why);
		else
			printf("ok\n");
		fflush(stdout);
	}
	rd_kafka_mock_cluster_destroy(mc);
	rd_kafka_destroy(rk);
	return DIAG_EX_OK;
}
