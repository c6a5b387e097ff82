package gateway

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/minibitly/minibitly/internal/clock"
	"github.com/minibitly/minibitly/internal/nearcache"
	"github.com/minibitly/minibitly/internal/visitlog"
	"github.com/minibitly/minibitly/storage"
	"github.com/prometheus/client_golang/prometheus"
)

const (
	testKey     = "mb_test_key_0123456789"
	revokedKey  = "mb_revoked_key_987654"
	testBaseURL = "https://sho.rt"
	testMaxBody = 512 << 10
)

// apiEnv is a gateway serving on a real loopback listener, with the real
// embedded store behind it (faultStore), and an HTTP client that does not
// follow redirects.
type apiEnv struct {
	t      *testing.T
	base   string
	client *http.Client
	store  *faultStore
	res    *fakeResolver
	srv    *Server
	reg    *prometheus.Registry
}

// envOpt changes the configuration or the collaborators of an apiEnv's
// server before it is built.
type envOpt func(*Config, *Deps)

func newAPIEnv(t *testing.T, opts ...envOpt) *apiEnv {
	t.Helper()
	store := newFaultStore(t)
	ctx := context.Background()
	if err := store.CreateAPIKey(ctx, storage.APIKey{ID: "k1", Name: "test", Hash: HashAPIKey([]byte(testKey)), CreatedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	if err := store.CreateAPIKey(ctx, storage.APIKey{ID: "k2", Name: "old", Hash: HashAPIKey([]byte(revokedKey)), CreatedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	if err := store.RevokeAPIKey(ctx, "k2"); err != nil {
		t.Fatal(err)
	}
	cache, _ := nearcache.New(nearcache.DefaultConfig())
	clk := clock.New()
	t.Cleanup(clk.Close)
	res := &fakeResolver{store: store, cache: cache, unflushed: map[string]uint64{}}
	reg := prometheus.NewRegistry()
	cfg := DefaultConfig()
	cfg.BaseURL = testBaseURL
	cfg.MaxBodyBytes = testMaxBody
	cfg.SelfHosts = []string{"127.0.0.1:8080"}
	// The test cluster has 3 members, so the default API rate would give
	// each key a burst of 66 here: tests of the limit set it themselves.
	cfg.APIRate, cfg.APIBurst = 0, 0
	d := Deps{
		Links: store, Keys: store, Stats: store, Resolver: res,
		Cache: cache.Reader(), Visits: visitlog.New(1, 1024), Clock: clk, Registry: reg,
		Cluster: newTestCluster(),
	}
	for _, o := range opts {
		o(&cfg, &d)
	}
	srv, err := New(cfg, d)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	tr := &http.Transport{}
	t.Cleanup(func() {
		tr.CloseIdleConnections()
		c, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := srv.Shutdown(c); err != nil {
			t.Errorf("shutdown: %v", err)
		}
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	})
	return &apiEnv{
		t: t, base: "http://" + ln.Addr().String(), store: store, res: res, srv: srv, reg: reg,
		client: &http.Client{
			Transport:     tr,
			Timeout:       10 * time.Second,
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
	}
}

// apiResponse is a finished HTTP exchange.
type apiResponse struct {
	status int
	header http.Header
	body   []byte
}

func (r *apiResponse) json(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.body, &m); err != nil {
		t.Fatalf("response is not a JSON object: %v: %s", err, r.body)
	}
	return m
}

// errCode returns error.code of a JSON error answer, failing the test when
// the answer is not one.
func (r *apiResponse) errCode(t *testing.T) (code, msg string) {
	t.Helper()
	if ct := r.header.Get("Content-Type"); ct != "application/json" {
		t.Fatalf("error answer has Content-Type %q: %s", ct, r.body)
	}
	var b errorBody
	if err := json.Unmarshal(r.body, &b); err != nil || b.Error.Code == "" || b.Error.Message == "" {
		t.Fatalf("not a JSON error (%v): %s", err, r.body)
	}
	return b.Error.Code, b.Error.Message
}

type reqOpt func(*http.Request)

func withHeader(k, v string) reqOpt { return func(r *http.Request) { r.Header.Set(k, v) } }

func noAuth() reqOpt { return func(r *http.Request) { r.Header.Del("Authorization") } }

// do sends a request with the test key, JSON content type when there is a
// body, and any options; it returns the answer.
func (e *apiEnv) do(method, path string, body any, opts ...reqOpt) *apiResponse {
	e.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			e.t.Fatal(err)
		}
		rd = bytes.NewReader(j)
	}
	req, err := http.NewRequest(method, e.base+path, rd)
	if err != nil {
		e.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+testKey)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for _, o := range opts {
		o(req)
	}
	resp, err := e.client.Do(req)
	if err != nil {
		e.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	return &apiResponse{status: resp.StatusCode, header: resp.Header, body: data}
}

// wantStatus fails the test unless r has the status.
func (r *apiResponse) wantStatus(t *testing.T, status int) *apiResponse {
	t.Helper()
	if r.status != status {
		t.Fatalf("status %d, want %d: %s", r.status, status, r.body)
	}
	return r
}

// wantError checks a JSON error answer's status, code and that its message
// contains msg.
func (r *apiResponse) wantError(t *testing.T, status int, code, msg string) {
	t.Helper()
	if r.status != status {
		t.Fatalf("status %d, want %d: %s", r.status, status, r.body)
	}
	c, m := r.errCode(t)
	if c != code {
		t.Errorf("error code %q, want %q (message %q)", c, code, m)
	}
	if !strings.Contains(m, msg) {
		t.Errorf("error message %q does not contain %q", m, msg)
	}
}

// createLink creates a link and returns the answer's link object.
func (e *apiEnv) createLink(body map[string]any) linkOut {
	e.t.Helper()
	r := e.do("POST", "/api/v1/links", body).wantStatus(e.t, http.StatusCreated)
	var l linkOut
	if err := json.Unmarshal(r.body, &l); err != nil {
		e.t.Fatal(err)
	}
	return l
}

func (e *apiEnv) getLink(code string) linkOut {
	e.t.Helper()
	r := e.do("GET", "/api/v1/links/"+code, nil).wantStatus(e.t, http.StatusOK)
	var l linkOut
	if err := json.Unmarshal(r.body, &l); err != nil {
		e.t.Fatal(err)
	}
	return l
}
