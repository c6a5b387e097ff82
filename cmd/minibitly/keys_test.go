package main

import (
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"regexp"
	"strings"
	"testing"

	"github.com/minibitly/minibitly/internal/harness"
)

// TestKeys_CreateListRevoke drives `minibitly keys` on an embedded store and
// checks that a created key authenticates and a revoked one does not.
func TestKeys_CreateListRevoke(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the real binary")
	}
	bin, dir := harness.Binary(t), t.TempDir()
	run := func(args ...string) string {
		t.Helper()
		out, err := exec.Command(bin, append(args, "--data-dir", dir)...).CombinedOutput()
		if err != nil {
			t.Fatalf("minibitly %v: %v\n%s", args, err, out)
		}
		return string(out)
	}
	out := run("keys", "create", "--name", "ci")
	secret := regexp.MustCompile(`secret:\s+(mb_[0-9a-f]{40})`).FindStringSubmatch(out)
	id := regexp.MustCompile(`id:\s+(key_\S+)`).FindStringSubmatch(out)
	if secret == nil || id == nil {
		t.Fatalf("keys create printed:\n%s", out)
	}
	if list := run("keys", "list"); !strings.Contains(list, id[1]) || strings.Contains(list, secret[1]) {
		t.Fatalf("keys list must show the id and never the secret:\n%s", list)
	}

	n, base := startSingle(t, dir)
	if st := harness.Do(t, "GET", base+"/api/v1/links", secret[1], nil, nil); st != 200 {
		t.Fatalf("created key: %d", st)
	}
	n.Stop(t) // the embedded store is single-process
	run("keys", "revoke", id[1])
	n.Start(t)
	if st := harness.Do(t, "GET", base+"/api/v1/links", secret[1], nil, nil); st != 401 {
		t.Fatalf("revoked key: %d, want 401", st)
	}
	if out, err := exec.Command(bin, "keys", "revoke", "key_nope", "--data-dir", t.TempDir()).CombinedOutput(); err == nil {
		t.Fatalf("revoking an unknown key succeeded:\n%s", out)
	}
}

// TestKeys_ScopesExpiry: `keys create --scope … --expires …` makes a key
// limited to its scopes; a running node on the embedded store manages keys
// through /api/v1/keys with an admin key (the initial key has every scope).
func TestKeys_ScopesExpiry(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the real binary")
	}
	bin, dir := harness.Binary(t), t.TempDir()
	run := func(args ...string) (string, error) {
		t.Helper()
		out, err := exec.Command(bin, append(args, "--data-dir", dir)...).CombinedOutput()
		return string(out), err
	}
	secretRE := regexp.MustCompile(`secret:\s+(mb_[0-9a-f]{40})`)
	out, err := run("keys", "create", "--name", "ro", "--scope", "links:read", "--expires", "1h")
	if err != nil || !strings.Contains(out, "scopes:  links:read\n") || strings.Contains(out, "expires: never") {
		t.Fatalf("keys create --scope links:read --expires 1h: %v\n%s", err, out)
	}
	ro := secretRE.FindStringSubmatch(out)[1]
	out, err = run("keys", "create", "--name", "multi", "--scope", "admin,stats:read", "--scope", "links:read")
	if err != nil || !strings.Contains(out, "scopes:  links:read,stats:read,admin\n") || !strings.Contains(out, "expires: never") {
		t.Fatalf("keys create with a comma list and a repeated --scope: %v\n%s", err, out)
	}
	out, err = run("keys", "create", "--name", "default")
	if err != nil || !strings.Contains(out, "scopes:  links:read,links:write,stats:read\n") {
		t.Fatalf("keys create without --scope: %v\n%s", err, out)
	}
	for _, bad := range [][]string{{"--scope", "everything"}, {"--expires", "-1h"}, {"--expires", "soon"}} {
		if out, err := run(append([]string{"keys", "create", "--name", "bad"}, bad...)...); err == nil {
			t.Errorf("keys create %v succeeded:\n%s", bad, out)
		}
	}
	if list, err := run("keys", "list"); err != nil || !strings.Contains(list, "SCOPES") || !strings.Contains(list, "links:read,stats:read,admin") {
		t.Fatalf("keys list: %v\n%s", err, list)
	}

	n, base := startSingle(t, dir)
	defer n.Stop(t)
	if st := harness.Do(t, "GET", base+"/api/v1/links", ro, nil, nil); st != 200 {
		t.Fatalf("links:read key reading links: %d", st)
	}
	if st := harness.Do(t, "POST", base+"/api/v1/links", ro, map[string]any{"url": "https://example.com/"}, nil); st != 403 {
		t.Fatalf("links:read key creating a link: %d, want 403", st)
	}
	var k struct{ ID, Key string }
	if st := harness.Do(t, "POST", base+"/api/v1/keys", testKey, map[string]any{"name": "live", "scopes": []string{"links:write"}}, &k); st != 201 || k.Key == "" {
		t.Fatalf("POST /api/v1/keys with the initial key: %d %+v", st, k)
	}
	if st := harness.Do(t, "POST", base+"/api/v1/links", k.Key, map[string]any{"url": "https://example.com/"}, nil); st != 201 {
		t.Fatalf("key created through the API: %d", st)
	}
	if st := harness.Do(t, "DELETE", base+"/api/v1/keys/"+k.ID, testKey, nil, nil); st != 204 {
		t.Fatalf("DELETE /api/v1/keys: %d", st)
	}
	if st := harness.Do(t, "POST", base+"/api/v1/links", k.Key, map[string]any{"url": "https://example.com/"}, nil); st != 401 {
		t.Fatalf("revoked key: %d, want 401", st)
	}
}

// TestServe_MetricsAddrToken: --metrics-addr moves /metrics to its own
// listener and --metrics-token guards it.
func TestServe_MetricsAddrToken(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the real binary")
	}
	addr := fmt.Sprintf("127.0.0.1:%d", harness.FreePort(t, "127.0.0.1"))
	maddr := fmt.Sprintf("127.0.0.1:%d", harness.FreePort(t, "127.0.0.1"))
	n := harness.StartNode(t, harness.NodeConfig{Name: "metrics", HTTPAddr: addr,
		Args: []string{"--http-addr", addr, "--data-dir", t.TempDir(), "--metrics-addr", maddr},
		Env:  []string{"MINIBITLY_METRICS_TOKEN=tok-123456"}})
	defer n.Stop(t)
	get := func(url, token string) (int, string) { return getWithToken(t, url, token) }
	if st, _ := get("http://"+addr+"/metrics", "tok-123456"); st != 404 {
		t.Errorf("/metrics on --http-addr: %d, want 404", st)
	}
	if st, _ := get("http://"+maddr+"/metrics", ""); st != 401 {
		t.Errorf("/metrics without the token: %d, want 401", st)
	}
	if st, body := get("http://"+maddr+"/metrics", "tok-123456"); st != 200 || !strings.Contains(body, "minibitly_") {
		t.Errorf("/metrics with the token: %d %.200s", st, body)
	}
}

// TestServe_PprofAddr: --pprof-addr serves Go's profiles on its own
// listener, and only there.
func TestServe_PprofAddr(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the real binary")
	}
	addr := fmt.Sprintf("127.0.0.1:%d", harness.FreePort(t, "127.0.0.1"))
	paddr := fmt.Sprintf("127.0.0.1:%d", harness.FreePort(t, "127.0.0.1"))
	n := harness.StartNode(t, harness.NodeConfig{Name: "pprof", HTTPAddr: addr,
		Args: []string{"--http-addr", addr, "--data-dir", t.TempDir(), "--pprof-addr", paddr}})
	defer n.Stop(t)
	get := func(url string) (int, string) { return getWithToken(t, url, "") }
	if st, body := get("http://" + paddr + "/debug/pprof/heap?debug=1"); st != 200 || !strings.Contains(body, "heap profile") {
		t.Errorf("heap profile on --pprof-addr: %d %.200s", st, body)
	}
	if st, _ := get("http://" + paddr + "/metrics"); st != 404 {
		t.Errorf("/metrics on --pprof-addr: %d, want 404 (profiles only)", st)
	}
	if st, _ := get("http://" + addr + "/debug/pprof/heap"); st != 404 {
		t.Errorf("/debug/pprof/heap on --http-addr: %d, want 404", st)
	}
}

// getWithToken GETs url (with a bearer token unless token is empty) and
// returns the status and body.
func getWithToken(t *testing.T, url, token string) (int, string) {
	t.Helper()
	req, err := http.NewRequest("GET", url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := harness.Client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}
