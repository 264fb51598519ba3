/*
 * cli: shared options and usage errors (see cli.h).
 */
#include "cli.h"

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "diag.h"
#include "tm.h"

void
cli_usage_error(const char *usage, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", diag_prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nusage: %s %s\nTry '%s --help' for more information.\n", diag_prog, usage,
	        diag_prog);
	exit(DIAG_EX_USAGE);
}

int
cli_common(int c, char **argv, struct cli_common *cc, void (*help)(void), const char *usage)
{
	switch (c) {
	case 'h':
		help();
		if (fflush(stdout) != 0)
			exit(DIAG_EX_FAIL);
		exit(DIAG_EX_OK);
	case 'V':
		diag_version();
		exit(fflush(stdout) != 0 ? DIAG_EX_FAIL : DIAG_EX_OK);
	case 'q':
		diag_verbosity = -1;
		return 1;
	case 'v':
		diag_verbosity++;
		return 1;
	case 'u':
		cc->unbuffered = 1;
		return 1;
	case CLI_OPT_REJECTS:
		cc->rejects = optarg;
		return 1;
	case CLI_OPT_STATS_FILE:
		cc->stats_file = optarg;
		return 1;
	case CLI_OPT_METRICS:
		cc->metrics = optarg;
		return 1;
	case CLI_OPT_STATS:
		cc->stats_ms = cli_dur(usage, "--stats", optarg, 0);
		if (cc->stats_ms == 0)
			cli_usage_error(usage, "--stats: must be more than 0");
		return 1;
	case ':':
		if (strncmp(argv[optind - 1], "--", 2) == 0)
			cli_usage_error(usage, "option '%s' needs a value", argv[optind - 1]);
		cli_usage_error(usage, "option '-%c' needs a value", optopt);
	case '?':
		if (optopt == 0 || strncmp(argv[optind - 1], "--", 2) == 0) {
			const char *a = argv[optind - 1];
			int len = (int)strcspn(a, "=");
			cli_usage_error(usage, "unknown option '%.*s'", len, a);
		}
		cli_usage_error(usage, "unknown option '-%c'", optopt);
	default:
		return 0;
	}
}

long long
cli_num(const char *usage, const char *opt, const char *arg, long long min, long long max)
{
	char *end;
	long long v;

	errno = 0;
	v = strtoll(arg, &end, 10);
	if (arg[0] == '\0' || *end != '\0' || errno == ERANGE || arg[0] == ' ' || arg[0] == '+')
		cli_usage_error(usage, "%s: '%s' is not a whole number", opt, arg);
	if (v < min || v > max)
		cli_usage_error(usage, "%s: %s is out of range (%lld to %lld)", opt, arg, min, max);
	return v;
}

long long
cli_dur(const char *usage, const char *opt, const char *arg, int allow_neg)
{
	int64_t ms;
	const char *why;

	if (tm_parse_dur(arg, &ms, allow_neg, &why) < 0)
		cli_usage_error(usage, "%s: bad duration '%s': %s", opt, arg, why);
	return ms;
}

void
cli_done(const struct cli_common *cc, const char *usage)
{
	if (cc->metrics && !cc->stats_ms)
		cli_usage_error(usage, "--metrics needs --stats DUR (how often the file is rewritten)");
}
