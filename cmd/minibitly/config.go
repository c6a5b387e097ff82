package main

import (
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"time"

	"github.com/minibitly/minibitly/actors"
	"github.com/minibitly/minibitly/actors/rawvisits"
	"github.com/minibitly/minibitly/cluster"
	"github.com/minibitly/minibitly/gateway"
	"github.com/minibitly/minibitly/storage/clickhouse"
	"github.com/minibitly/minibitly/storage/postgres"
)

// config is everything main reads from flags and the environment. Flags are
// bound to its fields, so a flag's default is the field's value in
// defaultConfig: the packages' DefaultConfig values, plus the settings only
// the binary has.
type config struct {
	HTTPAddr string
	// HTTPSAddr is the TLS listener's address, used when TLSCert and
	// TLSKey are set (both or neither): a second listener of the same
	// handler beside HTTPAddr.
	HTTPSAddr       string
	TLSCert, TLSKey string
	// MetricsAddr, when set, is a listener serving /metrics only; the
	// HTTP(S) listeners then answer /metrics 404.
	MetricsAddr string
	// PprofAddr, when set, is a listener serving Go's profiles
	// (/debug/pprof/) and nothing else; unauthenticated, so loopback or a
	// private network only.
	PprofAddr       string
	DataDir         string
	LogLevel        string
	ShutdownTimeout time.Duration
	InitialAPIKey   string // MINIBITLY_INITIAL_API_KEY only
	// Blocklist is the destination blocklist file ("" = none).
	Blocklist string
	// VisitJournal keeps answered visits in DataDir/journal until they are
	// in the visit store (survives SIGKILL); VisitSyncInterval is how
	// often it is synced to disk (what a power loss may lose);
	// VisitJournalMaxMB bounds its record log.
	VisitJournal      bool
	VisitSyncInterval time.Duration
	VisitJournalMaxMB int
	// RawVisits is --raw-visits and --raw-visits-ttl; its Interval is
	// --flush-interval's (finish).
	RawVisits rawvisits.Config

	// Postgres and ClickHouse are used when their URL is set; otherwise the
	// embedded store under DataDir keeps links and keys, or visits.
	Postgres   postgres.Config
	ClickHouse clickhouse.Config

	// Cluster (gossip) settings; a node is clustered when GossipAddr is set.
	GossipAddr       string
	GossipAdvertise  string
	Join             string
	GossipProfile    string // a key of gossipProfiles
	RemoteAddr       string
	RemoteAdvertise  string // a host; the port is RemoteAddr's
	AllowLocalVisits bool
	Gossip           gossipOverrides
	// Cluster is derived by finishCluster: the profile's timings, the
	// overrides given, and the addresses above.
	Cluster cluster.Config

	Gateway gateway.Config
	Actors  actors.Config
}

// gossipOverrides replace single timings of the --gossip-profile when given.
type gossipOverrides struct {
	ProbeInterval  override[time.Duration]
	ProbeTimeout   override[time.Duration]
	SuspicionMult  override[int]
	GossipInterval override[time.Duration]
	RejoinInterval override[time.Duration]
}

// gossipProfiles are the --gossip-profile values, in --help order.
var gossipProfiles = []struct {
	name string
	cfg  func() cluster.Config
}{
	{"lan", cluster.DefaultConfig},
	{"fast", cluster.FastConfig},
}

// defaultConfig is the configuration of a node started with no flags and no
// environment. Only what no package has a default for is defined here.
func defaultConfig() config {
	c := config{
		HTTPAddr:          ":8080",
		HTTPSAddr:         ":8443",
		DataDir:           "./data",
		LogLevel:          "info",
		ShutdownTimeout:   25 * time.Second,
		VisitJournal:      true,
		VisitSyncInterval: time.Second,
		VisitJournalMaxMB: 512,
		GossipProfile:     gossipProfiles[0].name,
		Postgres:          postgres.DefaultConfig(),
		ClickHouse:        clickhouse.DefaultConfig(),
		RawVisits:         rawvisits.DefaultConfig(),
		Gateway:           gateway.DefaultConfig(),
		Actors:            actors.DefaultConfig(),
	}
	// The binary derives these from other settings: an empty base URL is
	// http://localhost:<port of --http-addr> (finish), the node name is the
	// host's.
	c.Gateway.BaseURL = ""
	c.Actors.NodeName = hostname()
	return c
}

// hostname is the default node name; actors' default when the host has no
// name.
func hostname() string {
	h, err := os.Hostname()
	if err != nil || h == "" {
		return actors.DefaultConfig().NodeName
	}
	return h
}

// finishStores derives the store settings that depend on several flags and
// validates the configured stores. serve, keys and migrate call it.
func (c *config) finishStores() error {
	// --postgres-query-timeout also bounds connecting.
	c.Postgres.ConnectTimeout = c.Postgres.QueryTimeout
	if c.Postgres.URL != "" {
		if err := c.Postgres.Validate(); err != nil {
			return err
		}
	}
	if c.ClickHouse.URL != "" {
		if err := c.ClickHouse.Validate(); err != nil {
			return err
		}
	}
	return nil
}

// finish derives what depends on several flags and validates everything
// before anything is opened. A zero is a value here, never "the default":
// the defaults are already in the fields (defaultConfig).
func (c *config) finish() error {
	host, port, err := net.SplitHostPort(c.HTTPAddr)
	if err != nil {
		return fmt.Errorf("--http-addr %q: %w", c.HTTPAddr, err)
	}
	if c.Gateway.BaseURL == "" {
		h := host
		if h == "" || h == "0.0.0.0" || h == "::" {
			h = "localhost"
		}
		c.Gateway.BaseURL = "http://" + net.JoinHostPort(h, port)
	}
	// The listen address itself: the gateway expands no host, 0.0.0.0 and
	// [::] to every address of the machine.
	c.Gateway.SelfHosts = append(c.Gateway.SelfHosts, net.JoinHostPort("localhost", port), net.JoinHostPort("127.0.0.1", port), c.HTTPAddr)
	if (c.TLSCert == "") != (c.TLSKey == "") {
		return errors.New("--tls-cert and --tls-key go together: give both (or neither, for no TLS listener)")
	}
	if c.TLSCert != "" {
		_, tport, err := net.SplitHostPort(c.HTTPSAddr)
		if err != nil {
			return fmt.Errorf("--https-addr %q: %w", c.HTTPSAddr, err)
		}
		if c.HTTPSAddr == c.HTTPAddr {
			return fmt.Errorf("--https-addr %q is --http-addr too: give the TLS listener its own address", c.HTTPSAddr)
		}
		c.Gateway.SelfHosts = append(c.Gateway.SelfHosts, net.JoinHostPort("localhost", tport), net.JoinHostPort("127.0.0.1", tport), c.HTTPSAddr)
	}
	if c.MetricsAddr != "" {
		if _, _, err := net.SplitHostPort(c.MetricsAddr); err != nil {
			return fmt.Errorf("--metrics-addr %q: %w", c.MetricsAddr, err)
		}
		if c.MetricsAddr == c.HTTPAddr || (c.TLSCert != "" && c.MetricsAddr == c.HTTPSAddr) {
			return fmt.Errorf("--metrics-addr %q is another listener's address: give it its own", c.MetricsAddr)
		}
		c.Gateway.MetricsSeparate = true
	}
	if c.PprofAddr != "" {
		if _, _, err := net.SplitHostPort(c.PprofAddr); err != nil {
			return fmt.Errorf("--pprof-addr %q: %w", c.PprofAddr, err)
		}
		if c.PprofAddr == c.HTTPAddr || c.PprofAddr == c.MetricsAddr || (c.TLSCert != "" && c.PprofAddr == c.HTTPSAddr) {
			return fmt.Errorf("--pprof-addr %q is another listener's address: give it its own", c.PprofAddr)
		}
	}
	if c.ShutdownTimeout <= 0 {
		return errors.New("--shutdown-timeout must be positive")
	}
	if c.VisitSyncInterval <= 0 {
		return errors.New("--visit-sync-interval must be positive")
	}
	if c.VisitJournalMaxMB < 16 {
		return fmt.Errorf("--visit-journal-max-mb must be at least 16, got %d", c.VisitJournalMaxMB)
	}
	if err := c.finishStores(); err != nil {
		return err
	}
	if err := c.finishRawVisits(); err != nil {
		return err
	}
	if err := c.finishCluster(); err != nil {
		return err
	}
	if err := c.Actors.Validate(); err != nil {
		return fmt.Errorf("actors: %w", err)
	}
	if err := c.Gateway.Validate(); err != nil {
		return errors.New(gatewayFlags.Replace(err.Error()))
	}
	return nil
}

// finishRawVisits checks --raw-visits and --raw-visits-ttl. Raw events
// need ClickHouse: the embedded store keeps aggregates only.
func (c *config) finishRawVisits() error {
	c.RawVisits.Interval = c.Actors.FlushInterval
	if c.RawVisits.TTL < rawvisits.MinTTL {
		return fmt.Errorf("--raw-visits-ttl must be at least %s, got %s", fmtDuration(rawvisits.MinTTL), fmtDuration(c.RawVisits.TTL))
	}
	if c.RawVisits.Enabled && c.ClickHouse.URL == "" {
		return errors.New("--raw-visits needs --clickhouse-url: raw visit events are stored in ClickHouse only (the embedded store keeps aggregates)")
	}
	if err := c.RawVisits.Validate(); err != nil {
		return fmt.Errorf("--raw-visits: %w", err)
	}
	return nil
}

// gatewayFlags names, in gateway.Config's validation errors, the flags
// behind the fields (the gateway knows no flags).
var gatewayFlags = strings.NewReplacer(
	"MaxBodyBytes", "--max-body-bytes", "DefaultCacheMaxAge", "--cache-max-age",
	"ReadTimeout", "--http-read-timeout", "WriteTimeout", "--http-write-timeout", "IdleTimeout", "--http-idle-timeout",
	"APIRate", "--api-rate", "APIBurst", "--api-burst", "CORSOrigins", "--cors-origins",
	"RedirectsRefresh", "--redirects-refresh", "RedirectRateLimit", "--redirect-rate-limit",
	"MissRateLimit", "--miss-rate-limit", "TrustedProxies", "--trusted-proxies",
)

// finishCluster checks and derives the cluster settings.
func (c *config) finishCluster() error {
	if c.GossipAddr == "" {
		if c.Join != "" || c.RemoteAddr != "" {
			return fmt.Errorf("--join and --remote-addr need --gossip-addr")
		}
		return nil
	}
	if c.RemoteAddr == "" {
		return fmt.Errorf("--gossip-addr needs --remote-addr (the actor remote address)")
	}
	if c.Postgres.URL == "" {
		return fmt.Errorf("a cluster needs --postgres-url: links must be shared by every node")
	}
	if c.ClickHouse.URL == "" && !c.AllowLocalVisits {
		return fmt.Errorf("a cluster needs --clickhouse-url for visits (or --allow-local-visits to keep them per node)")
	}
	var profile func() cluster.Config
	for _, p := range gossipProfiles {
		if p.name == c.GossipProfile {
			profile = p.cfg
		}
	}
	if profile == nil {
		return fmt.Errorf("--gossip-profile %q: want lan or fast", c.GossipProfile)
	}
	c.Cluster = profile()
	c.Gossip.ProbeInterval.apply(&c.Cluster.ProbeInterval)
	c.Gossip.ProbeTimeout.apply(&c.Cluster.ProbeTimeout)
	c.Gossip.SuspicionMult.apply(&c.Cluster.SuspicionMult)
	c.Gossip.GossipInterval.apply(&c.Cluster.GossipInterval)
	c.Gossip.RejoinInterval.apply(&c.Cluster.RejoinInterval)
	c.Cluster.NodeName = c.Actors.NodeName
	c.Cluster.BindAddr = c.GossipAddr
	c.Cluster.AdvertiseAddr = c.GossipAdvertise
	for _, s := range strings.Split(c.Join, ",") {
		if s = strings.TrimSpace(s); s != "" {
			c.Cluster.Join = append(c.Cluster.Join, s)
		}
	}
	rh, _, err := net.SplitHostPort(c.RemoteAddr)
	if err != nil {
		return fmt.Errorf("--remote-addr %q: %w", c.RemoteAddr, err)
	}
	if (rh == "" || rh == "0.0.0.0" || rh == "::") && c.RemoteAdvertise == "" {
		return fmt.Errorf("--remote-addr %q listens on every interface: set --remote-advertise to the host other nodes reach", c.RemoteAddr)
	}
	if _, _, err := net.SplitHostPort(c.RemoteAdvertise); err == nil {
		return fmt.Errorf("--remote-advertise %q: give a host only; the port is --remote-addr's", c.RemoteAdvertise)
	}
	c.Actors.RemoteAddr = c.RemoteAddr
	c.Actors.RemoteAdvertiseAddr = c.RemoteAddr
	if c.RemoteAdvertise != "" {
		// The advertised host wins over any bind host (NAT, containers).
		_, port, _ := net.SplitHostPort(c.RemoteAddr)
		c.Actors.RemoteAdvertiseAddr = net.JoinHostPort(c.RemoteAdvertise, port)
	}
	c.Cluster.RemoteAddr = c.Actors.RemoteAdvertiseAddr
	// Members show each other's HTTP address: an unspecified listen host
	// (":8080") is shown with the host the remote is reached at.
	remoteHost, _, _ := net.SplitHostPort(c.Actors.RemoteAdvertiseAddr)
	c.Cluster.HTTPAddr = advertised(c.HTTPAddr, remoteHost)
	return c.Cluster.Validate()
}

// advertised replaces an unspecified bind host by host (or keeps it).
func advertised(bind, host string) string {
	h, p, err := net.SplitHostPort(bind)
	if err != nil {
		return bind
	}
	if host != "" && (h == "" || h == "0.0.0.0" || h == "::") {
		return net.JoinHostPort(host, p)
	}
	return bind
}
