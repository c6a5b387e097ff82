package actors

import (
	"errors"
	"fmt"

	"github.com/minibitly/minibitly/internal/nearcache"
	"github.com/minibitly/minibitly/proto/clusterpb"
	"github.com/minibitly/minibitly/storage"
)

// Conversions between the actor layer's values and their protobuf form
// (proto/cluster.proto) for messages that cross nodes.

func linkToProto(e *nearcache.Entry) *clusterpb.Link {
	return &clusterpb.Link{
		Code: e.Code, Url: string(e.Location), Status: int32(e.Status), ExpiresAt: e.ExpiresAt,
		Limited: e.Limited, ForwardQuery: e.ForwardQuery, Version: e.Version, CacheMaxAge: int32(e.CacheMaxAge),
		Disabled: e.Disabled,
	}
}

func linkFromProto(l *clusterpb.Link) *nearcache.Entry {
	e := &nearcache.Entry{
		Code: l.Code, Location: []byte(l.Url), Status: int(l.Status), ExpiresAt: l.ExpiresAt,
		Limited: l.Limited, ForwardQuery: l.ForwardQuery, Version: l.Version, CacheMaxAge: int(l.CacheMaxAge),
		Disabled: l.Disabled,
	}
	if e.CacheMaxAge >= 0 {
		e.CacheControl = nearcache.CacheControlValue(e.CacheMaxAge)
	}
	return e
}

func replyToProto(r *resolveReply) *clusterpb.ResolveResponse {
	out := &clusterpb.ResolveResponse{Admitted: r.admitted}
	switch {
	case r.err == nil:
		out.Link = linkToProto(r.entry)
	case errors.Is(r.err, storage.ErrNotFound):
		out.Error = clusterpb.ErrorCode_NOT_FOUND
	default:
		out.Error, out.Message = clusterpb.ErrorCode_UNAVAILABLE, r.err.Error()
	}
	return out
}

func replyFromProto(p *clusterpb.ResolveResponse) (*resolveReply, error) {
	switch p.Error {
	case clusterpb.ErrorCode_OK:
		if p.Link == nil {
			return nil, fmt.Errorf("%w: owner sent no link", storage.ErrUnavailable)
		}
		return &resolveReply{entry: linkFromProto(p.Link), admitted: p.Admitted}, nil
	case clusterpb.ErrorCode_NOT_FOUND:
		return nil, storage.ErrNotFound
	}
	return nil, fmt.Errorf("%w: owner: %s", storage.ErrUnavailable, p.Message)
}

func rowsToProto(rows []storage.VisitCount) []*clusterpb.VisitRow {
	out := make([]*clusterpb.VisitRow, len(rows))
	for i, r := range rows {
		out[i] = &clusterpb.VisitRow{
			Code: r.Code, Minute: r.Minute, Referrer: r.Referrer, Device: r.Device, Browser: r.Browser,
			Os: r.OS, Country: r.Country, Bot: r.Bot, Visits: r.Visits,
		}
	}
	return out
}

func rowsFromProto(rows []*clusterpb.VisitRow) []storage.VisitCount {
	out := make([]storage.VisitCount, len(rows))
	for i, r := range rows {
		out[i] = storage.VisitCount{VisitKey: storage.VisitKey{
			Code: r.Code, Minute: r.Minute, Referrer: r.Referrer, Device: r.Device, Browser: r.Browser,
			OS: r.Os, Country: r.Country, Bot: r.Bot,
		}, Visits: r.Visits}
	}
	return out
}
