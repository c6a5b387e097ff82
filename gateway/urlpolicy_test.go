package gateway

import (
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"testing"
)

// selfSpellings are this node (SelfHosts 127.0.0.1:8080 in newAPIEnv) as
// a browser may be told to reach it.
var selfSpellings = []string{
	"http://127.0.0.1:8080/loop", "http://127.1:8080/loop", "http://2130706433:8080/", "http://0x7f.1:8080/",
	"http://017700000001:8080/", "http://127.0.0.1.:8080/", "http://127.0.0.2:8080/", "http://0.0.0.0:8080/",
	"http://%EF%BD%8C%EF%BD%8F%EF%BD%83%EF%BD%81%EF%BD%8C%EF%BD%88%EF%BD%8F%EF%BD%93%EF%BD%94:8080/", // fullwidth localhost
	"http://127%E3%80%820%E3%80%820%E3%80%821:8080/",                                                 // ideographic full stops
	"http://localhost.:8080/", "http://app.localhost:8080/", "http://[::1]:8080/", "http://[::ffff:127.0.0.1]:8080/",
	"https://sho.rt/x", "https://SHO.RT./x", "https://sho.rt:8443/x", "https://%EF%BD%93ho.rt/x",
}

// TestServer_DestinationPolicy: every API stores the canonical URL and
// refuses private destinations by default and this service always.
func TestServer_DestinationPolicy(t *testing.T) {
	type api struct {
		create func(e *apiEnv, url string) *apiResponse
		url    func(t *testing.T, r *apiResponse) string
		refuse func(t *testing.T, r *apiResponse, msg string)
	}
	apis := map[string]api{
		"api/v1": {
			create: func(e *apiEnv, u string) *apiResponse { return e.do("POST", "/api/v1/links", map[string]any{"url": u}) },
			url: func(t *testing.T, r *apiResponse) string {
				return r.wantStatus(t, http.StatusCreated).json(t)["url"].(string)
			},
			refuse: func(t *testing.T, r *apiResponse, msg string) {
				r.wantError(t, http.StatusUnprocessableEntity, "invalid_url", msg)
			},
		},
		"rest/v3": {
			create: func(e *apiEnv, u string) *apiResponse {
				return e.shlink("POST", "/rest/v3/short-urls", map[string]any{"longUrl": u})
			},
			url: func(t *testing.T, r *apiResponse) string {
				var out shlinkShortURL
				r.wantStatus(t, http.StatusOK).decode(t, &out)
				return out.LongURL
			},
			refuse: func(t *testing.T, r *apiResponse, msg string) {
				if p := r.wantProblem(t, http.StatusBadRequest, "invalid-data"); !strings.Contains(p.Detail, msg) && !strings.Contains(string(r.body), msg) {
					t.Errorf("problem %s does not say %q", r.body, msg)
				}
			},
		},
		"v4": {
			create: func(e *apiEnv, u string) *apiResponse {
				return e.bitly("POST", "/v4/shorten", map[string]any{"long_url": u})
			},
			url: func(t *testing.T, r *apiResponse) string {
				return r.wantStatus(t, http.StatusCreated).bitlink(t).LongURL
			},
			refuse: func(t *testing.T, r *apiResponse, msg string) {
				r.wantBitlyError(t, http.StatusBadRequest, "INVALID_ARG_LONG_URL", "long_url")
			},
		},
	}
	canonical := map[string]string{
		"https://%D0%B0pple.com/":    "https://xn--pple-43d.com/",
		"https://%EF%BD%85vil.com/x": "https://evil.com/x",
		"HTTPS://Example.COM:443/a":  "https://example.com/a",
		"http://[2001:DB8::0:1]/":    "http://[2001:db8::1]/",
		"http://3221225985/":         "http://192.0.2.1/",
	}
	private := []string{
		"http://169.254.169.254/latest/meta-data/", "http://10.0.0.1/", "http://192.168.1.1:3000/", "http://172.16.5.4/",
		"http://127.0.0.1:3000/", "http://127.1/", "http://localhost:3000/", "http://[fd00::1]/", "http://[fe80::1]/",
		"http://0.0.0.0/", "http://metadata.google.internal/computeMetadata/v1/", "http://[::ffff:10.0.0.1]/",
	}
	refused := map[string]string{
		"https://ex<ample>.com/": "'<'", "https://%2500/": "'%'", "http://[fe80::1%25eth0]/": "zone id",
		`https://evil.example\@bank.example/`: "backslash",
	}
	for _, allow := range []bool{false, true} {
		e := newAPIEnv(t, func(c *Config, _ *Deps) {
			c.AllowPrivateDestinations = allow
			c.APIRate, c.APIBurst = 0, 0 // ~120 creates: more than a 3-member test cluster's share of the default burst
		})
		for name, a := range apis {
			t.Run(name+" allow="+strconv.FormatBool(allow), func(t *testing.T) {
				for in, want := range canonical {
					if got := a.url(t, a.create(e, in)); got != want {
						t.Errorf("%s stored as %q, want %q", in, got, want)
					}
				}
				for _, u := range selfSpellings {
					a.refuse(t, a.create(e, u), "this service")
				}
				for u, msg := range refused {
					a.refuse(t, a.create(e, u), msg)
				}
				for _, u := range private {
					r := a.create(e, u)
					if allow {
						a.url(t, r)
						continue
					}
					a.refuse(t, r, "private destination")
				}
			})
		}
	}
}

// TestServer_DomainRedirectsCanonical: the domain's redirects are long URLs
// too: stored canonical, refused like links.
func TestServer_DomainRedirectsCanonical(t *testing.T) {
	e := newAPIEnv(t)
	var out map[string]any
	e.shlink("PATCH", "/rest/v3/domains/redirects", map[string]any{"domain": "sho.rt", "baseUrlRedirect": "https://%EF%BD%85vil.com/"}).
		wantStatus(t, http.StatusOK).decode(t, &out)
	if out["baseUrlRedirect"] != "https://evil.com/" {
		t.Errorf("baseUrlRedirect stored as %v", out["baseUrlRedirect"])
	}
	for _, u := range []string{"http://127.1:8080/", "http://169.254.169.254/"} {
		e.shlink("PATCH", "/rest/v3/domains/redirects", map[string]any{"domain": "sho.rt", "regular404Redirect": u}).
			wantProblem(t, http.StatusBadRequest, "invalid-data")
	}
}

// TestServer_SelfHostsWildcard: a listen address on every address (no
// host, 0.0.0.0, [::]) is every address of the machine's interfaces, and
// every loopback address, at its port; links to them are refused even
// with private destinations allowed.
func TestServer_SelfHostsWildcard(t *testing.T) {
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		t.Fatal(err)
	}
	for _, listen := range []string{":9000", "0.0.0.0:9000", "[::]:9000"} {
		e := newAPIEnv(t, func(c *Config, _ *Deps) {
			c.AllowPrivateDestinations = true
			c.SelfHosts = []string{listen}
		})
		urls := []string{"http://127.0.0.1:9000/", "http://127.1:9000/", "http://localhost:9000/", "http://[::1]:9000/"}
		for _, a := range addrs {
			n, ok := a.(*net.IPNet)
			if !ok {
				continue
			}
			ip, _ := netip.AddrFromSlice(n.IP)
			ip = ip.Unmap()
			if ip.Is6() && ip.IsLinkLocalUnicast() {
				continue // needs a zone id to be reached: refused anyway
			}
			urls = append(urls, "http://"+net.JoinHostPort(ip.String(), "9000")+"/")
		}
		for _, u := range urls {
			e.do("POST", "/api/v1/links", map[string]any{"url": u}).wantError(t, http.StatusUnprocessableEntity, "invalid_url", "this service")
		}
		// Another port of the same machine is another service.
		e.do("POST", "/api/v1/links", map[string]any{"url": "http://127.0.0.1:9001/"}).wantStatus(t, http.StatusCreated)
	}
}
