#!/bin/sh
# Runs every test: the C unit tests of common/ (TAP) and the bats suites
# (TAP), then prints one summary line. Exits non-zero if anything failed.
set -u
cd "$(dirname "$0")/.." || exit 1
: "${ORDPIPE_BIN:?}" "${ORDPIPE_UNIT:?}"
export ORDPIPE_BIN
log=$(mktemp)
trap 'rm -f "$log"' EXIT
status=0

echo "# unit tests (common/)"
"$ORDPIPE_UNIT" | tee -a "$log" || status=1

echo "# bats suites"
bats --tap ${BATS_FILTER:+--filter "$BATS_FILTER"} tests/*.bats | tee -a "$log" || status=1

passed=$(grep -c '^ok ' "$log")
failed=$(grep -c '^not ok ' "$log")
echo "check: $passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ] || status=1
exit $status
