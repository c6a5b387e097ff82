package gateway

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
)

// TestServer_AnonymousBodyIsSmall: a body over maxAnonymousBody is only
// read for a request with a valid key; without one it is refused unread
// (401 from the headers alone), so nothing a client sends before it
// authenticates costs more than a few KB.
func TestServer_AnonymousBodyIsSmall(t *testing.T) {
	e := newAPIEnv(t)
	big := 100 << 10
	head := func(path, auth string, n int) string {
		return fmt.Sprintf("POST %s HTTP/1.1\r\nHost: x\r\n%sContent-Type: application/json\r\nContent-Length: %d\r\n\r\n{", path, auth, n)
	}
	for name, auth := range map[string]string{
		"no key":      "",
		"unknown key": "Authorization: Bearer mb_nope\r\n",
		"revoked key": "X-Api-Key: " + revokedKey + "\r\n",
		"garbage":     "Authorization: " + strings.Repeat("k", maxKeyLen+1) + "\r\n",
	} {
		t.Run(name, func(t *testing.T) {
			// Only the headers are sent: the answer comes without the body.
			r := rawExchange(t, e, head("/api/v1/links/bulk", auth, big))
			r.wantError(t, 401, "unauthorized", "needs a valid API key")
			r = rawExchange(t, e, head("/v4/shorten", auth, big))
			if r.status != 403 || !strings.Contains(string(r.body), `"FORBIDDEN"`) {
				t.Errorf("/v4: %d %s", r.status, r.body)
			}
		})
	}
	// Small bodies reach the handler, which answers as always.
	e.do("POST", "/api/v1/links", `{"url":"https://example.com/"}`, noAuth()).wantError(t, 401, "unauthorized", "API key is required")
	// With a valid key, any body up to --max-body-bytes is read.
	links := make([]string, 0, 1000)
	for i := range 1000 {
		links = append(links, fmt.Sprintf(`{"url":"https://example.com/bulk/%d/%s"}`, i, strings.Repeat("p", 60)))
	}
	body := `{"links":[` + strings.Join(links, ",") + `]}`
	if len(body) <= maxAnonymousBody {
		t.Fatalf("body of %d bytes is no test", len(body))
	}
	e.do("POST", "/api/v1/links/bulk", body).wantStatus(t, http.StatusOK)
	e.bitly("POST", "/v4/shorten", `{"long_url":"https://example.com/`+strings.Repeat("a", 6000)+`"}`).wantStatus(t, http.StatusCreated)
	// Over --max-body-bytes with a valid key: the usual 413.
	rawExchange(t, e, head("/api/v1/links", "Authorization: Bearer "+testKey+"\r\n", testMaxBody+1)).wantError(t, 413, "body_too_large", "too large")
	// The key store down: the gate lets the body through, the handler
	// answers 503.
	e.store.down.Store(true)
	e.do("POST", "/api/v1/links/bulk", body).wantError(t, 503, "store_unavailable", "key store")
}
