#!/usr/bin/env bats
# The whole pipeline through the ETL and producer scripts of examples/: the
# production flow (test broker, private MariaDB) against the test flow on the
# same orders, scale-out, faults during a run, and a failing stage.

load helpers/common

EX="$BATS_TEST_DIRNAME/../examples"

setup_file() {
	load helpers/common
	load helpers/mysqldb
	db_start
	broker_start -n 1
	printf '[client]\nuser=root\nsocket=%s\n' "$DB_SOCK" >"$BATS_FILE_TMPDIR/my.cnf"
}

teardown_file() {
	broker_stop
	db_stop
}

setup() {
	load helpers/mysqldb
	unset MYSQL_UNIX_PORT # the stages find the server through the config's option file
	T=e$BATS_TEST_NUMBER
	CONF=$BATS_TEST_TMPDIR/conf
	# one set of orders, reproducible: the producer and the fixture share the flags
	ORDERS="--seed $BATS_TEST_NUMBER --start 2026-01-01T00:00:00Z --step 7ms --shops 20"
	cat >"$CONF" <<-EOC
		TOPIC=$T
		TABLE=$T
		GROUP=g$T
		MYSQL_DEFAULTS_FILE=$BATS_FILE_TMPDIR/my.cnf
		KCAT_OUT_OPTS="-X session.timeout.ms=6000 -q"
		MYSQL_REPLACE_OPTS=-q
		RATE=0
		ORDGEN_OPTS="$ORDERS"
		CHECKPOINT_DIR=$BATS_TEST_TMPDIR/ck
	EOC
}

# A test that fails half-way must not leave its scripts and their stages
# running into the next tests: kill what it started, stages first.
teardown() {
	local p ppid
	for p in ${etl:-} ${prod:-} ${a:-} ${b:-}; do
		# still our child? (a PID that was waited for may be reused)
		ppid=$(awk '{ print $4 }' "/proc/$p/stat" 2>/dev/null) || continue
		[ "$ppid" = "$BASHPID" ] || continue
		pkill -KILL -P "$p" 2>/dev/null || true
		kill -KILL "$p" 2>/dev/null || true
	done
	# a SIGSTOPped server (the stalled-sink test) must go on for the next test
	[ -s "$DB_DIR/pid" ] && kill -CONT "$(cat "$DB_DIR/pid")" 2>/dev/null || true
}

# conf LINE...: adds settings to this test's config.
conf() { printf '%s\n' "$@" >>"$CONF"; }

# The table as "rowkey TAB orders TAB items" lines, sorted bytewise.
table() {
	db_sql "SELECT rowkey, orders, items FROM ordpipe.$1" | LC_ALL=C sort
}

# What the test flow gives for N of this test's orders, upserted by rowkey
# (the last row of each rowkey wins, as REPLACE does), in table()'s form.
test_flow_table() {
	# shellcheck disable=SC2086
	ordgen -n "$1" $ORDERS >"$BATS_TEST_TMPDIR/orders"
	FIXTURE=$BATS_TEST_TMPDIR/orders "$EX/etl.sh" -c "$CONF" test >"$BATS_TEST_TMPDIR/rows"
	jq -s -r 'reduce .[] as $r ({}; .[$r.rowkey] = $r) | .[] | [.rowkey, .orders, .items] | @tsv' \
		"$BATS_TEST_TMPDIR/rows" | LC_ALL=C sort
}

# The test broker (librdkafka's mock cluster) does not check the idempotent
# producer's sequence numbers: a batch in flight when the broker goes down is
# appended again when kcat-in retries it, where a real broker drops the copy
# (seen: 7 orders twice, at consecutive offsets of one partition). Tests that
# take the broker down while the producer runs hold the table against the test
# flow on what the topic holds, and check apart that it holds every order.
#
# topic_flow_table N: checks that topic $T holds each of the N orders at least
# once, then prints the test flow's table on the topic's messages (every
# partition to its end; update mode without a watermark: order is free).
topic_flow_table() {
	kcat-out -t "$T" -e -q >"$BATS_TEST_TMPDIR/topic"
	# shellcheck disable=SC2086
	ordgen -n "$1" $ORDERS | jq -r .orderid | LC_ALL=C sort >"$BATS_TEST_TMPDIR/ids.want"
	jq -r .orderid "$BATS_TEST_TMPDIR/topic" | LC_ALL=C sort -u >"$BATS_TEST_TMPDIR/ids.got"
	assert_same "$BATS_TEST_TMPDIR/ids.want" "$BATS_TEST_TMPDIR/ids.got" >&2 || return 1
	echo "# topic $T: $(wc -l <"$BATS_TEST_TMPDIR/topic") messages for $1 orders" >&3
	FIXTURE=$BATS_TEST_TMPDIR/topic "$EX/etl.sh" -c "$CONF" test >"$BATS_TEST_TMPDIR/rows"
	jq -s -r 'reduce .[] as $r ({}; .[$r.rowkey] = $r) | .[] | [.rowkey, .orders, .items] | @tsv' \
		"$BATS_TEST_TMPDIR/rows" | LC_ALL=C sort
}

# live: the producer and the prod ETL of this test's config in the
# background ($prod, $etl); the ETL's stderr in etl.err.
live() {
	"$EX/producer.sh" -c "$CONF" 3>&- &
	prod=$!
	"$EX/etl.sh" -c "$CONF" prod 2>"$BATS_TEST_TMPDIR/etl.err" 3>&- &
	etl=$!
}

# wait_orders TABLE N: waits up to 60 s until the table counts N orders.
wait_orders() {
	wait_until 60 sql_eq "SELECT COALESCE(SUM(orders), 0) FROM ordpipe.$1" "$2" && return 0
	echo "table $1 has $(db_sql "SELECT SUM(orders) FROM ordpipe.$1" 2>&1) orders, expected $2" >&2
	return 1
}

@test "the test flow is winagg on the fixture file, nothing else" {
	ordgen -n 3000 --seed 4 >"$BATS_TEST_TMPDIR/orders"
	conf WINDOW=30s WATERMARK=5s MODE=append
	FIXTURE=$BATS_TEST_TMPDIR/orders run --separate-stderr "$EX/etl.sh" -c "$CONF" test
	assert_status 0
	[ "$output" = "$(winagg --window 30s --watermark 5s -m append "$BATS_TEST_TMPDIR/orders")" ]
	[ "$(echo "$output" | jq -s 'map(.orders) | add')" -eq 3000 ]
}

@test "the ETL script appends to a file it is appended to, and reads the stdin it is given" {
	ordgen -n 500 --seed 2 >"$BATS_TEST_TMPDIR/orders"
	echo first >"$BATS_TEST_TMPDIR/out"
	FIXTURE=$BATS_TEST_TMPDIR/orders "$EX/etl.sh" -c "$CONF" test >>"$BATS_TEST_TMPDIR/out"
	[ "$(head -1 "$BATS_TEST_TMPDIR/out")" = first ]
	[ "$(tail -n +2 "$BATS_TEST_TMPDIR/out" | jq -s 'map(.orders) | add')" -eq 500 ]
	# "-" is winagg's standard input: the script's own, not /dev/null
	FIXTURE=- run --separate-stderr "$EX/etl.sh" -c "$CONF" test <"$BATS_TEST_TMPDIR/orders"
	assert_status 0
	[ "$(echo "$output" | jq -s 'map(.orders) | add')" -eq 500 ]
}

@test "equivalence: the prod flow through Kafka and a consumer group leaves exactly the test flow's rows in MySQL" {
	broker_cmd topic "$T" 4
	conf COUNT=20000 END_AT_EOF=1 LOSSY_RESTART=1
	run --separate-stderr "$EX/producer.sh" -c "$CONF"
	assert_status 0
	run --separate-stderr "$EX/etl.sh" -c "$CONF" prod
	assert_status 0
	table "$T" >"$BATS_TEST_TMPDIR/got"
	test_flow_table 20000 >"$BATS_TEST_TMPDIR/want"
	assert_same "$BATS_TEST_TMPDIR/want" "$BATS_TEST_TMPDIR/got"
	# an independent total: every order counted once
	[ "$(db_sql "SELECT SUM(orders) FROM ordpipe.$T")" -eq 20000 ]
	[ "$(wc -l <"$BATS_TEST_TMPDIR/got")" -gt 100 ]
}

@test "scale-out: 6 partitions keyed by shop, 2 pipelines with 3 partitions each, give the table of 1 pipeline" {
	broker_cmd topic "$T" 6
	conf COUNT=30000 END_AT_EOF=1
	run "$EX/producer.sh" -c "$CONF"
	assert_status 0
	TABLE=${T}_one PARTITIONS=0,1,2,3,4,5 "$EX/etl.sh" -c "$CONF" prod
	# each pipeline its own name and snapshots, as ordpipe-etl@.service does
	CHECKPOINT_DIR=$BATS_TEST_TMPDIR/ck-a PIPELINE=a TABLE=${T}_two PARTITIONS=0,2,4 "$EX/etl.sh" -c "$CONF" prod &
	a=$!
	CHECKPOINT_DIR=$BATS_TEST_TMPDIR/ck-b PIPELINE=b TABLE=${T}_two PARTITIONS=1,3,5 "$EX/etl.sh" -c "$CONF" prod &
	b=$!
	wait "$a"
	wait "$b"
	table "${T}_one" >"$BATS_TEST_TMPDIR/one"
	table "${T}_two" >"$BATS_TEST_TMPDIR/two"
	assert_same "$BATS_TEST_TMPDIR/one" "$BATS_TEST_TMPDIR/two"
	test_flow_table 30000 >"$BATS_TEST_TMPDIR/want"
	assert_same "$BATS_TEST_TMPDIR/want" "$BATS_TEST_TMPDIR/two"
}

@test "scale-out keyed by a field outside the group-by loses counts: why the key must be a subset" {
	broker_cmd topic "$T" 6
	conf COUNT=30000 END_AT_EOF=1 KEY=orderid LOSSY_RESTART=1
	run "$EX/producer.sh" -c "$CONF"
	assert_status 0
	PARTITIONS=0,2,4 "$EX/etl.sh" -c "$CONF" prod &
	a=$!
	PARTITIONS=1,3,5 "$EX/etl.sh" -c "$CONF" prod &
	b=$!
	wait "$a"
	wait "$b"
	# both pipelines hold partial counts of the same (window, shop, region);
	# the last REPLACE wins, so orders go missing
	[ "$(db_sql "SELECT SUM(orders) FROM ordpipe.$T")" -lt 30000 ]
}

@test "faults: MariaDB killed and restarted during a live run, the table ends as the test flow's" {
	broker_cmd topic "$T" 4
	conf COUNT=25000 RATE=5000 PARTITIONS=0,1,2,3 MYSQL_REPLACE_OPTS=
	live
	sleep 2
	db_restart
	wait "$prod"
	wait_orders "$T" 25000
	kill -TERM "$etl"
	wait "$etl"
	# the sink saw the server go and came back to it
	grep -q 'mysql-replace: .*retrying' "$BATS_TEST_TMPDIR/etl.err"
	table "$T" >"$BATS_TEST_TMPDIR/got"
	test_flow_table 25000 >"$BATS_TEST_TMPDIR/want"
	assert_same "$BATS_TEST_TMPDIR/want" "$BATS_TEST_TMPDIR/got"
}

@test "faults: the broker down for 4 seconds during a live run, the table ends as the test flow's" {
	broker_cmd topic "$T" 4
	conf COUNT=25000 RATE=5000 PARTITIONS=0,1,2,3
	live
	sleep 1.5
	broker_cmd down 1
	sleep 4
	broker_cmd up 1
	wait "$prod"
	topic_flow_table 25000 >"$BATS_TEST_TMPDIR/want"
	wait_orders "$T" "$(awk -F'\t' '{ n += $2 } END { print n }' "$BATS_TEST_TMPDIR/want")"
	kill -TERM "$etl"
	wait "$etl"
	table "$T" >"$BATS_TEST_TMPDIR/got"
	assert_same "$BATS_TEST_TMPDIR/want" "$BATS_TEST_TMPDIR/got"
}

@test "a sink that cannot connect stops the ETL with status 1, names the stage and leaves nothing running" {
	broker_cmd topic "$T" 2
	printf '[client]\nuser=root\nsocket=%s\n' "$BATS_TEST_TMPDIR/nosock" >"$BATS_TEST_TMPDIR/bad.cnf"
	conf "MYSQL_DEFAULTS_FILE=$BATS_TEST_TMPDIR/bad.cnf" PARTITIONS=0,1
	LOSSY_RESTART=1 run --separate-stderr "$EX/etl.sh" -c "$CONF" prod
	assert_status 1
	[[ "$stderr" == *"mysql-replace: cannot connect to MySQL"* ]]
	[[ "$stderr" == *"etl: stage 'mysql-replace' failed with status 1; pipeline stopped"* ]]
	! pgrep -f "kcat-out -t $T" >/dev/null
	# checkpointed (the default), the script already fails reading where to resume
	run --separate-stderr "$EX/etl.sh" -c "$CONF" prod
	assert_status 1
	[[ "$stderr" == *"mysql-replace: cannot connect to MySQL"*"etl: cannot read the last checkpoint of pipeline 'g$T'"* ]]
	! pgrep -f "kcat-out -t $T" >/dev/null
}

@test "a bad order stops winagg with status 3: the ETL exits 3 naming winagg, and mails the developer" {
	broker_cmd topic "$T" 1
	printf '%s\n' '{"shopid":1,"region":"SG","count":1,"ts":"2026-01-01T00:00:01Z"}' '{"shopid":1}' |
		kcat -b "$KAFKA_BROKERS" -P -t "$T"
	# a stand-in mailer that records what it was asked to send
	mkdir "$BATS_TEST_TMPDIR/bin"
	printf '#!/bin/sh\n{ echo "to: $*"; cat; } >%s\n' "$BATS_TEST_TMPDIR/mail" >"$BATS_TEST_TMPDIR/bin/mail"
	chmod +x "$BATS_TEST_TMPDIR/bin/mail"
	conf PARTITIONS=0
	PATH="$BATS_TEST_TMPDIR/bin:$PATH" run --separate-stderr "$EX/etl.sh" -c "$CONF" prod dev@example.invalid
	assert_status 3
	[[ "$stderr" == *"winagg: <stdin>:3: no time field 'ts'"* ]] # line 1: kcat-out's _assigned
	[[ "$stderr" == *"etl: stage 'winagg' failed with status 3"* ]]
	grep -q 'to: -s ordpipe ETL failed: stage .winagg. exited with status 3 dev@example.invalid' "$BATS_TEST_TMPDIR/mail"
	! pgrep -f "kcat-out -t $T" >/dev/null
	# the good order before it was committed, nothing after it invented
	[ "$(db_sql "SELECT SUM(orders) FROM ordpipe.$T")" = 1 ]
}

@test "bad usage of the scripts exits 2 before anything runs" {
	run "$EX/etl.sh" nonsense
	assert_status 2
	run "$EX/etl.sh" -c /nonexistent prod
	assert_status 2
	run "$EX/etl.sh" test
	assert_status 2
	[[ "$output" == *"the test flow needs FIXTURE"* ]]
	run "$EX/producer.sh" extra
	assert_status 2
}

@test "--stats: every stage of a live run writes JSON counter lines that add up" {
	broker_cmd topic "$T" 2
	# the crash-safe flow (the default): checkpoints tie the stages together
	conf COUNT=3000 RATE=3000 STATS=300ms PARTITIONS=0,1
	conf "KCAT_OUT_OPTS=\"-X session.timeout.ms=6000 -q --metrics $BATS_TEST_TMPDIR/kcat-out.prom\"" \
		"WINAGG_OPTS=\"--metrics $BATS_TEST_TMPDIR/winagg.prom\"" \
		"MYSQL_REPLACE_OPTS=\"-q --metrics $BATS_TEST_TMPDIR/mysql-replace.prom\""
	run --separate-stderr "$EX/producer.sh" -c "$CONF"
	assert_status 0
	echo "$stderr" | grep '^{' >"$BATS_TEST_TMPDIR/pstats"
	# the last line of each producer stage: 3000 orders out, 3000 delivered
	[ "$(jq -s 'map(select(.prog == "ordgen")) | last | .out' "$BATS_TEST_TMPDIR/pstats")" -le 3000 ]
	jq -se 'map(select(.prog == "kcat-in")) | length > 0 and (last | has("queue_depth") and has("delivery_failures"))' \
		"$BATS_TEST_TMPDIR/pstats"
	"$EX/etl.sh" -c "$CONF" prod 2>"$BATS_TEST_TMPDIR/err" 3>&- &
	etl=$!
	wait_orders "$T" 3000 || { cat "$BATS_TEST_TMPDIR/err" >&2; false; }
	sleep 1 # one more period: lines after the last row
	kill -TERM "$etl"
	wait "$etl"
	grep '^{' "$BATS_TEST_TMPDIR/err" >"$BATS_TEST_TMPDIR/stats"
	last() { jq -sc --arg p "$1" 'map(select(.prog == $p)) | last' "$BATS_TEST_TMPDIR/stats"; }
	# kcat-out: every message read, no lag left on either partition
	last kcat-out | jq -e --arg t "$T" '.in == 3000 and .out == 3000 and .lag_total == 0 and
		(.lag | keys) == [($t + "/0"), ($t + "/1")]'
	# winagg: every order in, live groups held (no watermark), no watermark
	last winagg | jq -e '.in == 3000 and .final == true and .watermark == null and .late_rows == 0'
	# while it ran it held groups (no watermark); its last line is after end of input
	jq -se 'map(select(.prog == "winagg" and .final != true)) | last | .live_groups > 0' "$BATS_TEST_TMPDIR/stats"
	# every program ended with a final line
	for p in kcat-out winagg mysql-replace; do last "$p" | jq -e '.final == true'; done
	# mysql-replace: everything winagg wrote was committed; latency measured
	w=$(last winagg | jq .out)
	# (its input has winagg's checkpoint records too, one per snapshot)
	c=$(last winagg | jq .checkpoints)
	last mysql-replace | jq -e --argjson w "$w" --argjson c "$c" '.in == $w + $c and .out <= $w and .pending == 0 and .batches > 0'
	# the end-to-end delay: behind the last committed checkpoint's event time
	# (ordgen's times start now and advance 1 ms an order: at most a few s)
	last mysql-replace | jq -e '.checkpoints > 0 and (.event_delay_ms | type) == "number" and
		.event_time_committed != null'
	# kcat-out's offsets end where the partitions end; the phases of each stage
	last kcat-out | jq -e '[.offsets[].end] | add == 3000'
	last kcat-out | jq -e '[.offsets[] | .end == .latest] | all'
	for p in kcat-out winagg mysql-replace; do
		last "$p" | jq -e '(.duration_ms | length) >= 4 and .processed_rate >= 0'
	done
	# etl.sh's table: the window and the count are NOT NULL, an index on window_start
	db_sql "SHOW CREATE TABLE ordpipe.$T" | cut -f2 | sed 's/\\n/\n/g' >"$BATS_TEST_TMPDIR/show"
	grep -Fx '  `orders` bigint(20) NOT NULL,' "$BATS_TEST_TMPDIR/show"
	grep -Fx '  `window_start` datetime(3) NOT NULL,' "$BATS_TEST_TMPDIR/show"
	grep -Fx '  `items` bigint(20) DEFAULT NULL,' "$BATS_TEST_TMPDIR/show"
	grep -Fq 'KEY `window_start` (`window_start`)' "$BATS_TEST_TMPDIR/show"
	# every line is one JSON object with the common fields
	jq -e 'has("prog") and has("time") and has("in_rate") and has("out_rate")' "$BATS_TEST_TMPDIR/stats" >/dev/null
	# the three stages of the run share one run id; the producer's is another
	[ "$(jq -s 'map(.run) | unique | length' "$BATS_TEST_TMPDIR/stats")" -eq 1 ]
	[ "$(jq -sr 'map(.run) | unique | .[0]' "$BATS_TEST_TMPDIR/stats")" != "$(jq -sr 'map(.run) | unique | .[0]' "$BATS_TEST_TMPDIR/pstats")" ]
	[ "$(jq -s 'map(.run) | unique | length' "$BATS_TEST_TMPDIR/pstats")" -eq 1 ]
	# --metrics: each stage's file is valid, labelled with the pipeline, and
	# every metric the example alert rules and dashboard use is among them
	for p in kcat-out winagg mysql-replace; do
		python3 "$BATS_TEST_DIRNAME/helpers/prom_check.py" "$BATS_TEST_TMPDIR/$p.prom" >>"$BATS_TEST_TMPDIR/samples"
	done
	grep -q "^ordpipe_winagg_in_total{pipeline=\"g$T\"} 3000$" "$BATS_TEST_TMPDIR/samples"
	sed 's/{.*//' "$BATS_TEST_TMPDIR/samples" | sort -u >"$BATS_TEST_TMPDIR/names"
	# (a time is absent while it is null: this run has no watermark, and
	# winagg.bats checks ordpipe_winagg_watermark_timestamp_seconds)
	grep -oh 'ordpipe_[a-z_]*' "$EX/monitoring/ordpipe-alerts.yml" "$EX/monitoring/grafana-ordpipe.json" |
		grep -v '_timestamp_seconds$' | sort -u >"$BATS_TEST_TMPDIR/used"
	[ "$(wc -l <"$BATS_TEST_TMPDIR/used")" -gt 8 ]
	comm -23 "$BATS_TEST_TMPDIR/used" "$BATS_TEST_TMPDIR/names" >"$BATS_TEST_TMPDIR/missing"
	[ ! -s "$BATS_TEST_TMPDIR/missing" ] || { cat "$BATS_TEST_TMPDIR/missing" >&2; false; }
}

@test "checkpointed: MariaDB restarted, the broker down, then kill -9 of every stage; the restart ends with the test flow's table" {
	broker_cmd topic "$T" 4
	conf COUNT=25000 RATE=5000 PIPELINE="$T" CHECKPOINT_DIR="$BATS_TEST_TMPDIR/ck" CHECKPOINT_INTERVAL=200ms
	live
	sleep 1.5
	db_restart
	sleep 1
	broker_cmd down 1
	sleep 3
	broker_cmd up 1
	sleep 0.5
	# the whole ETL dies at once, as on a power cut
	stages=$(pgrep -P "$etl")
	kill -KILL "$etl" $stages
	wait "$etl" || true
	wait "$prod"
	[ -n "$(db_sql "SELECT checkpoint_id FROM ordpipe.ordpipe_progress WHERE pipeline = '$T'")" ]
	END_AT_EOF=1 run --separate-stderr "$EX/etl.sh" -c "$CONF" prod
	assert_status 0
	table "$T" >"$BATS_TEST_TMPDIR/got"
	topic_flow_table 25000 >"$BATS_TEST_TMPDIR/want"
	assert_same "$BATS_TEST_TMPDIR/want" "$BATS_TEST_TMPDIR/got"
}

@test "checkpointed: a sink stalled many snapshots behind (MariaDB frozen), then kill -9 of every stage; the restart still finds the snapshot it committed" {
	broker_cmd topic "$T" 2
	ck=$BATS_TEST_TMPDIR/ck
	conf COUNT=20000 RATE=5000 PIPELINE="$T" CHECKPOINT_DIR="$ck" CHECKPOINT_INTERVAL=50ms \
		'WINAGG_OPTS="--checkpoint-keep 2"'
	live
	wait_until 10 sql_some "SELECT checkpoint_id FROM ordpipe.ordpipe_progress WHERE pipeline = '$T'"
	# the server hangs (no error, no reconnect): the sink waits in a commit
	# while winagg goes on taking snapshots
	kill -STOP "$(cat "$DB_DIR/pid")"
	# more snapshots than --checkpoint-keep, waited for rather than slept
	# on (a sanitized winagg takes fewer in a fixed time)
	wait_until 20 snaps_over 3 "$ck" || true
	snaps=$(find "$ck" -name 'ckpt-*' ! -name '*.tmp' | wc -l)
	stages=$(pgrep -P "$etl")
	kill -KILL "$etl" $stages
	kill -CONT "$(cat "$DB_DIR/pid")"
	wait "$etl" || true
	wait "$prod"
	# more than --checkpoint-keep: those from the committed one on were kept
	[ "$snaps" -gt 3 ]
	id=$(db_sql "SELECT checkpoint_id FROM ordpipe.ordpipe_progress WHERE pipeline = '$T'")
	[ -s "$ck/$(printf 'ckpt-%020d' "$id")" ]
	END_AT_EOF=1 run --separate-stderr "$EX/etl.sh" -c "$CONF" prod
	assert_status 0
	[[ "$stderr" != *"instead of"* ]] # restored the committed snapshot itself
	table "$T" >"$BATS_TEST_TMPDIR/got"
	test_flow_table 20000 >"$BATS_TEST_TMPDIR/want"
	assert_same "$BATS_TEST_TMPDIR/want" "$BATS_TEST_TMPDIR/got"
}

# snaps_over N DIR: DIR holds more than N finished snapshots.
snaps_over() {
	[ "$(find "$2" -name 'ckpt-*' ! -name '*.tmp' | wc -l)" -gt "$1" ]
}

# produce_orders N [SKIP]: orders SKIP+1 .. SKIP+N of this test's stream
# into its topic, keyed by shop (kcat-in, as the producer does).
produce_orders() {
	# shellcheck disable=SC2086
	ordgen -n "$(($1 + ${2:-0}))" $ORDERS | tail -n +"$((${2:-0} + 1))" |
		kcat-in -t "$T" -k shopid --ts-field ts -q
}

@test "a backlog on 8 partitions read after the fact, with a watermark: no row late, the test flow's table (group and checkpointed)" {
	broker_cmd topic "$T" 8
	ORDERS="$ORDERS --disorder 5s"
	conf "ORDGEN_OPTS=\"$ORDERS\"" WINDOW=60s WATERMARK=30s END_AT_EOF=1 'WINAGG_OPTS=-v'
	produce_orders 60000
	test_flow_table 60000 >"$BATS_TEST_TMPDIR/want"
	for lossy in 1 0; do
		TABLE=${T}_$lossy LOSSY_RESTART=$lossy run --separate-stderr "$EX/etl.sh" -c "$CONF" prod
		assert_status 0
		[[ "$stderr" == *"winagg: 60000 rows read, "*", 0 late rows (0 late windows),"* ]]
		table "${T}_$lossy" >"$BATS_TEST_TMPDIR/got"
		assert_same "$BATS_TEST_TMPDIR/want" "$BATS_TEST_TMPDIR/got"
	done
}

@test "downtime: the ETL stopped, more produced on 8 partitions, restarted: it resumes, no row late, the test flow's table" {
	broker_cmd topic "$T" 8
	ORDERS="$ORDERS --disorder 5s"
	conf "ORDGEN_OPTS=\"$ORDERS\"" WINDOW=60s WATERMARK=30s END_AT_EOF=1 'WINAGG_OPTS=-v'
	produce_orders 30000
	run --separate-stderr "$EX/etl.sh" -c "$CONF" prod
	assert_status 0
	produce_orders 30000 30000
	run --separate-stderr "$EX/etl.sh" -c "$CONF" prod
	assert_status 0
	[[ "$stderr" == *"etl: pipeline 'g$T' resumes from checkpoint "* ]]
	[[ "$stderr" == *"winagg: 30000 rows read, "*", 0 late rows (0 late windows),"* ]]
	table "$T" >"$BATS_TEST_TMPDIR/got"
	test_flow_table 60000 >"$BATS_TEST_TMPDIR/want"
	assert_same "$BATS_TEST_TMPDIR/want" "$BATS_TEST_TMPDIR/got"
	# lag tools see the sink's progress under the group GROUP. With -e,
	# kcat-out ends before the sink's last commit, so it reports that cut
	# at its next start: a run with nothing new, then the group is at the end
	run --separate-stderr "$EX/etl.sh" -c "$CONF" prod
	assert_status 0
	run_split kcat-out -t "$T" -G "g$T" -o stored -e -X session.timeout.ms=6000 -X heartbeat.interval.ms=500
	assert_status 0
	[ -z "$output" ]
}

@test "an at-least-once producer re-sends 1000 orders after 5000 others: --dedup through the checkpointed ETL and a restart counts each once" {
	broker_cmd topic "$T" 8
	conf WINDOW=60s WATERMARK=30s END_AT_EOF=1 'WINAGG_OPTS="--dedup orderid -v"'
	produce_orders 5000
	run --separate-stderr "$EX/etl.sh" -c "$CONF" prod
	assert_status 0
	# the first 1000 again (same partitions: keyed by shop), then 1000 new
	# shellcheck disable=SC2086
	ordgen -n 6000 $ORDERS | sed -n '1,1000p;5001,6000p' | kcat-in -t "$T" -k shopid --ts-field ts -q
	run --separate-stderr "$EX/etl.sh" -c "$CONF" prod
	assert_status 0
	[[ "$stderr" == *"etl: pipeline 'g$T' resumes from checkpoint "* ]]
	[[ "$stderr" == *"winagg: 2000 rows read, "* ]]
	[[ "$stderr" == *"winagg: 1000 duplicates dropped"* ]]
	table "$T" >"$BATS_TEST_TMPDIR/got"
	test_flow_table 6000 >"$BATS_TEST_TMPDIR/want"
	assert_same "$BATS_TEST_TMPDIR/want" "$BATS_TEST_TMPDIR/got"
}

@test "sessions through the checkpointed ETL on 8 partitions: a backlog, kill -9 mid-run, live input after: the table is the model's sessions, no stale row" {
	broker_cmd topic "$T" 8
	# shops' orders up to 1 s out of order, a 5 s watermark: no row is late
	# in any batching, so the table is the plain sessionization of all orders
	ORDERS="--seed 5 --start 2026-01-01T00:00:00Z --step 20ms --shops 10 --disorder 1s"
	conf SESSION=700ms WATERMARK=5s 'WINAGG_OPTS=-v'
	produce_orders 20000
	# a backlog read after the fact, the run killed -9 part way
	"$EX/etl.sh" -c "$CONF" prod 2>"$BATS_TEST_TMPDIR/err1" 3>&- &
	etl=$!
	wait_until 30 sql_some "SELECT checkpoint_id FROM ordpipe.ordpipe_progress WHERE pipeline = 'g$T'"
	pkill -KILL -P "$etl"; kill -KILL "$etl" 2>/dev/null || true; wait "$etl" || true
	# restarted, and the input pauses and comes again while it runs
	"$EX/etl.sh" -c "$CONF" prod 2>"$BATS_TEST_TMPDIR/err2" 3>&- &
	etl=$!
	sleep 1
	produce_orders 20000 20000
	ordgen -n 40000 $ORDERS >"$BATS_TEST_TMPDIR/orders"
	python3 - "$BATS_TEST_TMPDIR/orders" >"$BATS_TEST_TMPDIR/model-in" <<-'PY'
		import datetime, json, sys
		for l in open(sys.argv[1]):
		    o = json.loads(l)
		    t = datetime.datetime.strptime(o["ts"], "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=datetime.timezone.utc)
		    print(json.dumps({"ts": round(t.timestamp() * 1000), "g": [o["shopid"], o["region"]], "v": o["count"]}))
	PY
	python3 "$BATS_TEST_DIRNAME/helpers/session_model.py" --gap 700 --delay 5000 --batch 1 <"$BATS_TEST_TMPDIR/model-in" |
		awk -F'\t' '{ print $1 "\t" $2 "\t" $3 "\t" $4 "\t" $5 }' | LC_ALL=C sort >"$BATS_TEST_TMPDIR/want"
	[ "$(wc -l <"$BATS_TEST_TMPDIR/want")" -gt 10000 ]
	# every order in the table, then stop the run
	wait_orders "$T" 40000 || { tail "$BATS_TEST_TMPDIR/err2" >&2; false; }
	kill -TERM "$etl"
	wait "$etl"
	db_sql "SELECT DATE_FORMAT(window_start, '%Y-%m-%dT%H:%i:%s.%fZ'), DATE_FORMAT(window_end, '%Y-%m-%dT%H:%i:%s.%fZ'), CONCAT('[', shopid, ',\"', region, '\"]'), orders, items FROM ordpipe.$T" |
		sed -E 's/\.([0-9]{3})[0-9]{3}Z/.\1Z/g' | LC_ALL=C sort >"$BATS_TEST_TMPDIR/got"
	assert_same "$BATS_TEST_TMPDIR/want" "$BATS_TEST_TMPDIR/got"
	# merges made retractions, and the sink applied them (no stale row above)
	n=$(grep -ho '[0-9]* retractions written' "$BATS_TEST_TMPDIR/err2" | cut -d' ' -f1)
	echo "# retractions after the restart: $n" >&3
	[ "$n" -gt 0 ]
}

# sliding_flow MODE: sliding windows (panes) through the checkpointed ETL
# on 8 partitions: a backlog, kill -9, a restart with live input, a stop,
# the rest read to the end; the table against each window's orders.
sliding_flow() {
	broker_cmd topic "$T" 8
	# disorder 1 s within a shop, a 5 s watermark: no row is late, so each
	# window holds exactly the orders of its minute
	ORDERS="--seed 8 --start 2026-01-01T00:00:00Z --step 5ms --shops 10 --disorder 1s"
	conf WINDOW=60s MODE="$1" WATERMARK=5s 'WINAGG_OPTS="-s 10s -v"'
	produce_orders 20000
	# a backlog read after the fact, the run killed -9 part way
	"$EX/etl.sh" -c "$CONF" prod 2>"$BATS_TEST_TMPDIR/err1" 3>&- &
	etl=$!
	wait_until 30 sql_some "SELECT checkpoint_id FROM ordpipe.ordpipe_progress WHERE pipeline = 'g$T'" || { cat "$BATS_TEST_TMPDIR/err1" >&2; false; }
	pkill -KILL -P "$etl"; kill -KILL "$etl" 2>/dev/null || true; wait "$etl" || true
	# restarted live, more orders while it runs, then stopped
	"$EX/etl.sh" -c "$CONF" prod 2>"$BATS_TEST_TMPDIR/err2" 3>&- &
	etl=$!
	sleep 1
	produce_orders 10000 20000
	sleep 2
	kill -TERM "$etl"
	wait "$etl"
	grep -q 'panes of 10000 ms' "$BATS_TEST_TMPDIR/err2" # the restored run kept panes
	# the rest, read to the end of the topic: every window closes
	produce_orders 10000 30000
	conf END_AT_EOF=1
	run --separate-stderr "$EX/etl.sh" -c "$CONF" prod
	assert_status 0
	[[ "$stderr" == *", 0 late rows (0 late windows),"* ]]
	ordgen -n 40000 $ORDERS >"$BATS_TEST_TMPDIR/orders"
	# the model: every [start, start + 60 s) with start a multiple of 10 s
	# that holds t, per shop and region: orders and the sum of count
	python3 - "$BATS_TEST_TMPDIR/orders" >"$BATS_TEST_TMPDIR/want" <<-'PY'
		import collections, datetime, json, sys
		agg = collections.defaultdict(lambda: [0, 0])
		for l in open(sys.argv[1]):
		    o = json.loads(l)
		    t = datetime.datetime.strptime(o["ts"], "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=datetime.timezone.utc)
		    ms = round(t.timestamp() * 1000)
		    s = ms - ms % 10000
		    while s > ms - 60000:
		        a = agg[(s, o["shopid"], o["region"])]
		        a[0] += 1
		        a[1] += o["count"]
		        s -= 10000
		for (s, shop, region), (n, items) in agg.items():
		    iso = datetime.datetime.fromtimestamp(s / 1000, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S")
		    print("%s\t%s\t%s\t%d\t%d" % (iso, shop, region, n, items))
	PY
	LC_ALL=C sort -o "$BATS_TEST_TMPDIR/want" "$BATS_TEST_TMPDIR/want"
	[ "$(wc -l <"$BATS_TEST_TMPDIR/want")" -gt 1000 ]
	db_sql "SELECT DATE_FORMAT(window_start, '%Y-%m-%dT%H:%i:%s'), shopid, region, orders, items FROM ordpipe.$T" |
		LC_ALL=C sort >"$BATS_TEST_TMPDIR/got"
	assert_same "$BATS_TEST_TMPDIR/want" "$BATS_TEST_TMPDIR/got"
}

@test "sliding windows in append mode (panes) through the checkpointed ETL on 8 partitions: a backlog, kill -9, live input, a stop, the rest to the end: each window's counts from the orders" {
	sliding_flow append
}

@test "sliding windows in update mode (panes) through the same flow: each window's counts from the orders" {
	sliding_flow update
}

@test "count_distinct, percentile_approx, first and last of strings through the checkpointed ETL on 8 partitions, a kill -9 and a restart: the values computed from the orders" {
	broker_cmd topic "$T" 8
	ORDERS="$ORDERS --disorder 5s"
	conf WINDOW=60s WATERMARK=30s END_AT_EOF=1 \
		'WINAGG_OPTS="-a orders=count -a d=count_distinct(itemid) -a p=percentile_approx(count,0.5) -a f=first(orderid) -a l=last(orderid)"'
	produce_orders 20000
	# a backlog read after the fact by a run that stays live, killed -9 once
	# a checkpoint is committed; more orders; a restart to the end
	END_AT_EOF=0 "$EX/etl.sh" -c "$CONF" prod 2>"$BATS_TEST_TMPDIR/err1" 3>&- &
	etl=$!
	wait_until 30 sql_some "SELECT checkpoint_id FROM ordpipe.ordpipe_progress WHERE pipeline = 'g$T'"
	pkill -KILL -P "$etl" || true
	kill -KILL "$etl" || true
	wait "$etl" || true
	produce_orders 10000 20000
	run --separate-stderr "$EX/etl.sh" -c "$CONF" prod
	assert_status 0
	[[ "$stderr" == *"etl: pipeline 'g$T' resumes from checkpoint "* ]]
	# the same orders, aggregated by an independent script: per 60 s window,
	# shop and region the count, distinct items, the count at rank
	# ceil(n/2), and the orderids of the earliest and the latest time (a
	# tie: the first and the last read; a shop's orders share a partition)
	ordgen -n 30000 $ORDERS >"$BATS_TEST_TMPDIR/orders"
	python3 - "$BATS_TEST_TMPDIR/orders" >"$BATS_TEST_TMPDIR/want" <<-'PY'
		import datetime, json, math, sys
		g = {}
		for l in open(sys.argv[1]):
		    o = json.loads(l)
		    t = datetime.datetime.strptime(o["ts"], "%Y-%m-%dT%H:%M:%S.%fZ")
		    w = t.replace(second=0, microsecond=0)
		    k = (w.strftime("%Y-%m-%d %H:%M:%S"), o["shopid"], o["region"])
		    a = g.setdefault(k, {"n": 0, "items": set(), "counts": [], "f": None, "l": None})
		    a["n"] += 1; a["items"].add(o["itemid"]); a["counts"].append(o["count"])
		    if a["f"] is None or t < a["f"][0]: a["f"] = (t, o["orderid"])
		    if a["l"] is None or t >= a["l"][0]: a["l"] = (t, o["orderid"])
		for k in sorted(g):
		    a = g[k]; c = sorted(a["counts"])
		    print("%s\t%d\t%s\t%d\t%d\t%d\t%s\t%s" % (k[0], k[1], k[2], a["n"], len(a["items"]),
		          c[math.ceil(len(c) / 2) - 1], a["f"][1], a["l"][1]))
	PY
	db_sql "SELECT DATE_FORMAT(window_start, '%Y-%m-%d %H:%i:%s'), shopid, region, orders, d, p, f, l FROM ordpipe.$T ORDER BY 1, 2, 3" |
		LC_ALL=C sort >"$BATS_TEST_TMPDIR/got"
	LC_ALL=C sort -o "$BATS_TEST_TMPDIR/want" "$BATS_TEST_TMPDIR/want"
	[ "$(wc -l <"$BATS_TEST_TMPDIR/want")" -gt 300 ]
	assert_same "$BATS_TEST_TMPDIR/want" "$BATS_TEST_TMPDIR/got"
}

@test "a quiet topic: 3 s after the producer stops, MySQL holds every order (the trailing checkpoint)" {
	broker_cmd topic "$T" 4
	conf COUNT=20000 RATE=10000 CHECKPOINT_INTERVAL=1s
	"$EX/etl.sh" -c "$CONF" prod 2>"$BATS_TEST_TMPDIR/etl.err" 3>&- &
	etl=$!
	run --separate-stderr "$EX/producer.sh" -c "$CONF"
	assert_status 0
	sleep 3
	got=$(db_sql "SELECT COALESCE(SUM(orders), 0) FROM ordpipe.$T")
	kill -TERM "$etl"
	wait "$etl"
	[ "$got" -eq 20000 ]
}

@test "crash-safe by default: kill -9 of winagg in a live run without any checkpoint setting, rerun: the test flow's table" {
	broker_cmd topic "$T" 4
	conf COUNT=30000 RATE=10000
	live
	# once rows are committed, while orders still flow
	wait_until 20 sql_gt "SELECT COALESCE(SUM(orders), 0) FROM ordpipe.$T" 0
	pkill -KILL -P "$etl" -x winagg
	wait "$etl" || true
	wait "$prod"
	END_AT_EOF=1 run --separate-stderr "$EX/etl.sh" -c "$CONF" prod
	assert_status 0
	table "$T" >"$BATS_TEST_TMPDIR/got"
	test_flow_table 30000 >"$BATS_TEST_TMPDIR/want"
	assert_same "$BATS_TEST_TMPDIR/want" "$BATS_TEST_TMPDIR/got"
}

@test "the config file is data: KAFKA_BROKERS in it reaches the programs; code, a broken line or an unknown key is refused with FILE:LINE" {
	broker_cmd topic "$T" 2
	conf COUNT=500 END_AT_EOF=1 "KAFKA_BROKERS=$KAFKA_BROKERS" 'TOPIC="'"$T"'"'
	( unset KAFKA_BROKERS; "$EX/producer.sh" -c "$CONF" ) || false
	( unset KAFKA_BROKERS; "$EX/etl.sh" -c "$CONF" prod ) 2>/dev/null || false
	[ "$(db_sql "SELECT SUM(orders) FROM ordpipe.$T")" -eq 500 ]
	n=$(wc -l <"$CONF")
	cp "$CONF" "$BATS_TEST_TMPDIR/base"
	for bad in 'TABLE=agg$(touch '"$BATS_TEST_TMPDIR"'/x)' 'WINDOW=10 m' 'WINDOWS=10m' 'just words' 'TABLE="a$b"'; do
		cp "$BATS_TEST_TMPDIR/base" "$CONF"
		printf '%s\n' "$bad" >>"$CONF"
		FIXTURE=/dev/null run --separate-stderr "$EX/etl.sh" -c "$CONF" test
		assert_status 2
		[[ "$stderr" == "etl: $CONF:$((n + 1)): "* ]]
		run --separate-stderr "$EX/producer.sh" -c "$CONF"
		assert_status 2
		[[ "$stderr" == "producer: $CONF:$((n + 1)): "* ]]
	done
	[ ! -e "$BATS_TEST_TMPDIR/x" ]
	# the shipped example config is in that form
	FIXTURE=/dev/null run --separate-stderr "$EX/etl.sh" -c "$EX/ordpipe.env" test
	assert_status 0
}

@test "the scripts name a program missing from PATH, and refuse a LOSSY_RESTART that is not 0 or 1" {
	FIXTURE=/dev/null PATH=/usr/bin:/bin run --separate-stderr "$EX/etl.sh" -c "$CONF" test
	assert_status 1
	[[ "$stderr" == "etl: program 'winagg' not found on PATH (/usr/bin:/bin)" ]]
	PATH=/usr/bin:/bin run --separate-stderr "$EX/producer.sh" -c "$CONF"
	assert_status 1
	[[ "$stderr" == "producer: program 'ordgen' not found on PATH (/usr/bin:/bin)" ]]
	LOSSY_RESTART=yes run --separate-stderr "$EX/etl.sh" -c "$CONF" prod
	assert_status 2
	[[ "$stderr" == *"etl: LOSSY_RESTART is 0 or 1, not 'yes'"* ]]
}

@test "a poison pill (shopid 1e400) through the checkpointed ETL with rejects files: its row is rejected with the server's reason, the rest lands, twice over" {
	broker_cmd topic "$T" 2
	# shellcheck disable=SC2086
	{ ordgen -n 2000 $ORDERS; echo '{"orderid":"x","itemid":1,"shopid":1e400,"region":"SG","count":1,"ts":"2026-01-01T00:00:05Z"}'; } >"$BATS_TEST_TMPDIR/orders"
	kcat-in -t "$T" -k shopid --ts-field ts -q <"$BATS_TEST_TMPDIR/orders"
	conf END_AT_EOF=1 "MYSQL_REPLACE_OPTS=\"-q --rejects $BATS_TEST_TMPDIR/rej\""
	for run in 1 2; do
		run --separate-stderr "$EX/etl.sh" -c "$CONF" prod
		assert_status 0
	done
	# the order's window row for shop 1e400 is refused, every other order counted once
	[ "$(db_sql "SELECT SUM(orders) FROM ordpipe.$T")" -eq 2000 ]
	jq -r .reason "$BATS_TEST_TMPDIR/rej" | sort -u >"$BATS_TEST_TMPDIR/reasons"
	grep -Eq "^MySQL error 1367: Illegal double '1e400' value|is not a whole number" "$BATS_TEST_TMPDIR/reasons"
	[ "$(jq -r '.text | fromjson | .orders' "$BATS_TEST_TMPDIR/rej" | sort -u)" = 1 ]
}

@test "live, append mode: a partition that never sends goes idle and stops holding windows open (rows land while the ETL runs)" {
	broker_cmd topic "$T" 2
	conf WINDOW=10s WATERMARK=2s MODE=append 'WINAGG_OPTS="--idle-timeout 1s"'
	"$EX/etl.sh" -c "$CONF" prod 2>"$BATS_TEST_TMPDIR/etl.err" 3>&- &
	etl=$!
	# every order into partition 0; partition 1 is assigned and stays empty
	# shellcheck disable=SC2086
	ordgen -n 2000 $ORDERS | kcat-in -t "$T" -p 0 -q
	# 2000 orders at 7 ms span 14 s of event time: [0,10) and earlier windows
	# close by partition 0's watermark once partition 1 is idle
	wait_until 30 sql_gt "SELECT COALESCE(SUM(orders), 0) FROM ordpipe.$T" 0 ||
		{ cat "$BATS_TEST_TMPDIR/etl.err" >&2; false; }
	! gone "$etl" # still live: the windows closed without end of input
	got=$(db_sql "SELECT SUM(orders) FROM ordpipe.$T")
	kill -TERM "$etl"
	wait "$etl"
	# only the closed window [0,10), complete: every order before 10 s of event time
	# shellcheck disable=SC2086
	want=$(ordgen -n 2000 $ORDERS | jq -s '[.[] | select(.ts < "2026-01-01T00:00:10")] | length')
	[ "$got" -eq "$want" ] && [ "$want" -gt 1000 ]
}
