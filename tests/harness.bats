#!/usr/bin/env bats
# tests/run.sh, the harness of make check: it must fail when a test
# program crashes (even after some "ok" lines) or misses its TAP plan.

load helpers/common

setup() {
	printf '@test "fine" { true; }\n' >"$BATS_TEST_TMPDIR/tiny.bats"
}

# harness: run.sh in a clean environment (no variables of this bats run)
harness() {
	local path
	path=$(printf '%s\n' "$PATH" | tr ':' '\n' | grep -v bats-core | paste -sd:) # bats' own libexec first would shadow bats
	run env -i PATH="$path" HOME="$HOME" ORDPIPE_BIN="$ORDPIPE_BIN" ORDPIPE_UNIT="$BATS_TEST_TMPDIR/unit" \
		BATS_SUITES="$BATS_TEST_TMPDIR/tiny.bats" sh "$BATS_TEST_DIRNAME/run.sh"
}

# fake_unit BODY: a stand-in for the unit-test binary
fake_unit() {
	printf '#!/bin/sh\n%s\n' "$1" >"$BATS_TEST_TMPDIR/unit"
	chmod +x "$BATS_TEST_TMPDIR/unit"
}

@test "the harness passes a clean run and counts every test" {
	fake_unit "printf '1..1\\nok 1 one\\n'"
	harness
	assert_status 0
	[[ "$output" == *"check: 2 passed, 0 failed"* ]]
}

@test "a test program that crashes after an ok line fails the run" {
	fake_unit "printf '1..2\\nok 1 one\\n'; kill -SEGV \$\$"
	harness
	assert_status 1
	[[ "$output" == *"exited with status 139 without a failed test (a crash?)"* ]]
}

@test "a TAP plan that the results do not meet fails the run" {
	fake_unit "printf '1..3\\nok 1 one\\nok 2 two\\n'"
	harness
	assert_status 1
	[[ "$output" == *"planned 3 tests and reported 2"* ]]
	fake_unit "printf 'ok 1 one\\n'"
	harness
	assert_status 1
	[[ "$output" == *"printed no TAP plan"* ]]
}
