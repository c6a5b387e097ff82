package main

import (
	"net"
	"testing"

	"github.com/valyala/fasthttp"
	"github.com/valyala/fasthttp/fasthttputil"
)

func TestHandler(t *testing.T) {
	links, err := loadLinks("", 3, "https://example.com/")
	if err != nil {
		t.Fatal(err)
	}
	ln := fasthttputil.NewInmemoryListener()
	defer ln.Close()
	go fasthttp.Serve(ln, handler(links)) //nolint:errcheck // ends when ln closes
	c := &fasthttp.Client{Dial: func(string) (net.Conn, error) { return ln.Dial() }}

	tests := map[string]struct {
		path     string
		status   int
		location string
	}{
		"hit":     {"/c0000002", 302, "https://example.com/c0000002"},
		"miss":    {"/c0000004", 404, ""},
		"root":    {"/", 404, ""},
		"unknown": {"/nope", 404, ""},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
			defer fasthttp.ReleaseRequest(req)
			defer fasthttp.ReleaseResponse(resp)
			req.SetRequestURI("http://bench" + tc.path)
			if err := c.Do(req, resp); err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode() != tc.status {
				t.Fatalf("status %d, want %d", resp.StatusCode(), tc.status)
			}
			if got := string(resp.Header.Peek("Location")); got != tc.location {
				t.Fatalf("Location %q, want %q", got, tc.location)
			}
			if tc.status == 302 {
				if got := string(resp.Header.Peek("Cache-Control")); got != "private, max-age=0" {
					t.Fatalf("Cache-Control %q", got)
				}
			}
		})
	}
}
