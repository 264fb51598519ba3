#!/usr/bin/env bats
# mysql-replace over TLS against a private MariaDB server with a CA and
# certificates made here with openssl: verification fails closed (another
# CA, a host name that does not match, a server without TLS, on the first
# connection and on a reconnect), and the password stays out of sight.

load helpers/common
load helpers/mysqldb

# cert NAME CA SAN [DAYS]: a key and a certificate for NAME signed by CA
# (the CA's own files: CA.key, CA.pem), valid from now for DAYS (default 2;
# -1: already expired), with subjectAltName SAN.
cert() {
	local d=$BATS_FILE_TMPDIR/pki
	openssl req -new -newkey rsa:2048 -nodes -keyout "$d/$1.key" -subj "/CN=$1" -out "$d/$1.csr" 2>/dev/null
	printf 'subjectAltName=%s\n' "$3" >"$d/$1.ext"
	openssl x509 -req -in "$d/$1.csr" -CA "$d/$2.pem" -CAkey "$d/$2.key" -CAcreateserial \
		-days "${4:-2}" -extfile "$d/$1.ext" -out "$d/$1.pem" 2>/dev/null
}

ca() {
	local d=$BATS_FILE_TMPDIR/pki
	openssl req -x509 -new -newkey rsa:2048 -nodes -keyout "$d/$1.key" -subj "/CN=$1" \
		-days 2 -out "$d/$1.pem" 2>/dev/null
}

tls_args() {
	local d=$BATS_FILE_TMPDIR/pki
	echo "--ssl-ca=$d/ca.pem --ssl-cert=$d/$1.pem --ssl-key=$d/$1.key"
}

setup_file() {
	load helpers/common
	load helpers/mysqldb
	mkdir -p "$BATS_FILE_TMPDIR/pki"
	ca ca
	ca otherca
	cert server ca "IP:127.0.0.1"
	cert wronghost ca "DNS:wrong.example"
	cert expired ca "IP:127.0.0.1" -1
	export PKI=$BATS_FILE_TMPDIR/pki
	export DB_EXTRA_ARGS="$(tls_args server)"
	db_start
	db_sql "CREATE USER tls@'%' IDENTIFIED BY 'tls-pw-8311' REQUIRE SSL; GRANT ALL ON ordpipe.* TO tls@'%'"
}

teardown_file() {
	db_stop
}

setup() {
	T=t$BATS_TEST_NUMBER
	unset MYSQL_UNIX_PORT
}

# mr ARGS...: mysql-replace with the TLS user's password in MYSQL_PWD.
mr() {
	MYSQL_PWD=tls-pw-8311 mysql-replace "$@"
}

# restart_with ARGS: the same datadir, other mariadbd options.
restart_with() {
	DB_EXTRA_ARGS=$1 db_restart
}

rows_are() {
	[ "$(db_sql "SELECT COUNT(*) FROM ordpipe.$T" 2>/dev/null)" = "$1" ]
}

tcp() {
	echo "-h 127.0.0.1 -P $DB_PORT -u tls"
}

@test "the right CA, verification on: rows land over TLS and -v names the TLS version and cipher" {
	run_split mr $(tcp) --ssl-ca "$PKI/ca.pem" --ssl-verify-server-cert -t "$T" -v \
		<<<'{"rowkey":"a","n":1}'
	assert_status 0
	[[ "$stderr" == *"mysql-replace: connection TLSv1."*" "* ]]
	# the user may only connect over TLS (REQUIRE SSL): the row is proof
	[ "$(db_sql "SELECT rowkey, n FROM ordpipe.$T")" = "$(printf 'a\t1')" ]
}

@test "--stats says the connection is encrypted" {
	run_split mr $(tcp) --ssl-ca "$PKI/ca.pem" --ssl-verify-server-cert -t "$T" --stats 1h \
		<<<'{"rowkey":"a"}'
	assert_status 0
	[ "$(echo "$stderr" | grep '"final":true' | jq -r .tls | cut -c1-6)" = "TLSv1." ]
}

@test "a certificate from another CA: refused, the reason and the server named, nothing written" {
	run_split mr $(tcp) --ssl-ca "$PKI/otherca.pem" --ssl-verify-server-cert -t "$T" \
		<<<'{"rowkey":"a"}'
	assert_status 1
	[[ "$stderr" == "mysql-replace: cannot connect to MySQL: "*"(server 127.0.0.1:$DB_PORT, TLS required)" ]]
	[[ "$stderr" == *"TLS/SSL error: "* ]]
	[ "$(db_sql "SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_NAME = '$T'")" = 0 ]
}

@test "the same CA in the [client] group of an option file is honoured" {
	printf '[client]\nssl-ca=%s\nssl-verify-server-cert\nuser=tls\n' "$PKI/ca.pem" >"$BATS_TEST_TMPDIR/my.cnf"
	run_split mr --defaults-file "$BATS_TEST_TMPDIR/my.cnf" -h 127.0.0.1 -P "$DB_PORT" -t "$T" -v \
		<<<'{"rowkey":"a"}'
	assert_status 0
	[[ "$stderr" == *"connection TLSv1."* ]]
	printf '[client]\nssl-ca=%s\nssl-verify-server-cert\nuser=tls\n' "$PKI/otherca.pem" >"$BATS_TEST_TMPDIR/my.cnf"
	run_split mr --defaults-file "$BATS_TEST_TMPDIR/my.cnf" -h 127.0.0.1 -P "$DB_PORT" -t "$T" \
		<<<'{"rowkey":"b"}'
	assert_status 1
	[ "$(db_sql "SELECT rowkey FROM ordpipe.$T")" = a ]
}

@test "a command-line CA wins over the option file's" {
	printf '[client]\nssl-ca=%s\nssl-verify-server-cert\n' "$PKI/otherca.pem" >"$BATS_TEST_TMPDIR/my.cnf"
	run_split mr --defaults-file "$BATS_TEST_TMPDIR/my.cnf" --ssl-ca "$PKI/ca.pem" $(tcp) -t "$T" \
		<<<'{"rowkey":"a"}'
	assert_status 0
}

@test "a certificate for another host name: refused with verification, accepted without" {
	restart_with "$(tls_args wronghost)"
	run_split mr $(tcp) --ssl-ca "$PKI/ca.pem" --ssl-verify-server-cert -t "$T" <<<'{"rowkey":"a"}'
	assert_status 1
	[[ "$stderr" == *"(server 127.0.0.1:$DB_PORT, TLS required)" ]]
	[ "$(db_sql "SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_NAME = '$T'")" = 0 ]
	# encrypted but unverified, as asked (the mariadb client's default)
	run_split mr $(tcp) --ssl-ca "$PKI/ca.pem" -t "$T" -q <<<'{"rowkey":"a"}'
	restart_with "$(tls_args server)"
	[ "$status" -eq 0 ]
	[ "$(db_sql "SELECT rowkey FROM ordpipe.$T")" = a ]
}

@test "an expired certificate: refused with verification, nothing written" {
	restart_with "$(tls_args expired)"
	run_split mr $(tcp) --ssl-ca "$PKI/ca.pem" --ssl-verify-server-cert -t "$T" <<<'{"rowkey":"a"}'
	local st=$status err=$stderr
	restart_with "$(tls_args server)"
	[ "$st" -eq 1 ]
	[[ "$err" == *"TLS/SSL error: "*"(server 127.0.0.1:$DB_PORT, TLS required)" ]]
	[ "$(db_sql "SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_NAME = '$T'")" = 0 ]
}

@test "a server without TLS: refused when TLS is asked for, by flag or by option file; --skip-ssl connects" {
	restart_with ""
	db_sql "CREATE USER IF NOT EXISTS plain@'%' IDENTIFIED BY 'tls-pw-8311'; GRANT ALL ON ordpipe.* TO plain@'%'"
	for how in --ssl "--ssl-ca $PKI/ca.pem" "--ssl-ca $PKI/ca.pem --ssl-verify-server-cert"; do
		run_split mr -h 127.0.0.1 -P "$DB_PORT" -u plain $how -t "$T" <<<'{"rowkey":"a"}'
		[ "$status" -eq 1 ] || break
		[[ "$stderr" == "mysql-replace: cannot connect to MySQL: "*"(server 127.0.0.1:$DB_PORT, TLS required)" ]] || break
	done
	# the issue's case: ssl-ca and ssl-verify-server-cert in [client]
	printf '[client]\nssl-ca=%s\nssl-verify-server-cert\nuser=plain\n' "$PKI/ca.pem" >"$BATS_TEST_TMPDIR/my.cnf"
	run_split mr --defaults-file "$BATS_TEST_TMPDIR/my.cnf" -h 127.0.0.1 -P "$DB_PORT" -t "$T" <<<'{"rowkey":"a"}'
	local file_status=$status
	run_split mr --defaults-file "$BATS_TEST_TMPDIR/my.cnf" --skip-ssl -h 127.0.0.1 -P "$DB_PORT" -t "$T" -q <<<'{"rowkey":"s"}'
	local skip_status=$status
	restart_with "$(tls_args server)"
	[ "$file_status" -eq 1 ]
	[ "$skip_status" -eq 0 ]
	[ "$(db_sql "SELECT rowkey FROM ordpipe.$T")" = s ]
}

@test "a reconnect to a server restarted without TLS is refused: nothing written after" {
	fifo_run mr $(tcp) --ssl-ca "$PKI/ca.pem" --ssl-verify-server-cert -t "$T" \
		--flush-interval 100ms --retries 3 --retry-backoff 200ms
	echo '{"rowkey":"before"}' >&5
	wait_until 10 rows_are 1
	restart_with ""
	db_sql "CREATE USER IF NOT EXISTS plain@'%' IDENTIFIED BY 'tls-pw-8311'; GRANT ALL ON ordpipe.* TO plain@'%'"
	echo '{"rowkey":"after"}' >&5
	exec 5>&-
	local st=0
	wait "$pid" || st=$?
	local rows
	rows=$(db_sql "SELECT rowkey FROM ordpipe.$T ORDER BY rowkey" | tr '\n' ' ')
	restart_with "$(tls_args server)"
	[ "$st" -eq 1 ]
	[ "$rows" = "before " ]
	grep -q "TLS required" "$BATS_TEST_TMPDIR/err"
	grep -q "1 rows not committed" "$BATS_TEST_TMPDIR/err"
}

@test "-p asks on the terminal with echo off; the password shows nowhere" {
	printf '{"rowkey":"a"}\n' >"$BATS_TEST_TMPDIR/rows"
	unset MYSQL_PWD
	mkfifo "$BATS_TEST_TMPDIR/keys"
	# script(1) gives it a terminal; the password is typed once the prompt shows
	script -qfec "$ORDPIPE_BIN/mysql-replace $(tcp) --ssl -p -t $T -v --stats 1h $BATS_TEST_TMPDIR/rows" \
		"$BATS_TEST_TMPDIR/typescript" <"$BATS_TEST_TMPDIR/keys" >"$BATS_TEST_TMPDIR/shown" 2>&1 3>&- &
	local sp=$!
	exec 6>"$BATS_TEST_TMPDIR/keys"
	wait_until 10 grep -q "Enter password: " "$BATS_TEST_TMPDIR/typescript"
	printf 'tls-pw-8311\n' >&6
	wait "$sp"
	exec 6>&-
	[ "$(db_sql "SELECT rowkey FROM ordpipe.$T")" = a ]
	grep -q "connection TLSv1." "$BATS_TEST_TMPDIR/typescript"
	! grep -q "tls-pw-8311" "$BATS_TEST_TMPDIR/typescript" "$BATS_TEST_TMPDIR/shown"
}

@test "-p without a terminal, -pVALUE and --password=VALUE are refused with where a password goes" {
	run_split setsid mysql-replace -p -t "$T" <<<'{"rowkey":"a"}'
	assert_status 2
	[[ "$stderr" == "mysql-replace: -p: no terminal to ask for the password on: put password= in an option file or set MYSQL_PWD"* ]]
	for o in -psecret --password=secret; do
		run_split mysql-replace "$o" <<<'{"rowkey":"a"}'
		assert_status 2
		[[ "$stderr" == "mysql-replace: a password is never taken on the command line (ps would show it): put password= in an option file"*"or give -p alone to be asked on the terminal"* ]]
	done
}

@test "an option file with a password that others can read is warned about; mode 600 is not" {
	unset MYSQL_PWD
	printf '[client]\nuser=tls\npassword=tls-pw-8311\nssl\n' >"$BATS_TEST_TMPDIR/my.cnf"
	chmod 644 "$BATS_TEST_TMPDIR/my.cnf"
	run_split mysql-replace --defaults-file "$BATS_TEST_TMPDIR/my.cnf" -h 127.0.0.1 -P "$DB_PORT" -t "$T" <<<'{"rowkey":"a"}'
	assert_status 0
	[[ "$stderr" == *"mysql-replace: option file '$BATS_TEST_TMPDIR/my.cnf' holds a password that other users can read (chmod 600 it)"* ]]
	[[ "$stderr" != *"tls-pw-8311"* ]]
	chmod 600 "$BATS_TEST_TMPDIR/my.cnf"
	run_split mysql-replace --defaults-file "$BATS_TEST_TMPDIR/my.cnf" -h 127.0.0.1 -P "$DB_PORT" -t "$T" -q <<<'{"rowkey":"b"}'
	assert_status 0
	[ -z "$stderr" ]
	[ "$(db_sql "SELECT rowkey FROM ordpipe.$T ORDER BY rowkey" | tr '\n' ' ')" = "a b " ]
}

@test "a wrong password never appears in the error" {
	run_split env MYSQL_PWD=wrong-pw-5521 mysql-replace $(tcp) --ssl -t "$T" <<<'{"rowkey":"a"}'
	assert_status 1
	[[ "$stderr" == *"Access denied"* ]]
	[[ "$stderr" != *"wrong-pw-5521"* ]]
}
