package main

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/minibitly/minibitly/internal/harness"
)

// compatBitlyDir holds the Node side of TestCompat_BitlyClient: the pinned
// bitly client (package.json, package-lock.json) and run.js.
const compatBitlyDir = "../../compat/bitly"

// TestCompat_BitlyClient runs the real `bitly` npm client (7.1.2) through
// shorten, expand, info, clicks, referrers and countries against a node serving its own TLS
// listener on 127.0.0.1:443 (the client only speaks https on 443) with a
// throwaway self-signed certificate, which Node trusts through
// NODE_EXTRA_CA_CERTS. It needs root (port 443), node and npm.
func TestCompat_BitlyClient(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: runs node against a real node")
	}
	for _, bin := range []string{"node", "npm"} {
		if _, err := exec.LookPath(bin); err != nil {
			t.Fatalf("%s is not installed: run scripts/install-deps.sh (apt-get install nodejs npm)", bin)
		}
	}
	// The client builds https://<host>/v4/...: port 443 it is.
	if ln, err := net.Listen("tcp", "127.0.0.1:443"); err != nil {
		t.Fatalf("127.0.0.1:443: %v; the bitly client only speaks https on port 443: run as root (CI does), "+
			"or allow it (sysctl net.ipv4.ip_unprivileged_port_start=443), and free the port", err)
	} else {
		ln.Close()
	}
	dir := nodeModules(t)
	certFile, keyFile := selfSignedCert(t, t.TempDir())

	port := harness.FreePort(t, "127.0.0.1")
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	node := harness.StartNode(t, harness.NodeConfig{Name: "bitly-compat", HTTPAddr: addr,
		Args: []string{"--http-addr", addr, "--https-addr", "127.0.0.1:443",
			"--tls-cert", certFile, "--tls-key", keyFile, "--base-url", "https://127.0.0.1",
			"--data-dir", t.TempDir(), "--flush-interval", "100ms", "--batch-interval", "20ms"},
		Env: []string{"MINIBITLY_INITIAL_API_KEY=" + testKey}})

	const longURL = "https://example.com/compat/bitly?x=1"
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "node", "run.js")
	cmd.Dir = dir
	cmd.Env = append(envWithoutProxy(), "NODE_EXTRA_CA_CERTS="+certFile, "MB_HOST=127.0.0.1",
		"MB_KEY="+testKey, "MB_LONG_URL="+longURL, "MB_VISITS=3")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("node run.js: %v\nstderr:\n%s\nstdout:\n%s", err, stderr.String(), stdout.String())
	}

	type link struct {
		ID        string `json:"id"`
		Link      string `json:"link"`
		LongURL   string `json:"long_url"`
		CreatedAt string `json:"created_at"`
	}
	type clicks struct {
		LinkClicks []struct {
			Clicks int    `json:"clicks"`
			Date   string `json:"date"`
		} `json:"link_clicks"`
		Unit  string `json:"unit"`
		Units int    `json:"units"`
	}
	type bitlyErr struct {
		Message, Resource, Description string
		Errors                         []struct{ Field string }
	}
	var out struct {
		Shorten, Expand, Info link
		Redirects             []struct {
			Status   int
			Location string
		}
		Clicks, ClicksByMinute clicks
		Referrers, Countries   struct {
			Facet   string `json:"facet"`
			Metrics []struct {
				Value  string `json:"value"`
				Clicks int    `json:"clicks"`
			} `json:"metrics"`
		}
		Summary struct {
			TotalClicks int    `json:"total_clicks"`
			Unit        string `json:"unit"`
		}
		Unknown, BadURL, BadToken struct{ Err bitlyErr }
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("what the client returned (run.js):\n%s", stdout.String())
		}
	})
	dec := json.NewDecoder(bytes.NewReader(stdout.Bytes()))
	if err := dec.Decode(&out); err != nil {
		t.Fatalf("run.js output: %v\n%s", err, stdout.String())
	}
	id := out.Shorten.ID
	code, ok := strings.CutPrefix(id, "127.0.0.1/")
	if !ok || len(code) != 7 {
		t.Fatalf("shorten: id %q, want 127.0.0.1/<7-character code>", id)
	}
	if got := out.Shorten.LongURL; got != longURL {
		t.Errorf("shorten: long_url %q, want %q", got, longURL)
	}
	if out.Shorten.Link != "https://127.0.0.1/"+code {
		t.Errorf("shorten: link %q", out.Shorten.Link)
	}
	if _, err := time.Parse("2006-01-02T15:04:05-0700", out.Shorten.CreatedAt); err != nil {
		t.Errorf("shorten: created_at: %v", err)
	}
	for obj, l := range map[string]link{"expand": out.Expand, "info": out.Info} {
		if l.LongURL != longURL || l.ID != id || l.Link != out.Shorten.Link || l.CreatedAt != out.Shorten.CreatedAt {
			t.Errorf("%s: %+v, want the shortened link %+v", obj, l, out.Shorten)
		}
	}
	for i, r := range out.Redirects {
		if r.Status != 302 || r.Location != longURL {
			t.Errorf("redirect %d over TLS: %d to %q", i, r.Status, r.Location)
		}
	}
	sum := func(c clicks) int {
		n := 0
		for _, b := range c.LinkClicks {
			n += b.Clicks
		}
		return n
	}
	today := time.Now().UTC().Format("2006-01-02") + "T00:00:00+0000"
	if c := out.Clicks; sum(c) != 3 || c.Unit != "day" || c.Units != -1 || len(c.LinkClicks) == 0 || c.LinkClicks[0].Date != today || c.LinkClicks[0].Clicks != 3 {
		t.Errorf("clicks by day: %+v, want 3 clicks today (%s) first", c, today)
	}
	if c := out.ClicksByMinute; sum(c) != 3 || c.Unit != "minute" {
		t.Errorf("clicks by minute: %+v, want 3 in all", c)
	}
	if m := out.Referrers; m.Facet != "referrers" || len(m.Metrics) != 1 || m.Metrics[0].Value != "direct" || m.Metrics[0].Clicks != 3 {
		t.Errorf("referrers: %+v, want 3 direct", m)
	}
	if m := out.Countries; m.Facet != "countries" || len(m.Metrics) != 1 || m.Metrics[0].Value != "Unknown" || m.Metrics[0].Clicks != 3 {
		t.Errorf("countries: %+v, want 3 Unknown (no --country-header)", m)
	}
	if out.Summary.TotalClicks != 3 {
		t.Errorf("clicks summary: %+v, want 3", out.Summary)
	}
	if e := out.Unknown.Err; e.Message != "NOT_FOUND" || e.Resource != "bitlinks" {
		t.Errorf("info of an unknown bitlink threw %+v, want NOT_FOUND", e)
	}
	if e := out.BadURL.Err; e.Message != "INVALID_ARG_LONG_URL" || len(e.Errors) != 1 || e.Errors[0].Field != "long_url" {
		t.Errorf("shorten of a bad URL threw %+v, want INVALID_ARG_LONG_URL", e)
	}
	if e := out.BadToken.Err; e.Message != "FORBIDDEN" {
		t.Errorf("a wrong token threw %+v, want FORBIDDEN", e)
	}
	// SIGTERM stops both listeners and exits 0.
	node.Stop(t)
	if c, err := net.DialTimeout("tcp", "127.0.0.1:443", time.Second); err == nil {
		c.Close()
		t.Error("the TLS listener still accepts after shutdown")
	}
}

// nodeModules returns a directory with run.js and the pinned client
// installed: compat/bitly itself when its node_modules has the client,
// else a copy in the test's temp dir after `npm ci`.
func nodeModules(t *testing.T) string {
	t.Helper()
	if _, err := os.Stat(filepath.Join(compatBitlyDir, "node_modules", "bitly", "package.json")); err == nil {
		return compatBitlyDir
	}
	dir := t.TempDir()
	for _, f := range []string{"package.json", "package-lock.json", "run.js"} {
		b, err := os.ReadFile(filepath.Join(compatBitlyDir, f))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, f), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cmd := exec.Command("npm", "ci", "--no-audit", "--no-fund")
	cmd.Dir = dir
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("npm ci in a copy of %s: %v\n%s", compatBitlyDir, err, b)
	}
	return dir
}

// selfSignedCert writes a throwaway certificate for 127.0.0.1 and
// localhost, and its key, as PEM files in dir.
func selfSignedCert(t *testing.T, dir string) (certFile, keyFile string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(time.Now().UnixNano()),
		Subject:               pkix.Name{CommonName: "minibitly test"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		IPAddresses:           []net.IP{net.ParseIP("127.0.0.1")},
		DNSNames:              []string{"localhost"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}), 0o600); err != nil {
		t.Fatal(err)
	}
	return certFile, keyFile
}

// envWithoutProxy is the environment without proxy settings: the client
// (axios) would send requests for 127.0.0.1 to a proxy.
func envWithoutProxy() []string {
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if strings.HasSuffix(strings.ToLower(k), "_proxy") {
			continue
		}
		env = append(env, kv)
	}
	return env
}
