package gateway

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// rawExchange writes req on a fresh connection to e's server and reads the
// answer.
func rawExchange(t *testing.T, e *apiEnv, req string) *apiResponse {
	t.Helper()
	conn, err := net.Dial("tcp", strings.TrimPrefix(e.base, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if err := conn.SetDeadline(time.Now().Add(10 * time.Second)); err != nil {
		t.Fatal(err)
	}
	if _, err := io.WriteString(conn, req); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return &apiResponse{status: resp.StatusCode, header: resp.Header, body: body}
}

// TestServer_RequestErrors pins the JSON errors of requests fasthttp cannot
// read, which go through toAPIError like every other error.
func TestServer_RequestErrors(t *testing.T) {
	e := newAPIEnv(t, func(c *Config, _ *Deps) { c.ReadTimeout = 300 * time.Millisecond })
	t.Run("malformed", func(t *testing.T) {
		rawExchange(t, e, "GET /abc HTTP/1.1\r\nHost x\r\n\r\n").wantError(t, 400, "bad_request", "malformed")
	})
	t.Run("headers too large", func(t *testing.T) {
		req := fmt.Sprintf("GET /abc HTTP/1.1\r\nHost: x\r\nX-Big: %s\r\n\r\n", strings.Repeat("b", 8<<10))
		rawExchange(t, e, req).wantError(t, 431, "headers_too_large", "too large")
	})
	t.Run("body too large", func(t *testing.T) {
		req := fmt.Sprintf("POST /api/v1/links HTTP/1.1\r\nHost: x\r\nX-Api-Key: %s\r\nContent-Length: %d\r\n\r\n{", testKey, testMaxBody+1)
		rawExchange(t, e, req).wantError(t, 413, "body_too_large", "too large")
	})
	t.Run("slow client", func(t *testing.T) {
		rawExchange(t, e, "POST /api/v1/links HTTP/1.1\r\nHost: x\r\nX-Api-Key: "+testKey+"\r\nContent-Length: 10\r\n\r\n{").wantError(t, 408, "request_timeout", "in time")
	})
}
