#!/usr/bin/env bats
# The private MariaDB helper (tests/helpers/mysqldb.bash) that the MySQL
# suites stand on: a real server, private, restartable, gone after teardown.

load helpers/common
load helpers/mysqldb

setup_file() {
	load helpers/common
	load helpers/mysqldb
	db_start
}

teardown_file() {
	db_stop
}

@test "the server answers on its own socket and on its loopback port, with database ordpipe" {
	[ "$(db_sql 'SELECT 1+1')" = 2 ]
	[ "$(mariadb --no-defaults -uroot -h 127.0.0.1 -P "$DB_PORT" -N -B -e 'SELECT DATABASE()' ordpipe)" = ordpipe ]
}

@test "committed rows survive kill -9 and a restart on the same datadir" {
	db_sql "CREATE TABLE ordpipe.t (k VARCHAR(255) PRIMARY KEY, v BIGINT) ENGINE=InnoDB"
	db_sql "INSERT INTO ordpipe.t VALUES ('a', 1), ('b', 2)"
	old=$DB_PID
	db_restart
	[ "$DB_PID" != "$old" ]
	! kill -0 "$old" 2>/dev/null
	[ "$(db_sql 'SELECT GROUP_CONCAT(k, v ORDER BY k) FROM ordpipe.t')" = "a1,b2" ]
}
