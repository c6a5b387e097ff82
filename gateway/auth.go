package gateway

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"

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

// authenticate checks the request's API key. Unknown or revoked keys are
// 401; a store that cannot answer is 503 (never a silent pass).
func (s *Server) authenticate(c context.Context, ctx *fasthttp.RequestCtx) error {
	key, ae := apiKeyFrom(&ctx.Request.Header)
	if ae != nil {
		ctx.Response.Header.SetCanonical(hdrWWWAuthenticate, []byte(`Bearer realm="minibitly"`))
		return ae
	}
	_, err := s.checkKey(c, ctx, key)
	return err
}

// checkKey looks the presented key up (refusing unknown, revoked and
// over-long keys) and applies the key's rate limit; it returns the key's
// record. Every API (/api/v1, /v4) authenticates through it.
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
	}
	if ok, wait := s.allowKey(k.ID); !ok {
		setRateLimitHeaders(&ctx.Response.Header, s.limits.api.limit(), 1, wait)
		s.limits.limitedAPI.Inc()
		return storage.APIKey{}, errorf(http.StatusTooManyRequests, "rate_limited",
			"this API key exceeded its request rate; slow down and retry after the Retry-After seconds")
	}
	return k, nil
}
