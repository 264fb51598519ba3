#!/usr/bin/env python3
"""An independent model of winagg's rule for partitioned input (ordpipe(7),
WINDOW SEMANTICS): a (row, window) pair is late iff the window ends at or
before (latest event time of the rows before it in the same partition) -
delay. The final table is then every pair that is not late, aggregated;
nothing else about the interleaving matters.

Input: lines "PARTITION<TAB>ORDER-JSON" in each partition's order (as
`kcat -C -f '%p\\t%s\\n'` prints them), or NDJSON orders carrying
"_pos":"TOPIC/P/OFFSET" with --pos. Tumbling or sliding windows over
"ts" (RFC 3339), grouped by shopid and region, orders=count and
items=sum(count), as the ETL's defaults.

Output: "rowkey<TAB>orders<TAB>items" per (window, group), sorted bytewise;
with --late, the number of late rows instead.
"""
import argparse
import datetime
import json
import sys

EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)


def parse_ms(s):
    d = datetime.datetime.fromisoformat(s.replace("Z", "+00:00"))
    return (d - EPOCH) // datetime.timedelta(milliseconds=1)


def iso(ms):
    d = EPOCH + datetime.timedelta(milliseconds=ms)
    return d.strftime("%Y-%m-%dT%H:%M:%S.") + "%03dZ" % (ms % 1000)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--window", type=int, required=True, help="ms")
    ap.add_argument("--slide", type=int, help="ms (default: the window)")
    ap.add_argument("--delay", type=int, required=True, help="watermark delay, ms")
    ap.add_argument("--pos", action="store_true")
    ap.add_argument("--late", action="store_true")
    a = ap.parse_args()
    slide = a.slide or a.window

    pmax = {}
    agg = {}
    late_rows = 0
    for line in sys.stdin:
        line = line.rstrip("\n")
        if not line:
            continue
        if a.pos:
            row = json.loads(line)
            if "_pos" not in row:
                continue  # a control record
            part = row["_pos"].rsplit("/", 1)[0]
        else:
            part, text = line.split("\t", 1)
            row = json.loads(text)
        t = parse_ms(row["ts"])
        lim = pmax[part] - a.delay if part in pmax else None
        start = t - (t % slide)
        late = False
        while start > t - a.window:
            end = start + a.window
            if lim is not None and end <= lim:
                late = True
            else:
                key = (start, row["shopid"], row["region"])
                v = agg.setdefault(key, [0, 0])
                v[0] += 1
                v[1] += row["count"]
            start -= slide
        late_rows += late
        pmax[part] = t if part not in pmax else max(pmax[part], t)
    if a.late:
        print(late_rows)
        return
    out = []
    for (start, shop, region), (n, s) in agg.items():
        group = json.dumps(shop) + "|" + json.dumps(region, ensure_ascii=False)
        out.append("%s/%s/%s\t%d\t%d" % (iso(start), iso(start + a.window), group, n, s))
    out.sort(key=lambda x: x.encode())
    print("\n".join(out))


main()
