package gateway

import (
	"fmt"
	"net"
	"net/http"
	"runtime"
	"strings"
	"testing"
	"time"
)

// TestServer_AnonymousBodyIsSmall: a request without a valid key is
// answered from its headers (and bodyPrefetch byte); its body is never read.
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
			// Only the headers and one byte are sent: the answer comes
			// without the body.
			rawExchange(t, e, head("/api/v1/links/bulk", auth, big)).wantError(t, 401, "unauthorized", "")
			r := rawExchange(t, e, head("/v4/shorten", auth, big))
			if r.status != 403 || !strings.Contains(string(r.body), `"FORBIDDEN"`) {
				t.Errorf("/v4: %d %s", r.status, r.body)
			}
			if r := rawExchange(t, e, head("/rest/v3/short-urls", auth, big)); r.status != 401 {
				t.Errorf("/rest: %d %s", r.status, r.body)
			}
		})
	}
	// With a valid key, any body up to --max-body-bytes is read.
	links := make([]string, 0, 1000)
	for i := range 1000 {
		links = append(links, fmt.Sprintf(`{"url":"https://example.com/bulk/%d/%s"}`, i, strings.Repeat("p", 60)))
	}
	body := `{"links":[` + strings.Join(links, ",") + `]}`
	if len(body) <= 2*bodyStep {
		t.Fatalf("body of %d bytes is no test", len(body))
	}
	e.do("POST", "/api/v1/links/bulk", body).wantStatus(t, http.StatusOK)
	e.bitly("POST", "/v4/shorten", `{"long_url":"https://example.com/`+strings.Repeat("a", 6000)+`"}`).wantStatus(t, http.StatusCreated)
	e.shlink("POST", "/rest/v3/short-urls", `{"longUrl":"https://example.com/`+strings.Repeat("s", 6000)+`"}`).wantStatus(t, http.StatusOK)
	// Over --max-body-bytes with a valid key: the usual 413, unread.
	rawExchange(t, e, head("/api/v1/links", "Authorization: Bearer "+testKey+"\r\n", testMaxBody+1)).wantError(t, 413, "body_too_large", "too large")
	// Chunked, over the limit as it arrives: 413.
	chunk := strings.Repeat("x", testMaxBody/2)
	rawExchange(t, e, fmt.Sprintf("POST /api/v1/links HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\nTransfer-Encoding: chunked\r\n\r\n%x\r\n%s\r\n%x\r\n%s\r\n1\r\nx\r\n0\r\n\r\n", testKey, len(chunk), chunk, len(chunk), chunk)).wantError(t, 413, "body_too_large", "")
	// The key store down: 503, the body unread.
	e.store.down.Store(true)
	rawExchange(t, e, head("/api/v1/links/bulk", "Authorization: Bearer mb_anything\r\n", big)).wantError(t, 503, "store_unavailable", "key store")
}

// heapInuse is the live heap after a collection.
func heapInuse() uint64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapInuse
}

// TestServer_HalfSentBodiesCostLittle: n connections that each announce
// a body of --max-body-bytes and send one byte of it cost the node well
// under n × 64 KiB of heap, with a key or without, whatever the path and
// with the key store down. (fasthttp allocated each announced body before
// any handler ran: n × 512 KiB here, and n × 1 MiB with the defaults.)
func TestServer_HalfSentBodiesCostLittle(t *testing.T) {
	const n = 200
	const bound = n * 64 << 10
	tests := map[string]struct {
		head string
		down bool
	}{
		"no key, redirect":        {head: "POST /abc HTTP/1.1\r\nHost: x\r\n"},
		"no key, API":             {head: "POST /api/v1/links HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"},
		"made-up key, store down": {head: "POST /api/v1/links HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer mb_made_up\r\n", down: true},
		"valid key, redirect":     {head: "GET /abc HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + testKey + "\r\n"},
		"valid key, API":          {head: "POST /api/v1/links/bulk HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + testKey + "\r\n"},
		"valid key, Shlink":       {head: "POST /rest/v3/short-urls HTTP/1.1\r\nHost: x\r\nX-Api-Key: " + testKey + "\r\n"},
		"valid key, Bitly":        {head: "POST /v4/shorten HTTP/1.1\r\nHost: x\r\nAuthorization: " + testKey + "\r\n"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			e := newAPIEnv(t, func(c *Config, _ *Deps) { c.ReadTimeout = time.Minute })
			e.store.down.Store(tc.down)
			addr := strings.TrimPrefix(e.base, "http://")
			before := heapInuse()
			conns := make([]net.Conn, 0, n)
			t.Cleanup(func() {
				for _, c := range conns {
					c.Close()
				}
			})
			for range n {
				c, err := net.Dial("tcp", addr)
				if err != nil {
					t.Fatal(err)
				}
				conns = append(conns, c)
				if _, err := fmt.Fprintf(c, "%sContent-Length: %d\r\n\r\n{", tc.head, testMaxBody); err != nil {
					t.Fatal(err)
				}
			}
			// Poll until every connection is being served, then for the
			// heap to pass the bound (the old allocation happened as soon
			// as the headers were in).
			deadline := time.Now().Add(3 * time.Second)
			for e.srv.srv.GetOpenConnectionsCount() < n && time.Now().Before(deadline) && !answeredAll(conns) {
				time.Sleep(10 * time.Millisecond)
			}
			var grew int64
			for time.Now().Before(deadline) {
				if grew = int64(heapInuse()) - int64(before); grew > bound {
					break
				}
				time.Sleep(50 * time.Millisecond)
			}
			t.Logf("%d half-sent bodies of %d KiB: heap %+d KiB (%d B per connection)", n, testMaxBody>>10, grew>>10, grew/n)
			if grew > bound {
				t.Errorf("heap grew by %d KiB, want < %d KiB", grew>>10, bound>>10)
			}
		})
	}
}

// answeredAll reports whether every connection has had an answer (the
// server answers some from the headers and closes them).
func answeredAll(conns []net.Conn) bool {
	buf := make([]byte, 1)
	for _, c := range conns {
		if err := c.SetReadDeadline(time.Now().Add(time.Millisecond)); err != nil {
			return false
		}
		if n, _ := c.Read(buf); n == 0 {
			return false
		}
	}
	return true
}
