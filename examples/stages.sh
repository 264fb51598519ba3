# Sourced by etl.sh and producer.sh: runs a pipeline of stages so that every
# stage's exit status is checked and none is left running.
#
#   stages_run NAME...      for each NAME, the array STAGE_<i> (i = 0, 1, ...)
#                           holds that stage's command and arguments
#
# The stages are connected by anonymous pipes made here (bash's own "|" only
# reports the last PID). When a stage exits non-zero, the others are
# stopped (SIGTERM, then SIGKILL after STAGE_GRACE seconds) and the failure
# is reported by name: the stage that failed first in pipeline order, not
# counting a stage that only died of the closed pipe (status 141) or of our
# SIGTERM (143). SIGINT or SIGTERM to the script stops the first stage only,
# so the rest drain what is in flight and end at their end of input; a
# second signal stops every stage. Returns the failed stage's status, 0 if
# all succeeded; sets STAGE_FAILED to its name.

STAGE_GRACE=${STAGE_GRACE:-10}

# The settings a config file may hold (ordpipe(7), FLOWS).
CONF_KEYS="KAFKA_BROKERS KAFKA_CONFIG TOPIC GROUP PARTITIONS WINDOW SESSION WATERMARK MODE TABLE DATABASE
	MYSQL_DEFAULTS_FILE FIXTURE STATS END_AT_EOF CHECKPOINT_DIR CHECKPOINT_INTERVAL CHECKPOINT_BUDGET
	LOSSY_RESTART PIPELINE KCAT_OUT_OPTS WINAGG_OPTS MYSQL_REPLACE_OPTS NOT_NULL RATE COUNT KEY
	ORDGEN_OPTS KCAT_IN_OPTS STAGE_GRACE"

# conf_load FILE: reads a config file as data, never as code: KEY=VALUE
# lines (KEY one of CONF_KEYS), comments (#) and blank lines. VALUE is bare
# (no blanks, quotes, $, `, \ or shell operators), or wholly in "..." (no
# ", $, ` or \ inside) or '...': what systemd's EnvironmentFile= reads the
# same way. Anything else is an error naming FILE:LINE (status 2). Every
# setting is exported, so it reaches the programs too (KAFKA_BROKERS); a
# variable already set in the environment wins over the file, so that
# "TABLE=x etl.sh -c FILE prod" does what it says.
conf_load() {
	local file=$1 line key val n=0 k
	local -A env=()
	[ -r "$file" ] && [ ! -d "$file" ] || { _stages_say "cannot read config '$file'"; return 2; }
	for k in $CONF_KEYS; do [ -n "${!k+set}" ] && env[$k]=1; done
	while IFS= read -r line || [ -n "$line" ]; do
		n=$((n + 1))
		line=${line%$'\r'}
		[[ $line =~ ^[[:space:]]*(#.*)?$ ]] && continue
		if ! [[ $line =~ ^([A-Za-z_][A-Za-z0-9_]*)=(.*)$ ]]; then
			_stages_say "$file:$n: not a KEY=VALUE line: $line"
			return 2
		fi
		key=${BASH_REMATCH[1]} val=${BASH_REMATCH[2]}
		case " ${CONF_KEYS//[[:space:]]/ } " in
		*" $key "*) ;;
		*) _stages_say "$file:$n: unknown setting '$key'"; return 2 ;;
		esac
		if [[ $val =~ ^\"([^\"\$\`\\]*)\"$ ]] || [[ $val =~ ^\'([^\']*)\'$ ]]; then
			val=${BASH_REMATCH[1]}
		elif ! [[ $val =~ ^[^[:space:]\"\'\$\`\\\;\&\|\<\>\(\)]*$ ]]; then
			_stages_say "$file:$n: $key: a value with blanks or quotes goes in double quotes, with no \$, \` or \\ in it"
			return 2
		fi
		[ -n "${env[$key]:-}" ] || printf -v "$key" '%s' "$val" # a later line wins
		export "${key?}"
	done <"$file"
}

# conf_opts "$@": takes -c CONFIG (default $ORDPIPE_CONF) off the
# arguments, loads it, and leaves the other arguments in ARGS. Returns 2 on
# a bad option or an unreadable config.
conf_opts() {
	local o OPTIND=1 conf=${ORDPIPE_CONF:-}
	while getopts c: o; do
		case $o in
		c) conf=$OPTARG ;;
		*) return 2 ;;
		esac
	done
	shift $((OPTIND - 1))
	ARGS=("$@")
	[ -z "$conf" ] || conf_load "$conf"
}

# _stages_pipe: an anonymous pipe, read end in _r and write end in _w. A
# process substitution's pipe is reopened read-write through /proc (so that
# neither open blocks), then as two ends: no file exists at any moment, so
# a killed script leaves nothing behind.
_stages_pipe() {
	local p r w
	exec {p}<> <(:) || return 1
	exec {r}<"/proc/self/fd/$p" {w}>"/proc/self/fd/$p" {p}>&- || return 1
	_r=$r _w=$w
}
_stages_say() { printf '%s: %s\n' "${PROG:-ordpipe}" "$*" >&2; }

# stages_run NAME...: runs STAGE_0 | STAGE_1 | ..., checking every status.
# Every stage gets one ORDPIPE_RUN (unless already set): its --stats lines
# carry it, so one run's stages can be told apart from another's in a log;
# and ORDPIPE_PIPELINE, the pipeline label of its --metrics.
stages_run() {
	local names=("$@") n=$# i k
	export ORDPIPE_RUN=${ORDPIPE_RUN:-${PIPELINE:-${names[0]}}-$(date -u +%Y%m%dT%H%M%SZ)-$$}
	export ORDPIPE_PIPELINE=${ORDPIPE_PIPELINE:-${PIPELINE:-${names[0]}}} # --metrics' label
	local -a pids=() status=() rfd=() wfd=() fds=()

	local _r _w
	for ((i = 1; i < n; i++)); do
		_stages_pipe || { _stages_say "cannot make a pipe"; return 1; }
		rfd[i]=$_r wfd[i]=$_w
		fds+=("$_r" "$_w")
	done

	# A stage gets its ends as stdin/stdout and closes every other pipe
	# end, or a reader would never see end of input. The first stage reads
	# the script's own stdin ("<&0": a background job would get /dev/null)
	# and the last writes the script's own stdout.
	for ((i = 0; i < n; i++)); do
		local -n cmd="STAGE_$i"
		(
			((i > 0)) && exec <&"${rfd[i]}"
			((i < n - 1)) && exec >&"${wfd[i + 1]}"
			for k in "${fds[@]}"; do exec {k}>&-; done
			exec "${cmd[@]}"
		) <&0 &
		pids[i]=$!
		status[i]=
		unset -n cmd
	done
	for k in "${fds[@]}"; do exec {k}>&-; done

	_stages_sigs=0
	trap '_stages_sigs=$((_stages_sigs + 1)); if [ $_stages_sigs -eq 1 ]; then kill -TERM ${pids[0]} 2>/dev/null; else kill -TERM ${pids[*]} 2>/dev/null; fi' INT TERM

	# Poll rather than "wait -n": bash forgets a finished job once it has
	# reported it, and "wait -n" then fails, while "wait PID" always works.
	# a sleep without a process: a pipe that only we hold, never written
	local failed_at=-1 running=$n tick
	exec {tick}<> <(:) || { _stages_say "cannot make a pipe"; return 1; }
	while ((running > 0)); do
		for ((i = 0; i < n; i++)); do
			[ -n "${status[i]}" ] && continue
			_stages_alive "${pids[i]}" && continue
			wait "${pids[i]}"
			status[i]=$?
			running=$((running - 1))
			if [ "${status[i]}" -ne 0 ] && [ "$failed_at" -lt 0 ]; then
				failed_at=$i
				# only those not yet waited for: a reaped PID may be reused
				local -a rest=()
				for ((k = 0; k < n; k++)); do [ -z "${status[k]}" ] && rest+=("${pids[k]}"); done
				((${#rest[@]})) && _stages_stop_rest "${rest[@]}"
			fi
		done
		((running > 0)) && read -r -t 0.1 -u "$tick" _
	done
	exec {tick}<&-
	trap - INT TERM

	STAGE_FAILED=
	[ "$failed_at" -lt 0 ] && return 0
	# The cause: the first stage, in pipeline order, that failed on its own.
	local cause=-1
	for ((i = 0; i < n; i++)); do
		case ${status[i]} in 0 | 141 | 143) ;; *) cause=$i; break ;; esac
	done
	[ "$cause" -lt 0 ] && cause=$failed_at
	STAGE_FAILED=${names[cause]}
	local all=""
	for ((i = 0; i < n; i++)); do all="$all ${names[i]}=${status[i]}"; done
	_stages_say "stage '${names[cause]}' failed with status ${status[cause]}; pipeline stopped (exit statuses:$all)"
	return "${status[cause]}"
}

# Is PID running? (An exited stage not yet waited for is a zombie: not running.)
_stages_alive() {
	local st
	read -r _ _ st _ 2>/dev/null <"/proc/$1/stat" || return 1
	[ "$st" != Z ]
}

# Stops every stage still running: SIGTERM, then SIGKILL after STAGE_GRACE s.
_stages_stop_rest() {
	local p t alive
	kill -TERM "$@" 2>/dev/null
	for ((t = 0; t < STAGE_GRACE * 10; t++)); do
		alive=0
		for p in "$@"; do _stages_alive "$p" && alive=1; done
		[ "$alive" -eq 0 ] && return 0
		sleep 0.1
	done
	kill -KILL "$@" 2>/dev/null
}
