#!/usr/bin/env bash
# Runs a command with a throw-away PostgreSQL cluster:
#
#   bash scripts/with-postgres.sh cargo nextest run …
#
# Installs Debian's postgresql if missing, initialises a cluster in a fresh
# directory as an unprivileged user, starts it on a free local port, exports
# TRACKER_TEST_DATABASE_URL=postgres://tracker@127.0.0.1:PORT (no database:
# each test creates its own), runs the command, and removes the cluster.
set -euo pipefail

if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
    sudo=""
    [ "$(id -u)" = 0 ] || sudo="sudo"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends postgresql >/dev/null
fi
bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)

# PostgreSQL refuses to run as root: use the postgres account then.
as_owner() {
    if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

dir=$(mktemp -d /tmp/tracker-pg.XXXXXX)
chmod 755 "$dir"
[ "$(id -u)" = 0 ] && chown postgres "$dir"
source "$(dirname "$0")/lib/free-port.sh"
port=$(free_port)

cleanup() {
    as_owner "$bin/pg_ctl" -D "$dir/data" -m immediate stop >/dev/null 2>&1 || true
    rm -rf "$dir"
}
trap cleanup EXIT

as_owner "$bin/initdb" -D "$dir/data" -U tracker -A trust -E UTF8 --no-locale >/dev/null
# Durability is pointless for a throw-away test cluster; speed is not.
as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/log" -w -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=500" start >/dev/null

export TRACKER_TEST_DATABASE_URL="postgres://tracker@127.0.0.1:$port"
echo "PostgreSQL $("$bin/postgres" --version | awk '{print $3}') on $TRACKER_TEST_DATABASE_URL"
"$@"
