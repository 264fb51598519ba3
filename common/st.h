/*
 * st: --stats DUR, one JSON line of counters on stderr every DUR.
 *
 * A program checks st_due() at its natural points (between records, when
 * idle, between polls) and, when it is due, writes one line:
 *
 *   st_begin(in, out, rejected);      {"prog":…,"time":…,"uptime_s":…,"in":…,
 *                                      "out":…,"rejected":…,"in_rate":…,"out_rate":…
 *   st_u64("late_rows", n); …          its own fields
 *   st_end();                          "}\n", written with one write(2)
 *
 * With --stats-file the lines go to that file instead (warnings stay on
 * stderr). Rates are records per second since the previous line. The line goes out
 * in one write so that the lines of several programs sharing a terminal or
 * a log pipe do not interleave (up to PIPE_BUF bytes). A failed write is
 * ignored: statistics must never stop the data.
 */
#ifndef ST_H
#define ST_H

#include <stdint.h>

/* every_ms 0: no periodic lines. path: --stats-file, the lines appended to
 * it instead of stderr (with every_ms 0, only the final line); -1 with
 * errno when it cannot be opened. With $ORDPIPE_RUN set (etl.sh sets it for
 * every stage of a run), each line carries it as "run". */
int st_init(int64_t every_ms, const char *path);
/* What a program's --stats, --stats-file and --metrics ask for, in one
 * call: st_init, then --metrics, then the phases (work, mask: st_phases's;
 * only when there will be lines). 0, or -1 with errno (the stats file). */
int st_start(int64_t every_ms, const char *path, const char *metrics, const char *work,
             unsigned mask);
void st_free(void);
/* 1 when a line is due now; cheap (a clock read), but call it every few
 * hundred records rather than per record on a hot path. */
int st_due(void);
/* At exit: the next line is due now and says "final":true, with the run's
 * totals (every program writes one, so a log shows how each run ended). */
void st_final(void);
/* Milliseconds until the next line is due (0 if due, -1 when off). */
int st_wait_ms(void);

void st_begin(uint64_t in, uint64_t out, uint64_t rejected);
/* --metrics FILE: after every line, FILE holds the same values in
 * Prometheus' text format (rewritten whole): ordpipe_PROG_FIELD, counters
 * (st_u64) with _total, gauges (st_gauge, st_i64, st_double in base units:
 * *_ms as *_seconds), times as *_timestamp_seconds, a nested object's
 * members as one gauge with a partition label; label pipeline from
 * $ORDPIPE_PIPELINE. Rates and strings are left out. */
int st_metrics(const char *path);
/* A counter (only grows). */
void st_u64(const char *name, uint64_t v);
/* A gauge (goes up and down). */
void st_gauge(const char *name, uint64_t v);
void st_i64(const char *name, int64_t v);
void st_double(const char *name, double v);
/* A string, or null when s is NULL. */
void st_str(const char *name, const char *s);
/* A time in ms since the epoch as RFC 3339, or null when have is 0. */
void st_time(const char *name, int have, int64_t ms);
/* A nested object of counters: st_obj_begin, st_obj_u64..., st_obj_end. */
void st_obj_begin(const char *name);
void st_obj_i64(const char *key, int64_t v);
/* A member that is itself an object of n integers, in the line only
 * (kcat-out's offsets: {"start":…,"end":…,"latest":…}). */
void st_obj_obj(const char *key, const char *const *names, const int64_t *v, int n);
void st_obj_end(void);
void st_end(void);

/*
 * Phases: where the time goes. A program names the phases it has
 * (st_phases, once, after st_init); every line then has "duration_ms":
 * {PHASE: ms spent in it since the previous line, ...} and
 * "processed_rate" (records in per second of time not spent waiting), and
 * --metrics a counter ordpipe_PROG_duration_seconds_total{phase=...}.
 * st_enter switches phases and returns the one left, for st_enter(back);
 * one clock read, and nothing at all while no phases are named. The read
 * and wait phases are entered by nd around read(2) and poll(2).
 */
enum st_phase {
	ST_WORK,     /* the program's own work: "aggregate", "parse", ... */
	ST_READ,     /* read(2) of input, or a fetch from the client */
	ST_WAIT,     /* waiting for input: not counted as processing */
	ST_EMIT,     /* writing output */
	ST_SNAPSHOT, /* writing a checkpoint */
	ST_COMMIT,   /* a transaction, or offsets to Kafka */
	ST_NPHASE
};
/* work: the name of ST_WORK; mask: 1 << phase for each phase reported. */
void st_phases(const char *work, unsigned mask);
enum st_phase st_enter(enum st_phase p);

#endif
