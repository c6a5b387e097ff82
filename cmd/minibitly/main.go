package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/minibitly/minibitly/actors"
	"github.com/minibitly/minibitly/cluster"
	"github.com/minibitly/minibitly/gateway"
	"github.com/minibitly/minibitly/internal/clock"
	"github.com/minibitly/minibitly/internal/visitlog"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

const topUsage = `minibitly — a URL shortener for heavy traffic.

Usage:
  minibitly [serve] [flags]        run a node (the default)
  minibitly keys create --name N   create an API key and print it once
  minibitly keys list              list API keys (never the secrets)
  minibitly keys revoke ID         revoke an API key
  minibitly migrate                apply the PostgreSQL/ClickHouse schema and exit

Every flag has an environment variable; the command line wins.
MINIBITLY_INITIAL_API_KEY, when set, creates that API key at start (if new).

`

func main() {
	if err := run(os.Args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(0)
		}
		fmt.Fprintln(os.Stderr, "minibitly:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	cmd := "serve"
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		cmd, args = args[0], args[1:]
	}
	switch cmd {
	case "serve":
		return serve(args)
	case "keys":
		return keys(args)
	case "migrate":
		return migrate(args)
	case "help":
		return serve([]string{"--help"})
	}
	return fmt.Errorf("unknown command %q (want serve, keys or migrate; see --help)", cmd)
}

func newLogger(level string) (*slog.Logger, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("--log-level %q: want debug, info, warn or error", level)
	}
	return slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: l})), nil
}

func serve(args []string) error {
	c, err := parseServe(args, os.Stderr)
	if err != nil {
		return err
	}
	log, err := newLogger(c.LogLevel)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()

	st, err := openStores(ctx, c)
	if err != nil {
		return err
	}
	defer func() {
		if err := st.close(); err != nil {
			log.Error("close stores", "err", err)
		}
	}()
	if c.InitialAPIKey != "" {
		if err := ensureInitialKey(ctx, st.keys, c.InitialAPIKey); err != nil {
			return err
		}
	}

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	clk := clock.New()
	defer clk.Close()
	vlog := visitlog.New(8, 1<<12) // 8 rings × 4096 slots (2.8 MB): the batcher drains every 5 ms

	var cn *cluster.Node
	var membership actors.Membership
	if c.GossipAddr != "" {
		c.Cluster.Logger = log.With("component", "gossip")
		if cn, err = cluster.New(c.Cluster, reg); err != nil {
			return err
		}
		membership = cn
	}
	node, err := actors.New(c.Actors, actors.Deps{
		Links: st.links, Sink: st.sink, Stats: st.stats,
		Visits: vlog, Clock: clk, Logger: log, Registry: reg, Cluster: membership,
	})
	if err != nil {
		return err
	}
	ready := st.ready
	if cn != nil {
		ready = func(ctx context.Context) map[string]error {
			m := st.ready(ctx)
			m["cluster"] = nil
			return m
		}
	}
	srv, err := gateway.New(c.Gateway, gateway.Deps{
		Links: st.links, Keys: st.keys, Stats: st.stats, Resolver: node,
		Cache: node.NearCache(), Visits: vlog, Clock: clk, Ready: ready, Registry: reg, Logger: log,
		ExtraAPI: clusterAPI(cn, memberJSON{Name: c.Actors.NodeName, Status: "alive", HTTPAddr: c.HTTPAddr}),
	})
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", c.HTTPAddr)
	if err != nil {
		return fmt.Errorf("listen %s: %w", c.HTTPAddr, err)
	}
	if cn != nil {
		if err := cn.Start(ctx); err != nil {
			ln.Close()
			return fmt.Errorf("join cluster: %w", err)
		}
		defer cn.Shutdown()
	}
	if err := node.Start(); err != nil {
		ln.Close()
		return err
	}
	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(ln) }()
	log.Info("minibitly serving", "http_addr", ln.Addr().String(), "base_url", c.Gateway.BaseURL,
		"node_id", node.NodeID(), "shards", c.Actors.Shards, "flush_interval", c.Actors.FlushInterval.String())

	select {
	case <-ctx.Done():
		log.Info("shutting down")
	case err := <-serveErr:
		log.Error("http server stopped", "err", err)
	}
	// Shutdown order: stop accepting HTTP → leave the cluster (others stop
	// routing codes and visits here) → drain actors and flush visits →
	// close stores (deferred).
	sctx, cancel := context.WithTimeout(context.Background(), c.ShutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		log.Error("http shutdown", "err", err)
	}
	if cn != nil {
		if err := cn.Leave(5 * time.Second); err != nil {
			log.Warn("leave cluster", "err", err)
		}
		node.Quiesce(sctx)
	}
	if err := node.Shutdown(sctx); err != nil {
		log.Error("actor shutdown", "err", err)
		return err
	}
	log.Info("stopped; all visits flushed")
	return nil
}

// parseServe reads serve's flags, then the environment for the flags not
// given, into a finished and validated config; --help goes to help.
func parseServe(args []string, help io.Writer) (*config, error) {
	c := defaultConfig()
	fs := newFlagSet("minibitly serve")
	serveFlags(fs, &c)
	fs.setUsage(help, topUsage+"Flags of serve, by group:\n")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	if err := applyEnv(fs); err != nil {
		return nil, err
	}
	c.InitialAPIKey = os.Getenv("MINIBITLY_INITIAL_API_KEY")
	if err := c.finish(); err != nil {
		return nil, err
	}
	return &c, nil
}
