#!/bin/sh
# Installs the Debian packages ordpipe needs to build and test, if any is
# missing. Safe to run again: it only asks apt when something is missing.
set -eu

PKGS="build-essential pkg-config librdkafka-dev libjson-c-dev libmariadb-dev bats
      mariadb-server mariadb-client python3 jq kcat"

missing=""
for p in $PKGS; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
		missing="$missing $p"
	fi
done
[ -z "$missing" ] && exit 0

if [ "$(id -u)" -eq 0 ]; then
	SUDO=""
elif command -v sudo >/dev/null 2>&1; then
	SUDO="sudo"
else
	echo "deps: missing packages:$missing (run as root or install sudo)" >&2
	exit 1
fi
echo "deps: installing$missing" >&2
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# mariadb-server's maintainer scripts may try to start a service; a policy
# that forbids it is fine, the tests start their own private server.
$SUDO apt-get install -y -qq --no-install-recommends $missing >&2
