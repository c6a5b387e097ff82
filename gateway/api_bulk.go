package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sync"

	"github.com/minibitly/minibitly/internal/shortcode"
	"github.com/minibitly/minibitly/storage"
	"github.com/valyala/fasthttp"
)

type bulkIn struct {
	Links []json.RawMessage `json:"links"`
}

type bulkResult struct {
	Index  int          `json:"index"`
	Status int          `json:"status"`
	Link   *linkOut     `json:"link,omitempty"`
	Error  *errorDetail `json:"error,omitempty"`
}

type bulkOut struct {
	Created int          `json:"created"`
	Failed  int          `json:"failed"`
	Results []bulkResult `json:"results"`
}

// createLinksBulk creates up to maxBulkLinks links. Each item is decoded,
// validated and stored on its own: the answer is 200 whenever the request
// itself is well-formed, with one result per item, in order, whose status
// is 201 (and the link) or the 4xx/5xx the item would have had alone (and
// the error). A body that is not {"links": [...]} fails as a whole.
func (s *Server) createLinksBulk(c context.Context, ctx *fasthttp.RequestCtx, _ string) error {
	body, err := jsonBody(ctx)
	if err != nil {
		return err
	}
	items, itemErrs, err := decodeBulk(body)
	if err != nil {
		return err
	}
	now := apiNow()
	out := bulkOut{Results: make([]bulkResult, len(items))}
	links := make([]storage.Link, len(items))
	custom := make([]bool, len(items))
	pending := make([]int, 0, len(items)) // items to store
	for i := range items {
		out.Results[i] = bulkResult{Index: i}
		err := itemErrs[i]
		if err == nil {
			links[i], err = s.newLink(&items[i], now)
		}
		if err != nil {
			out.Results[i].fail(err)
			continue
		}
		custom[i] = links[i].Code != ""
		pending = append(pending, i)
	}
	for round := 0; len(pending) > 0; round++ {
		batch := make([]storage.Link, len(pending))
		for j, i := range pending {
			if !custom[i] {
				code, err := shortcode.Generate()
				if err != nil {
					return err
				}
				links[i].Code = code
			}
			batch[j] = links[i]
		}
		errs, err := s.d.Links.CreateLinks(c, batch)
		if err == nil && len(errs) != len(batch) {
			err = fmt.Errorf("create links: %d results for %d links", len(errs), len(batch))
		}
		if err != nil {
			if round == 0 {
				return err // nothing was stored
			}
			for _, i := range pending {
				out.Results[i].fail(err)
			}
			break
		}
		var retry []int
		for j, i := range pending {
			switch e := errs[j]; {
			case e == nil:
				var zero uint64
				out.Results[i].Status = http.StatusCreated
				out.Results[i].Link = s.linkOut(&links[i], &zero)
				if custom[i] {
					s.d.Resolver.LinkChanged(c, links[i].Code)
				}
			case errors.Is(e, storage.ErrConflict) && custom[i]:
				out.Results[i].fail(errorf(http.StatusConflict, "code_taken", fmt.Sprintf("code %q is already taken (codes of deleted links are never reused)", links[i].Code)))
			case errors.Is(e, storage.ErrConflict) && round+1 < generateRetries:
				retry = append(retry, i)
			default:
				out.Results[i].fail(e)
			}
		}
		pending = retry
	}
	for _, r := range out.Results {
		if r.Status == http.StatusCreated {
			out.Created++
		} else {
			out.Failed++
		}
	}
	bp := bulkBufs.Get().(*[]byte)
	defer bulkBufs.Put(bp)
	b, ok := appendBulkOut((*bp)[:0], &out)
	if !ok {
		s.writeJSON(ctx, http.StatusOK, &out) // encoding/json says what it refuses
		return nil
	}
	*bp = b
	ctx.SetStatusCode(http.StatusOK)
	ctx.SetContentType("application/json")
	ctx.SetBody(b)
	return nil
}

// bulkBufs holds the buffers bulk answers are encoded in (a 1000-link
// answer is about 400 KB).
var bulkBufs = sync.Pool{New: func() any { return new([]byte) }}

// decodeBulk decodes a bulk body: the whole body's error, or its items
// and, per item, the error that item fails alone with (nil for a decoded
// one). A plain body takes fastBulkLinks, anything else decodeStrict on
// the body and on each item.
func decodeBulk(body []byte) ([]linkIn, []error, error) {
	if items, ok := fastBulkLinks(body); ok {
		return items, make([]error, len(items)), nil
	}
	return strictBulkLinks(body)
}

// strictBulkLinks is decodeBulk by decodeStrict, for any body.
func strictBulkLinks(body []byte) ([]linkIn, []error, error) {
	var in bulkIn
	if err := decodeStrict(body, &in, ""); err != nil {
		return nil, nil, err
	}
	if in.Links == nil {
		return nil, nil, errorf(http.StatusUnprocessableEntity, "invalid_links", `field "links" is required: an array of link objects`)
	}
	if len(in.Links) > maxBulkLinks {
		return nil, nil, errorf(http.StatusUnprocessableEntity, "invalid_links", fmt.Sprintf("field \"links\" has %d items; the maximum is %d", len(in.Links), maxBulkLinks))
	}
	items := make([]linkIn, len(in.Links))
	errs := make([]error, len(in.Links))
	for i, raw := range in.Links {
		errs[i] = decodeStrict(raw, &items[i], "")
	}
	return items, errs, nil
}

func (r *bulkResult) fail(err error) {
	ae := toAPIError(err)
	d := ae.detail()
	r.Status, r.Error = ae.Status, &d
}
