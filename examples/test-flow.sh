#!/bin/sh
# The test flow: a fixture file through the core, rows on stdout.
#   examples/test-flow.sh [ORDERS.ndjson]   (default: 10000 generated orders)
set -eu
if [ $# -gt 0 ]; then
	exec winagg --window 60 "$1"
fi
ordgen -n 10000 --seed 1 --disorder 5s | winagg --window 60 --watermark 10s
