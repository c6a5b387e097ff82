package urlcheck

import (
	"net/netip"
	"net/url"
	"strings"
	"testing"

	"github.com/valyala/fasthttp"
)

// FuzzCanonical: what Canonical accepts is canonical (it re-parses to
// itself), printable ASCII, neither private nor this service (checked
// again here from net/url's reading of the host), and fasthttp and net/url
// read the same host from it. Seeds: testdata/fuzz/FuzzCanonical.
func FuzzCanonical(f *testing.F) {
	for _, s := range []string{
		"https://example.com/p?q=1#f", "http://127.1:8080/loop", "https://%D0%B0pple.com/",
		"https://%EF%BD%85vil.com/", "http://[::ffff:127.0.0.1]:8080/", "http://0x7f.1/", "https://mb.example./",
	} {
		f.Add(s, false)
	}
	f.Fuzz(func(t *testing.T, raw string, allowPrivate bool) {
		p := Policy{IsSelf: testSelf, AllowPrivate: allowPrivate}
		out, err := Canonical(raw, p)
		if err != nil {
			return
		}
		if again, err := Canonical(out, p); err != nil || again != out {
			t.Fatalf("Canonical(%q) = %q; Canonical of that = %q, %v", raw, out, again, err)
		}
		for i := 0; i < len(out); i++ {
			if out[i] <= ' ' || out[i] >= 0x7f {
				t.Fatalf("Canonical(%q) = %q has byte 0x%02x", raw, out, out[i])
			}
		}
		u, err := url.Parse(out)
		if err != nil {
			t.Fatalf("Canonical(%q) = %q, which net/url refuses: %v", raw, out, err)
		}
		var fu fasthttp.URI
		if err := fu.Parse(nil, []byte(out)); err != nil {
			t.Fatalf("Canonical(%q) = %q, which fasthttp refuses: %v", raw, out, err)
		}
		if got := string(fu.Host()); got != strings.ToLower(u.Host) {
			t.Fatalf("Canonical(%q) = %q: fasthttp reads host %q, net/url %q", raw, out, got, u.Host)
		}
		host := strings.TrimSuffix(u.Hostname(), ".")
		port := u.Port()
		if port == "" {
			port = map[string]string{"http": "80", "https": "443"}[u.Scheme]
		}
		a, isIP := netip.ParseAddr(host)
		if isIP == nil {
			a = a.Unmap()
			if !allowPrivate && (a.IsLoopback() || a.IsPrivate() || a.IsLinkLocalUnicast() || a.IsUnspecified() || a.Is4() && a.As4()[0] == 0) {
				t.Fatalf("Canonical(%q) = %q, a private address", raw, out)
			}
			if a.IsLoopback() && port == "8080" {
				t.Fatalf("Canonical(%q) = %q, this service", raw, out)
			}
		}
		if host == "mb.example" || (host == "localhost" || strings.HasSuffix(host, ".localhost")) && (port == "8080" || !allowPrivate) {
			t.Fatalf("Canonical(%q) = %q, this service or private", raw, out)
		}
	})
}
