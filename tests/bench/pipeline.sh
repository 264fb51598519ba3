#!/usr/bin/env bash
# Part of make bench: the full production flow on this machine, test broker
# and private MariaDB included, through examples/producer.sh and
# examples/etl.sh prod:
#   1. the highest sustained order rate: a ladder of rates, each run live for
#      STEP_S seconds; a rate is sustained when the producer keeps it and the
#      consumer's lag (kcat-out --stats) stays under one second of orders
#   2. event-to-MySQL latency at 20 k orders/s: a poller reads SUM(orders)
#      from the table every 50 ms; the order counted last at time t has
#      event time t0 + n/rate (ordgen paces by the wall clock and stamps
#      each order with it), so t minus that is how long the n-th order took
#      to be visible in MySQL (an upper bound, within the 50 ms poll).
set -u
cd "$(dirname "$0")/../.."
: "${ORDPIPE_BIN:=$PWD/build/rel/bin}"
PATH="$ORDPIPE_BIN:$PATH"
B=$PWD/build/bench/pipeline
STEP_S=${BENCH_STEP_S:-10}
RATES=${BENCH_RATES:-50000 100000 150000 200000 250000 300000 400000 500000 600000 800000}
LAT_RATE=${BENCH_LAT_RATE:-20000}
LAT_S=${BENCH_LAT_S:-20}
rm -rf "$B"
mkdir -p "$B"
. tests/helpers/servers.bash
trap servers_stop EXIT
servers_start "$B" -n 1 || exit 1
unset MYSQL_UNIX_PORT
printf '[client]\nuser=root\nsocket=%s\n' "$DB_SOCK" >"$B/my.cnf"
P=32
parts=$(seq -s, 0 $((P - 1)))
# run_live NAME RATE SECONDS: producer and ETL live on a new topic; leaves
# the stages' --stats lines in $B/NAME.{prod,etl}.err. With CKPT=1 the ETL
# is the checkpointed one (crash-safe restart).
run_live() {
	local name=$1 rate=$2 secs=$3 prod etl
	broker_cmd topic "$name" "$P"
	if [ "${CKPT:-0}" = 1 ]; then
		printf 'CHECKPOINT_DIR=%s\nPIPELINE=%s\n' "$B/$name.ck" "$name" >"$B/$name.env"
	else
		echo LOSSY_RESTART=1 >"$B/$name.env" # the plain ETL: no checkpoints
	fi
	cat >>"$B/$name.env" <<-EOC
		TOPIC=$name
		TABLE=$name
		PARTITIONS=$parts
		MYSQL_DEFAULTS_FILE=$B/my.cnf
		STATS=1s
		RATE=$rate
		KCAT_OUT_OPTS=-q
		KCAT_IN_OPTS=-q
	EOC
	examples/etl.sh -c "$B/$name.env" prod 2>"$B/$name.etl.err" &
	etl=$!
	sleep 1 # the consumer is assigned before the first order
	t0=$(date +%s.%N)
	examples/producer.sh -c "$B/$name.env" 2>"$B/$name.prod.err" &
	prod=$!
	"${WHILE_LIVE[@]}"
	sleep "$secs"
	kill -TERM "$prod"
	wait "$prod"
	kill -TERM "$etl"
	wait "$etl"
}

# 1. the rate ladder, for the plain and the checkpointed ETL
ladder() { # label
	local r prod cons lag ok sustained=0
	printf '%-10s %12s %12s %12s  %s\n' offered produced/s consumed/s "end lag" "verdict ($1)"
	for r in $RATES; do
		run_live "r$CKPT$r" "$r" "$STEP_S"
		# the producer's pace over the whole step, the consumer's over its
		# last 5 s of lines, and its lag at the end (before the stop)
		prod=$(grep '"prog":"ordgen"' "$B/r$CKPT$r.prod.err" | tail -1 | jq '.out / .uptime_s')
		cons=$(grep '"prog":"kcat-out"' "$B/r$CKPT$r.etl.err" | tail -6 | jq -s 'if length > 1 then (last.in - first.in) / (last.uptime_s - first.uptime_s) else 0 end')
		lag=$(grep '"prog":"kcat-out"' "$B/r$CKPT$r.etl.err" | tail -2 | head -1 | jq .lag_total)
		ok=$(awk -v r="$r" -v p="$prod" -v c="$cons" -v l="$lag" 'BEGIN { print (p >= 0.95 * r && c >= 0.95 * r && l <= r) ? "sustained" : "not sustained" }')
		printf '%-10s %12.0f %12.0f %12s  %s\n' "$r" "$prod" "$cons" "$lag" "$ok"
		[ "$ok" = sustained ] || break
		sustained=$r
	done
	echo "pipeline ($1): highest sustained rate: $sustained orders/s (goal >= 1000000; producer, broker, ETL and MariaDB on $(nproc) cores)"
}
WHILE_LIVE=(true)
CKPT=0 ladder plain
CKPT=1 ladder "checkpointed: a snapshot a second, sooner within 5 %"

# 2. latency at LAT_RATE
poll() {
	python3 - "$DB_SOCK" "$B/$POLL_TABLE.samples" "$POLL_TABLE" <<-'PY' &
		import subprocess, sys, time
		sock, out, table = sys.argv[1], sys.argv[2], sys.argv[3]
		with open(out, "w") as f:
		    while True:
		        r = subprocess.run(["mariadb", "--no-defaults", "-uroot", "-S", sock, "-N", "-B", "-e",
		                            "SELECT COALESCE(SUM(orders), 0) FROM ordpipe." + table],
		                           capture_output=True, text=True)
		        t = time.time()
		        if r.returncode == 0 and r.stdout.strip():
		            f.write("%.3f %s\n" % (t, r.stdout.strip())); f.flush()
		        time.sleep(0.05)
	PY
	pollpid=$!
}
# latency LABEL: one live run at LAT_RATE into table lat$CKPT, polled
latency() {
	local tbl=lat$CKPT n p50 p99
	POLL_TABLE=$tbl
	WHILE_LIVE=(poll)
	db_sql "CREATE TABLE ordpipe.$tbl (rowkey VARCHAR(255) NOT NULL PRIMARY KEY, window_start DATETIME(3), window_end DATETIME(3), shopid BIGINT, region VARCHAR(255), orders BIGINT, items BIGINT)"
	run_live "$tbl" "$LAT_RATE" "$LAT_S"
	kill "$pollpid"
	wait "$pollpid" 2>/dev/null
	# samples after the first 2 s, while orders were still being produced
	awk -v t0="$t0" -v r="$LAT_RATE" -v s="$LAT_S" '
		$1 > t0 + 2 && $1 < t0 + s && $2 > 0 { print $1 - (t0 + $2 / r) }' "$B/$tbl.samples" | sort -n >"$B/$tbl.s"
	n=$(wc -l <"$B/$tbl.s")
	if [ "$n" -gt 10 ]; then
		p50=$(awk -v n="$n" 'NR == int(n * 0.50) + 1 { printf "%.3f", $1 }' "$B/$tbl.s")
		p99=$(awk -v n="$n" 'NR == int(n * 0.99) + 1 { printf "%.3f", $1 }' "$B/$tbl.s")
		echo "pipeline ($1): event-to-MySQL latency at $LAT_RATE orders/s: p50 ${p50}s, p99 ${p99}s over $n samples (goal p99 <= 1s, default flush settings)"
	else
		echo "pipeline ($1): latency: too few samples ($n)" >&2
	fi
}
CKPT=0 latency plain
CKPT=1 latency "checkpointed"
