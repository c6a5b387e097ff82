package main

import (
	"flag"
	"fmt"
	"net"
	"os"
	"strings"
	"time"

	"github.com/minibitly/minibitly/actors"
	"github.com/minibitly/minibitly/cluster"
	"github.com/minibitly/minibitly/gateway"
)

// config is everything main reads from flags and the environment.
type config struct {
	HTTPAddr        string
	DataDir         string
	LogLevel        string
	ShutdownTimeout time.Duration
	InitialAPIKey   string // MINIBITLY_INITIAL_API_KEY only

	PostgresURL       string
	PostgresReadURL   string
	PostgresMaxConns  int
	PostgresTimeout   time.Duration
	ClickHouseURL     string
	ClickHouseTimeout time.Duration

	// Cluster (gossip) settings; a node is clustered when GossipAddr is set.
	GossipAddr       string
	GossipAdvertise  string
	Join             string
	GossipProfile    string
	RemoteAddr       string
	RemoteAdvertise  string
	AllowLocalVisits bool
	Cluster          cluster.Config
	probeInterval    time.Duration
	probeTimeout     time.Duration
	suspicionMult    int
	gossipInterval   time.Duration
	rejoinInterval   time.Duration

	Gateway gateway.Config
	Actors  actors.Config
}

func hostname() string {
	h, err := os.Hostname()
	if err != nil || h == "" {
		return "node"
	}
	return h
}

// storeFlags are the flags every subcommand that opens the stores needs.
func storeFlags(fs *flag.FlagSet, c *config) {
	fs.StringVar(&c.DataDir, "data-dir", "./data", "directory of the embedded store (links, keys and visits when PostgreSQL/ClickHouse are not configured)")
	fs.StringVar(&c.PostgresURL, "postgres-url", "", "PostgreSQL URL for links and API keys (e.g. postgres://user:pass@host:5432/minibitly); empty = embedded store")
	fs.StringVar(&c.PostgresReadURL, "postgres-read-url", "", "optional PostgreSQL read replica URL for lookups and listing")
	fs.IntVar(&c.PostgresMaxConns, "postgres-max-conns", 20, "maximum PostgreSQL connections per node (per pool)")
	durationFlag(fs, &c.PostgresTimeout, "postgres-query-timeout", 5*time.Second, "bound of one PostgreSQL operation (503 beyond); also the connect timeout")
	durationFlag(fs, &c.ClickHouseTimeout, "clickhouse-query-timeout", 10*time.Second, "bound of one ClickHouse operation (a flush retries, a stats query answers 503)")
	fs.StringVar(&c.ClickHouseURL, "clickhouse-url", "", "ClickHouse native URL for visit aggregates (clickhouse://host:9000/minibitly); empty = embedded store")
	fs.StringVar(&c.LogLevel, "log-level", "info", "log level: debug, info, warn, error")
}

func serveFlags(fs *flag.FlagSet, c *config) {
	c.Gateway = gateway.DefaultConfig()
	c.Actors = actors.DefaultConfig()
	storeFlags(fs, c)
	fs.StringVar(&c.HTTPAddr, "http-addr", ":8080", "HTTP listen address for redirects, API, health and metrics")
	fs.StringVar(&c.Gateway.BaseURL, "base-url", "", "public base URL used in short_url (default http://localhost:<http port>)")
	durationFlag(fs, &c.Gateway.ReadTimeout, "http-read-timeout", 10*time.Second, "time a client has to send a request (0 = none: only behind a proxy that enforces one)")
	durationFlag(fs, &c.Gateway.WriteTimeout, "http-write-timeout", 10*time.Second, "time a response may take to write (0 = none)")
	durationFlag(fs, &c.Gateway.IdleTimeout, "http-idle-timeout", 60*time.Second, "how long an idle keep-alive connection is kept")
	fs.IntVar(&c.Gateway.MaxBodyBytes, "max-body-bytes", 1<<20, "largest accepted request body in bytes (413 beyond)")
	fs.IntVar(&c.Gateway.DefaultCacheMaxAge, "cache-max-age", 0, "Cache-Control max-age of redirects in seconds for links without their own (0 = private, max-age=0; >0 = public, for CDNs)")
	fs.StringVar(&c.Gateway.CountryHeader, "country-header", "", "request header carrying the visitor's ISO country set by a trusted proxy/CDN (e.g. CF-IPCountry); empty = country not recorded")
	fs.Float64Var(&c.Gateway.APIRate, "api-rate", 100, "API requests per second allowed per API key on this node (429 beyond; 0 = unlimited)")
	fs.IntVar(&c.Gateway.APIBurst, "api-burst", 200, "API requests per key allowed in a burst above --api-rate")
	fs.StringVar(&c.Actors.NodeName, "node-name", hostname(), "this node's name (cluster member name, visit batch id)")
	fs.IntVar(&c.Actors.Shards, "shards", 64, "shard actors per node")
	durationFlag(fs, &c.Actors.FlushInterval, "flush-interval", time.Second, "how often shards flush visit aggregates to the visit store")
	durationFlag(fs, &c.Actors.BatchInterval, "batch-interval", 100*time.Millisecond, "how often the gateway ships counted visits to the shards")
	fs.IntVar(&c.Actors.Flush.MaxBufferedRows, "flush-buffer-rows", 1_000_000, "aggregate rows buffered while the visit store is unreachable; beyond it the oldest are dropped and counted")
	fs.IntVar(&c.Actors.NearCache.MaxEntries, "near-cache-size", 1_000_000, "links kept in the gateway near-cache (about 250 B of heap each)")
	fs.IntVar(&c.Actors.OwnerCacheSize, "owner-cache-size", 1_000_000, "links the shard actors keep for the codes this node owns (about 200 B of heap each)")
	durationFlag(fs, &c.Actors.NearCache.TTL, "near-cache-ttl", 5*time.Minute, "how long a near-cached link is served before it is re-resolved")
	durationFlag(fs, &c.Actors.NearCache.NegativeTTL, "near-cache-negative-ttl", 10*time.Second, "how long an unknown code is remembered as 404 (creating it clears this at once)")
	durationFlag(fs, &c.ShutdownTimeout, "shutdown-timeout", 25*time.Second, "how long SIGTERM may take to drain requests and flush visits")

	fs.StringVar(&c.GossipAddr, "gossip-addr", "", "gossip (memberlist) bind host:port, e.g. 0.0.0.0:7946; setting it makes this node part of a cluster")
	fs.StringVar(&c.GossipAdvertise, "gossip-advertise", "", "host:port other nodes reach this node's gossip at (default: the bind address)")
	fs.StringVar(&c.Join, "join", "", "comma-separated seeds: host:port, host (port 7946) or a DNS name resolving to the peers (Kubernetes headless Service)")
	fs.StringVar(&c.RemoteAddr, "remote-addr", "", "protoactor remote bind host:port for cross-node messages (required with --gossip-addr)")
	fs.StringVar(&c.RemoteAdvertise, "remote-advertise", "", "host other nodes reach the remote at, when the bind host is 0.0.0.0 (e.g. the pod IP)")
	fs.StringVar(&c.GossipProfile, "gossip-profile", "lan", "failure-detection timings: lan (memberlist LAN defaults, dead after ~5 s) or fast (loopback/tests, dead after ~1 s)")
	durationFlag(fs, &c.probeInterval, "gossip-probe-interval", 0, "override the profile's probe interval")
	durationFlag(fs, &c.probeTimeout, "gossip-probe-timeout", 0, "override the profile's probe timeout")
	fs.IntVar(&c.suspicionMult, "gossip-suspicion-mult", 0, "override the profile's suspicion multiplier")
	durationFlag(fs, &c.gossipInterval, "gossip-interval", 0, "override the profile's gossip interval")
	durationFlag(fs, &c.rejoinInterval, "gossip-rejoin-interval", 0, "override how often a node that lost members re-joins its seeds (partition healing)")
	durationFlag(fs, &c.Actors.RemoteTimeout, "remote-timeout", time.Second, "how long a lookup waits for the code's owner on another node before failing over")
	durationFlag(fs, &c.Actors.VisitAckTimeout, "visit-ack-timeout", 2*time.Second, "how long a visit batch sent to its owner node may wait for the ack before this node counts it itself")
	fs.BoolVar(&c.AllowLocalVisits, "allow-local-visits", false, "in a cluster without --clickhouse-url, keep each node's visits in its own embedded store (stats then show one node's share)")
}

// finish derives what depends on several flags.
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
	c.Gateway.SelfHosts = append(c.Gateway.SelfHosts, net.JoinHostPort("localhost", port), net.JoinHostPort("127.0.0.1", port))
	if host != "" {
		c.Gateway.SelfHosts = append(c.Gateway.SelfHosts, c.HTTPAddr)
	}
	if c.Actors.NearCache.TTL < time.Second {
		return fmt.Errorf("--near-cache-ttl must be at least 1s")
	}
	if c.Actors.OwnerCacheSize < c.Actors.Shards {
		return fmt.Errorf("--owner-cache-size must be at least --shards")
	}
	if c.Actors.NearCache.NegativeTTL < time.Second {
		return fmt.Errorf("--near-cache-negative-ttl must be at least 1s")
	}
	if c.Actors.FlushInterval < 10*time.Millisecond {
		return fmt.Errorf("--flush-interval must be at least 10ms")
	}
	c.Actors.Flush.WriteTimeout = actors.DefaultFlushConfig().WriteTimeout
	return c.finishCluster()
}

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
	if c.PostgresURL == "" {
		return fmt.Errorf("a cluster needs --postgres-url: links must be shared by every node")
	}
	if c.ClickHouseURL == "" && !c.AllowLocalVisits {
		return fmt.Errorf("a cluster needs --clickhouse-url for visits (or --allow-local-visits to keep them per node)")
	}
	switch c.GossipProfile {
	case "lan":
		c.Cluster = cluster.DefaultConfig()
	case "fast":
		c.Cluster = cluster.FastConfig()
	default:
		return fmt.Errorf("--gossip-profile %q: want lan or fast", c.GossipProfile)
	}
	if c.probeInterval > 0 {
		c.Cluster.ProbeInterval = c.probeInterval
	}
	if c.probeTimeout > 0 {
		c.Cluster.ProbeTimeout = c.probeTimeout
	}
	if c.suspicionMult > 0 {
		c.Cluster.SuspicionMult = c.suspicionMult
	}
	if c.gossipInterval > 0 {
		c.Cluster.GossipInterval = c.gossipInterval
	}
	if c.rejoinInterval > 0 {
		c.Cluster.RejoinInterval = c.rejoinInterval
	}
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
	c.Actors.RemoteAddr = c.RemoteAddr
	c.Actors.RemoteAdvertiseAddr = advertised(c.RemoteAddr, c.RemoteAdvertise)
	c.Cluster.RemoteAddr = c.Actors.RemoteAdvertiseAddr
	// Members show each other's HTTP address: an unspecified listen host
	// (":8080") is shown with the host the remote is reached at.
	remoteHost, _, _ := net.SplitHostPort(c.Actors.RemoteAdvertiseAddr)
	c.Cluster.HTTPAddr = advertised(c.HTTPAddr, remoteHost)
	return nil
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
