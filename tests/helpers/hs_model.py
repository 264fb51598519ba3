#!/usr/bin/env python3
"""An independent model of common/hs.c's hash (a multiply-fold hash over
little-endian 8-byte words), for golden rowkeys: prints the hashed rowkey
suffix ("#" and 32 hex digits) winagg gives a group key.

Usage: hs_model.py VALUE...   each VALUE a group value's canonical JSON text
"""
import sys

M = (1 << 64) - 1
P0, P1, P2, P3 = 0xa0761d6478bd642f, 0xe7037ed1a0b428db, 0x8ebc6af09c88c6e3, 0x589965cc75374cc3


def fold(a, b):
    r = (a & M) * (b & M)
    return (r & M) ^ (r >> 64)


def hs_hash(data, seed):
    n = len(data)
    h = fold(seed ^ P0, n ^ P1)
    i = 0
    while n - i >= 8:
        h = fold(h ^ int.from_bytes(data[i:i + 8], "little"), P1)
        i += 8
    if i < n:
        h = fold(h ^ int.from_bytes(data[i:], "little") ^ P2, P1)
    return fold(h ^ P3, h ^ P0)


key = b"".join(v.encode() + b"\0" for v in sys.argv[1:])
print("#%016x%016x" % (hs_hash(key, 0x6f72647069706531), hs_hash(key, 0x77696e6167673232)))
