/*
 * hs: the one hash function of ordpipe: 64-bit, seeded, fast on short keys,
 * and the same on every platform (bytes are read in little-endian order), so
 * values derived from it (winagg's long rowkeys) are stable across runs,
 * machines and versions. Not cryptographic.
 */
#ifndef HS_H
#define HS_H

#include <stddef.h>
#include <stdint.h>

uint64_t hs_hash(const void *p, size_t n, uint64_t seed);

#endif
