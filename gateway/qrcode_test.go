package gateway

import (
	"bytes"
	"fmt"
	"image/png"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/minibitly/minibitly/internal/nearcache"
	qr "github.com/piglig/go-qr"
)

func TestServer_QRCode(t *testing.T) {
	e := newAPIEnv(t)
	l := e.createLink(map[string]any{"url": "https://example.com/qr", "code": "qr1"})

	t.Run("png decodes to the short URL", func(t *testing.T) {
		r := e.do("GET", "/qr1/qr-code?size=200&margin=10", nil, noAuth()).wantStatus(t, 200)
		if ct := r.header.Get("Content-Type"); ct != "image/png" {
			t.Fatalf("Content-Type %q", ct)
		}
		img, err := png.Decode(bytes.NewReader(r.body))
		if err != nil {
			t.Fatal(err)
		}
		if b := img.Bounds(); b.Dx() != 220 || b.Dy() != 220 {
			t.Fatalf("image is %v, want 220×220 (size 200 + 2 × margin 10)", b)
		}
		got, err := qr.Decode(img)
		if err != nil {
			t.Fatalf("decode: %v", err)
		}
		if got != l.ShortURL || got != testBaseURL+"/qr1" {
			t.Fatalf("QR code says %q, want %q", got, l.ShortURL)
		}
		if len(r.body) > 8<<10 {
			t.Errorf("PNG is %d bytes; a QR code should take a few KB", len(r.body))
		}
	})
	t.Run("svg", func(t *testing.T) {
		r := e.do("GET", "/qr1/qr-code?format=svg", nil, noAuth()).wantStatus(t, 200)
		if ct := r.header.Get("Content-Type"); ct != "image/svg+xml" {
			t.Fatalf("Content-Type %q", ct)
		}
		if s := string(r.body); !strings.Contains(s, `width="300" height="300"`) || !strings.Contains(s, "<path") {
			t.Fatalf("svg: %.300s", s)
		}
	})
	t.Run("the default is a 300 px PNG", func(t *testing.T) {
		r := e.do("GET", "/qr1/qr-code", nil, noAuth()).wantStatus(t, 200)
		img, err := png.Decode(bytes.NewReader(r.body))
		if err != nil {
			t.Fatal(err)
		}
		if img.Bounds().Dx() != 300 {
			t.Fatalf("width %d", img.Bounds().Dx())
		}
	})

	for name, tc := range map[string]struct {
		path, code string
		status     int
	}{
		"unknown code":     {"/nope/qr-code", "not_found", 404},
		"malformed code":   {"/a.b/qr-code", "not_found", 404},
		"size too large":   {"/qr1/qr-code?size=100000", "invalid_size", 400},
		"size too small":   {"/qr1/qr-code?size=10", "invalid_size", 400},
		"size not number":  {"/qr1/qr-code?size=big", "invalid_size", 400},
		"negative margin":  {"/qr1/qr-code?margin=-1", "invalid_margin", 400},
		"margin too large": {"/qr1/qr-code?margin=5000", "invalid_margin", 400},
		"bad format":       {"/qr1/qr-code?format=gif", "invalid_format", 400},
		"bad ecc":          {"/qr1/qr-code?errorCorrection=Z", "invalid_error_correction", 400},
	} {
		t.Run(name, func(t *testing.T) {
			r := e.do("GET", tc.path, nil, noAuth()).wantStatus(t, tc.status)
			if code, _ := r.errCode(t); code != tc.code {
				t.Fatalf("error code %q, want %q", code, tc.code)
			}
		})
	}

	t.Run("deleted link", func(t *testing.T) {
		e.createLink(map[string]any{"url": "https://example.com/gone", "code": "qr2"})
		e.do("DELETE", "/api/v1/links/qr2", nil).wantStatus(t, http.StatusNoContent)
		e.do("GET", "/qr2/qr-code", nil, noAuth()).wantStatus(t, 404)
	})
	t.Run("POST is 405", func(t *testing.T) {
		r := e.do("POST", "/qr1/qr-code", nil, noAuth()).wantStatus(t, 405)
		if r.header.Get("Allow") != "GET, HEAD" {
			t.Fatalf("Allow %q", r.header.Get("Allow"))
		}
	})
}

// TestServer_QRCodeExpired: an expired link has no QR code, as its redirect
// answers 410; a limited one does (the QR code counts no visit).
func TestServer_QRCodeExpired(t *testing.T) {
	s, _, _ := newRedirectServer(t,
		&nearcache.Entry{Code: "old", Location: []byte("https://example.com/o"), Status: 302, ExpiresAt: time.Now().Unix() - 10},
		&nearcache.Entry{Code: "lim", Location: []byte("https://example.com/l"), Status: 302, Limited: true})
	if ctx := get(s, "/old/qr-code"); ctx.Response.StatusCode() != http.StatusGone {
		t.Fatalf("expired: %d %s", ctx.Response.StatusCode(), ctx.Response.Body())
	}
	if ctx := get(s, "/lim/qr-code?format=svg"); ctx.Response.StatusCode() != 200 ||
		!strings.Contains(string(ctx.Response.Body()), "<svg") {
		t.Fatalf("limited: %d %s", ctx.Response.StatusCode(), ctx.Response.Body())
	}
}

// TestQRImage_LargestFitsInFewKB: the biggest image anyone may ask for is
// still a small PNG.
func TestQRImage_LargestFitsInFewKB(t *testing.T) {
	q, err := qr.EncodeText("https://sho.rt/"+strings.Repeat("x", 64), qr.High)
	if err != nil {
		t.Fatal(err)
	}
	m := newQRImage(q, qrMaxSize, qrMaxMargin)
	b := m.appendPNG(nil)
	if m.side > qrMaxSize+2*qrMaxMargin || len(b) > 32<<10 {
		t.Fatalf("side %d px, %d bytes", m.side, len(b))
	}
	img, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	if got, err := qr.Decode(img); err != nil || got != "https://sho.rt/"+strings.Repeat("x", 64) {
		t.Fatalf("decoded %q, %v", got, err)
	}
}

func BenchmarkQRCode_PNG(b *testing.B) {
	q, err := qr.EncodeText("https://sho.rt/Xa91kQz", qr.Low)
	if err != nil {
		b.Fatal(err)
	}
	for _, size := range []int{qrDefaultSize, qrMaxSize} {
		b.Run(fmt.Sprintf("size=%d", size), func(b *testing.B) {
			b.ReportAllocs()
			var buf []byte
			for i := 0; i < b.N; i++ {
				buf = newQRImage(q, size, qrMaxMargin).appendPNG(buf[:0])
			}
			b.ReportMetric(float64(len(buf)), "bytes/png")
		})
	}
}
