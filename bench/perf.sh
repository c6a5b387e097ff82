#!/usr/bin/env bash
# bench/perf.sh — issue 13's table: every performance figure of one
# minibitly node against its baseline, measured in the same run, printed as
# one Markdown table (row | node | baseline | ratio | goal | command).
# Called by `make bench-perf` (part of `make bench`).
#
# Servers are pinned to NODE_CPU, wrk and genlinks to WRK_CPU, all on
# loopback. The run, in order:
#   1. a node on the embedded store and bench/bare holding LINKS codes
#      (c0000001 …) start; LINKS links are created on the node through
#      POST /api/v1/links/bulk (row "bulk creates, embedded"): the bulk API
#      writes the store only, so every cache is cold afterwards;
#   2. each link is requested once on the node (cold misses: row "first
#      visits") and on bare (its map: the baseline, also the client's
#      ceiling); then the RSS of both (row "RSS"; bytes per link: the
#      growth over the node's RSS before the create and over a bare
#      server holding one code);
#   3. wrk on CODE, node and bare alternating for ROUNDS rounds (A B A B);
#      around each wrk round utime+stime of the server process is read from
#      /proc/<pid>/stat: CPU µs per request = CPU time / wrk's request count.
#      Figures are medians of the rounds, ratios medians of per-round ratios;
#   4. both stop; with PG=1 a throw-away PostgreSQL (bench/pgserver, pinned
#      to PG_CPU) and a node on it: the same create and first-visit walk;
#      with CLUSTER=1 then three nodes on that PostgreSQL (cluster_rows): a
#      code another node owns on a near-cache hit vs its owner, and the
#      near-cache misses of a walk over CLUSTER_LINKS codes;
#   5. with GOBENCH=1 BenchmarkSystem_CachedLinkMemory (./actors, heap-B/link).
# Cold misses and creates are one pass each (a link is cold only once).
#
# Environment (defaults in brackets):
#   LINKS [1000000]   links created and walked (rows RSS, first visits, creates)
#   ROUNDS [3]        node/bare wrk round pairs   DURATION [10s] per wrk round
#   WARMUP [2s]       wrk warm-up per server      CONNS [64] THREADS [1] wrk
#   WALK_CONC [16]    requests in flight of the walks (at 64 a 1M cold walk on
#                     the embedded store got a 503 near link 640k, 2026-12-02)
#   CREATE_CONC [4]   bulk requests in flight
#   NODE_CPU [0]      CPU of the servers          WRK_CPU [1] wrk, genlinks
#   PG [1]            0 skips the PostgreSQL rows PG_CPU [WRK_CPU] its CPU
#   PG_LINKS [LINKS]  links created and walked on PostgreSQL
#   GOBENCH [1]       0 skips the Go heap row
#   CLUSTER [1]       0 skips the 3-node rows (they need PG=1)
#   CLUSTER_LINKS [100000] codes walked in the cluster (at most LINKS)
#   CODE [c0000001]   code requested by wrk
#   MAX_TIME [3600]   seconds; a step that would end later is cut, the run fails
#   MINIBITLY_BIN     use this binary instead of building ./cmd/minibitly
#   NODE_ARGS         extra flags for every node (word-split)
#   OUT               also write the table to this file
#   KEEP_TMP [0]      1 keeps the temp dir (logs, data)
# Exit status is non-zero if anything fails (build, start, a non-30x answer).
set -euo pipefail

LINKS=${LINKS:-1000000}
ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-10s}
WARMUP=${WARMUP:-2s}
CONNS=${CONNS:-64}
THREADS=${THREADS:-1}
WALK_CONC=${WALK_CONC:-16}
CREATE_CONC=${CREATE_CONC:-4}
NODE_CPU=${NODE_CPU:-0}
WRK_CPU=${WRK_CPU:-1}
PG=${PG:-1}
PG_CPU=${PG_CPU:-$WRK_CPU}
GOBENCH=${GOBENCH:-1}
CLUSTER=${CLUSTER:-1}
CLUSTER_LINKS=${CLUSTER_LINKS:-100000}
PG_LINKS=${PG_LINKS:-$LINKS}
CODE=${CODE:-c0000001}
MAX_TIME=${MAX_TIME:-3600}
KEEP_TMP=${KEEP_TMP:-0}

cd "$(dirname "$0")/.."
# shellcheck source=bench/lib.sh
. bench/lib.sh

command -v wrk >/dev/null || die "wrk not found: install it with 'apt-get install -y wrk'"
command -v taskset >/dev/null || die "taskset not found: install it with 'apt-get install -y util-linux'"
command -v timeout >/dev/null || die "timeout not found: install it with 'apt-get install -y coreutils'"
command -v go >/dev/null || die "go not found"
command -v curl >/dev/null || die "curl not found: install it with 'apt-get install -y curl'"
for v in LINKS PG_LINKS ROUNDS MAX_TIME WALK_CONC CREATE_CONC CLUSTER_LINKS; do
	[[ ${!v} =~ ^[0-9]+$ ]] || die "$v must be a number"
done
(( LINKS >= 1 )) || die "LINKS must be at least 1"
(( ROUNDS >= 1 )) || die "ROUNDS must be at least 1"
(( PG_LINKS >= 1 )) || die "PG_LINKS must be at least 1"
(( CLUSTER_LINKS <= PG_LINKS )) || CLUSTER_LINKS=$PG_LINKS
if (( $(nproc) < 2 )) && [[ $NODE_CPU == "$WRK_CPU" ]]; then
	echo "bench: warning: one CPU only: server and wrk share it, ratios are still meaningful, absolute numbers are not" >&2
fi
HZ=$(getconf CLK_TCK)
END=$((SECONDS + MAX_TIME))

# bounded CMD…: CMD with what is left of MAX_TIME.
bounded() {
	local left=$((END - SECONDS))
	(( left > 0 )) || die "MAX_TIME=$MAX_TIME s used up before: $*"
	timeout "$left" "$@" || die "failed or cut at MAX_TIME=$MAX_TIME s (status $?): $*"
}

bench_tmp minibitly-perf

echo "bench: building"
if [[ -n ${MINIBITLY_BIN:-} ]]; then
	[[ -x $MINIBITLY_BIN ]] || die "MINIBITLY_BIN=$MINIBITLY_BIN is not an executable"
	NODE_BIN=$MINIBITLY_BIN
else
	NODE_BIN=$TMP/minibitly
	go build -o "$NODE_BIN" ./cmd/minibitly
fi
go build -o "$TMP/bare" ./bench/bare
go build -o "$TMP/genlinks" ./bench/genlinks
[[ $PG == 1 ]] && go build -o "$TMP/pgserver" ./bench/pgserver
GL=$TMP/genlinks
API_KEY=${API_KEY:-mbbench$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')}

# start_node NAME [flags…]: a node pinned to NODE_CPU on a free port; sets
# NODE_URL and NODE_PID. --miss-rate-limit off: the walks are one client
# address asking for uncached codes.
start_node() {
	local name=$1 port
	port=$(free_port)
	mkdir -p "$TMP/data-$name"
	# shellcheck disable=SC2086 # NODE_ARGS is word-split on purpose
	MINIBITLY_INITIAL_API_KEY=$API_KEY taskset -c "$NODE_CPU" "$NODE_BIN" \
		--http-addr "127.0.0.1:$port" --data-dir "$TMP/data-$name" --flush-interval 1s \
		--miss-rate-limit off "${@:2}" ${NODE_ARGS:-} >"$TMP/node-$name.log" 2>&1 &
	NODE_PID=$!
	PIDS+=("$NODE_PID")
	NODE_URL=http://127.0.0.1:$port
	wait_up "$NODE_URL/ready" 200 "$NODE_PID" "$TMP/node-$name.log" "node-$name"
}

# gl_rate VERB URL [flags…]: genlinks VERB pinned to WRK_CPU; prints its
# rate (the n/s of "VERB n in d (n/s)").
gl_rate() {
	local out
	out=$(bounded taskset -c "$WRK_CPU" "$GL" "$1" -url "$2" -n "$LINKS" "${@:3}") || exit 1
	echo "bench: $2: $out" >&2
	sed -n 's/.*(\([0-9.]*\)\/s)$/\1/p' <<<"$out"
}

# cpu_round URL PID: one wrk round on URL/CODE; prints "req/s µs/request",
# the CPU time of PID over wrk's requests.
cpu_round() {
	local t0 t1
	t0=$(cpu_ticks "$2")
	wrk_run "$1/$CODE" "$DURATION"
	t1=$(cpu_ticks "$2")
	awk -v r="$WRK_RPS" -v n="$WRK_REQS" -v t=$((t1 - t0)) -v hz="$HZ" \
		'BEGIN {printf "%.0f %.3f\n", r, t * 1e6 / hz / n}'
}

med() { printf '%s\n' "$@" | median; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {if (b > 0) printf "%.3f", a / b; else print "—"}'; }
# b_per_link RSS_KB RSS0_KB: bytes per link of the growth over the idle RSS.
b_per_link() { awk -v k="$1" -v k0="$2" -v n="$LINKS" 'BEGIN {printf "%.0f", (k - k0) * 1024 / n}'; }
mb() { awk -v k="$1" 'BEGIN {printf "%.0f MB", k / 1024}'; }

# cluster_rows PG_URL: three nodes on the links PostgreSQL already holds
# (--allow-local-visits: no ClickHouse), all pinned to NODE_CPU. A walk of
# CLUSTER_LINKS codes on n2 warms every owner's cache; the walk on n1 is then
# a near-cache miss for each code (2/3 answered by another node's owner
# cache), its repeat the near-cache hits (the baseline). wrk on a code n2
# owns, through n1 (near-cache hit) and n2 (owner), alternating ROUNDS rounds.
cluster_rows() {
	local i name gport seed="" urls=() pids=() out u code="" rr
	for i in 1 2 3; do
		name=n$i gport=$(free_port)
		start_node "$name" --postgres-url "$1" --node-name "$name" --gossip-addr "127.0.0.1:$gport" \
			--remote-addr "127.0.0.1:$(free_port)" --gossip-profile fast --allow-local-visits ${seed:+--join "$seed"}
		[[ -z $seed ]] && seed=127.0.0.1:$gport
		urls+=("$NODE_URL") pids+=("$NODE_PID")
	done
	for u in "${urls[@]}"; do
		for _ in $(seq 300); do
			out=$(curl -sf -H "Authorization: Bearer $API_KEY" "$u/api/v1/cluster") || out=""
			[[ $out == *'"alive":3'* ]] && break
			sleep 0.2 # polling another process's membership view
		done
		[[ $out == *'"alive":3'* ]] || die "$u does not see 3 alive nodes: $out"
	done
	echo "bench: 3-node cluster up: ${urls[*]}"
	CL_COLD=$(LINKS=$CLUSTER_LINKS gl_rate walk "${urls[1]}" -c "$WALK_CONC")
	CL_MISS=$(LINKS=$CLUSTER_LINKS gl_rate walk "${urls[0]}" -c "$WALK_CONC")
	CL_HIT=$(LINKS=$CLUSTER_LINKS gl_rate walk "${urls[0]}" -c "$WALK_CONC")
	for i in $(seq 1 100); do
		printf -v code 'c%07d' "$i"
		out=$(curl -sf -H "Authorization: Bearer $API_KEY" "${urls[0]}/api/v1/cluster/owner/$code") || die "owner of $code: $out"
		[[ $out == *'"name":"n2"'* ]] && break
		code=""
	done
	[[ -n $code ]] || die "no code among c0000001…c0000100 owned by n2"
	echo "bench: $code is owned by n2; wrk through n1 (near-cache) and n2 (owner), alternating"
	"$GL" wait -url "${urls[0]}/$code" -want 302 -timeout 10s || die "n1 does not redirect /$code"
	wrk_run "${urls[0]}/$code" "$WARMUP"
	wrk_run "${urls[1]}/$code" "$WARMUP"
	CL_R=() CL_L=() CL_RATIO=()
	for i in $(seq "$ROUNDS"); do
		wrk_run "${urls[0]}/$code" "$DURATION"
		rr=$WRK_RPS
		wrk_run "${urls[1]}/$code" "$DURATION"
		CL_R+=("$rr") CL_L+=("$WRK_RPS") CL_RATIO+=("$(ratio "$rr" "$WRK_RPS")")
		printf 'round %d: remote-owned via n1 %8.0f req/s   owner n2 %8.0f req/s   ratio %s\n' "$i" "$rr" "$WRK_RPS" "${CL_RATIO[-1]}"
	done
	CL_CODE=$code
	for i in 2 1 0; do stop_pid "${pids[$i]}"; done
}

# --- embedded store: creates, cold misses, RSS, throughput and CPU ---
PPROF_PORT=$(free_port)
start_node emb --pprof-addr "127.0.0.1:$PPROF_PORT"
EMB_URL=$NODE_URL EMB_PID=$NODE_PID
RSS_NODE0=$(rss_kb "$EMB_PID")
# A bare server with one code: the RSS a bare process has without the map.
BARE_PORT=$(free_port)
taskset -c "$NODE_CPU" "$TMP/bare" -addr "127.0.0.1:$BARE_PORT" -n 1 >"$TMP/bare0.log" 2>&1 &
BARE_PID=$!
PIDS+=("$BARE_PID")
wait_up "http://127.0.0.1:$BARE_PORT/c0000001" 302 "$BARE_PID" "$TMP/bare0.log" bare0
RSS_BARE0=$(rss_kb "$BARE_PID")
stop_pid "$BARE_PID"
BARE_PORT=$(free_port)
BARE_URL=http://127.0.0.1:$BARE_PORT
taskset -c "$NODE_CPU" "$TMP/bare" -addr "127.0.0.1:$BARE_PORT" -n "$LINKS" >"$TMP/bare.log" 2>&1 &
BARE_PID=$!
PIDS+=("$BARE_PID")
wait_up "$BARE_URL/c0000001" 302 "$BARE_PID" "$TMP/bare.log" bare
echo "bench: node $EMB_URL (pid $EMB_PID), bare $BARE_URL (pid $BARE_PID), servers on CPU $NODE_CPU, clients on CPU $WRK_CPU, $LINKS links"

echo "bench: creating $LINKS links on the embedded store"
CREATE_EMB=$(gl_rate create "$EMB_URL" -key "$API_KEY" -c "$CREATE_CONC")
echo "bench: first visit of each link (node: cold misses; bare: its map)"
WALK_EMB=$(gl_rate walk "$EMB_URL" -c "$WALK_CONC")
WALK_BARE=$(gl_rate walk "$BARE_URL" -c "$WALK_CONC")
RSS_NODE=$(rss_kb "$EMB_PID") RSS_BARE=$(rss_kb "$BARE_PID")
# The live part of it: the Go heap in use right after a forced GC (the
# runtime's MemStats at the end of the debug=1 heap profile).
HEAP_LIVE=$(curl -sf "http://127.0.0.1:$PPROF_PORT/debug/pprof/heap?debug=1&gc=1" | sed -n 's/^# HeapInuse = \([0-9]*\)$/\1/p' || true)
echo "bench: RSS after the walk: node $RSS_NODE kB (idle $RSS_NODE0; Go heap in use after a GC: ${HEAP_LIVE:-?} B), bare $RSS_BARE kB (one code: $RSS_BARE0)"

"$GL" wait -url "$EMB_URL/$CODE" -want 302 -timeout 10s || die "node does not redirect /$CODE"
"$GL" wait -url "$BARE_URL/$CODE" -want 302 -timeout 10s || die "bare does not redirect /$CODE"
echo "bench: warm-up $WARMUP each, then $ROUNDS rounds of $DURATION, node and bare alternating"
wrk_run "$EMB_URL/$CODE" "$WARMUP"
wrk_run "$BARE_URL/$CODE" "$WARMUP"
N_RPS=() B_RPS=() R_RPS=() N_CPU=() B_CPU=() R_CPU=()
for r in $(seq "$ROUNDS"); do
	out=$(cpu_round "$EMB_URL" "$EMB_PID")
	read -r nr nc <<<"$out"
	out=$(cpu_round "$BARE_URL" "$BARE_PID")
	read -r br bc <<<"$out"
	N_RPS+=("$nr") B_RPS+=("$br") R_RPS+=("$(ratio "$nr" "$br")")
	N_CPU+=("$nc") B_CPU+=("$bc") R_CPU+=("$(ratio "$nc" "$bc")")
	printf 'round %d: node %8.0f req/s %7.3f µs/req   bare %8.0f req/s %7.3f µs/req   ratio %s / %s\n' \
		"$r" "$nr" "$nc" "$br" "$bc" "${R_RPS[-1]}" "${R_CPU[-1]}"
done
stop_pid "$EMB_PID"
stop_pid "$BARE_PID"

# --- PostgreSQL: creates, cold misses ---
CREATE_PG="" WALK_PG=""
if [[ $PG == 1 ]]; then
	echo "bench: starting a throw-away PostgreSQL on CPU $PG_CPU"
	taskset -c "$PG_CPU" "$TMP/pgserver" >"$TMP/pg.url" 2>"$TMP/pg.log" &
	PG_PID=$!
	PIDS+=("$PG_PID")
	for _ in $(seq 600); do
		[[ -s $TMP/pg.url ]] && break
		kill -0 "$PG_PID" 2>/dev/null || die "pgserver exited: $(tail -n 20 "$TMP/pg.log")"
		sleep 0.1 # polling a file another process writes
	done
	[[ -s $TMP/pg.url ]] || die "PostgreSQL did not come up in 60 s; see $TMP/pg.log"
	start_node pg --postgres-url "$(head -n1 "$TMP/pg.url")"
	echo "bench: creating $PG_LINKS links on PostgreSQL"
	CREATE_PG=$(LINKS=$PG_LINKS gl_rate create "$NODE_URL" -key "$API_KEY" -c "$CREATE_CONC")
	WALK_PG=$(LINKS=$PG_LINKS gl_rate walk "$NODE_URL" -c "$WALK_CONC")
	stop_pid "$NODE_PID"
	[[ $CLUSTER == 1 ]] && cluster_rows "$(head -n1 "$TMP/pg.url")"
	stop_pid "$PG_PID"
fi

# --- Go heap per cached link ---
HEAP=""
if [[ $GOBENCH == 1 ]]; then
	echo "bench: BenchmarkSystem_CachedLinkMemory"
	out=$(bounded go test -run '^$' -bench 'BenchmarkSystem_CachedLinkMemory$' -benchtime 1x -count 1 ./actors/ 2>&1) ||
		die "go test failed: $out"
	HEAP=$(awk '{for (i = 2; i <= NF; i++) if ($i == "heap-B/link") printf "%.0f", $(i - 1)}' <<<"$out")
	[[ -n $HEAP ]] || die "no heap-B/link in: $out"
fi

# --- the table ---
WRK="taskset -c $WRK_CPU wrk -t$THREADS -c$CONNS -d$DURATION URL/$CODE"
WALK="genlinks walk -n $LINKS -c $WALK_CONC"
CREATE="genlinks create -n $LINKS -c $CREATE_CONC"
REPRO="LINKS=$LINKS PG_LINKS=$PG_LINKS CLUSTER_LINKS=$CLUSTER_LINKS ROUNDS=$ROUNDS DURATION=$DURATION WALK_CONC=$WALK_CONC bench/perf.sh"
n_a=$(med "${N_RPS[@]}") b_a=$(med "${B_RPS[@]}") n_c=$(med "${N_CPU[@]}") b_c=$(med "${B_CPU[@]}")
table() {
	echo "| row | node | baseline | ratio | goal | command |"
	echo "|---|---|---|---|---|---|"
	printf '| cached redirect throughput, req/s (median of %d rounds, A B A B) | %.0f | %.0f (bare) | %.3f | ≥ 0.95 | `%s`, node and bare alternating |\n' \
		"$ROUNDS" "$n_a" "$b_a" "$(med "${R_RPS[@]}")" "$WRK"
	printf '| server CPU per request, µs (utime+stime / requests, same rounds) | %.3f | %.3f (bare) | %.3f | ≤ 1.1 | `/proc/<pid>/stat` around each round of row 1 |\n' \
		"$n_c" "$b_c" "$(med "${R_CPU[@]}")"
	printf '| RSS after %d links created and each redirected once (B/link: growth over the idle process) | %s (%s B/link; Go heap in use after a GC: %s) | %s (%s B/link, bare -n %d) | %s | ≤ 2.5 | `VmRSS` after `%s`; heap: `--pprof-addr` `/debug/pprof/heap?debug=1&gc=1` |\n' \
		"$LINKS" "$(mb "$RSS_NODE")" "$(b_per_link "$RSS_NODE" "$RSS_NODE0")" "$(mb "$((${HEAP_LIVE:-0} / 1024))")" "$(mb "$RSS_BARE")" "$(b_per_link "$RSS_BARE" "$RSS_BARE0")" "$LINKS" "$(ratio "$RSS_NODE" "$RSS_BARE")" "$WALK"
	if [[ -n $HEAP ]]; then
		printf '| Go heap per cached link, B (200k links) | %s | — | — | ≤ 200 B | `go test -run '"'^\$'"' -bench BenchmarkSystem_CachedLinkMemory -benchtime 1x ./actors/` |\n' "$HEAP"
	else
		echo "| Go heap per cached link | skipped (GOBENCH=0) | — | — | ≤ 200 B | |"
	fi
	printf '| first visits of %d new links (cold misses), embedded, /s (one pass) | %.0f | %.0f (bare, map hits) | %.3f | ≥ 50,000/s | `%s` after the create below |\n' \
		"$LINKS" "$WALK_EMB" "$WALK_BARE" "$(ratio "$WALK_EMB" "$WALK_BARE")" "$WALK"
	if [[ -n $WALK_PG ]]; then
		printf '| same on PostgreSQL (%d links), /s (one pass) | %.0f | %.0f (bare, map hits) | %.3f | ≥ 50,000/s | `genlinks walk -n %d -c %d`, node `--postgres-url` (bench/pgserver) |\n' \
			"$PG_LINKS" "$WALK_PG" "$WALK_BARE" "$(ratio "$WALK_PG" "$WALK_BARE")" "$PG_LINKS" "$WALK_CONC"
	else
		echo "| same on PostgreSQL | skipped (PG=0) | — | — | ≥ 50,000/s | |"
	fi
	printf '| bulk creates, embedded, links/s (one pass) | %.0f | — | — | ≥ 100,000/s | `%s` (POST /api/v1/links/bulk, 1000 per body) |\n' "$CREATE_EMB" "$CREATE"
	if [[ -n $CREATE_PG ]]; then
		printf '| bulk creates, PostgreSQL, links/s (one pass) | %.0f | — | — | ≥ 50,000/s | `genlinks create -n %d -c %d`, node `--postgres-url` |\n' "$CREATE_PG" "$PG_LINKS" "$CREATE_CONC"
	else
		echo "| bulk creates, PostgreSQL | skipped (PG=0) | — | — | ≥ 50,000/s | |"
	fi
	if [[ -n ${CL_CODE:-} ]]; then
		printf '| 3-node cluster: redirect req/s of a code another node owns, near-cache hit (median of %d rounds) | %.0f (via n1) | %.0f (owner n2, local hit) | %.3f | = local hit | `%s` on n1 and n2, /%s, alternating |\n' \
			"$ROUNDS" "$(med "${CL_R[@]}")" "$(med "${CL_L[@]}")" "$(med "${CL_RATIO[@]}")" "${WRK%URL/*}URL" "$CL_CODE"
		printf '| 3-node cluster: first visits on n1, near-cache miss, owner caches warm (2/3 remote), /s | %.0f | %.0f (n1 again: near-cache hits) | %.3f | — | `genlinks walk -n %d -c %d` on n2 (cold: %.0f/s), then twice on n1 |\n' \
			"$CL_MISS" "$CL_HIT" "$(ratio "$CL_MISS" "$CL_HIT")" "$CLUSTER_LINKS" "$WALK_CONC" "$CL_COLD"
	else
		echo "| 3-node cluster, code owned by another node, near-cache hit / miss | skipped (CLUSTER=0 or PG=0) | — | — | hit = local hit | |"
	fi
	echo
	local pgcpu=""
	[[ $PG == 1 ]] && pgcpu=", PostgreSQL on CPU $PG_CPU"
	echo "Servers on CPU $NODE_CPU, wrk and genlinks on CPU $WRK_CPU$pgcpu; $(date -u +%Y-%m-%dT%H:%MZ); all rows: \`$REPRO\`."
}
echo
table | tee ${OUT:+"$OUT"}
