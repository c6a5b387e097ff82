package gateway

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/minibitly/minibitly/storage"
	"github.com/valyala/fasthttp"
)

// The Shlink REST API v3 (https://shlink.io/documentation/api-docs/) under
// /rest/v3, for Shlink's clients (the JS SDK, shlink-web-client,
// app.shlink.io): the same links, visits and API keys as /api/v1, with
// Shlink's paths, JSON shapes and RFC 7807 problems. Requests are
// validated by the /api/v1 rules (linkFields, newLink, …) and errors are
// mapped by toAPIError, then rendered by writeProblem: one mapping, two
// renderings.

// shlinkVersion is the Shlink version /rest/v3/health reports.
// shlink-web-client turns it into a semver and enables its features by it
// (src/utils/features.ts: excluded-tags filter and visits-by-domain ≥4.6,
// advanced redirect conditions ≥4.5, …; a non-semver version is read as
// 1.0.0, which disables them). 4.6.0 is the API level implemented here.
const shlinkVersion = "4.6.0"

// shlinkProblemBase prefixes every problem type, as in Shlink.
const shlinkProblemBase = "https://shlink.io/api/error/"

var (
	shlinkPrefix   = []byte("/rest/")
	shlinkV3       = "/rest/v3"
	shlinkHealth   = "/rest/health"
	hdrProblemJSON = "application/problem+json"
)

// isShlinkPath reports whether path belongs to the Shlink API ("/rest/…",
// also with the double slash of a base URL entered with a trailing slash).
func isShlinkPath(path []byte) bool {
	return bytes.HasPrefix(path, shlinkPrefix) || (len(path) > 1 && path[0] == '/' && bytes.HasPrefix(path[1:], shlinkPrefix))
}

// shlinkRoutes is the routing table of /rest/v3, in match order; "{code}"
// is the short code or the tag.
var shlinkRoutes = newRoutes([]apiRoute{
	{pattern: "/health", scopes: anyScope, methods: map[string]apiHandler{http.MethodGet: (*Server).shlinkHealthCheck}},
	{pattern: "/mercure-info", scopes: linksR, methods: map[string]apiHandler{http.MethodGet: (*Server).shlinkMercureInfo}},
	{pattern: "/short-urls", scopes: linksRW, methods: map[string]apiHandler{
		http.MethodGet:  (*Server).shlinkListShortURLs,
		http.MethodPost: (*Server).shlinkCreateShortURL,
	}},
	{pattern: "/short-urls/shorten", scopes: linksW, methods: map[string]apiHandler{http.MethodGet: (*Server).shlinkShorten}},
	{pattern: "/short-urls/{code}", scopes: linksRW, methods: map[string]apiHandler{
		http.MethodGet:    (*Server).shlinkGetShortURL,
		http.MethodPatch:  (*Server).shlinkEditShortURL,
		http.MethodDelete: (*Server).shlinkDeleteShortURL,
	}},
	{pattern: "/short-urls/{code}/visits", scopes: statsRVisitsW, methods: map[string]apiHandler{
		http.MethodGet:    (*Server).shlinkShortURLVisits,
		http.MethodDelete: (*Server).shlinkDeleteVisits,
	}},
	{pattern: "/short-urls/{code}/redirect-rules", scopes: linksRW, methods: map[string]apiHandler{
		http.MethodGet:   (*Server).shlinkGetRedirectRules,
		http.MethodPost:  (*Server).shlinkSetRedirectRules,
		http.MethodPatch: (*Server).shlinkSetRedirectRules,
	}},
	{pattern: "/visits", scopes: statsR, methods: map[string]apiHandler{http.MethodGet: (*Server).shlinkVisitsOverview}},
	{pattern: "/tags", scopes: linksRW, methods: map[string]apiHandler{
		http.MethodGet:    (*Server).shlinkListTags,
		http.MethodPut:    (*Server).shlinkRenameTag,
		http.MethodDelete: (*Server).shlinkDeleteTags,
	}},
	{pattern: "/tags/{code}/visits", scopes: statsR, methods: map[string]apiHandler{http.MethodGet: (*Server).shlinkTagVisits}},
	{pattern: "/domains/{code}/visits", scopes: statsR, methods: map[string]apiHandler{http.MethodGet: (*Server).shlinkDomainVisits}},
	{pattern: "/visits/non-orphan", scopes: statsR, methods: map[string]apiHandler{http.MethodGet: (*Server).shlinkNonOrphanVisits}},
	{pattern: "/visits/orphan", scopes: statsRVisitsW, methods: map[string]apiHandler{
		http.MethodGet:    (*Server).shlinkOrphanVisits,
		http.MethodDelete: (*Server).shlinkDeleteOrphanVisits,
	}},
	{pattern: "/tags/stats", scopes: statsR, methods: map[string]apiHandler{http.MethodGet: (*Server).shlinkTagsStats}},
	{pattern: "/domains", scopes: linksR, methods: map[string]apiHandler{http.MethodGet: (*Server).shlinkListDomains}},
	{pattern: "/domains/redirects", scopes: adminOnly, methods: map[string]apiHandler{http.MethodPatch: (*Server).shlinkEditDomainRedirects}},
})

// serveShlink answers everything under /rest/.
func (s *Server) serveShlink(ctx *fasthttp.RequestCtx) {
	c, cancel := context.WithTimeout(context.Background(), apiTimeout)
	defer cancel()
	code, err := s.routeShlink(c, ctx)
	if err != nil {
		s.writeProblem(ctx, err, code)
	}
	s.m.api.WithLabelValues(strconv.Itoa(ctx.Response.StatusCode())).Inc()
}

func (s *Server) routeShlink(c context.Context, ctx *fasthttp.RequestCtx) (string, error) {
	path := string(ctx.Path())
	if strings.HasPrefix(path, "//") {
		path = path[1:]
	}
	var rest string
	switch {
	case path == shlinkHealth:
		rest = "/health"
	case strings.HasPrefix(path, shlinkV3+"/"):
		rest = path[len(shlinkV3):]
	default:
		return "", errorf(http.StatusNotFound, "not_found", "no such route: "+path+" (the Shlink API is under /rest/v3)")
	}
	r, code := matchIn(shlinkRoutes, rest)
	if r == nil {
		return "", errorf(http.StatusNotFound, "not_found", "no such route: "+path)
	}
	h, err := r.handler(ctx, "/rest/v3", true)
	if err != nil {
		return "", err
	}
	var k storage.APIKey
	switch key := ctx.QueryArgs().Peek("apiKey"); {
	case r.pattern == "/health":
		return code, h(s, c, ctx, code)
	case r.pattern == "/short-urls/shorten" && len(key) > 0: // Shlink's one query-string key
		if k, err = s.checkKey(c, ctx, key); err != nil {
			return "", err
		}
	default:
		if k, err = s.shlinkAuthenticate(c, ctx); err != nil {
			return "", err
		}
	}
	if err := r.authorize(k, ctx, "/rest/v3"); err != nil {
		return "", err
	}
	c = withKey(c, k)
	if err := s.loadBody(ctx); err != nil { // authenticated (or /health, a GET): preauth.go
		return "", err
	}
	return code, h(s, c, ctx, code)
}

// shlinkAuthenticate checks the X-Api-Key header as /api/v1 does (which
// also takes "Authorization: Bearer"); no key at all is Shlink's
// missing-authentication problem.
func (s *Server) shlinkAuthenticate(c context.Context, ctx *fasthttp.RequestCtx) (storage.APIKey, error) {
	h := &ctx.Request.Header
	if len(bytes.TrimSpace(h.PeekBytes(hdrXAPIKey))) == 0 && len(bytes.TrimSpace(h.PeekBytes(hdrAuthorization))) == 0 {
		return storage.APIKey{}, errorf(http.StatusUnauthorized, "missing_authentication", "Expected one of the following authentication headers, [\"X-Api-Key\"], but none were provided")
	}
	return s.authenticate(c, ctx)
}

// shlinkProblem is an RFC 7807 problem as Shlink writes it.
type shlinkProblem struct {
	Type            string   `json:"type"`
	Title           string   `json:"title"`
	Detail          string   `json:"detail"`
	Status          int      `json:"status"`
	InvalidElements []string `json:"invalidElements,omitempty"`
	CustomSlug      string   `json:"customSlug,omitempty"`
	ShortCode       string   `json:"shortCode,omitempty"`
	ExpectedHeaders []string `json:"expectedHeaders,omitempty"`
}

// shlinkTitles are the titles of Shlink's problem types.
var shlinkTitles = map[string]string{
	"invalid-data":           "Invalid data",
	"non-unique-slug":        "Invalid custom slug",
	"short-url-not-found":    "Short URL not found",
	"missing-authentication": "Invalid authorization",
	"invalid-api-key":        "Invalid API key",
	"mercure-not-configured": "Mercure integration not configured",
	"malformed-request-body": "Malformed request body",
	"not-found":              "Not found",
	"tag-not-found":          "Tag not found",
	"tag-conflict":           "Tag conflict",
	"domain-not-found":       "Domain not found",
	"forbidden":              "Forbidden",
}

// shlinkFieldNames maps /api/v1 field names (in the codes of field errors,
// "invalid_<field>") to the Shlink fields they come from.
var shlinkFieldNames = map[string]string{
	"url": "longUrl", "code": "customSlug", "expires_at": "validUntil", "max_visits": "maxVisits",
	"title": "title", "tags": "tags", "forward_query": "forwardQuery",
}

// toShlinkProblem renders an error mapped by toAPIError as Shlink's
// problem. code is the route's short code ("" when it has none). Shlink
// answers invalid data and a taken slug with 400 (where /api/v1 says 422
// and 409); its statuses win here.
func toShlinkProblem(ae *Error, code string) shlinkProblem {
	p := shlinkProblem{Status: ae.Status, Detail: ae.Message}
	kind := strings.ReplaceAll(ae.Code, "_", "-")
	switch {
	case ae.Code == "unauthorized":
		kind = "invalid-api-key"
	case ae.Code == "missing_authentication":
		p.ExpectedHeaders = []string{"X-Api-Key"}
	case ae.Code == "not_found" && code != "":
		kind, p.ShortCode = "short-url-not-found", code
		p.Detail = fmt.Sprintf("No URL found with short code %q", code)
	case ae.Code == "code_taken":
		kind, p.Status, p.CustomSlug = "non-unique-slug", http.StatusBadRequest, code
	case ae.Code == "malformed_body":
		kind = "malformed-request-body"
	case strings.HasPrefix(ae.Code, "invalid_") && (ae.Status == http.StatusBadRequest || ae.Status == http.StatusUnprocessableEntity):
		field := strings.TrimPrefix(ae.Code, "invalid_")
		if f, ok := shlinkFieldNames[field]; ok {
			p.Detail = strings.Replace(p.Detail, strconv.Quote(field), strconv.Quote(f), 1)
			field = f
		}
		kind, p.Status, p.InvalidElements = "invalid-data", http.StatusBadRequest, []string{field}
	}
	p.Type = shlinkProblemBase + kind
	p.Title = shlinkTitles[kind]
	if p.Title == "" {
		p.Title = http.StatusText(p.Status)
	}
	return p
}

// writeProblem answers err as a Shlink problem; code as in toShlinkProblem.
func (s *Server) writeProblem(ctx *fasthttp.RequestCtx, err error, code string) {
	ae := toAPIError(err)
	if ae.Status >= 500 && ae.Code == "internal" {
		s.log.Error("request failed", "method", string(ctx.Method()), "path", string(ctx.Path()), "err", err)
	}
	if ae.Status == http.StatusServiceUnavailable {
		ctx.Response.Header.Set("Retry-After", "1")
	}
	var se *slugError
	if errors.As(err, &se) {
		code = se.slug
	}
	p := toShlinkProblem(ae, code)
	s.writeJSON(ctx, p.Status, &p)
	ctx.SetContentType(hdrProblemJSON)
}

// shlinkInvalid is an invalid-data error naming the Shlink field.
func shlinkInvalid(field, format string, args ...any) *Error {
	return fieldError(http.StatusBadRequest, field, format, args...)
}

type shlinkHealthOut struct {
	Status  string            `json:"status"`
	Version string            `json:"version"`
	Links   map[string]string `json:"links"`
}

// shlinkHealthCheck is Shlink's health: pass when every store answers.
func (s *Server) shlinkHealthCheck(c context.Context, ctx *fasthttp.RequestCtx, _ string) error {
	out := shlinkHealthOut{Status: "pass", Version: shlinkVersion, Links: map[string]string{
		"about":   "https://github.com/minibitly/minibitly",
		"project": "https://github.com/minibitly/minibitly",
	}}
	status := http.StatusOK
	if !s.healthy(c) {
		out.Status, status = "fail", http.StatusServiceUnavailable
	}
	s.writeJSON(ctx, status, &out)
	ctx.SetContentType("application/health+json")
	return nil
}

func (s *Server) shlinkMercureInfo(context.Context, *fasthttp.RequestCtx, string) error {
	return errorf(http.StatusNotImplemented, "mercure_not_configured", "This Shlink instance is not integrated with a mercure hub.")
}

// shlinkDomain is the default domain: the authority of --base-url.
func (s *Server) shlinkDomain() string {
	if u, err := url.Parse(s.cfg.BaseURL); err == nil && u.Host != "" {
		return u.Host
	}
	return "localhost"
}

// shlinkDefaultDomain reports whether a ?domain= (or body domain) names
// the default domain: absent, "DEFAULT" or the base URL's authority.
func (s *Server) shlinkDefaultDomain(d string) bool {
	return d == "" || d == "DEFAULT" || strings.EqualFold(d, s.shlinkDomain())
}

// shlinkBody parses a JSON object body leniently, as Shlink does: unknown
// keys are ignored, the Content-Type is not looked at.
func shlinkBody(ctx *fasthttp.RequestCtx) (map[string]json.RawMessage, error) {
	body := bytes.TrimSpace(ctx.PostBody())
	m := map[string]json.RawMessage{}
	if len(body) == 0 {
		return m, nil
	}
	if err := json.Unmarshal(body, &m); err != nil || m == nil {
		return nil, errorf(http.StatusBadRequest, "malformed_body", "the request body is not a JSON object")
	}
	return m, nil
}

// shlinkField decodes body[key] into a nullable, naming the field in a
// type error.
func shlinkField[T any](body map[string]json.RawMessage, key, want string) (nullable[T], error) {
	var n nullable[T]
	v, ok := body[key]
	if !ok {
		return n, nil
	}
	n.Set = true
	if bytes.Equal(bytes.TrimSpace(v), []byte("null")) {
		n.Null = true
		return n, nil
	}
	if err := json.Unmarshal(v, &n.V); err != nil {
		return n, shlinkInvalid(key, "must be %s", want)
	}
	return n, nil
}

// healthTTL is how long /rest/health reuses its answer: it needs no key and
// faces the internet, so a flood of health checks costs at most one ping
// of each store per healthTTL.
const healthTTL = time.Second

// healthy reports whether every store answered the latest check, made at
// most healthTTL ago (concurrent callers may check at the same time once
// it is stale; the result is the same).
func (s *Server) healthy(c context.Context) bool {
	if s.d.Ready == nil {
		return true
	}
	now := time.Now().UnixNano()
	if at := s.healthAt.Load(); at != 0 && now-at < int64(healthTTL) {
		return s.healthOK.Load()
	}
	ok := true
	for _, err := range s.d.Ready(c) {
		if err != nil {
			ok = false
		}
	}
	s.healthOK.Store(ok)
	s.healthAt.Store(now)
	return ok
}
