package gateway

import (
	"strconv"

	"github.com/minibitly/minibitly/internal/jsonenc"
)

// Append-style encoding of the bulk create's answer: the same bytes as
// writeJSON's encoding/json (SetEscapeHTML(false), a trailing newline),
// without reflection. encoding/json was 9 % of a bulk create's CPU (issue
// 13's profile). FuzzAppendBulkOut_AgreesWithJSON checks the agreement.

// appendBulkOut appends o's JSON and a newline; false when a value is one
// it leaves to encoding/json (a time outside years 0–9999, which
// encoding/json refuses).
func appendBulkOut(dst []byte, o *bulkOut) ([]byte, bool) {
	dst = append(dst, `{"created":`...)
	dst = strconv.AppendInt(dst, int64(o.Created), 10)
	dst = append(dst, `,"failed":`...)
	dst = strconv.AppendInt(dst, int64(o.Failed), 10)
	dst = append(dst, `,"results":`...)
	if o.Results == nil {
		dst = append(dst, "null"...)
	} else {
		dst = append(dst, '[')
		for i := range o.Results {
			if i > 0 {
				dst = append(dst, ',')
			}
			r := &o.Results[i]
			dst = append(dst, `{"index":`...)
			dst = strconv.AppendInt(dst, int64(r.Index), 10)
			dst = append(dst, `,"status":`...)
			dst = strconv.AppendInt(dst, int64(r.Status), 10)
			if r.Link != nil {
				var ok bool
				dst = append(dst, `,"link":`...)
				if dst, ok = appendLinkOut(dst, r.Link); !ok {
					return dst, false
				}
			}
			if r.Error != nil {
				dst = append(dst, `,"error":{"code":`...)
				dst = jsonenc.AppendString(dst, r.Error.Code, false)
				dst = append(dst, `,"message":`...)
				dst = jsonenc.AppendString(dst, r.Error.Message, false)
				dst = append(dst, '}')
			}
			dst = append(dst, '}')
		}
		dst = append(dst, ']')
	}
	return append(dst, "}\n"...), true
}

// appendLinkOut appends l's JSON object as encoding/json writes it.
func appendLinkOut(dst []byte, l *linkOut) ([]byte, bool) {
	var ok bool
	dst = append(dst, `{"code":`...)
	dst = jsonenc.AppendString(dst, l.Code, false)
	dst = append(dst, `,"short_url":`...)
	dst = jsonenc.AppendString(dst, l.ShortURL, false)
	dst = append(dst, `,"url":`...)
	dst = jsonenc.AppendString(dst, l.URL, false)
	dst = append(dst, `,"title":`...)
	dst = jsonenc.AppendString(dst, l.Title, false)
	dst = append(dst, `,"tags":`...)
	if l.Tags == nil {
		dst = append(dst, "null"...)
	} else {
		dst = append(dst, '[')
		for i, t := range l.Tags {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = jsonenc.AppendString(dst, t, false)
		}
		dst = append(dst, ']')
	}
	dst = append(dst, `,"created_at":`...)
	if dst, ok = jsonenc.AppendTime(dst, l.CreatedAt); !ok {
		return dst, false
	}
	dst = append(dst, `,"updated_at":`...)
	if dst, ok = jsonenc.AppendTime(dst, l.UpdatedAt); !ok {
		return dst, false
	}
	dst = append(dst, `,"expires_at":`...)
	if l.ExpiresAt == nil {
		dst = append(dst, "null"...)
	} else if dst, ok = jsonenc.AppendTime(dst, *l.ExpiresAt); !ok {
		return dst, false
	}
	dst = append(dst, `,"max_visits":`...)
	if l.MaxVisits == nil {
		dst = append(dst, "null"...)
	} else {
		dst = strconv.AppendInt(dst, *l.MaxVisits, 10)
	}
	dst = append(dst, `,"redirect_status":`...)
	dst = strconv.AppendInt(dst, int64(l.RedirectStatus), 10)
	dst = append(dst, `,"forward_query":`...)
	dst = strconv.AppendBool(dst, l.ForwardQuery)
	dst = append(dst, `,"cache_max_age":`...)
	if l.CacheMaxAge == nil {
		dst = append(dst, "null"...)
	} else {
		dst = strconv.AppendInt(dst, int64(*l.CacheMaxAge), 10)
	}
	dst = append(dst, `,"disabled":`...)
	dst = strconv.AppendBool(dst, l.Disabled)
	dst = append(dst, `,"version":`...)
	dst = strconv.AppendInt(dst, l.Version, 10)
	dst = append(dst, `,"visits":`...)
	if l.Visits == nil {
		dst = append(dst, "null"...)
	} else {
		dst = strconv.AppendUint(dst, *l.Visits, 10)
	}
	return append(dst, '}'), true
}
