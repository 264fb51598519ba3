#!/bin/sh
# make bench: throughput and peak memory of ordpipe's programs next to peers,
# all measured in this run on this machine. Installs its peers if missing
# (Debian: miller; npm: @duckdb/node-api under build/bench).
set -eu
cd "$(dirname "$0")/../.."
: "${ORDPIPE_BIN:=build/rel/bin}"
PATH="$ORDPIPE_BIN:$PATH"
B=build/bench
mkdir -p "$B"
N=${BENCH_N:-1000000}       # rows for the fast programs
NS=${BENCH_NSLOW:-100000}   # rows for the slow peers (jq, Miller, python3)

if ! command -v mlr >/dev/null 2>&1; then
	[ "$(id -u)" -eq 0 ] && SUDO= || SUDO=sudo
	$SUDO apt-get install -y -qq miller >/dev/null 2>&1 || echo "bench: miller not installed" >&2
fi
if [ ! -d "$B/node_modules/@duckdb/node-api" ] && command -v npm >/dev/null 2>&1; then
	(cd "$B" && npm install --no-audit --no-fund --silent @duckdb/node-api >/dev/null 2>&1) ||
		echo "bench: @duckdb/node-api not installed" >&2
fi
cp tests/bench/duckdb.mjs "$B/duckdb.mjs"
cc -O2 -o "$B/jsonc_loop" tests/bench/jsonc_loop.c $(pkg-config --cflags --libs json-c)

ordgen -n "$N" --seed 1 >"$B/orders.ndjson"
head -n "$NS" "$B/orders.ndjson" >"$B/orders-small.ndjson"

m() { python3 tests/bench/measure.py "$@"; }
row() { # program workload "rate rss" peer "peer_rate"
	rate=${3% *}; rss=${3#* }
	ratio=$(awk -v a="$rate" -v b="${5:-0}" 'BEGIN { if (b > 0) printf "%.1fx", a / b; else print "-" }')
	printf '%-8s %-34s %12.0f %9s  %-24s %12s %7s\n' "$1" "$2" "$rate" "$((rss / 1024))M" "$4" "${5:-}" "$ratio"
}
rate_of() { echo "${1% *}"; }
# pair5 RECORDS CMD_A CMD_B: five runs of each, alternating (a burst of other
# work on this shared machine then hits one run, not one side), and the
# median run of each: "rate_a rss_a" on the first line, B's on the second.
pair5() {
	for _ in 1 2 3 4 5; do
		printf 'a %s\n' "$(m "$1" "$2")"
		printf 'b %s\n' "$(m "$1" "$3")"
	done >"$B/pair.t"
	for side in a b; do
		grep "^$side " "$B/pair.t" | cut -d' ' -f2- | sort -n | sed -n 3p
	done
}

printf '%-8s %-34s %12s %9s  %-24s %12s %7s\n' program workload records/s peak-RSS peer peer-rec/s ratio

# ordgen against python3 and jq writing the same records
py=$(m "$NS" "python3 -c '
import json, random, sys
r = random.Random(1); w = sys.stdout.write
for i in range($NS):
    w(json.dumps({\"orderid\": \"%016x\" % r.getrandbits(64), \"itemid\": r.randint(1, 10000), \"shopid\": r.randint(1, 100), \"region\": r.choice([\"SG\",\"MY\",\"TH\",\"ID\",\"VN\",\"PH\"]), \"count\": r.randint(1, 5), \"ts\": \"2026-01-01T00:00:00.000Z\"}, separators=(\",\", \":\")) + \"\\n\")
' >/dev/null")
jqg=$(m "$NS" "jq -nc 'range($NS) | {orderid: (. | tostring), itemid: (. % 10000 + 1), shopid: (. % 100 + 1), region: [\"SG\",\"MY\"][. % 2], count: (. % 5 + 1), ts: (1767225600 + . / 1000 | todate)}' >/dev/null")
r=$(m $((N * 10)) "ordgen -n $((N * 10)) >/dev/null")
row ordgen "$((N * 10)) orders to /dev/null" "$r" python3 "$(rate_of "$py")"
row ordgen "$((N * 10)) orders to /dev/null" "$r" jq "$(rate_of "$jqg")"
r=$(m $((N * 10)) "ordgen -n $((N * 10)) | cat >/dev/null")
row ordgen "$((N * 10)) orders into a pipe" "$r" python3 "$(rate_of "$py")"

# parsing: json-c alone is the ceiling later programs are compared with
jc=$(m "$N" "$B/jsonc_loop <$B/orders.ndjson >/dev/null")
row json-c "$N rows, parse only (getline)" "$jc" - ""

# winagg against DuckDB, Miller and jq on the same query
r=$(m "$N" "winagg $B/orders.ndjson >/dev/null")
if [ -d "$B/node_modules/@duckdb/node-api" ]; then
	dk=$(m "$N" "node $B/duckdb.mjs $PWD/$B/orders.ndjson >/dev/null")
	row winagg "$N rows from a file" "$r" duckdb "$(rate_of "$dk")"
fi
row winagg "$N rows from a file" "$r" json-c-parse "$(rate_of "$jc")"
if command -v mlr >/dev/null 2>&1; then
	ml=$(m "$NS" "mlr --ijsonl --ojsonl put '\$w = substr(\$ts, 0, 15)' then stats1 -a count,sum -f count -g w,shopid,region $B/orders-small.ndjson >/dev/null")
	row winagg "$N rows from a file" "$r" "miller stats1 ($NS)" "$(rate_of "$ml")"
fi
jqa=$(m "$NS" "jq -nc 'reduce inputs as \$o ({}; .[\$o.ts[0:16] + \"/\" + (\$o.shopid | tostring) + \"/\" + \$o.region] |= ((. // {orders: 0, items: 0}) | .orders += 1 | .items += \$o.count))' $B/orders-small.ndjson >/dev/null")
row winagg "$N rows from a file" "$r" "jq reduce ($NS)" "$(rate_of "$jqa")"
r=$(m "$N" "cat $B/orders.ndjson | winagg >/dev/null")
row winagg "$N rows from a pipe" "$r" - ""

# sessions (700 ms gap: 311 263 sessions in the default orders) against
# DuckDB's gaps-and-islands SQL, and --dedup; goal >= 1 M rows/s each
r=$(m "$N" "winagg --session 700ms -W 10s -m append $B/orders.ndjson >/dev/null")
if [ -d "$B/node_modules/@duckdb/node-api" ]; then
	dk=$(m "$N" "node $B/duckdb.mjs $PWD/$B/orders.ndjson session 700 >/dev/null")
	row winagg "$N rows, --session 700ms" "$r" "duckdb gaps-and-islands" "$(rate_of "$dk")"
else
	row winagg "$N rows, --session 700ms" "$r" - ""
fi
rs=$(rate_of "$r")
r=$(m "$N" "winagg --dedup orderid -W 10s -m append $B/orders.ndjson >/dev/null")
row winagg "$N rows, --dedup orderid -W 10s" "$r" - ""
rd=$(rate_of "$r")
r10=$(m $((N * 10)) "ordgen -n $((N * 10)) --disorder 5s | winagg --session 700ms -W 10s -m append >/dev/null")
row winagg "$((N * 10)) rows, --session (pipe)" "$r10" - ""
awk -v s="$rs" -v d="$rd" 'BEGIN { printf "goal sessions and dedup >= 1M rows/s: %s (%.2fM, %.2fM)\n",
	(s >= 1e6 && d >= 1e6) ? "met" : "NOT met", s / 1e6, d / 1e6 }'

# verdict GOAL OK: one line per goal of issue 17
verdict() { echo "goal $1: $([ "$2" = 1 ] && echo met || echo 'NOT met')"; }
ge() { awk -v a="$1" -v b="$2" 'BEGIN { print (a >= b) ? 1 : 0 }'; }

# many groups: about a million (shops by the million, 10 ms apart), and one
# per row (-g orderid); against DuckDB's same query
ordgen -n "$N" --seed 2 --shops 1000000 --step 10ms >"$B/many.ndjson"
if [ -d "$B/node_modules/@duckdb/node-api" ]; then
	# medians of five alternating runs: the ratio is the goal's, its spread wide
	both=$(pair5 "$N" "winagg -W 1s -m append $B/many.ndjson >/dev/null" "node $B/duckdb.mjs $PWD/$B/many.ndjson >/dev/null")
	r=$(echo "$both" | sed -n 1p); dk=$(echo "$both" | sed -n 2p)
	row winagg "$N rows, ~1M groups (median of 5)" "$r" duckdb "$(rate_of "$dk")"
	ok=$(( $(ge "$(rate_of "$r")" "$(awk -v d="$(rate_of "$dk")" 'BEGIN { print 2 * d }')") && $(ge "${dk#* }" "${r#* }") ))
	both=$(pair5 "$N" "winagg -g orderid -W 1s -m append $B/orders.ndjson >/dev/null" "node $B/duckdb.mjs $PWD/$B/orders.ndjson groups orderid >/dev/null")
	r2=$(echo "$both" | sed -n 1p); dk2=$(echo "$both" | sed -n 2p)
	row winagg "$N rows, a group per row (median of 5)" "$r2" duckdb "$(rate_of "$dk2")"
	ok2=$(( $(ge "$(rate_of "$r2")" "$(awk -v d="$(rate_of "$dk2")" 'BEGIN { print 2 * d }')") && $(ge "${dk2#* }" "${r2#* }") ))
	verdict "many groups >= 2x DuckDB with peak RSS <= DuckDB's (peak RSS: $((${r#* } / 1024))M vs $((${dk#* } / 1024))M, $((${r2#* } / 1024))M vs $((${dk2#* } / 1024))M)" $((ok && ok2))
fi

# sliding windows: -w 10m -s 10s against DuckDB (windows by unnest(range)),
# and the cost of a row as window/slide grows, against tumbling -w 1h
NSL=${BENCH_NSLIDE:-20000}
head -n "$NSL" "$B/orders.ndjson" >"$B/orders-slide.ndjson"
r=$(m "$N" "winagg -w 10m -s 10s -W 1s -m append $B/orders.ndjson >/dev/null")
if [ -d "$B/node_modules/@duckdb/node-api" ]; then
	dk=$(m "$N" "node $B/duckdb.mjs $PWD/$B/orders.ndjson sliding 600 10 >/dev/null")
	row winagg "$N rows, -w 10m -s 10s" "$r" duckdb "$(rate_of "$dk")"
	verdict "-w 10m -s 10s >= 2x DuckDB" "$(ge "$(rate_of "$r")" "$(awk -v d="$(rate_of "$dk")" 'BEGIN { print 2 * d }')")"
fi
t1=$(m "$N" "winagg -w 1h -W 1s -m append $B/orders.ndjson >/dev/null")
s60=$(m "$N" "winagg -w 1h -s 1m -W 1s -m append $B/orders.ndjson >/dev/null")
s3600=$(m "$NSL" "winagg -w 1h -s 1s -W 1s -m append $B/orders-slide.ndjson >/dev/null")
row winagg "$N rows, -w 1h (tumbling)" "$t1" - ""
row winagg "$N rows, -w 1h -s 1m" "$s60" "-w 1h tumbling" "$(rate_of "$t1")"
row winagg "$NSL rows, -w 1h -s 1s" "$s3600" "-w 1h tumbling" "$(rate_of "$t1")"
# -s 1s writes ~3600 windows per group: the output, not the rows, is the work
outn=$(winagg -w 1h -s 1s -W 1s -m append "$B/orders-slide.ndjson" | wc -l)
awk -v r="$(rate_of "$s3600")" -v o="$outn" -v n="$NSL" 'BEGIN { printf "winagg -w 1h -s 1s writes %d rows for %d (%.0f each): %.2fM rows written/s\n", o, n, o / n, r * o / n / 1e6 }'

half=$(awk -v t="$(rate_of "$t1")" 'BEGIN { print t / 2 }')
verdict "-w 1h -s 1m and -s 1s within 2x of tumbling -w 1h" \
	$(( $(ge "$(rate_of "$s60")" "$half") && $(ge "$(rate_of "$s3600")" "$half") ))

# memory: with a watermark, peak RSS stays flat as the stream grows
r1=$(m "$N" "ordgen -n $N --disorder 5s | winagg --watermark 10s >/dev/null")
r10=$(m $((N * 10)) "ordgen -n $((N * 10)) --disorder 5s | winagg --watermark 10s >/dev/null")
row winagg "$N rows, --watermark 10s (pipe)" "$r1" - ""
row winagg "$((N * 10)) rows, --watermark 10s (pipe)" "$r10" - ""
# bytes per live group: many groups held (no watermark) against a few
few=$(m "$N" "ordgen -n $N --shops 1 --regions A | winagg >/dev/null")
many=$(m "$N" "ordgen -n $N --shops 1000000 --step 0ms --regions A | winagg -v 2>$B/many.err >/dev/null")
groups=$(grep -o 'peak [0-9]*' "$B/many.err" | cut -d' ' -f2)
echo "winagg live state: $groups groups held; $(( (${many#* } - ${few#* }) * 1024 / groups )) bytes per live group (peak RSS difference / groups)"

# startup: one record in, then exit
python3 tests/bench/startup.py "ordgen -n 1" 30 ordgen -n 1
python3 tests/bench/startup.py "winagg, one row" 30 winagg
python3 tests/bench/startup.py "mysql-replace --dry-run, one row" 30 mysql-replace --dry-run

# Kafka: kcat-in and kcat-out against Debian's kcat, same test broker, same
# data, same batching and fetch tuning; medians of five alternating runs. Keys
# spread messages over the partitions (many small batches instead of one
# growing one), so kcat-in -k is held against kcat -P -K with the same key
# per message (kcat cannot read a JSON field: the key is put before each
# line by awk beforehand), and kcat-in without a key against kcat -P.
med5() { # records cmd: the median of five runs
	for _ in 1 2 3 4 5; do m "$1" "$2"; done | sort -n | sed -n 3p
}
KB="$PWD/build/rel/tests/helpers/kbroker"
if [ -x "$KB" ] && command -v kcat >/dev/null 2>&1; then
	rm -f "$B/kb.cmd" "$B/kb.out"
	mkfifo "$B/kb.cmd"
	# 32 partitions: the test broker keeps about 5 MiB per partition, and
	# the consumer's topic must hold all N orders.
	"$KB" -n 1 -t bin:32 -t bout:32 <"$B/kb.cmd" >"$B/kb.out" 2>"$B/kb.err" &
	kbpid=$!
	exec 8>"$B/kb.cmd"
	KAFKA_BROKERS=
	while [ -z "$KAFKA_BROKERS" ]; do sleep 0.05; KAFKA_BROKERS=$(head -1 "$B/kb.out" 2>/dev/null); done
	export KAFKA_BROKERS
	awk '{ match($0, /"shopid":[0-9]+/); print substr($0, RSTART + 9, RLENGTH - 9) "\t" $0 }' \
		"$B/orders.ndjson" >"$B/orders-keyed.tsv"
	PT="-X linger.ms=5 -X batch.num.messages=10000 -X batch.size=1000000 -X queue.buffering.max.messages=1000000 -X acks=all -X enable.idempotence=true -X partitioner=murmur2_random"
	kcat -b "$KAFKA_BROKERS" -P -t bin $PT <"$B/orders.ndjson"
	# (after the topic has data: kcat-out -c 1 reads the first message)
	python3 tests/bench/startup.py "kcat-in, one message to the broker" 20 kcat-in -t bin
	python3 tests/bench/startup.py "kcat-out -c 1 from the broker" 20 kcat-out -t bin -c 1
	both=$(pair5 "$N" "kcat-in -t bin <$B/orders.ndjson" "kcat -b $KAFKA_BROKERS -P -t bin $PT <$B/orders.ndjson")
	r=$(echo "$both" | sed -n 1p); kc=$(echo "$both" | sed -n 2p)
	row kcat-in "$N orders, no key, from a file" "$r" "kcat -P" "$(rate_of "$kc")"
	ok=$(ge "$(rate_of "$r")" "$(rate_of "$kc")")
	both=$(pair5 "$N" "kcat-in -t bin -k shopid <$B/orders.ndjson" "kcat -b $KAFKA_BROKERS -P -t bin -K '\t' $PT <$B/orders-keyed.tsv")
	r=$(echo "$both" | sed -n 1p); kk=$(echo "$both" | sed -n 2p)
	row kcat-in "$N orders, -k shopid, from a file" "$r" "kcat -P -K (key per line)" "$(rate_of "$kk")"
	ok=$((ok && $(ge "$(rate_of "$r")" "$(rate_of "$kk")")))
	echo "kcat-in -k shopid against kcat -P without keys: $(awk -v a="$(rate_of "$r")" -v b="$(rate_of "$kc")" 'BEGIN { printf "%.2fx", a / b }') (keys spread the batches)"
	r=$(med5 "$N" "cat $B/orders.ndjson | kcat-in -t bin -k shopid")
	row kcat-in "$N orders, -k shopid, from a pipe" "$r" "kcat -P -K (key per line)" "$(rate_of "$kk")"
	kcat-in -t bout -k orderid <"$B/orders.ndjson"
	CT="-X fetch.wait.max.ms=100 -X queued.min.messages=1000000 -X queued.max.messages.kbytes=262144"
	both=$(pair5 "$N" "kcat-out -t bout -e >/dev/null" "kcat -b $KAFKA_BROKERS -C -t bout -o beginning -e -q $CT >/dev/null")
	r=$(echo "$both" | sed -n 1p); kc=$(echo "$both" | sed -n 2p)
	row kcat-out "$N orders, 32 partitions, to the end" "$r" "kcat -C -e" "$(rate_of "$kc")"
	ok=$((ok && $(ge "$(rate_of "$r")" "$(rate_of "$kc")")))
	verdict "kcat-in >= kcat -P, keyed and not (from a file), kcat-out >= kcat -C (medians of 5)" "$ok"
	exec 8>&-
	wait "$kbpid"
fi

# MySQL: mysql-replace against LOAD DATA LOCAL INFILE and array-bound REPLACE
bash tests/bench/mysql.sh "${BENCH_NMYSQL:-200000}"

# Crash-safe restart: the cost of snapshots, the time to restore
bash tests/bench/checkpoint.sh

# The full production flow: sustained rate and event-to-MySQL latency
bash tests/bench/pipeline.sh
