#!/usr/bin/env bash
# abwalk.sh: A/B of bulk creates and cold misses between node binaries.
#
#   bench/abwalk.sh N ROUNDS BIN_A BIN_B [BIN...]
#
# For each round and each binary in turn: a fresh node on a fresh data dir
# (embedded store, pinned to CPU 0), `genlinks create -n N -c 4` (bulk API,
# 1000 per body), then `genlinks walk -n N -c 16` (first visit of each new
# link: cold misses), both on CPU 1, the node's CPU time per first visit
# (utime+stime) and its VmRSS after the walk.
# PG=1 puts each node on a throw-away PostgreSQL of its own (bench/pgserver,
# CPU 1); EXTRA adds node flags. Build the binaries first
# (go build -o /tmp/mb-a ./cmd/minibitly at each commit).
set -euo pipefail
cd "$(dirname "$0")/.."
N=$1 R=$2
shift 2
GENLINKS=${GENLINKS:-$(mktemp -d)/genlinks}
[[ -x $GENLINKS ]] || go build -o "$GENLINKS" ./bench/genlinks
PGSERVER=$(dirname "$GENLINKS")/pgserver
[[ ${PG:-0} != 1 || -x $PGSERVER ]] || go build -o "$PGSERVER" ./bench/pgserver
KEY=mbab$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')
for r in $(seq "$R"); do
	for b in "$@"; do
		d=$(mktemp -d)
		port=$((20000 + RANDOM % 20000))
		pgflag=() pgpid=
		if [[ ${PG:-0} == 1 ]]; then
			taskset -c 1 "$PGSERVER" >"$d/pg.url" 2>"$d/pg.log" &
			pgpid=$!
			for _ in $(seq 600); do [[ -s $d/pg.url ]] && break; sleep 0.1; done
			pgflag=(--postgres-url "$(head -n1 "$d/pg.url")")
		fi
		# shellcheck disable=SC2086
		MINIBITLY_INITIAL_API_KEY=$KEY taskset -c 0 "$b" --http-addr 127.0.0.1:$port --data-dir "$d" \
			--flush-interval 1s --miss-rate-limit off "${pgflag[@]}" ${EXTRA:-} >"$d/log" 2>&1 &
		pid=$!
		for _ in $(seq 100); do curl -sf -o /dev/null "http://127.0.0.1:$port/ready" && break; sleep 0.1; done
		c=$(taskset -c 1 "$GENLINKS" create -url "http://127.0.0.1:$port" -key "$KEY" -n "$N" -c 4 2>&1 | tail -1)
		t0=$(awk '{print $14 + $15}' "/proc/$pid/stat")
		w=$(taskset -c 1 "$GENLINKS" walk -url "http://127.0.0.1:$port" -n "$N" -c 16 2>&1 | tail -1)
		t1=$(awk '{print $14 + $15}' "/proc/$pid/stat")
		rss=$(awk '/VmRSS/ {print $2}' "/proc/$pid/status")
		echo "round $r $b: $c | $w, node CPU $(((t1 - t0) * 1000000 / $(getconf CLK_TCK) / N)) µs/visit | rss ${rss} kB"
		kill "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
		if [[ -n $pgpid ]]; then
			kill "$pgpid" 2>/dev/null || true
			wait "$pgpid" 2>/dev/null || true
		fi
		rm -rf "$d"
	done
done
