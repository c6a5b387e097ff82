package gateway

import (
	"bytes"
	"context"
	"crypto/subtle"
	"net/http"
	"time"

	"github.com/valyala/fasthttp"
)

func (s *Server) serveHealth(ctx *fasthttp.RequestCtx) {
	s.writeJSON(ctx, http.StatusOK, map[string]string{"status": "ok"})
}

type readyBody struct {
	Status string            `json:"status"`
	Checks map[string]string `json:"checks"`
}

// serveReady answers 200 when every dependency is up, 503 otherwise, with
// the state of each.
func (s *Server) serveReady(ctx *fasthttp.RequestCtx) {
	c, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	body := readyBody{Status: "ready", Checks: map[string]string{}}
	status := http.StatusOK
	if s.d.Ready != nil {
		for name, err := range s.d.Ready(c) {
			if err != nil {
				body.Checks[name] = err.Error()
				body.Status = "not_ready"
				status = http.StatusServiceUnavailable
			} else {
				body.Checks[name] = "ok"
			}
		}
	}
	s.writeJSON(ctx, status, &body)
}

// serveMetrics answers /metrics, with MetricsToken as a bearer token when
// it is set.
func (s *Server) serveMetrics(ctx *fasthttp.RequestCtx) {
	if tok := s.cfg.MetricsToken; tok != "" {
		a := bytes.TrimSpace(ctx.Request.Header.PeekBytes(hdrAuthorization))
		ok := len(a) > len(bearerPrefix) && bytes.EqualFold(a[:len(bearerPrefix)], bearerPrefix) &&
			subtle.ConstantTimeCompare(bytes.TrimSpace(a[len(bearerPrefix):]), []byte(tok)) == 1
		if !ok {
			ctx.Response.Header.SetCanonical(hdrWWWAuthenticate, []byte(`Bearer realm="minibitly-metrics"`))
			s.writeError(ctx, errorf(http.StatusUnauthorized, "unauthorized", `/metrics needs "Authorization: Bearer <metrics token>" (--metrics-token)`))
			return
		}
	}
	s.metricsHandler(ctx)
}

// handleMetricsListener is the handler of ServeMetrics: /metrics only.
func (s *Server) handleMetricsListener(ctx *fasthttp.RequestCtx) {
	if string(ctx.Path()) != "/metrics" {
		s.writeError(ctx, errorf(http.StatusNotFound, "not_found", "the metrics listener serves /metrics only"))
		return
	}
	s.serveMetrics(ctx)
}
