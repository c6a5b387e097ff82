#!/usr/bin/env bash
# abwalk.sh: A/B of bulk creates and cold misses between node binaries.
#
#   bench/abwalk.sh N ROUNDS BIN_A BIN_B [BIN...]
#
# For each round and each binary in turn: a fresh node on a fresh data dir
# (embedded store, pinned to CPU 0), `genlinks create -n N -c 4` (bulk API,
# 1000 per body), then `genlinks walk -n N -c 16` (first visit of each new
# link: cold misses), both on CPU 1, and the node's VmRSS after the walk.
# EXTRA adds node flags (e.g. EXTRA="--postgres-url ..."). Build the
# binaries first (go build -o /tmp/mb-a ./cmd/minibitly at each commit).
set -euo pipefail
cd "$(dirname "$0")/.."
N=$1 R=$2
shift 2
GENLINKS=${GENLINKS:-$(mktemp -d)/genlinks}
[[ -x $GENLINKS ]] || go build -o "$GENLINKS" ./bench/genlinks
KEY=mbab$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')
for r in $(seq "$R"); do
	for b in "$@"; do
		d=$(mktemp -d)
		port=$((20000 + RANDOM % 20000))
		# shellcheck disable=SC2086
		MINIBITLY_INITIAL_API_KEY=$KEY taskset -c 0 "$b" --http-addr 127.0.0.1:$port --data-dir "$d" \
			--flush-interval 1s --miss-rate-limit off ${EXTRA:-} >"$d/log" 2>&1 &
		pid=$!
		for _ in $(seq 100); do curl -sf -o /dev/null "http://127.0.0.1:$port/ready" && break; sleep 0.1; done
		c=$(taskset -c 1 "$GENLINKS" create -url "http://127.0.0.1:$port" -key "$KEY" -n "$N" -c 4 2>&1 | tail -1)
		w=$(taskset -c 1 "$GENLINKS" walk -url "http://127.0.0.1:$port" -n "$N" -c 16 2>&1 | tail -1)
		rss=$(awk '/VmRSS/ {print $2}' "/proc/$pid/status")
		echo "round $r $b: $c | $w | rss ${rss} kB"
		kill "$pid"
		wait "$pid" 2>/dev/null || true
		rm -rf "$d"
	done
done
