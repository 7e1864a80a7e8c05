#!/usr/bin/env bash
# Throwaway PostgreSQL clusters for tests.
#
#   pg-test-server.sh start DIR PORT   init (if needed) and start a cluster in DIR
#   pg-test-server.sh stop DIR         stop it (no error when it is not running)
#   pg-test-server.sh status DIR       exit 0 when it is running
#
# The cluster keeps its data in DIR/data and its log in DIR/postgres.log, and
# listens only on 127.0.0.1:PORT and on a unix socket in DIR. The superuser is
# `postgres` with password `postgres` (scram-sha-256 on TCP; the unix socket in
# DIR trusts local users). fsync is off: never keep data you care about in it.
# Connect with e.g.
#   postgres://postgres:postgres@127.0.0.1:PORT/postgres?sslmode=disable
#
# The server binaries come from /usr/lib/postgresql/*/bin (scripts/install-postgres.sh).
# PostgreSQL refuses to run as root, so when we are root everything runs as the
# `postgres` user (DIR is chowned to it and must be reachable by it: /tmp is
# fine, /root is not).
set -euo pipefail

PG_USER=postgres
PG_PASSWORD=postgres

die() {
    echo "pg-test-server: $*" >&2
    exit 1
}

usage() {
    echo "usage: $0 start DIR PORT | stop DIR | status DIR" >&2
    exit 2
}

find_bindir() {
    local d best=""
    for d in /usr/lib/postgresql/*/bin; do
        [[ -x "$d/initdb" && -x "$d/pg_ctl" ]] || continue
        best="$(printf '%s\n%s\n' "$best" "$d" | sed '/^$/d' | sort -V | tail -n 1)"
    done
    [[ -n "$best" ]] || die "no PostgreSQL server binaries under /usr/lib/postgresql/*/bin (run scripts/install-postgres.sh)"
    echo "$best"
}

# Run a command as the cluster's owner: the postgres user when we are root.
as_owner() {
    if [[ "$(id -u)" == 0 ]]; then
        (cd / && runuser -u "$PG_USER" -- "$@")
    else
        (cd / && "$@")
    fi
}

abs_dir() {
    mkdir -p "$1"
    (cd "$1" && pwd)
}

is_running() {
    local dir="$1"
    [[ -f "$dir/data/PG_VERSION" ]] || return 1
    as_owner "$BINDIR/pg_ctl" -D "$dir/data" status >/dev/null 2>&1
}

cmd_start() {
    local dir port
    [[ $# == 2 ]] || usage
    port="$2"
    [[ "$port" =~ ^[0-9]+$ ]] && ((port > 0 && port < 65536)) || die "bad port: $port"
    dir="$(abs_dir "$1")"
    # Unix socket paths are limited to 107 bytes.
    ((${#dir} + 20 <= 107)) || die "DIR path too long for a unix socket: $dir"
    [[ "$dir" != *"'"* && "$dir" != *" "* ]] || die "DIR must not contain quotes or spaces: $dir"

    if is_running "$dir"; then
        echo "pg-test-server: already running in $dir"
        return 0
    fi

    if [[ "$(id -u)" == 0 ]]; then
        id -u "$PG_USER" >/dev/null 2>&1 || die "no '$PG_USER' user (run scripts/install-postgres.sh)"
        chown "$PG_USER:" "$dir"
        as_owner test -w "$dir" || die "user '$PG_USER' cannot write $dir (pick a DIR it can reach, e.g. under /tmp)"
    fi
    chmod 700 "$dir"

    if [[ ! -f "$dir/data/PG_VERSION" ]]; then
        local pwfile="$dir/.pwfile"
        printf '%s\n' "$PG_PASSWORD" >"$pwfile"
        if [[ "$(id -u)" == 0 ]]; then chown "$PG_USER:" "$pwfile"; fi
        if ! as_owner "$BINDIR/initdb" -D "$dir/data" -U "$PG_USER" --pwfile="$pwfile" \
            --auth-local=trust --auth-host=scram-sha-256 \
            --encoding=UTF8 --no-locale --no-sync >"$dir/initdb.log" 2>&1; then
            rm -f "$pwfile"
            cat "$dir/initdb.log" >&2
            die "initdb failed in $dir/data"
        fi
        rm -f "$pwfile"
        cat >>"$dir/data/postgresql.conf" <<EOF

# pg-test-server.sh: throwaway test cluster
listen_addresses = '127.0.0.1'
unix_socket_directories = '$dir'
password_encryption = 'scram-sha-256'
fsync = off
synchronous_commit = off
full_page_writes = off
EOF
    fi

    # The port is passed at start time so a cluster can be restarted on another one.
    if ! as_owner "$BINDIR/pg_ctl" -D "$dir/data" -l "$dir/postgres.log" \
        -o "-p $port" \
        -w -t 60 start >/dev/null; then
        tail -n 30 "$dir/postgres.log" >&2 || true
        die "could not start PostgreSQL in $dir on port $port"
    fi

    local i
    for ((i = 0; i < 120; i++)); do
        if "$BINDIR/pg_isready" -q -h 127.0.0.1 -p "$port" -U "$PG_USER"; then
            echo "pg-test-server: ready: postgres://$PG_USER:$PG_PASSWORD@127.0.0.1:$port/postgres?sslmode=disable (socket dir $dir)"
            return 0
        fi
        sleep 0.5
    done
    tail -n 30 "$dir/postgres.log" >&2 || true
    die "PostgreSQL in $dir did not become ready on 127.0.0.1:$port"
}

cmd_stop() {
    local dir
    [[ $# == 1 ]] || usage
    [[ -d "$1" ]] || return 0
    dir="$(cd "$1" && pwd)"
    if is_running "$dir"; then
        as_owner "$BINDIR/pg_ctl" -D "$dir/data" -m fast -w -t 60 stop >/dev/null
        echo "pg-test-server: stopped $dir"
    fi
}

cmd_status() {
    local dir
    [[ $# == 1 ]] || usage
    [[ -d "$1" ]] || return 1
    dir="$(cd "$1" && pwd)"
    is_running "$dir"
}

[[ $# -ge 1 ]] || usage
BINDIR="$(find_bindir)"
action="$1"
shift
case "$action" in
    start) cmd_start "$@" ;;
    stop) cmd_stop "$@" ;;
    status) cmd_status "$@" ;;
    *) usage ;;
esac
