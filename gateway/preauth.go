package gateway

import (
	"errors"
	"io"

	"github.com/valyala/fasthttp"
)

// Request bodies are read only after authentication, and in bounded steps.
//
// fasthttp reads a body before any handler runs, allocating the whole
// Content-Length at once (appendBodyFixedSize), so a client announcing
// 1 MiB and sending one byte held 1 MiB until the read timeout. The
// Server.HeaderReceived gate that capped bodies without a valid key at
// 4 KiB did not hold: it looked the key up on every such request, and a
// key store that failed or was slower than ResolveTimeout (as a flood of
// lookups makes it) let any made-up key through at full size; a valid key
// made even a redirect allocate its announced body.
//
// The server therefore streams bodies (fasthttp StreamRequestBody) and
// reads at most bodyPrefetch byte of one before the handler runs. Routes
// that take no body never read it (fasthttp discards a short rest after
// the answer, or closes the connection). The API routers call loadBody
// once the key is checked and the route matched: it reads the body in
// steps that grow with what has arrived, up to --max-body-bytes (413
// beyond), so an authenticated client too costs what it sent, not what it
// announced.

// bodyPrefetch is the most of a body fasthttp reads before the handler:
// fasthttp's MaxRequestBodySize, which with StreamRequestBody is the size
// of the read-ahead (0 would mean its 4 MiB default).
const bodyPrefetch = 1

// bodyStep is the first buffer of a streamed body; it doubles as the body
// arrives.
const bodyStep = 16 << 10

// loadBody reads the request's streamed body, at most MaxBodyBytes, so
// that ctx.PostBody returns it. GET, HEAD and OPTIONS bodies are left
// unread. A request served without a stream (Handler called directly) has
// its body in memory already.
func (s *Server) loadBody(ctx *fasthttp.RequestCtx) error {
	if ctx.IsGet() || ctx.IsHead() || ctx.IsOptions() {
		return nil
	}
	r := ctx.RequestBodyStream()
	if r == nil {
		return nil
	}
	limit := s.cfg.MaxBodyBytes
	cl := ctx.Request.Header.ContentLength()
	if cl > limit {
		return fasthttp.ErrBodyTooLarge
	}
	if cl == 0 {
		ctx.Request.SetBodyRaw(nil)
		return nil
	}
	size := bodyStep
	if cl > 0 && cl < size {
		size = cl
	}
	buf := make([]byte, 0, size)
	for {
		if len(buf) == cap(buf) {
			if len(buf) > limit {
				return fasthttp.ErrBodyTooLarge
			}
			next := min(2*cap(buf), limit+1)
			if cl > 0 {
				next = min(next, cl)
			}
			buf = append(make([]byte, 0, max(next, len(buf)+1)), buf...)
		}
		n, err := r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return &requestError{err: err}
		}
	}
	if len(buf) > limit {
		return fasthttp.ErrBodyTooLarge
	}
	ctx.Request.SetBodyRaw(buf)
	return nil
}
