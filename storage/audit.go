package storage

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"sync"
	"time"
)

// actorKey is the context key of the actor of a change (WithActor).
type actorKey struct{}

// WithActor returns ctx carrying who makes the changes done with it, as
// the audit log names them: "key:<id>" for an API key, "cli" for the
// command line, "system" for the service itself.
func WithActor(ctx context.Context, actor string) context.Context {
	return context.WithValue(ctx, actorKey{}, actor)
}

// ActorFrom is the actor WithActor put in ctx, or "unknown".
func ActorFrom(ctx context.Context) string {
	if a, ok := ctx.Value(actorKey{}).(string); ok {
		return a
	}
	return "unknown"
}

// Audited wraps a link store and a key store so every successful change
// writes one audit line (JSON through log, message "audit"): who
// (ActorFrom), what (action and the code or key id), when (time, UTC).
// Failed writes are not logged here: nothing changed. Reads pass through.
// A key's secret never reaches the log: only its id, name and prefix.
func Audited(links LinkStore, keys KeyStore, log *slog.Logger, now func() time.Time) (LinkStore, KeyStore) {
	a := auditor{log: log, now: now}
	var ls LinkStore
	if links != nil {
		ls = auditedLinks{LinkStore: links, auditor: a}
	}
	var ks KeyStore
	if keys != nil {
		ks = auditedKeys{KeyStore: keys, auditor: a}
	}
	return ls, ks
}

type auditor struct {
	log *slog.Logger
	now func() time.Time
}

func (a auditor) record(ctx context.Context, action string, attrs ...any) {
	a.log.LogAttrs(ctx, slog.LevelInfo, "audit", append([]slog.Attr{
		slog.String("actor", ActorFrom(ctx)),
		slog.String("action", action),
		slog.Time("at", a.now().UTC()),
	}, argsToAttrs(attrs)...)...)
}

// recordCreates writes one "link.create" line per link of a bulk create
// that was stored (errs[i] nil): the lines record would write, in one
// Write when the logger's handler is an *AuditHandler.
func (a auditor) recordCreates(ctx context.Context, ls []Link, errs []error) {
	h := a.log.Handler()
	if !h.Enabled(ctx, slog.LevelInfo) {
		return
	}
	actor, at := ActorFrom(ctx), a.now().UTC()
	recs := make([]slog.Record, 0, len(ls))
	for i, e := range errs {
		if e != nil || i >= len(ls) {
			continue
		}
		r := slog.NewRecord(time.Now(), slog.LevelInfo, "audit", 0)
		r.AddAttrs(slog.String("actor", actor), slog.String("action", "link.create"), slog.Time("at", at),
			slog.String("code", ls[i].Code), slog.String("url", ls[i].URL), slog.Bool("bulk", true))
		recs = append(recs, r)
	}
	if bh, ok := h.(*AuditHandler); ok {
		_ = bh.HandleBatch(ctx, recs) // like LogAttrs: a log line that cannot be written is not the change's error
		return
	}
	for _, r := range recs {
		_ = h.Handle(ctx, r)
	}
}

// AuditHandler is the audit log's slog.Handler: JSON lines to w, each with
// attrs, as slog.NewJSONHandler(w, nil).WithAttrs(attrs) writes them; and
// HandleBatch writes several records with one Write, so a bulk create's
// lines cost one system call, not one each (they were a quarter of a bulk
// create's CPU: issue 13's profile). WithAttrs and WithGroup return a
// plain JSON handler.
type AuditHandler struct {
	w     io.Writer
	attrs []slog.Attr
	h     slog.Handler
}

// NewAuditHandler returns an AuditHandler writing to w.
func NewAuditHandler(w io.Writer, attrs ...slog.Attr) *AuditHandler {
	return &AuditHandler{w: w, attrs: attrs, h: slog.NewJSONHandler(w, nil).WithAttrs(attrs)}
}

func (h *AuditHandler) Enabled(ctx context.Context, l slog.Level) bool  { return h.h.Enabled(ctx, l) }
func (h *AuditHandler) Handle(ctx context.Context, r slog.Record) error { return h.h.Handle(ctx, r) }
func (h *AuditHandler) WithAttrs(as []slog.Attr) slog.Handler           { return h.h.WithAttrs(as) }
func (h *AuditHandler) WithGroup(name string) slog.Handler              { return h.h.WithGroup(name) }

// HandleBatch writes recs, one line each, with one Write to w.
func (h *AuditHandler) HandleBatch(ctx context.Context, recs []slog.Record) error {
	if len(recs) == 0 {
		return nil
	}
	buf := auditBufs.Get().(*bytes.Buffer)
	defer auditBufs.Put(buf)
	buf.Reset()
	bh := slog.NewJSONHandler(buf, nil).WithAttrs(h.attrs)
	for _, r := range recs {
		if err := bh.Handle(ctx, r); err != nil {
			return err
		}
	}
	_, err := h.w.Write(buf.Bytes())
	return err
}

var auditBufs = sync.Pool{New: func() any { return new(bytes.Buffer) }}

func argsToAttrs(args []any) []slog.Attr {
	out := make([]slog.Attr, 0, len(args)/2)
	for i := 0; i+1 < len(args); i += 2 {
		out = append(out, slog.Any(args[i].(string), args[i+1]))
	}
	return out
}

type auditedLinks struct {
	LinkStore
	auditor
}

func (s auditedLinks) CreateLink(ctx context.Context, l Link) error {
	err := s.LinkStore.CreateLink(ctx, l)
	if err == nil {
		s.record(ctx, "link.create", "code", l.Code, "url", l.URL)
	}
	return err
}

func (s auditedLinks) CreateLinks(ctx context.Context, ls []Link) ([]error, error) {
	errs, err := s.LinkStore.CreateLinks(ctx, ls)
	if err == nil {
		s.recordCreates(ctx, ls, errs)
	}
	return errs, err
}

func (s auditedLinks) UpdateLink(ctx context.Context, code string, p LinkPatch) (Link, error) {
	l, err := s.LinkStore.UpdateLink(ctx, code, p)
	if err == nil {
		attrs := []any{"code", code, "fields", patchFields(p), "version", l.Version}
		if p.URL != nil {
			attrs = append(attrs, "url", l.URL)
		}
		s.record(ctx, "link.update", attrs...)
	}
	return l, err
}

func (s auditedLinks) DeleteLink(ctx context.Context, code string) error {
	err := s.LinkStore.DeleteLink(ctx, code)
	if err == nil {
		s.record(ctx, "link.delete", "code", code)
	}
	return err
}

func (s auditedLinks) SetDomainRedirects(ctx context.Context, r DomainRedirects) error {
	err := s.LinkStore.SetDomainRedirects(ctx, r)
	if err == nil {
		s.record(ctx, "domain.redirects", "base_url", r.BaseURL, "regular_404", r.Regular404, "invalid_short_url", r.InvalidShortURL)
	}
	return err
}

type auditedKeys struct {
	KeyStore
	auditor
}

func (s auditedKeys) CreateAPIKey(ctx context.Context, k APIKey) error {
	err := s.KeyStore.CreateAPIKey(ctx, k)
	if err == nil {
		s.record(ctx, "key.create", "key_id", k.ID, "name", k.Name, "prefix", k.Prefix)
	}
	return err
}

func (s auditedKeys) RevokeAPIKey(ctx context.Context, id string) error {
	err := s.KeyStore.RevokeAPIKey(ctx, id)
	if err == nil {
		s.record(ctx, "key.revoke", "key_id", id)
	}
	return err
}

// patchFields names the fields a patch sets, in the API's spelling.
func patchFields(p LinkPatch) []string {
	var f []string
	for _, c := range []struct {
		set  bool
		name string
	}{
		{p.URL != nil, "url"}, {p.Title != nil, "title"}, {p.Tags != nil, "tags"},
		{p.ExpiresAt != nil, "expires_at"}, {p.MaxVisits != nil, "max_visits"},
		{p.RedirectStatus != nil, "redirect_status"}, {p.ForwardQuery != nil, "forward_query"},
		{p.CacheMaxAge != nil, "cache_max_age"},
	} {
		if c.set {
			f = append(f, c.name)
		}
	}
	return f
}

// NoteLinkChanged forwards to the wrapped store when it is a ChangeNotifier
// (a replica-reading store must still hear of changes through the wrapper).
func (s auditedLinks) NoteLinkChanged(code string) {
	if n, ok := s.LinkStore.(ChangeNotifier); ok {
		n.NoteLinkChanged(code)
	}
}
