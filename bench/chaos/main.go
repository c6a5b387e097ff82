// Command chaos runs a three-node Mini Bitly cluster on PostgreSQL and
// ClickHouse (real processes, loopback only) under a campaign load and
// injects one fault after another, each in its own phase with the load
// running:
//
//	baseline    no fault
//	kill        SIGKILL of a node, restarted on its data dir
//	stop        SIGSTOP of a node until the others declare it dead, SIGCONT
//	clickhouse  ClickHouse stopped and restarted
//	postgres    PostgreSQL stopped and restarted
//	leave-join  graceful leave (SIGTERM) of a node, then join (restart)
//
// The load: one hot link at the highest rate the closed-loop readers get,
// a Zipf long tail over -links links, and creates and edits (PATCH of the
// destination) through the API, spread over the three nodes. Per phase it
// prints requests sent, answered, errors by kind and status, p50/p99
// latency of the redirects and the recovery time (every link of a sample
// served again after the fault was healed). At the end every node is
// stopped gracefully (which flushes) and the visits answered are compared,
// per code, with what ClickHouse counted.
//
// It exits 1 if a visit was lost or counted twice, a 5xx came where the
// documented behaviour allows none, or a phase did not recover. See
// docs/chaos.md. Run: make chaos, or go run ./bench/chaos [-short].
package main

import (
	"flag"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/minibitly/minibitly/internal/harness"
)

func main() {
	short := flag.Bool("short", false, "quick run: 2,000 links, 5 s per phase (the test's settings)")
	links := flag.Int("links", 100_000, "links in the long tail (besides the hot one)")
	phase := flag.Duration("duration-per-phase", 20*time.Second, "length of each phase, load running")
	readers := flag.Int("readers", 16, "closed-loop redirect clients")
	writeRate := flag.Int("write-rate", 20, "creates per second, and as many edits per second")
	only := flag.String("phases", "", "comma-separated phases to run, e.g. baseline,stop (default: all, in the documented order)")
	keep := flag.Bool("keep", false, "keep the work directory (node logs, data dirs) even when all is well")
	flag.Parse()

	cfg := Config{Links: *links, PhaseDuration: *phase, Readers: *readers, WriteRate: *writeRate, Out: os.Stdout}
	if *short {
		cfg = ShortConfig(os.Stdout)
	}
	if *only != "" {
		cfg.Phases = strings.Split(*only, ",")
	}
	bin, err := harness.BuildBinary()
	if err != nil {
		fmt.Fprintln(os.Stderr, "chaos:", err)
		os.Exit(1)
	}
	defer harness.RemoveBinary()
	cfg.Bin = bin
	dir, err := os.MkdirTemp("", "minibitly-chaos-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "chaos:", err)
		os.Exit(1)
	}
	cfg.WorkDir = dir

	res, err := Run(cfg)
	ok := err == nil && res.OK()
	if err != nil {
		fmt.Fprintln(os.Stderr, "chaos:", err)
	}
	if ok && !*keep {
		os.RemoveAll(dir)
	} else {
		fmt.Fprintf(os.Stderr, "chaos: node logs and data kept in %s\n", dir)
	}
	if !ok {
		harness.RemoveBinary()
		os.Exit(1)
	}
}
