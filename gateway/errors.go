package gateway

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"

	"github.com/minibitly/minibitly/storage"
	"github.com/valyala/fasthttp"
)

// Error is an API error with its HTTP status and stable machine code.
type Error struct {
	Status  int
	Code    string
	Message string
}

func (e *Error) Error() string { return e.Code + ": " + e.Message }

func (e *Error) detail() errorDetail { return errorDetail{Code: e.Code, Message: e.Message} }

// maxMessage is the longest error message, in bytes.
const maxMessage = 512

// errorf builds an *Error.
func errorf(status int, code, msg string) *Error {
	// Messages quote input through excerpt; this is the bound for a site
	// that forgot to, so an error never echoes a large body.
	return &Error{Status: status, Code: code, Message: cutUTF8(msg, maxMessage)}
}

// requestError is an error fasthttp met reading a request, before any
// handler ran (its Server.ErrorHandler).
type requestError struct{ err error }

func (e *requestError) Error() string { return "read request: " + e.err.Error() }
func (e *requestError) Unwrap() error { return e.err }

// toAPIError is the one place that maps errors to HTTP statuses and codes:
// every JSON error the gateway writes (API, cluster routes, redirects, bulk
// items, fasthttp's request errors) is its answer.
func toAPIError(err error) *Error {
	var (
		ae     *Error
		re     *requestError
		small  *fasthttp.ErrSmallBuffer
		netErr net.Error
	)
	isRequest := errors.As(err, &re)
	switch {
	case errors.As(err, &ae):
		return ae
	case errors.Is(err, storage.ErrNotFound):
		return errorf(http.StatusNotFound, "not_found", "no such link")
	case errors.Is(err, storage.ErrConflict):
		return errorf(http.StatusConflict, "code_taken", "that code is already taken")
	case errors.Is(err, storage.ErrInvalidCursor):
		return errorf(http.StatusBadRequest, "invalid_cursor", "the cursor is not one this service produced")
	case errors.Is(err, storage.ErrEmptyRange):
		return errorf(http.StatusBadRequest, "invalid_range", storageReason(err, storage.ErrEmptyRange)+`: "from" must be before "to" (whole seconds)`)
	case errors.Is(err, storage.ErrTooManyPoints):
		return errorf(http.StatusUnprocessableEntity, "too_many_points", fmt.Sprintf("%s: the maximum is %d; narrow the range or use a wider interval",
			storageReason(err, storage.ErrTooManyPoints), storage.MaxSeriesPoints))
	case errors.Is(err, storage.ErrInvalidQuery):
		return errorf(http.StatusUnprocessableEntity, "invalid_range", statsRefusal(err))
	case errors.Is(err, storage.ErrUnavailable):
		return errorf(http.StatusServiceUnavailable, "store_unavailable", "the store is unavailable; try again shortly")
	case errors.Is(err, fasthttp.ErrBodyTooLarge):
		return errorf(http.StatusRequestEntityTooLarge, "body_too_large", "the request body is too large")
	case isRequest && errors.As(err, &small):
		return errorf(http.StatusRequestHeaderFieldsTooLarge, "headers_too_large", "the request headers are too large")
	case isRequest && errors.As(err, &netErr) && netErr.Timeout():
		return errorf(http.StatusRequestTimeout, "request_timeout", "the request was not received in time")
	case isRequest:
		return errorf(http.StatusBadRequest, "bad_request", "malformed HTTP request")
	}
	return errorf(http.StatusInternalServerError, "internal", "internal error")
}

// errorDetail is the "error" object of a JSON error answer, and of a failed
// bulk item.
type errorDetail struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// errorBody is a JSON error answer: {"error":{"code","message"}}.
type errorBody struct {
	Error errorDetail `json:"error"`
}

// storageReason is err's text from sentinel's on, without the context
// wrapped around it.
func storageReason(err, sentinel error) string {
	msg := err.Error()
	if i := strings.Index(msg, sentinel.Error()); i >= 0 {
		msg = msg[i:]
	}
	return msg
}

// statsRefusal is the message of a stats query the store refused: its
// reason (from the sentinel's text on, without the context wrapped around
// it) and what a valid query looks like.
func statsRefusal(err error) string {
	msg := storageReason(err, storage.ErrInvalidQuery)
	return fmt.Sprintf("%s: \"from\" must be before \"to\" (whole seconds) and the range may hold at most %d buckets of the interval; narrow the range or use a wider interval",
		msg, storage.MaxSeriesPoints)
}

// writeError answers with err as a JSON error. Internal errors are logged
// here (and only here) since the client gets no detail.
func (s *Server) writeError(ctx *fasthttp.RequestCtx, err error) {
	ae := toAPIError(err)
	if ae.Status >= 500 && ae.Code == "internal" {
		s.log.Error("request failed", "method", string(ctx.Method()), "path", string(ctx.Path()), "err", err)
	}
	if ae.Status == http.StatusServiceUnavailable {
		ctx.Response.Header.Set("Retry-After", "1")
	}
	s.writeJSON(ctx, ae.Status, &errorBody{Error: ae.detail()})
}

// writeJSON answers with v as JSON.
func (s *Server) writeJSON(ctx *fasthttp.RequestCtx, status int, v any) {
	ctx.SetStatusCode(status)
	ctx.SetContentType("application/json")
	enc := json.NewEncoder(ctx)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		s.log.Error("encode response", "err", err)
	}
}
