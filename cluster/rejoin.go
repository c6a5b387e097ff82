package cluster

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"time"
)

// seedLookupTimeout bounds one DNS resolution of the seeds.
const seedLookupTimeout = 5 * time.Second

// rejoinLoop heals partitions memberlist alone never re-merges (hashicorp/memberlist#222:
// once a partition outlasts GossipToTheDeadTime each side has forgotten the other). Every
// RejoinInterval, unless the node has left, it joins the seeds that are not alive members
// and the last addresses of members it knows as dead (for 15 minutes after they died).
// Nothing is done while every seed and every known member is alive.
func (n *Node) rejoinLoop(ctx context.Context) {
	defer n.wg.Done()
	t := time.NewTicker(n.cfg.RejoinInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if n.left.Load() {
			continue
		}
		n.pruneDeparted(time.Now())
		targets := n.rejoinTargets(ctx)
		if len(targets) == 0 || ctx.Err() != nil {
			continue
		}
		n.metrics.rejoins.Inc()
		before := n.aliveCount()
		contacted := n.join(ctx, targets)
		if after := n.aliveCount(); after > before {
			n.log.Info("cluster: re-joined", "targets", targets, "contacted", contacted, "alive_before", before, "alive_after", after)
		} else {
			n.log.Debug("cluster: re-join round", "targets", targets, "contacted", contacted, "alive", after)
		}
	}
}

// rejoinTargets returns the seed addresses that are not alive members plus the addresses
// of members known dead, without duplicates; nil when there is nothing to re-join.
func (n *Node) rejoinTargets(ctx context.Context) []string {
	seeds, err := n.resolveSeeds(ctx)
	if err != nil {
		n.log.Debug("cluster: resolve seeds", "seeds", n.cfg.Join, "error", err)
	}
	n.mu.Lock()
	alive := make(map[string]bool, len(n.members))
	var dead []string
	for _, ms := range n.members {
		switch ms.Status {
		case StatusAlive:
			alive[ms.gossipAddr] = true
		case StatusDead:
			dead = append(dead, ms.gossipAddr)
		}
	}
	n.mu.Unlock()
	var targets []string
	for _, a := range append(seeds, dead...) {
		if !alive[a] {
			alive[a] = true // dedup
			targets = append(targets, a)
		}
	}
	return targets
}

// join joins addrs (ip:port) one at a time, stopping early when ctx is done or the node
// leaves, and returns how many answered.
func (n *Node) join(ctx context.Context, addrs []string) int {
	contacted := 0
	for _, a := range addrs {
		if ctx.Err() != nil || n.left.Load() {
			break
		}
		k, err := n.ml.Join([]string{a})
		if err != nil {
			n.log.Debug("cluster: join", "addr", a, "error", err)
		}
		contacted += k
	}
	return contacted
}

// resolveSeeds resolves cfg.Join to ip:port addresses, every call anew (a Kubernetes
// headless Service lists the current pods). A name resolving to both families yields only
// its IPv4 addresses unless this node binds an IPv6 address. This node's own address is
// left out. The error reports seeds that failed to resolve.
func (n *Node) resolveSeeds(ctx context.Context) ([]string, error) {
	ctx, cancel := context.WithTimeout(ctx, seedLookupTimeout)
	defer cancel()
	selfAddr, selfPort := n.selfGossipAddr()
	bindIP := net.ParseIP(n.bindHost)
	wantV6 := bindIP != nil && bindIP.To4() == nil && !bindIP.IsUnspecified()
	seen := make(map[string]bool)
	var out []string
	var errs []error
	for _, s := range n.cfg.Join {
		host, port, err := splitHostPort(s, DefaultGossipPort)
		if err != nil {
			errs = append(errs, fmt.Errorf("seed %q: %w", s, err))
			continue
		}
		ips, err := lookupIP(ctx, host)
		if err != nil {
			errs = append(errs, fmt.Errorf("resolve seed %q: %w", s, err))
			continue
		}
		if !wantV6 {
			ips = onlyIPv4IfAny(ips)
		}
		for _, ip := range ips {
			a := net.JoinHostPort(ip.String(), strconv.Itoa(port))
			// A seed is this node when it is our address, or, when we bind
			// every interface, one of this host's addresses on our port.
			// (Bound to one address, another local address on the same
			// port is another node: e.g. 127.0.0.1:7946 vs 127.0.0.2:7946.)
			self := a == selfAddr || (port == selfPort &&
				(ip.IsUnspecified() || (bindIP.IsUnspecified() && n.localIPs[ip.String()]) || ip.Equal(bindIP)))
			if self || seen[a] {
				continue
			}
			seen[a] = true
			out = append(out, a)
		}
	}
	return out, errors.Join(errs...)
}

// selfGossipAddr returns this node's gossip address as memberlist reported it (the picked
// port when BindAddr had port 0).
func (n *Node) selfGossipAddr() (string, int) {
	n.mu.Lock()
	ms := n.members[n.cfg.NodeName]
	n.mu.Unlock()
	if ms == nil {
		return "", n.bindPort
	}
	_, port, err := splitHostPort(ms.gossipAddr, -1)
	if err != nil {
		return ms.gossipAddr, n.bindPort
	}
	return ms.gossipAddr, port
}

func (n *Node) aliveCount() int {
	n.mu.Lock()
	defer n.mu.Unlock()
	k := 0
	for _, ms := range n.members {
		if ms.Status == StatusAlive {
			k++
		}
	}
	return k
}

// pruneDeparted forgets members that died or left more than departedTTL ago.
func (n *Node) pruneDeparted(now time.Time) {
	n.mu.Lock()
	defer n.mu.Unlock()
	for name, ms := range n.members {
		if ms.Status != StatusAlive && now.Sub(ms.since) > departedTTL {
			delete(n.members, name)
		}
	}
}

func lookupIP(ctx context.Context, host string) ([]net.IP, error) {
	if ip := net.ParseIP(host); ip != nil {
		return []net.IP{ip}, nil
	}
	ips, err := net.DefaultResolver.LookupIP(ctx, "ip", host)
	if err != nil {
		return nil, err
	}
	if len(ips) == 0 {
		return nil, fmt.Errorf("no addresses for %q", host)
	}
	return ips, nil
}

func onlyIPv4IfAny(ips []net.IP) []net.IP {
	var v4 []net.IP
	for _, ip := range ips {
		if ip.To4() != nil {
			v4 = append(v4, ip)
		}
	}
	if len(v4) == 0 {
		return ips
	}
	return v4
}

func preferIPv4(ips []net.IP) net.IP { return onlyIPv4IfAny(ips)[0] }

// localIPs returns the addresses of this host's interfaces.
func localIPs() map[string]bool {
	m := make(map[string]bool)
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return m
	}
	for _, a := range addrs {
		if ipn, ok := a.(*net.IPNet); ok {
			m[ipn.IP.String()] = true
		}
	}
	return m
}
