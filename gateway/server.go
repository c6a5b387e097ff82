package gateway

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"math"
	"net"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/minibitly/minibitly/internal/blocklist"
	"github.com/minibitly/minibitly/internal/clock"
	"github.com/minibitly/minibitly/internal/eventlog"
	"github.com/minibitly/minibitly/internal/nearcache"
	"github.com/minibitly/minibitly/internal/urlcheck"
	"github.com/minibitly/minibitly/internal/useragent"
	"github.com/minibitly/minibitly/internal/visitlog"
	"github.com/minibitly/minibitly/storage"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/valyala/fasthttp"
	"github.com/valyala/fasthttp/fasthttpadaptor"
)

// Config is the gateway's configuration. Start from DefaultConfig: New
// refuses invalid values, and no zero value stands for a default.
type Config struct {
	// BaseURL prefixes short_url in API answers, e.g. "https://mb.example";
	// "" makes short_url a path ("/code").
	BaseURL string
	// MaxBodyBytes caps request bodies (413 beyond); positive.
	MaxBodyBytes int
	// DefaultCacheMaxAge is the redirect's Cache-Control max-age in seconds
	// for links that do not set their own; 0 = "private, max-age=0";
	// not negative.
	DefaultCacheMaxAge int
	// CountryHeader, when set, names a request header with the visitor's
	// ISO country code set by a trusted proxy or CDN (e.g. CF-IPCountry).
	CountryHeader string
	// SelfHosts are host names and host:port addresses that are this
	// service: long URLs pointing at them, in any spelling, are refused.
	// A listen address with no host, 0.0.0.0 or [::] stands for every
	// address of the machine (and every loopback address) at its port.
	// BaseURL's host is added (a domain name at every port).
	SelfHosts []string
	// AllowPrivateDestinations admits long URLs to loopback, private,
	// link-local and unique-local addresses, localhost and cloud metadata
	// hosts (urlcheck.Private): an intranet shortener's. Off, they are
	// refused with a 422. Links to this service are refused either way.
	AllowPrivateDestinations bool
	// ReadTimeout, WriteTimeout and IdleTimeout bound connections (not
	// negative). As in fasthttp, 0 is no read or write deadline, and an
	// IdleTimeout of 0 is ReadTimeout. A timeout fires up to a slack late
	// (a quarter of the shortest positive one, at most 1 s:
	// conn_deadline.go).
	ReadTimeout, WriteTimeout, IdleTimeout time.Duration
	// ResolveTimeout bounds a near-cache miss and an Admit; positive.
	ResolveTimeout time.Duration
	// APIRate is the sustained request rate allowed per API key (requests
	// per second) with bursts of APIBurst (at least 1 when APIRate is set);
	// 0 disables the limit. Redirects are not limited here (see
	// docs/architecture.md).
	APIRate  float64
	APIBurst int
	// CORSOrigins are the origins browser apps may call the APIs from
	// (/api/v1, /rest, /v4): "*" (any), a comma-separated list of origins
	// (each echoed when it matches, with credentials allowed, and
	// "Vary: Origin"), or "" for no CORS headers. Preflights are answered
	// either way (see cors.go).
	CORSOrigins string
	// RedirectsRefresh is how often the domain's not-found redirects are
	// re-read from the store (special_redirects.go), the bound on a
	// cluster's other nodes seeing a PATCH; positive.
	RedirectsRefresh time.Duration
	// MetricsToken, when set, is the bearer token /metrics requires
	// ("Authorization: Bearer <token>"; 401 otherwise). "" = open.
	MetricsToken string
	// MetricsSeparate serves /metrics only on the listener of ServeMetrics:
	// Serve's listeners answer it 404.
	MetricsSeparate bool

	// RedirectRateLimit limits redirect requests per client address
	// (clientip.go), split over the cluster's alive members
	// (docs/cluster.md); the zero Rate is off.
	RedirectRateLimit Rate
	// MissRateLimit limits, per client address, redirect requests that name
	// no cached link (malformed or unknown codes, near-cache misses that ask
	// the store); the zero Rate is off.
	MissRateLimit Rate
	// TrustedProxies is a comma-separated list of CIDRs whose
	// ProxyHeader names the client; "" = none.
	TrustedProxies string
	// ProxyHeader is the one header the trusted proxies write:
	// "x-forwarded-for" or "forwarded". The other is ignored: most proxies
	// append to theirs and pass a client's own copy of the other through.
	ProxyHeader string

	// MaxConns caps the open connections over every listener, and
	// MaxConnsPerIP those from one client IP (behind a proxy every client
	// shares its IP: raise it to MaxConns there); beyond, 503 and close
	// (connlimit.go). Both positive, MaxConnsPerIP at most MaxConns.
	MaxConns, MaxConnsPerIP int
}

// Validate reports the first invalid field of c (New calls it).
func (c *Config) Validate() error {
	var problem string
	switch {
	case c.MaxBodyBytes <= 0:
		problem = fmt.Sprintf("MaxBodyBytes must be positive, got %d", c.MaxBodyBytes)
	case c.DefaultCacheMaxAge < 0:
		problem = fmt.Sprintf("DefaultCacheMaxAge must not be negative, got %d", c.DefaultCacheMaxAge)
	case c.ReadTimeout < 0 || c.WriteTimeout < 0 || c.IdleTimeout < 0:
		problem = fmt.Sprintf("ReadTimeout, WriteTimeout and IdleTimeout must not be negative, got %s, %s, %s", c.ReadTimeout, c.WriteTimeout, c.IdleTimeout)
	case c.MaxConns <= 0 || c.MaxConnsPerIP <= 0 || c.MaxConnsPerIP > c.MaxConns:
		problem = fmt.Sprintf("MaxConns and MaxConnsPerIP must be positive, MaxConnsPerIP at most MaxConns, got %d and %d", c.MaxConns, c.MaxConnsPerIP)
	case c.RedirectsRefresh <= 0:
		problem = fmt.Sprintf("RedirectsRefresh must be positive, got %s", c.RedirectsRefresh)
	case c.ResolveTimeout <= 0:
		problem = fmt.Sprintf("ResolveTimeout must be positive, got %s", c.ResolveTimeout)
	case c.APIRate < 0 || math.IsNaN(c.APIRate) || math.IsInf(c.APIRate, 0):
		problem = fmt.Sprintf("APIRate must be a finite number of requests per second, 0 for no limit, got %v", c.APIRate)
	case c.APIRate > 0 && c.APIBurst < 1:
		problem = fmt.Sprintf("APIBurst must be at least 1 when APIRate is set, got %d", c.APIBurst)
	case c.RedirectRateLimit.N < 0 || c.RedirectRateLimit.N > 0 && c.RedirectRateLimit.Per != time.Second && c.RedirectRateLimit.Per != time.Minute:
		problem = fmt.Sprintf("RedirectRateLimit must be N/s, N/m or off, got %d per %s", c.RedirectRateLimit.N, c.RedirectRateLimit.Per)
	case c.MissRateLimit.N < 0 || c.MissRateLimit.N > 0 && c.MissRateLimit.Per != time.Second && c.MissRateLimit.Per != time.Minute:
		problem = fmt.Sprintf("MissRateLimit must be N/s, N/m or off, got %d per %s", c.MissRateLimit.N, c.MissRateLimit.Per)
	case c.ProxyHeader != "x-forwarded-for" && c.ProxyHeader != "forwarded":
		problem = fmt.Sprintf("ProxyHeader must be x-forwarded-for or forwarded, got %q", c.ProxyHeader)
	default:
		if _, err := parseTrustedProxies(c.TrustedProxies); err != nil {
			problem = err.Error()
			break
		}
		if _, err := parseCORSOrigins(c.CORSOrigins); err != nil {
			problem = err.Error()
			break
		}
		return nil
	}
	return fmt.Errorf("gateway config: %s", problem)
}

// DefaultConfig is a single node on :8080.
func DefaultConfig() Config {
	return Config{
		BaseURL:        "http://localhost:8080",
		MaxBodyBytes:   1 << 20,
		ReadTimeout:    10 * time.Second,
		WriteTimeout:   10 * time.Second,
		IdleTimeout:    60 * time.Second,
		ResolveTimeout: 2 * time.Second,
		APIRate:        100,
		APIBurst:       200,
		CORSOrigins:    "*",

		RedirectsRefresh: 10 * time.Second,

		MissRateLimit: Rate{N: 100, Per: time.Second},
		ProxyHeader:   "x-forwarded-for",
		MaxConns:      100_000,
		MaxConnsPerIP: 1_000,
	}
}

// Resolver is what the gateway needs from the actor layer.
type Resolver interface {
	// Resolve returns the link for code, loading it through its owner on a
	// near-cache miss, and fills the near-cache. storage.ErrNotFound when
	// there is no such link. The entry belongs to the actor layer and is
	// shared with the near-cache and every other request for the code:
	// the gateway reads it and never modifies it (nor needs to copy it).
	Resolve(ctx context.Context, code string) (*nearcache.Entry, error)
	// Admit asks the owner of a limited link (max_visits) whether one more
	// visit is allowed, counting it if so.
	Admit(ctx context.Context, code string) (bool, error)
	// LinkChanged drops code from every cache after an update or delete.
	LinkChanged(ctx context.Context, code string)
	// Visits is the live visit total of code: stored plus not yet flushed.
	Visits(ctx context.Context, code string) (uint64, error)
}

// Deps are the gateway's collaborators.
type Deps struct {
	Links    storage.LinkStore
	Keys     storage.KeyStore
	Stats    storage.StatsReader
	Resolver Resolver
	// Cache is the read side of the actor layer's near-cache (which the
	// actor layer creates, fills and invalidates); entries it returns are
	// shared and immutable.
	Cache  nearcache.Reader
	Visits *visitlog.Log
	// RawVisits, when set (--raw-visits), also gets every link visit's
	// raw event (shlink_events.go); nil = off, one branch per redirect.
	RawVisits *eventlog.Log
	// Events, when set with RawVisits, serves the Shlink visit lists from
	// the raw events instead of expanding aggregates; nil = aggregates.
	Events storage.EventReader
	Clock  *clock.Clock
	// Ready reports each dependency's health by name (nil error = up).
	Ready    func(ctx context.Context) map[string]error
	Registry *prometheus.Registry
	Logger   *slog.Logger
	// Cluster is the membership view served under /api/v1/cluster; a node
	// without a cluster passes SingleNode. nil: those routes answer 404.
	Cluster Cluster
	// Blocklist refuses links to blocked destinations at create and edit;
	// nil blocks nothing. (The redirect side is actors.Deps.Blocklist.)
	Blocklist *blocklist.List
}

// Server is the HTTP front of a node.
type Server struct {
	cfg        Config
	d          Deps
	log        *slog.Logger
	m          *metrics
	srv        *fasthttp.Server
	metricsSrv *fasthttp.Server // ServeMetrics' listener
	urlPolicy  urlcheck.Policy  // the checks of long URLs (selfhosts.go)
	defaultCC  []byte

	metricsHandler fasthttp.RequestHandler
	uaCache        useragent.Cache
	limits         limitState // redirect_limit.go
	ui             uiFiles
	corsPolicy     corsPolicy
	// The latest /rest/health check (shlink.go healthy).
	healthAt    atomic.Int64 // unix nanos; 0 = never
	healthOK    atomic.Bool
	bitlyDomain string // the host of BaseURL: the domain of /v4 bitlink ids
	redirects   redirectsState
	conns       *connLimits
}

// New validates the configuration and builds a server; it starts nothing.
func New(cfg Config, d Deps) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if d.Logger == nil {
		d.Logger = slog.New(slog.DiscardHandler)
	}
	if d.Registry == nil {
		d.Registry = prometheus.NewRegistry()
	}
	if d.Links != nil {
		// Every API reads and writes links through it: creators are
		// recorded, and keys limited to their own links see no others.
		d.Links = storage.CreatorLinks(d.Links)
	}
	s := &Server{cfg: cfg, d: d, log: d.Logger}
	s.redirects.stop = make(chan struct{})
	if err := s.initSelfHosts(); err != nil {
		return nil, err
	}
	s.defaultCC = nearcache.CacheControlValue(cfg.DefaultCacheMaxAge)
	ui, err := embeddedUI()
	if err != nil {
		return nil, err
	}
	s.ui = ui
	s.corsPolicy, _ = parseCORSOrigins(cfg.CORSOrigins) // checked by Validate
	s.bitlyDomain = bitlyDomainOf(cfg.BaseURL)
	m, err := newMetrics(d.Registry, d)
	if err != nil {
		return nil, err
	}
	s.m = m
	if err := s.initLimits(d.Registry); err != nil {
		return nil, err
	}
	if s.conns, err = newConnLimits(cfg, d.Registry); err != nil {
		return nil, err
	}
	s.metricsHandler = fasthttpadaptor.NewFastHTTPHandler(promhttp.HandlerFor(d.Registry, promhttp.HandlerOpts{}))
	s.srv = &fasthttp.Server{
		Handler: s.handle,
		Name:    "minibitly",
		// Bodies are streamed and read by loadBody after authentication
		// (preauth.go): nothing is buffered for a request before its key is
		// checked. Multipart forms are not parsed ahead either.
		StreamRequestBody:            true,
		MaxRequestBodySize:           bodyPrefetch,
		DisablePreParseMultipartForm: true,
		ReadTimeout:                  cfg.ReadTimeout,
		WriteTimeout:                 cfg.WriteTimeout,
		IdleTimeout:                  cfg.IdleTimeout,
		NoDefaultServerHeader:        true,
		NoDefaultContentType:         true,
		ErrorHandler: func(ctx *fasthttp.RequestCtx, err error) {
			if !ctx.IsOptions() {
				s.cors(ctx, ctx.Path()) // a refused body's answer is readable cross-origin too
			}
			var e error = &requestError{err: err}
			switch p := ctx.Path(); {
			case bytes.HasPrefix(p, bitlyPrefix):
				s.writeBitlyError(ctx, e)
			case isShlinkPath(p):
				s.writeProblem(ctx, e, "")
			default:
				s.writeError(ctx, e)
			}
		},
		Logger: fasthttpLogger{s.log},
	}
	s.metricsSrv = &fasthttp.Server{
		Handler:               s.handleMetricsListener,
		Name:                  "minibitly",
		MaxRequestBodySize:    bodyPrefetch, // a scrape sends none: read nothing ahead
		StreamRequestBody:     true,
		ReadTimeout:           cfg.ReadTimeout,
		WriteTimeout:          cfg.WriteTimeout,
		IdleTimeout:           cfg.IdleTimeout,
		NoDefaultServerHeader: true,
		NoDefaultContentType:  true,
		Logger:                fasthttpLogger{s.log},
	}
	return s, nil
}

type fasthttpLogger struct{ l *slog.Logger }

func (f fasthttpLogger) Printf(format string, args ...any) {
	f.l.Debug("fasthttp", "msg", format, "args", args)
}

// Serve answers requests on ln until Shutdown. The first call loads the
// domain redirects and starts their refresher (special_redirects.go).
func (s *Server) Serve(ln net.Listener) error {
	s.startRedirects()
	s.startLimits()
	return s.srv.Serve(limitedListener{Listener: ln, l: s.conns, slack: deadlineSlack(s.cfg)})
}

// ServeMetrics answers /metrics (and nothing else) on ln until Shutdown:
// the listener of --metrics-addr.
func (s *Server) ServeMetrics(ln net.Listener) error {
	return s.metricsSrv.Serve(limitedListener{Listener: ln, l: s.conns, slack: deadlineSlack(s.cfg)}) // the same connection caps
}

// Shutdown stops accepting connections (of Serve and ServeMetrics), waits
// for open requests and stops the redirects' refresher.
func (s *Server) Shutdown(ctx context.Context) error {
	err := s.srv.ShutdownWithContext(ctx)
	if merr := s.metricsSrv.ShutdownWithContext(ctx); err == nil {
		err = merr
	}
	s.stopRedirects()
	s.stopLimits()
	return err
}

// Handler exposes the request handler (tests and benchmarks).
func (s *Server) Handler() fasthttp.RequestHandler { return s.handle }

var (
	apiPrefix = []byte("/api/v1/")
	apiRoot   = []byte("/api/v1")
)

// redirectPath reports whether path is "/" and one segment that no other
// route owns, the redirect's fast path: the other routes' prefix checks
// (CORS, /api/v1, /rest, /v4, /ui, /{code}/qr-code) are skipped. Every
// route but the redirect has a second "/" or is one of the names below.
func redirectPath(path []byte) bool {
	if len(path) < 2 || bytes.IndexByte(path[1:], '/') >= 0 {
		return false
	}
	switch string(path) { // no allocation: the compiler compares the bytes
	case "/health", "/ready", "/metrics", "/rest", "/v4", "/ui":
		return false
	}
	return true
}

func (s *Server) handle(ctx *fasthttp.RequestCtx) {
	path := ctx.Path()
	if redirectPath(path) {
		s.serveRedirect(ctx, path[1:])
		return
	}
	if s.cors(ctx, path) {
		return // a preflight, answered
	}
	switch string(path) {
	case "/health":
		s.serveHealth(ctx)
		return
	case "/ready":
		s.serveReady(ctx)
		return
	case "/metrics":
		if s.cfg.MetricsSeparate {
			s.writeError(ctx, errorf(http.StatusNotFound, "not_found", "no such route: /metrics is served on the metrics listener (--metrics-addr)"))
			return
		}
		s.serveMetrics(ctx)
		return
	}
	if bytes.HasPrefix(path, apiPrefix) || bytes.Equal(path, apiRoot) {
		s.serveAPI(ctx)
		return
	}
	if isShlinkPath(path) {
		s.serveShlink(ctx)
		return
	}
	if bytes.HasPrefix(path, bitlyPrefix) || bytes.Equal(path, bitlyRoot) {
		s.serveBitly(ctx)
		return
	}
	if s.serveWeb(ctx, path) { // web.go: "/", /ui/, /{code}/qr-code
		return
	}
	if len(path) > 1 {
		s.serveRedirect(ctx, path[1:])
		return
	}
	s.writeError(ctx, errorf(http.StatusNotFound, "not_found", "no such route"))
}
