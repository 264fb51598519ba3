/*
 * hs: a multiply-fold hash (see hs.h). Each 8-byte word is mixed in with a
 * full 64x64->128-bit multiply whose halves are folded together.
 */
#include "hs.h"

__extension__ typedef unsigned __int128 hs_u128;

#define P0 0xa0761d6478bd642fULL
#define P1 0xe7037ed1a0b428dbULL
#define P2 0x8ebc6af09c88c6e3ULL
#define P3 0x589965cc75374cc3ULL

static inline uint64_t
fold(uint64_t a, uint64_t b)
{
	hs_u128 r = (hs_u128)a * b;
	return (uint64_t)r ^ (uint64_t)(r >> 64);
}

static inline uint64_t
le64(const unsigned char *p, size_t n)
{
	uint64_t v = 0;

	for (size_t i = 0; i < n; i++)
		v |= (uint64_t)p[i] << (8 * i);
	return v;
}

uint64_t
hs_hash(const void *data, size_t n, uint64_t seed)
{
	const unsigned char *p = data;
	uint64_t h = fold(seed ^ P0, (uint64_t)n ^ P1);

	while (n >= 8) {
		h = fold(h ^ le64(p, 8), P1);
		p += 8;
		n -= 8;
	}
	if (n)
		h = fold(h ^ le64(p, n) ^ P2, P1);
	return fold(h ^ P3, h ^ P0);
}
