package gateway

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"
)

// FuzzAppendBulkOut_AgreesWithJSON: appendBulkOut writes the bytes
// writeJSON's encoding/json writes, or leaves the value to it.
func FuzzAppendBulkOut_AgreesWithJSON(f *testing.F) {
	f.Add("abc", "https://e.com/a?b=c&d=<e>", "t\u2028\u2029\"\\\x00\x1f\b\f\n\r\t\x7f", "tag", int64(1733150000123456789), int64(0), int64(5), int64(-1), uint8(0))
	f.Add("\xff\xfe", "é\xc3", "", "", int64(-62135596800000000), int64(253402300799999999), int64(0), int64(0), uint8(0xff))
	f.Fuzz(func(t *testing.T, code, url, title, tag string, created, expires, maxVisits, cacheMaxAge int64, flags uint8) {
		at := func(ns int64) time.Time { return time.Unix(0, ns).UTC() }
		if flags&64 != 0 { // a year outside 0–9999
			at = func(ns int64) time.Time { return time.Unix(ns, 0).UTC() }
		}
		exp, mv, cma, visits := at(expires), maxVisits, int(cacheMaxAge), uint64(maxVisits)
		l := &linkOut{
			Code: code, ShortURL: "https://s.example/" + code, URL: url, Title: title,
			Tags: []string{tag, title}, CreatedAt: at(created), UpdatedAt: at(created + 1),
			RedirectStatus: int(cacheMaxAge), ForwardQuery: flags&1 != 0, Disabled: flags&2 != 0, Version: maxVisits,
		}
		if flags&4 != 0 {
			l.ExpiresAt, l.MaxVisits, l.CacheMaxAge, l.Visits = &exp, &mv, &cma, &visits
		}
		if flags&8 != 0 {
			l.Tags = nil
		}
		o := bulkOut{Created: 1, Failed: 1, Results: []bulkResult{
			{Index: 0, Status: 201, Link: l},
			{Index: 1, Status: 409, Error: &errorDetail{Code: code, Message: title}},
			{Index: 2, Status: 500},
		}}
		if flags&16 != 0 {
			o.Results = nil
		} else if flags&32 != 0 {
			o.Results = []bulkResult{}
		}
		var want bytes.Buffer
		enc := json.NewEncoder(&want)
		enc.SetEscapeHTML(false)
		wantErr := enc.Encode(&o)
		got, ok := appendBulkOut(nil, &o)
		if !ok {
			if wantErr == nil {
				t.Fatalf("appendBulkOut left %+v to encoding/json, which encodes it", l)
			}
			return
		}
		if wantErr != nil {
			t.Fatalf("appendBulkOut encoded what encoding/json refuses (%v): %s", wantErr, got)
		}
		if !bytes.Equal(got, want.Bytes()) {
			t.Fatalf("appendBulkOut:\n%s\nencoding/json:\n%s", got, want.Bytes())
		}
	})
}
