#!/usr/bin/env bats
# The test broker (tests/helpers/kbroker.c) is a real Kafka-protocol broker:
# Debian's kcat, an independent client, talks to it over TCP on loopback.

load helpers/common

setup_file() {
	load helpers/common
	broker_start -n 3 -t orders:3
}

teardown_file() {
	broker_stop
}

@test "kbroker prints a loopback bootstrap list of its three brokers" {
	[[ "$KAFKA_BROKERS" =~ ^127\.0\.0\.1:[0-9]+,127\.0\.0\.1:[0-9]+,127\.0\.0\.1:[0-9]+$ ]]
}

@test "a topic created at start has its partitions, as kcat sees them" {
	run kcat -b "$KAFKA_BROKERS" -L -t orders -m 5
	[ "$status" -eq 0 ]
	[[ "$output" == *'topic "orders" with 3 partitions'* ]]
}

@test "messages produced with kcat come back in full" {
	seq 1 500 | kcat -b "$KAFKA_BROKERS" -P -t orders -p 1
	run kcat -b "$KAFKA_BROKERS" -C -t orders -p 1 -o beginning -e -q -m 10
	[ "$status" -eq 0 ]
	[ "$(echo "$output" | sort -n | tr '\n' ' ')" = "$(seq 1 500 | tr '\n' ' ')" ]
}

@test "commands: a topic made later, a broker down and up, an unknown command refused" {
	broker_cmd topic later 2
	run kcat -b "$KAFKA_BROKERS" -L -t later -m 5
	[[ "$output" == *'topic "later" with 2 partitions'* ]]
	broker_cmd down 2
	broker_cmd up 2
	run broker_cmd bogus
	[ "$status" -ne 0 ]
	[[ "$(tail -1 "$BATS_FILE_TMPDIR/kbroker.out")" == "error: unknown command 'bogus'" ]]
}
