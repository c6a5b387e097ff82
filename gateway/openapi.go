package gateway

import (
	"context"
	_ "embed"
	"net/http"

	"github.com/valyala/fasthttp"
)

// openAPIDoc is the OpenAPI 3.0 document of every route of the service,
// /api/v1 and the public ones. A test checks it against the live handler.
//
//go:embed openapi.json
var openAPIDoc []byte

func (s *Server) serveOpenAPI(_ context.Context, ctx *fasthttp.RequestCtx, _ string) error {
	ctx.SetStatusCode(http.StatusOK)
	ctx.SetContentType("application/json")
	ctx.SetBody(openAPIDoc)
	return nil
}
