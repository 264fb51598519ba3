/*
 * rej: the shared bad-input policy and the rejects file.
 *
 * Without --rejects a program stops at the first bad record: rej_bad() prints
 * "PROG: FILE:LINE: reason" and returns -1, and the caller exits with
 * DIAG_EX_BADINPUT. With --rejects FILE each bad record is appended to FILE as
 * one JSON object, {"file":…,"line":N,"reason":…,"text":…}, it is counted,
 * and rej_bad() returns 0 so the caller goes on. Bytes of "text" that are not
 * valid UTF-8 are written as \u00XX, one per byte.
 */
#ifndef REJ_H
#define REJ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

typedef struct rej {
	FILE *fp; /* NULL: stop at the first bad record */
	const char *path;
	uint64_t count; /* records rejected */
	int failed;     /* a write failed and was reported */
	int close_errno; /* errno of a failed flush or close in rej_close */
} rej;

/* path NULL: no rejects file. Returns -1 with errno if the file can't be opened. */
int rej_open(rej *r, const char *path);
/* 0: recorded, go on; -1: stop (no rejects file, or writing it failed). */
int rej_bad(rej *r, const char *file, uint64_t line, const char *text, size_t len,
            const char *reason);
/* The same for a Kafka message: {"topic":…,"partition":N,"offset":N,
 * "reason":…,"text":…}, or "PROG: TOPIC [P] at offset O: reason". */
int rej_bad_msg(rej *r, const char *topic, int32_t partition, int64_t offset, const char *text,
                size_t len, const char *reason);
/* Flushes and closes; -1 with errno if the file could not be written. */
int rej_close(rej *r);

/* rej_close for the end of a run: a failure is reported (once). 0 or -1. */
int rej_finish(rej *r);

/* Writes s as a JSON string (quotes included) to fp; see above for bad UTF-8. */
void rej_put_jstr(FILE *fp, const char *s, size_t n);

#endif
