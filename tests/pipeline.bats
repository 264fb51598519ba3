#!/usr/bin/env bats
# Flows through more than one program.

load helpers/common

@test "ordgen | winagg: counts and item sums agree with a jq recount of the same orders" {
	ordgen -n 20000 --seed 5 --step 7ms --shops 4 --regions A,B >"$BATS_TEST_TMPDIR/orders"
	winagg --window 60 "$BATS_TEST_TMPDIR/orders" |
		jq -r '[.window_start, .shopid, .region, .orders, .items] | map(tostring) | join(" ")' |
		sort >"$BATS_TEST_TMPDIR/got"
	# second method: jq truncates ts to its minute and groups
	jq -r '[(.ts[0:16] + ":00.000Z"), .shopid, .region, .count] | map(tostring) | join(" ")' \
		"$BATS_TEST_TMPDIR/orders" |
		awk '{k=$1" "$2" "$3; n[k]++; s[k]+=$4} END {for (k in n) print k, n[k], s[k]}' |
		sort >"$BATS_TEST_TMPDIR/want"
	assert_same "$BATS_TEST_TMPDIR/want" "$BATS_TEST_TMPDIR/got"
	[ "$(wc -l <"$BATS_TEST_TMPDIR/got")" -gt 8 ]
}

@test "a live pipe: update mode rows converge to the batch answer when upserted by rowkey" {
	ordgen -n 50000 --seed 9 --disorder 3s >"$BATS_TEST_TMPDIR/orders"
	winagg --watermark 1h "$BATS_TEST_TMPDIR/orders" | jq -c '{rowkey, orders, items}' | sort >"$BATS_TEST_TMPDIR/want"
	# through a pipe in small chunks, many micro-batches; keep the last row per rowkey
	python3 -c '
import sys, time
data = open(sys.argv[1], "rb").read().splitlines(keepends=True)
for i in range(0, len(data), 5000):
    sys.stdout.buffer.write(b"".join(data[i:i+5000])); sys.stdout.flush(); time.sleep(0.02)
' "$BATS_TEST_TMPDIR/orders" | winagg --watermark 1h -v 2>"$BATS_TEST_TMPDIR/err" |
		jq -c '{rowkey, orders, items}' >"$BATS_TEST_TMPDIR/rows"
	batches=$(grep -o '[0-9]* batches' "$BATS_TEST_TMPDIR/err" | cut -d' ' -f1)
	[ "$batches" -gt 1 ]
	jq -s -c 'reduce .[] as $r ({}; .[$r.rowkey] = $r) | .[]' "$BATS_TEST_TMPDIR/rows" | sort >"$BATS_TEST_TMPDIR/got"
	assert_same "$BATS_TEST_TMPDIR/want" "$BATS_TEST_TMPDIR/got"
}

@test "with a watermark, memory follows live windows: a long stream keeps few groups" {
	ordgen -n 1000000 --seed 3 --step 10ms --shops 10 --regions A | winagg --watermark 5s -v 2>"$BATS_TEST_TMPDIR/err" >/dev/null
	peak=$(grep -o 'peak [0-9]*' "$BATS_TEST_TMPDIR/err" | cut -d' ' -f2)
	# 10000 s of event time from a whole minute = 167 windows x 10 shops. A
	# batch of at most 100000 rows spans 1000 s; a batch evicts with the
	# watermark the batch before it set, so at most two batches' windows
	# (2000 s / 60 s + 2 partial = 35 windows x 10 shops) are live at once.
	[ "$peak" -le 350 ]
	grep -q '1670 groups evicted' "$BATS_TEST_TMPDIR/err"
}
