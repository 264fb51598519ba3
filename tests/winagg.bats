#!/usr/bin/env bats
# winagg: Spark's window semantics on hand-worked fixtures, the bad-input
# policy, usage errors, and a property test against an independent model.

load helpers/common

W="$BATS_TEST_DIRNAME/fixtures/winagg"

vector() { # MODE: SEMANTICS.md's worked vector, one row per batch
	winagg --time-unit s -g '' -a sum='sum(count)' -w 60 -W 10 -m "$1" --trigger-rows 1 "$W/vector.ndjson" |
		CUT_FROM=14 CUT_TO=19 proj >"$BATS_TEST_TMPDIR/out"
	assert_same "$W/vector.$1.expected" "$BATS_TEST_TMPDIR/out"
}

@test "worked vector, update mode: late row dropped, older row in an open window counted" { vector update; }
@test "worked vector, append mode: each window once, when the watermark passes it" { vector append; }
@test "worked vector, complete mode: everything each batch, nothing late" { vector complete; }

@test "Spark guide example: 10m windows sliding by 5m, watermark 10m, donkey dropped" {
	winagg -g word -a n=count -w 10m -s 5m -W 10m --trigger-rows 1 --late "$BATS_TEST_TMPDIR/late" \
		-v "$W/spark-guide.ndjson" 2>"$BATS_TEST_TMPDIR/err" | proj >"$BATS_TEST_TMPDIR/out"
	assert_same "$W/spark-guide.update.expected" "$BATS_TEST_TMPDIR/out"
	[ "$(cat "$BATS_TEST_TMPDIR/late")" = '{"ts":"2026-11-24T12:04:00Z","word":"donkey"}' ]
	grep -q '1 late rows (2 late windows)' "$BATS_TEST_TMPDIR/err"
}

@test "sliding windows: a row at 12:05 falls in Spark's three 12m/5m windows" {
	echo '{"ts":"2026-11-24T12:05:00Z"}' | winagg -g '' -a n=count -w 12m -s 5m | proj >"$BATS_TEST_TMPDIR/out"
	printf '12:05\t12:17\t1\n12:00\t12:12\t1\n11:55\t12:07\t1\n' >"$BATS_TEST_TMPDIR/want"
	assert_same "$BATS_TEST_TMPDIR/want" "$BATS_TEST_TMPDIR/out"
}

@test "--offset 2m shifts Spark's example to [11:57,12:09) and [12:02,12:14)" {
	echo '{"ts":"2026-11-24T12:05:00Z"}' | winagg -g '' -a n=count -w 12m -s 5m --offset 2m | proj >"$BATS_TEST_TMPDIR/out"
	printf '12:02\t12:14\t1\n11:57\t12:09\t1\n' >"$BATS_TEST_TMPDIR/want"
	assert_same "$BATS_TEST_TMPDIR/want" "$BATS_TEST_TMPDIR/out"
}

@test "a negative offset: hourly windows starting at :45 of the hour before" {
	echo '{"ts":"2026-11-24T12:50:00Z"}{"ts":"2026-11-24T12:40:00Z"}' | tr '}' '\n' | sed 's/$/}/' | grep ts |
		winagg -g '' -a n=count -w 1h --offset=-15m | proj >"$BATS_TEST_TMPDIR/out"
	printf '12:45\t13:45\t1\n11:45\t12:45\t1\n' >"$BATS_TEST_TMPDIR/want"
	assert_same "$BATS_TEST_TMPDIR/want" "$BATS_TEST_TMPDIR/out"
}

@test "times before 1970, with +08:00 and -05:00 offsets and long fractions" {
	winagg -g '' "$W/times.ndjson" | CUT_FROM=0 CUT_TO=24 proj | sort >"$BATS_TEST_TMPDIR/out"
	assert_same "$W/times.expected" "$BATS_TEST_TMPDIR/out"
}

@test "numeric epoch times in ms (default), s and us" {
	out=$(echo '{"ts":1764000000123,"count":1}' | winagg -g '' | jq -r .window_start)
	[ "$out" = "2025-11-24T16:00:00.000Z" ]
	out=$(echo '{"ts":1764000061.5,"count":1}' | winagg -g '' --time-unit s | jq -r .window_start)
	[ "$out" = "2025-11-24T16:01:00.000Z" ]
	out=$(echo '{"ts":-1,"count":1}' | winagg -g '' --time-unit us | jq -r .window_start)
	[ "$out" = "1969-12-31T23:59:00.000Z" ]
}

@test "groups: null and missing are one group; 7 and \"7\" are two; | quotes % and unicode are safe" {
	winagg "$W/groups.ndjson" >"$BATS_TEST_TMPDIR/out"
	assert_same "$W/groups.expected" "$BATS_TEST_TMPDIR/out"
	# rowkeys are distinct and at most 255 bytes
	[ "$(jq -r .rowkey "$BATS_TEST_TMPDIR/out" | sort -u | wc -l)" -eq 6 ]
}

@test "a long group value gets a hashed rowkey of fixed form, distinct per value" {
	a=$(printf 'x%.0s' $(seq 300))
	printf '{"ts":0,"shopid":1,"region":"%s"}\n{"ts":0,"shopid":1,"region":"%sy"}\n' "$a" "$a" |
		winagg | jq -r .rowkey >"$BATS_TEST_TMPDIR/keys"
	[ "$(sort -u "$BATS_TEST_TMPDIR/keys" | wc -l)" -eq 2 ]
	while read -r k; do
		[[ "$k" =~ ^1970-01-01T00:00:00.000Z/1970-01-01T00:01:00.000Z/#[0-9a-f]{32}$ ]]
	done <"$BATS_TEST_TMPDIR/keys"
	# deterministic across runs
	b=$(printf '{"ts":0,"shopid":1,"region":"%s"}\n' "$a" | winagg | jq -r .rowkey)
	[ "$b" = "$(head -1 "$BATS_TEST_TMPDIR/keys")" ]
	# and the same on every platform: an independent model of the hash
	# (tests/helpers/hs_model.py) over the group key (JSON texts, NUL-ended)
	[ "$(head -1 "$BATS_TEST_TMPDIR/keys")" = "1970-01-01T00:00:00.000Z/1970-01-01T00:01:00.000Z/$(python3 "$BATS_TEST_DIRNAME/helpers/hs_model.py" 1 "\"$a\"")" ]
	[ "$(tail -1 "$BATS_TEST_TMPDIR/keys")" = "1970-01-01T00:00:00.000Z/1970-01-01T00:01:00.000Z/$(python3 "$BATS_TEST_DIRNAME/helpers/hs_model.py" 1 "\"${a}y\"")" ]
}

@test "count, sum, min, max, avg over integers, fractions and nulls" {
	winagg -g g -a n=count -a s='sum(v)' -a lo='min(v)' -a hi='max(v)' -a mean='avg(v)' "$W/mixed.ndjson" |
		jq -r '[.g, .n, .s, .lo, .hi, .mean] | map(tojson) | join("\t")' >"$BATS_TEST_TMPDIR/out"
	assert_same "$W/mixed.expected" "$BATS_TEST_TMPDIR/out"
	# a sum of integers stays an integer, a fraction makes it a double
	run winagg -g '' -a s='sum(v)' <<<'{"ts":0,"v":2}
{"ts":0,"v":0.5}
{"ts":60000,"v":2}'
	[ "$(echo "$output" | jq -r .s | tr '\n' ' ')" = "2.5 2 " ]
	[[ "${lines[0]}" == *'"s":2.5}' ]] && [[ "${lines[1]}" == *'"s":2}' ]]
}

@test "int64 sums are exact at the edge, and overflow is an error naming the line" {
	run_split winagg -g '' -a s='sum(v)' <<<'{"ts":0,"v":9223372036854775806}
{"ts":0,"v":1}'
	assert_status 0
	[[ "$output" == *'"s":9223372036854775807}' ]]
	run_split winagg -g '' -a s='sum(v)' <<<'{"ts":0,"v":9223372036854775807}
{"ts":0,"v":1}'
	assert_status 3
	[ "$stderr" = "winagg: <stdin>:2: sum 's' overflows a 64-bit integer" ]
	run_split winagg -g '' -a s='sum(v)' --rejects "$BATS_TEST_TMPDIR/rej" <<<'{"ts":0,"v":9223372036854775807}
{"ts":0,"v":1}'
	assert_status 0
	[[ "$output" == *'"s":9223372036854775807}' ]]
	[ "$(jq -r .line "$BATS_TEST_TMPDIR/rej")" = 2 ]
}

@test "a bad line stops winagg with status 3 and FILE:LINE: reason" {
	run_split winagg "$W/bad.ndjson"
	assert_status 3
	[ "$stderr" = "winagg: $W/bad.ndjson:2: invalid JSON at byte 1: not JSON" ]
}

@test "--rejects records every bad line with its reason and goes on" {
	run_split winagg --rejects "$BATS_TEST_TMPDIR/rej" -v "$W/bad.ndjson"
	assert_status 0
	jq -r '[.line, .reason, .text] | map(tostring) | join("\t")' "$BATS_TEST_TMPDIR/rej" >"$BATS_TEST_TMPDIR/got"
	assert_same "$W/bad.rejects.expected" "$BATS_TEST_TMPDIR/got"
	[ "$(jq -r .file "$BATS_TEST_TMPDIR/rej" | sort -u)" = "$W/bad.ndjson" ]
	# the two good rows: 1 and 2 items in one group
	[[ "$output" == *'"orders":2,"items":3}' ]]
	[[ "$stderr" == *"6 rejected"* ]]
	[[ "$stderr" == *"6 bad records written to"* ]]
}

@test "a line longer than the limit is a bad record, not a crash" {
	python3 -c 'print("{\"ts\":0,\"x\":\"" + "a" * (1 << 20) + "\"}"); print("{\"ts\":0}")' >"$BATS_TEST_TMPDIR/long"
	run_split winagg -g '' "$BATS_TEST_TMPDIR/long"
	assert_status 3
	[[ "$stderr" == *":1: line longer than 1048576 bytes" ]]
	run_split winagg -g '' --rejects "$BATS_TEST_TMPDIR/rej" "$BATS_TEST_TMPDIR/long"
	assert_status 0
	[[ "$output" == *'"orders":1,'* ]]
}

@test "a line longer than the limit between two rows, all three in one read: rejected by its number" {
	# the long line is whole in the reader's buffer behind the first row,
	# so it is taken while that row is held (the look-ahead)
	python3 -c 'print("{\"ts\":0,\"count\":1}"); print("{\"ts\":0,\"x\":\"" + "a" * (1 << 20) + "\"}"); print("{\"ts\":0,\"count\":2}")' \
		>"$BATS_TEST_TMPDIR/long"
	run_split winagg -g '' "$BATS_TEST_TMPDIR/long"
	assert_status 3
	[[ "$stderr" == *":2: line longer than 1048576 bytes" ]]
	[ "$(echo "$output" | jq -c '[.orders,.items]')" = "[1,1]" ]
	run_split winagg -g '' --rejects "$BATS_TEST_TMPDIR/rej" "$BATS_TEST_TMPDIR/long"
	assert_status 0
	[ "$(echo "$output" | jq -c '[.orders,.items]')" = "[2,3]" ]
	[ "$(wc -l <"$BATS_TEST_TMPDIR/rej")" -eq 1 ]
}

@test "CRLF line ends, empty lines and a last line without newline are read" {
	printf '{"ts":1,"count":2}\r\n\r\n\n{"ts":2,"count":3}' | winagg -g '' >"$BATS_TEST_TMPDIR/out"
	[ "$(jq -c '[.orders,.items]' "$BATS_TEST_TMPDIR/out")" = "[2,5]" ]
}

@test "several files are read in order, with their own line numbers" {
	printf '{"ts":1}\n' >"$BATS_TEST_TMPDIR/a"
	printf '{"ts":1}\n{"nots":1}\n' >"$BATS_TEST_TMPDIR/b"
	run_split winagg -g '' "$BATS_TEST_TMPDIR/a" "$BATS_TEST_TMPDIR/b"
	assert_status 3
	[ "$stderr" = "winagg: $BATS_TEST_TMPDIR/b:2: no time field 'ts'" ]
	run_split winagg "$BATS_TEST_TMPDIR/missing"
	assert_status 1
	[[ "$stderr" == "winagg: cannot read '$BATS_TEST_TMPDIR/missing': No such file or directory" ]]
}

@test "usage errors exit 2 before reading anything" {
	for args in "-s 2m -w 1m" "-m append" "-w 5y" "-w 0" "--offset 1m -w 1m" "-m sideways" \
		"-a x=median(v)" "-a x=count(v)" "-a x=sum" "-a orders=count -a orders=count" "--time-unit h" "--trigger-rows 0"; do
		run_split winagg $args </dev/null
		assert_status 2
		[[ "$stderr" == winagg:* ]]
		[[ "$stderr" == *"usage: winagg"* ]]
	done
	run_split winagg -s 2m -w 1m
	[[ "$stderr" == "winagg: --slide (120000ms) is longer than --window (60000ms)"* ]]
	run_split winagg -m append
	[[ "$stderr" == "winagg: --mode append needs --watermark"* ]]
	run_split winagg -w 5y
	[[ "$stderr" == "winagg: --window: bad duration '5y': unknown unit (use ms, s, m, h or d)"* ]]
}

@test "without a watermark nothing is late, however old" {
	printf '{"ts":"2026-11-24T12:00:00Z"}\n{"ts":"2020-01-01T00:00:00Z"}\n' |
		winagg -g '' --trigger-rows 1 -v 2>"$BATS_TEST_TMPDIR/err" | proj >"$BATS_TEST_TMPDIR/out"
	[ "$(wc -l <"$BATS_TEST_TMPDIR/out")" -eq 2 ]
	grep -q ' 0 late rows' "$BATS_TEST_TMPDIR/err"
}

@test "default triggers: rows are emitted while the input stays open" {
	fifo_run winagg -g ''
	echo '{"ts":1,"count":4}' >&5
	wait_output
	[ "$(jq -c '[.orders,.items]' "$BATS_TEST_TMPDIR/out")" = "[1,4]" ]
	exec 5>&-
	wait "$pid"
}

@test "a pause in the input ends the batch with every row before it, none held for the next" {
	fifo_run winagg -g '' -a n=count -a 's=sum(count)'
	printf '{"ts":1,"count":1}\n{"ts":2,"count":2}\n{"ts":3,"count":4}\n' >&5
	# the input stays open: the last row must count now, not when a next one comes
	wait_until 5 sh -c "tail -n 1 '$BATS_TEST_TMPDIR/out' | jq -e '.n == 3' >/dev/null"
	[ "$(tail -n 1 "$BATS_TEST_TMPDIR/out" | jq -c '[.n,.s]')" = "[3,7]" ]
	exec 5>&-
	wait "$pid"
}

@test "property: random streams agree with an independent model in all modes" {
	for seed in 1 2 3 4 5 6 7 8; do
		python3 "$BATS_TEST_DIRNAME/helpers/gen_rows.py" "$seed" 300 >"$BATS_TEST_TMPDIR/in"
		size=$(( (seed % 3 + 1) * 10000 )); slide=$(( size / (seed % 2 + 1) )); off=$(( (seed * 1237) % slide ))
		[ $((seed % 4)) -eq 0 ] && off=$(( -off ))
		delay=$(( seed * 3000 ))
		for mode in update append complete; do
			python3 "$BATS_TEST_DIRNAME/helpers/winagg_model.py" --size "$size" --slide "$slide" \
				--offset "$off" --delay "$delay" --mode "$mode" <"$BATS_TEST_TMPDIR/in" >"$BATS_TEST_TMPDIR/want"
			winagg -g g -a n=count -a s='sum(v)' -w "${size}ms" -s "${slide}ms" --offset="${off}ms" \
				-W "${delay}ms" -m "$mode" --trigger-rows 1 "$BATS_TEST_TMPDIR/in" |
				jq -r '[.window_start, .window_end, (.g|tojson), .n, .s] | map(tostring) | join("\t")' \
				>"$BATS_TEST_TMPDIR/got"
			echo "seed $seed mode $mode size $size slide $slide offset $off delay $delay" >&2
			[ -s "$BATS_TEST_TMPDIR/want" ]
			diff -u "$BATS_TEST_TMPDIR/want" "$BATS_TEST_TMPDIR/got" | head -40 >&2
			cmp -s "$BATS_TEST_TMPDIR/want" "$BATS_TEST_TMPDIR/got"
		done
	done
}

@test "SIGTERM: the batch in hand is written and winagg exits 0" {
	fifo_run winagg -g '' -m complete
	echo '{"ts":1,"count":4}' >&5
	wait_output
	kill -TERM "$pid"
	wait "$pid" || status=$?
	exec 5>&-
	[ "${status:-0}" -eq 0 ]
	[ "$(jq -c '[.orders,.items]' "$BATS_TEST_TMPDIR/out")" = "[1,4]" ]
}

@test "a full disk on stdout is an error with status 1" {
	[ -w /dev/full ] || skip "no /dev/full"
	run --separate-stderr bash -c 'ordgen -n 1000 | winagg >/dev/full'
	assert_status 1
	[ "$stderr" = "winagg: cannot write to standard output: No space left on device" ]
}

@test "a full disk for the rejects file is an error, not a lost record" {
	[ -w /dev/full ] || skip "no /dev/full"
	run --separate-stderr winagg --rejects /dev/full <<<'not json'
	[ "$status" -ne 0 ]
	[[ "$stderr" == *"rejects file '/dev/full'"* ]]
}

@test "--trigger-interval ends batches by wall time while input keeps flowing" {
	ordgen -n 1000000 >"$BATS_TEST_TMPDIR/orders"
	# one batch when only the end of input ends it
	winagg --trigger-rows 100000000 -v "$BATS_TEST_TMPDIR/orders" 2>"$BATS_TEST_TMPDIR/err" >/dev/null
	grep -q ' 1 batches' "$BATS_TEST_TMPDIR/err"
	# reading 1 M rows takes longer than 10 ms: more than one batch
	winagg --trigger-rows 100000000 --trigger-interval 10ms -v "$BATS_TEST_TMPDIR/orders" 2>"$BATS_TEST_TMPDIR/err" >/dev/null
	n=$(grep -o '[0-9]* batches' "$BATS_TEST_TMPDIR/err" | cut -d' ' -f1)
	[ "$n" -gt 1 ]
}

@test "-u writes each row as soon as it is made" {
	fifo_run winagg -u -g '' --trigger-rows 1
	echo '{"ts":1,"count":4}' >&5
	wait_output
	[ "$(jq -c '[.orders,.items]' "$BATS_TEST_TMPDIR/out")" = "[1,4]" ]
	exec 5>&-
	wait "$pid"
}

@test "a field can be both a group field and the time or an aggregated field" {
	run winagg -g ts,count -a n=count -a s='sum(count)' <<<'{"ts":5,"count":2}'
	assert_status 0
	[ "$(echo "$output" | jq -c '[.ts, .count, .n, .s]')" = "[5,2,1,2]" ]
}

# ---- checkpoints (crash-safe restart) ----

ckpt_rows_a() {
	printf '%s\n' '{"ts":65,"count":1,"shop":1,"_pos":"o/0/0"}' '{"ts":70,"count":2,"shop":1,"_pos":"o/0/1"}' \
		'{"ts":130,"count":4,"shop":2,"_pos":"o/1/0"}'
}
CK="--time-unit s -g shop --checkpoint"

@test "--checkpoint: rows, then a durable snapshot and its record; --restore continues the open windows" {
	d=$BATS_TEST_TMPDIR/ck
	run --separate-stderr bash -c "$(declare -f ckpt_rows_a); ckpt_rows_a | winagg $CK $d"
	assert_status 0
	[ "${#lines[@]}" -eq 3 ] # two windows' rows, then the record
	# with the latest event time read (130 s), for the sink's delay
	[ "${lines[2]}" = '{"_checkpoint":{"id":1,"event_time":"1970-01-01T00:02:10.000Z","positions":{"o/0":2,"o/1":1}}}' ]
	[ -f "$d/ckpt-00000000000000000001" ]
	# the next row of window [60,120) of shop 1 adds to the restored 2 orders, 3 items
	run --separate-stderr bash -c "echo '{\"ts\":80,\"count\":8,\"shop\":1,\"_pos\":\"o/0/2\"}' | winagg $CK $d --restore 1"
	assert_status 0
	[ "$(echo "${lines[0]}" | jq -c '[.window_start[14:19], .shop, .orders, .items]')" = '["01:00",1,3,11]' ]
	[ "${lines[1]}" = '{"_checkpoint":{"id":2,"event_time":"1970-01-01T00:02:10.000Z","positions":{"o/0":3,"o/1":1}}}' ]
}

@test "a torn or truncated snapshot fails its checksum and the one before it is used" {
	d=$BATS_TEST_TMPDIR/ck
	ckpt_rows_a | winagg $CK "$d" >/dev/null
	echo '{"ts":80,"count":8,"shop":1,"_pos":"o/0/2"}' | winagg $CK "$d" --restore 1 >/dev/null
	f2=$d/ckpt-00000000000000000002
	size=$(stat -c %s "$f2")
	truncate -s $((size - 3)) "$f2"
	run --separate-stderr winagg $CK "$d" --restore 2 --restore-info
	assert_status 0
	[ "$output" = '{"id":1,"positions":{"o/0":2,"o/1":1}}' ]
	[[ "$stderr" == *"checkpoint 2 in '$d' is unusable (checksum mismatch"* ]]
	# one flipped byte inside is found too
	cp "$d/ckpt-00000000000000000001" "$f2"
	printf 'X' | dd of="$f2" bs=1 seek=40 conv=notrunc 2>/dev/null
	run --separate-stderr winagg $CK "$d" --restore 2 --restore-info
	[ "$output" = '{"id":1,"positions":{"o/0":2,"o/1":1}}' ]
	# nothing usable at all is an error
	cp "$f2" "$d/ckpt-00000000000000000001"
	run --separate-stderr winagg $CK "$d" --restore 2 --restore-info
	assert_status 1
	[[ "$stderr" == *"no usable checkpoint at or before 2 in '$d'"* ]]
}

@test "a snapshot of another window, grouping or aggregate is refused with status 2" {
	d=$BATS_TEST_TMPDIR/ck
	ckpt_rows_a | winagg $CK "$d" >/dev/null
	run --separate-stderr winagg $CK "$d" --restore latest -w 30s </dev/null
	assert_status 2
	[[ "$stderr" == *"was made with another configuration: window=60000ms"*"this run: window=30000ms"* ]]
	run --separate-stderr winagg --time-unit s -g shop,region --checkpoint "$d" --restore latest </dev/null
	assert_status 2
	run --separate-stderr winagg $CK "$d" --restore latest -a n=count </dev/null
	assert_status 2
}

@test "a full disk while checkpointing stops winagg with status 1 and leaves the last good snapshot intact" {
	d=$BATS_TEST_TMPDIR/ck
	ckpt_rows_a | winagg $CK "$d" >/dev/null
	cp "$d/ckpt-00000000000000000001" "$BATS_TEST_TMPDIR/before"
	ASAN_OPTIONS=verify_asan_link_order=0 LD_PRELOAD="$ORDPIPE_HELPERS/enospc.so" ENOSPC_MATCH=ckpt- \
		run --separate-stderr bash -c "echo '{\"ts\":80,\"count\":8,\"shop\":1,\"_pos\":\"o/0/2\"}' | winagg $CK $d --restore 1"
	assert_status 1
	[[ "$stderr" == *"cannot write checkpoint '$d/ckpt-00000000000000000002"*"No space left on device"* ]]
	# no record for a snapshot that does not exist, no half file left
	[[ "$output" != *'"_checkpoint"'* ]]
	[ "$(ls "$d" | tr '\n' ' ')" = "ckpt-00000000000000000001 lock " ]
	cmp "$BATS_TEST_TMPDIR/before" "$d/ckpt-00000000000000000001"
}

@test "checkpoint options: --restore needs --checkpoint, --restore-info needs --restore" {
	run --separate-stderr winagg --restore 1
	assert_status 2
	[[ "$stderr" == *"--restore and --restore-info need --checkpoint DIR"* ]]
	run --separate-stderr winagg --checkpoint "$BATS_TEST_TMPDIR/d" --restore-info
	assert_status 2
	run --separate-stderr winagg --checkpoint "$BATS_TEST_TMPDIR/d" --restore x
	assert_status 2
}

@test "--checkpoint: a position is NAME/OFFSET with the offset last; a malformed one is a bad record" {
	run --separate-stderr winagg --time-unit s -g '' --rejects "$BATS_TEST_TMPDIR/rej" --checkpoint "$BATS_TEST_TMPDIR/ck" < <(printf '%s\n' \
		'{"ts":1,"_pos":"a/b/12"}' '{"ts":1,"_pos":"a/b/3"}' '{"ts":1,"_pos":"x/99999999999999999999999"}' \
		'{"ts":1,"_pos":"/5"}' '{"ts":1,"_pos":"t/7/"}' '{"ts":1,"_pos":7}' '{"ts":1,"_pos":"q\/0/1"}' '{"ts":1}')
	assert_status 0
	# the highest offset of a/b wins (an older one never moves it back)
	[ "${lines[-1]}" = '{"_checkpoint":{"id":1,"event_time":"1970-01-01T00:00:01.000Z","positions":{"a/b":13}}}' ]
	[ "$(echo "${lines[0]}" | jq .orders)" -eq 3 ]
	# lines 3 to 7 are refused, each with the reason
	[ "$(jq -r '.line' "$BATS_TEST_TMPDIR/rej" | tr '\n' ' ')" = "3 4 5 6 7 " ]
	[ "$(jq -r '.reason' "$BATS_TEST_TMPDIR/rej" | sort -u)" = "field '_pos' is not a string TOPIC/PARTITION/OFFSET" ]
	# without --rejects the first one stops the run (status 3), naming its line
	run --separate-stderr winagg --time-unit s -g '' <<<'{"ts":1,"_pos":"/5"}'
	assert_status 3
	[[ "$stderr" == *"winagg: <stdin>:1: field '_pos' is not a string TOPIC/PARTITION/OFFSET"* ]]
}

@test "--checkpoint-keep N keeps the newest N snapshots and never reuses an id" {
	d=$BATS_TEST_TMPDIR/ck
	for o in 0 1 2 3; do
		echo "{\"ts\":65,\"count\":1,\"shop\":1,\"_pos\":\"o/0/$o\"}" | winagg $CK "$d" --checkpoint-keep 2 >/dev/null
	done
	[ "$(ls "$d" | tr '\n' ' ')" = "ckpt-00000000000000000003 ckpt-00000000000000000004 lock " ]
	run --separate-stderr winagg $CK "$d" --restore latest --restore-info
	[ "$output" = '{"id":4,"positions":{"o/0":4}}' ]
}

@test "--checkpoint-keep never removes the sink's committed snapshot (DIR/committed) or a newer one" {
	d=$BATS_TEST_TMPDIR/ck
	snap() { echo "{\"ts\":65,\"count\":1,\"shop\":1,\"_pos\":\"o/0/$1\"}" | winagg $CK "$d" --checkpoint-keep 2 >/dev/null; }
	mkdir "$d"
	echo '{"id":2,"positions":{"o/0":2}}' >"$d/committed"
	for o in 0 1 2 3 4; do snap $o; done
	# 1 is neither among the newest 2 nor at or after the committed 2
	[ "$(ls "$d" | tr '\n' ' ')" = "ckpt-00000000000000000002 ckpt-00000000000000000003 ckpt-00000000000000000004 ckpt-00000000000000000005 committed lock " ]
	# the sink catches up: the next snapshot prunes back to the newest 2
	echo '{"id":5,"positions":{"o/0":5}}' >"$d/committed"
	snap 5
	[ "$(ls "$d" | tr '\n' ' ')" = "ckpt-00000000000000000005 ckpt-00000000000000000006 committed lock " ]
	# a committed file that cannot be read keeps everything
	: >"$d/committed"
	snap 6
	snap 7
	[ "$(ls "$d" | tr '\n' ' ')" = "ckpt-00000000000000000005 ckpt-00000000000000000006 ckpt-00000000000000000007 ckpt-00000000000000000008 committed lock " ]
}

@test "--checkpoint: one winagg per directory; the second is refused naming the first, a killed one frees it" {
	d=$BATS_TEST_TMPDIR/ck
	fifo_run winagg $CK "$d" --checkpoint-interval 0
	echo '{"ts":65,"count":1,"shop":1,"_pos":"o/0/0"}' >&5
	wait_lines "$BATS_TEST_TMPDIR/out" 2 # the row and the snapshot's record
	run --separate-stderr winagg $CK "$d" --restore latest --restore-info </dev/null
	assert_status 1
	[ "$stderr" = "winagg: checkpoint directory '$d' is in use by process $pid" ]
	[ -z "$output" ]
	kill -KILL "$pid"
	exec 5>&-
	wait_fifo_run
	run --separate-stderr winagg $CK "$d" --restore latest --restore-info </dev/null
	assert_status 0
	[ "$output" = '{"id":1,"positions":{"o/0":1}}' ]
}

@test "--stats with --checkpoint: checkpoints counts the records written, checkpoint_ms_last is a time" {
	d=$BATS_TEST_TMPDIR/ck
	fifo_run winagg $CK "$d" --checkpoint-interval 0 --stats 100ms
	for o in 0 1 2; do
		echo "{\"ts\":65,\"count\":1,\"shop\":$o,\"_pos\":\"o/0/$o\"}" >&5
		wait_lines "$BATS_TEST_TMPDIR/out" $((2 * o + 2)) # a row and a record per batch
	done
	sleep 0.5 # a stats line after the third snapshot
	grep '^{' "$BATS_TEST_TMPDIR/err" | tail -1 >"$BATS_TEST_TMPDIR/last"
	exec 5>&-
	wait_fifo_run
	assert_status 0
	[ "$(grep -c '"_checkpoint"' <<<"$(head -6 "$BATS_TEST_TMPDIR/out")")" = 3 ]
	jq -e '.checkpoints == 3 and (.checkpoint_ms_last | type) == "number" and .checkpoint_ms_last >= 0' \
		"$BATS_TEST_TMPDIR/last"
}

@test "--checkpoint-budget: a cheap snapshot comes long before --checkpoint-interval; without it, not" {
	d=$BATS_TEST_TMPDIR/ck
	# an hour's interval, but a budget of 100 %: the next snapshot is due
	# 50 ms (at least) after the last, as soon as the input pauses
	fifo_run winagg $CK "$d" --checkpoint-interval 1h --checkpoint-budget 100
	echo '{"ts":65,"count":1,"shop":1,"_pos":"o/0/0"}' >&5
	wait_lines "$BATS_TEST_TMPDIR/out" 2
	[ "$(sed -n 2p "$BATS_TEST_TMPDIR/out")" = '{"_checkpoint":{"id":1,"event_time":"1970-01-01T00:01:05.000Z","positions":{"o/0":1}}}' ]
	exec 5>&-
	wait_fifo_run
	assert_status 0
	# the same without the budget: only the row until the input ends
	rm -rf "$d" "$BATS_TEST_TMPDIR/in"
	fifo_run winagg $CK "$d" --checkpoint-interval 1h
	echo '{"ts":65,"count":1,"shop":1,"_pos":"o/0/0"}' >&5
	wait_lines "$BATS_TEST_TMPDIR/out" 1
	sleep 1
	[ "$(wc -l <"$BATS_TEST_TMPDIR/out")" -eq 1 ]
	exec 5>&-
	wait_fifo_run
	assert_status 0
	run_split winagg --checkpoint-budget 5
	assert_status 2
	[[ "$stderr" == "winagg: --checkpoint-budget needs --checkpoint DIR"* ]]
	run_split winagg $CK "$d" --checkpoint-budget 0
	assert_status 2
}

@test "--checkpoint at end of input in append mode: the rows that close the windows come before the snapshot's record again" {
	d=$BATS_TEST_TMPDIR/ck
	run --separate-stderr bash -c "$(declare -f ckpt_rows_a); ckpt_rows_a | winagg $CK $d -W 10s -m append"
	assert_status 0
	rec='{"_checkpoint":{"id":1,"event_time":"1970-01-01T00:02:10.000Z","positions":{"o/0":2,"o/1":1}}}'
	[ "${#lines[@]}" -eq 4 ]
	# nothing closed during the one batch; the snapshot has both windows open
	[ "${lines[0]}" = "$rec" ]
	# end of input closes them: [60,120) of shop 1 (2 orders, 3 items) and
	# [120,180) of shop 2 (1 order, 4 items), then the same record: the sink
	# commits them under checkpoint 1, which a restart would resume
	[ "$(printf '%s\n' "${lines[1]}" "${lines[2]}" | jq -c '[.window_start[14:19], .shop, .orders, .items]' | sort | tr '\n' ' ')" = \
		'["01:00",1,2,3] ["02:00",2,1,4] ' ]
	[ "${lines[3]}" = "$rec" ]
}

@test "--checkpoint: a bad row under the stop policy snapshots the good rows before it, so a restart stops at it again" {
	d=$BATS_TEST_TMPDIR/ck
	run --separate-stderr bash -c "printf '%s\n' '{\"ts\":65,\"count\":1,\"shop\":1,\"_pos\":\"o/0/0\"}' '{\"ts\":70,\"count\":2,\"shop\":1,\"_pos\":\"o/0/1\"}' '{\"shop\":1,\"_pos\":\"o/0/2\"}' | winagg $CK $d"
	assert_status 3
	[[ "$stderr" == *"<stdin>:3: no time field 'ts'"* ]]
	[ "${#lines[@]}" -eq 2 ]
	[ "$(echo "${lines[0]}" | jq -c '[.shop, .orders, .items]')" = '[1,2,3]' ]
	# positions up to the bad row, not past it
	[ "${lines[1]}" = '{"_checkpoint":{"id":1,"event_time":"1970-01-01T00:01:10.000Z","positions":{"o/0":2}}}' ]
	# with --rejects the bad row is done with: covered, not read again
	run --separate-stderr bash -c "printf '%s\n' '{\"shop\":1,\"_pos\":\"o/0/2\"}' | winagg $CK $d --restore 1 --rejects $BATS_TEST_TMPDIR/rej"
	assert_status 0
	[ "${lines[-1]}" = '{"_checkpoint":{"id":2,"event_time":"1970-01-01T00:01:10.000Z","positions":{"o/0":3}}}' ]
}

# winagg's bad values: a line, and the reason its rejects record must give.
bad_value_cases() {
	cat <<-'EOC'
		{"ts":"2026-01-01T00:00:01Z","shopid":1,"region":"SG","count":1e400}	field 'count' is a number outside the range of a double
		{"ts":"2026-01-01T00:00:01Z","shopid":1,"region":"SG","count":99999999999999999999}	field 'count' is an integer outside the 64-bit range
		{"ts":"2026-01-01T00:00:01Z","shopid":1,"region":"SG","count":9223372036854775808}	field 'count' is an integer outside the 64-bit range
		{"ts":"2026-01-01T00:00:01Z","shopid":2,"region":"SG","count":1.5e308}	sum 'items' overflows a double
		{"ts":"9999-12-31T23:59:30Z","shopid":1,"region":"SG","count":1}	a window of this row falls outside the years 0000-9999
		{"ts":"2026-01-01T00:00:01Z","shopid":"x\ud800","region":"SG","count":1}	lone surrogate in \u escape (not a character)
		{"ts":"2026-01-01T00:00:01Z","shopid":"x\udfff","region":"SG","count":1}	lone surrogate in \u escape (not a character)
		{"ts":"2026-01-01T00:00:01\u005a","shopid":1,"region":"SG","count":1}	time field 'ts': not an RFC 3339 time
		{"ts":9223372036854775807,"shopid":1,"region":"SG","count":1}	time field 'ts' is outside the years 0000-9999
	EOC
}

@test "bad values: each is a bad record with its reason; the good rows' aggregates stay exact" {
	{
		echo '{"ts":"2026-01-01T00:00:01Z","shopid":1,"region":"SG","count":2}'
		echo '{"ts":"2026-01-01T00:00:02Z","shopid":2,"region":"SG","count":1.5e308}'
		bad_value_cases | cut -f1
		echo '{"ts":"2026-01-01T00:00:03Z","shopid":"x\ufffd","region":"SG","count":3}'
		echo '{"ts":"2026-01-01T00:00:04Z","shopid":"x\ud83d\ude00","region":"SG","count":4}'
	} >"$BATS_TEST_TMPDIR/in"
	run_split winagg --rejects "$BATS_TEST_TMPDIR/rej" "$BATS_TEST_TMPDIR/in"
	assert_status 0
	[ "$(jq -r .reason "$BATS_TEST_TMPDIR/rej" | sed 's/^invalid JSON at byte [0-9]*: //')" = "$(bad_value_cases | cut -f2)" ]
	# the good rows: four groups, each exact; a real U+FFFD and an emoji stay apart
	[ "$(echo "$output" | jq -r '[.shopid, .items] | @tsv' | sort)" = "$(printf '1\t2\n2\t1.5e+308\nx😀\t4\nx�\t3' | sort)" ]
}

@test "a group value with escapes in a 1 MiB line with many missing group fields is handled (no overflow)" {
	g=$(seq -s, -f 'g%.0f' 1 63),big
	python3 -c '
import sys
v = "\\u0001" * ((1024 * 1024 - 100) // 6)
sys.stdout.write("{\"ts\":1,\"big\":\"%s\"}\n" % v)' >"$BATS_TEST_TMPDIR/in"
	run_split winagg --time-unit s -g "$g" "$BATS_TEST_TMPDIR/in"
	assert_status 0
	[ "$(echo "$output" | jq -r '.big | length')" -eq $(((1024 * 1024 - 100) / 6)) ]
	[ "$(echo "$output" | jq -r .g1)" = null ]
}

@test "the line limit is the same with LF and CRLF line ends" {
	python3 -c '
line = "{\"ts\":1,\"p\":\"" + "x" * (1024 * 1024 - 15) + "\"}"
assert len(line) == 1024 * 1024
open("'"$BATS_TEST_TMPDIR"'/lf", "w").write(line + "\n")
open("'"$BATS_TEST_TMPDIR"'/crlf", "w").write(line + "\r\n")
open("'"$BATS_TEST_TMPDIR"'/over", "w").write(line + "x\r\n")
open("'"$BATS_TEST_TMPDIR"'/last", "w").write(line + "x")'
	for f in lf crlf; do
		run_split winagg --time-unit s -g '' "$BATS_TEST_TMPDIR/$f"
		assert_status 0
	done
	for f in over last; do
		run_split winagg --time-unit s -g '' "$BATS_TEST_TMPDIR/$f"
		assert_status 3
		[[ "$stderr" == *":1: line longer than 1048576 bytes" ]]
	done
}

@test "--stats writes a last line at exit with the totals, marked final" {
	ordgen -n 10 >"$BATS_TEST_TMPDIR/in"
	run_split winagg --stats 1h "$BATS_TEST_TMPDIR/in"
	assert_status 0
	echo "$stderr" | tail -1 | jq -e '.prog == "winagg" and .final == true and .in == 10 and .out == 10'
}

@test "--checkpoint: a rejected line that is not valid JSON is still covered by its position, so a restart does not reject it again" {
	printf '%s\n' '{"ts":1,"count":1,"_pos":"t/0/4"}' '{"ts":1,"count":01,"_pos":"t/0/5"}' >"$BATS_TEST_TMPDIR/in"
	run_split winagg --time-unit s -g '' --rejects "$BATS_TEST_TMPDIR/rej" --checkpoint "$BATS_TEST_TMPDIR/ck" "$BATS_TEST_TMPDIR/in"
	assert_status 0
	[ "${lines[-1]}" = '{"_checkpoint":{"id":1,"event_time":"1970-01-01T00:00:01.000Z","positions":{"t/0":6}}}' ]
	[ "$(wc -l <"$BATS_TEST_TMPDIR/rej")" -eq 1 ]
}

# golden_restore DIR: restores the golden snapshot copied into DIR and adds
# one row; the hand-worked state: [60,120) shop 1 has 2 orders, 3 items;
# [120,180) shop 2 has 1 order, 5 items; o/0 is read up to offset 2.
golden_restore() {
	run_split winagg --time-unit s -g shop --checkpoint "$1" --restore 1 -m update \
		<<<'{"ts":80,"count":4,"shop":1,"_pos":"o/0/3"}'
}

@test "golden snapshots: version 2 (struct as stored then) and version 3 (field by field) restore to the same hand-worked state" {
	for v in v2 v3; do
		d=$BATS_TEST_TMPDIR/$v
		mkdir -p "$d"
		cp "$FIX/winagg/golden/$v-ckpt-00000000000000000001" "$d/ckpt-00000000000000000001"
		golden_restore "$d"
		assert_status 0
		[ "${lines[0]}" = '{"rowkey":"1970-01-01T00:01:00.000Z/1970-01-01T00:02:00.000Z/1","window_start":"1970-01-01T00:01:00.000Z","window_end":"1970-01-01T00:02:00.000Z","shop":1,"orders":3,"items":7}' ]
		# the snapshot's latest event time (130 s) stays the latest
		[ "${lines[-1]}" = '{"_checkpoint":{"id":2,"event_time":"1970-01-01T00:02:10.000Z","positions":{"o/0":4}}}' ]
		# --restore-info tells where kcat-out would resume
		run_split winagg --time-unit s -g shop --checkpoint "$d" --restore 1 --restore-info
		[ "$output" = '{"id":1,"positions":{"o/0":3}}' ]
	done
}

@test "--restore committed: the snapshot DIR/committed names; none named: start empty; a malformed file: status 1" {
	d=$BATS_TEST_TMPDIR/ck
	printf '%s\n' '{"ts":65,"count":1,"shop":1,"_pos":"o/0/0"}' | winagg $CK "$d" >/dev/null
	printf '%s\n' '{"ts":66,"count":1,"shop":1,"_pos":"o/0/1"}' | winagg $CK "$d" --restore latest >/dev/null
	echo '{"id":1,"positions":{"o/0":1}}' >"$d/committed"
	run_split winagg $CK "$d" --restore committed --restore-info
	assert_status 0
	[ "$output" = '{"id":1,"positions":{"o/0":1}}' ]
	echo '{"id":0,"positions":{}}' >"$d/committed"
	run_split winagg $CK "$d" --restore committed --restore-info -v
	assert_status 0
	[ -z "$output" ]
	[[ "$stderr" == *"nothing committed yet in '$d/committed': starting empty"* ]]
	echo '{"id":"x"}' >"$d/committed"
	run_split winagg $CK "$d" --restore committed --restore-info
	assert_status 1
	[[ "$stderr" == "winagg: --restore committed: '$d/committed': not {\"id\":N,"* ]]
}

@test "--stats-file: the lines go to the file, stderr keeps the messages; alone, only the final line; \$ORDPIPE_RUN in every line" {
	printf '{"ts":"2026-01-01T00:00:01Z","shopid":1,"region":"SG","count":2}\n' >"$BATS_TEST_TMPDIR/in"
	run_split env ORDPIPE_RUN=etl-42 winagg --stats 1h --stats-file "$BATS_TEST_TMPDIR/st" -v "$BATS_TEST_TMPDIR/in"
	assert_status 0
	[[ "$stderr" == "winagg: 1 rows read"* ]]
	[[ "$stderr" != *'{"prog"'* ]]
	[ "$(jq -c '[.prog, .run, .in, .final]' "$BATS_TEST_TMPDIR/st")" = '["winagg","etl-42",1,true]' ]
	rm "$BATS_TEST_TMPDIR/st"
	run_split winagg --stats-file "$BATS_TEST_TMPDIR/st" "$BATS_TEST_TMPDIR/in"
	assert_status 0
	[ "$(wc -l <"$BATS_TEST_TMPDIR/st")" -eq 1 ]
	[ "$(jq -c '[.in, .out, .final, has("run")]' "$BATS_TEST_TMPDIR/st")" = '[1,1,true,false]' ]
	run_split winagg --stats-file "$BATS_TEST_TMPDIR/nodir/st" "$BATS_TEST_TMPDIR/in"
	assert_status 1
	[[ "$stderr" == "winagg: cannot open stats file '$BATS_TEST_TMPDIR/nodir/st': No such file or directory" ]]
}

@test "first and last by event time: the earliest and latest row's value, ties by input order, nulls skipped, kept across a restart" {
	printf '{"ts":"2026-01-01T00:00:%s","p":%s}\n' 30Z 10 10Z 20 50Z 30 10Z 40 20Z null 50Z 5.5 >"$BATS_TEST_TMPDIR/in"
	# earliest ts 10: rows 2 and 4, the first read is 20; latest 50: rows 3 and 6, the last read is 5.5
	run_split winagg -g '' -a 'f=first(p)' -a 'l=last(p)' "$BATS_TEST_TMPDIR/in"
	assert_status 0
	[ "$(echo "$output" | jq -c '[.f, .l]')" = '[20,5.5]' ]
	head -3 "$BATS_TEST_TMPDIR/in" >"$BATS_TEST_TMPDIR/a"
	tail -n +4 "$BATS_TEST_TMPDIR/in" >"$BATS_TEST_TMPDIR/b"
	winagg -g '' -a 'f=first(p)' -a 'l=last(p)' --checkpoint "$BATS_TEST_TMPDIR/ck" "$BATS_TEST_TMPDIR/a" >/dev/null
	run_split winagg -g '' -a 'f=first(p)' -a 'l=last(p)' --checkpoint "$BATS_TEST_TMPDIR/ck" --restore latest "$BATS_TEST_TMPDIR/b"
	assert_status 0
	[ "$(echo "$output" | grep -v _checkpoint | tail -1 | jq -c '[.f, .l]')" = '[20,5.5]' ]
}

@test "--metrics: winagg's counters, gauges and times in Prometheus' text format; --metrics needs --stats" {
	printf '{"ts":"2026-01-01T00:00:%s","shopid":1,"region":"SG","count":2}\n' 01Z 02Z 03Z >"$BATS_TEST_TMPDIR/in"
	run_split winagg -W 10s --stats 1h --stats-file "$BATS_TEST_TMPDIR/st" --metrics "$BATS_TEST_TMPDIR/m.prom" "$BATS_TEST_TMPDIR/in"
	assert_status 0
	python3 "$BATS_TEST_DIRNAME/helpers/prom_check.py" "$BATS_TEST_TMPDIR/m.prom" >"$BATS_TEST_TMPDIR/samples"
	grep -qx 'ordpipe_winagg_in_total{} 3' "$BATS_TEST_TMPDIR/samples"
	grep -qx 'ordpipe_winagg_late_rows_total{} 0' "$BATS_TEST_TMPDIR/samples"
	# the final line: end of input closed the one window
	grep -qx 'ordpipe_winagg_live_groups{} 0' "$BATS_TEST_TMPDIR/samples"
	grep -qx 'ordpipe_winagg_evicted_total{} 1' "$BATS_TEST_TMPDIR/samples"
	# the latest event time 00:00:03 (1767225603 s) minus 10 s
	grep -qx 'ordpipe_winagg_watermark_timestamp_seconds{} 1767225593.000' "$BATS_TEST_TMPDIR/samples"
	# rates are left to Prometheus
	! grep -q rate "$BATS_TEST_TMPDIR/samples"
	run_split winagg --metrics "$BATS_TEST_TMPDIR/m.prom" "$BATS_TEST_TMPDIR/in"
	assert_status 2
	[[ "$stderr" == "winagg: --metrics needs --stats DUR (how often the file is rewritten)"* ]]
}

@test "approx_count_distinct on 10^6 values: within 3 standard deviations of the exact count, at RSD 0.05 and 0.01" {
	ordgen -n 1000000 --seed 8 >"$BATS_TEST_TMPDIR/o"
	exact=$(jq -r .orderid "$BATS_TEST_TMPDIR/o" | sort -u | wc -l)
	items=$(jq -r .itemid "$BATS_TEST_TMPDIR/o" | sort -u | wc -l)
	run_split winagg -g '' -w 1d -W 1s -m append -a 'd=approx_count_distinct(orderid)' \
		-a 'e=approx_count_distinct(orderid,0.01)' -a 'i=approx_count_distinct(itemid,0.01)' "$BATS_TEST_TMPDIR/o"
	assert_status 0
	# p = ceil(2 log2(1.106 / rsd)): 9 and 14; standard deviation 1.04 / sqrt(2^p)
	echo "$output" | jq -e --argjson x "$exact" --argjson it "$items" '
		((.d - $x) | fabs) / $x <= 3 * 1.04 / 22.63 and
		((.e - $x) | fabs) / $x <= 3 * 1.04 / 128 and
		((.i - $it) | fabs) / $it <= 3 * 1.04 / 128'
}

@test "approx_count_distinct: small counts (linear counting), per group, values by JSON text, nulls skipped" {
	for i in $(seq 1 300); do
		printf '{"ts":"2026-01-01T00:00:01Z","g":"a","v":%d}\n{"ts":"2026-01-01T00:00:01Z","g":"b","v":"%d"}\n' $((i % 40)) $((i % 7))
	done >"$BATS_TEST_TMPDIR/in"
	printf '{"ts":"2026-01-01T00:00:01Z","g":"a","v":null}\n{"ts":"2026-01-01T00:00:01Z","g":"a"}\n' >>"$BATS_TEST_TMPDIR/in"
	run_split winagg -g g -W 1s -m append -a 'n=count' -a 'd=approx_count_distinct(v)' "$BATS_TEST_TMPDIR/in"
	assert_status 0
	# 40 and 7 distinct values in 512 registers: linear counting's standard
	# error there is about 3 % (40) and 1 % (7); within 3 of them
	[ "$(echo "$output" | jq -r '[.g, .n] | map(tostring) | join(" ")' | tr '\n' '|')" = "a 302|b 300|" ]
	echo "$output" | jq -se '(.[0].d - 40 | fabs) <= 4 and (.[1].d - 7 | fabs) <= 1'
	# "1" and 1 are two values (their JSON texts differ)
	printf '{"ts":"2026-01-01T00:00:01Z","v":1}\n{"ts":"2026-01-01T00:00:01Z","v":"1"}\n{"ts":"2026-01-01T00:00:01Z","v":1}\n' |
		winagg -g '' -W 1s -m append -a 'd=approx_count_distinct(v)' | jq -e '.d == 2' 
}

@test "approx_count_distinct: a snapshot restores the sketch exactly (one run = two runs with a restart)" {
	ordgen -n 20000 --seed 9 >"$BATS_TEST_TMPDIR/o"
	head -8000 "$BATS_TEST_TMPDIR/o" >"$BATS_TEST_TMPDIR/a"
	tail -n +8001 "$BATS_TEST_TMPDIR/o" >"$BATS_TEST_TMPDIR/b"
	A=(-g region -w 1h -a 'd=approx_count_distinct(orderid)' -a 'i=approx_count_distinct(itemid,0.02)')
	winagg "${A[@]}" "$BATS_TEST_TMPDIR/o" | jq -c '[.region, .d, .i]' | sort >"$BATS_TEST_TMPDIR/one"
	winagg "${A[@]}" --checkpoint "$BATS_TEST_TMPDIR/ck" "$BATS_TEST_TMPDIR/a" >/dev/null
	winagg "${A[@]}" --checkpoint "$BATS_TEST_TMPDIR/ck" --restore latest "$BATS_TEST_TMPDIR/b" |
		grep -v _checkpoint | jq -c '[.region, .d, .i]' | sort >"$BATS_TEST_TMPDIR/two"
	# update mode: the last row of each region in each run
	jq -sc 'group_by(.[0]) | map(last) | .[]' "$BATS_TEST_TMPDIR/one" >"$BATS_TEST_TMPDIR/one.last"
	jq -sc 'group_by(.[0]) | map(last) | .[]' "$BATS_TEST_TMPDIR/two" >"$BATS_TEST_TMPDIR/two.last"
	[ "$(wc -l <"$BATS_TEST_TMPDIR/one.last")" -eq 6 ]
	assert_same "$BATS_TEST_TMPDIR/one.last" "$BATS_TEST_TMPDIR/two.last"
}

@test "no cap on windows per row: -w 1h -s 1s puts a row in 3600 windows, as Spark does" {
	run_split winagg -w 1h -s 1s -g '' -W 1s -m append <<<'{"ts":"2026-01-01T00:00:10Z","count":2}'
	assert_status 0
	# starts from 23:00:11 the day before to 00:00:10, each with the one row
	[ "$(echo "$output" | jq -s 'length')" -eq 3600 ]
	[ "$(echo "$output" | jq -s 'map(select(.orders == 1 and .items == 2)) | length')" -eq 3600 ]
	[ "$(echo "$output" | head -1 | jq -r .window_start)" = "2025-12-31T23:00:11.000Z" ]
	[ "$(echo "$output" | tail -1 | jq -r .window_start)" = "2026-01-01T00:00:10.000Z" ]
}

@test "--stats: Spark's eventTime (min, avg, max of the rows since the previous line) and the batch id" {
	printf '{"ts":"2026-01-01T00:00:%s","shopid":1,"region":"SG","count":1}\n' 10Z 40Z 04Z >"$BATS_TEST_TMPDIR/in"
	run_split winagg --stats 1h --trigger-rows 10 "$BATS_TEST_TMPDIR/in"
	assert_status 0
	# the final line: the three rows (avg of 10, 40 and 4 s is 18 s), one batch ended
	[ "$(echo "$stderr" | grep '"final":true' | jq -c '[.event_time_min, .event_time_avg, .event_time_max, .batch_id]')" = \
		'["2026-01-01T00:00:04.000Z","2026-01-01T00:00:18.000Z","2026-01-01T00:00:40.000Z",2]' ]
}

@test "--stats: the last batch's changed groups and late rows (Spark's numRowsUpdated, numRowsDroppedByWatermark)" {
	# Windows of 60 s, -W 5s, batches of 4 rows.
	# Batch 1: shops 1, 2, 1, 3 at 00:00:01-00:00:30, all in [0,60s): 3 groups
	# change; the watermark becomes 00:00:25.
	# Batch 2: shop 1 at 00:01:30 ([60s,120s)), shops 1 and 3 at 00:00:02 and
	# 00:00:03 ([0,60s) still open), shop 2 at 00:01:40: 4 groups change;
	# the watermark becomes 00:01:35 and [0,60s) closes.
	# Batch 3 (end of input, 2 rows): shop 1 at 00:00:50 is late; shop 3 at
	# 00:01:50 changes 1 group.
	{
		printf '{"ts":"2026-01-01T00:00:%s","shopid":%d,"region":"SG","count":1}\n' 01Z 1 10Z 2 20Z 1 30Z 3
		printf '{"ts":"2026-01-01T00:%s","shopid":%d,"region":"SG","count":1}\n' 01:30Z 1 00:02Z 1 00:03Z 3 01:40Z 2
		printf '{"ts":"2026-01-01T00:%s","shopid":%d,"region":"SG","count":1}\n' 00:50Z 1 01:50Z 3
	} >"$BATS_TEST_TMPDIR/in"
	run_split winagg -W 5s --stats 1h --trigger-rows 4 "$BATS_TEST_TMPDIR/in"
	assert_status 0
	[ "$(echo "$stderr" | grep '"final":true' | jq -c '[.batch_updated_groups, .batch_late_rows, .late_rows, .batches]')" = '[1,1,1,3]' ]
	# and after two batches (a file of the first eight rows)
	head -8 "$BATS_TEST_TMPDIR/in" >"$BATS_TEST_TMPDIR/in8"
	run_split winagg -W 5s --stats 1h --trigger-rows 4 "$BATS_TEST_TMPDIR/in8"
	[ "$(echo "$stderr" | grep '"final":true' | jq -c '[.batch_updated_groups, .batch_late_rows, .batches]')" = '[4,0,2]' ]
}

@test "--stats: duration_ms by phase adds up to the run's time; processed_rate leaves out the waiting" {
	ordgen -n 200000 >"$BATS_TEST_TMPDIR/o"
	# a pause in the input: the one second counts as wait, not as work
	{ head -100000 "$BATS_TEST_TMPDIR/o"; sleep 1; tail -n +100001 "$BATS_TEST_TMPDIR/o"; } |
		winagg --stats 1h --checkpoint "$BATS_TEST_TMPDIR/ck" 2>"$BATS_TEST_TMPDIR/err" >/dev/null
	line=$(grep '"final":true' "$BATS_TEST_TMPDIR/err")
	[ "$(echo "$line" | jq -c '.duration_ms | keys')" = '["aggregate","emit","read","snapshot","wait"]' ]
	# the phases split the whole run: their sum is uptime_s (to 2 % or 20 ms)
	echo "$line" | jq -e '(.duration_ms | add) as $s | (.uptime_s * 1000) as $u |
		($s - $u | fabs) <= ([20, $u * 0.02] | max)'
	echo "$line" | jq -e '.duration_ms.wait >= 900'
	# processed_rate: rows per second of the time not waiting, so above in_rate here
	echo "$line" | jq -e '.processed_rate > .in_rate and
		((.in / ((.duration_ms | add) - .duration_ms.wait) * 1000) - .processed_rate | fabs) <= .processed_rate * 0.05'
}

@test "first and last of values that are not numbers: strings (decoded, minimally escaped), booleans, objects; numbers stay numbers" {
	printf '%s\n' '{"ts":"2026-01-01T00:00:05Z","r":"S\u0047","v":true}' '{"ts":"2026-01-01T00:00:01Z","r":"MY","v":{"a":[1,2]}}' \
		'{"ts":"2026-01-01T00:00:09Z","r":"é\"x","v":7}' '{"ts":"2026-01-01T00:00:03Z","r":null}' >"$BATS_TEST_TMPDIR/in"
	run_split winagg -g '' -a 'f=first(r)' -a 'l=last(r)' -a 'fv=first(v)' -a 'lv=last(v)' -W 1s -m append "$BATS_TEST_TMPDIR/in"
	assert_status 0
	# by event time: first is the row at 1 s, last the row at 9 s; null is skipped
	[ "$(echo "$output" | jq -c '[.f, .l, .fv, .lv]')" = '["MY","é\"x",{"a":[1,2]},7]' ]
	# "S\u0047" is written as "SG"
	printf '%s\n' '{"ts":"2026-01-01T00:00:05Z","r":"S\u0047"}' | winagg -g '' -a 'f=first(r)' | grep -qF '"f":"SG"'
}

@test "count_distinct: exact on 10^6 values (against sort -u), by JSON text, nulls skipped; in the snapshot" {
	ordgen -n 1000000 --seed 8 >"$BATS_TEST_TMPDIR/o"
	exact=$(jq -r .orderid "$BATS_TEST_TMPDIR/o" | sort -u | wc -l)
	items=$(jq -r .itemid "$BATS_TEST_TMPDIR/o" | sort -u | wc -l)
	run_split winagg -g '' -w 1d -W 1s -m append -a 'd=count_distinct(orderid)' -a 'i=count_distinct(itemid)' "$BATS_TEST_TMPDIR/o"
	assert_status 0
	[ "$(echo "$output" | jq -c '[.d, .i]')" = "[$exact,$items]" ]
	printf '%s\n' '{"ts":1,"v":1}' '{"ts":1,"v":"1"}' '{"ts":1,"v":1}' '{"ts":1,"v":null}' '{"ts":1}' '{"ts":1,"v":"\u0031"}' |
		winagg --time-unit s -g '' -W 1s -m append -a 'd=count_distinct(v)' | jq -e '.d == 2'
	# a restart from a snapshot: one run = two runs
	head -3000 "$BATS_TEST_TMPDIR/o" | awk '{ sub(/}$/, ",\"_pos\":\"t/0/" NR-1 "\"}"); print }' >"$BATS_TEST_TMPDIR/p"
	A=(-g region -w 1h -a 'd=count_distinct(shopid)' -a 'f=first(orderid)' -a 'l=last(orderid)')
	winagg "${A[@]}" "$BATS_TEST_TMPDIR/p" | jq -sc 'group_by(.region) | map(last | [.region, .d, .f, .l]) | .[]' >"$BATS_TEST_TMPDIR/one"
	head -1000 "$BATS_TEST_TMPDIR/p" | winagg "${A[@]}" --checkpoint "$BATS_TEST_TMPDIR/ck" >/dev/null
	tail -n +1001 "$BATS_TEST_TMPDIR/p" | winagg "${A[@]}" --checkpoint "$BATS_TEST_TMPDIR/ck" --restore latest |
		grep -v _checkpoint | jq -sc 'group_by(.region) | map(last | [.region, .d, .f, .l]) | .[]' >"$BATS_TEST_TMPDIR/two"
	[ "$(wc -l <"$BATS_TEST_TMPDIR/one")" -eq 6 ]
	assert_same "$BATS_TEST_TMPDIR/one" "$BATS_TEST_TMPDIR/two"
}

@test "percentile_approx: the value at rank ceil(P n) when the summary is exact; integers stay integers; nulls skipped; none: null" {
	printf '{"ts":1,"v":%s}\n' 4 1 3 2 null >"$BATS_TEST_TMPDIR/in"
	printf '{"ts":1,"w":2.5}\n' >>"$BATS_TEST_TMPDIR/in"
	run_split winagg --time-unit s -g '' -W 1s -m append -a 'h=percentile_approx(v,0.5)' -a 'q=percentile_approx(v,0.75)' \
		-a 'lo=percentile_approx(v,0)' -a 'hi=percentile_approx(v,1)' -a 'w=percentile_approx(w,0.5)' -a 'z=percentile_approx(zz,0.5)' "$BATS_TEST_TMPDIR/in"
	assert_status 0
	# 1 2 3 4: rank ceil(0.5*4) = 2, ceil(0.75*4) = 3
	[ "$(echo "$output" | jq -c '[.h, .q, .lo, .hi, .w, .z]')" = '[2,3,1,4,2.5,null]' ]
	run_split winagg -a 'p=percentile_approx(count)' </dev/null
	assert_status 2
	[[ "$stderr" == "winagg: --agg: percentile_approx needs a percentage in 'p=percentile_approx(count)' (FIELD,P)"* ]]
	run_split winagg -a 'p=percentile_approx(count,1.5)' </dev/null
	assert_status 2
	run_split winagg -a 'p=percentile_approx(count,0.5,0)' </dev/null
	assert_status 2
	[[ "$stderr" == *"the accuracy in 'p=percentile_approx(count,0.5,0)' must be a whole number from 1"* ]]
}

@test "percentile_approx on 10^6 values: the answer's rank within n / accuracy of ceil(P n), at accuracy 10000, 1000 and 100; one run = a restart" {
	python3 -c '
import json, random
r = random.Random(3)
for i in range(1000000):
    print(json.dumps({"ts": 1, "v": round(r.lognormvariate(0, 1) * 1000, 3), "_pos": "t/0/%d" % i}))' >"$BATS_TEST_TMPDIR/in"
	A=(--time-unit s -g '' -W 1s -m append -a 'a=percentile_approx(v,0.5)' -a 'b=percentile_approx(v,0.99)'
		-a 'c=percentile_approx(v,0.25,1000)' -a 'd=percentile_approx(v,0.9,100)')
	winagg "${A[@]}" "$BATS_TEST_TMPDIR/in" >"$BATS_TEST_TMPDIR/one"
	python3 - "$BATS_TEST_TMPDIR/in" "$BATS_TEST_TMPDIR/one" <<-'PY'
		import bisect, json, math, sys
		vals = sorted(json.loads(l)["v"] for l in open(sys.argv[1]))
		n, o = len(vals), json.loads(open(sys.argv[2]).read())
		for k, p, acc in (("a", .5, 10000), ("b", .99, 10000), ("c", .25, 1000), ("d", .9, 100)):
		    lo, hi = bisect.bisect_left(vals, o[k]) + 1, bisect.bisect_right(vals, o[k])
		    rank = math.ceil(p * n)
		    err = 0 if lo <= rank <= hi else min(abs(lo - rank), abs(hi - rank))
		    assert err <= n / acc, (k, o[k], lo, hi, rank, err)
	PY
	# the summaries are in the snapshot as they are: a restart gives the same answers
	head -400000 "$BATS_TEST_TMPDIR/in" | winagg "${A[@]}" --checkpoint "$BATS_TEST_TMPDIR/ck" >/dev/null
	tail -n +400001 "$BATS_TEST_TMPDIR/in" | winagg "${A[@]}" --checkpoint "$BATS_TEST_TMPDIR/ck" --restore latest |
		grep -v _checkpoint | tail -1 >"$BATS_TEST_TMPDIR/two"
	assert_same "$BATS_TEST_TMPDIR/one" "$BATS_TEST_TMPDIR/two"
}

# panes: sliding windows in append mode, combined when the watermark closes
# them, against the per-window path of update mode (its last row of each
# window is the window's final value) on the same random streams
@test "panes: append mode's sliding windows equal update mode's final rows, late rows too, with 1 and 3 partitions" {
	A=(-g g -a n=count -a s='sum(v)' -a lo='min(v)' -a hi='max(v)' -a m='avg(v)')
	for seed in 11 12 13 14 15 16; do
		parts=$(( seed % 2 * 2 + 1 ))
		python3 "$BATS_TEST_DIRNAME/helpers/gen_rows.py" --pos --parts "$parts" "$seed" 500 >"$BATS_TEST_TMPDIR/in"
		size=$(( (seed % 3 + 2) * 6000 )); slide=$(( size / (seed % 3 + 2) )); [ "$seed" -eq 13 ] && slide=5000
		W=(-w "${size}ms" -s "${slide}ms" -W "$(( seed % 4 * 2000 ))ms" --trigger-rows $(( seed % 3 + 1 )))
		winagg "${A[@]}" "${W[@]}" -m append --late "$BATS_TEST_TMPDIR/late.a" -v "$BATS_TEST_TMPDIR/in" \
			2>"$BATS_TEST_TMPDIR/err" | jq -c '[.rowkey, .n, .s, .lo, .hi, .m]' | sort >"$BATS_TEST_TMPDIR/append"
		grep -q 'panes of' "$BATS_TEST_TMPDIR/err" # the pane path ran
		winagg "${A[@]}" "${W[@]}" -m update --late "$BATS_TEST_TMPDIR/late.u" "$BATS_TEST_TMPDIR/in" |
			jq -sc 'group_by(.rowkey) | map(last | [.rowkey, .n, .s, .lo, .hi, .m]) | .[]' | sort >"$BATS_TEST_TMPDIR/update"
		echo "seed $seed parts $parts ${W[*]}" >&2
		[ "$(wc -l <"$BATS_TEST_TMPDIR/append")" -gt 50 ]
		assert_same "$BATS_TEST_TMPDIR/update" "$BATS_TEST_TMPDIR/append"
		assert_same "$BATS_TEST_TMPDIR/late.u" "$BATS_TEST_TMPDIR/late.a"
		rm -f "$BATS_TEST_TMPDIR/late.u" "$BATS_TEST_TMPDIR/late.a"
	done
}

@test "panes: a restart from the snapshot at any of three cuts gives the one run's final rows, append and update mode (format 8 holds the panes)" {
	python3 "$BATS_TEST_DIRNAME/helpers/gen_rows.py" --pos --parts 3 21 600 >"$BATS_TEST_TMPDIR/in"
	final() { jq -sc 'map(select(has("rowkey"))) | group_by(.rowkey) | map(last | [.rowkey, .n, .s, .hi]) | .[]'; }
	for mode in append update; do
		A=(-g g -a n=count -a s='sum(v)' -a hi='max(v)' -w 20s -s 5s -W 4s -m "$mode" --trigger-rows 7)
		winagg "${A[@]}" "$BATS_TEST_TMPDIR/in" | final >"$BATS_TEST_TMPDIR/one"
		[ "$(wc -l <"$BATS_TEST_TMPDIR/one")" -gt 100 ]
		for cut in 97 300 451; do
			rm -rf "$BATS_TEST_TMPDIR/ck"
			{
				head -n "$cut" "$BATS_TEST_TMPDIR/in" | winagg "${A[@]}" --checkpoint "$BATS_TEST_TMPDIR/ck"
				tail -n +$((cut + 1)) "$BATS_TEST_TMPDIR/in" | winagg "${A[@]}" --checkpoint "$BATS_TEST_TMPDIR/ck" --restore latest
			} | final >"$BATS_TEST_TMPDIR/two"
			echo "mode $mode cut $cut" >&2
			assert_same "$BATS_TEST_TMPDIR/one" "$BATS_TEST_TMPDIR/two"
		done
	done
}

@test "panes: a row whose window sum would overflow is refused though no pane would" {
	# [0,20s) holds both big rows, each in its own 10 s pane: 2^62 + 2^62 is past 2^63 - 1
	printf '%s\n' '{"ts":5000,"v":4611686018427387904}' '{"ts":15000,"v":4611686018427387904}' \
		'{"ts":16000,"v":1}' >"$BATS_TEST_TMPDIR/in"
	run_split winagg -g '' -a s='sum(v)' -w 20s -s 10s -W 1h -m append "$BATS_TEST_TMPDIR/in"
	assert_status 3
	[[ "$stderr" == *"in:2: sum 's' overflows a 64-bit integer"* ]]
	# with --rejects the row is set aside: [-10s,10s) has the first, [0,20s)
	# the first and the third, [10s,30s) the third
	winagg -g '' -a s='sum(v)' -w 20s -s 10s -W 1h -m append --rejects "$BATS_TEST_TMPDIR/rej" \
		"$BATS_TEST_TMPDIR/in" | sed 's/.*"window_start":"[^"]*\(..\)\.000Z".*"s":\([-0-9]*\)}$/\1 \2/' \
		>"$BATS_TEST_TMPDIR/out" # not jq: it reads these integers as doubles
	printf '%s\n' '50 4611686018427387904' '00 4611686018427387905' '10 1' >"$BATS_TEST_TMPDIR/want"
	assert_same "$BATS_TEST_TMPDIR/want" "$BATS_TEST_TMPDIR/out"
	[ "$(wc -l <"$BATS_TEST_TMPDIR/rej")" -eq 1 ]
}

@test "golden snapshot: version 7 of sliding windows in append mode (a window per entry) restores into panes" {
	# made by winagg before panes from {"ts":12000,"v":2} and {"ts":14000,"v":3}:
	# [0,20s) and [10s,30s) open with n=2 s=5 each, watermark 9 s
	d=$BATS_TEST_TMPDIR/v7
	mkdir -p "$d"
	cp "$FIX/winagg/golden/v7-sliding-append-ckpt-00000000000000000001" "$d/ckpt-00000000000000000001"
	echo '{"ts":25000,"v":10}' | winagg -g '' -a n=count -a s='sum(v)' -w 20s -s 10s -W 5s -m append \
		--checkpoint "$d" --restore latest | grep -v _checkpoint | jq -c '[.window_start[17:19], .n, .s]' >"$BATS_TEST_TMPDIR/out"
	# the new row (25 s) joins [10s,30s) and opens [20s,40s)
	printf '%s\n' '["00",2,5]' '["10",3,15]' '["20",1,10]' >"$BATS_TEST_TMPDIR/want"
	assert_same "$BATS_TEST_TMPDIR/want" "$BATS_TEST_TMPDIR/out"
}

@test "panes in update mode: a batch of three rows writes each window it changed once, whole, in the order of the rows" {
	# one batch (the file): a@5s is in [0,20s) and [-10s,10s), b@15s in
	# [10s,30s) and [0,20s), a@12s in [10s,30s) and [0,20s) again; each
	# window once, in the order a row first changed it, a row's windows
	# from the latest start back
	printf '%s\n' '{"ts":5000,"g":"a"}' '{"ts":15000,"g":"b"}' '{"ts":12000,"g":"a"}' >"$BATS_TEST_TMPDIR/in"
	winagg -g g -a n=count -w 20s -s 10s -v --stats-file "$BATS_TEST_TMPDIR/st" "$BATS_TEST_TMPDIR/in" \
		2>"$BATS_TEST_TMPDIR/err" | jq -c '[.window_start[17:19], .g, .n]' >"$BATS_TEST_TMPDIR/out"
	printf '%s\n' '["00","a",2]' '["50","a",1]' '["10","b",1]' '["00","b",1]' '["10","a",1]' >"$BATS_TEST_TMPDIR/want"
	assert_same "$BATS_TEST_TMPDIR/want" "$BATS_TEST_TMPDIR/out"
	grep -q 'panes of 10000 ms' "$BATS_TEST_TMPDIR/err"
	# the five windows are the batch's updated groups, as without panes
	[ "$(jq '.batch_updated_groups' "$BATS_TEST_TMPDIR/st")" -eq 5 ]
}
