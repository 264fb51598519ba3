#!/usr/bin/env bats
# kcat-in and kcat-out configured for TLS or SASL against the test broker,
# which speaks plaintext only: they fail within the -m bound with the
# broker's reason (never falling back to plaintext), and a secret never
# appears in any output, at any verbosity, librdkafka's own debug log
# included. A real TLS or SASL round trip is not tested (see ordpipe(7)).

load helpers/common

SECRET=S3cr3t-value-4471

setup_file() {
	load helpers/common
	broker_start
	broker_cmd topic sec 1
}

teardown_file() {
	broker_stop
}

# no_secret FILE...: the secret is in none of the files.
no_secret() {
	! grep -l -- "$SECRET" "$@"
}

@test "security.protocol=SSL against a plaintext broker: both halves fail within -m, saying why" {
	run_split kcat-in -t sec -m 2s -X security.protocol=SSL <<<'{"a":1}'
	assert_status 1
	[[ "$stderr" == "kcat-in: cannot reach the Kafka cluster within 2000 ms"*"state SSL_HANDSHAKE"* ]]
	run_split kcat-out -t sec -m 2s -e -X security.protocol=SSL
	assert_status 1
	[[ "$stderr" == "kcat-out: cannot reach the Kafka cluster within 2000 ms"*"state SSL_HANDSHAKE"* ]]
	[ -z "$output" ]
	kread sec >"$BATS_TEST_TMPDIR/got"
	[ ! -s "$BATS_TEST_TMPDIR/got" ] # nothing arrived in plaintext
}

@test "SASL over plaintext: fails within -m with the broker's reason; the password shows nowhere, even with -vv and debug=all" {
	kcat-in -t sec -m 2s -vv -X debug=all -X security.protocol=SASL_PLAINTEXT -X sasl.mechanism=PLAIN \
		-X sasl.username=u -X "sasl.password=$SECRET" <<<'{"a":1}' >"$BATS_TEST_TMPDIR/in.out" 2>"$BATS_TEST_TMPDIR/in.err" && false
	grep -q "SASL" "$BATS_TEST_TMPDIR/in.err"
	grep -q "cannot reach the Kafka cluster within 2000 ms" "$BATS_TEST_TMPDIR/in.err"
	kcat-out -t sec -m 2s -e -vv -X debug=all -X security.protocol=SASL_PLAINTEXT \
		-X sasl.mechanism=SCRAM-SHA-256 -X sasl.username=u -X "sasl.password=$SECRET" \
		--stats 100ms >"$BATS_TEST_TMPDIR/out.out" 2>"$BATS_TEST_TMPDIR/out.err" && false
	[ "$(wc -l <"$BATS_TEST_TMPDIR/in.err")" -gt 50 ] # the debug log was on
	no_secret "$BATS_TEST_TMPDIR"/in.* "$BATS_TEST_TMPDIR"/out.*
}

@test "a refused secret property is named with its value masked; other values are shown" {
	run_split kcat-in -t sec -X "sasl.pasword=$SECRET" <<<'{"a":1}'
	assert_status 2
	[[ "$stderr" == "kcat-in: -X: 'sasl.pasword=***': "* ]]
	run_split kcat-in -t sec -X "ssl.key.password=$SECRET" -X ssl.key.location=/nonexistent <<<'{"a":1}'
	[[ "$stderr" != *"$SECRET"* ]]
	run_split kcat-in -t sec -X acks=sometimes <<<'{"a":1}'
	assert_status 2
	[[ "$stderr" == "kcat-in: -X: 'acks=sometimes': "* ]]
}

@test "a value \${env:NAME} comes from the environment; an unset NAME is an error naming it" {
	run_split env ORDPIPE_TEST_CID=from-env-91 kcat-in -t sec4 -m 1s -vv -X debug=conf \
		-X 'client.id=${env:ORDPIPE_TEST_CID}' <<<'{"a":1}'
	[[ "$stderr" == *"client.id = from-env-91"* ]]
	run_split kcat-out -t sec -e -X 'sasl.password=${env:ORDPIPE_NO_SUCH_VAR}'
	assert_status 2
	[[ "$stderr" == *"-X: sasl.password: environment variable 'ORDPIPE_NO_SUCH_VAR' is not set"* ]]
}

@test "-F: a file holding a secret that others can read is warned about; mode 600 is not" {
	printf 'security.protocol=SASL_PLAINTEXT\nsasl.mechanism=PLAIN\nsasl.username=u\nsasl.password=%s\n' "$SECRET" >"$BATS_TEST_TMPDIR/k.conf"
	chmod 644 "$BATS_TEST_TMPDIR/k.conf"
	run_split kcat-in -t sec -m 1s -F "$BATS_TEST_TMPDIR/k.conf" <<<'{"a":1}'
	[[ "$stderr" == *"kcat-in: -F: '$BATS_TEST_TMPDIR/k.conf' holds a secret that other users can read (chmod 600 it)"* ]]
	[[ "$stderr" != *"$SECRET"* ]]
	chmod 600 "$BATS_TEST_TMPDIR/k.conf"
	run_split kcat-in -t sec -m 1s -F "$BATS_TEST_TMPDIR/k.conf" <<<'{"a":1}'
	[[ "$stderr" != *"other users can read"* ]]
	[[ "$stderr" != *"$SECRET"* ]]
}

@test "the ETL config's KAFKA_CONFIG reaches kcat-in as -F: producer.sh with a TLS config fails saying why" {
	broker_cmd topic sec6 1
	printf 'security.protocol=SSL\n' >"$BATS_TEST_TMPDIR/kafka.properties"
	printf 'KAFKA_BROKERS=%s\nTOPIC=sec6\nKAFKA_CONFIG=%s\nCOUNT=5\nRATE=0\nKCAT_IN_OPTS="-m 2s"\n' \
		"$KAFKA_BROKERS" "$BATS_TEST_TMPDIR/kafka.properties" >"$BATS_TEST_TMPDIR/conf"
	run_split "$BATS_TEST_DIRNAME/../examples/producer.sh" -c "$BATS_TEST_TMPDIR/conf"
	[ "$status" -ne 0 ]
	[[ "$stderr" == *"kcat-in: cannot reach the Kafka cluster within 2000 ms"*"state SSL_HANDSHAKE"* ]]
	kread sec6 >"$BATS_TEST_TMPDIR/got"
	[ ! -s "$BATS_TEST_TMPDIR/got" ]
}
