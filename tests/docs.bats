#!/usr/bin/env bats
# The manual stays true to the code: every long option in --help is in the
# man page, and the examples really run.

load helpers/common

MAN="$BATS_TEST_DIRNAME/../man"
EX="$BATS_TEST_DIRNAME/../examples"

options_documented() {
	local prog=$1 opt missing=""
	for opt in $("$prog" --help | grep -o -- '--[a-z][a-z-]*' | sort -u); do
		# man escapes '-' as '\-'
		grep -q -- "$(echo "$opt" | sed 's/-/\\\\-/g')" "$MAN/$prog.1" || missing="$missing $opt"
	done
	[ -z "$missing" ] || { echo "$prog.1 lacks:$missing" >&2; return 1; }
}

@test "every option in ordgen --help is in ordgen(1)" { options_documented ordgen; }
@test "every option in winagg --help is in winagg(1)" { options_documented winagg; }
@test "every option in kcat-in --help is in kcat-in(1)" { options_documented kcat-in; }
@test "every option in kcat-out --help is in kcat-out(1)" { options_documented kcat-out; }
@test "every option in mysql-replace --help is in mysql-replace(1)" { options_documented mysql-replace; }

@test "every program has a man page and ordpipe(7) names it" {
	for p in ordgen winagg kcat-in kcat-out mysql-replace; do
		[ -f "$MAN/$p.1" ]
		grep -q "$(echo "$p" | sed 's/-/\\\\-/g')" "$MAN/ordpipe.7"
	done
}

@test "every module of common/ opens with what it owns, and README's Layout names it" {
	local h m missing=""
	for h in "$BATS_TEST_DIRNAME"/../common/*.h; do
		m=$(basename "$h" .h)
		sed -n 2p "$h" | grep -q "^ \* $m: ." || missing="$missing $m.h(comment)"
		grep -qE "\`$m\`(,| \\|)" "$BATS_TEST_DIRNAME/../README.md" || missing="$missing $m(README)"
	done
	[ -z "$missing" ] || { echo "missing:$missing" >&2; return 1; }
}

@test "winagg(1)'s worked example gives what the page says, in update and append modes" {
	run sh "$EX/worked-vector.sh" update
	[ "$(echo "$output" | jq -r '[.window_start[14:19], .sum] | join(" ")' | tr '\n' ',')" = "01:00 1,02:00 2," ]
	run sh "$EX/worked-vector.sh" append
	[ "$(echo "$output" | jq -r '[.window_start[14:19], .sum] | join(" ")' | tr '\n' ',')" = "01:00 1,02:00 2," ]
}

@test "the test flow example runs and every row is a window of 60 s" {
	run sh "$EX/test-flow.sh"
	[ "$status" -eq 0 ]
	[ "${#lines[@]}" -gt 100 ]
	bad=$(echo "$output" | jq -r 'select(((.window_end|sub("\\.000Z$";"Z")|fromdate) - (.window_start|sub("\\.000Z$";"Z")|fromdate)) != 60)' | wc -l)
	[ "$bad" -eq 0 ]
}

@test "make run's job fills MySQL through Kafka, shows the windows and a chart, and stops everything" {
	RUN_DIR="$BATS_TEST_TMPDIR/run" DURATION=4 RATE=1000 run --separate-stderr bash "$EX/run-main.sh"
	[ "$status" -eq 0 ]
	[[ "$output" == *"== ordpipe.order_agg: "*" rows, "*" orders in 10 s windows =="* ]]
	[[ "$output" == *"-- regions by items sold, last 3 windows --"* ]]
	[[ "$output" == *"-- items sold per window and region --"* ]]
	[[ "$stderr" != *"the ETL failed"* ]]
	echo "$output" | grep -Eq '^[0-9:]{8} [A-Z]{2} +[0-9]+ #+$'
	# Nothing it started is left running.
	! pgrep -f "$BATS_TEST_TMPDIR/run" >/dev/null
}

@test "Ctrl-C (SIGINT to the whole process group) stops make run's job in order: results shown, nothing left" {
	# a terminal's foreground job: own process group, SIGINT at its default
	python3 - "$BATS_TEST_TMPDIR/out" "$EX/run-main.sh" <<-'PY'
		import os, signal, subprocess, sys, time
		env = dict(os.environ, DURATION="0", RUN_DIR=os.path.dirname(sys.argv[1]) + "/run")
		p = subprocess.Popen(["bash", sys.argv[2]], start_new_session=True, env=env,
		                     stdout=open(sys.argv[1], "w"), stderr=subprocess.STDOUT,
		                     preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
		out = sys.argv[1]
		for _ in range(300):  # until the job runs
		    if "running until Ctrl-C" in open(out).read():
		        break
		    time.sleep(0.1)
		time.sleep(3)
		os.killpg(p.pid, signal.SIGINT)
		p.wait(timeout=120)
	PY
	grep -q 'ordpipe: stopping' "$BATS_TEST_TMPDIR/out"
	grep -Eq '^== ordpipe.order_agg: [1-9][0-9]* rows, [1-9][0-9]* orders in 10 s windows ==$' "$BATS_TEST_TMPDIR/out"
	! grep -q 'ERROR' "$BATS_TEST_TMPDIR/out"
	! pgrep -f "$BATS_TEST_TMPDIR/run" >/dev/null
}

@test "make install DESTDIR puts programs and pages under PREFIX, uninstall removes them" {
	cd "$BATS_TEST_DIRNAME/.."
	d="$BATS_TEST_TMPDIR/stage"
	make -s install DESTDIR="$d" PREFIX=/opt/op >/dev/null
	for p in ordgen winagg kcat-in kcat-out mysql-replace; do
		[ -x "$d/opt/op/bin/$p" ]
		[ -f "$d/opt/op/share/man/man1/$p.1" ]
	done
	[ -f "$d/opt/op/share/man/man7/ordpipe.7" ]
	[ -x "$d/opt/op/share/ordpipe/examples/etl.sh" ]
	[ -f "$d/opt/op/share/ordpipe/examples/systemd/ordpipe-etl@.service" ]
	# the installed ETL script runs its test flow with the installed programs
	"$d/opt/op/bin/ordgen" -n 50 >"$BATS_TEST_TMPDIR/o.ndjson"
	PATH="$d/opt/op/bin:$PATH" FIXTURE="$BATS_TEST_TMPDIR/o.ndjson" \
		"$d/opt/op/share/ordpipe/examples/etl.sh" test | jq -s -e 'map(.orders) | add == 50'
	"$d/opt/op/bin/ordgen" -n 1 | jq -e .orderid >/dev/null
	make -s uninstall DESTDIR="$d" PREFIX=/opt/op >/dev/null
	[ -z "$(find "$d" -type f)" ]
}

@test "ordpipe(7)'s sample winagg --stats line has exactly the fields of a real one (partitioned, checkpointed)" {
	# the sample: the .EX block after "A line of winagg", joined
	sed -n '/^A line of winagg/,/^\.EE/p' "$MAN/ordpipe.7" | sed -n '/^\.EX/,/^\.EE/p' | sed '1d;$d' |
		tr -d '\n' >"$BATS_TEST_TMPDIR/sample"
	jq -e . "$BATS_TEST_TMPDIR/sample" >/dev/null
	for i in 0 1 2 3; do
		printf '{"ts":"2026-01-01T00:00:0%dZ","shopid":%d,"region":"SG","count":1,"_pos":"t/%d/0"}\n' "$i" "$i" "$i"
	done | ORDPIPE_RUN=r1 winagg -W 5s --checkpoint "$BATS_TEST_TMPDIR/ck" --stats 1h 2>"$BATS_TEST_TMPDIR/err" >/dev/null
	grep '"final":true' "$BATS_TEST_TMPDIR/err" | jq -c 'del(.final) | keys_unsorted' >"$BATS_TEST_TMPDIR/real"
	jq -c 'keys_unsorted' "$BATS_TEST_TMPDIR/sample" >"$BATS_TEST_TMPDIR/doc"
	assert_same "$BATS_TEST_TMPDIR/real" "$BATS_TEST_TMPDIR/doc"
	# every field of winagg's and ordgen's lines is named in MONITORING
	ordgen -n 3 --stats 1h 2>>"$BATS_TEST_TMPDIR/err" >/dev/null
	sed -n '/^\.SH MONITORING/,/^\.SH CRASH/p' "$MAN/ordpipe.7" >"$BATS_TEST_TMPDIR/mon"
	for f in $(jq -r 'keys[]' "$BATS_TEST_TMPDIR/err" | sort -u); do
		grep -qF "$f" "$BATS_TEST_TMPDIR/mon" || { echo "MONITORING lacks $f" >&2; return 1; }
	done
}
