/*
 * cp: the checkpoint record, the exactly-once handoff between the stages:
 *
 *   {"id":N,"event_time":"RFC 3339","positions":{"TOPIC/P":NEXT,...}}
 *
 * (event_time, optional: the newest event time winagg had read at the
 * snapshot; mysql-replace reports the delay behind it once committed.)
 * winagg writes it after a durable snapshot (as the value of a
 * {"_checkpoint":...} line), mysql-replace commits it with the rows before
 * it and prints the last one (--last-checkpoint, --progress-file), kcat-out
 * starts each partition at its NEXT offset (--start-from), and winagg reads
 * the sink's last one (DIR/committed). This is the one reader of that text.
 */
#ifndef CP_H
#define CP_H

#include <stddef.h>
#include <stdint.h>

typedef struct cp_record {
	int64_t id;
	int has_event;    /* event_time was there */
	int64_t event_ms; /* ms since the epoch */
	size_t n;       /* positions */
	char **names;   /* "TOPIC/P" */
	int64_t *next;  /* per name, the next offset to read */
	const char *positions; /* cp_parse: the positions object's text, in the input */
	size_t positions_len;  /* bytes */
} cp_record;

/* Parses one record (JSON text); 0, or -1 with the reason in why. */
int cp_parse(const char *s, size_t n, cp_record *r, const char **why);
/* Reads and parses FILE; -1 with why (errno set when it cannot be read). */
int cp_read(const char *path, cp_record *r, const char **why);
void cp_free(cp_record *r);

#endif
