# For the scripts outside bats (make run, make chaos, make bench): a private
# MariaDB and the test broker under one directory, stopped by PID.
#   servers_start DIR [KBROKER ARGS...]   sets DB_SOCK, KAFKA_BROKERS, ...
#   servers_stop
# Paths are relative to the top of the tree, where these scripts run.
. tests/helpers/mysqldb.bash
. tests/helpers/kbroker.bash
SERVER_SETSID=1 # Ctrl-C is the script's to handle: it stops the servers last

servers_start() {
	BATS_FILE_TMPDIR=$1
	shift
	: "${ORDPIPE_HELPERS:=$PWD/build/rel/tests/helpers}"
	db_start >/dev/null || return 1
	broker_start "$@"
}

servers_stop() {
	broker_stop
	db_stop 2>/dev/null
}
