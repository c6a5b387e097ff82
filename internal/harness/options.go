package harness

import "net"

// Options adjust how LaunchPostgresWith and LaunchClickHouseWith start a
// server. The zero value is what LaunchPostgres and LaunchClickHouse use.
type Options struct {
	// ListenHost is the address the server listens on; empty means
	// 127.0.0.1. Any other value also trusts clients from every address
	// (no password), so use it only on a network the test owns, e.g.
	// "0.0.0.0" inside a private network namespace where other namespaces
	// reach the server over veth links.
	ListenHost string
}

func (o Options) listenHost() string {
	if o.ListenHost == "" {
		return "127.0.0.1"
	}
	return o.ListenHost
}

// remoteClients reports whether clients other than loopback must be let in.
func (o Options) remoteClients() bool {
	ip := net.ParseIP(o.listenHost())
	return ip == nil || !ip.IsLoopback()
}

// clientHost is the host the test itself dials: loopback when the server
// listens on every address or on loopback, else the listen address.
func (o Options) clientHost() string {
	ip := net.ParseIP(o.listenHost())
	if ip != nil && (ip.IsUnspecified() || ip.IsLoopback()) {
		return "127.0.0.1"
	}
	return o.listenHost()
}
