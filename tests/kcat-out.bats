#!/usr/bin/env bats
# kcat-out against the test broker; messages are produced by Debian's kcat
# (an independent client) or by kcat-in, whose own suite checks it.

load helpers/common

setup_file() {
	load helpers/common
	broker_start -n 3
}

teardown_file() {
	broker_stop
}

# Low timeouts so that group joins and rejoins are quick on the test broker.
GROUPX=(-X session.timeout.ms=6000 -X heartbeat.interval.ms=500)

# kput TOPIC PARTITION: produces stdin's lines with Debian's kcat.
kput() {
	kcat -b "$KAFKA_BROKERS" -P -t "$1" -p "$2"
}

@test "payloads come out as compact lines, pretty-printed ones re-serialised" {
	broker_cmd topic plain 1
	printf '%s\n' '{"a":1}' '{ "b" : [1, 2],  "s": "x  y" }' '{"c":{"d":null}}' | kput plain 0
	# A pretty-printed message spanning lines, sent as one message (-D @).
	printf '{\n  "e": "z",\n  "f": 2\n}@' | kcat -b "$KAFKA_BROKERS" -P -t plain -p 0 -D @
	run_split kcat-out -t plain -e
	assert_status 0
	[ "$output" = "$(printf '%s\n' '{"a":1}' '{"b":[1,2],"s":"x  y"}' '{"c":{"d":null}}' '{"e":"z","f":2}')" ]
}

@test "100 000 orders round-trip through kcat-in and kcat-out: same multiset, no loss, no duplicate" {
	broker_cmd topic rt 4
	ordgen -n 100000 --seed 9 >"$BATS_TEST_TMPDIR/in"
	kcat-in -t rt -k orderid <"$BATS_TEST_TMPDIR/in"
	run_split kcat-out -t rt -e
	assert_status 0
	echo "$output" | sort >"$BATS_TEST_TMPDIR/got"
	sort "$BATS_TEST_TMPDIR/in" >"$BATS_TEST_TMPDIR/want"
	[ "$(wc -l <"$BATS_TEST_TMPDIR/got")" -eq 100000 ]
	assert_same "$BATS_TEST_TMPDIR/want" "$BATS_TEST_TMPDIR/got"
}

@test "-J wraps each message: topic, partition, offset, timestamp, key, headers, payload as JSON" {
	broker_cmd topic env 2
	printf '%s\n' 'k1:{"n":1}' 'k2:{"n":2}' | kcat -b "$KAFKA_BROKERS" -P -t env -p 1 -K : -H h=v -H e=
	echo '{"n":3}' | kput env 0
	run_split kcat-out -t env -J -e
	assert_status 0
	echo "$output" | jq -c 'del(.timestamp)' | sort >"$BATS_TEST_TMPDIR/got"
	sort >"$BATS_TEST_TMPDIR/want" <<-'EOF2'
		{"topic":"env","partition":1,"offset":0,"key":"k1","headers":{"h":"v","e":""},"payload":{"n":1}}
		{"topic":"env","partition":1,"offset":1,"key":"k2","headers":{"h":"v","e":""},"payload":{"n":2}}
		{"topic":"env","partition":0,"offset":0,"key":null,"headers":null,"payload":{"n":3}}
	EOF2
	assert_same "$BATS_TEST_TMPDIR/want" "$BATS_TEST_TMPDIR/got"
	# The timestamp is the one Debian's kcat reads for the same message.
	[ "$(echo "$output" | jq -r 'select(.partition == 0) | .timestamp')" = "$(kread env -p 0 -f '%T\n')" ]
}

@test "-J keeps a key that is not UTF-8 as \\u00XX escapes" {
	broker_cmd topic binkey 1
	printf 'a\377b:{"n":1}\n' | kcat -b "$KAFKA_BROKERS" -P -t binkey -p 0 -K :
	run kcat-out -t binkey -J -e
	[[ "$output" == *'"key":"a\u00ffb"'* ]]
	echo "$output" | jq -e . >/dev/null
}

@test "-o: beginning, end, an offset, from the end, a time" {
	broker_cmd topic offs 1
	seq 0 9 | sed 's/.*/{"n":&}/' | kput offs 0
	[ "$(kcat-out -t offs -e -o beginning | jq -r .n | tr '\n' ' ')" = "0 1 2 3 4 5 6 7 8 9 " ]
	[ "$(kcat-out -t offs -e -o 7 | jq -r .n | tr '\n' ' ')" = "7 8 9 " ]
	[ "$(kcat-out -t offs -e -o -2 | jq -r .n | tr '\n' ' ')" = "8 9 " ]
	[ "$(kcat-out -t offs -e -o end | wc -l)" -eq 0 ]
	# A time after every message starts at the end. (The test broker answers
	# every time lookup with "no such offset", so an earlier time cannot be
	# checked here.)
	[ "$(kcat-out -t offs -e -o s@4102444800000 | wc -l)" -eq 0 ]
}

@test "-o and -p usage errors exit 2" {
	run_split kcat-out -o yesterday
	assert_status 2
	[[ "$stderr" == "kcat-out: -o: 'yesterday' is not beginning, end, stored, N, -N or s@MS"* ]]
	run_split kcat-out -o stored
	assert_status 2
	[[ "$stderr" == "kcat-out: -o stored needs a consumer group (-G)"* ]]
	run_split kcat-out -p 1,x
	assert_status 2
	run_split kcat-out -p 1,1
	assert_status 2
	[[ "$stderr" == "kcat-out: -p: partition 1 given twice"* ]]
}

@test "-e with -p reads only those partitions, to their end" {
	broker_cmd topic parts 3
	for p in 0 1 2; do seq 1 5 | sed "s/.*/{\"p\":$p,\"n\":&}/" | kput parts $p; done
	run_split kcat-out -t parts -p 0,2 -e
	assert_status 0
	[ "$(echo "$output" | jq -r .p | sort | uniq -c | awk '{print $2 ":" $1}' | tr '\n' ' ')" = "0:5 2:5 " ]
	run_split kcat-out -t parts -p 3 -e
	assert_status 1
	[ "$stderr" = "kcat-out: topic 'parts' has no partition 3 (it has 3)" ]
}

@test "-e with -G exits once every assigned partition is at its end; a rerun resumes after the commit" {
	broker_cmd topic grp 3
	seq 1 300 | sed 's/.*/{"n":&}/' | kcat-in -t grp -k n
	run_split kcat-out -t grp -G g-e -e "${GROUPX[@]}"
	assert_status 0
	[ "$(echo "$output" | jq -r .n | sort -n | uniq | wc -l)" -eq 300 ]
	seq 301 310 | sed 's/.*/{"n":&}/' | kcat-in -t grp -k n
	run_split kcat-out -t grp -G g-e -e "${GROUPX[@]}"
	assert_status 0
	[ "$(echo "$output" | jq -r .n | sort -n | tr '\n' ' ')" = "$(seq 301 310 | tr '\n' ' ')" ]
}

@test "-c stops after N messages" {
	broker_cmd topic cnt 1
	seq 1 50 | sed 's/.*/{"n":&}/' | kput cnt 0
	run_split kcat-out -t cnt -c 7
	assert_status 0
	[ "$(echo "$output" | jq -r .n | tr '\n' ' ')" = "1 2 3 4 5 6 7 " ]
}

@test "two members of a group split the partitions between them, and together see everything once" {
	broker_cmd topic split 4
	kcat-out -t split -G g-split -v "${GROUPX[@]}" >"$BATS_TEST_TMPDIR/a" 2>"$BATS_TEST_TMPDIR/a.err" 3>&- &
	local a=$!
	kcat-out -t split -G g-split -v "${GROUPX[@]}" >"$BATS_TEST_TMPDIR/b" 2>"$BATS_TEST_TMPDIR/b.err" 3>&- &
	local b=$!
	# Both have partitions once each has said so after the last rebalance.
	both_assigned() {
		grep -q assigned "$BATS_TEST_TMPDIR/a.err" && grep -q assigned "$BATS_TEST_TMPDIR/b.err" &&
			[ "$(grep -h assigned "$BATS_TEST_TMPDIR/a.err" "$BATS_TEST_TMPDIR/b.err" | tail -2 | awk '{s += $3} END {print s}')" -eq 4 ]
	}
	wait_until 20 both_assigned || true
	seq 1 4000 | sed 's/.*/{"n":&}/' | kcat-in -t split -k n
	both_read() { [ "$(cat "$BATS_TEST_TMPDIR/a" "$BATS_TEST_TMPDIR/b" | wc -l)" -ge 4000 ]; }
	wait_until 20 both_read || true
	kill -TERM $a $b
	wait $a || { cat "$BATS_TEST_TMPDIR/a.err" >&2; false; }
	wait $b || { cat "$BATS_TEST_TMPDIR/b.err" >&2; false; }
	[ -s "$BATS_TEST_TMPDIR/a" ]
	[ -s "$BATS_TEST_TMPDIR/b" ]
	[ "$(cat "$BATS_TEST_TMPDIR/a" "$BATS_TEST_TMPDIR/b" | jq -r .n | sort -n | tr '\n' ' ')" = "$(seq 1 4000 | tr '\n' ' ')" ]
}

@test "kill -9 of a group member mid-stream, then a restart in the group: every message seen" {
	broker_cmd topic crash 2
	ordgen -n 40000 --seed 4 >"$BATS_TEST_TMPDIR/in"
	head -20000 "$BATS_TEST_TMPDIR/in" | kcat-in -t crash -k orderid
	kcat-out -t crash -G g-crash -u "${GROUPX[@]}" >"$BATS_TEST_TMPDIR/got1" 2>/dev/null 3>&- &
	local c=$!
	# The first half is written, then committed within the 1 s auto-commit.
	wait_lines "$BATS_TEST_TMPDIR/got1" 20000
	sleep 2
	tail -n +20001 "$BATS_TEST_TMPDIR/in" | kcat-in -t crash -k orderid
	wait_lines "$BATS_TEST_TMPDIR/got1" 25000
	kill -9 $c
	wait $c || true
	run_split kcat-out -t crash -G g-crash -e "${GROUPX[@]}"
	assert_status 0
	echo "$output" >"$BATS_TEST_TMPDIR/got2"
	cat "$BATS_TEST_TMPDIR/got1" "$BATS_TEST_TMPDIR/got2" | grep . | sort -u >"$BATS_TEST_TMPDIR/got"
	sort "$BATS_TEST_TMPDIR/in" >"$BATS_TEST_TMPDIR/want"
	assert_same "$BATS_TEST_TMPDIR/want" "$BATS_TEST_TMPDIR/got"
	# The restart resumed from a commit, not from the beginning.
	[ "$(wc -l <"$BATS_TEST_TMPDIR/got2")" -lt 40000 ]
}

@test "SIGTERM commits exactly what was written: a restart neither repeats nor skips" {
	broker_cmd topic stop 2
	seq 1 20000 | sed 's/.*/{"n":&}/' >"$BATS_TEST_TMPDIR/in"
	kcat-out -t stop -G g-stop "${GROUPX[@]}" >"$BATS_TEST_TMPDIR/got1" 2>/dev/null 3>&- &
	local c=$!
	sleep 1
	head -10000 "$BATS_TEST_TMPDIR/in" | kcat-in -t stop -k n
	wait_lines "$BATS_TEST_TMPDIR/got1" 10000
	kill -TERM $c
	wait $c
	tail -n +10001 "$BATS_TEST_TMPDIR/in" | kcat-in -t stop -k n
	run_split kcat-out -t stop -G g-stop -e "${GROUPX[@]}"
	assert_status 0
	echo "$output" >"$BATS_TEST_TMPDIR/got2"
	cat "$BATS_TEST_TMPDIR/got1" "$BATS_TEST_TMPDIR/got2" | jq -r .n | sort -n >"$BATS_TEST_TMPDIR/got"
	seq 1 20000 >"$BATS_TEST_TMPDIR/want"
	assert_same "$BATS_TEST_TMPDIR/want" "$BATS_TEST_TMPDIR/got"
}

@test "a payload that is not a JSON object stops the run with status 3, naming where it is" {
	broker_cmd topic junk 1
	printf '%s\n' '{"n":1}' 'oops' '{"n":3}' | kput junk 0
	run_split kcat-out -t junk -e
	assert_status 3
	[ "$output" = '{"n":1}' ]
	[ "$stderr" = "kcat-out: junk [0] at offset 1: payload is not a JSON object: byte 1: not JSON" ]
}

@test "with --rejects, such payloads go to the file with topic, partition and offset" {
	broker_cmd topic junk2 1
	printf '%s\n' '{"n":1}' '[1]' '{"n":3}' | kput junk2 0
	run_split kcat-out -t junk2 -e --rejects "$BATS_TEST_TMPDIR/rej"
	assert_status 0
	[ "$output" = "$(printf '%s\n' '{"n":1}' '{"n":3}')" ]
	run jq -c . "$BATS_TEST_TMPDIR/rej"
	[ "$output" = '{"topic":"junk2","partition":0,"offset":1,"reason":"payload is not a JSON object: byte 1: a JSON value but not an object","text":"[1]"}' ]
}

@test "a committed offset that retention removed is data loss: an error, unless told to skip" {
	broker_cmd topic lossy 1
	seq 1 10 | sed 's/.*/{"n":&}/' | kput lossy 0
	run_split kcat-out -t lossy -G g-loss -c 5 "${GROUPX[@]}"
	assert_status 0
	# About 8 MiB more: the test broker keeps about 5 MiB per partition, so
	# the committed offset 5 is gone.
	pad=$(printf '%*s' 1000 '' | tr ' ' x)
	seq 1 8000 | sed "s/.*/{\"n\":&,\"pad\":\"$pad\"}/" | kcat-in -t lossy -p 0
	[ "$(kcat-out -t lossy -p 0 -c 1 | jq -r .n)" != 1 ]
	run_split kcat-out -t lossy -G g-loss -e "${GROUPX[@]}"
	assert_status 1
	[[ "$stderr" == *"kcat-out: lossy [0]: data loss: "*"(--no-fail-on-data-loss skips to the earliest)"* ]]
	run_split kcat-out -t lossy -G g-loss -e --no-fail-on-data-loss "${GROUPX[@]}"
	assert_status 0
	[ -n "$output" ]
}

@test "an unknown topic and an unreachable cluster are errors within a bounded time" {
	broker_cmd unknown nosuch
	run_split timeout 30 kcat-out -t nosuch -e
	assert_status 1
	[ "$stderr" = "kcat-out: topic 'nosuch': Broker: Unknown topic or partition" ]
	run_split timeout 30 kcat-out -t nosuch -G g-x -e
	assert_status 1
	run_split timeout 30 kcat-out -b 127.0.0.1:1 -m 1 -e
	assert_status 1
	[[ "$stderr" == "kcat-out: cannot reach the Kafka cluster within 1000 ms (is -b right?): "* ]]
}

@test "the producer and consumer halves of the README (examples/kafka-halves.sh) give winagg's answer" {
	broker_cmd topic halves 4
	TOPIC=halves N=5000 run_split sh "$BATS_TEST_DIRNAME/../examples/kafka-halves.sh"
	assert_status 0
	# Against the test flow on the same orders. Rows from Kafka come in
	# several micro-batches (update mode): the last row per rowkey is what an
	# upserting sink keeps.
	echo "$output" | jq -s -c 'reduce .[] as $r ({}; .[$r.rowkey] = $r) | .[]' | sort >"$BATS_TEST_TMPDIR/got"
	ordgen -n 5000 >"$BATS_TEST_TMPDIR/orders"
	winagg --window 60 "$BATS_TEST_TMPDIR/orders" | sort >"$BATS_TEST_TMPDIR/want"
	assert_same "$BATS_TEST_TMPDIR/want" "$BATS_TEST_TMPDIR/got"
}

@test "--positions adds \"_pos\":\"TOPIC/P/OFFSET\" last, after any member of that name; not with -J" {
	broker_cmd topic pos 2
	printf '%s\n' '{"a":1}' '{ "b" : 2 }' '{}' '{"_pos":"fake"}' | kput pos 1
	run --separate-stderr kcat-out -t pos -p 1 -e --positions
	assert_status 0
	[ "$output" = "$(printf '%s\n' '{"_assigned":["pos/1"]}' '{"a":1,"_pos":"pos/1/0"}' '{"b":2,"_pos":"pos/1/1"}' '{"_pos":"pos/1/2"}' '{"_pos":"fake","_pos":"pos/1/3"}')" ]
	# the last member wins, as for json-c and winagg
	[ "$(echo "${lines[4]}" | jq -r ._pos)" = pos/1/3 ]
	run --separate-stderr kcat-out -t pos --positions -J
	assert_status 2
}

@test "--start-from starts the partitions it names at its offsets, the others at -o" {
	broker_cmd topic sf 2
	seq 0 9 | sed 's/.*/{"n":&}/' | kput sf 0
	seq 10 14 | sed 's/.*/{"n":&}/' | kput sf 1
	echo '{"id":7,"positions":{"sf/0":8}}' >"$BATS_TEST_TMPDIR/from"
	run --separate-stderr kcat-out -t sf -e --start-from "$BATS_TEST_TMPDIR/from"
	assert_status 0
	[ "$(echo "$output" | jq .n | sort -n | tr '\n' ' ')" = "8 9 10 11 12 13 14 " ]
	echo '{"positions":{}}' >"$BATS_TEST_TMPDIR/bad"
	run --separate-stderr kcat-out -t sf --start-from "$BATS_TEST_TMPDIR/bad"
	assert_status 2
	[[ "$stderr" == *"--start-from: '$BATS_TEST_TMPDIR/bad': not {\"id\":N,\"positions\":{\"TOPIC/P\":OFFSET,...}}"* ]]
	run --separate-stderr kcat-out -t sf --start-from "$BATS_TEST_TMPDIR/none"
	assert_status 2
	[[ "$stderr" == *"cannot read '$BATS_TEST_TMPDIR/none': No such file or directory"* ]]
}

# reap_within SECONDS PID: waits for PID to end; sets $alive (1: it did not,
# and was killed) and $st (its exit status).
reap_within() {
	wait_until "$1" gone "$2" || true
	alive=0
	kill -0 "$2" 2>/dev/null && alive=1
	kill -KILL "$2" 2>/dev/null || true
	st=0
	wait "$2" || st=$?
}

# all_down / all_up: every broker of the suite's cluster down, or back.
all_down() { for b in 1 2 3; do broker_cmd down "$b"; done; }
all_up() { for b in 1 2 3; do broker_cmd up "$b"; done; }

@test "a closed stdout (kcat-out | head) commits what went out before it closed, and exits 0" {
	broker_cmd topic headcut 1
	ordgen -n 20000 --seed 5 | kcat-in -t headcut -q
	set +e
	kcat-out -t headcut -G ghead "${GROUPX[@]}" -q | head -3 >"$BATS_TEST_TMPDIR/first"
	st=${PIPESTATUS[0]}
	set -e
	[ "$st" -eq 0 ]
	[ "$(wc -l <"$BATS_TEST_TMPDIR/first")" -eq 3 ]
	# the rerun starts after what the pipe took: more than nothing, less than all
	run_split kcat-out -t headcut -G ghead "${GROUPX[@]}" -e -q
	assert_status 0
	n=$(echo "$output" | grep -c .)
	[ "$n" -gt 0 ] && [ "$n" -lt 20000 ]
	# and it starts right where the commit says: its first line is not one head saw
	! grep -qxF "$(echo "$output" | head -1)" "$BATS_TEST_TMPDIR/first"
}

@test "SIGTERM while every broker is down: kcat-out ends within seconds, saying what it could not commit" {
	broker_cmd topic downterm 1
	ordgen -n 100 | kcat-in -t downterm -q
	kcat-out -t downterm -G gdown "${GROUPX[@]}" >"$BATS_TEST_TMPDIR/out" 2>"$BATS_TEST_TMPDIR/err" &
	pid=$!
	wait_lines "$BATS_TEST_TMPDIR/out" 100
	all_down
	sleep 1
	kill -TERM "$pid"
	reap_within 15 "$pid"
	all_up
	[ "$alive" -eq 0 ] # gone within 15 s (it waits 3 s for the commit)
	[ "$st" -eq 1 ]
	grep -q "kcat-out: last offsets not committed: no broker answered within 3000 ms; the lines since the previous commit will be read again" "$BATS_TEST_TMPDIR/err"
}

@test "-e with every broker gone gives up within the -m bound, status 1" {
	broker_cmd topic downeof 1
	ordgen -n 10 | kcat-in -t downeof -q
	kcat-out -t downeof -G geof "${GROUPX[@]}" -e -m 2s >"$BATS_TEST_TMPDIR/out" 2>"$BATS_TEST_TMPDIR/err" &
	pid=$!
	all_down
	reap_within 30 "$pid"
	all_up
	[ "$alive" -eq 0 ]
	[ "$st" -eq 1 ]
	grep -q "kcat-out: no broker reachable for 2000 ms (-m): cannot reach the end of the partitions (-e)" "$BATS_TEST_TMPDIR/err" ||
		grep -q "kcat-out: cannot reach the Kafka cluster" "$BATS_TEST_TMPDIR/err"
}

@test "--metrics: the counters and the lag per partition in Prometheus' text format, the values of the --stats line" {
	broker_cmd topic prom 2
	printf '{"a":%d}\n' 1 2 3 | kput prom 0
	printf '{"a":%d}\n' 4 5 | kput prom 1
	run_split env ORDPIPE_PIPELINE=etl-a kcat-out -t prom -e --stats 1h --stats-file "$BATS_TEST_TMPDIR/st" --metrics "$BATS_TEST_TMPDIR/m.prom"
	assert_status 0
	python3 "$BATS_TEST_DIRNAME/helpers/prom_check.py" "$BATS_TEST_TMPDIR/m.prom" >"$BATS_TEST_TMPDIR/samples"
	grep -qx 'ordpipe_kcat_out_in_total{pipeline="etl-a"} 5' "$BATS_TEST_TMPDIR/samples"
	grep -qx 'ordpipe_kcat_out_out_total{pipeline="etl-a"} 5' "$BATS_TEST_TMPDIR/samples"
	grep -qx 'ordpipe_kcat_out_lag{pipeline="etl-a",partition="prom/0"} 0' "$BATS_TEST_TMPDIR/samples"
	grep -qx 'ordpipe_kcat_out_lag{pipeline="etl-a",partition="prom/1"} 0' "$BATS_TEST_TMPDIR/samples"
	# time per phase, a counter per phase label
	grep -q '^ordpipe_kcat_out_duration_seconds_total{pipeline="etl-a",phase="format"} [0-9.]*$' "$BATS_TEST_TMPDIR/samples"
	grep -q '^ordpipe_kcat_out_duration_seconds_total{pipeline="etl-a",phase="wait"} [0-9.]*$' "$BATS_TEST_TMPDIR/samples"
	[ "$(jq -c '[.in, .lag_total]' "$BATS_TEST_TMPDIR/st")" = '[5,0]' ]
	[ ! -e "$BATS_TEST_TMPDIR/m.prom.tmp" ]
	if command -v promtool >/dev/null; then promtool check metrics <"$BATS_TEST_TMPDIR/m.prom"; fi
}

@test "--report-group: the positions a sink committed are committed to the group, without joining it; a group member then starts there" {
	broker_cmd topic rep 2
	printf '{"a":%d}\n' 0 1 2 3 4 | kput rep 0
	printf '{"a":%d}\n' 10 11 12 | kput rep 1
	printf '{"id":7,"positions":{"rep/0":3,"rep/1":1}}\n' >"$BATS_TEST_TMPDIR/committed"
	run_split kcat-out -t rep -p 0,1 -e --report-group mon --report-from "$BATS_TEST_TMPDIR/committed" --stats 1h
	assert_status 0
	[ "$(echo "$output" | wc -l)" -eq 8 ] # it read everything: the report is for monitoring only
	[ "$(echo "$stderr" | grep '"final":true' | jq .reported)" -ge 1 ]
	# a member of group mon starts where the sink had committed
	run_split kcat-out -t rep -G mon -o stored -e "${GROUPX[@]}"
	assert_status 0
	[ "$(echo "$output" | jq -r .a | sort -n | tr '\n' ' ')" = "3 4 11 12 " ]
	run_split kcat-out -t rep --report-group mon
	assert_status 2
	[[ "$stderr" == *"--report-group and --report-from go together"* ]]
	run_split kcat-out -t rep -G g --report-group mon --report-from "$BATS_TEST_TMPDIR/committed"
	assert_status 2
}

@test "--stats: offsets per partition (start, end, latest) as Spark's source progress; phases" {
	broker_cmd topic sprog 2
	printf '{"a":%d}\n' 0 1 2 3 4 5 6 | kput sprog 0
	printf '{"a":%d}\n' 10 11 12 | kput sprog 1
	run_split kcat-out -t sprog -e --stats 1h
	assert_status 0
	line=$(echo "$stderr" | grep '"final":true')
	# one line for the run: from where reading began to the end
	[ "$(echo "$line" | jq -c .offsets)" = '{"sprog/0":{"start":0,"end":7,"latest":7},"sprog/1":{"start":0,"end":3,"latest":3}}' ]
	[ "$(echo "$line" | jq -c '.duration_ms | keys')" = '["commit","emit","format","read","wait"]' ]
	# from offset 5 with a message after it: -c 1 stops at 6 of 7 on partition 0
	run_split kcat-out -t sprog -p 0 -o 5 -c 1 --stats 1h
	assert_status 0
	[ "$(echo "$stderr" | grep '"final":true' | jq -c '.offsets["sprog/0"]')" = '{"start":5,"end":6,"latest":7}' ]
}
