package gateway

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"unsafe"

	"github.com/valyala/fasthttp"
)

// clientKey is a client address as rate limits see it: an IPv4 address
// (IPv4-mapped) or an IPv6 /64 prefix (one subscriber's allocation, so
// rotating addresses inside it does not escape a limit).
type clientKey [16]byte

func clientKeyOf(a netip.Addr) clientKey {
	a = a.Unmap()
	k := clientKey(a.As16())
	if a.Is6() {
		clear(k[8:])
	}
	return k
}

func (k clientKey) shard() int {
	// A multiplicative hash of both halves (an IPv4 address is in the low
	// one, an IPv6 /64 in the high one); the top byte picks the shard.
	lo := binary.LittleEndian.Uint64(k[8:])
	hi := binary.LittleEndian.Uint64(k[:8])
	h := (lo ^ hi*0x9e3779b97f4a7c15) * 0xff51afd7ed558ccd
	return int(h >> 56) // ipShards = 256
}

// trustedProxies are the CIDRs whose X-Forwarded-For / Forwarded headers
// name the client; empty trusts none (the peer is the client).
type trustedProxies []netip.Prefix

// parseTrustedProxies parses a comma-separated list of CIDRs (a bare
// address is its /32 or /128).
func parseTrustedProxies(s string) (trustedProxies, error) {
	var t trustedProxies
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		p, err := netip.ParsePrefix(f)
		if err != nil {
			a, aerr := netip.ParseAddr(f)
			if aerr != nil {
				return nil, fmt.Errorf("TrustedProxies: %q is not a CIDR or an address", f)
			}
			p = netip.PrefixFrom(a, a.BitLen())
		}
		t = append(t, p.Masked())
	}
	return t, nil
}

func (t trustedProxies) has(a netip.Addr) bool {
	a = a.Unmap()
	for _, p := range t {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

const (
	hdrForwarded     = "Forwarded"
	hdrXForwardedFor = "X-Forwarded-For"
)

// clientAddr is the request's client: the peer address, or, when the peer
// is a trusted proxy, the rightmost address of Config.ProxyHeader
// (X-Forwarded-For, or Forwarded's for=) that is not itself a trusted
// proxy. The other header is never read: a proxy that appends to one
// passes a client's own copy of the other through. An entry that does not
// parse stops the walk: the last trusted hop is then the client. It does
// not allocate.
func (s *Server) clientAddr(ctx *fasthttp.RequestCtx) netip.Addr {
	peer := peerAddr(ctx)
	if len(s.limits.trusted) == 0 || !s.limits.trusted.has(peer) {
		return peer
	}
	h := &ctx.Request.Header
	if s.cfg.ProxyHeader == "forwarded" {
		return s.walkForwarded(h.PeekAll(hdrForwarded), peer, true)
	}
	return s.walkForwarded(h.PeekAll(hdrXForwardedFor), peer, false)
}

func peerAddr(ctx *fasthttp.RequestCtx) netip.Addr {
	var a netip.Addr
	if tcp, ok := ctx.RemoteAddr().(*net.TCPAddr); ok {
		a, _ = netip.AddrFromSlice(tcp.IP)
	}
	return a.Unmap()
}

// walkForwarded walks the header lines vs from the last entry of the last
// line back.
func (s *Server) walkForwarded(vs [][]byte, client netip.Addr, forwarded bool) netip.Addr {
	for l := len(vs) - 1; l >= 0; l-- {
		v := vs[l]
		for len(v) > 0 {
			var entry []byte
			if i := bytes.LastIndexByte(v, ','); i >= 0 {
				entry, v = v[i+1:], v[:i]
			} else {
				entry, v = v, nil
			}
			if forwarded {
				entry = forwardedFor(entry)
			}
			a, ok := parseHopAddr(entry)
			if !ok {
				return client
			}
			client = a
			if !s.limits.trusted.has(a) {
				return a
			}
		}
	}
	return client
}

// forwardedFor is the for= value of one Forwarded element
// (for=192.0.2.1;proto=https), nil when it has none.
func forwardedFor(e []byte) []byte {
	for len(e) > 0 {
		var pair []byte
		if i := bytes.IndexByte(e, ';'); i >= 0 {
			pair, e = e[:i], e[i+1:]
		} else {
			pair, e = e, nil
		}
		pair = bytes.TrimSpace(pair)
		if len(pair) > 4 && (pair[0]|0x20) == 'f' && (pair[1]|0x20) == 'o' && (pair[2]|0x20) == 'r' && pair[3] == '=' {
			return pair[4:]
		}
	}
	return nil
}

// parseHopAddr parses one hop: 192.0.2.1, 2001:db8::1, "[2001:db8::1]:443",
// 192.0.2.1:80 (quotes, brackets and ports dropped; zones refused).
func parseHopAddr(b []byte) (netip.Addr, bool) {
	b = bytes.TrimSpace(b)
	if len(b) >= 2 && b[0] == '"' && b[len(b)-1] == '"' {
		b = b[1 : len(b)-1]
	}
	if len(b) > 0 && b[0] == '[' {
		i := bytes.IndexByte(b, ']')
		if i < 0 {
			return netip.Addr{}, false
		}
		b = b[1:i]
	} else if i := bytes.IndexByte(b, ':'); i >= 0 && bytes.IndexByte(b[i+1:], ':') < 0 {
		b = b[:i] // IPv4 with a port
	}
	if len(b) == 0 || len(b) > 45 || bytes.IndexByte(b, '%') >= 0 {
		return netip.Addr{}, false
	}
	// The string shares b's bytes: ParseAddr keeps no reference to it
	// (it allocates only on failure, for the error).
	a, err := netip.ParseAddr(unsafe.String(&b[0], len(b)))
	if err != nil {
		return netip.Addr{}, false
	}
	return a.Unmap(), true
}
