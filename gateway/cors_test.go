package gateway

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
)

func withCORS(origins string) envOpt {
	return func(c *Config, _ *Deps) { c.CORSOrigins = origins }
}

// preflight is what a browser sends before a cross-origin request with an
// API key header: no key.
func preflight(origin, method, headers string) []reqOpt {
	return []reqOpt{noAuth(), withHeader("Origin", origin),
		withHeader("Access-Control-Request-Method", method),
		withHeader("Access-Control-Request-Headers", headers)}
}

func TestCORS_Preflight(t *testing.T) {
	e := newAPIEnv(t)
	methods := map[string]string{
		"/api/v1/links":                    "GET, POST",
		"/api/v1/links/abc":                "DELETE, GET, PATCH",
		"/api/v1/links/abc/stats":          "GET",
		"/api/v1/no/such/route":            corsAnyMethods,
		"/api/v1":                          corsAnyMethods,
		"/rest/v3/short-urls":              "GET, POST",
		"//rest/v3/short-urls/abc":         "DELETE, GET, PATCH",
		"/rest/v3/no/such/route":           corsAnyMethods,
		"/rest/health":                     corsAnyMethods,
		"/v4/shorten":                      "POST",
		"/v4/bitlinks/sho.rt/abc":          "DELETE, GET, PATCH",
		"/v4/bitlinks/sho.rt/abc/clicks":   "GET",
		"/v4/user":                         "GET",
		"/v4/nothing":                      corsAnyMethods,
		"/api/v1/links/bulk":               "POST",
		"/api/v1/cluster/owner/some/thing": "GET",
	}
	for p, want := range methods {
		r := e.do("OPTIONS", p, nil, preflight("https://app.shlink.io", "POST", "x-api-key, content-type")...)
		if r.status != http.StatusNoContent || len(r.body) != 0 {
			t.Errorf("preflight %s: %d %q, want 204 and no body", p, r.status, r.body)
			continue
		}
		h := r.header
		for k, v := range map[string]string{
			"Access-Control-Allow-Origin":  "*",
			"Access-Control-Allow-Methods": want,
			"Access-Control-Allow-Headers": "x-api-key, content-type",
			"Access-Control-Max-Age":       "3600",
			"Allow":                        want,
		} {
			if got := h.Get(k); got != v {
				t.Errorf("preflight %s: %s %q, want %q", p, k, got, v)
			}
		}
		if h.Get("Access-Control-Allow-Credentials") != "" || h.Get("Vary") != "" {
			t.Errorf("preflight %s with origins *: credentials %q, Vary %q", p, h.Get("Access-Control-Allow-Credentials"), h.Get("Vary"))
		}
	}
	// A wrong or revoked key does not matter: the preflight carries none
	// in a browser, and is never 401 or 405.
	r := e.do("OPTIONS", "/api/v1/links", nil, append(preflight("https://x.example", "DELETE", "authorization"),
		withHeader("Authorization", "Bearer "+revokedKey))...)
	r.wantStatus(t, http.StatusNoContent)
	// Requested headers too long to echo get the headers the APIs read.
	long := strings.Repeat("x-custom-header, ", 100)
	r = e.do("OPTIONS", "/api/v1/links", nil, preflight("https://x.example", "POST", long)...)
	if got := r.wantStatus(t, http.StatusNoContent).header.Get("Access-Control-Allow-Headers"); got != corsDefaultHeaders {
		t.Errorf("long request headers: Allow-Headers %q, want %q", got, corsDefaultHeaders)
	}
}

func TestCORS_ExplicitOrigins(t *testing.T) {
	e := newAPIEnv(t, withCORS("https://app.example, http://localhost:3000"))
	r := e.do("OPTIONS", "/api/v1/links", nil, preflight("http://localhost:3000", "POST", "x-api-key")...)
	r.wantStatus(t, http.StatusNoContent)
	for k, v := range map[string]string{
		"Access-Control-Allow-Origin":      "http://localhost:3000",
		"Access-Control-Allow-Credentials": "true",
		"Access-Control-Allow-Methods":     "GET, POST",
		"Vary":                             "Origin",
	} {
		if got := r.header.Get(k); got != v {
			t.Errorf("listed origin: %s %q, want %q", k, got, v)
		}
	}
	// An origin not listed: still 204 (never an error), but nothing that
	// allows it, so the browser refuses.
	r = e.do("OPTIONS", "/api/v1/links", nil, preflight("https://evil.example", "POST", "x-api-key")...)
	r.wantStatus(t, http.StatusNoContent)
	for _, k := range []string{"Access-Control-Allow-Origin", "Access-Control-Allow-Credentials", "Access-Control-Allow-Methods", "Access-Control-Allow-Headers"} {
		if got := r.header.Get(k); got != "" {
			t.Errorf("unlisted origin: %s %q", k, got)
		}
	}
	// Actual requests: the listed origin is echoed, others are not; the
	// answer varies by Origin either way.
	r = e.do("GET", "/api/v1/links", nil, withHeader("Origin", "https://app.example")).wantStatus(t, 200)
	if r.header.Get("Access-Control-Allow-Origin") != "https://app.example" || r.header.Get("Vary") != "Origin" {
		t.Errorf("GET from a listed origin: %v", r.header)
	}
	r = e.do("GET", "/api/v1/links", nil, withHeader("Origin", "https://evil.example")).wantStatus(t, 200)
	if r.header.Get("Access-Control-Allow-Origin") != "" || r.header.Get("Vary") != "Origin" {
		t.Errorf("GET from an unlisted origin: %v", r.header)
	}
}

func TestCORS_ActualRequests(t *testing.T) {
	e := newAPIEnv(t)
	r := e.do("GET", "/api/v1/links", nil, withHeader("Origin", "https://app.example")).wantStatus(t, 200)
	if r.header.Get("Access-Control-Allow-Origin") != "*" || r.header.Get("Access-Control-Expose-Headers") != corsExposeHeaders {
		t.Errorf("GET with Origin: %v", r.header)
	}
	// Errors carry the headers too, so the app can read them.
	r = e.do("GET", "/api/v1/links", nil, noAuth(), withHeader("Origin", "https://app.example"))
	r.wantError(t, 401, "unauthorized", "API key")
	if r.header.Get("Access-Control-Allow-Origin") != "*" {
		t.Errorf("401 without CORS headers: %v", r.header)
	}
	// So do the answers to bodies refused unread.
	r = rawExchange(t, e, fmt.Sprintf("POST /api/v1/links HTTP/1.1\r\nHost: x\r\nOrigin: https://app.example\r\nContent-Length: %d\r\n\r\n{", 10<<10))
	r.wantError(t, 401, "unauthorized", "API key")
	if r.header.Get("Access-Control-Allow-Origin") != "*" {
		t.Errorf("refused body without CORS headers: %v", r.header)
	}
	// Without Origin: no CORS headers.
	r = e.do("GET", "/api/v1/links", nil).wantStatus(t, 200)
	if r.header.Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("GET without Origin: %v", r.header)
	}
	// OPTIONS that is no preflight (no Origin) goes to the router.
	e.do("OPTIONS", "/api/v1/links", nil).wantError(t, 405, "method_not_allowed", "OPTIONS")
	// CORS off.
	off := newAPIEnv(t, withCORS(""))
	r = off.do("OPTIONS", "/api/v1/links", nil, preflight("https://app.example", "GET", "x-api-key")...)
	if r.wantStatus(t, http.StatusNoContent).header.Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("CORS off: %v", r.header)
	}
}

func TestCORS_RedirectsAndMetricsUntouched(t *testing.T) {
	e := newAPIEnv(t)
	e.createLink(map[string]any{"url": "https://example.com/c", "code": "corsy"})
	for _, p := range []string{"/corsy", "/metrics", "/health", "/nosuch"} {
		r := e.do("GET", p, nil, noAuth(), withHeader("Origin", "https://app.example"))
		if r.header.Get("Access-Control-Allow-Origin") != "" {
			t.Errorf("GET %s with Origin: CORS headers %v", p, r.header)
		}
		r = e.do("OPTIONS", p, nil, preflight("https://app.example", "GET", "x-api-key")...)
		if r.status == http.StatusNoContent || r.header.Get("Access-Control-Allow-Origin") != "" {
			t.Errorf("preflight of %s answered as an API path: %d %v", p, r.status, r.header)
		}
	}
	if r := e.do("GET", "/corsy", nil, noAuth(), withHeader("Origin", "https://app.example")); r.status != http.StatusFound {
		t.Errorf("redirect with Origin: %d", r.status)
	}
}

func TestConfig_ValidateCORSOrigins(t *testing.T) {
	for _, v := range []string{"app.example", "https://app.example/path", "ftp://x", "https://a.example,", "*,https://a.example"} {
		c := DefaultConfig()
		c.CORSOrigins = v
		if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "CORSOrigins") {
			t.Errorf("CORSOrigins %q: %v, want an error naming CORSOrigins", v, err)
		}
	}
	for _, v := range []string{"*", "", "https://a.example", "https://a.example:8443, http://localhost:3000"} {
		c := DefaultConfig()
		c.CORSOrigins = v
		if err := c.Validate(); err != nil {
			t.Errorf("CORSOrigins %q: %v", v, err)
		}
	}
}
