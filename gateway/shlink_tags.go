package gateway

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"

	"github.com/minibitly/minibitly/storage"
	"github.com/valyala/fasthttp"
)

// Tag rename and delete. A tag is not a record here, only a value on
// links: both rewrite the tags of every link carrying it (found through
// the store's tag filter, so with no scan bound), one UpdateLink per link.
// Every input is validated before the first write; a store failure half-way
// leaves some links changed, and repeating the request finishes the job
// (both are idempotent).

// linksWithTag returns the codes of every link carrying tag.
func (s *Server) linksWithTag(c context.Context, tag string, limit int) ([]string, error) {
	var codes []string
	q := storage.ListQuery{Limit: maxListSize, Tag: tag}
	for {
		links, next, err := s.d.Links.ListLinks(c, q)
		if err != nil {
			return nil, err
		}
		for _, l := range links {
			codes = append(codes, l.Code)
			if limit > 0 && len(codes) >= limit {
				return codes, nil
			}
		}
		if next == "" {
			return codes, nil
		}
		q.Cursor = next
	}
}

// retag replaces the tag old by repl (nil: removes it) on every link that
// carries it.
func (s *Server) retag(c context.Context, old string, repl []string) error {
	codes, err := s.linksWithTag(c, old, 0)
	if err != nil {
		return err
	}
	for _, code := range codes {
		l, err := s.d.Links.GetLink(c, code)
		if err != nil {
			if errNotFound(err) {
				continue // deleted meanwhile
			}
			return err
		}
		tags := make([]string, 0, len(l.Tags))
		for _, t := range l.Tags {
			switch {
			case t != old:
				if !slices.Contains(tags, t) {
					tags = append(tags, t)
				}
			default:
				for _, r := range repl {
					if !slices.Contains(tags, r) && !slices.Contains(l.Tags, r) {
						tags = append(tags, r)
					}
				}
			}
		}
		if _, err := s.d.Links.UpdateLink(c, code, storage.LinkPatch{Tags: &tags}); err != nil && !errNotFound(err) {
			return err
		}
		s.d.Resolver.LinkChanged(c, code)
	}
	return nil
}

func (s *Server) shlinkRenameTag(c context.Context, ctx *fasthttp.RequestCtx, _ string) error {
	body, err := shlinkBody(ctx)
	if err != nil {
		return err
	}
	oldName, err := shlinkField[string](body, "oldName", "a string")
	if err != nil {
		return err
	}
	newName, err := shlinkField[string](body, "newName", "a string")
	if err != nil {
		return err
	}
	switch {
	case !oldName.Set || oldName.Null || oldName.V == "":
		return shlinkInvalid("oldName", "is required")
	case !newName.Set || newName.Null || newName.V == "":
		return shlinkInvalid("newName", "is required")
	case !validTag(newName.V):
		return shlinkInvalid("newName", "must be 1 to %d characters of A-Z, a-z, 0-9, '_', '-', ':' and '.', got %q", maxTagLen, newName.V)
	}
	if !validTag(oldName.V) {
		return errorf(http.StatusNotFound, "tag_not_found", fmt.Sprintf("Tag with name %q could not be found", excerpt(oldName.V)))
	}
	if oldName.V == newName.V {
		ctx.SetStatusCode(http.StatusNoContent)
		return nil
	}
	if has, err := s.linksWithTag(c, oldName.V, 1); err != nil {
		return err
	} else if len(has) == 0 {
		return errorf(http.StatusNotFound, "tag_not_found", fmt.Sprintf("Tag with name %q could not be found", excerpt(oldName.V)))
	}
	if has, err := s.linksWithTag(c, newName.V, 1); err != nil {
		return err
	} else if len(has) > 0 {
		return errorf(http.StatusConflict, "tag_conflict", fmt.Sprintf("You cannot rename tag %s to %s, because it already exists", excerpt(oldName.V), excerpt(newName.V)))
	}
	if err := s.retag(c, oldName.V, []string{newName.V}); err != nil {
		return err
	}
	ctx.SetStatusCode(http.StatusNoContent)
	return nil
}

func (s *Server) shlinkDeleteTags(c context.Context, ctx *fasthttp.RequestCtx, _ string) error {
	tags := queryList(ctx, "tags")
	if len(tags) > maxListSize {
		return shlinkInvalid("tags", "at most %d tags per request", maxListSize)
	}
	for _, t := range tags {
		if !validTag(t) {
			continue // no link carries it
		}
		if err := s.retag(c, t, nil); err != nil {
			return err
		}
	}
	ctx.SetStatusCode(http.StatusNoContent)
	return nil
}

func errNotFound(err error) bool { return errors.Is(err, storage.ErrNotFound) }
