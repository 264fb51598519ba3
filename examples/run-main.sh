#!/bin/sh
# make run: the main job as far as the programs exist in this release:
# generated orders, live, through winagg, rows on stdout.
#   DURATION=30 (seconds; 0 runs until Ctrl-C), RATE=2000 orders/s
set -u
: "${ORDPIPE_BIN:=$(dirname "$0")/../build/rel/bin}"
PATH="$ORDPIPE_BIN:$PATH"
DURATION=${DURATION:-30}
RATE=${RATE:-2000}
echo "ordpipe: ordgen --rate $RATE --disorder 2s | winagg --window 10s --watermark 5s --mode append" >&2
echo "ordpipe: one row per (10 s window, shop, region) once its window closes; ${DURATION}s (0: until Ctrl-C)" >&2
if [ "$DURATION" -gt 0 ]; then
	timeout -s INT "$DURATION" ordgen --rate "$RATE" --disorder 2s --shops 5 --regions SG,MY |
		winagg --window 10s --watermark 5s --mode append
else
	ordgen --rate "$RATE" --disorder 2s --shops 5 --regions SG,MY |
		winagg --window 10s --watermark 5s --mode append
fi
status=$?
# ordgen stops on the signal; winagg then sees end of input and closes every window.
[ "$status" -eq 0 ] || [ "$status" -eq 124 ] || [ "$status" -eq 130 ]
