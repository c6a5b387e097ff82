# bench/lib.sh — shell helpers shared by bench/run.sh and bench/perf.sh
# (sourced, not run). The caller sets `set -euo pipefail` and, before
# bench_tmp, KEEP_TMP; before run_wrk: WRK_CPU, THREADS, CONNS; before
# wait_up: GL (the genlinks binary).
#
#   die MSG…                  print "bench: MSG" to stderr, exit 1
#   bench_tmp PREFIX          make $TMP, kill every pid in PIDS and remove
#                             $TMP (unless KEEP_TMP=1) on exit
#   stop_pid PID              kill one of PIDS now and wait for it
#   free_port                 a loopback TCP port nobody listens on
#   wait_up URL STATUS PID LOG NAME
#                             wait until URL answers STATUS (60 s at most)
#   rss_kb PID                VmRSS of PID in kB
#   cpu_ticks PID             utime+stime of PID in clock ticks (/proc/PID/stat)
#   median                    median of the numbers on stdin
#   wrk_run URL DURATION [wrk args…]
#                             wrk pinned to WRK_CPU; sets WRK_RPS (req/s) and
#                             WRK_REQS (requests); fails on non-30x answers

die() { echo "bench: $*" >&2; exit 1; }

PIDS=()
bench_tmp() {
	TMP=$(mktemp -d "${TMPDIR:-/tmp}/$1.XXXXXX")
	trap _bench_cleanup EXIT
	trap 'exit 130' INT TERM
}
_bench_cleanup() {
	local pid
	for pid in "${PIDS[@]}"; do
		kill "$pid" 2>/dev/null || true
	done
	for pid in "${PIDS[@]}"; do
		wait "$pid" 2>/dev/null || true
	done
	if [[ ${KEEP_TMP:-0} == 1 ]]; then
		echo "bench: kept $TMP" >&2
	else
		rm -rf "$TMP"
	fi
}

stop_pid() {
	local pid keep=()
	kill "$1" 2>/dev/null || true
	wait "$1" 2>/dev/null || true
	for pid in "${PIDS[@]}"; do
		[[ $pid == "$1" ]] || keep+=("$pid")
	done
	PIDS=("${keep[@]}")
}

# free_port also remembers the ports this run has handed out. It picks
# below the kernel's ephemeral range (ip_local_port_range), where the
# outgoing connections of wrk, genlinks and the nodes could take the port
# between the check and the bind.
USED_PORTS=" "
PORT_LO=20000 PORT_HI=60000
if read -r _lo _ </proc/sys/net/ipv4/ip_local_port_range 2>/dev/null && (( _lo > 12000 )); then
	PORT_HI=$_lo PORT_LO=$((_lo > 30000 ? _lo - 20000 : 10000))
fi
free_port() {
	local p
	for _ in $(seq 100); do
		p=$((PORT_LO + RANDOM % (PORT_HI - PORT_LO)))
		[[ $USED_PORTS == *" $p "* ]] && continue
		if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
			USED_PORTS+="$p "
			echo "$p"
			return
		fi
	done
	die "no free port found"
}

wait_up() {
	if ! "$GL" wait -url "$1" -want "$2" -pid "$3" -timeout 60s; then
		echo "bench: $5 did not come up; last lines of $4:" >&2
		tail -n 30 "$4" >&2 || true
		exit 1
	fi
	kill -0 "$3" 2>/dev/null || die "$5 exited; see $4"
}

rss_kb() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status"; }

# Fields 14 and 15 of /proc/PID/stat; the command name (field 2) may hold
# spaces, so count from the last ')'.
cpu_ticks() {
	local s
	s=$(<"/proc/$1/stat")
	s=${s##*) }
	awk '{print $12 + $13}' <<<"$s"
}

median() { sort -g | awk '{v[NR]=$1} END {if (NR%2) print v[(NR+1)/2]; else printf "%.6g\n", (v[NR/2]+v[NR/2+1])/2}'; }

wrk_run() {
	local out
	out=$(taskset -c "$WRK_CPU" wrk -t"$THREADS" -c"$CONNS" -d"$2" "${@:3}" "$1" 2>&1) ||
		die "wrk failed: $out"
	if grep -q 'Non-2xx or 3xx responses' <<<"$out"; then
		die "non-30x answers from $1: $out"
	fi
	WRK_RPS=$(awk '/^Requests\/sec:/ {print $2}' <<<"$out")
	WRK_REQS=$(awk '/ requests in / {print $1}' <<<"$out")
	[[ -n $WRK_RPS && -n $WRK_REQS ]] || die "cannot read wrk output: $out"
}
