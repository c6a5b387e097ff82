package gateway

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/minibitly/minibitly/storage"
	"github.com/valyala/fasthttp"
)

// A request body is read whole before any handler runs, so without a gate
// anyone could make a node buffer --max-body-bytes (1 MiB) per request
// before its key is checked. headerReceived, called by fasthttp once the
// headers are in and before the body is read, lets a body over
// maxAnonymousBody through only with a valid API key (Authorization: Bearer,
// X-Api-Key, or the bare Authorization of /v4; the handler then
// authenticates the request as usual). Other requests may send at most
// maxAnonymousBody; beyond, fasthttp refuses the body unread and
// anonymousBodyError answers 401. Requests without a body (every redirect)
// cost one Content-Length check.

// maxAnonymousBody is the largest body of a request without a valid key.
const maxAnonymousBody = 4 << 10

func (s *Server) headerReceived(h *fasthttp.RequestHeader) fasthttp.RequestConfig {
	// -1 is chunked, -2 a body until the connection closes: unknown sizes.
	if cl := h.ContentLength(); cl >= 0 && cl <= maxAnonymousBody || s.cfg.MaxBodyBytes <= maxAnonymousBody {
		return fasthttp.RequestConfig{}
	}
	if s.keyMayBeValid(h) {
		return fasthttp.RequestConfig{}
	}
	return fasthttp.RequestConfig{MaxRequestBodySize: maxAnonymousBody}
}

// keyMayBeValid reports whether the request presents an API key that is
// known, not revoked and not expired, or one that cannot be checked now (the key store
// is down: the handler's authentication answers 503 then).
func (s *Server) keyMayBeValid(h *fasthttp.RequestHeader) bool {
	key := bytes.TrimSpace(h.PeekBytes(hdrAuthorization))
	if len(key) > len(bearerPrefix) && bytes.EqualFold(key[:len(bearerPrefix)], bearerPrefix) {
		key = bytes.TrimSpace(key[len(bearerPrefix):])
	}
	if len(key) == 0 {
		key = bytes.TrimSpace(h.PeekBytes(hdrXAPIKey))
	}
	if len(key) == 0 || len(key) > maxKeyLen {
		return false
	}
	c, cancel := context.WithTimeout(context.Background(), s.cfg.ResolveTimeout)
	defer cancel()
	k, err := s.d.Keys.APIKeyByHash(c, HashAPIKey(key))
	switch {
	case err == nil:
		return k.RevokedAt.IsZero() && !k.Expired(time.Now())
	case errors.Is(err, storage.ErrNotFound):
		return false
	}
	return true
}

// anonymousBodyError is the answer to a body refused by headerReceived:
// ErrBodyTooLarge for a Content-Length within --max-body-bytes can only
// come from the gate (nil otherwise).
func (s *Server) anonymousBodyError(ctx *fasthttp.RequestCtx, err error) *Error {
	if !errors.Is(err, fasthttp.ErrBodyTooLarge) {
		return nil
	}
	if cl := ctx.Request.Header.ContentLength(); cl < 0 || cl > s.cfg.MaxBodyBytes {
		return nil
	}
	ctx.Response.Header.SetCanonical(hdrWWWAuthenticate, []byte(`Bearer realm="minibitly"`))
	return errorf(http.StatusUnauthorized, "unauthorized",
		fmt.Sprintf("a request body over %d bytes needs a valid API key: send \"Authorization: Bearer <key>\" or \"X-Api-Key: <key>\"", maxAnonymousBody))
}
