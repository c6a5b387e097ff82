#!/usr/bin/env bash
# bench/run.sh — redirect throughput of one minibitly node against a bare
# fasthttp baseline (bench/bare) answering the same 302 from a Go map,
# measured in the same run. Called by `make bench`.
#
# Each server is pinned to one CPU (taskset -c $NODE_CPU), wrk to another
# (taskset -c $WRK_CPU, -t1 -c64, keep-alive), both on loopback. After a
# warm-up, rounds alternate node, bare, node, bare, … and the script prints
# the req/s of each, the median of the per-round ratios node/bare and the
# node's RSS (VmRSS).
#
# Environment (defaults in brackets):
#   ROUNDS [3]        node/bare round pairs; 0 skips the throughput part
#   DURATION [10s]    wrk duration per round
#   WARMUP [2s]       wrk warm-up per server before the rounds
#   CONNS [64]        wrk connections      THREADS [1]  wrk threads
#   NODE_CPU [0]      CPU for the servers  WRK_CPU [1]  CPU for wrk
#   CODE [c0000001]   code requested by wrk
#   LINKS [0]         if > 0: create LINKS links c0000001… with
#                     POST /api/v1/links/bulk (1000 per request), GET each
#                     once (so it is cached), report the time and RSS after
#   MINIBITLY_BIN     use this minibitly binary instead of building ./cmd/minibitly
#   NODE_ARGS         extra flags for the node (word-split)
#   RL_LIMIT [1000000000/s] --redirect-rate-limit of a second node measured
#                     in the same rounds (the "rl" row); high enough never to
#                     refuse: wrk is one client address, so this is the
#                     single-address cost of the limiter. Empty skips it.
#   NOJOURNAL [1]     1 also measures, in the same rounds, a node started with
#                     --visit-journal=false (the "nj" row): the cost of the
#                     durable visit journal is the ratio node/nj. 0 skips it.
#   RAW [1]           1 also measures, in the same rounds, two nodes on a
#                     throw-away ClickHouse server (bench/chserver, pinned to
#                     CH_CPU [WRK_CPU]): one with --clickhouse-url (the "ch"
#                     row) and one with --clickhouse-url --raw-visits (the
#                     "raw" row); wrk sends both a Referer with a query and a
#                     browser User-Agent. The cost of raw visit events is the
#                     ratio raw/ch. 0 skips them.
#   API_KEY           API key handed to the node (random by default)
#   KEEP_TMP [0]      1 keeps the temp dir (logs, data) for inspection
#
# Output: human-readable lines, then one summary line for scripts:
#   RESULT node_rps=<n> bare_rps=<n> ratio=<r> node_rss_kb=<n> [rl_rps=<n> rl_ratio=<rl/node>] [nj_rps=<n> journal_ratio=<node/nj>] [ch_rps=<n> raw_rps=<n> raw_ratio=<raw/ch>] [links=<n> links_rss_kb=<n>]
# Exit status is non-zero if anything fails (build, start, a non-30x answer).
set -euo pipefail

ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-10s}
WARMUP=${WARMUP:-2s}
CONNS=${CONNS:-64}
THREADS=${THREADS:-1}
NODE_CPU=${NODE_CPU:-0}
WRK_CPU=${WRK_CPU:-1}
CODE=${CODE:-c0000001}
LINKS=${LINKS:-0}
KEEP_TMP=${KEEP_TMP:-0}
RL_LIMIT=${RL_LIMIT-1000000000/s}
NOJOURNAL=${NOJOURNAL:-1}
RAW=${RAW:-1}
CH_CPU=${CH_CPU:-$WRK_CPU}

cd "$(dirname "$0")/.."
# shellcheck source=bench/lib.sh
. bench/lib.sh

command -v wrk >/dev/null || die "wrk not found: install it with 'apt-get install -y wrk'"
command -v taskset >/dev/null || die "taskset not found: install it with 'apt-get install -y util-linux'"
command -v go >/dev/null || die "go not found"
[[ $LINKS =~ ^[0-9]+$ ]] || die "LINKS must be a number"
[[ $ROUNDS =~ ^[0-9]+$ ]] || die "ROUNDS must be a number"
if [[ $RAW == 1 ]] && (( ROUNDS > 0 )); then
	command -v clickhouse-server >/dev/null || die "clickhouse-server not found (RAW=1): install it with 'apt-get update && apt-get install -y clickhouse-server', or run with RAW=0"
fi
if (( $(nproc) < 2 )) && [[ $NODE_CPU == "$WRK_CPU" ]]; then
	echo "bench: warning: one CPU only: server and wrk share it, the ratio is still meaningful, absolute numbers are not" >&2
fi

bench_tmp minibitly-bench

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
[[ $RAW == 1 ]] && go build -o "$TMP/chserver" ./bench/chserver
GL=$TMP/genlinks

NODE_PORT=$(free_port)
BARE_PORT=$(free_port)
NODE_URL=http://127.0.0.1:$NODE_PORT
BARE_URL=http://127.0.0.1:$BARE_PORT
API_KEY=${API_KEY:-mbbench$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')}
NCODES=$(( LINKS > 1 ? LINKS : 1 ))

mkdir -p "$TMP/data"
# shellcheck disable=SC2086 # NODE_ARGS is word-split on purpose
MINIBITLY_INITIAL_API_KEY=$API_KEY taskset -c "$NODE_CPU" "$NODE_BIN" \
	--http-addr "127.0.0.1:$NODE_PORT" --data-dir "$TMP/data" --flush-interval 1s \
	--miss-rate-limit off ${NODE_ARGS:-} >"$TMP/node.log" 2>&1 &
NODE_PID=$!
PIDS+=("$NODE_PID")
# The walk of LINKS codes is one client address asking for uncached codes:
# --miss-rate-limit off above, or it would answer 429.
if [[ -n $RL_LIMIT ]] && (( ROUNDS > 0 )); then
	RL_PORT=$(free_port)
	RL_URL=http://127.0.0.1:$RL_PORT
	mkdir -p "$TMP/data-rl"
	# shellcheck disable=SC2086
	MINIBITLY_INITIAL_API_KEY=$API_KEY taskset -c "$NODE_CPU" "$NODE_BIN" \
		--http-addr "127.0.0.1:$RL_PORT" --data-dir "$TMP/data-rl" --flush-interval 1s \
		--miss-rate-limit off --redirect-rate-limit "$RL_LIMIT" ${NODE_ARGS:-} >"$TMP/node-rl.log" 2>&1 &
	RL_PID=$!
	PIDS+=("$RL_PID")
fi
if [[ $NOJOURNAL == 1 ]] && (( ROUNDS > 0 )); then
	NJ_PORT=$(free_port)
	NJ_URL=http://127.0.0.1:$NJ_PORT
	mkdir -p "$TMP/data-nj"
	# shellcheck disable=SC2086
	MINIBITLY_INITIAL_API_KEY=$API_KEY taskset -c "$NODE_CPU" "$NODE_BIN" \
		--http-addr "127.0.0.1:$NJ_PORT" --data-dir "$TMP/data-nj" --flush-interval 1s \
		--miss-rate-limit off --visit-journal=false ${NODE_ARGS:-} >"$TMP/node-nj.log" 2>&1 &
	NJ_PID=$!
	PIDS+=("$NJ_PID")
fi
if [[ $RAW == 1 ]] && (( ROUNDS > 0 )); then
	TMPDIR=$TMP taskset -c "$CH_CPU" "$TMP/chserver" >"$TMP/ch.addr" 2>"$TMP/ch.log" &
	CH_PID=$!
	PIDS+=("$CH_PID")
	for _ in $(seq 600); do
		[[ -s $TMP/ch.addr ]] && break
		kill -0 "$CH_PID" 2>/dev/null || die "chserver exited; see $TMP/ch.log"
		sleep 0.1
	done
	[[ -s $TMP/ch.addr ]] || die "ClickHouse did not come up in 60 s; see $TMP/ch.log"
	CH_ADDR=$(head -n1 "$TMP/ch.addr")
	for row in ch raw; do
		port=$(free_port)
		extra=()
		[[ $row == raw ]] && extra=(--raw-visits)
		mkdir -p "$TMP/data-$row"
		# shellcheck disable=SC2086
		MINIBITLY_INITIAL_API_KEY=$API_KEY taskset -c "$NODE_CPU" "$NODE_BIN" \
			--http-addr "127.0.0.1:$port" --data-dir "$TMP/data-$row" --flush-interval 1s \
			--miss-rate-limit off --clickhouse-url "clickhouse://$CH_ADDR/bench_$row" "${extra[@]}" ${NODE_ARGS:-} >"$TMP/node-$row.log" 2>&1 &
		PIDS+=("$!")
		if [[ $row == ch ]]; then CH_URL=http://127.0.0.1:$port CHN_PID=$!; else RAW_URL=http://127.0.0.1:$port RAW_PID=$!; fi
	done
fi
echo "$CODE" >"$TMP/codes.txt"
taskset -c "$NODE_CPU" "$TMP/bare" -addr "127.0.0.1:$BARE_PORT" -n "$NCODES" -codes "$TMP/codes.txt" >"$TMP/bare.log" 2>&1 &
BARE_PID=$!
PIDS+=("$BARE_PID")

wait_up "$NODE_URL/ready" 200 "$NODE_PID" "$TMP/node.log" node
wait_up "$BARE_URL/c0000001" 302 "$BARE_PID" "$TMP/bare.log" bare
if [[ -n ${RL_PID:-} ]]; then
	wait_up "$RL_URL/ready" 200 "$RL_PID" "$TMP/node-rl.log" node-rl
	"$GL" link -url "$RL_URL" -key "$API_KEY" -code "$CODE"
	"$GL" wait -url "$RL_URL/$CODE" -want 302 -timeout 10s || die "node-rl does not redirect /$CODE; see $TMP/node-rl.log"
fi
if [[ -n ${NJ_PID:-} ]]; then
	wait_up "$NJ_URL/ready" 200 "$NJ_PID" "$TMP/node-nj.log" node-nj
	"$GL" link -url "$NJ_URL" -key "$API_KEY" -code "$CODE"
	"$GL" wait -url "$NJ_URL/$CODE" -want 302 -timeout 10s || die "node-nj does not redirect /$CODE; see $TMP/node-nj.log"
fi

if [[ -n ${RAW_PID:-} ]]; then
	for row in ch raw; do
		if [[ $row == ch ]]; then u=$CH_URL pid=$CHN_PID; else u=$RAW_URL pid=$RAW_PID; fi
		wait_up "$u/ready" 200 "$pid" "$TMP/node-$row.log" "node-$row"
		"$GL" link -url "$u" -key "$API_KEY" -code "$CODE"
		"$GL" wait -url "$u/$CODE" -want 302 -timeout 10s || die "node-$row does not redirect /$CODE; see $TMP/node-$row.log"
	done
fi

echo "bench: node $NODE_URL (pid $NODE_PID), bare $BARE_URL (pid $BARE_PID), servers on CPU $NODE_CPU, wrk on CPU $WRK_CPU"
echo "bench: node RSS at start: $(rss_kb "$NODE_PID") kB"

LINKS_RSS=""
if (( LINKS > 0 )); then
	echo "bench: creating $LINKS links (bulk, 1000 per request)"
	"$GL" create -url "$NODE_URL" -key "$API_KEY" -n "$LINKS" -c 4
	echo "bench: node RSS after create: $(rss_kb "$NODE_PID") kB"
	echo "bench: requesting each link once"
	echo "node: $("$GL" walk -url "$NODE_URL" -n "$LINKS" -c "$CONNS")"
	echo "bare: $("$GL" walk -url "$BARE_URL" -n "$LINKS" -c "$CONNS")"
	LINKS_RSS=$(rss_kb "$NODE_PID")
	echo "bench: RSS after $LINKS cached links: node $LINKS_RSS kB, bare $(rss_kb "$BARE_PID") kB"
else
	"$GL" link -url "$NODE_URL" -key "$API_KEY" -code "$CODE"
fi
# Both must redirect CODE before anything is measured.
"$GL" wait -url "$NODE_URL/$CODE" -want 302 -timeout 10s || die "node does not redirect /$CODE; see $TMP/node.log"
"$GL" wait -url "$BARE_URL/$CODE" -want 302 -timeout 10s || die "bare does not redirect /$CODE; see $TMP/bare.log"

# run_wrk URL DURATION [wrk args…]: prints the req/s of URL/CODE.
run_wrk() {
	wrk_run "$1/$CODE" "${@:2}"
	echo "$WRK_RPS"
}

NODE_RPS=0 BARE_RPS=0 RATIO=0
if (( ROUNDS > 0 )); then
	echo "bench: warm-up $WARMUP each"
	run_wrk "$NODE_URL" "$WARMUP" >/dev/null
	run_wrk "$BARE_URL" "$WARMUP" >/dev/null
	[[ -n ${RL_PID:-} ]] && run_wrk "$RL_URL" "$WARMUP" >/dev/null
	[[ -n ${NJ_PID:-} ]] && run_wrk "$NJ_URL" "$WARMUP" >/dev/null
	# The ch and raw rows: a visitor with a referrer URL and a browser.
	VISITOR=(-H "Referer: https://news.example.com/story/123?utm_source=mail&id=42" -H "User-Agent: Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36")
	if [[ -n ${RAW_PID:-} ]]; then
		run_wrk "$CH_URL" "$WARMUP" "${VISITOR[@]}" >/dev/null
		run_wrk "$RAW_URL" "$WARMUP" "${VISITOR[@]}" >/dev/null
	fi
	NODES=() BARES=() RATIOS=() RLS=() RL_RATIOS=() NJS=() NJ_RATIOS=() CHS=() RAWS=() RAW_RATIOS=()
	for r in $(seq "$ROUNDS"); do
		n=$(run_wrk "$NODE_URL" "$DURATION")
		b=$(run_wrk "$BARE_URL" "$DURATION")
		ratio=$(awk -v n="$n" -v b="$b" 'BEGIN {printf "%.3f", n/b}')
		NODES+=("$n") BARES+=("$b") RATIOS+=("$ratio")
		printf 'round %d: node %10.0f req/s   bare %10.0f req/s   ratio %s\n' "$r" "$n" "$b" "$ratio"
		if [[ -n ${RL_PID:-} ]]; then
			l=$(run_wrk "$RL_URL" "$DURATION")
			lr=$(awk -v l="$l" -v n="$n" 'BEGIN {printf "%.3f", l/n}')
			RLS+=("$l") RL_RATIOS+=("$lr")
			printf 'round %d: rl   %10.0f req/s   (--redirect-rate-limit %s)   ratio rl/node %s\n' "$r" "$l" "$RL_LIMIT" "$lr"
		fi
		if [[ -n ${NJ_PID:-} ]]; then
			j=$(run_wrk "$NJ_URL" "$DURATION")
			jr=$(awk -v n="$n" -v j="$j" 'BEGIN {printf "%.3f", n/j}')
			NJS+=("$j") NJ_RATIOS+=("$jr")
			printf 'round %d: nj   %10.0f req/s   (--visit-journal=false)   ratio node/nj %s\n' "$r" "$j" "$jr"
		fi
		if [[ -n ${RAW_PID:-} ]]; then
			c=$(run_wrk "$CH_URL" "$DURATION" "${VISITOR[@]}")
			w=$(run_wrk "$RAW_URL" "$DURATION" "${VISITOR[@]}")
			wr=$(awk -v c="$c" -v w="$w" 'BEGIN {printf "%.3f", w/c}')
			CHS+=("$c") RAWS+=("$w") RAW_RATIOS+=("$wr")
			printf 'round %d: ch   %10.0f req/s   (--clickhouse-url)\n' "$r" "$c"
			printf 'round %d: raw  %10.0f req/s   (--clickhouse-url --raw-visits)   ratio raw/ch %s\n' "$r" "$w" "$wr"
		fi
	done
	NODE_RPS=$(printf '%s\n' "${NODES[@]}" | median)
	BARE_RPS=$(printf '%s\n' "${BARES[@]}" | median)
	RATIO=$(printf '%s\n' "${RATIOS[@]}" | median | awk '{printf "%.3f", $1}')
	printf 'median:  node %10.0f req/s   bare %10.0f req/s   ratio node/bare %s\n' "$NODE_RPS" "$BARE_RPS" "$RATIO"
	if [[ -n ${RL_PID:-} ]]; then
		RL_RPS=$(printf '%s\n' "${RLS[@]}" | median)
		RL_RATIO=$(printf '%s\n' "${RL_RATIOS[@]}" | median | awk '{printf "%.3f", $1}')
		printf 'median:  rl   %10.0f req/s   ratio rl/node %s (aim: at least 0.95)\n' "$RL_RPS" "$RL_RATIO"
	fi
	if [[ -n ${NJ_PID:-} ]]; then
		NJ_RPS=$(printf '%s\n' "${NJS[@]}" | median)
		NJ_RATIO=$(printf '%s\n' "${NJ_RATIOS[@]}" | median | awk '{printf "%.3f", $1}')
		printf 'median:  nj   %10.0f req/s   ratio node/nj %s (the journal'"'"'s cost; aim: at least 0.97)\n' "$NJ_RPS" "$NJ_RATIO"
	fi
	if [[ -n ${RAW_PID:-} ]]; then
		CH_RPS=$(printf '%s\n' "${CHS[@]}" | median)
		RAW_RPS=$(printf '%s\n' "${RAWS[@]}" | median)
		RAW_RATIO=$(printf '%s\n' "${RAW_RATIOS[@]}" | median | awk '{printf "%.3f", $1}')
		printf 'median:  ch   %10.0f req/s   raw %10.0f req/s   ratio raw/ch %s (raw visit events'"'"' cost)\n' "$CH_RPS" "$RAW_RPS" "$RAW_RATIO"
		echo "raw node: $(curl -s "$RAW_URL/metrics" | grep -E '^minibitly_raw_visits_(recorded|written|dropped|errors)_total ' | tr '\n' ' ')"
	fi
fi
NODE_RSS=$(rss_kb "$NODE_PID")
echo "node RSS: $NODE_RSS kB (bare: $(rss_kb "$BARE_PID") kB)"

summary=$(printf 'RESULT node_rps=%.0f bare_rps=%.0f ratio=%s node_rss_kb=%s' "$NODE_RPS" "$BARE_RPS" "$RATIO" "$NODE_RSS")
if [[ -n ${RL_RPS:-} ]]; then
	summary+=$(printf ' rl_rps=%.0f rl_ratio=%s' "$RL_RPS" "$RL_RATIO")
fi
if [[ -n ${NJ_RPS:-} ]]; then
	summary+=$(printf ' nj_rps=%.0f journal_ratio=%s' "$NJ_RPS" "$NJ_RATIO")
fi
if [[ -n ${RAW_RPS:-} ]]; then
	summary+=$(printf ' ch_rps=%.0f raw_rps=%.0f raw_ratio=%s' "$CH_RPS" "$RAW_RPS" "$RAW_RATIO")
fi
if (( LINKS > 0 )); then
	summary+=" links=$LINKS links_rss_kb=$LINKS_RSS"
fi
echo "$summary"
