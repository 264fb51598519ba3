#!/usr/bin/env python3
"""Random rows for the winagg property test: gen_rows.py SEED N. Event times
(epoch ms, some before 1970) wander forward with random disorder, so that a
watermark has late rows to drop."""
import json
import random
import sys

rnd = random.Random(int(sys.argv[1]))
n = int(sys.argv[2])
t = rnd.randint(-100000, 100000)
for _ in range(n):
    t += rnd.randint(0, 3000)
    ts = t - rnd.choice([0, 0, 0, rnd.randint(0, 40000)])
    print(json.dumps({"ts": ts, "g": rnd.choice(["a", "b", "c|d", "é"]), "v": rnd.randint(-5, 9)}))
