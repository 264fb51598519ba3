#!/usr/bin/env bash
# Part of make bench: what crash-safe restart costs winagg.
#   1. throughput at 100 k live groups with a snapshot every second, and
#      with etl.sh's --checkpoint-budget 5, against none (the same 5 M rows
#      from a file, median of five alternating runs)
#   2. the time to restore 1 M live groups (winagg --restore, state loaded
#      and checked, nothing read)
set -eu
cd "$(dirname "$0")/../.."
: "${ORDPIPE_BIN:=build/rel/bin}"
PATH="$ORDPIPE_BIN:$PATH"
B=build/bench/checkpoint
rm -rf "$B"
mkdir -p "$B"
N=${BENCH_CKPT_N:-5000000}

# Rows as kcat-out --positions writes them (runs of 500 per partition, 16
# partitions) in both runs, so that only --checkpoint differs.
ordgen -n "$N" --shops 100000 --regions A --step 0ms |
	awk '{ sub(/}$/, ",\"_pos\":\"orders/" int(NR / 500) % 16 "/" NR "\"}"); print }' >"$B/rows"
# Runs alternate, the median of five each: on a shared 2-core machine a
# burst of other work (or a lucky fast run) hits one run, not one side.
wall() { # command: its wall time in s
	local s e
	s=$(date +%s.%N)
	bash -c "$1"
	e=$(date +%s.%N)
	awk -v s="$s" -v e="$e" 'BEGIN { printf "%.3f\n", e - s }'
}
best() { # command: the shortest wall time of three runs
	for _ in 1 2 3; do wall "$1"; done | sort -n | head -1
}
for _ in 1 2 3 4 5; do
	wall "winagg $B/rows >/dev/null" >>"$B/off.t"
	wall "rm -rf $B/d; winagg --checkpoint $B/d --checkpoint-interval 1s -v $B/rows 2>$B/on.err >/dev/null" >>"$B/on.t"
	wall "rm -rf $B/d; winagg --checkpoint $B/d --checkpoint-interval 1s --checkpoint-budget 5 -v $B/rows 2>$B/bud.err >/dev/null" >>"$B/bud.t"
done
off=$(sort -n "$B/off.t" | sed -n 3p)
on=$(sort -n "$B/on.t" | sed -n 3p)
snaps=$(grep -o '[0-9]* checkpoints written in [0-9]* ms' "$B/on.err")
ms=$(echo "$snaps" | awk '{ print $5 }')
awk -v n="$N" -v a="$off" -v b="$on" -v s="$snaps" -v ms="$ms" 'BEGIN {
	printf "winagg checkpoint: 100k live groups, %d rows with positions, median of 5: %.0f rows/s without, %.0f rows/s with a snapshot per second (%s, %.1f%% of the run): %+.1f%% time (goal <= 5%%)\n",
		n, n / a, n / b, s, ms / 10 / b, (b / a - 1) * 100 }'
bud=$(sort -n "$B/bud.t" | sed -n 3p)
snaps=$(grep -o '[0-9]* checkpoints written in [0-9]* ms' "$B/bud.err")
ms=$(echo "$snaps" | awk '{ print $5 }')
awk -v n="$N" -v a="$off" -v b="$bud" -v s="$snaps" -v ms="$ms" 'BEGIN {
	printf "winagg checkpoint: the same with --checkpoint-budget 5 (etl.sh): %.0f rows/s (%s, %.1f%% of the run): %+.1f%% time (goal <= 5%%)\n",
		n / b, s, ms / 10 / b, (b / a - 1) * 100 }'
rm -f "$B/rows"

# 1 M live groups: one group per order
ordgen -n 1000000 --step 0ms | winagg -g orderid --checkpoint "$B/m" --checkpoint-interval 1h >/dev/null
size=$(du -m "$B/m" | cut -f1)
r=$(best "winagg -g orderid --checkpoint $B/m --restore latest --restore-info -v 2>$B/restore.err >/dev/null")
groups=$(grep -o 'restored checkpoint [0-9]*: [0-9]* live groups' "$B/restore.err" | awk '{print $4}')
printf 'winagg restore: %s live groups (%s MB snapshot) in %.2fs (goal < 2s)\n' "$groups" "$size" "$r"
