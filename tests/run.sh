#!/bin/sh
# Runs every test: the C unit tests of common/ (TAP) and the bats suites
# (TAP), then prints one summary line. Exits non-zero if anything failed:
# a test that failed, a test program that exited non-zero (a crash after
# some "ok" lines too), or a TAP plan that its results do not meet.
set -u
cd "$(dirname "$0")/.." || exit 1
: "${ORDPIPE_BIN:?}" "${ORDPIPE_UNIT:?}"
export ORDPIPE_BIN
log=$(mktemp)
one=$(mktemp)
trap 'rm -f "$log" "$one"' EXIT
status=0

# tap NAME CMD...: runs CMD, shows its TAP output, and checks its exit
# status and its plan ("1..N" against the results it printed).
tap() {
	name=$1
	shift
	"$@" >"$one" 2>&1
	st=$?
	cat "$one"
	cat "$one" >>"$log"
	if [ "$st" -ne 0 ] && ! grep -q '^not ok ' "$one"; then
		echo "check: $name exited with status $st without a failed test (a crash?)"
		status=1
	elif [ "$st" -ne 0 ]; then
		status=1
	fi
	plan=$(sed -n 's/^1\.\.\([0-9][0-9]*\).*/\1/p' "$one" | head -1)
	ran=$(grep -c -E '^(ok|not ok) ' "$one")
	if [ -z "$plan" ]; then
		echo "check: $name printed no TAP plan"
		status=1
	elif [ "$plan" -ne "$ran" ]; then
		echo "check: $name planned $plan tests and reported $ran"
		status=1
	fi
}

echo "# unit tests (common/)"
tap "$ORDPIPE_UNIT" "$ORDPIPE_UNIT"

echo "# bats suites"
# shellcheck disable=SC2086
tap bats bats --tap ${BATS_FILTER:+--filter "$BATS_FILTER"} ${BATS_SUITES:-tests/*.bats}

passed=$(grep -c '^ok ' "$log")
failed=$(grep -c '^not ok ' "$log")
echo "check: $passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ] || status=1
exit $status
