#!/usr/bin/env python3
"""An independent model of winagg's semantics (../shared/SEMANTICS.md), for
the property test: one row per micro-batch (winagg --trigger-rows 1), group
field "g", aggregates n=count and s=sum(v) over integers.

Reads NDJSON rows {"ts": <epoch ms>, "g": ..., "v": <int>} on stdin and
prints one line per emitted row: start, end (RFC 3339), g, n, s; tab-separated.
Order: per batch, update mode emits the row's windows from the latest start
back; eviction and complete mode go by window start, then group creation.
"""
import argparse
import datetime
import json
import sys

EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)


def iso(ms):
    d = EPOCH + datetime.timedelta(milliseconds=ms)
    return d.strftime("%Y-%m-%dT%H:%M:%S.") + "%03dZ" % (ms % 1000)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--size", type=int, required=True)
    ap.add_argument("--slide", type=int, required=True)
    ap.add_argument("--offset", type=int, default=0)
    ap.add_argument("--delay", type=int)
    ap.add_argument("--mode", default="update")
    a = ap.parse_args()

    state = {}  # start -> {group: [n, s]}, both in creation order
    wm = None
    maxt = None
    out = []

    def emit(start, g, agg):
        out.append("%s\t%s\t%s\t%d\t%d" % (iso(start), iso(start + a.size), json.dumps(g, ensure_ascii=False), agg[0], agg[1]))

    def evict(limit):
        for start in sorted(state):
            if limit is None or start + a.size <= limit:
                for g, agg in state[start].items():
                    if a.mode == "append":
                        emit(start, g, agg)
                del state[start]

    for line in sys.stdin:
        row = json.loads(line)
        t, g, v = row["ts"], row["g"], row["v"]
        start = t - ((t - a.offset) % a.slide)  # Python's % is a floor modulo
        changed = []
        while start > t - a.size:
            late = a.delay is not None and a.mode != "complete" and wm is not None and start + a.size <= wm
            if not late:
                agg = state.setdefault(start, {}).setdefault(g, [0, 0])
                agg[0] += 1
                agg[1] += v
                changed.append((start, g))
            start -= a.slide
        if a.mode == "update":
            for s, grp in changed:
                emit(s, grp, state[s][grp])
        elif a.mode == "complete":
            for s in sorted(state):
                for grp, agg in state[s].items():
                    emit(s, grp, agg)
        if a.delay is not None and wm is not None and a.mode != "complete":
            evict(wm)
        if a.delay is not None:
            maxt = t if maxt is None else max(maxt, t)
            wm = maxt - a.delay if wm is None else max(wm, maxt - a.delay)
    if a.mode != "complete":
        evict(None)
    print("\n".join(out))


main()
