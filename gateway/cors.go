package gateway

import (
	"bytes"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/valyala/fasthttp"
)

// CORS for the APIs (/api/v1, /rest, /v4), so browser apps on other
// origins (app.shlink.io, a self-hosted shlink-web-client) can call them
// with an API key header, which makes every call preflighted. Modelled on
// Shlink's CrossDomainMiddleware: headers only when the request has an
// Origin, on every answer (errors too); a preflight is answered 204 before
// any key check or method check, so a preflight is never 401 or 405 (shlink
// issue #614); the requested headers are echoed (shlink #987). Redirects,
// /health, /ready and /metrics are untouched.

// corsMaxAge is how long a browser may cache a preflight, in seconds.
const corsMaxAge = 3600

// maxCORSRequestHeaders bounds the Access-Control-Request-Headers value
// echoed: a longer one (or one with characters no header name has) is
// answered with corsDefaultHeaders instead.
const maxCORSRequestHeaders = 1024

const (
	corsDefaultHeaders = "Authorization, Content-Type, X-Api-Key"
	corsExposeHeaders  = "Location, Retry-After, WWW-Authenticate"
	// corsAnyMethods is Access-Control-Allow-Methods for a path that is no
	// route (Shlink answers unknown routes this way).
	corsAnyMethods = "DELETE, GET, PATCH, POST, PUT"
)

var (
	hdrOrigin          = []byte("Origin")
	hdrACRequestHdrs   = []byte("Access-Control-Request-Headers")
	hdrACRequestMethod = []byte("Access-Control-Request-Method")
	hdrACAllowOrigin   = []byte("Access-Control-Allow-Origin")
	hdrACAllowCreds    = []byte("Access-Control-Allow-Credentials")
	hdrACAllowMethods  = []byte("Access-Control-Allow-Methods")
	hdrACAllowHeaders  = []byte("Access-Control-Allow-Headers")
	hdrACMaxAge        = []byte("Access-Control-Max-Age")
	hdrACExposeHeaders = []byte("Access-Control-Expose-Headers")
	hdrVary            = []byte("Vary")
	hdrAllow           = []byte("Allow")

	restPrefix  = []byte("/rest/")
	restRoot    = []byte("/rest")
	bitlyPrefix = []byte("/v4/")
	bitlyRoot   = []byte("/v4")

	valueStar       = []byte("*")
	valueTrue       = []byte("true")
	valueOrigin     = []byte("Origin")
	valueMaxAge     = []byte(strconv.Itoa(corsMaxAge))
	valueExpose     = []byte(corsExposeHeaders)
	valueDefHeaders = []byte(corsDefaultHeaders)
)

// corsPolicy is the parsed Config.CORSOrigins.
type corsPolicy struct {
	off     bool            // "": no CORS headers at all
	any     bool            // "*"
	origins map[string]bool // an explicit list, echoed
}

// parseCORSOrigins reads "*", "" (CORS off) or a comma-separated list of
// origins such as "https://app.shlink.io,http://localhost:3000".
func parseCORSOrigins(v string) (corsPolicy, error) {
	v = strings.TrimSpace(v)
	switch v {
	case "":
		return corsPolicy{off: true}, nil
	case "*":
		return corsPolicy{any: true}, nil
	}
	p := corsPolicy{origins: map[string]bool{}}
	for _, o := range strings.Split(v, ",") {
		o = strings.TrimSpace(o)
		u, err := url.Parse(o)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Path != "" || u.RawQuery != "" || u.User != nil || u.Fragment != "" {
			return p, fmt.Errorf("CORSOrigins: %q is not an origin such as https://app.example.com (scheme://host[:port], no path), nor \"*\"", o)
		}
		p.origins[strings.ToLower(o)] = true
	}
	return p, nil
}

// corsPath reports whether CORS applies to path: the APIs, not redirects.
func corsPath(path []byte) bool {
	return bytes.HasPrefix(path, apiPrefix) || bytes.Equal(path, apiRoot) ||
		bytes.HasPrefix(path, restPrefix) || bytes.Equal(path, restRoot) || isShlinkPath(path) ||
		bytes.HasPrefix(path, bitlyPrefix) || bytes.Equal(path, bitlyRoot)
}

// cors sets the CORS headers of an API request and answers a preflight
// itself, with 204 and no key check, whether the origin is allowed or not
// (a refused origin gets no Access-Control-Allow-* headers, which the
// browser reads as a refusal); it reports whether it answered. It is the first thing handle does, so error answers carry the
// headers too.
func (s *Server) cors(ctx *fasthttp.RequestCtx, path []byte) bool {
	if !corsPath(path) {
		return false
	}
	h := &ctx.Response.Header
	origin := ctx.Request.Header.PeekBytes(hdrOrigin)
	allowed := false
	switch p := &s.corsPolicy; {
	case p.off:
	case p.any:
		if len(origin) > 0 {
			allowed = true
			h.SetCanonical(hdrACAllowOrigin, valueStar)
		}
	default:
		// The answer depends on Origin: caches must keep one per origin.
		h.AddBytesKV(hdrVary, valueOrigin)
		if len(origin) > 0 && p.origins[strings.ToLower(string(origin))] {
			allowed = true
			h.SetCanonical(hdrACAllowOrigin, origin)
			h.SetCanonical(hdrACAllowCreds, valueTrue)
		}
	}
	if allowed {
		h.SetCanonical(hdrACExposeHeaders, valueExpose)
	}
	// A preflight (Fetch standard): OPTIONS with Origin and
	// Access-Control-Request-Method. Any other OPTIONS goes to the router
	// (401 without a key, 405 with Allow).
	if !ctx.IsOptions() || len(origin) == 0 || len(ctx.Request.Header.PeekBytes(hdrACRequestMethod)) == 0 {
		return false
	}
	methods := s.corsMethods(path)
	h.SetCanonical(hdrAllow, []byte(methods))
	if allowed {
		h.SetCanonical(hdrACAllowMethods, []byte(methods))
		h.SetCanonical(hdrACAllowHeaders, corsAllowHeaders(ctx.Request.Header.PeekBytes(hdrACRequestHdrs)))
		h.SetCanonical(hdrACMaxAge, valueMaxAge)
	}
	ctx.SetStatusCode(http.StatusNoContent)
	return true
}

// corsAllowHeaders is the Access-Control-Allow-Headers of a preflight: the
// requested headers when they look like a list of header names of bounded
// size, else the headers the APIs read.
func corsAllowHeaders(req []byte) []byte {
	if len(req) == 0 || len(req) > maxCORSRequestHeaders {
		return valueDefHeaders
	}
	for _, c := range req {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == ',' || c == ' ') {
			return valueDefHeaders
		}
	}
	return req
}

// corsMethods is the Allow / Access-Control-Allow-Methods of an API path:
// its route's methods, or every method the APIs use for a path that is no
// route (the real request then gets its 404).
func (s *Server) corsMethods(path []byte) string {
	p := string(path)
	switch {
	case strings.HasPrefix(p, string(apiRoot)):
		if r, _ := matchRoute(strings.TrimPrefix(p, string(apiRoot))); r != nil {
			return r.allow
		}
	case strings.HasPrefix(p, string(bitlyRoot)):
		if r, _ := matchIn(bitlyRoutes, strings.TrimPrefix(p, string(bitlyRoot))); r != nil {
			return r.allow
		}
	case isShlinkPath(path):
		p = strings.TrimPrefix(p, "/")
		if !strings.HasPrefix(p, "/") {
			p = "/" + p
		}
		if rest, ok := strings.CutPrefix(p, shlinkV3); ok {
			if r, _ := matchIn(shlinkRoutes, rest); r != nil {
				return r.allow
			}
		}
	}
	return corsAnyMethods
}
