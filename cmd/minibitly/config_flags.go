package main

import (
	"flag"
	"fmt"
	"strings"
	"time"

	"github.com/minibitly/minibitly/cluster"
)

// The flags of each subcommand, by --help group. Every flag is bound to a
// field of a config from defaultConfig and takes that field's value as its
// default; a default shown in words is one derived at run time.

// storeFlags are the flags of every subcommand that opens the stores.
func storeFlags(fs *flagSet, c *config) {
	fs.group("Storage")
	fs.bind(&c.DataDir, "data-dir", "directory of the embedded store (links, keys and visits when PostgreSQL/ClickHouse are not configured)")
	fs.bind(&c.Postgres.URL, "postgres-url", "PostgreSQL URL for links and API keys (e.g. postgres://user:pass@host:5432/minibitly); empty = embedded store")
	fs.bind(&c.Postgres.ReadURL, "postgres-read-url", "optional PostgreSQL read replica URL for lookups, lists and key reads; a down replica falls back to --postgres-url (docs/postgres-replicas.md)")
	fs.bind(&c.Postgres.ReadYourWritesWindow, "postgres-read-your-writes-window", "with --postgres-read-url: reads of a link written or invalidated this long ago, and lists after a write, go to the primary (0 = never)")
	fs.bind(&c.Postgres.MaxConns, "postgres-max-conns", "maximum PostgreSQL connections per node (per pool)")
	fs.bind(&c.Postgres.QueryTimeout, "postgres-query-timeout", "bound of one PostgreSQL operation (503 beyond); also the connect timeout")
	fs.bind(&c.ClickHouse.URL, "clickhouse-url", "ClickHouse native URL for visit aggregates (clickhouse://host:9000/minibitly; several hosts fail over: clickhouse://h1:9000,h2:9000/minibitly); empty = embedded store")
	fs.bind(&c.ClickHouse.Cluster, "clickhouse-cluster", "a cluster of the ClickHouse servers' remote_servers: tables created ON CLUSTER, replicated, read and written through Distributed tables (docs/clickhouse-cluster.md); empty = one server")
	fs.bind(&c.ClickHouse.QueryTimeout, "clickhouse-query-timeout", "bound of one ClickHouse operation (a flush retries, a stats query answers 503)")
}

// logFlags: keys and migrate accept them too, so one set of flags (or
// environment) serves every subcommand.
func logFlags(fs *flagSet, c *config) {
	fs.group("Logging")
	fs.bind(&c.LogLevel, "log-level", "log level: debug, info, warn, error (JSON on stderr)")
}

func serveFlags(fs *flagSet, c *config) {
	fs.group("HTTP")
	fs.bind(&c.HTTPAddr, "http-addr", "HTTP listen address for redirects, API, health and metrics")
	fs.bind(&c.Gateway.BaseURL, "base-url", "public base URL used in short_url; its host is refused as a link target")
	fs.showDefault("base-url", "http://localhost:<port of --http-addr>")
	fs.bind(&c.Gateway.AllowPrivateDestinations, "allow-private-destinations", "accept long URLs to loopback, private (RFC 1918), link-local, unique-local, localhost and cloud metadata hosts: for an intranet shortener (links to this service are refused either way)")
	fs.bind(&c.Gateway.ReadTimeout, "http-read-timeout", "time a client has to send a request (0 = none: only behind a proxy that enforces one)")
	fs.bind(&c.Gateway.WriteTimeout, "http-write-timeout", "time a response may take to write (0 = none)")
	fs.bind(&c.Gateway.IdleTimeout, "http-idle-timeout", "how long an idle keep-alive connection is kept (0 = --http-read-timeout's value); the three HTTP timeouts fire up to a quarter of the shortest (at most 1s) late")
	fs.bind(&c.Gateway.DefaultCacheMaxAge, "cache-max-age", "Cache-Control max-age of redirects in seconds for links without their own (0 = private, max-age=0; >0 = public, for CDNs)")
	fs.bind(&c.Gateway.CountryHeader, "country-header", "request header carrying the visitor's ISO country set by a trusted proxy/CDN (e.g. CF-IPCountry); empty = country not recorded")
	fs.bind(&c.Gateway.RedirectsRefresh, "redirects-refresh", "how often the domain's not-found redirects (PATCH /rest/v3/domains/redirects) are re-read from the link store: the bound on other nodes seeing a change")
	fs.bind(&c.Gateway.CORSOrigins, "cors-origins", "origins browser apps may call /api/v1, /rest and /v4 from: * (any), a comma-separated list (echoed, with credentials allowed), or empty for no CORS headers")
	fs.bind(&c.HTTPSAddr, "https-addr", "TLS listen address (same routes as --http-addr), used when --tls-cert and --tls-key are set")
	fs.bind(&c.TLSCert, "tls-cert", "PEM certificate (chain) file of the TLS listener; empty = no TLS listener (e.g. behind a TLS proxy)")
	fs.bind(&c.TLSKey, "tls-key", "PEM private key file of --tls-cert")
	fs.bind(&c.MetricsAddr, "metrics-addr", "listen address of a listener serving only /metrics; when set, --http-addr and --https-addr answer /metrics 404; empty = /metrics on --http-addr")
	fs.bind(&c.PprofAddr, "pprof-addr", "listen address of a listener serving Go's runtime profiles (/debug/pprof/: CPU, heap, goroutines) and nothing else, unauthenticated: bind it to loopback; empty = none")
	fs.bind(&c.Gateway.MetricsToken, "metrics-token", "bearer token /metrics requires (Authorization: Bearer <token>; 401 otherwise); empty = /metrics needs none")

	storeFlags(fs, c)

	fs.group("Visits")
	fs.bind(&c.Actors.BatchInterval, "batch-interval", "how often the gateway ships counted visits to the shards")
	fs.bind(&c.Actors.FlushInterval, "flush-interval", "how often shards flush visit aggregates to the visit store (at least 10ms)")
	fs.bind(&c.Actors.Flush.MaxBufferedRows, "flush-buffer-rows", "aggregate rows buffered while the visit store is unreachable; beyond it the oldest are dropped and counted")
	fs.bind(&c.VisitJournal, "visit-journal", "keep every answered visit in --data-dir/journal until it is in the visit store, so it survives SIGKILL and is counted once after a restart on the same data dir (false = in memory until flushed)")
	fs.bind(&c.VisitSyncInterval, "visit-sync-interval", "how often the visit journal is synced to disk (msync/fsync): what a crash of the machine (power loss) may lose; a crash of the process loses nothing")
	fs.bind(&c.VisitJournalMaxMB, "visit-journal-max-mb", "bound in MiB of the visit journal's record log (visits waiting for an unreachable visit store); beyond it the oldest are dropped from the journal and counted")
	fs.bind(&c.RawVisits.Enabled, "raw-visits", "also store every link visit as a raw event in ClickHouse (second, referrer URL without query, user agent; no IP), best-effort, for the Shlink visit lists; needs --clickhouse-url")
	fs.bind(&c.RawVisits.TTL, "raw-visits-ttl", "how long raw visit events are kept (at least 24h; whole UTC days are dropped)")
	fs.bind(&c.Actors.ReferrersPerMinute, "referrers-per-minute", "distinct referrer hosts stored per link per minute; visits from further hosts count as \"(other)\" (totals stay exact)")

	fs.group("Caches")
	fs.bind(&c.Actors.NearCache.MaxEntries, "near-cache-size", "links kept in the gateway near-cache (about 250 B of heap each)")
	fs.bind(&c.Actors.NearCache.TTL, "near-cache-ttl", "how long a near-cached link is served before it is re-resolved (whole seconds, at least 1s)")
	fs.bind(&c.Actors.NearCache.NegativeTTL, "near-cache-negative-ttl", "how long an unknown code is remembered as 404 (at least 1s; creating it clears this at once)")
	fs.bind(&c.Actors.NearCache.NegativeEntries, "near-cache-negative-size", "unknown codes remembered as 404, in a table apart from the links so a flood of them never evicts a link")
	fs.bind(&c.Actors.OwnerCacheSize, "owner-cache-size", "links the shard actors keep for the codes this node owns, over all shards (at least --shards; about 170 B of heap each)")

	fs.group("Limits")
	fs.bind(&c.Blocklist, "blocklist", "file of blocked destination domains, one per line (each blocks its subdomains too): refused at create, 410 at redirect; reloaded on SIGHUP")
	fs.bind(&c.Gateway.MaxBodyBytes, "max-body-bytes", "largest accepted request body in bytes (413 beyond)")
	fs.bind(&c.Gateway.MaxConns, "max-conns", "open connections allowed over the HTTP, TLS and metrics listeners together (503 and close beyond, TLS closed unanswered; counted in minibitly_gateway_connections_refused_total)")
	fs.bind(&c.Gateway.MaxConnsPerIP, "max-conns-per-ip", "open connections allowed from one client IP, an IPv6 client as its /64 (503 and close beyond, TLS closed); behind a proxy every client has the proxy's IP: raise it to --max-conns")
	fs.bind(&c.Gateway.APIRate, "api-rate", "API requests per second allowed per API key, split over the cluster's alive nodes (429 beyond; 0 = unlimited)")
	fs.bind(&c.Gateway.APIBurst, "api-burst", "API requests per key allowed in a burst above --api-rate (split over the alive nodes, at least 1 each)")
	fs.bind(&c.Gateway.RedirectRateLimit, "redirect-rate-limit", "redirect requests allowed per client address (IPv4, IPv6 /64): N/s or N/m, split over the cluster's alive nodes, burst one second's worth; 429 beyond; off = unlimited")
	fs.bind(&c.Gateway.MissRateLimit, "miss-rate-limit", "redirect requests for unknown or uncached codes (a store lookup or a 404) allowed per client address: N/s or N/m, split like --redirect-rate-limit; off = unlimited")
	fs.bind(&c.Gateway.TrustedProxies, "trusted-proxies", "comma-separated CIDRs of proxies whose --proxy-header names the client for rate limits; empty = the peer address is the client")
	fs.bind(&c.Gateway.ProxyHeader, "proxy-header", "the header the trusted proxies write, x-forwarded-for or forwarded (for=); the other is ignored, so a client cannot choose its address through it")

	fs.group("Node")
	fs.bind(&c.Actors.NodeName, "node-name", "this node's name (cluster member name, visit batch id)")
	fs.showDefault("node-name", "the host name")
	fs.bind(&c.Actors.Shards, "shards", "shard actors per node (1..4096)")
	fs.bind(&c.ShutdownTimeout, "shutdown-timeout", "how long SIGTERM may take to drain requests and flush visits")

	clusterFlags(fs, c)
	logFlags(fs, c)
}

func clusterFlags(fs *flagSet, c *config) {
	fs.group("Cluster")
	port := cluster.DefaultGossipPort
	fs.bind(&c.GossipAddr, "gossip-addr", fmt.Sprintf("gossip (memberlist) bind host:port, e.g. 0.0.0.0:%d; setting it makes this node part of a cluster", port))
	fs.bind(&c.GossipAdvertise, "gossip-advertise", "host:port other nodes reach this node's gossip at (NAT, containers)")
	fs.showDefault("gossip-advertise", "the bind address")
	fs.bind(&c.Join, "join", fmt.Sprintf("comma-separated seeds: host:port, host (port %d) or a DNS name resolving to the peers (Kubernetes headless Service)", port))
	fs.bind(&c.RemoteAddr, "remote-addr", "protoactor remote bind host:port for cross-node messages (required with --gossip-addr)")
	fs.bind(&c.RemoteAdvertise, "remote-advertise", "host (no port: --remote-addr's port is used) other nodes reach the remote at; required when the bind host is 0.0.0.0 (e.g. the pod IP), and wins over the bind host when set")
	fs.bind(&c.AllowLocalVisits, "allow-local-visits", "in a cluster without --clickhouse-url, keep each node's visits in its own embedded store (stats then show one node's share)")
	fs.bind(&c.Actors.RemoteTimeout, "remote-timeout", "how long a lookup waits for the code's owner on another node before failing over")
	fs.bind(&c.Actors.VisitAckTimeout, "visit-ack-timeout", "how long a visit batch sent to its owner node may wait for the ack before this node counts it itself")
	fs.bind(&c.GossipProfile, "gossip-profile", "failure-detection timings: lan (memberlist LAN defaults, dead after ~6 s) or fast (loopback/tests, dead after ~1 s; false alarms on slow networks)")
	g := &c.Gossip
	profileFlag(fs, &g.ProbeInterval, "gossip-probe-interval", "time between failure probes", func(c cluster.Config) any { return c.ProbeInterval })
	profileFlag(fs, &g.ProbeTimeout, "gossip-probe-timeout", "wait for a probe's ack before indirect probes (shorter than the probe interval)", func(c cluster.Config) any { return c.ProbeTimeout })
	profileFlag(fs, &g.SuspicionMult, "gossip-suspicion-mult", "suspicion multiplier: a suspect is declared dead after mult × max(1, log10 members) × probe interval", func(c cluster.Config) any { return c.SuspicionMult })
	profileFlag(fs, &g.GossipInterval, "gossip-interval", "time between gossip rounds", func(c cluster.Config) any { return c.GossipInterval })
	profileFlag(fs, &g.RejoinInterval, "gossip-rejoin-interval", "how often a node that lost members re-joins its seeds (partition healing)", func(c cluster.Config) any { return c.RejoinInterval })
}

// profileFlag binds a --gossip-* override. Its default is the profile's
// value, shown for every profile ("1s with lan, 200ms with fast").
func profileFlag(fs *flagSet, v flag.Value, name, usage string, field func(cluster.Config) any) {
	fs.bind(v, name, usage+"; replaces the --gossip-profile's value (0 = keep it)")
	var each []string
	for _, p := range gossipProfiles {
		val := field(p.cfg())
		if d, ok := val.(time.Duration); ok {
			val = fmtDuration(d)
		}
		each = append(each, fmt.Sprintf("%v with %s", val, p.name))
	}
	fs.showDefault(name, strings.Join(each, ", "))
}
