#!/usr/bin/env bats
# ordgen: determinism, shape of the records, flags and their errors.

load helpers/common

@test "the same seed and flags give byte-identical output" {
	a=$(ordgen -n 20000 --seed 42 --disorder 3s | md5sum)
	b=$(ordgen -n 20000 --seed 42 --disorder 3s | md5sum)
	[ "$a" = "$b" ]
	c=$(ordgen -n 20000 --seed 43 --disorder 3s | md5sum)
	[ "$a" != "$c" ]
}

@test "--count writes exactly that many lines, each a JSON object with the six fields" {
	ordgen -n 1000 >"$BATS_TEST_TMPDIR/o"
	[ "$(wc -l <"$BATS_TEST_TMPDIR/o")" -eq 1000 ]
	bad=$(jq -c 'select((keys_unsorted != ["orderid","itemid","shopid","region","count","ts"])
		or (.orderid|type) != "string" or (.itemid|type) != "number"
		or (.shopid|type) != "number" or (.region|type) != "string"
		or (.count|type) != "number" or (.ts|type) != "string")' "$BATS_TEST_TMPDIR/o" | wc -l)
	[ "$bad" -eq 0 ]
}

@test "values stay in the ranges the flags set" {
	ordgen -n 5000 --shops 7 --items 3 --regions AA,BB --max-count 2 >"$BATS_TEST_TMPDIR/o"
	run jq -s -c '[ (map(.shopid)|min), (map(.shopid)|max), (map(.itemid)|min), (map(.itemid)|max),
		(map(.region)|unique), (map(.count)|min), (map(.count)|max) ]' "$BATS_TEST_TMPDIR/o"
	[ "$output" = '[1,7,1,3,["AA","BB"],1,2]' ]
}

@test "orderids are unique within a run" {
	n=$(ordgen -n 200000 | jq -r .orderid | sort -u | wc -l)
	[ "$n" -eq 200000 ]
}

@test "--start and --step make the event-time clock" {
	run ordgen -n 3 --start 2026-11-24T10:00:59.999Z --step 500ms
	[ "$(echo "$output" | jq -r .ts | tr '\n' ' ')" = "2026-11-24T10:00:59.999Z 2026-11-24T10:01:00.499Z 2026-11-24T10:01:00.999Z " ]
}

@test "--start before 1970 and an offset are converted to UTC" {
	run ordgen -n 2 --start 1970-01-01T07:59:59.999+08:00 --step 1ms
	[ "$(echo "$output" | jq -r .ts | tr '\n' ' ')" = "1969-12-31T23:59:59.999Z 1970-01-01T00:00:00.000Z " ]
}

@test "--disorder makes ts lag the clock by at most DUR, never lead it" {
	ordgen -n 2000 --start 2026-01-01T00:00:00Z --step 1s --disorder 10s >"$BATS_TEST_TMPDIR/o"
	# Order i has clock 2026-01-01T00:00:00Z + i s; lag = clock - ts in [0, 10 s].
	run jq -s -c '[to_entries[] | ((.key) - ((.value.ts | sub("\\.[0-9]+Z$"; "Z") | fromdate) - 1767225600))
		| select(. < 0 or . > 10)] | length' "$BATS_TEST_TMPDIR/o"
	[ "$output" = 0 ]
	lagged=$(jq -r 'select(.ts | endswith("00.000Z") | not) | .ts' "$BATS_TEST_TMPDIR/o" | wc -l)
	[ "$lagged" -gt 0 ]
}

@test "ordgen | head -1 stops quietly" {
	run_split bash -c 'ordgen | head -1; echo "status ${PIPESTATUS[0]}"'
	[ "${lines[1]}" = "status 141" ] || [ "${lines[1]}" = "status 0" ]
	[ -z "$stderr" ]
	echo "${lines[0]}" | jq -e .orderid >/dev/null
}

@test "an unknown option exits 2 with a usage message" {
	run_split ordgen --bogus
	assert_status 2
	[ -z "$output" ]
	[[ "$stderr" == "ordgen: unknown option '--bogus'"* ]]
	[[ "$stderr" == *"usage: ordgen"* ]]
}

@test "bad values of flags exit 2 and name the flag" {
	for args in "-n x" "-n -1" "--rate 0" "--start 2026-13-01T00:00:00Z" "--step 5y" "--shops 0" "--regions ," "--seed"; do
		run_split ordgen $args
		assert_status 2
		[[ "$stderr" == ordgen:* ]]
	done
	run_split ordgen --start 2026-02-29T00:00:00Z
	[[ "$stderr" == *"day out of range"* ]]
}

@test "--help goes to stdout and exits 0; -V names the libraries each program links, and only those are loaded" {
	run_split ordgen --help
	assert_status 0
	[[ "$output" == "usage: ordgen"* ]]
	run_split ordgen -V
	assert_status 0
	[ "$output" = "ordgen (ordpipe) 0.1.0" ]
	[ "$(winagg -V)" = "winagg (ordpipe) 0.1.0" ]
	[[ "$(kcat-in -V)" == "kcat-in (ordpipe) 0.1.0"$'\n'"librdkafka "* ]]
	[[ "$(kcat-out -V)" == "kcat-out (ordpipe) 0.1.0"$'\n'"librdkafka "* ]]
	[[ "$(mysql-replace -V)" == "mysql-replace (ordpipe) 0.1.0"$'\n'"MariaDB Connector/C "* ]]
	# what the dynamic linker loads
	libs() { ldd "$(command -v "$1")" | grep -Eo 'lib(rdkafka|mariadb|json-c)' | sort -u | tr '\n' ' '; }
	[ "$(libs ordgen)" = "" ]
	[ "$(libs winagg)" = "" ]
	[ "$(libs kcat-in)" = "librdkafka " ]
	[ "$(libs kcat-out)" = "librdkafka " ]
	[ "$(libs mysql-replace)" = "libmariadb " ]
}

@test "--rate paces the output, and its event time follows the wall clock" {
	start=$(date +%s)
	run ordgen -n 5 --rate 10
	assert_status 0
	[ "${#lines[@]}" -eq 5 ]
	t=$(echo "${lines[0]}" | jq -r '.ts | sub("\\.[0-9]+Z$"; "Z") | fromdate')
	[ "$t" -ge "$((start - 1))" ] && [ "$t" -le "$((start + 5))" ]
}

@test "SIGTERM ends an endless run with complete lines and status 0" {
	ordgen --rate 1000 >"$BATS_TEST_TMPDIR/o" &
	pid=$!
	sleep 0.5
	kill -TERM "$pid"
	wait "$pid"
	[ "$(wc -l <"$BATS_TEST_TMPDIR/o")" -gt 10 ]
	run jq -c . "$BATS_TEST_TMPDIR/o"
	assert_status 0
}

@test "a full disk is an error, not a silent loss" {
	[ -w /dev/full ] || skip "no /dev/full"
	run_split bash -c 'ordgen -n 100000 >/dev/full'
	assert_status 1
	[[ "$stderr" == *"No space left on device"* ]]
}

@test "orders whose times would pass the year 9999 are refused before the first (status 2); endless output stops with what it wrote" {
	run_split ordgen --start 9999-12-31T23:59:59.998Z -n 3
	assert_status 2
	[ -z "$output" ]
	[[ "$stderr" == "ordgen: -n 3 orders from --start with --step 1ms (and --disorder) leave the years 0000-9999"* ]]
	run_split ordgen --start 9999-12-31T23:59:59.998Z
	assert_status 1
	[ "$(echo "$output" | jq -r .ts | tr '\n' ' ')" = "9999-12-31T23:59:59.998Z 9999-12-31T23:59:59.999Z " ]
	[ "$stderr" = "ordgen: event time left the years 0000-9999 after 2 orders" ]
}

@test "--stats writes a last line at exit with the totals, marked final" {
	run_split ordgen -n 10 --stats 1h
	assert_status 0
	echo "$stderr" | tail -1 | jq -e '.prog == "ordgen" and .final == true and .out == 10'
}
