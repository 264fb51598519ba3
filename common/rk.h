/*
 * rk: the group key of winagg's rows (rk_key_put) and their rowkey, the
 * key mysql-replace upserts by, which must be the same for the same window
 * and group in every run, on every machine (golden values in tests/unit).
 *
 * "START/END/V1|V2|..." with START and END as in window_start and
 * window_end and each group value as its JSON text ('%' and '|' in it
 * percent-encoded), or, when that would pass RK_MAX bytes, "START/END/#"
 * and 32 hex digits of a 128-bit hash (hs) of the group values. A JSON
 * text never starts with '#', so the two forms cannot meet.
 */
#ifndef RK_H
#define RK_H

#include <stddef.h>

#include "js.h"
#include "mem.h"

#define RK_MAX 255 /* bytes */

/* Appends a group value's canonical JSON text and a NUL to a group key:
 * missing as null, a string decoded then escaped minimally (equal strings,
 * equal keys), anything else as it came. tmp: ND_LINE_MAX bytes. */
void rk_key_put(struct buf *key, const js_val *v, char *tmp);

/* The rowkey into rk (RK_MAX + 1 bytes) of the window [ws, we) (RFC 3339
 * texts of TM_RFC3339_LEN bytes) and the group key (klen bytes: ngroup
 * JSON texts, each NUL-ended); its length. */
size_t rk_make(const char *ws, const char *we, const char *key, size_t klen, int ngroup, char *rk);
/* A session's: "START/session/V1|V2|..." (or ".../#HASH"), from its start
 * only, so that it stays the same while the session grows at its end. */
size_t rk_session(const char *start, const char *key, size_t klen, int ngroup, char *rk);

#endif
