package storage_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
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
	st := openAuditStore(t)
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

// A bulk create writes one line per stored link, the same through an
// AuditHandler (one Write) as through a plain JSON handler.
func TestAuditHandler_BulkLinesAsPlain(t *testing.T) {
	at := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	lines := func(h slog.Handler, written fmt.Stringer) []string {
		st := openAuditStore(t)
		links, _ := storage.Audited(st, st, slog.New(h), func() time.Time { return at })
		ls := []storage.Link{
			{Code: "a1", URL: "https://example.com/\"1"}, {Code: "a1", URL: "https://example.com/2"},
			{Code: "b2", URL: "https://example.com/é"},
		}
		if _, err := links.CreateLinks(storage.WithActor(context.Background(), "key:k1"), ls); err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, l := range strings.Split(strings.TrimSpace(written.String()), "\n") {
			var m map[string]any
			if err := json.Unmarshal([]byte(l), &m); err != nil {
				t.Fatalf("audit line is not JSON: %q", l)
			}
			delete(m, "time")
			b, _ := json.Marshal(m)
			out = append(out, string(b))
		}
		return out
	}
	plainBuf, batchBuf := new(bytes.Buffer), &countingBuffer{}
	plain := lines(slog.NewJSONHandler(plainBuf, nil).WithAttrs([]slog.Attr{slog.String("component", "audit")}), plainBuf)
	batch := lines(storage.NewAuditHandler(batchBuf, slog.String("component", "audit")), batchBuf)
	if len(plain) != 2 || strings.Join(plain, "\n") != strings.Join(batch, "\n") {
		t.Fatalf("plain handler:\n%s\naudit handler:\n%s", strings.Join(plain, "\n"), strings.Join(batch, "\n"))
	}
	if batchBuf.writes != 1 {
		t.Errorf("the audit handler wrote a bulk create's lines in %d writes, want 1", batchBuf.writes)
	}
}

type countingBuffer struct {
	bytes.Buffer
	writes int
}

func (b *countingBuffer) Write(p []byte) (int, error) { b.writes++; return b.Buffer.Write(p) }

// openAuditStore opens a real embedded store for the test, closed at its end.
func openAuditStore(t *testing.T) *embedded.Store {
	t.Helper()
	cfg := embedded.DefaultConfig()
	cfg.Path = filepath.Join(t.TempDir(), "a.db")
	st, err := embedded.Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}
