#!/usr/bin/env python3
"""An independent model of winagg --session (Spark's session_window, as
ordpipe(7) states it), for the property test: micro-batches of --batch rows
(winagg --trigger-rows N), group field "g", aggregates n=count, s=sum(v).

A row at t opens [t, t+gap); sessions of a group that overlap or touch it
merge into one [least start, greatest end). A row is late when t+gap is at
or before the watermark of the batch (the latest event time of the batches
before, minus the delay); the watermark closes sessions ending at or before
it at the end of each batch; end of input closes every session.

Reads rows {"ts": <epoch ms>, "g": ..., "v": <int>} on stdin. Prints the
final sessions, one per line: start, end (RFC 3339), g, n, s, tab-separated,
sorted; what a table written by upsert and delete must hold at the end, and
what append mode writes.
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
    ap.add_argument("--gap", type=int, required=True)
    ap.add_argument("--delay", type=int, required=True)
    ap.add_argument("--batch", type=int, required=True)
    a = ap.parse_args()

    rows = [json.loads(l) for l in sys.stdin if l.strip()]
    open_ = {}  # group -> list of [start, end, n, s]
    closed = []
    wm = None
    maxt = None

    def close(limit):
        """Closes the sessions ending at or before limit (None: all)."""
        for g in open_:
            keep = []
            for x in open_[g]:
                if limit is None or x[1] <= limit:
                    closed.append((g, x))
                else:
                    keep.append(x)
            open_[g] = keep

    for b in range(0, len(rows), a.batch):
        for r in rows[b:b + a.batch]:
            t, g, v = r["ts"], json.dumps(r["g"], separators=(",", ":")), r["v"]  # JSON text: any value groups
            maxt = t if maxt is None else max(maxt, t)
            if wm is not None and t + a.gap <= wm:
                continue  # late
            new = [t, t + a.gap, 1, v]
            rest = []
            for x in open_.get(g, []):
                if x[0] <= new[1] and new[0] <= x[1]:
                    new = [min(new[0], x[0]), max(new[1], x[1]), new[2] + x[2], new[3] + x[3]]
                else:
                    rest.append(x)
            open_[g] = rest + [new]
        # end of the batch: close by the watermark in force, then advance it
        if wm is not None:
            close(wm)
        if maxt is not None:
            w = maxt - a.delay
            wm = w if wm is None else max(wm, w)
    close(None)
    for line in sorted("%s\t%s\t%s\t%d\t%d" % (iso(x[0]), iso(x[1]), g, x[2], x[3])
                       for g, x in closed):
        print(line)


if __name__ == "__main__":
    main()
