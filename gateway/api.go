package gateway

import (
	"context"
	"mime"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/valyala/fasthttp"
)

// apiTimeout bounds the store and actor calls of one API request.
const apiTimeout = 10 * time.Second

// apiHandler serves one route and method; code is the {code} path segment
// ("" for routes without one). A returned error is written by serveAPI.
type apiHandler func(s *Server, c context.Context, ctx *fasthttp.RequestCtx, code string) error

// apiRoute is one path of the API with its methods. Pattern is written as
// in the OpenAPI document, relative to /api/v1; "{code}" matches one
// non-empty path segment, or with tail set (the last segment must then be
// {code}) the rest of the path, empty or with slashes, for the handler to
// refuse.
type apiRoute struct {
	pattern  string
	tail     bool
	scopes   routeScopes // the scope each method needs (auth.go); required
	segments []string
	methods  map[string]apiHandler
	allow    string // the Allow header of a 405
}

// apiRoutes is the routing table of /api/v1, in match order (literal
// segments before {code}). The OpenAPI test checks it against the document.
var apiRoutes = newRoutes([]apiRoute{
	{pattern: "/links", scopes: linksRW, methods: map[string]apiHandler{
		http.MethodGet:  (*Server).listLinks,
		http.MethodPost: (*Server).createLink,
	}},
	{pattern: "/links/bulk", scopes: linksW, methods: map[string]apiHandler{
		http.MethodPost: (*Server).createLinksBulk,
	}},
	{pattern: "/links/{code}", scopes: linksRW, methods: map[string]apiHandler{
		http.MethodGet:    (*Server).getLink,
		http.MethodPatch:  (*Server).patchLink,
		http.MethodDelete: (*Server).deleteLink,
	}},
	{pattern: "/links/{code}/stats", scopes: statsR, methods: map[string]apiHandler{
		http.MethodGet: (*Server).linkStats,
	}},
	{pattern: "/links/{code}/visits", scopes: linksW, methods: map[string]apiHandler{
		http.MethodDelete: (*Server).deleteLinkVisits,
	}},
	{pattern: "/openapi.json", scopes: anyScope, methods: map[string]apiHandler{
		http.MethodGet: (*Server).serveOpenAPI,
	}},
	{pattern: "/key", scopes: anyScope, methods: map[string]apiHandler{http.MethodGet: (*Server).currentKey}},
	{pattern: "/keys", scopes: adminOnly, methods: map[string]apiHandler{
		http.MethodGet:  (*Server).listKeys,
		http.MethodPost: (*Server).createKey,
	}},
	{pattern: "/keys/{code}", scopes: adminOnly, methods: map[string]apiHandler{
		http.MethodDelete: (*Server).revokeKey,
	}},
	{pattern: "/cluster", scopes: adminOnly, methods: map[string]apiHandler{
		http.MethodGet: (*Server).clusterView,
	}},
	{pattern: "/cluster/owner/{code}", tail: true, scopes: adminOnly, methods: map[string]apiHandler{
		http.MethodGet: (*Server).clusterOwner,
	}},
})

func newRoutes(rs []apiRoute) []apiRoute {
	for i := range rs {
		r := &rs[i]
		if r.scopes == nil {
			panic("route " + r.pattern + " declares no scopes")
		}
		r.segments = strings.Split(strings.TrimPrefix(r.pattern, "/"), "/")
		ms := make([]string, 0, len(r.methods))
		for m := range r.methods {
			ms = append(ms, m)
		}
		sort.Strings(ms)
		r.allow = strings.Join(ms, ", ")
	}
	return rs
}

// matchRoute finds the route of rest (the path after /api/v1) and the value
// of its {code} segment.
func matchRoute(rest string) (*apiRoute, string) { return matchIn(apiRoutes, rest) }

// matchIn finds the route of rest in routes (the /api/v1 table, the /v4 one
// or the Shlink one of /rest/v3), and the value of its placeholder segments
// ("{code}", "{domain}"), joined by "/" when there are several.
func matchIn(routes []apiRoute, rest string) (*apiRoute, string) {
	if !strings.HasPrefix(rest, "/") {
		return nil, ""
	}
	segs := strings.Split(rest[1:], "/")
next:
	for i := range routes {
		r := &routes[i]
		last := len(r.segments) - 1
		if len(segs) != len(r.segments) && !(r.tail && len(segs) > len(r.segments)) {
			continue
		}
		code := ""
		for j, p := range r.segments {
			switch {
			case r.tail && j == last:
				code = strings.Join(segs[j:], "/")
			case strings.HasPrefix(p, "{") && segs[j] != "":
				if code != "" {
					code += "/"
				}
				code += segs[j]
			case p != segs[j]:
				continue next
			}
		}
		return r, code
	}
	return nil, ""
}

// serveAPI answers everything under /api/v1: every route needs an API key,
// including the OpenAPI document and the cluster routes.
func (s *Server) serveAPI(ctx *fasthttp.RequestCtx) {
	c, cancel := context.WithTimeout(context.Background(), apiTimeout)
	defer cancel()
	if err := s.routeAPI(c, ctx); err != nil {
		s.writeError(ctx, err)
	}
	s.m.api.WithLabelValues(strconv.Itoa(ctx.Response.StatusCode())).Inc()
}

func (s *Server) routeAPI(c context.Context, ctx *fasthttp.RequestCtx) error {
	k, err := s.authenticate(c, ctx)
	if err != nil {
		return err
	}
	path := string(ctx.Path())
	r, code := matchRoute(strings.TrimPrefix(path, string(apiRoot)))
	if r == nil {
		return errNoRoute(path)
	}
	h, err := r.handler(ctx, "/api/v1", false)
	if err != nil {
		return err
	}
	if err := r.authorize(k, ctx, "/api/v1"); err != nil {
		return err
	}
	c = withKey(c, k)
	if err := s.loadBody(ctx); err != nil { // authenticated: preauth.go
		return err
	}
	return h(s, c, ctx, code)
}

// handler is r's handler of the request's method (with headAsGet, a HEAD
// is answered by the GET handler), or a 405 with Allow naming the route
// under prefix. Every API's router calls it.
func (r *apiRoute) handler(ctx *fasthttp.RequestCtx, prefix string, headAsGet bool) (apiHandler, error) {
	method := string(ctx.Method())
	h, ok := r.methods[method]
	if !ok && headAsGet && method == http.MethodHead {
		h, ok = r.methods[http.MethodGet]
	}
	if !ok {
		ctx.Response.Header.Set("Allow", r.allow)
		return nil, errorf(http.StatusMethodNotAllowed, "method_not_allowed",
			"method "+method+" is not allowed on "+prefix+r.pattern+"; allowed: "+r.allow)
	}
	return h, nil
}

// errNoRoute is the 404 of a path under /api/v1 that is no route.
func errNoRoute(path string) *Error {
	return errorf(http.StatusNotFound, "not_found", "no such route: "+path)
}

// jsonBody returns the request body after checking its media type: a
// Content-Type, when present, must be application/json (or another +json
// type) in UTF-8; a missing Content-Type is taken as JSON. Compressed
// bodies are refused.
func jsonBody(ctx *fasthttp.RequestCtx) ([]byte, error) {
	if ce := strings.TrimSpace(string(ctx.Request.Header.ContentEncoding())); ce != "" && !strings.EqualFold(ce, "identity") {
		return nil, errorf(http.StatusUnsupportedMediaType, "unsupported_media_type",
			"Content-Encoding "+strconv.Quote(ce)+" is not supported; send the JSON body uncompressed")
	}
	if ct := ctx.Request.Header.ContentType(); len(ct) > 0 {
		mt, params, err := mime.ParseMediaType(string(ct))
		if err != nil || (mt != "application/json" && !(strings.HasPrefix(mt, "application/") && strings.HasSuffix(mt, "+json"))) {
			return nil, errorf(http.StatusUnsupportedMediaType, "unsupported_media_type",
				"Content-Type "+strconv.Quote(string(ct))+" is not supported; send application/json")
		}
		if cs, ok := params["charset"]; ok && !strings.EqualFold(cs, "utf-8") {
			return nil, errorf(http.StatusUnsupportedMediaType, "unsupported_media_type",
				"charset "+strconv.Quote(cs)+" is not supported; send UTF-8")
		}
	}
	return ctx.PostBody(), nil
}
