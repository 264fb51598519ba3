/*
 * diag: diagnostics and exit statuses shared by every ordpipe program.
 *
 * Every message goes to stderr as "PROG: reason" or "PROG: FILE:LINE: reason",
 * lowercase, no trailing period. Verbosity: -q silences notices and warnings
 * (never errors), -v adds counters at exit. The exit statuses are the one
 * scheme documented in ordpipe(7).
 */
#ifndef DIAG_H
#define DIAG_H

#include <stdint.h>

enum diag_exit {
	DIAG_EX_OK = 0,       /* everything done */
	DIAG_EX_FAIL = 1,     /* runtime failure: I/O, connection, delivery */
	DIAG_EX_USAGE = 2,    /* bad command line, found before any side effect */
	DIAG_EX_BADINPUT = 3, /* stopped at a bad input record (no --rejects) */
};

extern const char *diag_prog;
extern int diag_verbosity; /* -1 quiet, 0 normal, 1+ verbose */

void diag_init(const char *argv0);
void diag_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void diag_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void diag_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* "PROG: FILE:LINE: reason", always printed. */
void diag_at(const char *file, uint64_t line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* The one fatal helper: print the error and exit with status. */
_Noreturn void diag_die(int status, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Prints "PROG (ordpipe) VERSION", then, through the program's own
 * function, the versions of the libraries it links: common/ links none, so
 * a program that needs no Kafka or MySQL does not load them. */
void diag_version(void);
void diag_set_versions(void (*fn)(void));

#define ORDPIPE_VERSION "0.1.0"

#endif
