package main

import (
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/minibitly/minibitly/internal/harness"
)

// The destination blocklist on a real node: a link to a domain added to
// the file redirects until SIGHUP, then answers 410 and cannot be created
// again; a broken file keeps the list; emptying it restores the link.
func TestBlocklist_ReloadOnSIGHUP(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a node")
	}
	list := filepath.Join(t.TempDir(), "blocklist.txt")
	write := func(body string) {
		if err := os.WriteFile(list, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("# nothing blocked yet\nother.example\n")
	addr := fmt.Sprintf("127.0.0.1:%d", harness.FreePort(t, "127.0.0.1"))
	node := harness.StartNode(t, harness.NodeConfig{Name: "blocklist", HTTPAddr: addr,
		Args: []string{"--http-addr", addr, "--data-dir", t.TempDir(), "--blocklist", list},
		Env:  []string{"MINIBITLY_INITIAL_API_KEY=" + testKey}})
	base := "http://" + addr
	create := func(code, url string) (int, string) {
		var out struct {
			Error struct{ Message string } `json:"error"`
		}
		st := harness.Do(t, http.MethodPost, base+"/api/v1/links", testKey, map[string]any{"code": code, "url": url}, &out)
		return st, out.Error.Message
	}
	redirect := func(code string) int {
		resp, err := harness.Client.Get(base + "/" + code)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if st, msg := create("blk", "https://sub.evil.example/login"); st != http.StatusCreated {
		t.Fatalf("create before blocking = %d %s", st, msg)
	}
	if st, _ := create("oth", "https://www.other.example/"); st != http.StatusUnprocessableEntity {
		t.Fatalf("create of a link to a listed domain's subdomain = %d, want 422", st)
	}
	if st := redirect("blk"); st != http.StatusFound {
		t.Fatalf("redirect before blocking = %d", st)
	}
	hup := func() {
		t.Helper()
		if err := node.Signal(syscall.SIGHUP); err != nil {
			t.Fatal(err)
		}
	}
	write("evil.example\n")
	hup()
	harness.Eventually(t, 10*time.Second, func() error {
		if st := redirect("blk"); st != http.StatusGone {
			return fmt.Errorf("redirect after SIGHUP = %d, want 410", st)
		}
		return nil
	})
	if st, msg := create("blk2", "https://EVIL.example./x"); st != http.StatusUnprocessableEntity || !strings.Contains(msg, "blocklist") {
		t.Fatalf("create of a blocked destination = %d %q", st, msg)
	}
	// A broken file is reported and the previous list kept.
	write("evil.example\nnot a domain\n")
	hup()
	harness.Eventually(t, 10*time.Second, func() error {
		if !strings.Contains(node.Logs(), "blocklist reload failed") {
			return fmt.Errorf("no reload failure logged")
		}
		return nil
	})
	if st := redirect("blk"); st != http.StatusGone {
		t.Fatalf("a broken reload unblocked the link: %d", st)
	}
	write("")
	hup()
	harness.Eventually(t, 10*time.Second, func() error {
		if st := redirect("blk"); st != http.StatusFound {
			return fmt.Errorf("redirect after unblocking = %d, want 302", st)
		}
		return nil
	})
}

// A --blocklist that does not load stops the node at start.
func TestBlocklist_BadFileStopsStart(t *testing.T) {
	list := filepath.Join(t.TempDir(), "bad.txt")
	if err := os.WriteFile(list, []byte("ok.example\nbad domain\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := loadBlocklist(list, slog.New(slog.DiscardHandler))
	if err == nil || !strings.Contains(err.Error(), ":2:") {
		t.Fatalf("loadBlocklist of a bad file = %v, want an error naming line 2", err)
	}
}
