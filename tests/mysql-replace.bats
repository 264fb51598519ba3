#!/usr/bin/env bats
# mysql-replace against a private MariaDB server; every expected table is
# read back with the mariadb client and compared with values worked out by
# hand (or by a formula, for the large streams).

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

# Each test gets its own table name, from the test's number.
setup() {
	T=t$BATS_TEST_NUMBER
}

rows3() {
	printf '%s\n' \
		'{"rowkey":"a","n":1,"name":"one"}' \
		'{"rowkey":"b","n":2,"name":"two"}' \
		'{"rowkey":"c","n":3,"name":"three"}'
}

@test "fresh rows are inserted into a table it creates, with a notice" {
	run_split mysql-replace -t "$T" < <(rows3)
	assert_status 0
	[ "$stderr" = "mysql-replace: created table \`$T\` (\`rowkey\` VARCHAR(255) COLLATE utf8mb4_nopad_bin NOT NULL PRIMARY KEY, \`n\` BIGINT NULL, \`name\` VARCHAR(255) COLLATE utf8mb4_nopad_bin NULL) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4" ]
	[ "$(db_sql "SELECT rowkey, n, name FROM ordpipe.$T ORDER BY rowkey")" = "$(printf 'a\t1\tone\nb\t2\ttwo\nc\t3\tthree')" ]
}

@test "changed rows replace the old ones; the same input twice gives the same table" {
	rows3 | mysql-replace -t "$T" -q
	printf '%s\n' '{"rowkey":"b","n":20,"name":"TWO"}' '{"rowkey":"d","n":4,"name":"four"}' >"$BATS_TEST_TMPDIR/upd"
	mysql-replace -t "$T" "$BATS_TEST_TMPDIR/upd"
	want=$(printf 'a\t1\tone\nb\t20\tTWO\nc\t3\tthree\nd\t4\tfour')
	[ "$(db_sql "SELECT rowkey, n, name FROM ordpipe.$T ORDER BY rowkey")" = "$want" ]
	mysql-replace -t "$T" "$BATS_TEST_TMPDIR/upd"
	[ "$(db_sql "SELECT rowkey, n, name FROM ordpipe.$T ORDER BY rowkey")" = "$want" ]
}

@test "rows with the same key in one batch collapse to the last" {
	run_split mysql-replace -t "$T" -v < <(printf '%s\n' '{"rowkey":"k","n":1}' '{"rowkey":"j","n":5}' '{"rowkey":"k","n":2}' '{"rowkey":"k","n":3}')
	assert_status 0
	[[ "$stderr" == *"4 rows read, 2 committed in 1 batches"* ]]
	[ "$(db_sql "SELECT rowkey, n FROM ordpipe.$T ORDER BY rowkey")" = "$(printf 'j\t5\nk\t3')" ]
}

@test "a created table's types: BIGINT, DOUBLE (also for ints mixed with fractions), DATETIME(3), VARCHAR, TINYINT(1), JSON" {
	printf '%s\n' \
		'{"rowkey":"a","i":1,"f":1.5,"m":2,"t":"2026-01-01T00:00:00Z","s":"x","b":true,"j":[1],"z":null}' \
		'{"rowkey":"b","i":2,"f":2.5,"m":2.5,"t":"2026-01-01T00:00:01.5Z","s":"2026-01-01","b":false,"j":{"k":1},"z":null}' |
		mysql-replace -t "$T" -q
	run db_sql "SELECT COLUMN_NAME, COLUMN_TYPE FROM information_schema.COLUMNS WHERE TABLE_SCHEMA='ordpipe' AND TABLE_NAME='$T' ORDER BY ORDINAL_POSITION"
	want=$(printf '%s\n' 'rowkey	varchar(255)' 'i	bigint(20)' 'f	double' 'm	double' 't	datetime(3)' 's	varchar(255)' 'b	tinyint(1)' 'j	longtext' 'z	varchar(255)')
	[ "$output" = "$want" ]
	[ "$(db_sql "SELECT i, f, m, t, s, b, j, z FROM ordpipe.$T ORDER BY rowkey" | tr '\t' ' ')" = "$(printf '%s\n' '1 1.5 2 2026-01-01 00:00:00.000 x 1 [1] NULL' '2 2.5 2.5 2026-01-01 00:00:01.500 2026-01-01 0 {"k":1} NULL')" ]
}

@test "a created table for winagg's rows has an index on window_start, which a query for the last windows uses" {
	printf '{"ts":"2026-01-01T00:0%d:00Z","shopid":1,"region":"SG","count":1}\n' 1 2 3 | winagg | mysql-replace -t "$T" -q
	[ "$(db_sql "SELECT INDEX_NAME, COLUMN_NAME, NON_UNIQUE FROM information_schema.STATISTICS WHERE TABLE_SCHEMA='ordpipe' AND TABLE_NAME='$T' AND INDEX_NAME <> 'PRIMARY'")" = "$(printf 'window_start\twindow_start\t1')" ]
	db_sql "EXPLAIN SELECT * FROM ordpipe.$T WHERE window_start >= '2026-01-01 00:02:00'" | grep -q window_start
	# a table of other rows has no such index
	printf '{"rowkey":"a","window_start":"x"}\n' | mysql-replace -t "${T}b" -q
	[ "$(db_sql "SELECT COUNT(*) FROM information_schema.STATISTICS WHERE TABLE_SCHEMA='ordpipe' AND TABLE_NAME='${T}b' AND INDEX_NAME <> 'PRIMARY'")" = 0 ]
}

@test "--explain prints the CREATE TABLE and the statement's shape for the first batch, touching nothing" {
	run_split mysql-replace --explain -t "$T" -S /nonexistent/sock < <(rows3)
	assert_status 0
	[ "$output" = "$(printf '%s\n' "CREATE TABLE IF NOT EXISTS \`$T\` (\`rowkey\` VARCHAR(255) COLLATE utf8mb4_nopad_bin NOT NULL PRIMARY KEY, \`n\` BIGINT NULL, \`name\` VARCHAR(255) COLLATE utf8mb4_nopad_bin NULL) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;" "REPLACE INTO \`$T\` (\`rowkey\`,\`n\`,\`name\`) VALUES (?,?,?),...;")" ]
	[ "$(db_sql "SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_NAME = '$T'")" = 0 ]
}

@test "--updated-at COLUMN: set to the write's time by LOAD DATA, by statements and by upserts; a row carrying it is refused" {
	# a uniform batch (LOAD DATA), then a rewrite of a with a batch missing a field (statements)
	printf '%s\n' '{"rowkey":"a","n":1}' '{"rowkey":"b","n":2}' | mysql-replace -t "$T" --updated-at changed -q
	[ "$(db_sql "SELECT COLUMN_TYPE, IS_NULLABLE FROM information_schema.COLUMNS WHERE TABLE_SCHEMA='ordpipe' AND TABLE_NAME='$T' AND COLUMN_NAME='changed'")" = "$(printf 'datetime(3)\tNO')" ]
	db_sql "UPDATE ordpipe.$T SET changed = '2000-01-01 00:00:00'"
	printf '%s\n' '{"rowkey":"a","n":10}' '{"rowkey":"c"}' | mysql-replace -t "$T" --updated-at changed -q
	# a and c were written just now (the session is UTC); b was not written again
	[ "$(db_sql "SELECT rowkey, n, ABS(TIMESTAMPDIFF(SECOND, changed, UTC_TIMESTAMP())) < 60 FROM ordpipe.$T ORDER BY rowkey" | tr '\t\n' ' |')" = "a 10 1|b 2 0|c NULL 1|" ]
	db_sql "UPDATE ordpipe.$T SET changed = '2000-01-01 00:00:00'"
	printf '%s\n' '{"rowkey":"b","n":20}' | mysql-replace -t "$T" --updated-at changed --mode upsert -q
	[ "$(db_sql "SELECT rowkey, ABS(TIMESTAMPDIFF(SECOND, changed, UTC_TIMESTAMP())) < 60 FROM ordpipe.$T ORDER BY rowkey" | tr '\t\n' ' |')" = "a 0|b 1|c 0|" ]
	run_split mysql-replace -t "$T" --updated-at changed --rejects "$BATS_TEST_TMPDIR/rej" <<<'{"rowkey":"d","changed":"2020-01-01T00:00:00Z"}'
	assert_status 0
	grep -q "field 'changed' is the --updated-at column" "$BATS_TEST_TMPDIR/rej"
	run_split mysql-replace -t "$T" --updated-at other <<<'{"rowkey":"e"}'
	assert_status 1
	[[ "$stderr" == *"table '$T' has no column 'other' for --updated-at"* ]]
}

@test "--add-columns: a field that appears later becomes a column of the inferred type, and its rows land" {
	printf '%s\n' '{"rowkey":"a","n":1}' | mysql-replace -t "$T" -q
	# winagg's -a list grew: two new aggregates
	printf '%s\n' '{"rowkey":"b","n":2,"avg_n":1.5,"first_s":"x"}' '{"rowkey":"c","n":3}' >"$BATS_TEST_TMPDIR/in"
	run_split mysql-replace -t "$T" --add-columns "$BATS_TEST_TMPDIR/in"
	assert_status 0
	[ "$stderr" = "mysql-replace: altered table: \`$T\` ADD COLUMN \`avg_n\` DOUBLE NULL, ADD COLUMN \`first_s\` VARCHAR(255) COLLATE utf8mb4_nopad_bin NULL" ]
	[ "$(db_sql "SELECT rowkey, n, avg_n, first_s FROM ordpipe.$T ORDER BY rowkey" | tr '\t\n' ' |')" = "a 1 NULL NULL|b 2 1.5 x|c 3 NULL NULL|" ]
	# nothing new: no ALTER
	run_split mysql-replace -t "$T" --add-columns <<<'{"rowkey":"d","avg_n":2}'
	assert_status 0
	[ -z "$stderr" ]
	run_split mysql-replace -t "$T" --add-columns --ignore-unknown <<<'{"rowkey":"e"}'
	assert_status 2
}

@test "an existing table: fields map to columns by name, missing fields get the column default" {
	db_sql "CREATE TABLE ordpipe.$T (rowkey VARCHAR(255) PRIMARY KEY, n INT, note VARCHAR(20) NOT NULL DEFAULT 'none', extra INT DEFAULT 7)"
	printf '%s\n' '{"n":1,"rowkey":"a"}' '{"rowkey":"b","note":"hi","n":2}' | mysql-replace -t "$T"
	[ "$(db_sql "SELECT rowkey, n, note, extra FROM ordpipe.$T ORDER BY rowkey")" = "$(printf 'a\t1\tnone\t7\nb\t2\thi\t7')" ]
}

@test "RFC 3339 times are stored in UTC in DATETIME and TIMESTAMP columns" {
	db_sql "CREATE TABLE ordpipe.$T (rowkey VARCHAR(255) PRIMARY KEY, d DATETIME(3), ts TIMESTAMP(3) NULL)"
	echo '{"rowkey":"a","d":"2026-01-01T08:00:00.250+08:00","ts":"2025-12-31T23:59:59Z"}' | mysql-replace -t "$T"
	[ "$(db_sql "SET time_zone='+00:00'; SELECT d, ts FROM ordpipe.$T")" = "$(printf '2026-01-01 00:00:00.250\t2025-12-31 23:59:59.000')" ]
}

@test "a field without a column stops the run (status 3); --ignore-unknown skips it; --rejects keeps the row" {
	db_sql "CREATE TABLE ordpipe.$T (rowkey VARCHAR(255) PRIMARY KEY, n INT)"
	printf '%s\n' '{"rowkey":"a","n":1}' '{"rowkey":"b","n":2,"color":"red"}' >"$BATS_TEST_TMPDIR/in"
	run_split mysql-replace -t "$T" "$BATS_TEST_TMPDIR/in"
	assert_status 3
	[ "$stderr" = "mysql-replace: $BATS_TEST_TMPDIR/in:2: field 'color' has no column in table '$T' (--add-columns adds one, --ignore-unknown skips it)" ]
	[ "$(db_sql "SELECT rowkey FROM ordpipe.$T")" = "a" ]
	run_split mysql-replace -t "$T" --rejects "$BATS_TEST_TMPDIR/rej" "$BATS_TEST_TMPDIR/in"
	assert_status 0
	[ "$(jq -r .line "$BATS_TEST_TMPDIR/rej")" = 2 ]
	run_split mysql-replace -t "$T" --ignore-unknown "$BATS_TEST_TMPDIR/in"
	assert_status 0
	[ "$(db_sql "SELECT rowkey, n FROM ordpipe.$T ORDER BY rowkey")" = "$(printf 'a\t1\nb\t2')" ]
}

@test "a row the server refuses is found in its batch: stop with the MySQL error, or reject it and commit the rest" {
	db_sql "CREATE TABLE ordpipe.$T (rowkey VARCHAR(255) PRIMARY KEY, name VARCHAR(5) NOT NULL)"
	printf '%s\n' '{"rowkey":"a","name":"ok"}' '{"rowkey":"b","name":"far too long"}' '{"rowkey":"c","name":null}' '{"rowkey":"d","name":"fine"}' >"$BATS_TEST_TMPDIR/in"
	run_split mysql-replace -t "$T" "$BATS_TEST_TMPDIR/in"
	assert_status 3
	[ "$stderr" = "mysql-replace: $BATS_TEST_TMPDIR/in:2: MySQL error 1406: Data too long for column 'name' at row 1" ]
	[ "$(db_sql "SELECT rowkey FROM ordpipe.$T")" = "a" ]
	run_split mysql-replace -t "$T" --rejects "$BATS_TEST_TMPDIR/rej" "$BATS_TEST_TMPDIR/in"
	assert_status 0
	[ "$(db_sql "SELECT rowkey, name FROM ordpipe.$T ORDER BY rowkey")" = "$(printf 'a\tok\nd\tfine')" ]
	run jq -c '[.line, .reason]' "$BATS_TEST_TMPDIR/rej"
	[ "${lines[0]}" = "[2,\"MySQL error 1406: Data too long for column 'name' at row 1\"]" ]
	[ "${lines[1]}" = "[3,\"MySQL error 1048: Column 'name' cannot be null\"]" ]
}

@test "a row refused in one batch while the next is read: stop commits only the rows before it; --rejects commits the rest" {
	db_sql "CREATE TABLE ordpipe.$T (rowkey VARCHAR(255) PRIMARY KEY, name VARCHAR(5) NOT NULL)"
	for i in 01 02 03 04 05 06 07 08 09 10 11 12; do
		if [ "$i" = 05 ]; then n="far too long"; else n="n$i"; fi
		printf '{"rowkey":"k%s","name":"%s"}\n' "$i" "$n"
	done >"$BATS_TEST_TMPDIR/in"
	# --batch 2: k05 is in the third batch; the fourth and later are read
	# while it is written, and must not be committed under the stop policy
	run_split mysql-replace -t "$T" --batch 2 "$BATS_TEST_TMPDIR/in"
	assert_status 3
	[[ "$stderr" == *"mysql-replace: $BATS_TEST_TMPDIR/in:5: MySQL error 1406: Data too long for column 'name' at row 1"* ]]
	[ "$(db_sql "SELECT GROUP_CONCAT(rowkey ORDER BY rowkey) FROM ordpipe.$T")" = "k01,k02,k03,k04" ]
	run_split mysql-replace -t "$T" --batch 2 --rejects "$BATS_TEST_TMPDIR/rej" --stats-file "$BATS_TEST_TMPDIR/st" "$BATS_TEST_TMPDIR/in"
	assert_status 0
	[ "$(db_sql "SELECT GROUP_CONCAT(rowkey ORDER BY rowkey) FROM ordpipe.$T")" = "k01,k02,k03,k04,k06,k07,k08,k09,k10,k11,k12" ]
	[ "$(jq -c '[.line, .text]' "$BATS_TEST_TMPDIR/rej")" = '[5,"{\"rowkey\":\"k05\",\"name\":\"far too long\"}"]' ]
	[ "$(tail -1 "$BATS_TEST_TMPDIR/st" | jq -c '[.in, .out, .rejected, .batches, .pending]')" = "[12,11,1,6,0]" ]
}

@test "LOAD DATA writes a batch in key order only where the collation orders keys by bytes: 'sg' then 'SG' under a _ci key keeps the last; sorted batches land whole" {
	db_sql "CREATE TABLE ordpipe.$T (rowkey VARCHAR(255) COLLATE utf8mb4_general_ci PRIMARY KEY, n INT)"
	printf '%s\n' '{"rowkey":"sg","n":1}' '{"rowkey":"b","n":2}' '{"rowkey":"SG","n":3}' '{"rowkey":"a","n":4}' |
		run_split mysql-replace -t "$T" --accept-collation -q
	assert_status 0
	# in bytes 'SG' < 'sg': written sorted, the first row would win
	[ "$(db_sql "SELECT rowkey, n FROM ordpipe.$T ORDER BY n")" = "$(printf 'b\t2\nSG\t3\na\t4')" ]
	# a binary key: rows in any order all land, each with its own values
	printf '%s\n' '{"rowkey":"z","n":1}' '{"rowkey":"B","n":2}' '{"rowkey":"b","n":3}' '{"rowkey":"a ","n":4}' '{"rowkey":"a","n":5}' |
		run_split mysql-replace -t "${T}b" -q
	assert_status 0
	[ "$(db_sql "SELECT CONCAT('[', rowkey, ']'), n FROM ordpipe.${T}b ORDER BY n")" = "$(printf '[z]\t1\n[B]\t2\n[b]\t3\n[a ]\t4\n[a]\t5')" ]
	# one batch of 10000 in three sorted slices: every row lands with its own value
	awk 'BEGIN { for (i = 0; i < 10000; i++) { k = (i * 7919) % 10000; printf "{\"rowkey\":\"k%d\",\"n\":%d}\n", k, k } }' |
		run_split mysql-replace -t "${T}c" --batch 10000 -q
	assert_status 0
	[ "$(db_sql "SELECT COUNT(*), SUM(n), SUM(rowkey <> CONCAT('k', n)) FROM ordpipe.${T}c")" = "$(printf '10000\t49995000\t0')" ]
	# four batches of 2500, each of 1250 keys in scrambled order written
	# twice (n = -1, then n = its number): from the second batch on, the
	# reader sorts a full batch before it is handed over; the later row wins
	awk 'BEGIN { for (j = 0; j < 4; j++) for (p = 0; p < 2; p++) for (i = 0; i < 1250; i++) {
		k = j * 1250 + (i * (p ? 7 : 11) + p * 3) % 1250
		printf "{\"rowkey\":\"m%d\",\"n\":%d}\n", k, p ? k : -1 } }' |
		run_split mysql-replace -t "${T}d" --batch 2500 -q
	assert_status 0
	[ "$(db_sql "SELECT COUNT(*), SUM(n), SUM(rowkey <> CONCAT('m', n)) FROM ordpipe.${T}d")" = "$(printf '5000\t12497500\t0')" ]
}

@test "bad lines: not JSON, no key, a key that is not a string or number" {
	run_split mysql-replace -t "$T" -q < <(printf '%s\n' '{"rowkey":"a"}' 'nope' '{"n":1}' '{"rowkey":[1]}')
	assert_status 3
	[ "$stderr" = "mysql-replace: <stdin>:2: invalid JSON at byte 1: not JSON" ]
	run_split mysql-replace -t "$T" -q --rejects "$BATS_TEST_TMPDIR/rej" < <(printf '%s\n' '{"rowkey":"a"}' 'nope' '{"n":1}' '{"rowkey":[1]}')
	assert_status 0
	run jq -r .reason "$BATS_TEST_TMPDIR/rej"
	[ "$output" = "$(printf '%s\n' 'invalid JSON at byte 1: not JSON' "key field 'rowkey' is missing" "key field 'rowkey' is not a string or number")" ]
}

@test "hostile field names and values round-trip exactly: quotes, backslashes, NUL, unicode" {
	printf '%s\n' '{"rowkey":"x`y","we`ird\"name":"a'"'"'b\\c\"d\u0000e","uni":"żółw 🐢","sql":"'"'"'); DROP TABLE t1; --"}' >"$BATS_TEST_TMPDIR/rows"
	run_split mysql-replace -t "$T" -q "$BATS_TEST_TMPDIR/rows"
	assert_status 0
	run db_sql "SELECT HEX(rowkey), HEX(\`we\`\`ird\"name\`), HEX(uni), HEX(\`sql\`) FROM ordpipe.$T"
	want=$(python3 -c '
vals = ["x`y", "a'"'"'b\\c\"d\0e", "żółw 🐢", "'"'"'); DROP TABLE t1; --"]
print("\t".join(v.encode().hex().upper() for v in vals))')
	[ "$output" = "$want" ]
}

@test "--mode upsert keeps the columns the rows do not carry; replace resets them" {
	db_sql "CREATE TABLE ordpipe.$T (rowkey VARCHAR(255) PRIMARY KEY, n INT, note VARCHAR(20) DEFAULT 'none')"
	db_sql "INSERT INTO ordpipe.$T VALUES ('a', 1, 'kept'), ('b', 2, 'gone')"
	echo '{"rowkey":"a","n":10}' | mysql-replace -t "$T" --mode upsert
	echo '{"rowkey":"b","n":20}' | mysql-replace -t "$T"
	[ "$(db_sql "SELECT rowkey, n, note FROM ordpipe.$T ORDER BY rowkey")" = "$(printf 'a\t10\tkept\nb\t20\tnone')" ]
}

@test "a UNIQUE index besides the key gets a warning; a table keyed otherwise is refused" {
	db_sql "CREATE TABLE ordpipe.$T (rowkey VARCHAR(255) PRIMARY KEY, n INT, UNIQUE KEY by_n (n))"
	run_split mysql-replace -t "$T" <<<'{"rowkey":"a","n":1}'
	assert_status 0
	[ "$stderr" = "mysql-replace: table '$T' has the unique index 'by_n' besides the primary key: REPLACE deletes every row that matches either" ]
	db_sql "CREATE TABLE ordpipe.${T}b (id INT AUTO_INCREMENT PRIMARY KEY, rowkey VARCHAR(255))"
	run_split mysql-replace -t "${T}b" <<<'{"rowkey":"a"}'
	assert_status 1
	[[ "$stderr" == "mysql-replace: column 'rowkey' is not the primary key of table '${T}b': REPLACE would not de-duplicate"* ]]
}

@test "--no-create refuses a missing table before reading input" {
	run_split mysql-replace -t "$T" --no-create <<<'{"rowkey":"a"}'
	assert_status 1
	[ "$stderr" = "mysql-replace: table '$T' does not exist (--no-create)" ]
	[ -z "$(db_sql "SHOW TABLES FROM ordpipe LIKE '$T'")" ]
}

@test "-T writes each row after its commit; --dry-run prints the SQL and touches nothing" {
	run_split mysql-replace -t "$T" -T -q < <(rows3)
	assert_status 0
	[ "$output" = "$(rows3)" ]
	run_split mysql-replace -t "${T}x" --dry-run <<<'{"rowkey":"a","n":1,"s":"it'"'"'s"}'
	assert_status 0
	[ "$output" = "$(printf '%s\n' "CREATE TABLE IF NOT EXISTS \`${T}x\` (\`rowkey\` VARCHAR(255) COLLATE utf8mb4_nopad_bin NOT NULL PRIMARY KEY, \`n\` BIGINT NULL, \`s\` VARCHAR(255) COLLATE utf8mb4_nopad_bin NULL) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;" "REPLACE INTO \`${T}x\` (\`rowkey\`,\`n\`,\`s\`) VALUES ('a',1,'it\\'s');" 'COMMIT;')" ]
	[ -z "$(db_sql "SHOW TABLES FROM ordpipe LIKE '${T}x'")" ]
}

@test "--flush-interval commits a row while the input stays open" {
	db_sql "CREATE TABLE ordpipe.$T (rowkey VARCHAR(255) PRIMARY KEY, n INT)"
	fifo_run mysql-replace -t "$T" --flush-interval 200ms
	echo '{"rowkey":"a","n":1}' >&5
	wait_until 5 sql_eq "SELECT COUNT(*) FROM ordpipe.$T" 1
	kill -0 "$pid"
	exec 5>&-
	wait_fifo_run
	assert_status 0
}

@test "a batch written while input pauses: its -T rows and its checkpoint's progress file come before more input" {
	# --batch 2: the second row fills the batch, whose write runs while
	# the next is read; no --flush-interval would flush anything here
	db_sql "CREATE TABLE ordpipe.$T (rowkey VARCHAR(255) PRIMARY KEY, n INT)"
	fifo_run mysql-replace -t "$T" --batch 2 --flush-interval 1h -T
	printf '%s\n' '{"rowkey":"a","n":1}' '{"rowkey":"b","n":2}' >&5
	out_lines() { [ "$(wc -l <"$BATS_TEST_TMPDIR/out")" -eq "$1" ]; }
	wait_until 5 out_lines 2
	kill -0 "$pid"
	[ "$(cat "$BATS_TEST_TMPDIR/out")" = "$(printf '%s\n' '{"rowkey":"a","n":1}' '{"rowkey":"b","n":2}')" ]
	[ "$(db_sql "SELECT GROUP_CONCAT(n ORDER BY n) FROM ordpipe.$T")" = "1,2" ]
	exec 5>&-
	wait_fifo_run
	assert_status 0
	# --pipeline: a checkpoint record's transaction, then a pause
	rm -f "$BATS_TEST_TMPDIR/in"
	fifo_run mysql-replace -t "$T" --pipeline "pp$T" --progress-file "$BATS_TEST_TMPDIR/pf"
	printf '%s\n' '{"rowkey":"c","n":3}' '{"_checkpoint":{"id":7,"positions":{"o/0":8}}}' >&5
	wait_until 5 test -s "$BATS_TEST_TMPDIR/pf"
	kill -0 "$pid"
	[ "$(cat "$BATS_TEST_TMPDIR/pf")" = '{"id":7,"positions":{"o/0":8}}' ]
	[ "$(db_sql "SELECT n FROM ordpipe.$T WHERE rowkey = 'c'")" = 3 ]
	exec 5>&-
	wait_fifo_run
	assert_status 0
}

@test "SIGTERM commits the rows it holds, then exits 0" {
	db_sql "CREATE TABLE ordpipe.$T (rowkey VARCHAR(255) PRIMARY KEY, n INT)"
	fifo_run mysql-replace -t "$T" --flush-interval 1h
	printf '%s\n' '{"rowkey":"a","n":1}' '{"rowkey":"b","n":2}' >&5
	sleep 0.5
	[ "$(db_sql "SELECT COUNT(*) FROM ordpipe.$T")" = 0 ]
	kill -TERM "$pid"
	wait_fifo_run
	exec 5>&-
	assert_status 0
	[ "$(db_sql "SELECT COUNT(*) FROM ordpipe.$T")" = 2 ]
}

@test "wrong password, unknown database, unreachable host: one clear line, exit 1, bounded" {
	db_sql "CREATE USER IF NOT EXISTS 'op'@'localhost' IDENTIFIED BY 'secret'"
	MYSQL_PWD=wrong run_split timeout 30 mysql-replace -u op <<<'{"rowkey":"a"}'
	assert_status 1
	[[ "$stderr" == "mysql-replace: cannot connect to MySQL: Access denied for user 'op'@'localhost'"* ]]
	[ "$(echo "$stderr" | wc -l)" -eq 1 ]
	run_split timeout 30 mysql-replace -D nosuchdb <<<'{"rowkey":"a"}'
	assert_status 1
	[ "$stderr" = "mysql-replace: cannot connect to MySQL: Unknown database 'nosuchdb'" ]
	run_split timeout 30 mysql-replace -h 127.0.0.1 -P 1 <<<'{"rowkey":"a"}'
	assert_status 1
	[[ "$stderr" == "mysql-replace: cannot connect to MySQL: Can't connect to server on '127.0.0.1'"* ]]
}

@test "the password comes from --defaults-file's [client] group, never the command line" {
	db_sql "CREATE USER IF NOT EXISTS 'op2'@'localhost' IDENTIFIED BY 's3cret'"
	db_sql "GRANT ALL ON ordpipe.* TO 'op2'@'localhost'"
	printf '[client]\nuser=op2\npassword=s3cret\n' >"$BATS_TEST_TMPDIR/my.cnf"
	run_split mysql-replace --defaults-file "$BATS_TEST_TMPDIR/my.cnf" -t "$T" -q <<<'{"rowkey":"a"}'
	assert_status 0
	[ "$(db_sql "SELECT rowkey FROM ordpipe.$T")" = a ]
}

@test "usage errors exit 2 before connecting" {
	run_split mysql-replace --mode merge
	assert_status 2
	[[ "$stderr" == "mysql-replace: --mode: 'merge' is not replace or upsert"* ]]
	run_split mysql-replace --batch 0
	assert_status 2
	run_split mysql-replace --dry-run -T
	assert_status 2
}

@test "kill -9 and restart of mariadbd in the middle of a 200 000-row stream: the table ends complete, exit 0" {
	db_sql "CREATE TABLE ordpipe.$T (rowkey VARCHAR(255) PRIMARY KEY, v BIGINT)"
	python3 -c '
import sys
w = sys.stdout.write
for i in range(1, 200001):
    w("{\"rowkey\":\"k%d\",\"v\":%d}\n" % (i, i))' >"$BATS_TEST_TMPDIR/rows"
	fifo_run mysql-replace -t "$T" -q
	# Feed it in the background, so the restart lands mid-stream.
	cat "$BATS_TEST_TMPDIR/rows" >&5 &
	local feeder=$!
	wait_until 10 sql_gt "SELECT COUNT(*) FROM ordpipe.$T" 10000
	before=$(db_sql "SELECT COUNT(*) FROM ordpipe.$T")
	db_restart
	[ "$before" -lt 200000 ] # the restart hit the stream in flight
	wait $feeder
	exec 5>&-
	wait_fifo_run
	assert_status 0
	[ "$(db_sql "SELECT COUNT(*), SUM(v) FROM ordpipe.$T")" = "$(printf '200000\t%d' $((200000 * 200001 / 2)))" ]
}

@test "the server gone past the retries: exit 1, the uncommitted rows counted, no partial batch" {
	db_sql "CREATE TABLE ordpipe.$T (rowkey VARCHAR(255) PRIMARY KEY, v INT)"
	fifo_run mysql-replace -t "$T" --batch 1000 --flush-interval 1h --retries 2 --retry-backoff 100ms
	seq 1 1000 | sed 's/.*/{"rowkey":"k&","v":&}/' >&5
	wait_until 10 sql_eq "SELECT COUNT(*) FROM ordpipe.$T" 1000
	kill -9 "$(cat "$DB_DIR/pid")"
	seq 1001 1500 | sed 's/.*/{"rowkey":"k&","v":&}/' >&5
	exec 5>&-
	wait_fifo_run
	assert_status 1
	[[ "$stderr" == *"mysql-replace: 500 rows not committed"* ]]
	db_restart
	[ "$(db_sql "SELECT COUNT(*) FROM ordpipe.$T")" = 1000 ]
}

@test "the man page's example (examples/mysql-sink.sh) fills the table with winagg's rows" {
	TABLE=$T N=5000 run_split sh "$BATS_TEST_DIRNAME/../examples/mysql-sink.sh"
	assert_status 0
	# Recounted from the orders by jq: orders and items per (minute, shop, region).
	ordgen -n 5000 | jq -r '[.ts[0:16], .shopid, .region, .count] | @tsv' |
		awk -F'\t' '{k = $1 "\t" $2 "\t" $3; o[k]++; i[k] += $4} END {for (k in o) print k "\t" o[k] "\t" i[k]}' |
		sort >"$BATS_TEST_TMPDIR/want"
	db_sql "SELECT DATE_FORMAT(window_start, '%Y-%m-%dT%H:%i'), shopid, region, orders, items FROM ordpipe.$T" |
		sort >"$BATS_TEST_TMPDIR/got"
	assert_same "$BATS_TEST_TMPDIR/want" "$BATS_TEST_TMPDIR/got"
}

@test "a lock wait timeout is retried until the lock is gone, then the batch commits" {
	db_sql "CREATE TABLE ordpipe.$T (rowkey VARCHAR(255) PRIMARY KEY, n INT)"
	db_sql "INSERT INTO ordpipe.$T VALUES ('a', 1)"
	db_sql "SET GLOBAL innodb_lock_wait_timeout = 1"
	# Another session holds the row for 3 s.
	db_sql "BEGIN; SELECT n FROM ordpipe.$T WHERE rowkey = 'a' FOR UPDATE; DO SLEEP(3); COMMIT" >/dev/null 3>&- &
	local holder=$!
	sleep 0.5
	run_split mysql-replace -t "$T" --retry-backoff 500ms <<<'{"rowkey":"a","n":2}'
	wait $holder
	db_sql "SET GLOBAL innodb_lock_wait_timeout = 50"
	assert_status 0
	[[ "$stderr" == *"Lock wait timeout exceeded; try restarting transaction; retrying the batch in 500 ms"* ]]
	[ "$(db_sql "SELECT n FROM ordpipe.$T")" = 2 ]
}

@test "--pipeline: a checkpoint record commits the rows before it and itself in one transaction" {
	printf '%s\n' '{"rowkey":"a","n":1}' '{"rowkey":"b","n":2}' \
		'{"_checkpoint":{"id":7,"positions":{"orders/0":12,"orders/1":3}}}' >"$BATS_TEST_TMPDIR/in"
	run_split mysql-replace -t "$T" --pipeline "p$T" -T -q "$BATS_TEST_TMPDIR/in"
	assert_status 0
	# -T passes every row and the record on, in order, once committed
	[ "$output" = "$(cat "$BATS_TEST_TMPDIR/in")" ]
	[ "$(db_sql "SELECT rowkey, n FROM ordpipe.$T ORDER BY rowkey")" = "$(printf 'a\t1\nb\t2')" ]
	[ "$(db_sql "SELECT checkpoint_id, positions FROM ordpipe.ordpipe_progress WHERE pipeline = 'p$T'")" = \
		"$(printf '7\t{"orders/0":12,"orders/1":3}')" ]
	run_split mysql-replace --pipeline "p$T" --last-checkpoint
	assert_status 0
	[ "$output" = '{"id":7,"positions":{"orders/0":12,"orders/1":3}}' ]
	# a pipeline without a checkpoint prints nothing
	run_split mysql-replace --pipeline "none$T" --last-checkpoint
	assert_status 0
	[ -z "$output" ]
}

@test "--pipeline: the record's transaction is all or nothing (dry run shows it), a bad record is bad input" {
	run_split mysql-replace -t "$T" --pipeline p --dry-run < <(printf '%s\n' '{"rowkey":"a","n":1}' '{"_checkpoint":{"id":8,"positions":{}}}')
	assert_status 0
	[[ "$output" == *"REPLACE INTO \`$T\` (\`rowkey\`,\`n\`) VALUES ('a',1);"$'\n'"REPLACE INTO ordpipe_progress (pipeline, checkpoint_id, positions, committed_at) VALUES ('p',8,'{}',NOW(3));"$'\n'"COMMIT;"* ]]
	run_split mysql-replace -t "$T" --pipeline p < <(echo '{"_checkpoint":{"id":"x"}}')
	assert_status 3
	[[ "$stderr" == *"<stdin>:1: '_checkpoint': not {\"id\":N,\"positions\":{\"TOPIC/P\":OFFSET,...}}"* ]]
	run_split mysql-replace --last-checkpoint
	assert_status 2
}

@test "without --pipeline a checkpoint record is not a row: skipped, passed on with -T" {
	run_split mysql-replace -t "$T" -T -q < <(printf '%s\n' '{"rowkey":"a","n":1}' '{"_checkpoint":{"id":1,"positions":{}}}')
	assert_status 0
	[ "$output" = "$(printf '%s\n' '{"rowkey":"a","n":1}' '{"_checkpoint":{"id":1,"positions":{}}}')" ]
	[ "$(db_sql "SELECT COUNT(*) FROM ordpipe.$T")" = 1 ]
}

@test "--pipeline refuses a checkpoint older than the one committed: another ETL under the same name" {
	echo '{"_checkpoint":{"id":9,"positions":{"o/0":90}}}' | mysql-replace -t "$T" --pipeline "dup$T" -q
	# the same id again is a replay of our own commit: fine
	echo '{"_checkpoint":{"id":9,"positions":{"o/0":90}}}' | mysql-replace -t "$T" --pipeline "dup$T" -q
	run_split mysql-replace -t "$T" --pipeline "dup$T" < <(printf '%s\n' '{"rowkey":"z","n":1}' '{"_checkpoint":{"id":4,"positions":{"o/0":40}}}')
	assert_status 1
	[[ "$stderr" == *"mysql-replace: pipeline 'dup$T' has checkpoint 9 committed, later than 4: is another ETL running under this name?"* ]]
	# nothing of that transaction was committed
	[ "$(db_sql "SELECT checkpoint_id FROM ordpipe.ordpipe_progress WHERE pipeline = 'dup$T'")" = 9 ]
	[ "$(db_sql "SELECT COUNT(*) FROM ordpipe.$T WHERE rowkey = 'z'")" = 0 ]
}

@test "--progress-file: after each committed checkpoint, the file says what --last-checkpoint says" {
	f=$BATS_TEST_TMPDIR/committed
	printf '%s\n' '{"rowkey":"a","n":1}' '{"_checkpoint":{"id":3,"positions":{"o/0":30}}}' \
		'{"rowkey":"b","n":2}' '{"_checkpoint":{"id":4,"positions":{"o/0":41,"o/1":2}}}' |
		mysql-replace -t "$T" --pipeline "pf$T" --progress-file "$f" -q
	[ "$(cat "$f")" = '{"id":4,"positions":{"o/0":41,"o/1":2}}' ]
	[ "$(mysql-replace --pipeline "pf$T" --last-checkpoint)" = "$(cat "$f")" ]
	# a refused checkpoint (older than the committed one) leaves it alone
	run_split mysql-replace -t "$T" --pipeline "pf$T" --progress-file "$f" <<<'{"_checkpoint":{"id":2,"positions":{"o/0":1}}}'
	assert_status 1
	[ "$(cat "$f")" = '{"id":4,"positions":{"o/0":41,"o/1":2}}' ]
	# a file that cannot be written is warned about; the rows still count
	run_split mysql-replace -t "$T" --pipeline "pf$T" --progress-file /nonexistent/dir/f <<<'{"_checkpoint":{"id":5,"positions":{"o/0":50}}}'
	assert_status 0
	[[ "$stderr" == *"mysql-replace: cannot write progress file '/nonexistent/dir/f': No such file or directory"* ]]
	[ "$(db_sql "SELECT checkpoint_id FROM ordpipe.ordpipe_progress WHERE pipeline = 'pf$T'")" = 5 ]
	run_split mysql-replace --progress-file "$f"
	assert_status 2
	[[ "$stderr" == *"--progress-file needs --pipeline NAME"* ]]
}

@test "--pipeline: only a checkpoint record commits; rows after the last one are not committed, and the end says so" {
	# --batch and --flush-interval would commit the first rows at once
	fifo_run mysql-replace -t "$T" --pipeline "h$T" --batch 2 --flush-interval 0 -T
	printf '%s\n' '{"rowkey":"a","n":1}' '{"rowkey":"b","n":2}' '{"rowkey":"c","n":3}' '{"rowkey":"a","n":4}' >&5
	sleep 1
	[ "$(db_sql "SELECT COUNT(*) FROM ordpipe.$T" 2>/dev/null || echo 0)" = 0 ]
	[ ! -s "$BATS_TEST_TMPDIR/out" ]
	echo '{"_checkpoint":{"id":1,"positions":{"o/0":4}}}' >&5
	wait_lines "$BATS_TEST_TMPDIR/out" 4 # b, c, a (collapsed to its last row), the record
	[ "$(db_sql "SELECT rowkey, n FROM ordpipe.$T ORDER BY rowkey")" = "$(printf 'a\t4\nb\t2\nc\t3')" ]
	# a row after the last record, then the input ends (winagg was killed)
	echo '{"rowkey":"d","n":5}' >&5
	exec 5>&-
	wait_fifo_run
	assert_status 1
	[[ "$stderr" == *"mysql-replace: 1 rows not committed: the input ended without a checkpoint record after them"* ]]
	[ "$(db_sql "SELECT COUNT(*) FROM ordpipe.$T WHERE rowkey = 'd'")" = 0 ]
	[ "$(mysql-replace --pipeline "h$T" --last-checkpoint)" = '{"id":1,"positions":{"o/0":4}}' ]
}

@test "--pipeline: SIGTERM leaves the rows after the last checkpoint record uncommitted and exits 0" {
	fifo_run mysql-replace -t "$T" --pipeline "s$T"
	printf '%s\n' '{"rowkey":"a","n":1}' '{"_checkpoint":{"id":1,"positions":{"o/0":1}}}' '{"rowkey":"b","n":2}' >&5
	wait_until 5 sql_eq "SELECT COUNT(*) FROM ordpipe.$T" 1
	kill -TERM "$pid"
	wait_fifo_run
	exec 5>&-
	assert_status 0
	[[ "$stderr" == *"1 rows after the last checkpoint record not committed"* ]]
	[ "$(db_sql "SELECT rowkey FROM ordpipe.$T")" = a ]
}

@test "--pipeline: rows between two records may outnumber --batch many times; each key once, its last row" {
	python3 -c '
import json
for i in range(3000):
    print(json.dumps({"rowkey": "k%d" % (i % 1000), "n": i}))
print(json.dumps({"_checkpoint": {"id": 1, "positions": {"o/0": 3000}}}))' >"$BATS_TEST_TMPDIR/in"
	run_split mysql-replace -t "$T" --pipeline "b$T" --batch 10 -q "$BATS_TEST_TMPDIR/in"
	assert_status 0
	# key k<j> last came with n = 2000 + j
	[ "$(db_sql "SELECT COUNT(*), SUM(n) FROM ordpipe.$T")" = "$(printf '1000\t%d' $((1000 * 2000 + 999 * 1000 / 2)))" ]
	[ "$(db_sql "SELECT n FROM ordpipe.$T WHERE rowkey = 'k7'")" = 2007 ]
}

@test "created tables keep keys and text that differ only in case, accent, trailing space or emoji apart" {
	printf '%s\n' '{"rowkey":"SG","s":"SG"}' '{"rowkey":"sg","s":"sg"}' '{"rowkey":"e","s":"e"}' \
		'{"rowkey":"é","s":"é"}' '{"rowkey":"ß","s":"ß"}' '{"rowkey":"ss","s":"ss"}' '{"rowkey":"a","s":"a"}' \
		'{"rowkey":"a ","s":"a "}' '{"rowkey":"😀","s":"😀"}' '{"rowkey":"😁","s":"😁"}' |
		mysql-replace -t "$T" -q
	[ "$(db_sql "SELECT COUNT(*) FROM ordpipe.$T")" -eq 10 ]
	[ "$(db_sql "SELECT COUNT(DISTINCT s) FROM ordpipe.$T")" -eq 10 ]
	[ "$(db_sql "SELECT HEX(s) FROM ordpipe.$T WHERE rowkey = 'a '")" = 6120 ]
	run db_sql "SELECT COLUMN_NAME, COLLATION_NAME FROM information_schema.COLUMNS WHERE TABLE_SCHEMA='ordpipe' AND TABLE_NAME='$T' ORDER BY ORDINAL_POSITION"
	[ "$output" = "$(printf 'rowkey\tutf8mb4_nopad_bin\ns\tutf8mb4_nopad_bin')" ]
}

@test "an existing table whose key column merges keys is refused with status 2 naming the column and collation, unless --accept-collation" {
	db_sql "CREATE TABLE ordpipe.$T (rowkey VARCHAR(255) COLLATE utf8mb4_general_ci PRIMARY KEY, n INT)"
	db_sql "CREATE TABLE ordpipe.${T}b (rowkey VARCHAR(255) COLLATE utf8mb4_bin PRIMARY KEY, n INT)"
	run_split mysql-replace -t "$T" --pipeline p$T <<<'{"rowkey":"SG","n":1}'
	assert_status 2
	[[ "$stderr" == "mysql-replace: the key column 'rowkey' of table '$T' has collation utf8mb4_general_ci: it compares case- and accent-insensitively"*"--accept-collation if that is intended)" ]]
	# nothing was written or created
	[ "$(db_sql "SELECT COUNT(*) FROM ordpipe.$T")" -eq 0 ]
	[ "$(db_sql "SELECT COUNT(*) FROM ordpipe.ordpipe_progress WHERE pipeline = 'p$T'" 2>/dev/null || echo 0)" -eq 0 ]
	run_split mysql-replace -t "${T}b" <<<'{"rowkey":"a","n":1}'
	assert_status 2
	[[ "$stderr" == *"has collation utf8mb4_bin: it pads trailing spaces ('a' = 'a ')"* ]]
	run_split mysql-replace -t "$T" --accept-collation <<<'{"rowkey":"SG","n":1}'
	assert_status 0
	[ "$(db_sql "SELECT n FROM ordpipe.$T WHERE rowkey = 'SG'")" -eq 1 ]
}

@test "-t ordpipe_progress is refused: it is the progress table" {
	run_split mysql-replace -t ordpipe_progress <<<'{"rowkey":"a"}'
	assert_status 2
	[[ "$stderr" == "mysql-replace: -t: 'ordpipe_progress' is the progress table of --pipeline, not a table for rows"* ]]
	run_split mysql-replace -t ORDPIPE_PROGRESS <<<'{"rowkey":"a"}'
	assert_status 2
}

@test "--defaults-file: a missing one is an error naming it, a world-writable one is ignored with a warning" {
	run_split mysql-replace --defaults-file "$BATS_TEST_TMPDIR/nope.cnf" -t "$T" <<<'{"rowkey":"a"}'
	assert_status 2
	[ "$stderr" = "mysql-replace: cannot read defaults file '$BATS_TEST_TMPDIR/nope.cnf': No such file or directory" ]
	# world-writable: its (wrong) database is not used
	printf '[client]\ndatabase=nosuchdb\n' >"$BATS_TEST_TMPDIR/ww.cnf"
	chmod 666 "$BATS_TEST_TMPDIR/ww.cnf"
	run_split mysql-replace --defaults-file "$BATS_TEST_TMPDIR/ww.cnf" -t "$T" <<<'{"rowkey":"a"}'
	assert_status 0
	[[ "$stderr" == *"mysql-replace: world-writable defaults file '$BATS_TEST_TMPDIR/ww.cnf' is ignored"* ]]
	chmod 644 "$BATS_TEST_TMPDIR/ww.cnf"
	run_split mysql-replace --defaults-file "$BATS_TEST_TMPDIR/ww.cnf" -t "$T" <<<'{"rowkey":"a"}'
	assert_status 1
	[[ "$stderr" == *"cannot connect to MySQL: Unknown database 'nosuchdb'"* ]]
}

@test "database= in an option file is used; -D wins over it; without either, ordpipe" {
	db_sql "CREATE DATABASE IF NOT EXISTS other$T CHARACTER SET utf8mb4 COLLATE utf8mb4_nopad_bin"
	db_sql "CREATE DATABASE IF NOT EXISTS third$T CHARACTER SET utf8mb4 COLLATE utf8mb4_nopad_bin"
	for g in client mysql-replace; do
		printf '[%s]\ndatabase=other%s\n' "$g" "$T" >"$BATS_TEST_TMPDIR/db.cnf"
		mysql-replace --defaults-file "$BATS_TEST_TMPDIR/db.cnf" -t "$T" -q <<<"{\"rowkey\":\"$g\"}"
	done
	[ "$(db_sql "SELECT rowkey FROM other$T.$T ORDER BY rowkey" | tr '\n' ' ')" = "client mysql-replace " ]
	mysql-replace --defaults-file "$BATS_TEST_TMPDIR/db.cnf" -D "third$T" -t "$T" -q <<<'{"rowkey":"d"}'
	[ "$(db_sql "SELECT rowkey FROM third$T.$T")" = d ]
	mysql-replace -t "$T" -q <<<'{"rowkey":"o"}'
	[ "$(db_sql "SELECT rowkey FROM ordpipe.$T")" = o ]
}

# The bad-data table: a row per class of server error about a row's data
# (and the client's own checks), with the reason expected in the rejects
# file. Columns: key, row, reason.
bad_data_cases() {
	cat <<-'EOC'
		r01	{"rowkey":"r01","ti":1000}	MySQL error 1264: Out of range value for column 'ti'
		r02	{"rowkey":"r02","d":1e400}	MySQL error 1367: Illegal double '1e400' value
		r03	{"rowkey":"r03","v5":"abcdefgh"}	MySQL error 1406: Data too long for column 'v5'
		r04	{"rowkey":"r04","l1":"😀"}	MySQL error 1366: Incorrect string value
		r05	{"rowkey":"r05","dt":"2026-13-45"}	MySQL error 1292: Incorrect date value
		r06	{"rowkey":"r06","i":"abc"}	MySQL error 1366: Incorrect integer value
		r07	{"rowkey":"r07","nn":null}	MySQL error 1048: Column 'nn' cannot be null
		r08	{"rowkey":"r08","bi":99999999999999999999}	MySQL error 1264: Out of range value for column 'bi'
		r09	{"rowkey":"r09","bi":3.5}	field 'bi': 3.5 is not a whole number (column 'bi' is an integer)
		r10	{"rowkey":"r10","j":"{bad"}	MySQL error 4025: CONSTRAINT
		r11	{"rowkey":"r11","":1}	field '' has no column in table
		r12	{"rowkey":"r12","I":1}	field 'I' has no column in table
		r13	{"rowkey":"r13","ti":-129}	MySQL error 1264: Out of range value for column 'ti'
	EOC
}

@test "bad data: every class of server error about a row's data rejects that row with the server's message and commits the rest" {
	db_sql "CREATE TABLE ordpipe.$T (rowkey VARCHAR(255) PRIMARY KEY, ti TINYINT, d DOUBLE, v5 VARCHAR(5),
		l1 VARCHAR(10) CHARACTER SET latin1, dt DATE, i INT, nn INT NOT NULL DEFAULT 0, j JSON, bi BIGINT)"
	{
		echo '{"rowkey":"ok1","ti":1,"bi":4.0}'
		bad_data_cases | cut -f2
		echo '{"rowkey":"ok2","i":7}'
	} >"$BATS_TEST_TMPDIR/in"
	run_split mysql-replace -t "$T" --rejects "$BATS_TEST_TMPDIR/rej" "$BATS_TEST_TMPDIR/in"
	assert_status 0
	[ "$(db_sql "SELECT rowkey, ti, bi, i FROM ordpipe.$T ORDER BY rowkey")" = "$(printf 'ok1\t1\t4\tNULL\nok2\tNULL\tNULL\t7')" ]
	[ "$(wc -l <"$BATS_TEST_TMPDIR/rej")" -eq "$(bad_data_cases | wc -l)" ]
	while IFS=$'\t' read -r key row reason; do
		got=$(jq -r --arg k "$key" 'select(.text | fromjson | .rowkey == $k) | .reason' "$BATS_TEST_TMPDIR/rej")
		[[ "$got" == *"$reason"* ]] || { echo "$key: expected '$reason', got '$got'" >&2; false; }
	done < <(bad_data_cases)
}

@test "bad data without --rejects: the first bad row stops with status 3 and its line; the rows before it are committed" {
	db_sql "CREATE TABLE ordpipe.$T (rowkey VARCHAR(255) PRIMARY KEY, d DOUBLE)"
	printf '%s\n' '{"rowkey":"a","d":1}' '{"rowkey":"b","d":1e400}' '{"rowkey":"c","d":2}' >"$BATS_TEST_TMPDIR/in"
	run_split mysql-replace -t "$T" "$BATS_TEST_TMPDIR/in"
	assert_status 3
	[[ "$stderr" == *"mysql-replace: $BATS_TEST_TMPDIR/in:2: MySQL error 1367: Illegal double '1e400' value"* ]]
	[ "$(db_sql "SELECT rowkey FROM ordpipe.$T")" = a ]
}

@test "a uniform batch through LOAD DATA with a bad value also isolates the row (1e400 into a created table)" {
	printf '%s\n' '{"rowkey":"a","shopid":1.5}' '{"rowkey":"b","shopid":1e400}' '{"rowkey":"c","shopid":2.5}' |
		run_split mysql-replace -t "$T" --rejects "$BATS_TEST_TMPDIR/rej" -q
	assert_status 0
	[ "$(db_sql "SELECT rowkey, shopid FROM ordpipe.$T ORDER BY rowkey")" = "$(printf 'a\t1.5\nc\t2.5')" ]
	[[ "$(jq -r .reason "$BATS_TEST_TMPDIR/rej")" == "MySQL error 1367: Illegal double '1e400' value"* ]]
}

@test "a created table: a field that differs from another only in case gets no column, and its rows are bad rows" {
	printf '%s\n' '{"rowkey":"a","n":1}' '{"rowkey":"b","N":2}' |
		run_split mysql-replace -t "$T" --rejects "$BATS_TEST_TMPDIR/rej"
	assert_status 0
	[ "$(db_sql "SELECT rowkey, n FROM ordpipe.$T")" = "$(printf 'a\t1')" ]
	[[ "$(jq -r .reason "$BATS_TEST_TMPDIR/rej")" == "field 'N' has no column in table '$T' (--add-columns adds one, --ignore-unknown skips it)" ]]
}

@test "a COMMIT that fails is retried, not taken for done (no second COMMIT on an empty transaction)" {
	rows3 >"$BATS_TEST_TMPDIR/in"
	ASAN_OPTIONS=verify_asan_link_order=0 LD_PRELOAD="$ORDPIPE_HELPERS/failcommit.so" FAILCOMMIT_N=1 \
		run_split mysql-replace -t "$T" --retry-backoff 10ms "$BATS_TEST_TMPDIR/in"
	assert_status 0
	[[ "$stderr" == *"COMMIT failed; retrying the batch"* ]]
	[ "$(db_sql "SELECT COUNT(*) FROM ordpipe.$T")" -eq 3 ]
	# under --pipeline too: the checkpoint commits with its rows, once
	printf '%s\n' '{"rowkey":"x","n":1}' '{"_checkpoint":{"id":1,"positions":{}}}' >"$BATS_TEST_TMPDIR/in2"
	ASAN_OPTIONS=verify_asan_link_order=0 LD_PRELOAD="$ORDPIPE_HELPERS/failcommit.so" FAILCOMMIT_N=2 \
		run_split mysql-replace -t "$T" --pipeline "p$T" --retry-backoff 10ms "$BATS_TEST_TMPDIR/in2"
	assert_status 0
	[ "$(db_sql "SELECT checkpoint_id FROM ordpipe.ordpipe_progress WHERE pipeline = 'p$T'")" -eq 1 ]
	[ "$(db_sql "SELECT n FROM ordpipe.$T WHERE rowkey = 'x'")" -eq 1 ]
}

@test "the connection lost during CREATE TABLE: reconnect and retry the DDL, as for a batch" {
	rows3 >"$BATS_TEST_TMPDIR/in"
	ASAN_OPTIONS=verify_asan_link_order=0 LD_PRELOAD="$ORDPIPE_HELPERS/failcommit.so" FAILDDL_N=2 \
		run_split mysql-replace -t "$T" --retry-backoff 10ms "$BATS_TEST_TMPDIR/in"
	assert_status 0
	[ "$(grep -c "cannot create table '$T': .*; retrying in" <<<"$stderr")" -eq 2 ]
	[ "$(db_sql "SELECT COUNT(*) FROM ordpipe.$T")" -eq 3 ]
}

@test "--stats writes a last line at exit with the totals, marked final" {
	rows3 | run_split mysql-replace -t "$T" -q --stats 1h
	assert_status 0
	echo "$stderr" | tail -1 | jq -e '.prog == "mysql-replace" and .final == true and .in == 3 and .out == 3 and .pending == 0'
}

@test "--not-null and --varchar shape a created table (SHOW CREATE TABLE); a later null there is a bad row, the rest committed" {
	printf '{"ts":"2026-01-01T00:0%d:00Z","shopid":1,"region":"SG","count":1}\n' 1 2 |
		winagg | mysql-replace -t "$T" -q --not-null window_start,window_end,orders --varchar 32
	db_sql "SHOW CREATE TABLE ordpipe.$T" | cut -f2 | sed 's/\\n/\n/g' >"$BATS_TEST_TMPDIR/show"
	grep -Fx '  `window_start` datetime(3) NOT NULL,' "$BATS_TEST_TMPDIR/show"
	grep -Fx '  `window_end` datetime(3) NOT NULL,' "$BATS_TEST_TMPDIR/show"
	grep -Fx '  `orders` bigint(20) NOT NULL,' "$BATS_TEST_TMPDIR/show"
	grep -Fx '  `items` bigint(20) DEFAULT NULL,' "$BATS_TEST_TMPDIR/show"
	grep -Fx '  `region` varchar(32) CHARACTER SET utf8mb4 COLLATE utf8mb4_nopad_bin DEFAULT NULL,' "$BATS_TEST_TMPDIR/show" ||
		grep -Fx '  `region` varchar(32) COLLATE utf8mb4_nopad_bin DEFAULT NULL,' "$BATS_TEST_TMPDIR/show"
	grep -F '  `rowkey` varchar(255) ' "$BATS_TEST_TMPDIR/show" | grep -q 'NOT NULL'
	# a row without orders, one with null, one with a 33-character region: bad rows
	printf '%s\n' '{"rowkey":"x","window_start":"2026-01-01T00:00:00Z","window_end":"2026-01-01T00:01:00Z"}' \
		'{"rowkey":"y","window_start":"2026-01-01T00:00:00Z","window_end":"2026-01-01T00:01:00Z","orders":null}' \
		'{"rowkey":"z","window_start":"2026-01-01T00:00:00Z","window_end":"2026-01-01T00:01:00Z","orders":1,"region":"abcdefghijklmnopqrstuvwxyz0123456"}' \
		'{"rowkey":"w","window_start":"2026-01-01T00:00:00Z","window_end":"2026-01-01T00:01:00Z","orders":5}' >"$BATS_TEST_TMPDIR/in"
	run_split mysql-replace -t "$T" --rejects "$BATS_TEST_TMPDIR/rej" "$BATS_TEST_TMPDIR/in"
	assert_status 0
	[ "$(jq -r .line "$BATS_TEST_TMPDIR/rej" | tr '\n' ' ')" = "1 2 3 " ]
	[ "$(jq -r .reason "$BATS_TEST_TMPDIR/rej")" = "$(printf '%s\n' "MySQL error 1364: Field 'orders' doesn't have a default value" \
		"MySQL error 1048: Column 'orders' cannot be null" "MySQL error 1406: Data too long for column 'region' at row 1")" ]
	[ "$(db_sql "SELECT orders FROM ordpipe.$T WHERE rowkey = 'w'")" = 5 ]
	[ "$(db_sql "SELECT COUNT(*) FROM ordpipe.$T")" = 3 ]
}

@test "--not-null names a field no row of the first batch has: status 1, no table; --varchar is 1 to 16383" {
	run_split mysql-replace -t "$T" --not-null n,orders <<<'{"rowkey":"a","n":1}'
	assert_status 1
	[[ "$stderr" == *"mysql-replace: cannot create table '$T': --not-null 'orders': no row of the first batch has that field"* ]]
	[ "$(db_sql "SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA='ordpipe' AND TABLE_NAME='$T'")" = 0 ]
	run_split mysql-replace -t "$T" --varchar 16384 <<<'{"rowkey":"a"}'
	assert_status 2
	[[ "$stderr" == "mysql-replace: --varchar"* ]]
	run_split mysql-replace -t "$T" --not-null a,,b <<<'{"rowkey":"a"}'
	assert_status 2
	[[ "$stderr" == "mysql-replace: --not-null: a comma-separated list of columns"* ]]
}

@test "--stats with --pipeline: the committed checkpoint's event time and the delay behind it; phases" {
	printf '%s\n' '{"rowkey":"a","n":1}' \
		'{"_checkpoint":{"id":1,"event_time":"2026-01-01T00:00:09.500Z","positions":{}}}' >"$BATS_TEST_TMPDIR/in"
	run_split mysql-replace -t "$T" --pipeline "p$T" --stats 1h "$BATS_TEST_TMPDIR/in"
	assert_status 0
	line=$(echo "$stderr" | grep '"final":true')
	echo "$line" | jq -e '.event_time_committed == "2026-01-01T00:00:09.500Z"'
	# the delay is the line's time minus that event time (1767225609.5 s)
	echo "$line" | jq -e '(((.time | sub("\\.[0-9]+Z$"; "Z") | fromdate) - 1767225609.5) * 1000) as $d |
		(.event_delay_ms - $d | fabs) < 1500'
	[ "$(echo "$line" | jq -c '.duration_ms | keys')" = '["commit","parse","read","wait"]' ]
	# a checkpoint without an event time (no rows before it): null; without
	# --pipeline: no such field
	run_split mysql-replace -t "$T" --pipeline "q$T" --stats 1h <<<'{"_checkpoint":{"id":1,"positions":{}}}'
	assert_status 0
	echo "$stderr" | grep '"final":true' | jq -e '.event_delay_ms == null and .event_time_committed == null'
	run_split mysql-replace -t "$T" --stats 1h <<<'{"rowkey":"c","n":3}'
	echo "$stderr" | grep '"final":true' | jq -e 'has("event_delay_ms") | not'
}

@test "a delete record {KEY,\"_delete\":true} removes its row in the batch's transaction; the last record of a key wins" {
	rows3 | mysql-replace -t "$T" -q
	printf '%s\n' '{"rowkey":"a","_delete":true}' '{"rowkey":"b","_delete":true}' '{"rowkey":"b","n":20,"name":"again"}' \
		'{"rowkey":"c","n":30,"name":"x"}' '{"rowkey":"c","_delete":true}' '{"rowkey":"zz","_delete":true}' >"$BATS_TEST_TMPDIR/in"
	run_split mysql-replace -t "$T" --stats 1h "$BATS_TEST_TMPDIR/in"
	assert_status 0
	# a: deleted; b: deleted then written again; c: written then deleted; zz: absent, no error
	[ "$(db_sql "SELECT rowkey, n, name FROM ordpipe.$T ORDER BY rowkey" | tr '\t' ' ')" = "b 20 again" ]
	# the dry run shows the statement, in the transaction
	run_split mysql-replace -t "$T" --dry-run < <(printf '%s\n' '{"rowkey":"k","n":1,"name":"n"}' '{"rowkey":"x\u0027y","_delete":true}')
	assert_status 0
	[[ "$output" == *"DELETE FROM \`$T\` WHERE \`rowkey\` IN ('x\\'y');"*"COMMIT;" ]]
	run_split mysql-replace -t "$T" --explain < <(printf '%s\n' '{"rowkey":"k","n":1,"name":"n"}' '{"rowkey":"j","_delete":true}')
	assert_status 0
	[[ "$output" == *"DELETE FROM \`$T\` WHERE \`rowkey\` IN (?,...);"* ]]
	# _delete must be true
	run_split mysql-replace -t "$T" <<<'{"rowkey":"b","_delete":false}'
	assert_status 3
	[[ "$stderr" == *"<stdin>:1: '_delete' is not true"* ]]
	[ "$(db_sql "SELECT COUNT(*) FROM ordpipe.$T")" = 1 ]
}

@test "deletes alone for a table that does not exist: nothing to delete, no table made" {
	run_split mysql-replace -t "$T" -v <<<'{"rowkey":"a","_delete":true}'
	assert_status 0
	[ "$(db_sql "SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA='ordpipe' AND TABLE_NAME='$T'")" = 0 ]
	# the next rows make it, without a _delete column
	printf '%s\n' '{"rowkey":"a","_delete":true}' '{"rowkey":"b","n":1}' | mysql-replace -t "$T" -q
	[ "$(db_sql "SELECT GROUP_CONCAT(COLUMN_NAME ORDER BY ORDINAL_POSITION) FROM information_schema.COLUMNS WHERE TABLE_SCHEMA='ordpipe' AND TABLE_NAME='$T'")" = "rowkey,n" ]
}

@test "winagg --session in update mode through mysql-replace: the table equals append mode's sessions, no stale row" {
	python3 "$BATS_TEST_DIRNAME/helpers/gen_rows.py" 7 3000 --orders --groups 1,2,3,4 --start 1767225600000 >"$BATS_TEST_TMPDIR/in"
	A=(-g shopid --session 4s -W 10s --trigger-rows 50 -a orders=count -a 'items=sum(count)' "$BATS_TEST_TMPDIR/in")
	winagg -m update "${A[@]}" >"$BATS_TEST_TMPDIR/upd"
	[ "$(grep -c _delete "$BATS_TEST_TMPDIR/upd")" -gt 10 ]
	# in batches of 97 rows: a retraction and its session's new row fall in different transactions too
	mysql-replace -t "$T" -q --batch 97 <"$BATS_TEST_TMPDIR/upd"
	winagg -m append "${A[@]}" | jq -r '[.rowkey, .orders, .items] | @tsv' | LC_ALL=C sort >"$BATS_TEST_TMPDIR/want"
	db_sql "SELECT rowkey, orders, items FROM ordpipe.$T" | LC_ALL=C sort >"$BATS_TEST_TMPDIR/got"
	[ "$(wc -l <"$BATS_TEST_TMPDIR/want")" -gt 100 ]
	assert_same "$BATS_TEST_TMPDIR/want" "$BATS_TEST_TMPDIR/got"
}
