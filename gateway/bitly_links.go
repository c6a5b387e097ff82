package gateway

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"time"

	"github.com/minibitly/minibitly/storage"
	"github.com/valyala/fasthttp"
)

// bitlyTime is Bitly's timestamp layout: 2006-01-02T15:04:05+0000.
const bitlyTime = "2006-01-02T15:04:05-0700"

// bitlinkOut is Bitly's BitlyLink object.
type bitlinkOut struct {
	CreatedAt      string            `json:"created_at"`
	ID             string            `json:"id"`
	Link           string            `json:"link"`
	CustomBitlinks []string          `json:"custom_bitlinks"`
	LongURL        string            `json:"long_url"`
	Title          string            `json:"title"`
	Archived       bool              `json:"archived"`
	Tags           []string          `json:"tags"`
	Deeplinks      []struct{}        `json:"deeplinks"`
	References     map[string]string `json:"references"`
}

func (s *Server) bitlinkOut(l *storage.Link) *bitlinkOut {
	o := &bitlinkOut{
		CreatedAt:      l.CreatedAt.UTC().Format(bitlyTime),
		ID:             s.bitlyDomain + "/" + l.Code,
		Link:           strings.TrimSuffix(s.cfg.BaseURL, "/") + "/" + l.Code,
		CustomBitlinks: []string{},
		LongURL:        l.URL,
		Title:          l.Title,
		Tags:           l.Tags,
		Deeplinks:      []struct{}{},
		References:     map[string]string{},
	}
	if o.Tags == nil {
		o.Tags = []string{}
	}
	return o
}

// bitlinkIn is the body of POST /v4/shorten (long_url, domain,
// group_guid) and POST /v4/bitlinks (also title, tags, deeplinks and the
// custom back-half, keyword). group_guid is accepted and ignored (one
// group); deeplinks must be empty.
type bitlinkIn struct {
	LongURL   nullable[string]   `json:"long_url"`
	Domain    nullable[string]   `json:"domain"`
	GroupGUID nullable[string]   `json:"group_guid"`
	Title     nullable[string]   `json:"title"`
	Tags      nullable[[]string] `json:"tags"`
	Keyword   nullable[string]   `json:"keyword"`
	Deeplinks json.RawMessage    `json:"deeplinks"`
}

// shortenIn is the body of POST /v4/shorten.
type shortenIn struct {
	LongURL   nullable[string] `json:"long_url"`
	Domain    nullable[string] `json:"domain"`
	GroupGUID nullable[string] `json:"group_guid"`
}

// checkDomain refuses a "domain" that is not this service's.
func (s *Server) checkDomain(d nullable[string]) error {
	if d.Set && !d.Null && !s.ourDomain(d.V) {
		return fieldError(http.StatusUnprocessableEntity, "domain", "%s is not served here; use %q (or %q)", quoteShort(d.V), s.bitlyDomain, bitlyAlias)
	}
	return nil
}

func (s *Server) bitlyShorten(c context.Context, ctx *fasthttp.RequestCtx, _ string) error {
	body, err := jsonBody(ctx)
	if err != nil {
		return err
	}
	var in shortenIn
	if err := decodeStrict(body, &in, ""); err != nil {
		return err
	}
	return s.bitlyStore(c, ctx, &bitlinkIn{LongURL: in.LongURL, Domain: in.Domain, GroupGUID: in.GroupGUID})
}

func (s *Server) bitlyCreate(c context.Context, ctx *fasthttp.RequestCtx, _ string) error {
	body, err := jsonBody(ctx)
	if err != nil {
		return err
	}
	var in bitlinkIn
	if err := decodeStrict(body, &in, ""); err != nil {
		return err
	}
	return s.bitlyStore(c, ctx, &in)
}

// bitlyStore creates the link of a shorten or create body through
// storeNewLink, answering 201 with the bitlink. Bitly answers 200 with an
// existing bitlink for a long URL shortened before; here every call makes
// a new link.
func (s *Server) bitlyStore(c context.Context, ctx *fasthttp.RequestCtx, in *bitlinkIn) error {
	if err := s.checkDomain(in.Domain); err != nil {
		return err
	}
	if d := strings.TrimSpace(string(in.Deeplinks)); d != "" && d != "null" && d != "[]" {
		return fieldError(http.StatusUnprocessableEntity, "deeplinks", "deep links are not supported; send none")
	}
	if !in.LongURL.Set || in.LongURL.Null {
		return fieldError(http.StatusUnprocessableEntity, "url", "is required")
	}
	li := linkIn{URL: in.LongURL, Title: in.Title, Tags: in.Tags}
	if in.Keyword.Set && !in.Keyword.Null {
		li.Code = in.Keyword
	}
	l, err := s.storeNewLink(c, &li)
	if err != nil {
		return err
	}
	s.writeJSON(ctx, http.StatusCreated, s.bitlinkOut(&l))
	return nil
}

func (s *Server) bitlyGet(c context.Context, ctx *fasthttp.RequestCtx, id string) error {
	code, err := s.bitlinkCode(id)
	if err != nil {
		return err
	}
	l, err := s.d.Links.GetLink(c, code)
	if err != nil {
		return notFoundLink(code, err)
	}
	s.writeJSON(ctx, http.StatusOK, s.bitlinkOut(&l))
	return nil
}

// bitlinkPatch is the body of PATCH /v4/bitlinks/{bitlink}: title, tags
// and long_url change the link; a client may send back the whole object it
// read, so the read-only fields of BitlyLink are accepted and ignored;
// archived may only be false (archiving is not supported).
type bitlinkPatch struct {
	LongURL        nullable[string]   `json:"long_url"`
	Title          nullable[string]   `json:"title"`
	Tags           nullable[[]string] `json:"tags"`
	Archived       nullable[bool]     `json:"archived"`
	ID             json.RawMessage    `json:"id"`
	Link           json.RawMessage    `json:"link"`
	CreatedAt      json.RawMessage    `json:"created_at"`
	CreatedBy      json.RawMessage    `json:"created_by"`
	ClientID       json.RawMessage    `json:"client_id"`
	CustomBitlinks json.RawMessage    `json:"custom_bitlinks"`
	Deeplinks      json.RawMessage    `json:"deeplinks"`
	References     json.RawMessage    `json:"references"`
}

func (s *Server) bitlyPatch(c context.Context, ctx *fasthttp.RequestCtx, id string) error {
	code, err := s.bitlinkCode(id)
	if err != nil {
		return err
	}
	body, err := jsonBody(ctx)
	if err != nil {
		return err
	}
	var in bitlinkPatch
	if err := decodeStrict(body, &in, ""); err != nil {
		return err
	}
	if in.Archived.Set && (in.Archived.Null || in.Archived.V) {
		return fieldError(http.StatusUnprocessableEntity, "archived", "archiving is not supported; delete the bitlink instead")
	}
	li := linkIn{URL: in.LongURL, Title: in.Title, Tags: in.Tags}
	var l storage.Link
	if li.URL.Set || li.Title.Set || li.Tags.Set {
		l, err = s.updateLink(c, code, &li)
	} else {
		// Nothing to change (e.g. the object sent back as read): Bitly
		// answers with the bitlink.
		l, err = s.d.Links.GetLink(c, code)
		err = notFoundLink(code, err)
	}
	if err != nil {
		return err
	}
	s.writeJSON(ctx, http.StatusOK, s.bitlinkOut(&l))
	return nil
}

type bitlinkRef struct {
	ID   string `json:"id"`
	Link string `json:"link"`
}

func (s *Server) bitlyDelete(c context.Context, ctx *fasthttp.RequestCtx, id string) error {
	code, err := s.bitlinkCode(id)
	if err != nil {
		return err
	}
	if err := s.removeLink(c, code); err != nil {
		return err
	}
	s.writeJSON(ctx, http.StatusOK, map[string][]bitlinkRef{"links_deleted": {{
		ID: s.bitlyDomain + "/" + code, Link: strings.TrimSuffix(s.cfg.BaseURL, "/") + "/" + code,
	}}})
	return nil
}

// expandIn is the body of POST /v4/expand.
type expandIn struct {
	BitlinkID nullable[string] `json:"bitlink_id"`
	Domain    nullable[string] `json:"domain"`
}

type expandOut struct {
	CreatedAt string `json:"created_at"`
	Link      string `json:"link"`
	ID        string `json:"id"`
	LongURL   string `json:"long_url"`
}

func (s *Server) bitlyExpand(c context.Context, ctx *fasthttp.RequestCtx, _ string) error {
	body, err := jsonBody(ctx)
	if err != nil {
		return err
	}
	var in expandIn
	if err := decodeStrict(body, &in, ""); err != nil {
		return err
	}
	if !in.BitlinkID.Set || in.BitlinkID.Null || in.BitlinkID.V == "" {
		return fieldError(http.StatusUnprocessableEntity, "bitlink_id", "is required (%s/<code>)", s.bitlyDomain)
	}
	code, err := s.bitlinkCode(in.BitlinkID.V)
	if err != nil {
		return err
	}
	l, err := s.d.Links.GetLink(c, code)
	if err != nil {
		return notFoundLink(code, err)
	}
	b := s.bitlinkOut(&l)
	s.writeJSON(ctx, http.StatusOK, &expandOut{CreatedAt: b.CreatedAt, Link: b.Link, ID: b.ID, LongURL: b.LongURL})
	return nil
}

type userOut struct {
	Login            string     `json:"login"`
	Name             string     `json:"name"`
	IsActive         bool       `json:"is_active"`
	Created          string     `json:"created"`
	Modified         string     `json:"modified"`
	IsSSOUser        bool       `json:"is_sso_user"`
	Is2FAEnabled     bool       `json:"is_2fa_enabled"`
	DefaultGroupGUID string     `json:"default_group_guid"`
	Emails           []struct{} `json:"emails"`
}

// bitlyGroupGUID is the one group every link belongs to.
const bitlyGroupGUID = "minibitly"

// bitlyUser answers GET /v4/user with the API key as the user.
func (s *Server) bitlyUser(c context.Context, ctx *fasthttp.RequestCtx, _ string) error {
	k, err := keyOf(c)
	if err != nil {
		return err
	}
	created := k.CreatedAt.UTC().Truncate(time.Second).Format(bitlyTime)
	s.writeJSON(ctx, http.StatusOK, &userOut{
		Login: k.Name, Name: k.Name, IsActive: true, Created: created, Modified: created,
		DefaultGroupGUID: bitlyGroupGUID, Emails: []struct{}{},
	})
	return nil
}
