#!/usr/bin/env python3
"""A check of Prometheus' text exposition format (version 0.0.4), written
from its specification, for ordpipe's --metrics files: every sample line
parses (name, labels with escaped values, a float), belongs to a family
announced by HELP and TYPE before it, counters end in _total, no series is
repeated. Prints the samples as NAME{LABELS} VALUE lines, sorted; exits 1
with the reason on the first problem.

Usage: prom_check.py FILE
"""
import re
import sys

NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
LABEL = r'[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\[\\"n])*"'
SAMPLE = re.compile(r"^(%s)(?:\{(%s(?:,%s)*)?\})? (\S+)$" % (NAME, LABEL, LABEL))


def fail(n, why):
    print("line %d: %s" % (n, why), file=sys.stderr)
    sys.exit(1)


def main():
    types, helps, seen, out = {}, set(), set(), []
    with open(sys.argv[1], encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            line = line.rstrip("\n")
            if line.startswith("# HELP "):
                helps.add(line.split(" ")[2])
                continue
            if line.startswith("# TYPE "):
                parts = line.split(" ")
                if len(parts) != 4 or parts[3] not in ("counter", "gauge", "untyped"):
                    fail(n, "bad TYPE line")
                if parts[2] in types:
                    fail(n, "family %s announced twice" % parts[2])
                types[parts[2]] = parts[3]
                continue
            if line.startswith("#") or not line:
                continue
            m = SAMPLE.match(line)
            if not m:
                fail(n, "not a sample: %r" % line)
            name, labels, value = m.group(1), m.group(2) or "", m.group(3)
            if name not in types or name not in helps:
                fail(n, "%s has no HELP and TYPE before it" % name)
            if types[name] == "counter" and not name.endswith("_total"):
                fail(n, "counter %s does not end in _total" % name)
            try:
                float(value)
            except ValueError:
                fail(n, "value %r is not a float" % value)
            if (name, labels) in seen:
                fail(n, "series %s{%s} repeated" % (name, labels))
            seen.add((name, labels))
            out.append("%s{%s} %s" % (name, labels, value))
    for s in sorted(out):
        print(s)


main()
