#!/usr/bin/env bats
# winagg on partitioned input (rows with "_pos", as kcat-out --positions
# writes them): a row is late only by the rows before it in its own
# partition, so the table does not depend on how partitions interleave, how
# batches are cut, or restarts; idle partitions stop holding windows open.

load helpers/common

PF=$FIX/winagg/partitions.ndjson
# one (window, orders) line per window: seconds of start and end, orders
win() { jq -r '[.window_start[17:19], .window_end[17:19], .orders] | @tsv'; }
# update-mode rows upserted by rowkey, as the sink keeps them
upsert() { jq -s -c 'reduce .[] as $r ({}; .[$r.rowkey] = $r) | .[]'; }

# partition P's rows of the worked example, in their order
part() { grep "\"t/$1/" "$PF"; }

@test "worked example: two partitions in any order and any batch cut give the hand-worked table" {
	for order in "0 1" "1 0" "mix"; do
		if [ "$order" = mix ]; then
			{ head -1 "$PF"; paste -d '\n' <(part 0) <(part 1); } >"$BATS_TEST_TMPDIR/in"
		else
			set -- $order
			{ head -1 "$PF"; part "$1"; part "$2"; } >"$BATS_TEST_TMPDIR/in"
		fi
		for tr in 1 2 1000; do
			for mode in append update; do
				run --separate-stderr winagg --time-unit s -g '' -w 10s -W 5s -m "$mode" \
					--trigger-rows "$tr" -v "$BATS_TEST_TMPDIR/in"
				assert_status 0
				echo "$output" | upsert | win | sort >"$BATS_TEST_TMPDIR/got"
				assert_same "$FIX/winagg/partitions.expected" "$BATS_TEST_TMPDIR/got"
				# p0's row at 8 s comes after p0 reached 30 s: late in its own partition
				[[ "$stderr" == *", 1 late rows (1 late windows),"* ]]
			done
		done
	done
}

@test "the same rows without _pos follow the one-stream model: p1's rows fall behind p0's watermark" {
	sed 's/,"_pos":"[^"]*"//' "$PF" | tail -n +2 >"$BATS_TEST_TMPDIR/in"
	run --separate-stderr winagg --time-unit s -g '' -w 10s -W 5s -m append --trigger-rows 1 -v "$BATS_TEST_TMPDIR/in"
	assert_status 0
	echo "$output" | win | sort >"$BATS_TEST_TMPDIR/got"
	assert_same "$FIX/winagg/partitions.global.expected" "$BATS_TEST_TMPDIR/got"
	[[ "$stderr" == *", 5 late rows (5 late windows),"* ]]
}

@test "a partition not announced by _assigned cannot hold windows open: its rows find them closed and are counted as such" {
	tail -n +2 "$PF" >"$BATS_TEST_TMPDIR/in" # p0's rows first, then p1's, no header
	run --separate-stderr winagg --time-unit s -g '' -w 10s -W 5s -m append --trigger-rows 1 -v \
		--late "$BATS_TEST_TMPDIR/late" "$BATS_TEST_TMPDIR/in"
	assert_status 0
	[[ "$stderr" == *", 5 late rows (5 late windows),"* ]]
	[[ "$stderr" == *"winagg: 4 late rows were on time in their partition but their window had closed"* ]]
	# every late row is in the late file, none lost without a trace
	[ "$(jq -r ._pos "$BATS_TEST_TMPDIR/late" | tr '\n' ' ')" = "t/0/3 t/1/0 t/1/1 t/1/2 t/1/3 " ]
}

@test "property: 8 partitions with truly late rows, 4 interleavings x 3 batch cuts x 2 modes, all equal an independent model" {
	python3 - "$BATS_TEST_TMPDIR" <<-'EOF'
		import json, random, sys
		d = sys.argv[1]
		rnd = random.Random(7)
		parts = []
		for p in range(8):
		    rows, t = [], 1767225600000 + rnd.randrange(0, 60000)
		    for o in range(300):
		        t += rnd.randrange(0, 900)
		        ts = t - rnd.randrange(0, 25000)  # up to 25 s behind: some rows late by -W 10s
		        rows.append({"ts": "%s" % ts, "shopid": rnd.randrange(5), "region": "SG", "count": 1 + o % 3,
		                     "_pos": "o/%d/%d" % (p, o)})
		    parts.append(rows)
		def iso(ms):
		    import datetime
		    return (datetime.datetime(1970, 1, 1) + datetime.timedelta(milliseconds=ms)).strftime("%Y-%m-%dT%H:%M:%S.") + "%03dZ" % (ms % 1000)
		for rows in parts:
		    for r in rows:
		        r["ts"] = iso(int(r["ts"]))
		orders = {
		    "seq": [r for rows in parts for r in rows],
		    "rev": [r for rows in reversed(parts) for r in rows],
		    "rr": [rows[i] for i in range(300) for rows in parts],
		}
		heads = [0] * 8
		mixed = []
		while len(mixed) < 2400:
		    p = rnd.randrange(8)
		    n = rnd.randrange(1, 60)
		    mixed += parts[p][heads[p]:heads[p] + n]
		    heads[p] = min(300, heads[p] + n)
		orders["chunks"] = mixed
		head = json.dumps({"_assigned": ["o/%d" % p for p in range(8)]}, separators=(",", ":"))
		for name, rows in orders.items():
		    with open("%s/%s" % (d, name), "w") as f:
		        f.write(head + "\n")
		        for r in rows:
		            f.write(json.dumps(r, separators=(",", ":")) + "\n")
	EOF
	python3 "$BATS_TEST_DIRNAME/helpers/partition_model.py" --pos --window 60000 --slide 20000 --delay 10000 \
		<"$BATS_TEST_TMPDIR/seq" >"$BATS_TEST_TMPDIR/want"
	late=$(python3 "$BATS_TEST_DIRNAME/helpers/partition_model.py" --pos --window 60000 --slide 20000 --delay 10000 --late <"$BATS_TEST_TMPDIR/seq")
	[ "$late" -gt 50 ] # the stream really has late rows
	[ "$(wc -l <"$BATS_TEST_TMPDIR/want")" -gt 50 ]
	for order in seq rev rr chunks; do
		for tr in 1 97 100000; do
			for mode in update append; do
				winagg -w 60s -s 20s -W 10s -m "$mode" --trigger-rows "$tr" "$BATS_TEST_TMPDIR/$order" |
					upsert | jq -r '[.rowkey, .orders, .items] | @tsv' | LC_ALL=C sort >"$BATS_TEST_TMPDIR/got"
				assert_same "$BATS_TEST_TMPDIR/want" "$BATS_TEST_TMPDIR/got"
			done
		done
	done
}

@test "a restart from a snapshot keeps each partition's event time: a row late before the crash is late after it" {
	d=$BATS_TEST_TMPDIR/ck
	printf '%s\n' '{"_assigned":["t/0","t/1"]}' '{"ts":1,"count":1,"_pos":"t/0/0"}' \
		'{"ts":30,"count":1,"_pos":"t/0/1"}' '{"ts":2,"count":1,"_pos":"t/1/0"}' >"$BATS_TEST_TMPDIR/a"
	run --separate-stderr winagg --time-unit s -g '' -w 10s -W 5s --checkpoint "$d" "$BATS_TEST_TMPDIR/a"
	assert_status 0
	[ "${lines[-1]}" = '{"_checkpoint":{"id":1,"event_time":"1970-01-01T00:00:30.000Z","positions":{"t/0":2,"t/1":1}}}' ]
	# p0 was at 30 s: its row at 8 s is late ([0,10) ends before 30 - 5); the
	# watermark of both partitions (p1 at 2 s) would not say so
	run --separate-stderr winagg --time-unit s -g '' -w 10s -W 5s --checkpoint "$d" --restore latest -v \
		<<<'{"ts":8,"count":1,"_pos":"t/0/2"}'
	assert_status 0
	[[ "$stderr" == *", 1 late rows (1 late windows),"* ]]
	# the same row of p1 (at 2 s) is on time: [0,10) is open for it
	run --separate-stderr winagg --time-unit s -g '' -w 10s -W 5s --checkpoint "$d" --restore 1 -v \
		<<<'{"ts":8,"count":1,"_pos":"t/1/1"}'
	assert_status 0
	[[ "$stderr" == *", 0 late rows (0 late windows),"* ]]
	[ "$(echo "$output" | jq -s 'map(select(.window_start == "1970-01-01T00:00:00.000Z")) | .[0].orders')" -eq 3 ]
}

@test "an idle partition stops holding windows open after --idle-timeout of waiting for input" {
	fifo_run winagg --time-unit s -g '' -w 10s -W 5s -m append --idle-timeout 300ms --stats 100ms -v
	printf '%s\n' '{"_assigned":["t/0","t/1"]}' '{"ts":1,"count":1,"_pos":"t/1/0"}' \
		'{"ts":1,"count":1,"_pos":"t/0/0"}' '{"ts":30,"count":1,"_pos":"t/0/1"}' >&5
	# p1 sends nothing more, nor does p0: once both are idle, the greatest
	# watermark (p0's, 25 s; Flink's rule) closes [0,10); p1 held it before
	wait_output
	[ "$(head -1 "$BATS_TEST_TMPDIR/out" | win)" = "$(printf '00\t10\t2')" ]
	wait_until 5 grep -q '"idle_partitions":2' "$BATS_TEST_TMPDIR/err"
	grep -q '"watermark":"1969-12-31T23:59:56.000Z",.*"idle_partitions":0' "$BATS_TEST_TMPDIR/err"
	grep -q '"watermark":"1970-01-01T00:00:25.000Z",.*"idle_partitions":2' "$BATS_TEST_TMPDIR/err"
	# p1 resumes behind: its row for the closed window is late and says why
	echo '{"ts":3,"count":1,"_pos":"t/1/1"}' >&5
	exec 5>&-
	wait_fifo_run
	assert_status 0
	[ "$(echo "$output" | win | tr '\n' ' ')" = "$(printf '00\t10\t2 30\t40\t1 ')" ]
	[[ "$stderr" == *"winagg: 1 late rows were on time in their partition but their window had closed"* ]]
}

@test "--idle-timeout 0: a quiet partition holds windows open until end of input" {
	fifo_run winagg --time-unit s -g '' -w 10s -W 5s -m append --idle-timeout 0
	printf '%s\n' '{"_assigned":["t/0","t/1"]}' '{"ts":1,"count":1,"_pos":"t/1/0"}' \
		'{"ts":1,"count":1,"_pos":"t/0/0"}' '{"ts":30,"count":1,"_pos":"t/0/1"}' >&5
	sleep 1.5
	[ ! -s "$BATS_TEST_TMPDIR/out" ]
	exec 5>&-
	wait_fifo_run
	assert_status 0
	[ "$(echo "$output" | win | tr '\n' ' ')" = "$(printf '00\t10\t2 30\t40\t1 ')" ]
}

@test "quiet input: the trailing snapshot and its record come within the checkpoint interval, not at the next row" {
	fifo_run winagg --time-unit s -g '' -w 10s --checkpoint "$BATS_TEST_TMPDIR/ck" --checkpoint-interval 1500ms
	printf '%s\n' '{"ts":1,"count":1,"_pos":"t/0/0"}' '{"ts":2,"count":1,"_pos":"t/0/1"}' >&5
	# both rows came well within the interval of the start: the record must
	# follow once it has passed, while the input stays open
	wait_until 10 grep -q '_checkpoint' "$BATS_TEST_TMPDIR/out"
	[ "$(grep -c '' "$BATS_TEST_TMPDIR/out")" -eq 2 ]
	[ "$(tail -1 "$BATS_TEST_TMPDIR/out")" = '{"_checkpoint":{"id":1,"event_time":"1970-01-01T00:00:02.000Z","positions":{"t/0":2}}}' ]
	[ "$(head -1 "$BATS_TEST_TMPDIR/out" | jq .orders)" -eq 2 ]
	exec 5>&-
	wait_fifo_run
	assert_status 0
}

@test "control records: a malformed _assigned is a bad record with its line" {
	run --separate-stderr winagg <<<'{"_assigned":"t/0"}'
	assert_status 3
	[[ "$stderr" == *"winagg: <stdin>:1: '_assigned' and '_revoked' take an array of partitions"* ]]
	run --separate-stderr winagg <<<'{"_assigned":["t/0",7]}'
	assert_status 3
	[[ "$stderr" == *"winagg: <stdin>:1: a partition list holds only strings"* ]]
	# a revoked partition holds nothing: windows close by the others
	run --separate-stderr winagg --time-unit s -g '' -w 10s -W 5s -m append --trigger-rows 1 < <(printf '%s\n' \
		'{"_assigned":["t/0","t/1"]}' '{"_revoked":["t/1"]}' '{"ts":1,"count":1,"_pos":"t/0/0"}' \
		'{"ts":30,"count":1,"_pos":"t/0/1"}' '{"ts":31,"count":1,"_pos":"t/0/2"}')
	assert_status 0
	[ "$(echo "$output" | head -1 | win)" = "$(printf '00\t10\t1')" ]
}
