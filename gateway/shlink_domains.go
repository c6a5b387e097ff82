package gateway

import (
	"context"
	"net/http"
	"strconv"
	"strings"

	"github.com/minibitly/minibitly/internal/urlcheck"
	"github.com/minibitly/minibitly/storage"
	"github.com/valyala/fasthttp"
)

// Shlink's domains: the one domain served (--base-url's authority) and its
// "not found" redirects (special_redirects.go).

type shlinkRedirects struct {
	BaseURLRedirect         *string `json:"baseUrlRedirect"`
	Regular404Redirect      *string `json:"regular404Redirect"`
	InvalidShortURLRedirect *string `json:"invalidShortUrlRedirect"`
}

func toShlinkRedirects(r storage.DomainRedirects) shlinkRedirects {
	p := func(s string) *string {
		if s == "" {
			return nil
		}
		return &s
	}
	return shlinkRedirects{BaseURLRedirect: p(r.BaseURL), Regular404Redirect: p(r.Regular404), InvalidShortURLRedirect: p(r.InvalidShortURL)}
}

// shlinkListDomains lists the default domain with its redirects, which are
// also the defaultRedirects (there is no other configuration to fall back
// to). It answers from this node's copy (at most Config.RedirectsRefresh
// old).
func (s *Server) shlinkListDomains(_ context.Context, ctx *fasthttp.RequestCtx, _ string) error {
	type domain struct {
		Domain    string          `json:"domain"`
		IsDefault bool            `json:"isDefault"`
		Redirects shlinkRedirects `json:"redirects"`
	}
	r := toShlinkRedirects(s.specialRedirect().stored)
	out := map[string]any{"domains": map[string]any{
		"data":             []domain{{Domain: s.shlinkDomain(), IsDefault: true, Redirects: r}},
		"defaultRedirects": r,
	}}
	s.writeJSON(ctx, http.StatusOK, out)
	return nil
}

// shlinkEditDomainRedirects is PATCH /domains/redirects, as Shlink's
// DomainRedirectsAction: domain is required; each of the three redirects
// is set by a URL, cleared by null and kept when absent. The answer is the
// three after the change. Only the default domain exists here: another
// one is domain-not-found. Each URL passes the long-URL rules (urlcheck:
// http(s), a host, not this service).
func (s *Server) shlinkEditDomainRedirects(c context.Context, ctx *fasthttp.RequestCtx, _ string) error {
	body, err := shlinkBody(ctx)
	if err != nil {
		return err
	}
	domain, err := shlinkField[string](body, "domain", "a string")
	if err != nil {
		return err
	}
	if domain.Null || strings.TrimSpace(domain.V) == "" {
		return shlinkInvalid("domain", "is required")
	}
	if !s.shlinkDefaultDomain(domain.V) {
		return errorf(http.StatusNotFound, "domain_not_found", "Domain with authority "+strconv.Quote(domain.V)+" could not be found")
	}
	type field struct {
		key string
		dst func(*storage.DomainRedirects) *string
		v   nullable[string]
	}
	fields := []field{
		{key: "baseUrlRedirect", dst: func(r *storage.DomainRedirects) *string { return &r.BaseURL }},
		{key: "regular404Redirect", dst: func(r *storage.DomainRedirects) *string { return &r.Regular404 }},
		{key: "invalidShortUrlRedirect", dst: func(r *storage.DomainRedirects) *string { return &r.InvalidShortURL }},
	}
	for i := range fields {
		f := &fields[i]
		if f.v, err = shlinkField[string](body, f.key, "a URL or null"); err != nil {
			return err
		}
		if f.v.Set && !f.v.Null {
			u, err := s.canonicalURL(f.v.V)
			if err != nil {
				return shlinkInvalid(f.key, "%s", strings.TrimPrefix(err.Error(), urlcheck.ErrInvalid.Error()+": "))
			}
			if s.d.Blocklist.BlockedURL(u) {
				return shlinkInvalid(f.key, "the destination's domain is on this service's blocklist")
			}
			f.v.V = u
		}
	}
	s.redirects.mu.Lock()
	defer s.redirects.mu.Unlock()
	r, err := s.d.Links.DomainRedirects(c) // the store's, not this node's copy: another node may have changed it
	if err != nil {
		return err
	}
	for _, f := range fields {
		switch {
		case !f.v.Set:
		case f.v.Null:
			*f.dst(&r) = ""
		default:
			*f.dst(&r) = f.v.V
		}
	}
	if err := s.d.Links.SetDomainRedirects(c, r); err != nil {
		return err
	}
	s.redirects.cur.Store(newSpecialRedirects(r, s.d.Blocklist))
	out := toShlinkRedirects(r)
	s.writeJSON(ctx, http.StatusOK, &out)
	return nil
}
