# The test broker (tests/helpers/kbroker.c) for the bats suites, make run,
# make chaos and make bench. Needs BATS_FILE_TMPDIR (the directory for its
# files) and ORDPIPE_HELPERS (where kbroker is built).
#   broker_start [KBROKER ARGS...]   start it; sets KAFKA_BROKERS, KBROKER_PID
#   broker_cmd LINE                  a command (topic NAME N, down ID, ...)
#   broker_stop                      stop it by PID
# With SERVER_SETSID set, servers get their own session: a terminal's Ctrl-C
# reaches only the script, which stops them in order (mysqldb.bash too).

# broker_start [KBROKER ARGS...]: starts the test broker in the suite's temp
# dir (in setup_file); sets KAFKA_BROKERS and KBROKER_PID, and keeps a FIFO on
# fd 7 for commands (broker_cmd). Its fd 3 is closed so bats does not wait.
. "${BASH_SOURCE[0]%/*}/wait.bash"

broker_start() {
	local dir=$BATS_FILE_TMPDIR
	mkfifo "$dir/kbroker.cmd"
	${SERVER_SETSID:+setsid} "$ORDPIPE_HELPERS/kbroker" "$@" <"$dir/kbroker.cmd" >"$dir/kbroker.out" 2>"$dir/kbroker.err" 3>&- &
	KBROKER_PID=$!
	exec 7>"$dir/kbroker.cmd"
	wait_until 10 test -s "$dir/kbroker.out"
	KAFKA_BROKERS=$(head -1 "$dir/kbroker.out")
	[ -n "$KAFKA_BROKERS" ] || { cat "$dir/kbroker.err" >&2; return 1; }
	export KAFKA_BROKERS KBROKER_PID
}

# broker_cmd LINE: sends a command and waits for its answer; fails on "error:".
broker_cmd() {
	local dir=$BATS_FILE_TMPDIR before
	before=$(wc -l <"$dir/kbroker.out")
	echo "$*" >&7
	wait_until 10 _broker_answered "$before"
	[ "$(tail -1 "$dir/kbroker.out")" = ok ]
}

_broker_answered() { [ "$(wc -l <"$BATS_FILE_TMPDIR/kbroker.out")" -gt "$1" ]; }

broker_stop() {
	[ -n "${KBROKER_PID:-}" ] || return 0
	kill -TERM "$KBROKER_PID" 2>/dev/null
	wait "$KBROKER_PID" 2>/dev/null || true
	exec 7>&- 2>/dev/null || true
}

