package gateway

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"time"

	"github.com/minibitly/minibitly/storage"
	"github.com/valyala/fasthttp"
)

var (
	hdrAuthorization   = []byte("Authorization")
	hdrXAPIKey         = []byte("X-Api-Key")
	hdrWWWAuthenticate = []byte("WWW-Authenticate")
	bearerPrefix       = []byte("bearer ")
)

// maxKeyLen bounds a presented key; longer ones are refused unhashed.
const maxKeyLen = 512

// apiKeyFrom extracts the presented key: "Authorization: Bearer <key>"
// (scheme case-insensitive) wins, else "X-Api-Key: <key>".
func apiKeyFrom(h *fasthttp.RequestHeader) ([]byte, *Error) {
	if a := bytes.TrimSpace(h.PeekBytes(hdrAuthorization)); len(a) > 0 {
		if len(a) > len(bearerPrefix) && bytes.EqualFold(a[:len(bearerPrefix)], bearerPrefix) {
			if k := bytes.TrimSpace(a[len(bearerPrefix):]); len(k) > 0 {
				return k, nil
			}
		}
		if k := bytes.TrimSpace(h.PeekBytes(hdrXAPIKey)); len(k) > 0 {
			return k, nil
		}
		return nil, errorf(http.StatusUnauthorized, "unauthorized", "the Authorization header must be \"Bearer <API key>\"")
	}
	if k := bytes.TrimSpace(h.PeekBytes(hdrXAPIKey)); len(k) > 0 {
		return k, nil
	}
	return nil, errorf(http.StatusUnauthorized, "unauthorized", "an API key is required: send \"Authorization: Bearer <key>\" or \"X-Api-Key: <key>\"")
}

// HashAPIKey is how keys are stored: the hex SHA-256 of the secret.
func HashAPIKey(secret []byte) string {
	sum := sha256.Sum256(secret)
	return hex.EncodeToString(sum[:])
}

// authenticate checks the request's API key and returns its record.
// Unknown, revoked and expired keys are 401; a store that cannot answer is
// 503 (never a silent pass).
func (s *Server) authenticate(c context.Context, ctx *fasthttp.RequestCtx) (storage.APIKey, error) {
	key, ae := apiKeyFrom(&ctx.Request.Header)
	if ae != nil {
		ctx.Response.Header.SetCanonical(hdrWWWAuthenticate, []byte(`Bearer realm="minibitly"`))
		return storage.APIKey{}, ae
	}
	return s.checkKey(c, ctx, key)
}

// checkKey looks the presented key up (refusing unknown, revoked, expired
// and over-long keys) and applies the key's rate limit; it returns the
// key's record. Every API (/api/v1, /rest/v3, /v4) authenticates through
// it. Keys are not cached: every request reads the key store, so a
// revocation (DELETE /api/v1/keys/{id}, minibitly keys revoke) and an
// expiry apply to the next request on every node (with --postgres-read-url,
// once the replica has the change).
func (s *Server) checkKey(c context.Context, ctx *fasthttp.RequestCtx, key []byte) (storage.APIKey, error) {
	if len(key) > maxKeyLen { // refused unhashed
		ctx.Response.Header.SetCanonical(hdrWWWAuthenticate, []byte(`Bearer realm="minibitly"`))
		return storage.APIKey{}, errorf(http.StatusUnauthorized, "unauthorized", "unknown API key")
	}
	k, err := s.d.Keys.APIKeyByHash(c, HashAPIKey(key))
	switch {
	case errors.Is(err, storage.ErrNotFound):
		ctx.Response.Header.SetCanonical(hdrWWWAuthenticate, []byte(`Bearer realm="minibitly", error="invalid_token"`))
		return storage.APIKey{}, errorf(http.StatusUnauthorized, "unauthorized", "unknown API key")
	case err != nil:
		if !errors.Is(err, storage.ErrUnavailable) {
			s.log.Warn("api key lookup failed", "err", err)
		}
		return storage.APIKey{}, errorf(http.StatusServiceUnavailable, "store_unavailable", "cannot check the API key: the key store is unavailable; try again shortly")
	case !k.RevokedAt.IsZero():
		ctx.Response.Header.SetCanonical(hdrWWWAuthenticate, []byte(`Bearer realm="minibitly", error="invalid_token"`))
		return storage.APIKey{}, errorf(http.StatusUnauthorized, "unauthorized", "this API key has been revoked")
	case k.Expired(time.Now()):
		ctx.Response.Header.SetCanonical(hdrWWWAuthenticate, []byte(`Bearer realm="minibitly", error="invalid_token"`))
		return storage.APIKey{}, errorf(http.StatusUnauthorized, "unauthorized", "this API key expired at "+k.ExpiresAt.UTC().Format(time.RFC3339))
	}
	if ok, wait := s.allowKey(k.ID); !ok {
		setRateLimitHeaders(&ctx.Response.Header, s.limits.api.limit(), 1, wait)
		s.limits.limitedAPI.Inc()
		return storage.APIKey{}, errorf(http.StatusTooManyRequests, "rate_limited",
			"this API key exceeded its request rate; slow down and retry after the Retry-After seconds")
	}
	return k, nil
}

// routeScopes is the scope each method of a route needs: the entry of the
// method, else the entry "" (every other method); HEAD needs GET's. A
// scope "" is any valid key. Every route table declares one per route
// (newRoutes refuses a route without), so scopes are not checked in
// handlers.
type routeScopes map[string]string

var (
	linksRW   = routeScopes{http.MethodGet: storage.ScopeLinksRead, "": storage.ScopeLinksWrite}
	linksR    = routeScopes{"": storage.ScopeLinksRead}
	linksW    = routeScopes{"": storage.ScopeLinksWrite}
	statsR    = routeScopes{"": storage.ScopeStatsRead}
	adminOnly = routeScopes{"": storage.ScopeAdmin}
	anyScope  = routeScopes{"": ""}
)

// scope is the scope method needs on r.
func (r *apiRoute) scope(method string) string {
	if method == http.MethodHead {
		method = http.MethodGet
	}
	if sc, ok := r.scopes[method]; ok {
		return sc
	}
	return r.scopes[""]
}

// withKey returns c carrying the authenticated key (keyOf) and naming it
// as the audit log's actor; every API's router calls it once the key is
// authorised for the route.
func withKey(c context.Context, k storage.APIKey) context.Context {
	c = storage.WithCreator(context.WithValue(c, apiKeyCtx{}, k), k.ID, k.OwnLinksOnly)
	return storage.WithActor(c, "key:"+k.ID)
}

// authorize refuses (403 forbidden) a key that lacks the scope the
// request's method needs on r; prefix names the API in the message.
func (r *apiRoute) authorize(k storage.APIKey, ctx *fasthttp.RequestCtx, prefix string) error {
	sc := r.scope(string(ctx.Method()))
	if sc == "" || k.HasScope(sc) {
		return nil
	}
	return errorf(http.StatusForbidden, "forbidden",
		"this API key lacks the scope "+sc+" that "+string(ctx.Method())+" "+prefix+r.pattern+" needs")
}
