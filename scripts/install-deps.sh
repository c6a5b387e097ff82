#!/bin/sh
# Installs, when missing, what `make test` and `make bench` need on Debian:
# ClickHouse (clickhouse-server, clickhouse-client), the PostgreSQL 15 server
# binaries, wrk, iproute2, util-linux, protoc (protobuf-compiler, for
# `make proto` and its check), chromium (the web UI's browser test) and
# Node.js with npm (nodejs, npm: the real API clients of the compatibility
# tests, compat/), ZooKeeper (zookeeperd, for the ClickHouse cluster test)
# and PgBouncer (pgbouncer, the pooler test). Needs root (CI runs as root) or sudo.
set -eu
need=""
command -v clickhouse-server >/dev/null 2>&1 || need="$need clickhouse-server clickhouse-client"
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || need="$need postgresql"
command -v wrk >/dev/null 2>&1 || need="$need wrk"
command -v ip >/dev/null 2>&1 || need="$need iproute2"           # partition test: network namespaces
command -v nsenter >/dev/null 2>&1 || need="$need util-linux"    # unshare, nsenter, runuser, taskset
command -v protoc >/dev/null 2>&1 || need="$need protobuf-compiler" # make proto, make proto-check
command -v chromium >/dev/null 2>&1 || need="$need chromium"       # TestUI_Browser (cmd/minibitly), driven by chromedp
command -v node >/dev/null 2>&1 || need="$need nodejs"             # compat/: the real API clients
command -v npm >/dev/null 2>&1 || need="$need npm"
[ -e /usr/share/zookeeper/bin/zkServer.sh ] || need="$need zookeeperd" # ClickHouse cluster test: ZooKeeper run as a plain process
command -v pgbouncer >/dev/null 2>&1 || need="$need pgbouncer"     # PostgreSQL pooler test (transaction pooling)
[ -z "$need" ] && exit 0
echo "installing:$need"
SUDO=""
[ "$(id -u)" = 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq $need >/dev/null
