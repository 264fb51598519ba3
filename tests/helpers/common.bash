# Loaded by every bats suite: where the programs are, and small helpers.
bats_require_minimum_version 1.5.0
: "${ORDPIPE_BIN:=$BATS_TEST_DIRNAME/../build/rel/bin}"
PATH="$ORDPIPE_BIN:$PATH"
FIX="$BATS_TEST_DIRNAME/fixtures"
. "$BATS_TEST_DIRNAME/helpers/wait.bash"

# run_split CMD...: bats' run with stderr kept apart in $stderr.
run_split() {
	run --separate-stderr "$@"
}

# assert_status N: fail with the output shown when $status is not N.
assert_status() {
	if [ "$status" -ne "$1" ]; then
		echo "expected exit status $1, got $status" >&2
		echo "stdout: $output" >&2
		echo "stderr: ${stderr:-}" >&2
		return 1
	fi
}

# assert_same EXPECTED_FILE ACTUAL_FILE: diff, shown on failure.
assert_same() {
	diff -u "$1" "$2" >&2
}

# Compact view of winagg rows: start and end (HH:MM[:SS.mmm] as given by
# $CUT, default 11:16), then the group and aggregate values, tab-separated.
proj() {
	jq -r --argjson a "${CUT_FROM:-11}" --argjson b "${CUT_TO:-16}" \
		'[.window_start[$a:$b], .window_end[$a:$b]] + ([to_entries[] | select(.key != "rowkey" and .key != "window_start" and .key != "window_end") | .value | tojson]) | join("\t")'
}

# fifo_run CMD...: starts CMD in the background reading a new FIFO, writing
# $BATS_TEST_TMPDIR/out; the FIFO is open on fd 5 and the PID is in $pid.
fifo_run() {
	mkfifo "$BATS_TEST_TMPDIR/in"
	"$@" <"$BATS_TEST_TMPDIR/in" >"$BATS_TEST_TMPDIR/out" 2>"$BATS_TEST_TMPDIR/err" &
	pid=$!
	exec 5>"$BATS_TEST_TMPDIR/in"
}

# wait_output: waits up to 5 s for $BATS_TEST_TMPDIR/out to have something.
wait_output() {
	wait_until 5 test -s "$BATS_TEST_TMPDIR/out"
}

: "${ORDPIPE_HELPERS:=$BATS_TEST_DIRNAME/../build/rel/tests/helpers}"

. "$BATS_TEST_DIRNAME/helpers/kbroker.bash"

# kread TOPIC [KCAT ARGS...]: every message of TOPIC as Debian's kcat (an
# independent client) reads it, one per line, then exits.
kread() {
	local t=$1
	shift
	kcat -b "$KAFKA_BROKERS" -C -t "$t" -o beginning -e -q "$@"
}

# wait_lines FILE N: waits up to 20 s for FILE to have at least N lines.
has_lines() { [ -f "$1" ] && [ "$(wc -l <"$1")" -ge "$2" ]; }
wait_lines() {
	wait_until 20 has_lines "$1" "$2" && return 0
	echo "$1 has $(wc -l <"$1" 2>/dev/null) lines, expected $2" >&2
	return 1
}

# sql_eq SQL VALUE, sql_gt SQL N, sql_some SQL: the query's answer is
# VALUE, a number above N, or anything (for wait_until; errors are no)
sql_eq() { [ "$(db_sql "$1" 2>/dev/null)" = "$2" ]; }
sql_gt() {
	local v
	v=$(db_sql "$1" 2>/dev/null) && [ -n "$v" ] && [ "$v" -gt "$2" ]
}
sql_some() { [ -n "$(db_sql "$1" 2>/dev/null)" ]; }

# gone PID: the process has ended (or is a zombie not yet waited for).
gone() {
	local st
	read -r _ _ st _ 2>/dev/null <"/proc/$1/stat" || return 0
	[ "$st" = Z ]
}

# wait_fifo_run: waits for the command fifo_run started; sets $status, and
# $output and $stderr from its files.
wait_fifo_run() {
	status=0
	wait "$pid" || status=$?
	output=$(cat "$BATS_TEST_TMPDIR/out")
	stderr=$(cat "$BATS_TEST_TMPDIR/err")
}
