package gateway

import (
	"context"
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

func (s *Server) serveMetrics(ctx *fasthttp.RequestCtx) {
	s.metricsHandler(ctx)
}
