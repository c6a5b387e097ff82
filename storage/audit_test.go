package storage_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/minibitly/minibitly/storage"
	"github.com/minibitly/minibitly/storage/embedded"
)

// Every successful link and key change writes one JSON audit line naming
// who, what and when; failed writes and reads write none; no secret leaks.
func TestAudited_OneLinePerChange(t *testing.T) {
	cfg := embedded.DefaultConfig()
	cfg.Path = filepath.Join(t.TempDir(), "a.db")
	st, err := embedded.Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var buf bytes.Buffer
	at := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	links, keys := storage.Audited(st, st, slog.New(slog.NewJSONHandler(&buf, nil)), func() time.Time { return at })
	ctx := storage.WithActor(context.Background(), "key:k1")
	now := time.Now().UTC()
	l := storage.Link{Code: "abc", URL: "https://example.com/", RedirectStatus: 302, CacheMaxAge: -1, CreatedAt: now, UpdatedAt: now, Version: 1}
	if err := links.CreateLink(ctx, l); err != nil {
		t.Fatal(err)
	}
	if links.CreateLink(ctx, l) == nil { // conflict: nothing changed, no line
		t.Fatal("duplicate create succeeded")
	}
	u := "https://example.org/"
	if _, err := links.UpdateLink(ctx, "abc", storage.LinkPatch{URL: &u}); err != nil {
		t.Fatal(err)
	}
	if _, err := links.GetLink(ctx, "abc"); err != nil {
		t.Fatal(err)
	}
	if err := links.DeleteLink(ctx, "abc"); err != nil {
		t.Fatal(err)
	}
	if err := keys.CreateAPIKey(context.Background(), storage.APIKey{ID: "k2", Name: "ci", Hash: strings.Repeat("ab", 32), Prefix: "mb_abcd", CreatedAt: now}); err != nil {
		t.Fatal(err)
	}
	if err := keys.RevokeAPIKey(storage.WithActor(context.Background(), "cli"), "k2"); err != nil {
		t.Fatal(err)
	}
	var got []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("audit line is not JSON: %q", line)
		}
		got = append(got, m)
	}
	want := []struct{ actor, action, subject string }{
		{"key:k1", "link.create", "abc"}, {"key:k1", "link.update", "abc"}, {"key:k1", "link.delete", "abc"},
		{"unknown", "key.create", "k2"}, {"cli", "key.revoke", "k2"},
	}
	if len(got) != len(want) {
		t.Fatalf("%d audit lines, want %d:\n%s", len(got), len(want), buf.String())
	}
	for i, w := range want {
		m := got[i]
		subject, _ := m["code"].(string)
		if subject == "" {
			subject, _ = m["key_id"].(string)
		}
		if m["msg"] != "audit" || m["actor"] != w.actor || m["action"] != w.action || subject != w.subject || m["at"] != "2026-12-01T12:00:00Z" {
			t.Errorf("line %d = %v, want %+v", i, m, w)
		}
	}
	if f, _ := got[1]["fields"].([]any); len(f) != 1 || f[0] != "url" || got[1]["url"] != u {
		t.Errorf("update line does not say what changed: %v", got[1])
	}
	if strings.Contains(buf.String(), strings.Repeat("ab", 32)) {
		t.Error("a key hash reached the audit log")
	}
}

// notingLinks is a LinkStore that records NoteLinkChanged.
type notingLinks struct {
	storage.LinkStore
	noted []string
}

func (n *notingLinks) NoteLinkChanged(code string) { n.noted = append(n.noted, code) }

// The audit wrapper passes invalidations on to a store that reads a replica.
func TestAudited_ForwardsNoteLinkChanged(t *testing.T) {
	inner := &notingLinks{}
	links, _ := storage.Audited(inner, nil, slog.New(slog.DiscardHandler), time.Now)
	n, ok := links.(storage.ChangeNotifier)
	if !ok {
		t.Fatal("the audited store is no ChangeNotifier")
	}
	n.NoteLinkChanged("abc")
	if len(inner.noted) != 1 || inner.noted[0] != "abc" {
		t.Fatalf("noted %v, want [abc]", inner.noted)
	}
}
