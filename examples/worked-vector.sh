#!/bin/sh
# winagg(1)'s worked example: 60 s windows, 10 s watermark, one row per batch.
set -eu
MODE=${1:-update}
printf '%s\n' '{"ts":65,"count":1}' '{"ts":130,"count":2}' '{"ts":118,"count":5}' |
	winagg --time-unit s -g '' -a sum='sum(count)' -W 10 --trigger-rows 1 -m "$MODE"
