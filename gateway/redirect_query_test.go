package gateway

import (
	"bytes"
	"strings"
	"testing"

	"github.com/minibitly/minibitly/internal/nearcache"
	"github.com/minibitly/minibitly/internal/urlcheck"
	"github.com/valyala/fasthttp"
)

// TestServer_RedirectForwardQuery: the visitor's query goes before the
// long URL's fragment, and only URL bytes reach the Location header.
func TestServer_RedirectForwardQuery(t *testing.T) {
	cases := map[string]struct{ location, uri, want string }{
		"no query":        {"https://example.com/p", "/c?x=1", "https://example.com/p?x=1"},
		"own query":       {"https://example.com/p?a=1", "/c?x=1", "https://example.com/p?a=1&x=1"},
		"fragment":        {"https://example.com/p#frag", "/c?x=1", "https://example.com/p?x=1#frag"},
		"query fragment":  {"https://example.com/p?a=1#frag", "/c?x=1&y=2", "https://example.com/p?a=1&x=1&y=2#frag"},
		"? in fragment":   {"https://example.com/p#a?b", "/c?x=1", "https://example.com/p?x=1#a?b"},
		"empty own query": {"https://example.com/p?#f", "/c?x=1", "https://example.com/p?x=1#f"},
		"trailing &":      {"https://example.com/p?a=1&", "/c?x=1", "https://example.com/p?a=1&x=1"},
		"no path":         {"https://example.com#f", "/c?x=1", "https://example.com?x=1#f"},
		"visitor hash":    {"https://example.com/p", "/c?x=1#v", "https://example.com/p?x=1"},
		"escapes kept":    {"https://example.com/p", "/c?q=a%20b%2F", "https://example.com/p?q=a%20b%2F"},
		"bad escape":      {"https://example.com/p", "/c?q=100%&r=%zz", "https://example.com/p?q=100%25&r=%25zz"},
		"no query given":  {"https://example.com/p#f", "/c", "https://example.com/p#f"},
		"empty query":     {"https://example.com/p#f", "/c?", "https://example.com/p#f"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			s, _, _ := newRedirectServer(t, &nearcache.Entry{Code: "c", Location: []byte(c.location), Status: 302, ForwardQuery: true})
			ctx := get(s, c.uri)
			if loc := string(ctx.Response.Header.Peek("Location")); loc != c.want {
				t.Fatalf("Location %q, want %q", loc, c.want)
			}
		})
	}
	// Bytes no URL carries raw, sent by a client that does not encode them
	// (fasthttp refuses controls in the request line).
	e := &nearcache.Entry{Code: "c", Location: []byte("https://example.com/p#f"), Status: 302, ForwardQuery: true}
	s, _, _ := newRedirectServer(t, e)
	var ctx fasthttp.RequestCtx
	ctx.Request.Header.SetRequestURIBytes([]byte("/c?a=\"<x>\"&b=\xd0\xb5&c={|}^`\\&d=a b"))
	s.writeRedirect(&ctx, e)
	const want = "https://example.com/p?a=%22%3Cx%3E%22&b=%D0%B5&c=%7B%7C%7D%5E%60%5C&d=a%20b#f"
	if loc := string(ctx.Response.Header.Peek("Location")); loc != want {
		t.Fatalf("Location %q, want %q", loc, want)
	}
}

// TestServer_ForwardQueryAllocatesNothing: forwarding a query with a
// fragment and bytes to encode stays at zero allocations.
func TestServer_ForwardQueryAllocatesNothing(t *testing.T) {
	e := &nearcache.Entry{Code: "fwd", Location: []byte("https://example.com/f?a=1#top"), Status: 302, ForwardQuery: true}
	s, _, _ := newRedirectServer(t, e)
	var ctx fasthttp.RequestCtx
	ctx.Request.Header.SetRequestURIBytes([]byte("/fwd?utm_source=x&q=a b<c>\xd0\xb5"))
	s.writeRedirect(&ctx, e)
	if n := testing.AllocsPerRun(1000, func() {
		ctx.Response.Reset()
		s.writeRedirect(&ctx, e)
	}); n != 0 {
		t.Fatalf("writeRedirect allocates %v times", n)
	}
}

// FuzzServer_WriteRedirect: for any long URL the API accepts and any query
// a visitor sends, the Location header has no CR, LF or other byte outside
// URLs, and is the stored URL with the visitor's query (percent-decoded,
// the same) inserted before the fragment. Seeds:
// testdata/fuzz/FuzzServer_WriteRedirect.
func FuzzServer_WriteRedirect(f *testing.F) {
	f.Add("https://example.com/p#frag", "x=1")
	f.Add("https://example.com/p?a=1", "x=%0d%0aSet-Cookie:%20a")
	f.Add("https://example.com/p?", "a=\r\nb")
	s, _, _ := newRedirectServer(f)
	f.Fuzz(func(t *testing.T, long, query string) {
		stored, err := urlcheck.Canonical(long, urlcheck.Policy{})
		if err != nil {
			return
		}
		e := &nearcache.Entry{Code: "c", Location: []byte(stored), Status: 302, ForwardQuery: true}
		var ctx fasthttp.RequestCtx
		ctx.Request.Header.SetRequestURIBytes(append([]byte("/c?"), query...))
		q := string(ctx.URI().QueryString())
		s.writeRedirect(&ctx, e)
		loc := string(ctx.Response.Header.Peek("Location"))
		for i := 0; i < len(loc); i++ {
			if loc[i] <= ' ' || loc[i] >= 0x7f {
				t.Fatalf("Location %q has byte 0x%02x", loc, loc[i])
			}
		}
		if q == "" {
			if loc != stored {
				t.Fatalf("Location %q, want the stored %q", loc, stored)
			}
			return
		}
		base, frag, hasFrag := strings.Cut(stored, "#")
		if hasFrag {
			frag = "#" + frag
		}
		if !strings.HasPrefix(loc, base) || !strings.HasSuffix(loc, frag) || len(loc) < len(base)+len(frag) {
			t.Fatalf("Location %q is not %q + query + %q", loc, base, frag)
		}
		mid := loc[len(base) : len(loc)-len(frag)]
		if !strings.HasSuffix(base, "?") && !strings.HasSuffix(base, "&") {
			want := "?"
			if strings.Contains(base, "?") {
				want = "&"
			}
			if !strings.HasPrefix(mid, want) {
				t.Fatalf("Location %q: query %q not after %q", loc, mid, want)
			}
			mid = mid[1:]
		}
		if strings.Contains(mid, "#") || !bytes.Equal(lenientUnescape(mid), lenientUnescape(q)) {
			t.Fatalf("Location %q forwards %q, the visitor sent %q", loc, mid, q)
		}
	})
}

// lenientUnescape decodes %XX escapes and keeps any other '%'.
func lenientUnescape(s string) []byte {
	var b []byte
	for i := 0; i < len(s); i++ {
		if s[i] == '%' && i+2 < len(s) && isHex(s[i+1]) && isHex(s[i+2]) {
			b = append(b, byte(unhexByte(s[i+1])<<4|unhexByte(s[i+2])))
			i += 2
			continue
		}
		b = append(b, s[i])
	}
	return b
}

func unhexByte(c byte) byte {
	switch {
	case c >= 'a':
		return c - 'a' + 10
	case c >= 'A':
		return c - 'A' + 10
	}
	return c - '0'
}
