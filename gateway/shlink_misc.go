package gateway

import (
	"context"
	"encoding/json"
	"net/http"
	"sort"

	"github.com/minibitly/minibitly/storage"
	"github.com/valyala/fasthttp"
)

// Shlink's tags, domains, visits overview and redirect rules, over the
// links of scanLinks (at most shlinkScanLimit).

func (s *Server) shlinkVisitsOverview(c context.Context, ctx *fasthttp.RequestCtx, _ string) error {
	var total shlinkVisitsSummary
	var serr error
	err := s.scanLinks(c, func(l *storage.Link) bool {
		v, err := s.shlinkSummary(c, l)
		if err != nil {
			serr = err
			return false
		}
		total.add(v)
		return true
	})
	if err == nil {
		err = serr
	}
	if err != nil {
		return err
	}
	orphans, err := s.orphanSummary(c) // orphan_visits.go
	if err != nil {
		return err
	}
	out := map[string]map[string]shlinkVisitsSummary{"visits": {
		"nonOrphanVisits": total,
		"orphanVisits":    orphans,
	}}
	s.writeJSON(ctx, http.StatusOK, out)
	return nil
}

type shlinkTagInfo struct {
	Tag            string              `json:"tag"`
	ShortURLsCount int                 `json:"shortUrlsCount"`
	VisitsSummary  shlinkVisitsSummary `json:"visitsSummary"`
}

// shlinkTags collects every tag of the scanned links; with visits, each
// link's summary is added to its tags'.
func (s *Server) shlinkTags(c context.Context, visits bool) ([]*shlinkTagInfo, error) {
	byTag := map[string]*shlinkTagInfo{}
	var serr error
	err := s.scanLinks(c, func(l *storage.Link) bool {
		if len(l.Tags) == 0 {
			return true
		}
		var v shlinkVisitsSummary
		if visits {
			if v, serr = s.shlinkSummary(c, l); serr != nil {
				return false
			}
		}
		for _, t := range l.Tags {
			ti := byTag[t]
			if ti == nil {
				ti = &shlinkTagInfo{Tag: t}
				byTag[t] = ti
			}
			ti.ShortURLsCount++
			ti.VisitsSummary.add(v)
		}
		return true
	})
	if err == nil {
		err = serr
	}
	if err != nil {
		return nil, err
	}
	out := make([]*shlinkTagInfo, 0, len(byTag))
	for _, ti := range byTag {
		out = append(out, ti)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Tag < out[j].Tag })
	return out, nil
}

func (s *Server) shlinkListTags(c context.Context, ctx *fasthttp.RequestCtx, _ string) error {
	page, per, err := shlinkPage(ctx, -1)
	if err != nil {
		return err
	}
	tags, err := s.shlinkTags(c, false)
	if err != nil {
		return err
	}
	lo, hi, pg := paginate(len(tags), page, per)
	names := make([]string, 0, hi-lo)
	for _, t := range tags[lo:hi] {
		names = append(names, t.Tag)
	}
	s.writeJSON(ctx, http.StatusOK, map[string]any{"tags": map[string]any{"data": names, "pagination": pg}})
	return nil
}

func (s *Server) shlinkTagsStats(c context.Context, ctx *fasthttp.RequestCtx, _ string) error {
	page, per, err := shlinkPage(ctx, -1)
	if err != nil {
		return err
	}
	tags, err := s.shlinkTags(c, true)
	if err != nil {
		return err
	}
	lo, hi, pg := paginate(len(tags), page, per)
	s.writeJSON(ctx, http.StatusOK, map[string]any{"tags": map[string]any{"data": tags[lo:hi], "pagination": pg}})
	return nil
}

type shlinkRedirectRules struct {
	DefaultLongURL string            `json:"defaultLongUrl"`
	RedirectRules  []json.RawMessage `json:"redirectRules"`
}

// shlinkGetRedirectRules: links have no redirect rules (yet), only their
// long URL.
func (s *Server) shlinkGetRedirectRules(c context.Context, ctx *fasthttp.RequestCtx, code string) error {
	l, err := s.shlinkLink(c, ctx, code)
	if err != nil {
		return err
	}
	s.writeJSON(ctx, http.StatusOK, &shlinkRedirectRules{DefaultLongURL: l.URL, RedirectRules: []json.RawMessage{}})
	return nil
}

// shlinkSetRedirectRules accepts "no rules" (what a link has) and refuses
// any rule with invalid-data, until rules are supported.
func (s *Server) shlinkSetRedirectRules(c context.Context, ctx *fasthttp.RequestCtx, code string) error {
	l, err := s.shlinkLink(c, ctx, code)
	if err != nil {
		return err
	}
	body, err := shlinkBody(ctx)
	if err != nil {
		return err
	}
	rules, err := shlinkField[[]json.RawMessage](body, "redirectRules", "an array of rules")
	if err != nil {
		return err
	}
	if len(rules.V) > 0 {
		return shlinkInvalid("redirectRules", "redirect rules are not supported by this server: a short URL always redirects to its long URL")
	}
	s.writeJSON(ctx, http.StatusOK, &shlinkRedirectRules{DefaultLongURL: l.URL, RedirectRules: []json.RawMessage{}})
	return nil
}
