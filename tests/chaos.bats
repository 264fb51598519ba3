#!/usr/bin/env bats
# Crash-safe restart through examples/etl.sh with CHECKPOINT_DIR: kill -9 of
# any stage at random moments (the short chaos run; make chaos runs long
# ones), and a restart after SIGTERM that replays nothing.

load helpers/common

setup_file() {
	load helpers/common
	load helpers/mysqldb
	db_start
	broker_start -n 1
}

teardown_file() {
	broker_stop
	db_stop
}

setup() {
	load helpers/mysqldb
}

@test "chaos: SIGKILL of random stages at random moments with a watermark and late rows, restarted each time: the table equals the per-partition model's" {
	seed=${CHAOS_SEED:-$((RANDOM % 10000))}
	broker_cmd topic "chaos$seed" 16
	CHAOS_DIR=$BATS_TEST_TMPDIR run bash "$BATS_TEST_DIRNAME/helpers/chaos.sh" "${CHAOS_ROUNDS:-6}" "$seed"
	echo "$output" >&2 # the seed and the rounds, shown on failure
	assert_status 0
	[[ "$output" == *"chaos: ok (seed $seed): "*" rows, "*" orders ("*" late), identical to the partition model"* ]]
}

@test "chaos with session windows and --dedup: SIGKILL of random stages, re-sent orders, restarted each time: the table equals the session model's of the distinct orders" {
	seed=${CHAOS_SEED:-$((RANDOM % 10000))}
	broker_cmd topic "chaoss$seed" 16
	CHAOS_KIND=sessions ORDERS=40000 CHAOS_DIR=$BATS_TEST_TMPDIR run bash "$BATS_TEST_DIRNAME/helpers/chaos.sh" "${CHAOS_ROUNDS:-6}" "$seed"
	echo "$output" >&2
	assert_status 0
	[[ "$output" == *"chaos: ok (seed $seed): "*" sessions, "*" orders (2000 re-sent, dropped), identical to the session model"* ]]
}

@test "after SIGTERM (a deploy) the restart resumes at the end: nothing is replayed" {
	unset MYSQL_UNIX_PORT
	T=term
	broker_cmd topic "$T" 4
	ordgen -n 20000 --seed 3 | kcat-in -t "$T" -k shopid -q
	printf '[client]\nuser=root\nsocket=%s\n' "$DB_SOCK" >"$BATS_TEST_TMPDIR/my.cnf"
	cat >"$BATS_TEST_TMPDIR/conf" <<-EOC
		TOPIC=$T
		TABLE=$T
		PIPELINE=$T
		CHECKPOINT_DIR=$BATS_TEST_TMPDIR/ck
		MYSQL_DEFAULTS_FILE=$BATS_TEST_TMPDIR/my.cnf
		KCAT_OUT_OPTS=-q
		MYSQL_REPLACE_OPTS=-q
	EOC
	"$BATS_TEST_DIRNAME/../examples/etl.sh" -c "$BATS_TEST_TMPDIR/conf" prod 3>&- &
	etl=$!
	wait_until 30 sql_eq "SELECT COALESCE(SUM(orders), 0) FROM ordpipe.$T" 20000
	kill -TERM "$etl"
	wait "$etl"
	# the last committed cut covers every message: offsets sum to 20000
	db_sql "SELECT positions FROM ordpipe.ordpipe_progress WHERE pipeline = '$T'" >"$BATS_TEST_TMPDIR/pos"
	[ "$(jq '[.[]] | add' "$BATS_TEST_TMPDIR/pos")" -eq 20000 ]
	before=$(db_sql "SELECT rowkey, orders, items FROM ordpipe.$T ORDER BY rowkey" | md5sum)
	END_AT_EOF=1 KCAT_OUT_OPTS=-v run --separate-stderr "$BATS_TEST_DIRNAME/../examples/etl.sh" -c "$BATS_TEST_TMPDIR/conf" prod
	assert_status 0
	[[ "$stderr" == *"kcat-out: 0 messages read"* ]]
	[ "$(db_sql "SELECT rowkey, orders, items FROM ordpipe.$T ORDER BY rowkey" | md5sum)" = "$before" ]
	[ "$(db_sql "SELECT SUM(orders) FROM ordpipe.$T")" -eq 20000 ]
}
