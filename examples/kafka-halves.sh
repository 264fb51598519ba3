#!/bin/sh
# The two Kafka halves of the production flow, against $KAFKA_BROKERS:
# orders into the topic, keyed by shop, then out of it through a consumer
# group into winagg. N orders (default 10000); prints winagg's rows.
set -eu
: "${KAFKA_BROKERS:?set KAFKA_BROKERS to the bootstrap list}"
N=${N:-10000}
TOPIC=${TOPIC:-orders}

ordgen -n "$N" | kcat-in -t "$TOPIC" -k shopid --ts-field ts
kcat-out -t "$TOPIC" -G "${GROUP:-etl}" -e -X session.timeout.ms=6000 | winagg --window 60
