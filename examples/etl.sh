#!/usr/bin/env bash
# The ETL job, with its source and sink chosen by the flow (the shell is the
# dependency injection; the core, winagg, is the same in both):
#
#   etl.sh [-c CONFIG] test [DEV_EMAIL]   FIXTURE (file of orders) -> winagg -> stdout
#   etl.sh [-c CONFIG] prod [DEV_EMAIL]   kcat-out | winagg | mysql-replace
#
# Configuration: CONFIG (default $ORDPIPE_CONF), a file of KEY=VALUE lines
# read as data (see ordpipe.env, stages.sh); a variable set in the
# environment wins over it. The prod flow is crash-safe unless told
# otherwise: checkpoints in CHECKPOINT_DIR (default below); LOSSY_RESTART=1
# runs without them, under a consumer group, and then a restart loses the
# open windows and overwrites complete rows with partial ones. Every
# stage's exit status is checked; a failing stage stops the others and the
# script exits with its status, naming it. With DEV_EMAIL, a failure is also mailed to it when a
# mailer (mail, or sendmail) is installed; under cron, MAILTO does the same
# for anything the job prints.
set -u -o pipefail
PROG=etl
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/stages.sh"

usage() {
	echo "usage: etl.sh [-c CONFIG] test|prod [DEV_EMAIL]" >&2
	exit 2
}

conf_opts "$@" || usage
set -- "${ARGS[@]}"
[ $# -ge 1 ] && [ $# -le 2 ] || usage
FLOW=$1
DEV_EMAIL=${2:-}
case $FLOW in test | prod) ;; *) echo "etl: unknown flow '$FLOW' (test or prod)" >&2; usage ;; esac

# Settings and their defaults (ordpipe(7), FLOWS).
TOPIC=${TOPIC:-orders}
GROUP=${GROUP:-etl}
PARTITIONS=${PARTITIONS:-}          # static partitions (e.g. 0,2,4) instead of the group
WINDOW=${WINDOW:-60s}
SESSION=${SESSION:-}                # e.g. 30m: session windows with this gap instead of WINDOW
WATERMARK=${WATERMARK:-}            # empty: no watermark (windows close at end of input)
MODE=${MODE:-update}
TABLE=${TABLE:-order_agg}
DATABASE=${DATABASE:-ordpipe}
MYSQL_DEFAULTS_FILE=${MYSQL_DEFAULTS_FILE:-}
FIXTURE=${FIXTURE:-}
STATS=${STATS:-}                    # e.g. 10s: a JSON line of counters per stage
END_AT_EOF=${END_AT_EOF:-0}         # 1: kcat-out stops at the end of the partitions
PIPELINE=${PIPELINE:-$GROUP}        # this pipeline's name in the sink's progress table
LOSSY_RESTART=${LOSSY_RESTART:-0}   # 1: no checkpoints (a restart corrupts open windows' rows)
if [ "$(id -u)" -eq 0 ]; then
	state=/var/lib/ordpipe
else
	state=${XDG_STATE_HOME:-$HOME/.local/state}/ordpipe
fi
# crash-safe restart (ordpipe(7), CRASH-SAFE RESTART); systemd's StateDirectory= sets STATE_DIRECTORY
CHECKPOINT_DIR=${CHECKPOINT_DIR:-${STATE_DIRECTORY:-$state}/ckpt-$PIPELINE}
CHECKPOINT_INTERVAL=${CHECKPOINT_INTERVAL:-1s}
CHECKPOINT_BUDGET=${CHECKPOINT_BUDGET:-5}      # percent of winagg's time for snapshots taken sooner
KCAT_OUT_OPTS=${KCAT_OUT_OPTS:-}
KAFKA_CONFIG=${KAFKA_CONFIG:-}
WINAGG_OPTS=${WINAGG_OPTS:-}
MYSQL_REPLACE_OPTS=${MYSQL_REPLACE_OPTS:-}
# a created table's columns that are never null: the window and winagg's
# default count (orders=count); with other -a in WINAGG_OPTS, name its counts
NOT_NULL=${NOT_NULL-window_start,window_end,orders}

stats=()
[ -n "$STATS" ] && stats=(--stats "$STATS")
if [ -n "$SESSION" ]; then
	winagg_args=(--session "$SESSION" -m "$MODE" "${stats[@]}")
else
	winagg_args=(--window "$WINDOW" -m "$MODE" "${stats[@]}")
fi
[ -n "$WATERMARK" ] && winagg_args+=(--watermark "$WATERMARK")
# shellcheck disable=SC2206 # the *_OPTS are word lists by design
winagg_args+=($WINAGG_OPTS)

notify() {
	local what=$1
	[ -n "$DEV_EMAIL" ] || return 0
	local body="ordpipe ETL ($FLOW) on $(hostname) at $(date -u +%FT%TZ): $what"
	if command -v mail >/dev/null 2>&1; then
		echo "$body" | mail -s "ordpipe ETL failed: $what" "$DEV_EMAIL"
	elif command -v sendmail >/dev/null 2>&1; then
		printf 'To: %s\nSubject: ordpipe ETL failed: %s\n\n%s\n' "$DEV_EMAIL" "$what" "$body" |
			sendmail -t
	else
		echo "etl: no mailer (mail or sendmail) to tell $DEV_EMAIL; see cron's MAILTO" >&2
	fi
}

need=(winagg)
[ "$FLOW" = prod ] && need+=(kcat-out mysql-replace)
for p in "${need[@]}"; do
	command -v "$p" >/dev/null 2>&1 || { echo "etl: program '$p' not found on PATH ($PATH)" >&2; exit 1; }
done

if [ "$FLOW" = test ]; then
	[ -n "$FIXTURE" ] || { echo "etl: the test flow needs FIXTURE (a file of orders)" >&2; exit 2; }
	STAGE_0=(winagg "${winagg_args[@]}" "$FIXTURE")
	stages_run winagg
	st=$?
else
	# --positions: winagg judges lateness per partition (ordpipe(7), WINDOW SEMANTICS)
	src=(kcat-out -t "$TOPIC" --positions "${stats[@]}")
	sink=(mysql-replace -D "$DATABASE" "${stats[@]}")
	[ -n "$NOT_NULL" ] && sink+=(--not-null "$NOT_NULL")
	[ -n "$MYSQL_DEFAULTS_FILE" ] && sink+=(--defaults-file "$MYSQL_DEFAULTS_FILE")
	case $LOSSY_RESTART in 0 | 1) ;; *) echo "etl: LOSSY_RESTART is 0 or 1, not '$LOSSY_RESTART'" >&2; exit 2 ;; esac
	if [ "$LOSSY_RESTART" = 0 ]; then
		# Resume from the cut the sink committed last: winagg's snapshot of
		# it (or an older usable one) and kcat-out at its positions. Static
		# partitions: a group could move a partition away from its state.
		last=$("${sink[@]}" --pipeline "$PIPELINE" --last-checkpoint) ||
			{ echo "etl: cannot read the last checkpoint of pipeline '$PIPELINE'" >&2; exit 1; }
		winagg_args+=(--checkpoint "$CHECKPOINT_DIR" --checkpoint-interval "$CHECKPOINT_INTERVAL")
		[ "$CHECKPOINT_BUDGET" = 0 ] || winagg_args+=(--checkpoint-budget "$CHECKPOINT_BUDGET")
		# the sink tells winagg which snapshot a restart needs: it is kept
		# however far behind a stalled sink is (winagg(1), --checkpoint-keep)
		mkdir -p "$CHECKPOINT_DIR" && printf '%s\n' "${last:-{\"id\":0,\"positions\":{\}\}}" >"$CHECKPOINT_DIR/committed" ||
			{ echo "etl: cannot write '$CHECKPOINT_DIR/committed'" >&2; exit 1; }
		[ -n "$PARTITIONS" ] && src+=(-p "$PARTITIONS")
		if [ -n "$last" ]; then
			# winagg reads the committed cut itself (--restore committed) and
			# says where kcat-out resumes: no parsing here
			start=$CHECKPOINT_DIR/start.json
			winagg "${winagg_args[@]}" --restore committed --restore-info >"$start.tmp" &&
				mv "$start.tmp" "$start" ||
				{ echo "etl: cannot restore the committed checkpoint from '$CHECKPOINT_DIR'" >&2; exit 1; }
			src+=(--start-from "$start")
			winagg_args+=(--restore committed)
			echo "etl: pipeline '$PIPELINE' resumes from checkpoint $(cat "$start")" >&2
		fi
		sink+=(--pipeline "$PIPELINE" --progress-file "$CHECKPOINT_DIR/committed")
		# lag tools see the sink's progress as group GROUP (kcat-out never joins it)
		src+=(--report-group "$GROUP" --report-from "$CHECKPOINT_DIR/committed")
	elif [ -n "$PARTITIONS" ]; then
		src+=(-p "$PARTITIONS")
	else
		src+=(-G "$GROUP")
	fi
	[ "$END_AT_EOF" = 1 ] && src+=(-e)
	sink+=(-t "$TABLE")
	[ -n "$KAFKA_CONFIG" ] && src+=(-F "$KAFKA_CONFIG")
	# shellcheck disable=SC2206
	src+=($KCAT_OUT_OPTS)
	# shellcheck disable=SC2206
	sink+=($MYSQL_REPLACE_OPTS)
	STAGE_0=("${src[@]}")
	STAGE_1=(winagg "${winagg_args[@]}")
	STAGE_2=("${sink[@]}")
	stages_run kcat-out winagg mysql-replace
	st=$?
fi
[ "$st" -ne 0 ] && notify "stage '$STAGE_FAILED' exited with status $st"
exit "$st"
