#!/usr/bin/env bats
# winagg --dedup: a row whose key was seen is dropped while the watermark
# has not passed the first row's event time + the delay (Spark's
# dropDuplicatesWithinWatermark); the keys are part of the snapshot.
# Expected answers are worked out by hand in the comments, or counted with
# jq from the input.

load helpers/common

# The worked example (times in seconds, each row its own batch, -W 10s):
#   1  o1 @1   new, expires 11          wm after: -9
#   2  o2 @2   new, expires 12          wm -8
#   3  o1 @5   duplicate (11 >= wm -8)  wm -5
#   4  o3 @30  new, expires 40          wm 20
#   5  o1 @31  o1 expired (11 < 20): counted again, expires 41
#   6  o1 @32  duplicate (41 >= 20)
# counted: 1, 2, 4, 5 -> [0,60) orders=4, items=1+2+4+5=12; duplicates 3, 6
worked() {
	local i=0 id ts
	for row in o1:01 o2:02 o1:05 o3:30 o1:31 o1:32; do
		i=$((i + 1))
		id=${row%%:*}
		ts=${row#*:}
		printf '{"orderid":"%s","shopid":1,"region":"SG","count":%d,"ts":"2026-01-01T00:00:%s.000Z"}\n' "$id" "$i" "$ts"
	done
}

agg() {
	jq -r '[.window_start[11:19], .orders, .items] | map(tostring) | join(" ")'
}

@test "the worked example: a duplicate within the watermark is dropped, one after it counts again" {
	worked >"$BATS_TEST_TMPDIR/in"
	run_split winagg -W 10s -m append --trigger-rows 1 --dedup orderid --dup "$BATS_TEST_TMPDIR/dups" -v "$BATS_TEST_TMPDIR/in"
	assert_status 0
	[ "$(echo "$output" | agg)" = "00:00:00 4 12" ]
	[ "$(jq -r .count "$BATS_TEST_TMPDIR/dups" | tr '\n' ' ')" = "3 6 " ]
	[[ "$stderr" == *"winagg: 2 duplicates dropped"* ]]
}

@test "without a watermark no key expires: every re-send is a duplicate until end of input" {
	worked >"$BATS_TEST_TMPDIR/in"
	run_split winagg --trigger-rows 1 --dedup orderid "$BATS_TEST_TMPDIR/in"
	assert_status 0
	# counted: 1, 2, 4 -> orders 3, items 7 (the last update row per window)
	[ "$(echo "$output" | tail -1 | agg)" = "00:00:00 3 7" ]
}

@test "a key of several fields: rows equal in all of them are duplicates, not in one" {
	printf '%s\n' \
		'{"a":1,"b":"x","ts":"2026-01-01T00:00:01Z","shopid":1,"region":"SG","count":1}' \
		'{"a":1,"b":"y","ts":"2026-01-01T00:00:02Z","shopid":1,"region":"SG","count":1}' \
		'{"b":"x","a":1,"ts":"2026-01-01T00:00:03Z","shopid":1,"region":"SG","count":1}' \
		'{"a":1.0,"b":"x","ts":"2026-01-01T00:00:04Z","shopid":1,"region":"SG","count":1}' >"$BATS_TEST_TMPDIR/in"
	run_split winagg --dedup a,b "$BATS_TEST_TMPDIR/in"
	assert_status 0
	# row 3 repeats row 1 (member order does not matter); 1.0 is not 1 (JSON text)
	[ "$(echo "$output" | tail -1 | agg)" = "00:00:00 3 3" ]
}

@test "--stats counts duplicates and the keys held" {
	worked >"$BATS_TEST_TMPDIR/in"
	run_split winagg -W 10s --trigger-rows 1 --dedup orderid --stats 1h "$BATS_TEST_TMPDIR/in"
	assert_status 0
	# held at the end: o3 (expires 40) and o1 again (41); o2 (12) and the
	# first o1 (11) were forgotten once the watermark reached 20
	[ "$(echo "$stderr" | grep '"final":true' | jq -r '[.duplicates, .dedup_keys] | map(tostring) | join(" ")')" = "2 2" ]
}

@test "exact across a restart: the keys are in the snapshot, so a re-send after it is still a duplicate" {
	worked >"$BATS_TEST_TMPDIR/in"
	head -2 "$BATS_TEST_TMPDIR/in" >"$BATS_TEST_TMPDIR/first"
	tail -n +3 "$BATS_TEST_TMPDIR/in" >"$BATS_TEST_TMPDIR/rest"
	winagg -W 10s -m append --trigger-rows 1 --dedup orderid --checkpoint "$BATS_TEST_TMPDIR/ck" "$BATS_TEST_TMPDIR/first" >/dev/null
	run_split winagg -W 10s -m append --trigger-rows 1 --dedup orderid --checkpoint "$BATS_TEST_TMPDIR/ck" \
		--restore latest "$BATS_TEST_TMPDIR/rest"
	assert_status 0
	# the same as one run: row 3 is a duplicate of row 1, held in the snapshot
	[ "$(echo "$output" | grep -v _checkpoint | agg)" = "00:00:00 4 12" ]
}

@test "a snapshot without --dedup is refused by a run with it (another configuration), and the other way" {
	worked >"$BATS_TEST_TMPDIR/in"
	winagg -W 10s --checkpoint "$BATS_TEST_TMPDIR/ck" "$BATS_TEST_TMPDIR/in" >/dev/null
	run_split winagg -W 10s --dedup orderid --checkpoint "$BATS_TEST_TMPDIR/ck" --restore latest </dev/null
	assert_status 2
	[[ "$stderr" == *"was made with another configuration"*"this run: "*"dedup=orderid"* ]]
}

@test "1000 orders re-sent after 5000 others: counted once within the watermark, twice past it" {
	# ordgen: one order per ms, so 6000 orders span 6 s of event time
	ordgen -n 6000 --seed 3 >"$BATS_TEST_TMPDIR/orders"
	head -1000 "$BATS_TEST_TMPDIR/orders" >>"$BATS_TEST_TMPDIR/orders"
	want=$(head -6000 "$BATS_TEST_TMPDIR/orders" | jq -s 'length')
	run_split winagg -W 60s -w 1h -m append --trigger-rows 100 --dedup orderid -v "$BATS_TEST_TMPDIR/orders"
	assert_status 0
	[ "$(echo "$output" | jq -s 'map(.orders) | add')" -eq "$want" ]
	[[ "$stderr" == *"winagg: 1000 duplicates dropped"* ]]
	# with a 1 s delay the watermark has passed the first 1000 (0-1 s + 1 s)
	# by the time they come back (5 s): they count again
	run_split winagg -W 1s -w 1h -m append --trigger-rows 100 --dedup orderid -v "$BATS_TEST_TMPDIR/orders"
	assert_status 0
	[ "$(echo "$output" | jq -s 'map(.orders) | add')" -eq 7000 ]
	[[ "$stderr" == *"winagg: 0 duplicates dropped"* ]]
}

@test "usage: --dup needs --dedup; --dedup needs a field" {
	run_split winagg --dup x </dev/null
	assert_status 2
	[[ "$stderr" == *"--dup needs --dedup FIELD[,FIELD]..."* ]]
	run_split winagg --dedup , </dev/null
	assert_status 2
	[[ "$stderr" == *"--dedup: name at least one field"* ]]
}
