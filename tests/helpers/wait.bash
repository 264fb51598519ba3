# wait_until SECONDS COMMAND...: runs COMMAND every 0.1 s until it succeeds
# (status 0), at most SECONDS; then its last status. The one polling loop of
# the suites and their server helpers: a test waits on observable state,
# never on a bare sleep.
wait_until() {
	local n=$(($1 * 10)) i
	shift
	for ((i = 1; i < n; i++)); do
		"$@" && return 0
		sleep 0.1
	done
	"$@"
}
