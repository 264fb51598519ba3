#!/bin/sh
# The test flow's rows into MySQL: N orders (default 20000) through winagg
# into TABLE (default order_agg) of the server named by the environment
# (MYSQL_UNIX_PORT, MYSQL_HOST, ...) or the option files.
set -eu
N=${N:-20000}
ordgen -n "$N" | winagg --window 60 | mysql-replace -t "${TABLE:-order_agg}"
