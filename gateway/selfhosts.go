package gateway

import (
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"strconv"
	"strings"

	"github.com/minibitly/minibitly/internal/urlcheck"
)

// selfHosts is every host and address this node answers on, in canonical
// form (urlcheck.Host.Bare), for urlcheck.Policy.IsSelf. Built once by New,
// read-only after.
type selfHosts struct {
	anyPort  map[string]bool // BaseURL's domain: every port is this service (a proxy may map any)
	withPort map[string]bool // "host:port"
	// Ports this node listens on: every loopback address (and 0.0.0.0,
	// which browsers send to the local machine) at one of them is this node.
	localPorts map[int]bool
}

// initSelfHosts collects the hosts that are this service (Config.SelfHosts
// and BaseURL's host; a listen address on 0.0.0.0, [::] or no host stands
// for every address of the machine's interfaces) and sets the policy every
// long URL is checked with.
func (s *Server) initSelfHosts() error {
	sh := &selfHosts{anyPort: map[string]bool{}, withPort: map[string]bool{}, localPorts: map[int]bool{}}
	var ifAddrs []netip.Addr // read once, on the first wildcard address
	ifRead := false
	for _, e := range s.cfg.SelfHosts {
		host, port, err := splitSelfHost(e)
		if err != nil {
			return fmt.Errorf("self host %q: %w", e, err)
		}
		if port == 0 {
			if err := sh.addName(host); err != nil {
				return fmt.Errorf("self host %q: %w", e, err)
			}
			continue
		}
		if host == "" || host == "0.0.0.0" || host == "::" {
			if !ifRead {
				ifAddrs, ifRead = interfaceAddrs(), true
			}
			sh.localPorts[port] = true
			for _, a := range ifAddrs {
				sh.addAddr(a, port)
			}
			continue
		}
		if err := sh.add(host, port); err != nil {
			return fmt.Errorf("self host %q: %w", e, err)
		}
	}
	if s.cfg.BaseURL != "" {
		u, err := url.Parse(s.cfg.BaseURL)
		if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
			return fmt.Errorf("base url %q: want an absolute http(s) URL", s.cfg.BaseURL)
		}
		h, err := hostOf(u.Hostname())
		if err != nil {
			return fmt.Errorf("base url %q: %w", s.cfg.BaseURL, err)
		}
		port := 80
		if u.Scheme == "https" {
			port = 443
		}
		if p := u.Port(); p != "" {
			if port, err = strconv.Atoi(p); err != nil {
				return fmt.Errorf("base url %q: bad port", s.cfg.BaseURL)
			}
		}
		if h.IsIP() || h.Bare() == "localhost" || strings.HasSuffix(h.Bare(), ".localhost") {
			sh.addHost(h, port)
		} else {
			sh.anyPort[h.Bare()] = true
		}
	}
	s.urlPolicy = urlcheck.Policy{AllowPrivate: s.cfg.AllowPrivateDestinations, IsSelf: sh.isSelf}
	return nil
}

// splitSelfHost splits "host", "host:port", ":port" or "[v6]:port"; port
// 0 means every port.
func splitSelfHost(e string) (string, int, error) {
	host, p, err := net.SplitHostPort(e)
	if err != nil {
		return strings.Trim(e, "[]"), 0, nil // a bare host name
	}
	port, err := strconv.Atoi(p)
	if err != nil || port < 0 || port > 65535 {
		return "", 0, fmt.Errorf("bad port %q", p)
	}
	return host, port, nil
}

// hostOf reads a host (an IPv6 address with or without brackets) as a
// browser does.
func hostOf(host string) (urlcheck.Host, error) {
	if strings.Contains(host, ":") && !strings.HasPrefix(host, "[") {
		host = "[" + host + "]"
	}
	return urlcheck.ParseHost(host)
}

func (sh *selfHosts) addName(host string) error {
	h, err := hostOf(host)
	if err != nil {
		return err
	}
	sh.anyPort[h.Bare()] = true
	return nil
}

func (sh *selfHosts) add(host string, port int) error {
	h, err := hostOf(host)
	if err != nil {
		return err
	}
	sh.addHost(h, port)
	return nil
}

func (sh *selfHosts) addHost(h urlcheck.Host, port int) {
	if h.IsIP() {
		sh.addAddr(h.Addr, port)
		return
	}
	bare := h.Bare()
	if bare == "localhost" || strings.HasSuffix(bare, ".localhost") {
		sh.localPorts[port] = true
	}
	sh.withPort[bare+":"+strconv.Itoa(port)] = true
}

func (sh *selfHosts) addAddr(a netip.Addr, port int) {
	a = a.Unmap().WithZone("")
	if a.IsLoopback() || a.IsUnspecified() {
		sh.localPorts[port] = true
	}
	host := a.String()
	if a.Is6() {
		h, err := hostOf(host)
		if err != nil {
			return
		}
		host = h.Name
	}
	sh.withPort[host+":"+strconv.Itoa(port)] = true
}

// isSelf is urlcheck.Policy.IsSelf.
func (sh *selfHosts) isSelf(host string, port int) bool {
	if sh.anyPort[host] || sh.withPort[host+":"+strconv.Itoa(port)] {
		return true
	}
	if !sh.localPorts[port] {
		return false
	}
	if host == "localhost" {
		return true
	}
	a, err := netip.ParseAddr(strings.Trim(host, "[]"))
	if err != nil {
		return false
	}
	a = a.Unmap()
	return a.IsLoopback() || a.IsUnspecified()
}

// interfaceAddrs are the addresses of the machine's network interfaces
// (none when they cannot be read: the listed hosts still are checked).
func interfaceAddrs() []netip.Addr {
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return nil
	}
	out := make([]netip.Addr, 0, len(addrs))
	for _, a := range addrs {
		var ip net.IP
		switch v := a.(type) {
		case *net.IPNet:
			ip = v.IP
		case *net.IPAddr:
			ip = v.IP
		}
		if p, ok := netip.AddrFromSlice(ip); ok {
			out = append(out, p.Unmap())
		}
	}
	return out
}

// canonicalURL is the one check of every long URL the APIs store: links on
// /api/v1, /rest/v3 and /v4 (linkFields) and the domain's redirects. It
// returns the form to store (see urlcheck.Canonical).
func (s *Server) canonicalURL(raw string) (string, error) {
	return urlcheck.Canonical(raw, s.urlPolicy)
}
