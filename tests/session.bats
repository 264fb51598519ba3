#!/usr/bin/env bats
# winagg --session: session windows as Spark's session_window, with
# retractions in update and complete mode, checked against hand-worked
# answers and an independent model (helpers/session_model.py).

load helpers/common

# The worked example of ordpipe(7) (gap 5 s, one group): batch 1 has rows at
# 10, 12 and 20 s: sessions [10,17) with 2 rows and [20,25) with 1. Batch 2
# has a row at 16 s: [16,21) touches both, they merge into [10,25) with 4.
worked() {
	printf '{"ts":%d,"k":"A"}\n' 10 12 20 16 |
		winagg --time-unit s -g k --session 5s -a n=count --trigger-rows 3 "$@"
}
S10='1970-01-01T00:00:10.000Z'
S20='1970-01-01T00:00:20.000Z'
row() { printf '{"rowkey":"%s/session/\\"A\\"","window_start":"%s","window_end":"1970-01-01T00:00:%s.000Z","k":"A","n":%d}' "$1" "$1" "$2" "$3"; }
del() { printf '{"rowkey":"%s/session/\\"A\\"","_delete":true}' "$1"; }

@test "update mode: the sessions of each batch; a merge retracts the row it made stale" {
	run_split worked --stats 1h
	assert_status 0
	[ "$output" = "$(printf '%s\n' "$(row $S10 17 2)" "$(row $S20 25 1)" "$(del $S20)" "$(row $S10 25 4)")" ]
	# merges: sessions merged away (one); retractions written (one)
	echo "$stderr" | grep '"final":true' | jq -e '.merges == 1 and .retractions == 1 and .out == 4'
}

@test "append mode: each session once, when the watermark passes its end; end of input closes the rest" {
	# -W 0s: after batch 1 the watermark is 20 s, which is not past [10,17)
	# during batch 2 (the watermark moves at the end of a batch), so 16 s
	# still merges; end of input closes [10,25)
	run_split worked -W 0s -m append
	assert_status 0
	[ "$output" = "$(row $S10 25 4)" ]
	# a row whose own session ends at or before the watermark is late
	run_split winagg --time-unit s -g k --session 5s -a n=count -W 0s -m append --trigger-rows 1 \
		--late "$BATS_TEST_TMPDIR/late" --stats 1h < <(printf '{"ts":%d,"k":"A"}\n' 30 24 26)
	assert_status 0
	# 24 s: [24,29) ends before the watermark 30 s; 26 s: [26,31) merges with [30,35)
	[ "$(jq -c .ts "$BATS_TEST_TMPDIR/late")" = 24 ]
	[ "$output" = "$(printf '{"rowkey":"1970-01-01T00:00:26.000Z/session/\\"A\\"","window_start":"1970-01-01T00:00:26.000Z","window_end":"1970-01-01T00:00:35.000Z","k":"A","n":2}')" ]
	echo "$stderr" | grep '"final":true' | jq -e '.late_rows == 1 and .merges == 0 and .live_sessions == 0 and .retractions == 0'
}

@test "complete mode: every live session each batch, retractions first" {
	run_split worked -m complete
	assert_status 0
	[ "$output" = "$(printf '%s\n' "$(row $S10 17 2)" "$(row $S20 25 1)" "$(del $S20)" "$(row $S10 25 4)")" ]
}

@test "a session's rowkey holds while its start holds; a row before its start re-keys it (retracted)" {
	run_split winagg --time-unit s -g k --session 5s -a n=count --trigger-rows 1 < <(printf '{"ts":%d,"k":"A"}\n' 10 14 8)
	assert_status 0
	# 10: [10,15); 14: [10,19), same key; 8: [8,19), the old key deleted
	[ "$(echo "$output" | jq -r '[.rowkey[0:24], (._delete // .n)] | map(tostring) | join(" ")' | tr '\n' ',')" = \
		"$S10 1,$S10 2,$S10 true,1970-01-01T00:00:08.000Z 3," ]
}

@test "property: update mode with retractions applied = append mode = an independent model, on random streams" {
	for seed in 1 2 3 4 5; do
		python3 "$BATS_TEST_DIRNAME/helpers/gen_rows.py" "$seed" 400 --groups a,b,c,d >"$BATS_TEST_TMPDIR/in"
		b=$((seed * 3))
		python3 "$BATS_TEST_DIRNAME/helpers/session_model.py" --gap 5000 --delay 4000 --batch $b \
			<"$BATS_TEST_TMPDIR/in" >"$BATS_TEST_TMPDIR/model"
		A=(--time-unit ms -g g --session 5s -W 4s --trigger-rows $b -a n=count -a 's=sum(v)' "$BATS_TEST_TMPDIR/in")
		winagg -m append "${A[@]}" | jq -r '[.window_start, .window_end, (.g | tojson), .n, .s] | @tsv' |
			sort >"$BATS_TEST_TMPDIR/append"
		assert_same "$BATS_TEST_TMPDIR/model" "$BATS_TEST_TMPDIR/append"
		winagg -m update "${A[@]}" >"$BATS_TEST_TMPDIR/upd"
		[ "$(grep -c _delete "$BATS_TEST_TMPDIR/upd")" -gt 0 ] # merges across batches happened
		jq -sr 'reduce .[] as $r ({}; if $r._delete then del(.[$r.rowkey]) else .[$r.rowkey] = $r end) |
			.[] | [.window_start, .window_end, (.g | tojson), .n, .s] | @tsv' "$BATS_TEST_TMPDIR/upd" |
			sort >"$BATS_TEST_TMPDIR/table"
		assert_same "$BATS_TEST_TMPDIR/model" "$BATS_TEST_TMPDIR/table"
		[ "$(wc -l <"$BATS_TEST_TMPDIR/model")" -gt 50 ]
	done
}

@test "--gap-field: a row's own gap (a duration or ms); null or missing takes --session's; a bad one is a bad row" {
	printf '%s\n' '{"ts":10,"k":"A","gap":"20s"}' '{"ts":28,"k":"A"}' '{"ts":40,"k":"A","gap":null}' \
		'{"ts":50,"k":"A","gap":2000}' '{"ts":60,"k":"A","gap":"0s"}' '{"ts":61,"k":"A","gap":"x"}' >"$BATS_TEST_TMPDIR/in"
	run_split winagg --time-unit s -g k --session 5s --gap-field gap -a n=count -W 0s -m append \
		--rejects "$BATS_TEST_TMPDIR/rej" "$BATS_TEST_TMPDIR/in"
	assert_status 0
	# [10,30) and [28,33) merge; [40,45); [50,52)
	[ "$(echo "$output" | jq -r '[.window_start[17:19], .window_end[17:19], .n] | map(tostring) | join(" ")' | tr '\n' ',')" = \
		"10 33 2,40 45 1,50 52 1," ]
	[ "$(jq -r .line "$BATS_TEST_TMPDIR/rej" | tr '\n' ' ')" = "5 6 " ]
	jq -r .reason "$BATS_TEST_TMPDIR/rej" | grep -qx "gap field 'gap' is not a duration above 0 (\"30s\", or ms)"
}

@test "--session usage: not with --window, --slide or --offset; --gap-field needs it" {
	run_split winagg --session 5s -w 10s </dev/null
	assert_status 2
	[[ "$stderr" == "winagg: --session: sessions have no --window, --slide or --offset"* ]]
	run_split winagg --gap-field g </dev/null
	assert_status 2
	[[ "$stderr" == "winagg: --gap-field needs --session GAP"* ]]
	run_split winagg --session 0s </dev/null
	assert_status 2
	# a snapshot of windows is not restored into sessions, nor the reverse
	printf '{"ts":1,"k":"A","_pos":"t/0/0"}\n' | winagg --time-unit s -g k --checkpoint "$BATS_TEST_TMPDIR/ck" >/dev/null
	run_split winagg --time-unit s -g k --session 5s --checkpoint "$BATS_TEST_TMPDIR/ck" --restore latest </dev/null
	assert_status 2
	[[ "$stderr" == *"was made with another configuration"*"session=5000ms"* ]]
}

@test "--checkpoint: a run cut anywhere and restarted from its snapshot gives the one run's table, in every mode" {
	python3 "$BATS_TEST_DIRNAME/helpers/gen_rows.py" 4 400 --groups a,b,c --pos >"$BATS_TEST_TMPDIR/in"
	# the table an upserting sink ends with: deletes applied, the last row of a key wins
	table() { jq -sr 'reduce .[] as $r ({}; if $r._checkpoint then . elif $r._delete then del(.[$r.rowkey])
		else .[$r.rowkey] = $r end) | .[] | [.rowkey, .n, .s] | @tsv' | LC_ALL=C sort; }
	A=(--time-unit ms -g g --session 5s -W 4s --trigger-rows 1 -a n=count -a 's=sum(v)')
	for m in update append complete; do
		winagg "${A[@]}" -m $m "$BATS_TEST_TMPDIR/in" | table >"$BATS_TEST_TMPDIR/one"
		[ "$(wc -l <"$BATS_TEST_TMPDIR/one")" -gt 100 ]
		for cut in 100 137 333; do
			rm -rf "$BATS_TEST_TMPDIR/ck"
			{
				head -$cut "$BATS_TEST_TMPDIR/in" | winagg "${A[@]}" -m $m --checkpoint "$BATS_TEST_TMPDIR/ck"
				tail -n +$((cut + 1)) "$BATS_TEST_TMPDIR/in" |
					winagg "${A[@]}" -m $m --checkpoint "$BATS_TEST_TMPDIR/ck" --restore latest
			} | table >"$BATS_TEST_TMPDIR/two"
			assert_same "$BATS_TEST_TMPDIR/one" "$BATS_TEST_TMPDIR/two"
		done
	done
	# append mode: end of input wrote the open sessions; after the restart a
	# row before one's start merges it, and its old row is retracted
	rm -rf "$BATS_TEST_TMPDIR/ck"
	B=(--time-unit s -g k --session 5s -W 0s -m append -a n=count --checkpoint "$BATS_TEST_TMPDIR/ck")
	run_split winagg "${B[@]}" <<<'{"ts":10,"k":"A","_pos":"t/0/0"}'
	[ "$(echo "$output" | grep -v _checkpoint | jq -c '[.window_start[17:19], .n]')" = '["10",1]' ]
	run_split winagg "${B[@]}" --restore latest <<<'{"ts":7,"k":"A","_pos":"t/0/1"}'
	assert_status 0
	[ "$(echo "$output" | grep -v _checkpoint | jq -c '[.rowkey[17:19], ._delete // .n]' | tr '\n' ' ')" = '["10",true] ["07",2] ' ]
}

@test "sessions merge count_distinct, first and last exactly (and through a snapshot)" {
	# gap 10 s: [1,11) SG and [20,30) MY in batch 1; 10 s (VN) bridges them,
	# 11 s (SG) joins: one session [1,30) with SG, MY, VN; first SG (1 s), last MY (20 s)
	printf '{"ts":%d,"k":"A","r":"%s","_pos":"t/0/%d"}\n' 1 SG 0 20 MY 1 10 VN 2 11 SG 3 >"$BATS_TEST_TMPDIR/in"
	A=(--time-unit s -g k --session 10s -a 'd=count_distinct(r)' -a 'f=first(r)' -a 'l=last(r)' --trigger-rows 2)
	run_split winagg "${A[@]}" "$BATS_TEST_TMPDIR/in"
	assert_status 0
	[ "$(echo "$output" | tail -1 | jq -c '[.window_start[17:19], .window_end[17:19], .d, .f, .l]')" = '["01","30",3,"SG","MY"]' ]
	head -2 "$BATS_TEST_TMPDIR/in" | winagg "${A[@]}" --checkpoint "$BATS_TEST_TMPDIR/ck" >/dev/null
	run_split winagg "${A[@]}" --checkpoint "$BATS_TEST_TMPDIR/ck" --restore latest < <(tail -2 "$BATS_TEST_TMPDIR/in")
	assert_status 0
	[ "$(echo "$output" | grep -v _checkpoint | tail -1 | jq -c '[.window_start[17:19], .window_end[17:19], .d, .f, .l]')" = '["01","30",3,"SG","MY"]' ]
}

@test "sessions merge percentile_approx summaries: the merged session's median is its rows' median" {
	# [1,12) with 5 and 1, [20,31) with 9 and 7; 10 bridges them with 3:
	# one session [1,31) of 1 3 5 7 9: median 5, 0.8 at rank 4: 7
	printf '{"ts":%d,"k":"A","v":%d}\n' 1 5 2 1 20 9 21 7 10 3 |
		winagg --time-unit s -g k --session 10s -a 'm=percentile_approx(v,0.5)' -a 'p=percentile_approx(v,0.8)' --trigger-rows 4 >"$BATS_TEST_TMPDIR/out"
	[ "$(tail -1 "$BATS_TEST_TMPDIR/out" | jq -c '[.window_start[17:19], .window_end[17:19], .m, .p]')" = '["01","31",5,7]' ]
}

@test "a row whose merge would overflow a sum is a bad row, and the sessions stay as they were" {
	printf '%s\n' '{"ts":1,"k":"A","v":9223372036854775000}' '{"ts":20,"k":"A","v":9223372036854775000}' \
		'{"ts":10,"k":"A","v":1}' '{"ts":25,"k":"A","v":1}' >"$BATS_TEST_TMPDIR/in"
	run_split winagg --time-unit s -g k --session 10s -a 's=sum(v)' -a n=count --trigger-rows 2 \
		--rejects "$BATS_TEST_TMPDIR/rej" "$BATS_TEST_TMPDIR/in"
	assert_status 0
	# 10 s would join [1,11) and [20,30): their sums overflow; 25 s joins [20,30) alone
	jq -r .reason "$BATS_TEST_TMPDIR/rej" | grep -qx "merging the sessions it joins overflows a 64-bit integer"
	[ "$(jq -r .line "$BATS_TEST_TMPDIR/rej")" = 3 ]
	# (jq would round the sum: read the text)
	echo "$output" | tail -1 | grep -qF '"window_start":"1970-01-01T00:00:20.000Z","window_end":"1970-01-01T00:00:35.000Z","k":"A","s":9223372036854775001,"n":2}'
	[ "$(echo "$output" | grep -c _delete)" -eq 0 ]
}
