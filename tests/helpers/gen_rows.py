#!/usr/bin/env python3
"""Random rows for the property tests: gen_rows.py SEED N [--groups A,B,...]
[--orders] [--pos] [--start MS]. Event times (epoch ms; by default from a
random start, some before 1970) wander forward with random disorder, so
that a watermark has late rows to drop and sessions have rows to merge.
Rows are {"ts", "g", "v"}; --orders makes them {"ts", "shopid", "count"}
(count 1 to 5); --pos adds kcat-out's "_pos" (partition t/0, offset i;
with --parts K a random one of t/0..t/K-1, each with its own offsets, the
later partitions running further behind in time);
--groups names the group values (integers stay numbers)."""
import argparse
import json
import random

ap = argparse.ArgumentParser()
ap.add_argument("seed", type=int)
ap.add_argument("n", type=int)
ap.add_argument("--groups", default=None)
ap.add_argument("--orders", action="store_true")
ap.add_argument("--pos", action="store_true")
ap.add_argument("--parts", type=int, default=1)
ap.add_argument("--start", type=int, default=None)
a = ap.parse_args()

groups = ["a", "b", "c|d", "é"]
if a.groups:
    groups = [int(x) if x.lstrip("-").isdigit() else x for x in a.groups.split(",")]
rnd = random.Random(a.seed)
t = rnd.randint(-100000, 100000)
if a.start is not None:
    t = a.start
offs = [0] * a.parts
for i in range(a.n):
    t += rnd.randint(0, 3000)
    ts = t - rnd.choice([0, 0, 0, rnd.randint(0, 40000)])
    g = rnd.choice(groups)
    row = {"ts": ts, "shopid": g, "count": rnd.randint(1, 5)} if a.orders else \
        {"ts": ts, "g": g, "v": rnd.randint(-5, 9)}
    if a.pos and a.parts > 1:
        p = rnd.randrange(a.parts)
        row["ts"] -= p * 7000
        row["_pos"] = "t/%d/%d" % (p, offs[p])
        offs[p] += 1
    elif a.pos:
        row["_pos"] = "t/0/%d" % i
    print(json.dumps(row))
