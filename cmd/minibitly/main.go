package main

import (
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/minibitly/minibitly/actors"
	"github.com/minibitly/minibitly/actors/rawvisits"
	"github.com/minibitly/minibitly/cluster"
	"github.com/minibitly/minibitly/gateway"
	"github.com/minibitly/minibitly/internal/blocklist"
	"github.com/minibitly/minibitly/internal/clock"
	"github.com/minibitly/minibitly/storage"
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

// auditLogger writes the audit lines (storage.Audited) as JSON to stderr
// at every --log-level: a change is never left unlogged by a quieter level.
func auditLogger() *slog.Logger {
	return slog.New(storage.NewAuditHandler(os.Stderr, slog.String("component", "audit")))
}

func newLogger(level string) (*slog.Logger, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("--log-level %q: want debug, info, warn or error", level)
	}
	return slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: l})), nil
}

// serve runs a node until SIGTERM or SIGINT: build, run, shutdown.
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

	p, err := buildProcess(ctx, c, log)
	if err != nil {
		return err
	}
	if err := p.run(ctx); err != nil {
		return errors.Join(err, p.shutdown())
	}
	return p.shutdown()
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

// leaveTimeout bounds the graceful leave from the gossip at shutdown.
const leaveTimeout = 5 * time.Second

// process is one serving node: what buildProcess wired, started by run and
// taken apart by shutdown in the documented order.
type process struct {
	c   *config
	log *slog.Logger
	// blocklist is --blocklist's list (empty without the flag), reloaded
	// on SIGHUP.
	blocklist *blocklist.List

	st      *stores
	clk     *clock.Clock
	cluster *cluster.Node // nil on a single node
	actors  *actors.System
	http    *gateway.Server
	ln      net.Listener
	tlsLn   net.Listener // nil without --tls-cert
	metLn   net.Listener // nil without --metrics-addr
	pprofLn net.Listener // nil without --pprof-addr
	journal *visitJournal
	raw     *rawvisits.Flusher // --raw-visits (off: no ring, nothing runs)

	// What run started, for shutdown to stop (a start may fail half-way).
	joined, actorsStarted, serving bool
	serveErr                       chan error
	wg                             sync.WaitGroup // the HTTP (and HTTPS) serve goroutines
}

// buildProcess opens the stores (migrating them), creates the initial API
// key, and wires the cluster membership, the actor system and the gateway,
// and listens for HTTP. Nothing runs yet. On error it releases what it
// acquired.
func buildProcess(ctx context.Context, c *config, log *slog.Logger) (_ *process, err error) {
	c.Postgres.Logger = log.With("component", "postgres")
	st, err := openStores(ctx, c)
	if err != nil {
		return nil, err
	}
	st.links, st.keys = storage.Audited(st.links, st.keys, auditLogger(), time.Now)
	p := &process{c: c, log: log, st: st, serveErr: make(chan error, 3)}
	defer func() {
		if err != nil {
			p.close()
		}
	}()
	if c.InitialAPIKey != "" {
		if err := ensureInitialKey(storage.WithActor(ctx, "system"), st.keys, c.InitialAPIKey); err != nil {
			return nil, err
		}
	}

	if p.blocklist, err = loadBlocklist(c.Blocklist, log); err != nil {
		return nil, err
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	if st.pg != nil && c.Postgres.ReadURL != "" {
		registerPostgresReads(reg, st.pg)
	}
	clk := clock.New()
	p.clk = clk
	if p.journal, err = openVisitJournal(c, log, reg); err != nil {
		return nil, err
	}
	vlog := p.journal.ring

	var cn *cluster.Node
	var membership actors.Membership
	if c.GossipAddr != "" {
		c.Cluster.Logger = log.With("component", "gossip")
		if cn, err = cluster.New(c.Cluster, reg); err != nil {
			return nil, err
		}
		membership = cn
		p.cluster = cn
	}
	ad := actors.Deps{
		Links: st.links, Sink: st.sink, Stats: st.stats,
		Clock: clk, Logger: log, Registry: reg, Cluster: membership,
		Blocklist: p.blocklist,
	}
	p.journal.deps(&ad)
	node, err := actors.New(c.Actors, ad)
	if err != nil {
		return nil, err
	}
	p.actors = node
	if p.raw, err = rawvisits.New(c.RawVisits, rawvisits.Deps{
		Sink: st.events, NodeID: node.NodeID(), Logger: log.With("component", "raw_visits"), Registry: reg,
	}); err != nil {
		return nil, err
	}
	var events storage.EventReader
	if c.RawVisits.Enabled {
		events = st.eventReader
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
		Cache: node.NearCache(), Visits: vlog, RawVisits: p.raw.Ring(), Events: events,
		Clock: clk, Ready: ready, Registry: reg, Logger: log,
		Cluster:   clusterView(cn, c.Actors.NodeName, c.HTTPAddr),
		Blocklist: p.blocklist,
	})
	if err != nil {
		return nil, err
	}
	p.http = srv
	if p.ln, err = net.Listen("tcp", c.HTTPAddr); err != nil {
		return nil, fmt.Errorf("listen %s: %w", c.HTTPAddr, err)
	}
	if c.MetricsAddr != "" {
		if p.metLn, err = net.Listen("tcp", c.MetricsAddr); err != nil {
			return nil, fmt.Errorf("listen %s: %w", c.MetricsAddr, err)
		}
	}
	if c.PprofAddr != "" {
		if p.pprofLn, err = net.Listen("tcp", c.PprofAddr); err != nil {
			return nil, fmt.Errorf("listen %s: %w", c.PprofAddr, err)
		}
	}
	if c.TLSCert != "" {
		cert, err := tls.LoadX509KeyPair(c.TLSCert, c.TLSKey)
		if err != nil {
			return nil, fmt.Errorf("--tls-cert/--tls-key: %w", err)
		}
		ln, err := net.Listen("tcp", c.HTTPSAddr)
		if err != nil {
			return nil, fmt.Errorf("listen %s: %w", c.HTTPSAddr, err)
		}
		p.tlsLn = tls.NewListener(ln, &tls.Config{
			Certificates: []tls.Certificate{cert},
			MinVersion:   tls.VersionTLS12,
			NextProtos:   []string{"http/1.1"},
		})
	}
	return p, nil
}

// run joins the cluster, starts the actors and serves HTTP, then waits for
// ctx (a signal) or for the HTTP server to fail. An error means a start
// failed; shutdown releases what was started either way.
func (p *process) run(ctx context.Context) error {
	if p.cluster != nil {
		if err := p.cluster.Start(ctx); err != nil {
			return fmt.Errorf("join cluster: %w", err)
		}
		p.joined = true
	}
	p.actorsStarted = true // Shutdown also undoes a Start that failed half-way
	if err := p.actors.Start(); err != nil {
		return err
	}
	p.raw.Start()
	p.serving = true
	reloadOnHUP(ctx, p.c.Blocklist, p.blocklist, p.actors.DestinationsChanged, p.log)
	for _, ln := range []net.Listener{p.ln, p.tlsLn} {
		if ln == nil {
			continue
		}
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			p.serveErr <- p.http.Serve(ln)
		}()
	}
	if p.metLn != nil {
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			p.serveErr <- p.http.ServeMetrics(p.metLn)
		}()
	}
	if p.pprofLn != nil {
		go servePprof(p.pprofLn, p.log) // ends when shutdown closes the listener
	}
	httpsAddr := ""
	if p.tlsLn != nil {
		httpsAddr = p.tlsLn.Addr().String()
	}
	metricsAddr := ""
	if p.metLn != nil {
		metricsAddr = p.metLn.Addr().String()
	}
	p.log.Info("minibitly serving", "http_addr", p.ln.Addr().String(), "https_addr", httpsAddr, "metrics_addr", metricsAddr, "base_url", p.c.Gateway.BaseURL,
		"node_id", p.actors.NodeID(), "shards", p.c.Actors.Shards, "flush_interval", p.c.Actors.FlushInterval.String())

	select {
	case <-ctx.Done():
		p.log.Info("shutting down")
	case err := <-p.serveErr:
		p.log.Error("http server stopped", "err", err)
	}
	return nil
}

// shutdown stops the node in the documented order, within
// --shutdown-timeout: stop accepting HTTP on both listeners (and finish the
// requests in flight) → leave the cluster, so others stop routing codes and visits here,
// and quiesce → shut the actor system down, which drains and flushes every
// counted visit → close the cluster, the clock and the stores. It returns
// the actor shutdown's error (visits not delivered).
func (p *process) shutdown() error {
	sctx, cancel := context.WithTimeout(context.Background(), p.c.ShutdownTimeout)
	defer cancel()
	var err error
	if p.serving {
		if err := p.http.Shutdown(sctx); err != nil {
			p.log.Error("http shutdown", "err", err)
		}
		p.wg.Wait()
	}
	if p.joined {
		if err := p.cluster.Leave(leaveTimeout); err != nil {
			p.log.Warn("leave cluster", "err", err)
		}
		if p.serving {
			p.actors.Quiesce(sctx)
		}
	}
	if p.actorsStarted {
		if err = p.actors.Shutdown(sctx); err != nil {
			err = fmt.Errorf("actor shutdown: %w", err) // returned, not logged: main prints it
		} else {
			p.log.Info("stopped; all visits flushed")
		}
	}
	p.raw.Close(sctx) // the last raw events, best-effort, after the visits
	p.close()
	return err
}

// close releases what buildProcess acquired, last acquired first.
func (p *process) close() {
	if p.pprofLn != nil {
		p.pprofLn.Close()
	}
	if !p.serving { // once served, the HTTP shutdown closed them
		for _, ln := range []net.Listener{p.ln, p.tlsLn, p.metLn} {
			if ln != nil {
				ln.Close()
			}
		}
	}
	if p.cluster != nil {
		if err := p.cluster.Shutdown(); err != nil {
			p.log.Warn("cluster shutdown", "err", err)
		}
	}
	if p.clk != nil {
		p.clk.Close()
	}
	if err := p.journal.close(); err != nil {
		p.log.Error("close visit journal", "err", err)
	}
	if err := p.st.close(); err != nil {
		p.log.Error("close stores", "err", err)
	}
}
