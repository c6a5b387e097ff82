package gateway

import (
	"net/netip"
	"testing"

	"github.com/valyala/fasthttp"
)

// TestServer_ClientAddr: the peer unless it is a trusted proxy; then the
// rightmost entry of the configured proxy header (X-Forwarded-For, or
// Forwarded for=) that is not a trusted proxy; the other header is never
// read, so a client's own copy of it cannot choose its address.
func TestServer_ClientAddr(t *testing.T) {
	trusted, err := parseTrustedProxies("10.0.0.0/8, 2001:db8:ffff::/48, 192.0.2.99")
	if err != nil {
		t.Fatal(err)
	}
	s := &Server{cfg: Config{ProxyHeader: "x-forwarded-for"}, limits: limitState{trusted: trusted}}
	f := func(peer, want string, hdr ...string) {
		t.Helper()
		var ctx fasthttp.RequestCtx
		ctx.SetRemoteAddr(mustTCPAddr(peer))
		for i := 0; i+1 < len(hdr); i += 2 {
			ctx.Request.Header.Add(hdr[i], hdr[i+1])
		}
		if got := s.clientAddr(&ctx); got != netip.MustParseAddr(want) {
			t.Errorf("peer %s %q: client %s, want %s", peer, hdr, got, want)
		}
	}
	f("198.51.100.1:1", "198.51.100.1")
	f("198.51.100.1:1", "198.51.100.1", "X-Forwarded-For", "203.0.113.5")    // untrusted: ignored
	f("198.51.100.1:1", "198.51.100.1", "Forwarded", "for=203.0.113.5")      // untrusted: ignored
	f("10.0.0.1:1", "10.0.0.1")                                              // trusted, no header
	f("10.0.0.1:1", "203.0.113.5", "X-Forwarded-For", "1.1.1.1,203.0.113.5") // rightmost
	f("192.0.2.99:1", "203.0.113.5", "X-Forwarded-For", "203.0.113.5, 10.9.9.9, 192.0.2.99")
	f("10.0.0.1:1", "203.0.113.6", "X-Forwarded-For", "203.0.113.6", "X-Forwarded-For", "10.1.1.1") // two lines
	// A client's own Forwarded, passed through by a proxy that appends to
	// X-Forwarded-For, is ignored.
	f("10.0.0.1:1", "7.7.7.7", "X-Forwarded-For", "7.7.7.7", "Forwarded", "for=5.5.5.5")
	f("10.0.0.1:1", "10.0.0.1", "Forwarded", "for=5.5.5.5")
	s.cfg.ProxyHeader = "forwarded"
	f("10.0.0.1:1", "2001:db8::7", "Forwarded", `for="[2001:db8::7]:4711";proto=https, For=10.2.2.2`)
	f("10.0.0.1:1", "203.0.113.8", "Forwarded", "for=203.0.113.8:80")
	f("10.0.0.1:1", "203.0.113.8", "Forwarded", "for=203.0.113.8", "X-Forwarded-For", "6.6.6.6")
	s.cfg.ProxyHeader = "x-forwarded-for"
	f("10.0.0.1:1", "10.0.0.1", "X-Forwarded-For", "unknown")                     // unparsable: the proxy
	f("10.0.0.1:1", "10.3.3.3", "X-Forwarded-For", "junk, 10.3.3.3")              // stops at the last trusted hop
	f("[2001:db8:ffff::1]:1", "192.0.2.7", "X-Forwarded-For", "::ffff:192.0.2.7") // IPv6 proxy, mapped client
	f("10.0.0.1:1", "10.0.0.1", "X-Forwarded-For", "fe80::1%eth0")                // zones refused

	for _, bad := range []string{"10.0.0.0/33", "nope", "10.0.0.1/8/1"} {
		if _, err := parseTrustedProxies(bad); err == nil {
			t.Errorf("parseTrustedProxies(%q) accepted", bad)
		}
	}
}
