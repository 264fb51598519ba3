/*
 * cli: the command-line options every program shares, and usage errors.
 *
 * Each program lists CLI_LONGOPTS in its getopt_long table and "hVqvu" in its
 * short options, and passes every option it does not know itself to
 * cli_common(). Usage errors are reported before any side effect and exit 2.
 */
#ifndef CLI_H
#define CLI_H

#include <getopt.h>

enum { CLI_OPT_REJECTS = 0x1000, CLI_OPT_STATS, CLI_OPT_STATS_FILE, CLI_OPT_METRICS,
       CLI_OPT_FIRST_PRIVATE = 0x1100 };

/* For programs without input (ordgen): no --rejects. */
#define CLI_LONGOPTS_BASE                                                                          \
	{"help", no_argument, NULL, 'h'}, {"version", no_argument, NULL, 'V'},                     \
	    {"quiet", no_argument, NULL, 'q'}, {"verbose", no_argument, NULL, 'v'},                \
	    {"unbuffered", no_argument, NULL, 'u'}, {"stats", required_argument, NULL, CLI_OPT_STATS}, \
	    {"stats-file", required_argument, NULL, CLI_OPT_STATS_FILE},                           \
	    {"metrics", required_argument, NULL, CLI_OPT_METRICS}

#define CLI_LONGOPTS CLI_LONGOPTS_BASE, {"rejects", required_argument, NULL, CLI_OPT_REJECTS}

#define CLI_SHORTOPTS ":hVqvu"

struct cli_common {
	int unbuffered;      /* -u */
	const char *rejects; /* --rejects FILE, or NULL */
	long long stats_ms;  /* --stats DUR: ms between statistics lines, 0 off */
	const char *stats_file; /* --stats-file FILE: the lines go there, not to stderr */
	const char *metrics;    /* --metrics FILE: Prometheus text format, each --stats period */
};

/*
 * Handles c if it is a shared option (-h and -V print and exit 0; '?' and ':'
 * are usage errors). Returns 1 if handled, 0 if c is the program's own.
 * help prints the program's --help text to stdout; usage is its one-line
 * synopsis, shown after a usage error.
 */
int cli_common(int c, char **argv, struct cli_common *cc, void (*help)(void), const char *usage);

/* After the options: the checks across shared options (--metrics needs
 * --stats), a usage error if one fails. */
void cli_done(const struct cli_common *cc, const char *usage);

/* Prints "PROG: reason", the synopsis and a hint, and exits 2. */
_Noreturn void cli_usage_error(const char *usage, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Parses a non-negative integer option value (strictly) or exits 2. */
long long cli_num(const char *usage, const char *opt, const char *arg, long long min, long long max);
/* Parses a duration option value (see tm.h) or exits 2. */
long long cli_dur(const char *usage, const char *opt, const char *arg, int allow_neg);

#endif
