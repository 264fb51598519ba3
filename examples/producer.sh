#!/usr/bin/env bash
# The producer: mock orders into the topic, keyed by shop, stamped with their
# event time.
#
#   producer.sh [-c CONFIG]    ordgen --rate RATE | kcat-in -t TOPIC --key-field KEY --ts-field ts
#
# Configuration as for etl.sh (ordpipe.env): KAFKA_BROKERS, TOPIC, RATE
# (orders/s, default 2000), COUNT (default endless), KEY (default shopid),
# ORDGEN_OPTS, KCAT_IN_OPTS, STATS. Both stages' statuses are checked.
set -u -o pipefail
PROG=producer
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/stages.sh"

conf_opts "$@" && [ ${#ARGS[@]} -eq 0 ] || { echo "usage: producer.sh [-c CONFIG]" >&2; exit 2; }
TOPIC=${TOPIC:-orders}
RATE=${RATE:-2000}
COUNT=${COUNT:-}
KEY=${KEY:-shopid}
STATS=${STATS:-}
ORDGEN_OPTS=${ORDGEN_OPTS:-}
KCAT_IN_OPTS=${KCAT_IN_OPTS:-}
KAFKA_CONFIG=${KAFKA_CONFIG:-}

for p in ordgen kcat-in; do
	command -v "$p" >/dev/null 2>&1 || { echo "producer: program '$p' not found on PATH ($PATH)" >&2; exit 1; }
done
stats=()
[ -n "$STATS" ] && stats=(--stats "$STATS")
STAGE_0=(ordgen "${stats[@]}")
[ "$RATE" != 0 ] && STAGE_0+=(--rate "$RATE")
[ -n "$COUNT" ] && STAGE_0+=(-n "$COUNT")
# shellcheck disable=SC2206
STAGE_0+=($ORDGEN_OPTS)
STAGE_1=(kcat-in -t "$TOPIC" --key-field "$KEY" --ts-field ts "${stats[@]}")
[ -n "$KAFKA_CONFIG" ] && STAGE_1+=(-F "$KAFKA_CONFIG")
# shellcheck disable=SC2206
STAGE_1+=($KCAT_IN_OPTS)
stages_run ordgen kcat-in
