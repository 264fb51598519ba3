#!/usr/bin/env bats
# kcat-in against the test broker; Debian's kcat reads back what it sent.

load helpers/common

setup_file() {
	load helpers/common
	broker_start -n 3
}

teardown_file() {
	broker_stop
}

@test "100 000 generated orders arrive once each, as the same lines" {
	broker_cmd topic rt 4
	ordgen -n 100000 --seed 7 >"$BATS_TEST_TMPDIR/in"
	# Keyed by orderid so the partitions fill evenly: the test broker keeps
	# about 5 MiB per partition.
	run_split kcat-in -t rt -k orderid <"$BATS_TEST_TMPDIR/in"
	assert_status 0
	[ -z "$stderr" ]
	kread rt >"$BATS_TEST_TMPDIR/got"
	sort "$BATS_TEST_TMPDIR/in" >"$BATS_TEST_TMPDIR/in.sorted"
	sort "$BATS_TEST_TMPDIR/got" >"$BATS_TEST_TMPDIR/got.sorted"
	[ "$(wc -l <"$BATS_TEST_TMPDIR/got")" -eq 100000 ]
	assert_same "$BATS_TEST_TMPDIR/in.sorted" "$BATS_TEST_TMPDIR/got.sorted"
}

@test "--key-field: the key is the field's value and each key stays in one partition" {
	broker_cmd topic keyed 4
	ordgen -n 5000 --seed 3 | kcat-in -t keyed -k shopid
	kread keyed -f '%p\t%k\t%s\n' >"$BATS_TEST_TMPDIR/got"
	[ "$(wc -l <"$BATS_TEST_TMPDIR/got")" -eq 5000 ]
	# The key equals the payload's shopid (read by jq, not by us).
	cut -f2 "$BATS_TEST_TMPDIR/got" >"$BATS_TEST_TMPDIR/keys"
	cut -f3 "$BATS_TEST_TMPDIR/got" | jq -r '.shopid' >"$BATS_TEST_TMPDIR/shops"
	assert_same "$BATS_TEST_TMPDIR/shops" "$BATS_TEST_TMPDIR/keys"
	# One partition per key, and more than one partition in use.
	[ "$(cut -f1,2 "$BATS_TEST_TMPDIR/got" | sort -u | cut -f2 | sort | uniq -d | wc -l)" -eq 0 ]
	[ "$(cut -f1 "$BATS_TEST_TMPDIR/got" | sort -u | wc -l)" -gt 1 ]
}

@test "several key fields are joined with '|', strings decoded, '%' and '|' encoded, missing is null" {
	broker_cmd topic keys2 1
	printf '%s\n' '{"r":"PH","s":94}' '{"r":"a|b%","s":"x\"y"}' '{"s":1.5}' '{"r":null,"s":true}' |
		kcat-in -t keys2 -k r,s
	kread keys2 -f '%k\n' >"$BATS_TEST_TMPDIR/got"
	printf '%s\n' 'PH|94' 'a%7Cb%25|x"y' 'null|1.5' 'null|true' >"$BATS_TEST_TMPDIR/want"
	assert_same "$BATS_TEST_TMPDIR/want" "$BATS_TEST_TMPDIR/got"
}

@test "--ts-field sets the message timestamp from the record's event time" {
	broker_cmd topic times 1
	printf '%s\n' '{"ts":"2026-01-01T00:00:00.005Z"}' '{"ts":"2025-12-31T23:00:00+08:00"}' '{"ts":1700000000123}' |
		kcat-in -t times --ts-field ts
	kread times -f '%T\n' >"$BATS_TEST_TMPDIR/got"
	{
		echo $(($(date -u -d 2026-01-01T00:00:00Z +%s) * 1000 + 5))
		echo $(($(date -u -d 2025-12-31T15:00:00Z +%s) * 1000))
		echo 1700000000123
	} >"$BATS_TEST_TMPDIR/want"
	assert_same "$BATS_TEST_TMPDIR/want" "$BATS_TEST_TMPDIR/got"
}

@test "a record whose time field is missing or not a time is a bad line" {
	broker_cmd topic badtime 1
	run_split kcat-in -t badtime --ts-field ts <<<'{"ts":"yesterday"}'
	assert_status 3
	[[ "$stderr" == "kcat-in: <stdin>:1: time field 'ts': "* ]]
	run_split kcat-in -t badtime --ts-field ts <<<'{"x":1}'
	assert_status 3
	[ "$stderr" = "kcat-in: <stdin>:1: no time field 'ts'" ]
}

@test "kcat-in refuses every event time winagg refuses, with the same reason (one rule), so nothing it sends stops winagg" {
	broker_cmd topic badtime2 1
	printf '%s\n' '{"ts":"2026-01-01T00:00:01\u005a"}' '{"ts":9223372036854775807}' \
		'{"ts":"292278994-08-17T07:12:55Z"}' '{"ts":"2026-02-30T00:00:00Z"}' '{"ts":true}' '{"x":1}' \
		'{"ts":1e400}' >"$BATS_TEST_TMPDIR/in"
	run_split kcat-in -t badtime2 --ts-field ts --rejects "$BATS_TEST_TMPDIR/krej" "$BATS_TEST_TMPDIR/in"
	assert_status 0
	run_split winagg --rejects "$BATS_TEST_TMPDIR/wrej" "$BATS_TEST_TMPDIR/in"
	assert_status 0
	[ "$(wc -l <"$BATS_TEST_TMPDIR/krej")" -eq 7 ]
	[ "$(jq -r .reason "$BATS_TEST_TMPDIR/krej")" = "$(jq -r .reason "$BATS_TEST_TMPDIR/wrej")" ]
	[ "$(jq -r .reason "$BATS_TEST_TMPDIR/krej" | head -2 | tr '\n' '|')" = "time field 'ts': not an RFC 3339 time|time field 'ts' is outside the years 0000-9999|" ]
	# and what kcat-in takes, winagg takes
	printf '%s\n' '{"ts":"2026-01-01T08:00:00+08:00"}' '{"ts":1767225600000}' '{"ts":1767225600000.9}' >"$BATS_TEST_TMPDIR/ok"
	run_split kcat-in -t badtime2 --ts-field ts "$BATS_TEST_TMPDIR/ok"
	assert_status 0
	run_split winagg -g '' "$BATS_TEST_TMPDIR/ok"
	assert_status 0
	[ "$(echo "$output" | jq .orders)" -eq 3 ]
}

@test "-H adds headers, and the payload is the line without insignificant whitespace" {
	broker_cmd topic hdrs 1
	printf '%s\n' '{ "a" : 1, "b": "x  y",	"c":[1, 2] }' | kcat-in -t hdrs -H app=ordpipe -H env=test
	run kread hdrs -f '%h|%s\n'
	[ "$output" = 'app=ordpipe,env=test|{"a":1,"b":"x  y","c":[1,2]}' ]
}

@test "-z compresses with the codec asked for, and the data reads back the same" {
	broker_cmd topic zipped 1
	for z in gzip snappy lz4 zstd; do
		echo "{\"z\":\"$z\"}" | kcat-in -t zipped -z "$z"
	done
	run kread zipped
	[ "$output" = "$(printf '%s\n' '{"z":"gzip"}' '{"z":"snappy"}' '{"z":"lz4"}' '{"z":"zstd"}')" ]
}

@test "-T writes each line once it is delivered; -c stops after N messages" {
	broker_cmd topic tee 2
	ordgen -n 300 --seed 5 >"$BATS_TEST_TMPDIR/in"
	run_split kcat-in -t tee -T -c 200 <"$BATS_TEST_TMPDIR/in"
	assert_status 0
	head -200 "$BATS_TEST_TMPDIR/in" | sort >"$BATS_TEST_TMPDIR/want"
	echo "$output" | sort >"$BATS_TEST_TMPDIR/got"
	assert_same "$BATS_TEST_TMPDIR/want" "$BATS_TEST_TMPDIR/got"
	[ "$(kread tee | wc -l)" -eq 200 ]
}

@test "a bad line stops the run with status 3; what came before is delivered" {
	broker_cmd topic bad1 1
	run_split kcat-in -t bad1 < <(printf '%s\n' '{"n":1}' 'not json' '{"n":3}')
	assert_status 3
	[ "$stderr" = "kcat-in: <stdin>:2: invalid JSON at byte 1: not JSON" ]
	[ "$(kread bad1)" = '{"n":1}' ]
}

@test "with --rejects, bad lines go to the file and the rest is delivered" {
	broker_cmd topic bad2 1
	printf '%s\n' '{"n":1}' '[1,2]' '{"n":' '' '{"n":4}' >"$BATS_TEST_TMPDIR/in"
	run_split kcat-in -t bad2 --rejects "$BATS_TEST_TMPDIR/rej" "$BATS_TEST_TMPDIR/in"
	assert_status 0
	[ "$stderr" = "kcat-in: 2 bad records written to '$BATS_TEST_TMPDIR/rej'" ]
	[ "$(kread bad2 | tr '\n' ' ')" = '{"n":1} {"n":4} ' ]
	run jq -c '[.line, .reason, .text]' "$BATS_TEST_TMPDIR/rej"
	[ "${lines[0]}" = '[2,"invalid JSON at byte 1: a JSON value but not an object","[1,2]"]' ]
	[ "${lines[1]}" = '[3,"invalid JSON at byte 6: unexpected end of input","{\"n\":"]' ]
}

@test "an unknown topic is an error at start, before any input is read" {
	broker_cmd unknown gone
	run_split timeout 30 kcat-in -t gone <<<'{"n":1}'
	assert_status 1
	[ "$stderr" = "kcat-in: topic 'gone': Broker: Unknown topic or partition" ]
}

@test "an unreachable cluster is an error within the -m bound, not a hang" {
	run_split timeout 30 kcat-in -b 127.0.0.1:1 -m 1 <<<'{"n":1}'
	assert_status 1
	[[ "$stderr" == "kcat-in: cannot reach the Kafka cluster within 1000 ms (is -b right?): "* ]]
}

@test "usage errors exit 2 before connecting: codec, property, key list, header" {
	run_split kcat-in -z brotli
	assert_status 2
	[[ "$stderr" == "kcat-in: -z: 'brotli' is not none, gzip, snappy, lz4 or zstd"* ]]
	run_split kcat-in -X no.such.property=1
	assert_status 2
	[[ "$stderr" == "kcat-in: -X: 'no.such.property=1': No such configuration property: \"no.such.property\""* ]]
	run_split kcat-in -k a,,b
	assert_status 2
	[[ "$stderr" == "kcat-in: -k: empty field name in 'a,,b'"* ]]
	run_split kcat-in -H novalue
	assert_status 2
	[[ "$stderr" == "kcat-in: -H: expected NAME=VALUE, not 'novalue'"* ]]
}

@test "-F reads a properties file, and -X wins over it wherever it is given" {
	broker_cmd topic conf 1
	printf '# comment\n\n  bootstrap.servers=127.0.0.1:1  \n' >"$BATS_TEST_TMPDIR/props"
	run_split kcat-in -X "bootstrap.servers=$KAFKA_BROKERS" -F "$BATS_TEST_TMPDIR/props" -t conf <<<'{"n":1}'
	assert_status 0
	[ "$(kread conf)" = '{"n":1}' ]
	run_split kcat-in -F "$BATS_TEST_TMPDIR/props" -m 1 -t conf <<<'{"n":2}'
	assert_status 1
	printf 'linger.ms=soon\n' >"$BATS_TEST_TMPDIR/bad"
	run_split kcat-in -F "$BATS_TEST_TMPDIR/bad"
	assert_status 2
	[[ "$stderr" == "kcat-in: $BATS_TEST_TMPDIR/bad:1: 'linger.ms=soon': Invalid value"* ]]
}

@test "a broker down during the run and back up: everything delivered once, exit 0" {
	broker_cmd topic outage 3
	fifo_run kcat-in -t outage
	ordgen -n 3000 --seed 11 >"$BATS_TEST_TMPDIR/orders"
	head -1000 "$BATS_TEST_TMPDIR/orders" >&5
	sleep 0.5
	broker_cmd down 1
	broker_cmd down 2
	sed -n 1001,2000p "$BATS_TEST_TMPDIR/orders" >&5
	sleep 2
	broker_cmd up 1
	broker_cmd up 2
	tail -n +2001 "$BATS_TEST_TMPDIR/orders" >&5
	exec 5>&-
	wait_fifo_run
	assert_status 0
	kread outage | sort >"$BATS_TEST_TMPDIR/got"
	sort "$BATS_TEST_TMPDIR/orders" >"$BATS_TEST_TMPDIR/want"
	assert_same "$BATS_TEST_TMPDIR/want" "$BATS_TEST_TMPDIR/got"
}

@test "brokers down past message.timeout.ms: every message in the rejects file, exit 1" {
	broker_cmd topic lost 1
	fifo_run kcat-in -t lost -X message.timeout.ms=1500 --rejects "$BATS_TEST_TMPDIR/rej"
	sleep 0.5
	for b in 1 2 3; do broker_cmd down $b; done
	printf '%s\n' '{"n":1}' '{"n":2}' '{"n":3}' >&5
	exec 5>&-
	wait_fifo_run
	for b in 1 2 3; do broker_cmd up $b; done
	assert_status 1
	[[ "$stderr" == *"kcat-in: 3 of 3 messages not delivered (see the rejects file)"* ]]
	run jq -c '[.line, .text, (.reason | startswith("not delivered to lost [0]: "))]' "$BATS_TEST_TMPDIR/rej"
	[ "$output" = "$(printf '%s\n' '[1,"{\"n\":1}",true]' '[2,"{\"n\":2}",true]' '[3,"{\"n\":3}",true]')" ]
}

@test "injected produce errors are retried and nothing is written twice" {
	broker_cmd topic flaky 1
	# 6 = NOT_LEADER_FOR_PARTITION, 7 = REQUEST_TIMED_OUT: both retriable.
	broker_cmd error 0 6 2
	broker_cmd error 0 7 2
	seq 1 2000 | sed 's/.*/{"n":&}/' >"$BATS_TEST_TMPDIR/in"
	run_split kcat-in -t flaky <"$BATS_TEST_TMPDIR/in"
	assert_status 0
	kread flaky >"$BATS_TEST_TMPDIR/got"
	assert_same "$BATS_TEST_TMPDIR/in" "$BATS_TEST_TMPDIR/got"
}

@test "SIGTERM: lines already read are delivered before exit 0" {
	broker_cmd topic term 1
	fifo_run kcat-in -t term
	seq 1 500 | sed 's/.*/{"n":&}/' >&5
	sleep 0.5
	kill -TERM "$pid"
	wait_fifo_run
	exec 5>&-
	assert_status 0
	[ "$(kread term | wc -l)" -eq 500 ]
}

@test "--stats writes a last line at exit with the totals, marked final (kcat-in and kcat-out)" {
	broker_cmd topic finalst 1
	ordgen -n 5 | run_split kcat-in -t finalst --stats 1h
	assert_status 0
	echo "$stderr" | tail -1 | jq -e '.prog == "kcat-in" and .final == true and .in == 5 and .out == 5'
	run_split kcat-out -t finalst -e --stats 1h
	assert_status 0
	echo "$stderr" | tail -1 | jq -e '.prog == "kcat-out" and .final == true and .in == 5 and .out == 5'
}

@test "a key that would pass the key limit is a bad line, not a wrong key" {
	broker_cmd topic longkey 1
	python3 -c 'import sys; sys.stdout.write("{\"a\":\"" + "%" * (1024 * 1024 - 8) + "\"}\n")' >"$BATS_TEST_TMPDIR/in"
	echo '{"a":"ok"}' >>"$BATS_TEST_TMPDIR/in"
	run_split kcat-in -t longkey -k "a,$(seq -s, -f 'f%.0f' 1 15)" --rejects "$BATS_TEST_TMPDIR/rej" "$BATS_TEST_TMPDIR/in"
	assert_status 0
	[ "$(jq -r .reason "$BATS_TEST_TMPDIR/rej")" = "key longer than 3145728 bytes" ]
	[ "$(jq -r .line "$BATS_TEST_TMPDIR/rej")" = 1 ]
	run kread longkey -f '%k\n'
	[ "$output" = "ok$(printf '|null%.0s' $(seq 15))" ]
}
