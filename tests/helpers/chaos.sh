#!/usr/bin/env bash
# The chaos test of crash-safe restart: N orders (default 200000) in a topic
# of 16 partitions; the checkpointed prod flow (examples/etl.sh) is run, and
# in each of ROUNDS rounds a random stage (or all of them) is killed with
# SIGKILL at a random moment, then the ETL is started again with the same
# command. A last run goes to the end of the input; the MySQL table must
# then be exactly what the per-partition lateness rule gives for the topic
# as Debian's kcat reads it (tests/helpers/partition_model.py): the orders
# lag by up to 8 s and the watermark is 5 s, so some rows are truly late in
# their own partition, and which ones must not depend on the kills.
#   chaos.sh [ROUNDS] [SEED]      (also ORDERS=N; prints the seed to replay)
# CHAOS_KIND=sessions runs session windows (winagg --session 700ms) with
# --dedup orderid instead, every 20th order re-sent by the producer 50
# orders later; orders are at most 1 s out of order against a 5 s
# watermark, so no row is late and no re-send outlives its key in any
# batching: the table must be the session model's (helpers/session_model.py)
# of the distinct orders.
# Uses the servers of the environment when KAFKA_BROKERS and DB_SOCK are set
# (the bats suite), else starts a private MariaDB and test broker.
set -u
cd "$(dirname "$0")/../.."
: "${ORDPIPE_BIN:=$PWD/build/rel/bin}"
: "${ORDPIPE_HELPERS:=$(dirname "$ORDPIPE_BIN")/tests/helpers}"
PATH="$ORDPIPE_BIN:$PATH"
ROUNDS=${1:-5}
SEED=${2:-$RANDOM}
ORDERS=${ORDERS:-200000}
KIND=${CHAOS_KIND:-windows}
RANDOM=$SEED
W=${CHAOS_DIR:-$(mktemp -d)}
T=chaos$SEED
[ "$KIND" = sessions ] && T=chaoss$SEED
say() { echo "chaos: $*" >&2; }
say "seed $SEED, $ROUNDS rounds, $ORDERS orders (replay: make chaos ROUNDS=$ROUNDS SEED=$SEED)"

if [ -z "${KAFKA_BROKERS:-}" ] || [ -z "${DB_SOCK:-}" ]; then
	. tests/helpers/servers.bash
	trap servers_stop EXIT
	servers_start "$W" -n 1 || exit 1
	broker_cmd topic "$T" 16
fi
# the scripts' own temporary files go here: none may be left, even by a kill
export TMPDIR=$W/tmp
mkdir -p "$TMPDIR"
db() { mariadb --no-defaults -uroot -S "$DB_SOCK" -N -B -e "$*"; }
unset MYSQL_UNIX_PORT

printf '[client]\nuser=root\nsocket=%s\n' "$DB_SOCK" >"$W/my.cnf"
cat >"$W/conf" <<EOC
TOPIC=$T
TABLE=$T
PIPELINE=$T
CHECKPOINT_DIR=$W/ckpt
CHECKPOINT_INTERVAL=50ms
MYSQL_DEFAULTS_FILE=$W/my.cnf
END_AT_EOF=1
STAGE_GRACE=3
KCAT_OUT_OPTS=-q
MYSQL_REPLACE_OPTS="-q --batch 50"
WINDOW=10s
WATERMARK=5s
EOC
FLAGS="--seed $SEED --start 2026-01-01T00:00:00Z --step 3ms --shops 50 --disorder 8s"
if [ "$KIND" = sessions ]; then
	printf '%s\n' SESSION=700ms 'WINAGG_OPTS="--dedup orderid"' >>"$W/conf"
	FLAGS="--seed $SEED --start 2026-01-01T00:00:00Z --step 20ms --shops 10 --disorder 1s"
fi
# shellcheck disable=SC2086
ordgen -n "$ORDERS" $FLAGS >"$W/orders"
if [ "$KIND" = sessions ]; then
	# an at-least-once producer: every 20th order sent again 50 orders later
	awk '{ print; if (NR % 20 == 0) held[NR + 50] = $0; if (NR in held) { print held[NR]; delete held[NR] } }
		END { for (k in held) print held[k] }' "$W/orders" >"$W/orders.sent"
	mv "$W/orders.sent" "$W/orders"
	ORDERS=$(wc -l <"$W/orders")
fi
# A live stream: the orders arrive in ROUNDS+1 chunks, one before each run,
# so every kill lands while there is input in flight.
CHUNK=$(((ORDERS + ROUNDS) / (ROUNDS + 1)))
produce() { # chunk number, from 0
	sed -n "$(($1 * CHUNK + 1)),$((($1 + 1) * CHUNK))p" "$W/orders" |
		kcat-in -t "$T" -k shopid --ts-field ts -q || { say "cannot produce"; exit 1; }
}


targets=(kcat-out winagg mysql-replace all)
for ((r = 1; r <= ROUNDS; r++)); do
	produce $((r - 1))
	examples/etl.sh -c "$W/conf" prod 2>>"$W/etl.err" &
	etl=$!
	ms=$((5 + RANDOM % 250))
	target=${targets[RANDOM % 4]}
	sleep "$(printf '0.%03d' "$ms")"
	pids=$(pgrep -P "$etl")
	victims=()
	for p in $pids; do
		c=$(cat "/proc/$p/comm" 2>/dev/null)
		if [ "$target" = all ] || [ "$c" = "$target" ]; then victims+=("$p"); fi
	done
	[ "$target" = all ] && victims+=("$etl")
	kill -KILL "${victims[@]}" 2>/dev/null
	wait "$etl" 2>/dev/null
	st=$?
	# nothing of this round may live on into the next
	for p in $pids; do while kill -0 "$p" 2>/dev/null; do kill -KILL "$p" 2>/dev/null; sleep 0.05; done; done
	ck=$(db "SELECT checkpoint_id FROM ordpipe.ordpipe_progress WHERE pipeline = '$T'" 2>/dev/null)
	say "round $r: SIGKILL $target after ${ms} ms: etl status $st$([ "$st" -eq 0 ] && echo ' (it had finished)'), last committed checkpoint ${ck:-none}"
done

# the last run, to the end of the input
produce "$ROUNDS"
examples/etl.sh -c "$W/conf" prod 2>>"$W/etl.err"
st=$?
[ "$st" -eq 0 ] || { say "the last run failed with status $st"; tail -20 "$W/etl.err" >&2; exit 1; }
# the expected table: each row judged by the rows before it in its own
# partition, as an independent client reads the topic
kcat -b "$KAFKA_BROKERS" -C -t "$T" -e -q -f '%p\t%s\n' >"$W/topic"
if [ "$KIND" = sessions ]; then
	# the distinct orders (the first of each orderid), sessionized
	python3 - "$W/topic" >"$W/model-in" <<-'PY'
		import datetime, json, sys
		seen = set()
		for l in open(sys.argv[1]):
		    o = json.loads(l.split("\t", 1)[1])
		    if o["orderid"] in seen:
		        continue
		    seen.add(o["orderid"])
		    t = datetime.datetime.strptime(o["ts"], "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=datetime.timezone.utc)
		    print(json.dumps({"ts": round(t.timestamp() * 1000), "g": [o["shopid"], o["region"]], "v": o["count"]}))
	PY
	# read partition by partition: no watermark in the model (no row is
	# late in the flow by construction), the plain sessionization
	python3 tests/helpers/session_model.py --gap 700 --delay 1000000000000 --batch 1 <"$W/model-in" |
		LC_ALL=C sort >"$W/want"
	late=$(($(wc -l <"$W/topic") - $(wc -l <"$W/model-in"))) # the re-sent: dropped, not late
	db "SELECT DATE_FORMAT(window_start, '%Y-%m-%dT%H:%i:%s.%fZ'), DATE_FORMAT(window_end, '%Y-%m-%dT%H:%i:%s.%fZ'), CONCAT('[', shopid, ',\"', region, '\"]'), orders, items FROM ordpipe.$T" |
		sed -E 's/\.([0-9]{3})[0-9]{3}Z/.\1Z/g' | LC_ALL=C sort >"$W/got"
else
	model() { python3 tests/helpers/partition_model.py --window 10000 --delay 5000 "$@" <"$W/topic"; }
	model >"$W/want"
	late=$(model --late)
	db "SELECT rowkey, orders, items FROM ordpipe.$T" | LC_ALL=C sort >"$W/got"
fi
if ! diff -u "$W/want" "$W/got" >"$W/diff"; then
	say "FAILED (seed $SEED): the table differs from the partition model's rows:"
	head -20 "$W/diff" >&2
	exit 1
fi
left=$(ls -A "$TMPDIR")
[ -z "$left" ] && rmdir "$TMPDIR" || { say "FAILED: temporary files left behind: $left"; exit 1; }
total=$(db "SELECT SUM(orders) FROM ordpipe.$T")
[ "$total" -eq $((ORDERS - late)) ] || { say "FAILED (seed $SEED): $total orders counted, $ORDERS sent, $late late"; exit 1; }
[ "$late" -gt 0 ] || { say "FAILED (seed $SEED): no late rows (re-sent orders): the test would not test them"; exit 1; }
if [ "$KIND" = sessions ]; then
	say "ok (seed $SEED): $(wc -l <"$W/got") sessions, $total orders ($late re-sent, dropped), identical to the session model"
else
	say "ok (seed $SEED): $(wc -l <"$W/got") rows, $total orders ($late late), identical to the partition model"
fi
