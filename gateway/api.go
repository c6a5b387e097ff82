package gateway

import (
	"net/http"

	"github.com/valyala/fasthttp"
)

// serveAPI routes /api/v1. (Placeholder until the API lands.)
func (s *Server) serveAPI(ctx *fasthttp.RequestCtx) {
	s.writeError(ctx, errorf(http.StatusNotFound, "not_found", "no such route"))
}
