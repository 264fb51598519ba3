#!/usr/bin/env python3
"""measure.py RECORDS CMD: runs CMD with bash, prints "records/s peak_rss_kib"
(wall time; peak RSS is the largest of the command's processes)."""
import resource
import subprocess
import sys
import time

records = int(sys.argv[1])
t0 = time.monotonic()
rc = subprocess.call(["bash", "-o", "pipefail", "-c", sys.argv[2]])
dt = time.monotonic() - t0
if rc != 0:
    sys.exit("measure: command failed (%d): %s" % (rc, sys.argv[2]))
rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
print("%.0f %d" % (records / dt, rss))
