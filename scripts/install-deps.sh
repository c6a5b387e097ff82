#!/bin/sh
# Installs, when missing, what `make test` and `make bench` need on Debian:
# ClickHouse (clickhouse-server, clickhouse-client), the PostgreSQL 15 server
# binaries and wrk. Needs root (CI runs as root) or sudo.
set -eu
need=""
command -v clickhouse-server >/dev/null 2>&1 || need="$need clickhouse-server clickhouse-client"
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || need="$need postgresql"
command -v wrk >/dev/null 2>&1 || need="$need wrk"
[ -z "$need" ] && exit 0
echo "installing:$need"
SUDO=""
[ "$(id -u)" = 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq $need >/dev/null
