package gateway

import (
	"bytes"
	"compress/gzip"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/minibitly/minibitly/internal/webui"
)

func TestServer_WebUI(t *testing.T) {
	e := newAPIEnv(t)
	files, err := loadUI(webui.Assets())
	if err != nil {
		t.Fatal(err)
	}
	var js, css string
	for p := range files {
		switch {
		case strings.HasPrefix(p, "assets/") && strings.HasSuffix(p, ".js"):
			js = "/ui/" + p
		case strings.HasPrefix(p, "assets/") && strings.HasSuffix(p, ".css"):
			css = "/ui/" + p
		}
	}
	if js == "" || css == "" {
		t.Fatalf("the embedded build has no hashed JS or CSS: %v (run make ui)", files)
	}

	t.Run("root redirects to the UI", func(t *testing.T) {
		r := e.do("GET", "/", nil, noAuth()).wantStatus(t, http.StatusFound)
		if loc := r.header.Get("Location"); !strings.HasSuffix(loc, "/ui/") {
			t.Fatalf("Location %q", loc)
		}
		r = e.do("GET", "/ui", nil, noAuth()).wantStatus(t, http.StatusMovedPermanently)
		if loc := r.header.Get("Location"); !strings.HasSuffix(loc, "/ui/") {
			t.Fatalf("Location %q", loc)
		}
	})
	for name, path := range map[string]string{
		"index":         "/ui/",
		"client route":  "/ui/links/abc/edit",
		"index.html":    "/ui/index.html",
		"another route": "/ui/new?x=1",
	} {
		t.Run(name+" is index.html", func(t *testing.T) {
			r := e.do("GET", path, nil, noAuth()).wantStatus(t, 200)
			if ct := r.header.Get("Content-Type"); ct != "text/html; charset=utf-8" {
				t.Fatalf("Content-Type %q", ct)
			}
			if cc := r.header.Get("Cache-Control"); cc != "no-cache" {
				t.Fatalf("Cache-Control %q", cc)
			}
			if csp := r.header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'none'") {
				t.Fatalf("CSP %q", csp)
			}
			if !bytes.Contains(r.body, []byte(js)) || !bytes.Contains(r.body, []byte(css)) {
				t.Fatalf("index.html does not name %s and %s: %s", js, css, r.body)
			}
		})
	}
	t.Run("hashed assets are immutable", func(t *testing.T) {
		for path, want := range map[string]string{js: "text/javascript; charset=utf-8", css: "text/css; charset=utf-8"} {
			r := e.do("GET", path, nil, noAuth()).wantStatus(t, 200)
			if ct := r.header.Get("Content-Type"); ct != want {
				t.Errorf("%s: Content-Type %q, want %q", path, ct, want)
			}
			if cc := r.header.Get("Cache-Control"); cc != uiImmutable {
				t.Errorf("%s: Cache-Control %q", path, cc)
			}
			r = e.do("GET", path, nil, noAuth(), withHeader("If-None-Match", r.header.Get("ETag"))).wantStatus(t, http.StatusNotModified)
		}
	})
	t.Run("gzip when accepted", func(t *testing.T) {
		req, _ := http.NewRequest("GET", e.base+js, nil)
		req.Header.Set("Accept-Encoding", "gzip")
		resp, err := e.client.Transport.RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if resp.Header.Get("Content-Encoding") != "gzip" {
			t.Fatalf("Content-Encoding %q", resp.Header.Get("Content-Encoding"))
		}
		zr, err := gzip.NewReader(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(zr)
		if err != nil || !bytes.Equal(b, files[strings.TrimPrefix(js, "/ui/")].body) {
			t.Fatalf("gunzipped body differs (%v)", err)
		}
	})
	t.Run("a missing asset is 404 JSON", func(t *testing.T) {
		r := e.do("GET", "/ui/assets/nope-123.js", nil, noAuth())
		r.wantError(t, 404, "not_found", "no such file")
	})
	t.Run("POST is 405", func(t *testing.T) {
		e.do("POST", "/ui/", nil, noAuth()).wantStatus(t, http.StatusMethodNotAllowed)
	})
	t.Run("a code that starts with ui still redirects", func(t *testing.T) {
		e.createLink(map[string]any{"url": "https://example.com/u", "code": "uix"})
		e.do("GET", "/uix", nil, noAuth()).wantStatus(t, http.StatusFound)
	})
}
