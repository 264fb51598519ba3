#!/usr/bin/env bash
# Part of make bench: mysql-replace against the fastest other ways to load
# the same rows into the same private MariaDB over the unix socket:
# LOAD DATA LOCAL INFILE ... REPLACE (one statement for the file) and a
# prepared REPLACE with array binding (mybulk, 1000 rows per execution).
# Prints rows like run.sh's table. Args: ROWS (default 200000).
set -eu
cd "$(dirname "$0")/../.."
N=${1:-200000}
B=$PWD/build/bench
BATS_FILE_TMPDIR=$B/mysql
rm -rf "$BATS_FILE_TMPDIR"
mkdir -p "$BATS_FILE_TMPDIR"
bats_require_minimum_version() { :; }
. tests/helpers/mysqldb.bash
db_start >/dev/null
trap db_stop EXIT
cc -O2 -o "$B/mybulk" tests/bench/mybulk.c $(pkg-config --cflags --libs libmariadb)

# N distinct winagg-shaped rows, then the same keys with new counts.
gen() { # $1: 0 fresh, 1 updates; $2: ndjson or tsv
	awk -v n="$N" -v u="$1" -v f="$2" 'BEGIN {
		split("SG MY TH ID VN PH", R, " ")
		for (i = 0; i < n; i++) {
			m = int(i / 600); s = i % 100 + 1; r = R[int(i / 100) % 6 + 1]
			ws = sprintf("2026-01-%02d %02d:%02d:00.000", int(m / 1440) % 28 + 1, int(m / 60) % 24, m % 60)
			we = sprintf("2026-01-%02d %02d:%02d:59.999", int(m / 1440) % 28 + 1, int(m / 60) % 24, m % 60)
			k = sprintf("%s/%d|%s", ws, s, r); o = i % 37 + 1 + u; it = o * 3 + u
			if (f == "tsv")
				printf "%s\t%s\t%s\t%d\t%s\t%d\t%d\n", k, ws, we, s, r, o, it
			else {
				wsj = ws; sub(" ", "T", wsj); wej = we; sub(" ", "T", wej)
				printf "{\"rowkey\":\"%s\",\"window_start\":\"%sZ\",\"window_end\":\"%sZ\",\"shopid\":%d,\"region\":\"%s\",\"orders\":%d,\"items\":%d}\n", k, wsj, wej, s, r, o, it
			}
		}
	}'
}
gen 0 ndjson >"$B/rows0.ndjson"
gen 1 ndjson >"$B/rows1.ndjson"
gen 0 tsv >"$B/rows0.tsv"
gen 1 tsv >"$B/rows1.tsv"

mk() { db_sql "DROP TABLE IF EXISTS ordpipe.$1; CREATE TABLE ordpipe.$1 (rowkey VARCHAR(255) NOT NULL PRIMARY KEY, window_start DATETIME(3), window_end DATETIME(3), shopid BIGINT, region VARCHAR(255), orders BIGINT, items BIGINT) ENGINE=InnoDB"; }
m() { python3 tests/bench/measure.py "$@"; }
rate() { echo "${1% *}"; }
ld() { echo "mariadb --no-defaults -uroot -S $DB_SOCK --local-infile=1 ordpipe -e \"LOAD DATA LOCAL INFILE '$1' REPLACE INTO TABLE $2 (rowkey, window_start, window_end, shopid, region, orders, items)\""; }
check() { # the three tables must hold the same data
	a=$(db_sql "CHECKSUM TABLE ordpipe.mr" | cut -f2); b=$(db_sql "CHECKSUM TABLE ordpipe.ld" | cut -f2); c=$(db_sql "CHECKSUM TABLE ordpipe.bk" | cut -f2)
	[ "$a" = "$b" ] && [ "$b" = "$c" ] || echo "bench: tables differ after $1: $a $b $c" >&2
}
for t in mr ld bk; do mk $t; done
for phase in 0 1; do
	what=$([ $phase = 0 ] && echo "fresh" || echo "updates")
	rm -f "$B/mr.stats"
	r=$(m "$N" "mysql-replace -t mr --stats-file $B/mr.stats <$B/rows$phase.ndjson")
	l=$(m "$N" "$(ld "$B/rows$phase.tsv" ld)")
	k=$(m "$N" "$B/mybulk bk $B/rows$phase.tsv 1000")
	check "$what"
	best=$(rate "$l"); name="LOAD DATA"
	if awk -v a="$(rate "$k")" -v b="$best" 'BEGIN { exit !(a > b) }'; then best=$(rate "$k"); name="bulk REPLACE"; fi
	printf '%-8s %-34s %12.0f %9s  %-24s %12.0f %7s\n' mysql-r "$N rows, $what, unix socket" "$(rate "$r")" "$((${r#* } / 1024))M" "LOAD DATA" "$(rate "$l")" "$(awk -v a="$(rate "$r")" -v b="$(rate "$l")" 'BEGIN { printf "%.2fx", a / b }')"
	printf '%-8s %-34s %12.0f %9s  %-24s %12.0f %7s\n' mysql-r "$N rows, $what, unix socket" "$(rate "$r")" "$((${r#* } / 1024))M" "bulk REPLACE (array)" "$(rate "$k")" "$(awk -v a="$(rate "$r")" -v b="$(rate "$k")" 'BEGIN { printf "%.2fx", a / b }')"
	# where mysql-replace's time went (its --stats phases): commit is the
	# statements and the server's answers, the rest is the client's
	jq -r --arg w "$what" '.duration_ms | "mysql-replace time, \($w): read \(.read) ms, parse \(.parse) ms, waiting for the server \(.commit) ms, wait \(.wait) ms"' \
		"$B/mr.stats" 2>/dev/null || true
done

# Startup against the server: one row from the program's start to its
# commit (connect, look at the table, write), beside the mariadb client
# connecting and running one REPLACE of the same row.
db_sql "DROP TABLE IF EXISTS ordpipe.st"
python3 tests/bench/startup.py "mysql-replace, one row committed" 30 mysql-replace -t st
python3 tests/bench/startup.py "mariadb -e 'REPLACE ...', one row" 30 mariadb --no-defaults -uroot -S "$DB_SOCK" ordpipe \
	-e "REPLACE INTO st (rowkey, ts, shopid, region, count) VALUES ('a', '2026-01-01 00:00:00', 1, 'SG', 1)"
[ "$(db_sql "SELECT COUNT(*) FROM ordpipe.st")" = 1 ] || echo "bench: table st should hold one row" >&2
