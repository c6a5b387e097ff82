package embedded

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"
)

// FuzzAppendRecord_AgreesWithJSON: appendRecord writes the bytes
// json.Marshal writes, or leaves the record to it.
func FuzzAppendRecord_AgreesWithJSON(f *testing.F) {
	f.Add("https://e.com/a?b=c&d=<e>", "t\u2028\u2029\"\\\x00\x1f\b\f\n\r\t\x7f", "tag", "key:k1", int64(1733150000123456789), int64(0), int64(5), int64(-1), uint16(0))
	f.Add("", "\xff\xfeé\xc3", "", "", int64(-62135596800000000), int64(253402300799999999), int64(0), int64(0), uint16(0xffff))
	f.Fuzz(func(t *testing.T, url, title, tag, by string, created, other, n, m int64, flags uint16) {
		at := func(ns int64) time.Time { return time.Unix(0, ns).UTC() }
		if flags&64 != 0 { // a year outside 0–9999
			at = func(ns int64) time.Time { return time.Unix(ns, 0).UTC() }
		}
		r := linkRecord{
			URL: url, Title: title, CreatedAt: at(created), MaxVisits: n, RedirectStatus: int(m),
			ForwardQuery: flags&1 != 0, CacheMaxAge: int(n), Version: m, Disabled: flags&2 != 0,
			CreatedBy: by, Deleted: flags&4 != 0,
		}
		if flags&8 != 0 {
			r.Tags = []string{tag, title}
		} else if flags&16 != 0 {
			r.Tags = []string{}
		}
		if flags&32 != 0 {
			r.UpdatedAt = at(other)
		}
		if flags&128 != 0 {
			r.ExpiresAt = at(other + created)
		}
		if flags&256 != 0 {
			r.CreatedAt = time.Time{}
		}
		if flags&512 != 0 {
			r.CreatedAt = r.CreatedAt.In(time.FixedZone("x", int(m%100000)))
		}
		want, wantErr := json.Marshal(r)
		got, ok := appendRecord(nil, &r)
		if !ok {
			if wantErr == nil {
				t.Fatalf("appendRecord left %+v to json.Marshal, which encodes it", r)
			}
			return
		}
		if wantErr != nil {
			t.Fatalf("appendRecord encoded what json.Marshal refuses (%v): %s", wantErr, got)
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("appendRecord:\n%s\njson.Marshal:\n%s", got, want)
		}
	})
}
