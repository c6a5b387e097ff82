package main

import (
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
