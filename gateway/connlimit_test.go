package gateway

import (
	"bufio"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
)

// TestServer_ConnLimits: connections beyond --max-conns-per-ip (and
// --max-conns) are answered 503 and closed, and counted; closing one
// makes room again.
func TestServer_ConnLimits(t *testing.T) {
	for name, tc := range map[string]struct {
		total, perIP int
		reason       string
	}{
		"per ip": {total: 100, perIP: 3, reason: "per_ip"},
		"total":  {total: 3, perIP: 3, reason: "total"},
	} {
		t.Run(name, func(t *testing.T) {
			e := newAPIEnv(t, func(c *Config, _ *Deps) { c.MaxConns, c.MaxConnsPerIP = tc.total, tc.perIP })
			addr := strings.TrimPrefix(e.base, "http://")
			var held []net.Conn
			t.Cleanup(func() {
				for _, c := range held {
					c.Close()
				}
			})
			for range 3 {
				c, err := net.Dial("tcp", addr)
				if err != nil {
					t.Fatal(err)
				}
				held = append(held, c)
			}
			// Poll until the three are accepted.
			deadline := time.Now().Add(5 * time.Second)
			for e.srv.srv.GetOpenConnectionsCount() < 3 && time.Now().Before(deadline) {
				time.Sleep(5 * time.Millisecond)
			}
			c, err := net.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			_ = c.SetDeadline(time.Now().Add(5 * time.Second))
			resp, err := http.ReadResponse(bufio.NewReader(c), nil)
			if err != nil || resp.StatusCode != http.StatusServiceUnavailable {
				t.Fatalf("fourth connection: %v %v, want 503", resp, err)
			}
			refused := e.srv.conns.refusedPerIP
			if tc.reason == "total" {
				refused = e.srv.conns.refusedTotal
			}
			if n := testutil.ToFloat64(refused); n != 1 {
				t.Errorf("refused{reason=%q} = %v, want 1", tc.reason, n)
			}
			held[0].Close()
			for time.Now().Before(deadline) {
				e.srv.conns.mu.Lock()
				n := e.srv.conns.total
				e.srv.conns.mu.Unlock()
				if n < 3 {
					break
				}
				time.Sleep(5 * time.Millisecond)
			}
			e.do("GET", "/health", nil).wantStatus(t, http.StatusOK)
		})
	}
}
