/*
 * diag: one place that formats every message a program prints on stderr,
 * so that all five programs speak alike (see diag.h).
 */
#include "diag.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *diag_prog = "ordpipe";
int diag_verbosity = 0;
static void (*versions)(void);

void
diag_init(const char *argv0)
{
	const char *slash = strrchr(argv0, '/');

	diag_prog = slash ? slash + 1 : argv0;
}

static void
vsay(const char *file, uint64_t line, const char *fmt, va_list ap)
{
	char msg[4096];

	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (file)
		fprintf(stderr, "%s: %s:%llu: %s\n", diag_prog, file, (unsigned long long)line, msg);
	else
		fprintf(stderr, "%s: %s\n", diag_prog, msg);
}

void
diag_error(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsay(NULL, 0, fmt, ap);
	va_end(ap);
}

void
diag_warn(const char *fmt, ...)
{
	va_list ap;

	if (diag_verbosity < 0)
		return;
	va_start(ap, fmt);
	vsay(NULL, 0, fmt, ap);
	va_end(ap);
}

void
diag_info(const char *fmt, ...)
{
	va_list ap;

	if (diag_verbosity < 1)
		return;
	va_start(ap, fmt);
	vsay(NULL, 0, fmt, ap);
	va_end(ap);
}

void
diag_at(const char *file, uint64_t line, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsay(file, line, fmt, ap);
	va_end(ap);
}

void
diag_die(int status, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsay(NULL, 0, fmt, ap);
	va_end(ap);
	exit(status);
}

void
diag_version(void)
{
	printf("%s (ordpipe) %s\n", diag_prog, ORDPIPE_VERSION);
	if (versions)
		versions();
}

void
diag_set_versions(void (*fn)(void))
{
	versions = fn;
}
