package cluster

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"time"

	"github.com/hashicorp/memberlist"
)

// DefaultGossipPort is the port used for a seed given as a bare host.
const DefaultGossipPort = 7946

// Config configures a Node. Start from DefaultConfig or FastConfig: New
// validates every field and never reads a zero as "use the default".
type Config struct {
	NodeName      string   // required, unique in the cluster
	BindAddr      string   // gossip bind host:port, e.g. "0.0.0.0:7946" or "127.0.0.2:0" (port 0 = pick)
	AdvertiseAddr string   // host:port others should use; empty = BindAddr
	Join          []string // seeds: host:port, host (port 7946) or a DNS name with several A records; resolved on every (re)join
	HTTPAddr      string   // host:port of this node's HTTP gateway, put into node metadata
	RemoteAddr    string   // host:port of this node's protoactor remote, put into node metadata

	ProbeInterval  time.Duration // memberlist: time between failure probes
	ProbeTimeout   time.Duration // memberlist: wait for an ack before indirect probes
	SuspicionMult  int           // memberlist: suspicion timeout = mult × log10(max(1,n)) × ProbeInterval
	GossipInterval time.Duration // memberlist: time between gossip rounds

	// RejoinInterval is how often the node re-joins its seeds and the addresses of dead
	// members while it knows of dead members or some seed is not an alive member.
	RejoinInterval time.Duration

	Logger *slog.Logger // nil: discard
}

// DefaultConfig returns LAN-safe settings: memberlist.DefaultLANConfig's timings (probe every
// 1 s, 500 ms probe timeout, suspicion ×4, gossip every 200 ms) and a 5 s re-join interval.
// A SIGKILLed peer is declared dead after about 6 s on loopback (docs/cluster.md).
func DefaultConfig() Config {
	lan := memberlist.DefaultLANConfig()
	return Config{
		BindAddr:       net.JoinHostPort("0.0.0.0", strconv.Itoa(DefaultGossipPort)),
		ProbeInterval:  lan.ProbeInterval,
		ProbeTimeout:   lan.ProbeTimeout,
		SuspicionMult:  lan.SuspicionMult,
		GossipInterval: lan.GossipInterval,
		RejoinInterval: 5 * time.Second,
	}
}

// FastConfig returns the fast failure-detection profile for tests and small loopback
// clusters: probe every 200 ms, 100 ms probe timeout, suspicion ×2, gossip every 50 ms,
// re-join every 1 s. A SIGKILLed peer is declared dead in under a second on loopback. It
// costs about five times the probe traffic of DefaultConfig and produces false "dead"
// verdicts on a network whose round trip approaches 100 ms; do not use it across data
// centres.
func FastConfig() Config {
	c := DefaultConfig()
	c.ProbeInterval = 200 * time.Millisecond
	c.ProbeTimeout = 100 * time.Millisecond
	c.SuspicionMult = 2
	c.GossipInterval = 50 * time.Millisecond
	c.RejoinInterval = time.Second
	return c
}

// Validate reports the first invalid field (New runs it too).
func (c Config) Validate() error {
	_, _, err := c.validate()
	return err
}

// validate checks cfg and returns the parsed bind host and port.
func (c *Config) validate() (bindHost string, bindPort int, err error) {
	if c.NodeName == "" {
		return "", 0, errors.New("cluster: node name is required")
	}
	bindHost, bindPort, err = splitHostPort(c.BindAddr, -1)
	if err != nil {
		return "", 0, fmt.Errorf("cluster: bind address %q: %w", c.BindAddr, err)
	}
	if c.AdvertiseAddr != "" {
		if _, _, err := splitHostPort(c.AdvertiseAddr, -1); err != nil {
			return "", 0, fmt.Errorf("cluster: advertise address %q: %w", c.AdvertiseAddr, err)
		}
	}
	for _, s := range c.Join {
		if _, _, err := splitHostPort(s, DefaultGossipPort); err != nil {
			return "", 0, fmt.Errorf("cluster: seed %q: %w", s, err)
		}
	}
	if c.ProbeInterval <= 0 || c.ProbeTimeout <= 0 || c.GossipInterval <= 0 || c.RejoinInterval <= 0 {
		return "", 0, errors.New("cluster: probe interval, probe timeout, gossip interval and rejoin interval must be positive")
	}
	if c.ProbeTimeout >= c.ProbeInterval {
		return "", 0, fmt.Errorf("cluster: probe timeout %v must be shorter than probe interval %v", c.ProbeTimeout, c.ProbeInterval)
	}
	if c.SuspicionMult < 1 {
		return "", 0, fmt.Errorf("cluster: suspicion multiplier %d must be at least 1", c.SuspicionMult)
	}
	if n := len(encodeMeta(nil, c.HTTPAddr, c.RemoteAddr, true)); n > memberlist.MetaMaxSize {
		return "", 0, fmt.Errorf("cluster: node metadata is %d bytes, memberlist allows %d", n, memberlist.MetaMaxSize)
	}
	return bindHost, bindPort, nil
}

// splitHostPort splits "host:port" or, when defaultPort >= 0, a bare "host" (IPv6 literals
// in brackets). The host must not be empty.
func splitHostPort(s string, defaultPort int) (string, int, error) {
	host, portStr, err := net.SplitHostPort(s)
	if err != nil {
		if defaultPort < 0 {
			return "", 0, err
		}
		host, portStr = s, strconv.Itoa(defaultPort)
		if len(host) > 1 && host[0] == '[' && host[len(host)-1] == ']' {
			host = host[1 : len(host)-1]
		}
	}
	if host == "" {
		return "", 0, errors.New("missing host")
	}
	port, err := strconv.Atoi(portStr)
	if err != nil || port < 0 || port > 65535 {
		return "", 0, fmt.Errorf("bad port %q", portStr)
	}
	return host, port, nil
}
