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
RANDOM=$SEED
W=${CHAOS_DIR:-$(mktemp -d)}
T=chaos$SEED
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
# shellcheck disable=SC2086
ordgen -n "$ORDERS" $FLAGS >"$W/orders"
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
model() { python3 tests/helpers/partition_model.py --window 10000 --delay 5000 "$@" <"$W/topic"; }
model >"$W/want"
late=$(model --late)
db "SELECT rowkey, orders, items FROM ordpipe.$T" | LC_ALL=C sort >"$W/got"
if ! diff -u "$W/want" "$W/got" >"$W/diff"; then
	say "FAILED (seed $SEED): the table differs from the partition model's rows:"
	head -20 "$W/diff" >&2
	exit 1
fi
left=$(ls -A "$TMPDIR")
[ -z "$left" ] && rmdir "$TMPDIR" || { say "FAILED: temporary files left behind: $left"; exit 1; }
total=$(db "SELECT SUM(orders) FROM ordpipe.$T")
[ "$total" -eq $((ORDERS - late)) ] || { say "FAILED (seed $SEED): $total orders counted, $ORDERS sent, $late late"; exit 1; }
[ "$late" -gt 0 ] || { say "FAILED (seed $SEED): no late rows: the test would not test lateness"; exit 1; }
say "ok (seed $SEED): $(wc -l <"$W/got") rows, $total orders ($late late), identical to the partition model"
