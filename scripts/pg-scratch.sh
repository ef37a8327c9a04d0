#!/usr/bin/env bash
# A throwaway PostgreSQL cluster for trying the collector's PostgreSQL backend and for
# tracelet-load: `scripts/pg-scratch.sh start DIR` initialises DIR (as the unprivileged
# postgres user when run as root; initdb refuses root), starts it on a free loopback port with
# PostgreSQL's default durability (fsync and synchronous commit on) and prints the URL of a
# fresh database `tracelet`; `scripts/pg-scratch.sh stop DIR` stops it and deletes DIR.
set -euo pipefail

bindir() {
    if [ -n "${TRACELET_PG_BIN:-}" ]; then echo "$TRACELET_PG_BIN"; return; fi
    if command -v pg_config >/dev/null && [ -x "$(pg_config --bindir)/initdb" ]; then
        pg_config --bindir
        return
    fi
    ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1
}

as_server_user() {
    if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

cmd=${1:-}
dir=${2:-}
[ -n "$cmd" ] && [ -n "$dir" ] || { echo "usage: $0 start|stop DIR" >&2; exit 2; }
bin=$(bindir)
[ -x "$bin/initdb" ] || { echo "pg-scratch: PostgreSQL is not installed (apt-get install postgresql-15)" >&2; exit 1; }

case "$cmd" in
start)
    mkdir -p "$dir"
    dir=$(cd "$dir" && pwd)
    [ "$(id -u)" -eq 0 ] && chown postgres:postgres "$dir"
    as_server_user "$bin/initdb" -D "$dir/data" -A trust -U postgres -E UTF8 --locale=C >/dev/null
    port=$(free_port)
    as_server_user "$bin/pg_ctl" -D "$dir/data" -l "$dir/log" -w -t 60 \
        -o "-p $port -c listen_addresses=127.0.0.1 -k $dir -c max_connections=300 -c shared_buffers=256MB" \
        start >/dev/null
    "$bin/createdb" -h 127.0.0.1 -p "$port" -U postgres tracelet
    echo "postgres://postgres@127.0.0.1:$port/tracelet"
    ;;
stop)
    as_server_user "$bin/pg_ctl" -D "$dir/data" -m fast stop >/dev/null || true
    rm -rf "$dir"
    ;;
*)
    echo "usage: $0 start|stop DIR" >&2
    exit 2
    ;;
esac
