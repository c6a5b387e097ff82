package storage

import (
	"context"
	"log/slog"
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
		for i, e := range errs {
			if e == nil && i < len(ls) {
				s.record(ctx, "link.create", "code", ls[i].Code, "url", ls[i].URL, "bulk", true)
			}
		}
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
