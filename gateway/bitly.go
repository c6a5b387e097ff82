package gateway

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/minibitly/minibitly/storage"
	"github.com/valyala/fasthttp"
)

// A subset of the Bitly API v4 under /v4, enough for the `bitly` npm
// client (7.x) and scripts written against api-ssl.bitly.com: thin
// translations onto the same store, validation (newLink, linkFields),
// cache invalidation and stats as /api/v1. A bitlink id is
// "<domain>/<code>" where the domain is the host of --base-url; "bit.ly"
// is accepted as an alias, since the npm client sends it by default and
// rewrites every id to bit.ly/<hash> (forceToBitlinkId). Errors are
// Bitly's body {"message","description","resource","errors"?}.

// bitlyAlias is the domain the npm client puts in every id and body.
const bitlyAlias = "bit.ly"

// bitlyRoutes is the routing table of /v4, in match order.
var bitlyRoutes = newRoutes([]apiRoute{
	{pattern: "/shorten", scopes: linksW, methods: map[string]apiHandler{http.MethodPost: (*Server).bitlyShorten}},
	{pattern: "/bitlinks", scopes: linksW, methods: map[string]apiHandler{http.MethodPost: (*Server).bitlyCreate}},
	{pattern: "/expand", scopes: linksR, methods: map[string]apiHandler{http.MethodPost: (*Server).bitlyExpand}},
	{pattern: "/user", scopes: anyScope, methods: map[string]apiHandler{http.MethodGet: (*Server).bitlyUser}},
	{pattern: "/bitlinks/{domain}/{code}", scopes: linksRW, methods: map[string]apiHandler{
		http.MethodGet:    (*Server).bitlyGet,
		http.MethodPatch:  (*Server).bitlyPatch,
		http.MethodDelete: (*Server).bitlyDelete,
	}},
	{pattern: "/bitlinks/{domain}/{code}/clicks", scopes: statsR, methods: map[string]apiHandler{http.MethodGet: (*Server).bitlyClicks}},
	{pattern: "/bitlinks/{domain}/{code}/clicks/summary", scopes: statsR, methods: map[string]apiHandler{http.MethodGet: (*Server).bitlyClicksSummary}},
	{pattern: "/bitlinks/{domain}/{code}/referrers", scopes: statsR, methods: map[string]apiHandler{http.MethodGet: (*Server).bitlyReferrers}},
	{pattern: "/bitlinks/{domain}/{code}/countries", scopes: statsR, methods: map[string]apiHandler{http.MethodGet: (*Server).bitlyCountries}},
})

// bitlyDomainOf is the host (with its port, if any) of baseURL.
func bitlyDomainOf(baseURL string) string {
	u, err := url.Parse(baseURL)
	if err != nil || u.Host == "" {
		return "localhost"
	}
	return strings.ToLower(u.Host)
}

// apiKeyCtx is the context key of the authenticated storage.APIKey.
type apiKeyCtx struct{}

// serveBitly answers everything under /v4.
func (s *Server) serveBitly(ctx *fasthttp.RequestCtx) {
	c, cancel := context.WithTimeout(context.Background(), apiTimeout)
	defer cancel()
	if err := s.routeBitly(c, ctx); err != nil {
		s.writeBitlyError(ctx, err)
	}
	s.m.api.WithLabelValues(strconv.Itoa(ctx.Response.StatusCode())).Inc()
}

func (s *Server) routeBitly(c context.Context, ctx *fasthttp.RequestCtx) error {
	key, err := bitlyKeyFrom(&ctx.Request.Header)
	if err != nil {
		return err
	}
	k, err := s.checkKey(c, ctx, key)
	if err != nil {
		return err
	}
	path := string(ctx.Path())
	r, id := matchIn(bitlyRoutes, strings.TrimPrefix(path, string(bitlyRoot)))
	if r == nil {
		return errNoRoute(path)
	}
	h, err := r.handler(ctx, "/v4", false)
	if err != nil {
		return err
	}
	if err := r.authorize(k, ctx, "/v4"); err != nil {
		return err
	}
	c = withKey(c, k)
	if err := s.loadBody(ctx); err != nil { // authenticated: preauth.go
		return err
	}
	return h(s, c, ctx, id)
}

// bitlyKeyFrom reads the token of a /v4 request: "Authorization: Bearer
// <key>" or, as the npm client sends it, a bare "Authorization: <key>".
func bitlyKeyFrom(h *fasthttp.RequestHeader) ([]byte, error) {
	a := bytes.TrimSpace(h.PeekBytes(hdrAuthorization))
	if len(a) > len(bearerPrefix) && bytes.EqualFold(a[:len(bearerPrefix)], bearerPrefix) {
		a = bytes.TrimSpace(a[len(bearerPrefix):])
	}
	if len(a) == 0 || bytes.ContainsAny(a, " \t") {
		return nil, errorf(http.StatusUnauthorized, "unauthorized", `an access token is required: send "Authorization: Bearer <API key>" (or "Authorization: <API key>")`)
	}
	return a, nil
}

// bitlyError is Bitly's error body.
type bitlyError struct {
	Message     string            `json:"message"`
	Description string            `json:"description"`
	Resource    string            `json:"resource"`
	Errors      []bitlyFieldError `json:"errors"` // always present, [] when no field is to blame
}

type bitlyFieldError struct {
	Field     string `json:"field"`
	Message   string `json:"message"`
	ErrorCode string `json:"error_code"`
}

// bitlyFields maps the field names of /api/v1 (in validation errors) to
// Bitly's.
var bitlyFields = map[string]string{"url": "long_url", "code": "keyword"}

// bitlyMessages is Bitly's message for the statuses that have one of their
// own whatever the error code.
var bitlyMessages = map[int]string{
	http.StatusNotFound:              "NOT_FOUND",
	http.StatusMethodNotAllowed:      "METHOD_NOT_ALLOWED",
	http.StatusConflict:              "ALREADY_EXISTS",
	http.StatusRequestEntityTooLarge: "REQUEST_ENTITY_TOO_LARGE",
	http.StatusUnsupportedMediaType:  "INVALID_CONTENT_TYPE_HEADER",
	http.StatusTooManyRequests:       "RATE_LIMIT_EXCEEDED",
	http.StatusServiceUnavailable:    "TEMPORARILY_UNAVAILABLE",
}

// toBitlyError maps err (through toAPIError, the one status mapping) to
// Bitly's status and body: a missing or unknown token is 403 FORBIDDEN as
// on api-ssl.bitly.com, an invalid field 400 INVALID_ARG_<FIELD>.
func toBitlyError(err error, resource string) (int, *bitlyError) {
	ae := toAPIError(err)
	b := &bitlyError{Description: ae.Message, Resource: resource, Errors: []bitlyFieldError{}}
	status := ae.Status
	msg, byStatus := bitlyMessages[status]
	switch {
	case status == http.StatusUnauthorized:
		status, b.Message = http.StatusForbidden, "FORBIDDEN"
	case byStatus:
		b.Message = msg
	case status >= 500:
		b.Message = "INTERNAL_ERROR"
	case strings.HasPrefix(ae.Code, "invalid_") && ae.Code != "invalid_json" && ae.Code != "invalid_type" && ae.Code != "invalid_query":
		field := strings.TrimPrefix(ae.Code, "invalid_")
		if f, ok := bitlyFields[field]; ok {
			field = f
			b.Description = strings.Replace(b.Description, `field "`+strings.TrimPrefix(ae.Code, "invalid_")+`"`, `field "`+f+`"`, 1)
		}
		status, b.Message = http.StatusBadRequest, "INVALID_ARG_"+strings.ToUpper(field)
		b.Errors = []bitlyFieldError{{Field: field, Message: b.Description, ErrorCode: "invalid"}}
	case status == http.StatusUnprocessableEntity:
		b.Message = "UNPROCESSABLE_ENTITY"
	case ae.Code == "invalid_json":
		b.Message = "INVALID_JSON"
	case status == http.StatusBadRequest:
		b.Message = "INVALID_ARG"
	default: // 408, 431: fasthttp could not read the request
		b.Message = strings.ToUpper(ae.Code)
	}
	return status, b
}

// bitlyResource is the "resource" of an error on path.
func bitlyResource(path []byte) string {
	if bytes.Equal(path, []byte("/v4/user")) {
		return "user"
	}
	return "bitlinks"
}

// writeBitlyError answers with err in Bitly's format; internal errors are
// logged here, as writeError does.
func (s *Server) writeBitlyError(ctx *fasthttp.RequestCtx, err error) {
	status, b := toBitlyError(err, bitlyResource(ctx.Path()))
	if status >= 500 && b.Message == "INTERNAL_ERROR" {
		s.log.Error("request failed", "method", string(ctx.Method()), "path", string(ctx.Path()), "err", err)
	}
	if status == http.StatusServiceUnavailable {
		ctx.Response.Header.Set("Retry-After", "1")
	}
	s.writeJSON(ctx, status, b)
}

// bitlinkCode splits a bitlink id ("domain/code") and checks that the
// domain is this service's (or bit.ly) and the code well formed; anything
// else is no such bitlink.
func (s *Server) bitlinkCode(id string) (string, error) {
	domain, code, ok := strings.Cut(id, "/")
	if !ok || strings.Contains(code, "/") || !s.ourDomain(domain) {
		return "", errorf(http.StatusNotFound, "not_found", "no such bitlink: "+quoteShort(id)+" (ids are "+s.bitlyDomain+"/<code>)")
	}
	return code, linkCode(code)
}

// ourDomain reports whether a Bitly domain names this service.
func (s *Server) ourDomain(d string) bool {
	d = strings.ToLower(d)
	return d == s.bitlyDomain || d == bitlyAlias
}

// quoteShort quotes a client's value for a message, cut to 200 bytes.
func quoteShort(s string) string {
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return strconv.Quote(s)
}

// keyOf is the API key a /v4 request authenticated with.
func keyOf(c context.Context) (storage.APIKey, error) {
	k, ok := c.Value(apiKeyCtx{}).(storage.APIKey)
	if !ok {
		return k, errors.New("no api key in context")
	}
	return k, nil
}
