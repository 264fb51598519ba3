#!/usr/bin/env bash
# make run: the main job with zero configuration. Under build/run it starts a
# private MariaDB and the test Kafka broker, creates the topic, runs the
# producer and the ETL live, then shows the latest windows from MySQL and a
# chart of items sold per window and region. Everything it started is
# stopped at the end or on Ctrl-C.
#   DURATION=30 (seconds; 0 runs until Ctrl-C), RATE=2000 orders/s
set -u
cd "$(dirname "$0")/.."
: "${ORDPIPE_BIN:=$PWD/build/rel/bin}"
: "${ORDPIPE_HELPERS:=$(dirname "$ORDPIPE_BIN")/tests/helpers}"
PATH="$ORDPIPE_BIN:$PATH"
DURATION=${DURATION:-30}
RATE=${RATE:-2000}
RUN=${RUN_DIR:-$PWD/build/run}
say() { echo "ordpipe: $*" >&2; }

rm -rf "$RUN"
mkdir -p "$RUN"
. tests/helpers/servers.bash

pids=()
cleanup() {
	trap - EXIT INT TERM
	for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null; done
	for p in "${pids[@]}"; do wait "$p" 2>/dev/null; done
	servers_stop
}
trap cleanup EXIT
trap 'say stopping; stopped=1' INT TERM

say "starting a private MariaDB and the test Kafka broker under $RUN"
servers_start "$RUN" -n 1 -t orders:6 || { say "the servers did not start"; exit 1; }

# The same scripts and settings a deployment uses (ordpipe.env), pointed at
# the private servers.
cat >"$RUN/ordpipe.env" <<EOC
TOPIC=orders
CHECKPOINT_DIR=$RUN/ckpt
PIPELINE=etl
WINDOW=10s
WATERMARK=5s
TABLE=order_agg
MYSQL_DEFAULTS_FILE=$RUN/my.cnf
RATE=$RATE
ORDGEN_OPTS="--disorder 2s --shops 12 --regions SG,MY,TH,ID,VN,PH"
KCAT_OUT_OPTS="-X session.timeout.ms=6000 -q"
KCAT_IN_OPTS=-q
MYSQL_REPLACE_OPTS=-q
EOC
printf '[client]\nuser=root\nsocket=%s\n' "$DB_SOCK" >"$RUN/my.cnf"
unset MYSQL_UNIX_PORT
say "producer: examples/producer.sh (ordgen --rate $RATE | kcat-in -t orders --key-field shopid)"
# Own sessions: Ctrl-C comes to this script, which stops the producer,
# lets the ETL drain, then stops it and the servers, in that order.
setsid examples/producer.sh -c "$RUN/ordpipe.env" 2>"$RUN/producer.err" &
pids+=($!)
say "ETL: examples/etl.sh prod (kcat-out --positions | winagg --window 10s --watermark 5s --checkpoint | mysql-replace --pipeline etl)"
setsid examples/etl.sh -c "$RUN/ordpipe.env" prod 2>"$RUN/etl.err" &
etl=$!
pids+=($etl)

stopped=0
if [ "$DURATION" -gt 0 ]; then
	say "running for ${DURATION}s (Ctrl-C stops earlier)"
	end=$((SECONDS + DURATION))
	while [ "$stopped" -eq 0 ] && [ "$SECONDS" -lt "$end" ]; do sleep 0.5; done
else
	say "running until Ctrl-C"
	while [ "$stopped" -eq 0 ]; do sleep 0.5; done
fi

# Stop the producer, let the ETL drain what is in Kafka (the table stops
# changing), then stop it: kcat-out ends, winagg sees the end of its input
# and closes every window, mysql-replace commits.
kill -TERM "${pids[0]}" 2>/dev/null
wait "${pids[0]}" 2>/dev/null
last=-1
for _ in $(seq 30); do
	sleep 1
	now=$(db_sql "SELECT COALESCE(SUM(orders), 0) FROM ordpipe.order_agg" 2>/dev/null || echo 0)
	[ "$now" = "$last" ] && break
	last=$now
done
kill -TERM "$etl" 2>/dev/null
wait "$etl"
etl_status=$?
pids=()
[ "$etl_status" -eq 0 ] || { say "the ETL failed (status $etl_status):"; tail -5 "$RUN/etl.err" >&2; }

q() { db_sql "$@"; }
rows=$(q "SELECT COUNT(*) FROM ordpipe.order_agg" 2>/dev/null || echo 0)
orders=$(q "SELECT COALESCE(SUM(orders), 0) FROM ordpipe.order_agg" 2>/dev/null || echo 0)
echo
echo "== ordpipe.order_agg: $rows rows, $orders orders in 10 s windows =="
echo
echo "-- top shops by items sold, last 3 windows --"
q "SELECT shopid, SUM(items) AS items, SUM(orders) AS orders FROM ordpipe.order_agg
   WHERE window_start >= (SELECT MAX(window_start) FROM ordpipe.order_agg) - INTERVAL 20 SECOND
   GROUP BY shopid ORDER BY items DESC LIMIT 5" |
	awk -F'\t' 'BEGIN { printf "%-6s %8s %8s\n", "shop", "items", "orders" } { printf "%-6s %8s %8s\n", $1, $2, $3 }'
echo
echo "-- regions by items sold, last 3 windows --"
q "SELECT region, SUM(items) AS items, SUM(orders) AS orders FROM ordpipe.order_agg
   WHERE window_start >= (SELECT MAX(window_start) FROM ordpipe.order_agg) - INTERVAL 20 SECOND
   GROUP BY region ORDER BY items DESC" |
	awk -F'\t' 'BEGIN { printf "%-6s %8s %8s\n", "region", "items", "orders" } { printf "%-6s %8s %8s\n", $1, $2, $3 }'
echo
echo "-- items sold per window and region --"
q "SELECT DATE_FORMAT(window_start, '%H:%i:%s'), region, SUM(items) FROM ordpipe.order_agg
   GROUP BY window_start, region ORDER BY window_start DESC, region LIMIT 36" |
	sort | awk -F'\t' '
	{ w[NR] = $1; r[NR] = $2; v[NR] = $3; if ($3 > max) max = $3 }
	END {
		for (i = 1; i <= NR; i++) {
			n = max > 0 ? int(v[i] * 50 / max) : 0
			bar = ""; for (j = 0; j < n; j++) bar = bar "#"
			printf "%s %-3s %6d %s\n", (w[i] == last ? "        " : w[i]), r[i], v[i], bar
			last = w[i]
		}
	}'
if command -v gnuplot >/dev/null 2>&1; then
	q "SELECT UNIX_TIMESTAMP(window_start), region, SUM(items) FROM ordpipe.order_agg
	   GROUP BY window_start, region ORDER BY region, window_start" >"$RUN/chart.tsv"
	gnuplot -e "set terminal png size 900,500; set output '$RUN/chart.png'; set xdata time; set timefmt '%s';
		set format x '%H:%M:%S'; set title 'items sold per 10 s window'; set key outside;
		plot for [r in 'SG MY TH ID VN PH'] '$RUN/chart.tsv' using 1:(strcol(2) eq r ? \$3 : 1/0) with linespoints title r" 2>/dev/null &&
		echo && echo "chart: $RUN/chart.png"
fi
[ "$rows" -gt 0 ]
