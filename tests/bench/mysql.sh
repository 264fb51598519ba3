#!/usr/bin/env bash
# Part of make bench: mysql-replace against the fastest other ways to load
# the same rows into the same private MariaDB, over the unix socket and TCP:
# LOAD DATA LOCAL INFILE ... REPLACE (one statement for the file), the same
# cut into transactions of mysql-replace's --batch, and a prepared REPLACE
# with array binding (mybulk, 1000 rows per execution). Prints rows like
# run.sh's table and goal 3's verdict. Args: ROWS (default 200000).
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
# LOAD DATA in transactions of mysql-replace's --batch (5000 rows): the
# same statement, cut where mysql-replace commits, from the mariadb client
split -l 5000 -d -a 4 "$B/rows0.tsv" "$B/part0."
split -l 5000 -d -a 4 "$B/rows1.tsv" "$B/part1."
for phase in 0 1; do
	{
		echo "SET autocommit=0;"
		for f in "$B"/part$phase.*; do
			echo "LOAD DATA LOCAL INFILE '$f' REPLACE INTO TABLE lb (rowkey, window_start, window_end, shopid, region, orders, items); COMMIT;"
		done
	} >"$B/parts$phase.sql"
done
TOOLS="mr ld bk lb mrt ldt"
check() { # every table must hold the same data (after updates)
	sums=$(for t in $TOOLS; do db_sql "CHECKSUM TABLE ordpipe.$t" | cut -f2; done | sort -u)
	[ "$(echo "$sums" | wc -l)" = 1 ] || echo "bench: tables differ after $1:" $sums >&2
}
cmd_of() { # TOOL PHASE: the command loading rows$PHASE with TOOL
	case $1 in
	mr) echo "mysql-replace -t mr --stats-file $B/mr$2.stats <$B/rows$2.ndjson" ;;
	ld) ld "$B/rows$2.tsv" ld ;;
	bk) echo "$B/mybulk bk $B/rows$2.tsv 1000" ;;
	lb) echo "mariadb --no-defaults -uroot -S $DB_SOCK --local-infile=1 ordpipe <$B/parts$2.sql" ;;
	mrt) echo "mysql-replace -h 127.0.0.1 -P $DB_PORT -t mrt <$B/rows$2.ndjson" ;;
	ldt) ld "$B/rows$2.tsv" ldt | sed "s|-S $DB_SOCK|-h 127.0.0.1 -P $DB_PORT|" ;;
	esac
}
# Five rounds, the tools taking turns (a burst of other work on this shared
# machine then hits one run, not one tool): each loads a fresh table (fresh),
# then the same keys with new values (updates). Medians of the five.
rm -f "$B"/mr?.stats "$B/mysql.t"
for round in 1 2 3 4 5; do
	for t in $TOOLS; do
		mk $t
		echo "$t 0 $(m "$N" "$(cmd_of $t 0)")" >>"$B/mysql.t"
		echo "$t 1 $(m "$N" "$(cmd_of $t 1)")" >>"$B/mysql.t"
	done
	check "round $round"
done
med() { grep "^$1 $2 " "$B/mysql.t" | cut -d' ' -f3- | sort -n | sed -n 3p; }
pr() { # RESULT PEER PEER_RESULT [TRANSPORT]
	printf '%-8s %-34s %12.0f %9s  %-24s %12.0f %7s\n' mysql-r "$N rows, $what, ${4:-unix socket}" "$(rate "$1")" "$((${1#* } / 1024))M" "$2" "$(rate "$3")" "$(awk -v a="$(rate "$1")" -v b="$(rate "$3")" 'BEGIN { printf "%.2fx", a / b }')"
}
ok=1
for phase in 0 1; do
	what=$([ $phase = 0 ] && echo "fresh" || echo "updates")
	r=$(med mr $phase)
	pr "$r" "LOAD DATA (median of 5)" "$(med ld $phase)"
	pr "$(med mrt $phase)" "LOAD DATA (median of 5)" "$(med ldt $phase)" TCP
	for p in "mr ld" "mrt ldt"; do
		set -- $p
		ok=$((ok && $(awk -v a="$(rate "$(med $1 $phase)")" -v b="$(rate "$(med $2 $phase)")" 'BEGIN { print (a >= b) ? 1 : 0 }')))
	done
	pr "$r" "bulk REPLACE (array)" "$(med bk $phase)"
	# the same LOAD DATA committed every 5000 rows, as mysql-replace does:
	# the difference to one LOAD DATA is the server's cost of the commits
	pr "$r" "LOAD DATA, 5000 a commit" "$(med lb $phase)"
	# where mysql-replace's time went (its --stats phases, last round):
	# commit is the statements and the server's answers, the rest the client's
	tail -n 1 "$B/mr$phase.stats" | jq -r --arg w "$what" '.duration_ms | "mysql-replace time, \($w): read \(.read) ms, parse \(.parse) ms, waiting for the server \(.commit) ms, wait \(.wait) ms"' 2>/dev/null || true
done

echo "goal mysql-replace >= LOAD DATA LOCAL, fresh and updates, unix socket and TCP (medians of 5): $([ "$ok" = 1 ] && echo met || echo 'NOT met')"

# Startup against the server: one row from the program's start to its
# commit (connect, look at the table, write), beside the mariadb client
# connecting and running one REPLACE of the same row.
db_sql "DROP TABLE IF EXISTS ordpipe.st"
python3 tests/bench/startup.py "mysql-replace, one row committed" 30 mysql-replace -t st
python3 tests/bench/startup.py "mariadb -e 'REPLACE ...', one row" 30 mariadb --no-defaults -uroot -S "$DB_SOCK" ordpipe \
	-e "REPLACE INTO st (rowkey, ts, shopid, region, count) VALUES ('a', '2026-01-01 00:00:00', 1, 'SG', 1)"
[ "$(db_sql "SELECT COUNT(*) FROM ordpipe.st")" = 1 ] || echo "bench: table st should hold one row" >&2
