# A private MariaDB server for a test suite: its own datadir, socket and
# loopback port under the suite's temp dir, stopped by PID. Loaded by suites
# that need MySQL; call db_start in setup_file and db_stop in teardown_file.
#   db_start        install a datadir, start mariadbd, wait, create db "ordpipe"
#   db_restart      kill -9 and start again on the same datadir (fault tests)
#   db_stop         stop by PID
#   db_sql SQL...   run SQL with the mariadb client, tab-separated, no headers
# Sets DB_DIR, DB_SOCK, DB_PORT, DB_PID and MYSQL_UNIX_PORT. DB_EXTRA_ARGS:
# more mariadbd options (TLS), read at every start and restart.

. "${BASH_SOURCE[0]%/*}/wait.bash"

_db_free_port() {
	python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# The server must not inherit a test's descriptors: fd 3 (bats waits for it)
# or a FIFO's write end (fd 5, fifo_run), whose reader would never see EOF.
_db_launch() {
	${SERVER_SETSID:+setsid} /usr/sbin/mariadbd --no-defaults --datadir="$DB_DIR/data" --user=root --socket="$DB_SOCK" \
		--port="$DB_PORT" --bind-address=127.0.0.1 --skip-log-bin --pid-file="$DB_DIR/pid" \
		--innodb-buffer-pool-size=64M --innodb-log-file-size=48M ${DB_EXTRA_ARGS:-} \
		>>"$DB_DIR/log" 2>&1 3>&- 5>&- 6>&- 7>&- 8>&- 9>&- &
	DB_PID=$!
	disown "$DB_PID" 2>/dev/null || true # no job notice when a test kills it
	wait_until 30 _db_up_or_dead
	if _db_up; then
		export DB_PID
		return 0
	fi
	kill -9 "$DB_PID" 2>/dev/null || true
	return 1
}

_db_up() { [ -s "$DB_DIR/pid" ] && mariadb-admin --no-defaults -uroot -S "$DB_SOCK" ping >/dev/null 2>&1; }
_db_up_or_dead() { _db_up || ! kill -0 "$DB_PID" 2>/dev/null; }

db_start() {
	DB_DIR=${BATS_FILE_TMPDIR:-$(mktemp -d)}/db
	mkdir -p "$DB_DIR"
	DB_SOCK=$DB_DIR/sock
	DB_PORT=$(_db_free_port)
	export DB_DIR DB_SOCK DB_PORT MYSQL_UNIX_PORT=$DB_SOCK
	mariadb-install-db --no-defaults --datadir="$DB_DIR/data" --user=root \
		--auth-root-authentication-method=normal --skip-test-db >"$DB_DIR/install.log" 2>&1 ||
		{ tail -20 "$DB_DIR/install.log" >&2; return 1; }
	# The port is free when picked, but another process may bind it before
	# mariadbd does: then it exits, and another port is tried.
	local try
	for try in 1 2 3 4 5; do
		_db_launch && break
		[ "$try" -eq 5 ] && { echo "mariadbd did not start; its log:" >&2; tail -20 "$DB_DIR/log" >&2; return 1; }
		DB_PORT=$(_db_free_port)
		export DB_PORT
	done
	# tables the tests make by hand compare keys byte for byte, as
	# mysql-replace requires of a key column (a test that wants another
	# collation says so)
	db_sql "CREATE DATABASE IF NOT EXISTS ordpipe CHARACTER SET utf8mb4 COLLATE utf8mb4_nopad_bin"
}

db_restart() {
	[ -s "$DB_DIR/pid" ] && DB_PID=$(cat "$DB_DIR/pid")
	kill -9 "$DB_PID" 2>/dev/null || true # it may be dead already
	wait "$DB_PID" 2>/dev/null || true
	wait_until 5 _db_dead
	rm -f "$DB_DIR/pid"
	_db_launch || { echo "mariadbd did not start again; its log:" >&2; tail -20 "$DB_DIR/log" >&2; return 1; }
}

_db_dead() { ! kill -0 "$DB_PID" 2>/dev/null; }

db_stop() {
	# a restart inside a test changes the PID only there: ask the pid file
	[ -s "$DB_DIR/pid" ] && DB_PID=$(cat "$DB_DIR/pid")
	[ -n "${DB_PID:-}" ] || return 0
	kill -TERM "$DB_PID" 2>/dev/null
	wait_until 10 _db_dead
	kill -9 "$DB_PID" 2>/dev/null || true
	wait "$DB_PID" 2>/dev/null || true
}

db_sql() {
	mariadb --no-defaults -uroot -S "$DB_SOCK" -N -B -e "$*"
}
