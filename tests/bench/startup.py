#!/usr/bin/env python3
"""Startup cost: the median wall time of N runs of a command that handles
one record and exits (cron and shell users start the programs often).

Usage: startup.py NAME N CMD...   (one JSON line on stdin; prints a row)
"""
import statistics
import subprocess
import sys
import time

name, n, cmd = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
line = b'{"rowkey":"a","ts":"2026-01-01T00:00:00Z","shopid":1,"region":"SG","count":1}\n'
times = []
for _ in range(n):
    t = time.perf_counter()
    subprocess.run(cmd, input=line, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
    times.append((time.perf_counter() - t) * 1000)
med = statistics.median(times)
print("startup  %-34s %9.2f ms median of %d (goal <= 5 ms): %s" % (name, med, n, "met" if med <= 5 else "not met"))
