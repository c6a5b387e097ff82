package gateway

import (
	"encoding/json"
	"errors"
	"reflect"
	"runtime"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"
)

type decodeTarget struct {
	Name  string           `json:"name"`
	Count nullable[int64]  `json:"count"`
	Tags  []string         `json:"tags"`
	When  nullable[string] `json:"when"`
	Skip  string           `json:"-"`
	Raw   json.RawMessage  `json:"raw"`
}

func TestDecodeStrict(t *testing.T) {
	tests := map[string]struct {
		in      string
		wantErr string // "code: message part"; "" = ok
		check   func(t *testing.T, d *decodeTarget)
	}{
		"all fields": {in: `{"name":"a","count":3,"tags":["x"],"when":"w","raw":{"k":[1,{"k":2}]}}`, check: func(t *testing.T, d *decodeTarget) {
			if d.Name != "a" || !d.Count.Set || d.Count.Null || d.Count.V != 3 || len(d.Tags) != 1 || d.When.V != "w" || string(d.Raw) != `{"k":[1,{"k":2}]}` {
				t.Errorf("%+v", d)
			}
		}},
		"absent vs null": {in: `{"count":null}`, check: func(t *testing.T, d *decodeTarget) {
			if !d.Count.Set || !d.Count.Null || d.When.Set {
				t.Errorf("count %+v when %+v", d.Count, d.When)
			}
		}},
		"whitespace around":      {in: " \n{\"name\" : \"a\"}\n\t "},
		"nested duplicate ok":    {in: `{"raw":{"a":1,"a":2}}`}, // the nested object is decoded (and checked) by its own call
		"empty object":           {in: `{}`},
		"null for plain field":   {in: `{"name":null}`, wantErr: `invalid_type: field "name" must not be null`},
		"null in array is typed": {in: `{"tags":[null]}`, check: func(t *testing.T, d *decodeTarget) {}},
		"unknown":                {in: `{"nom":"a"}`, wantErr: `unknown_field: unknown field "nom"; allowed fields: name, count, tags, when, raw`},
		"json dash field":        {in: `{"Skip":"a"}`, wantErr: `unknown_field: unknown field "Skip"`},
		"dash name":              {in: `{"-":"a"}`, wantErr: `unknown_field`},
		"case":                   {in: `{"Name":"a"}`, wantErr: `unknown_field: unknown field "Name"; field names are case-sensitive, did you mean "name"?`},
		"kelvin sign":            {in: "{\"name\":\"a\",\"tags\":[],\"\u212aey\":1}", wantErr: `unknown_field`},
		"long s fold":            {in: "{\"tag\u017f\":[\"x\"]}", wantErr: `unknown_field: unknown field "tagſ"; field names are case-sensitive, did you mean "tags"?`},
		"duplicate":              {in: `{"name":"a","name":"b"}`, wantErr: `duplicate_field: field "name" appears more than once`},
		"duplicate escaped":      {in: `{"name":"a","n\u0061me":"b"}`, wantErr: `duplicate_field`},
		"trailing":               {in: `{"name":"a"} 1`, wantErr: `invalid_json: unexpected data after the JSON object`},
		"two objects":            {in: `{}{}`, wantErr: `invalid_json: unexpected data after`},
		"truncated":              {in: `{"name":"a"`, wantErr: `invalid_json: the JSON body ends unexpectedly`},
		"truncated nested":       {in: `{"raw":[1,2`, wantErr: `invalid_json`},
		"bad literal":            {in: `{"name":tru}`, wantErr: `invalid_json`},
		"number":                 {in: `42`, wantErr: `invalid_json: expected a JSON object, got a number`},
		"bool":                   {in: `true`, wantErr: `invalid_json: expected a JSON object, got a boolean`},
		"empty":                  {in: ``, wantErr: `invalid_json: the body is empty`},
		"wrong type string":      {in: `{"name":1}`, wantErr: `invalid_type: field "name" must be a string; got a number`},
		"wrong type int":         {in: `{"count":"1"}`, wantErr: `invalid_type: field "count" must be an integer; got a string`},
		"fraction":               {in: `{"count":1.5}`, wantErr: `invalid_type: field "count" must be an integer; got number 1.5`},
		"overflow":               {in: `{"count":99999999999999999999}`, wantErr: `invalid_type: field "count"`},
		"array elem":             {in: `{"tags":["a",2]}`, wantErr: `invalid_type: field "tags" must be an array of strings`},
		"array for string":       {in: `{"name":["a"]}`, wantErr: `invalid_type: field "name" must be a string; got an array`},
		"invalid utf8 replaced":  {in: "{\"name\":\"a\xffb\"}", check: func(t *testing.T, d *decodeTarget) {}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			var d decodeTarget
			err := decodeStrict([]byte(tc.in), &d, "")
			if tc.wantErr == "" {
				if err != nil {
					t.Fatalf("decodeStrict(%q) = %v", tc.in, err)
				}
				if tc.check != nil {
					tc.check(t, &d)
				}
				return
			}
			var ae *Error
			if !errors.As(err, &ae) {
				t.Fatalf("decodeStrict(%q) = %v, want an *Error", tc.in, err)
			}
			if ae.Status != 400 {
				t.Errorf("status %d", ae.Status)
			}
			if got := ae.Code + ": " + ae.Message; !strings.HasPrefix(got, tc.wantErr) {
				t.Errorf("decodeStrict(%q) = %q, want prefix %q", tc.in, got, tc.wantErr)
			}
		})
	}
}

func FuzzDecodeStrict(f *testing.F) {
	for _, s := range []string{`{"name":"a","count":1}`, `{"tags":["a"]}`, `{"raw":{"x":[1,{"y":null}]}}`, `{}`, `[`, `{"name":"a"}{}`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		var d decodeTarget
		err := decodeStrict([]byte(s), &d, "")
		if err == nil && !json.Valid([]byte(s)) {
			t.Fatalf("accepted invalid JSON %q", s)
		}
		var ae *Error
		if err != nil && !errors.As(err, &ae) {
			t.Fatalf("error is not an *Error: %v", err)
		}
	})
}

// TestDecodeStrict_DeepNesting: a body nesting arrays 30,000 deep is
// refused after maxJSONDepth levels, with a short message, and the walk
// allocates little (the paths were strings built at every level: quadratic).
func TestDecodeStrict_DeepNesting(t *testing.T) {
	for name, open := range map[string]string{"arrays": "[", "objects": `{"k":`} {
		t.Run(name, func(t *testing.T) {
			body := []byte(`{"raw":` + strings.Repeat(open, 30000))
			var err error
			var ms0, ms1 runtime.MemStats
			runtime.ReadMemStats(&ms0)
			var d decodeTarget
			err = decodeStrict(body, &d, "")
			runtime.ReadMemStats(&ms1)
			var ae *Error
			if !errors.As(err, &ae) || ae.Status != 400 || !strings.Contains(ae.Message, "deeper than 32 levels") {
				t.Fatalf("decodeStrict = %v, want a 400 naming the depth", err)
			}
			if len(ae.Message) > 300 {
				t.Errorf("message of %d bytes: %.300s", len(ae.Message), ae.Message)
			}
			if alloc := ms1.TotalAlloc - ms0.TotalAlloc; alloc > 1<<20 {
				t.Errorf("decoding allocated %d KiB, want < 1 MiB", alloc>>10)
			}
		})
	}
	// The limit leaves room for every real body.
	var d decodeTarget
	if err := decodeStrict([]byte(`{"raw":`+strings.Repeat("[", 30)+strings.Repeat("]", 30)+`}`), &d, ""); err != nil {
		t.Errorf("30 levels: %v", err)
	}
}

// TestDecodeStrict_ShortMessages: an error quotes at most maxExcerpt bytes
// of the input, cut on a UTF-8 boundary.
func TestDecodeStrict_ShortMessages(t *testing.T) {
	long := strings.Repeat("é", 1<<19) // 1 MiB
	for name, in := range map[string]string{
		"unknown key":   `{"` + long + `":1}`,
		"duplicate":     `{"raw":{},"raw":1,"` + long + `":1}`,
		"nested key":    `{"raw":{"` + long + `":` + strings.Repeat("[", 40) + `}}`,
		"bulk item key": `{"name":1}`,
	} {
		t.Run(name, func(t *testing.T) {
			var d decodeTarget
			err := decodeStrict([]byte(in), &d, "links[1]."+long)
			if err == nil {
				t.Fatal("no error")
			}
			msg := err.Error()
			if len(msg) > 1024 || !utf8.ValidString(msg) {
				t.Errorf("message of %d bytes (valid UTF-8: %v): %.200s", len(msg), utf8.ValidString(msg), msg)
			}
		})
	}
	if got := excerpt(strings.Repeat("a", 63) + "é"); got != strings.Repeat("a", 63)+"…" {
		t.Errorf("excerpt cut inside a rune: %q", got)
	}
	if got := excerpt("short"); got != "short" {
		t.Errorf("excerpt(short) = %q", got)
	}
}

// TestServer_LongInputShortError: a 400 KB tag (or key) is refused with
// an error body under 1 KB (it was echoed whole).
func TestServer_LongInputShortError(t *testing.T) {
	e := newAPIEnv(t)
	long := strings.Repeat("t", 400<<10)
	for name, body := range map[string]string{
		"tag":            `{"url":"https://example.com/","tags":["` + long + `"]}`,
		"unknown field":  `{"url":"https://example.com/","` + long + `":1}`,
		"deeply nested":  `{"url":` + strings.Repeat("[", 30000),
		"bad expires_at": `{"url":"https://example.com/","expires_at":"` + long + `"}`,
	} {
		t.Run(name, func(t *testing.T) {
			r := e.do("POST", "/api/v1/links", body)
			if r.status != 400 && r.status != 422 {
				t.Fatalf("status %d: %.200s", r.status, r.body)
			}
			if len(r.body) > 1024 {
				t.Errorf("error body of %d bytes: %.200s", len(r.body), r.body)
			}
		})
	}
}

// FuzzCheckObject_FastAgreesWithWalk: whenever fastObjectKeys decides
// (ok), the token walk accepts the same input with the same keys; and it
// does decide the plain bodies a bulk create sends, or it saves nothing.
func FuzzCheckObject_FastAgreesWithWalk(f *testing.F) {
	seeds := []string{
		`{"url":"https://example.com/a?b=c","code":"x1","tags":["a","b"]}`,
		` {"a":{"b":[1,2,{"c":"}"}]},"d":"\"{"} `, `{}`, `{"a":1,"a":2}`, `{"a\u0062":1}`, `{"\u00e9":1}`,
		"{\"\xff\":1}", `{"a":"x\\"}`, `{"a":1}{}`, `[1]`, `{"a":` + strings.Repeat("[", 40) + strings.Repeat("]", 40) + `}`,
		`{"a":{"a":1,"a":2}}`, "{\"a\":1}\n", `{"x":"\\\""}`, `{"a":[{"b":1},{"b":2}],"c":{}}`,
	}
	for _, s := range seeds {
		f.Add(s)
	}
	for _, s := range []string{seeds[0], seeds[1], seeds[13], seeds[14]} {
		if _, ok := fastObjectKeys([]byte(s)); !ok {
			f.Fatalf("fastObjectKeys left a plain body to the walk: %s", s)
		}
	}
	f.Fuzz(func(t *testing.T, s string) {
		keys, ok := fastObjectKeys([]byte(s))
		if !ok {
			return
		}
		want, err := walkCheckObject([]byte(s), "")
		if err != nil {
			t.Fatalf("fast path accepted %q, the walk refuses it: %v", s, err)
		}
		if !slices.Equal(keys, want) {
			t.Fatalf("keys of %q: fast %q, walk %q", s, keys, want)
		}
	})
}

// FuzzFastBulkLinks_AgreesWithStrict: whenever fastBulkLinks decides (ok),
// the strict path accepts the body and every item, and decodes the same
// items; and it does decide the plain bodies a bulk create sends.
func FuzzFastBulkLinks_AgreesWithStrict(f *testing.F) {
	plain := []string{
		`{"links":[{"url":"https://example.com/a?b=c","code":"x1","tags":["a","b"]}]}`,
		` {"links" : [ {"url":"https://e.com/1"} , {"url":"https://e.com/2","title":"t\u00e9\"","tags":[]} ] } ` + "\n",
		`{"links":[]}`,
		`{"links":[{}]}`,
		`{"links":[{"url":null,"code":null,"title":null,"tags":null,"expires_at":null,"max_visits":null,"redirect_status":null,"forward_query":null,"cache_max_age":null,"disabled":null}]}`,
		`{"links":[{"url":"https://e.com/é","expires_at":"2030-01-01T00:00:00Z","max_visits":-9223372036854775808,"redirect_status":301,"forward_query":true,"cache_max_age":-0,"disabled":false}]}`,
	}
	others := []string{
		`{"links":null}`, `{"links":[1]}`, `{"links":[{"url":1}]}`, `{"links":[{"url":"a","url":"b"}]}`,
		`{"links":[{"URL":"a"}]}`, `{"links":[{"max_visits":1.0}]}`, `{"links":[{"max_visits":1e3}]}`,
		`{"links":[{"max_visits":9223372036854775808}]}`, `{"links":[{"tags":[null]}]}`, `{"links":[{"tags":"a"}]}`,
		"{\"links\":[{\"title\":\"\xff\"}]}", `{"links":[{"url":"a"}],"x":1}`, `{"links":[],"links":[]}`,
		`{"links":[{"forward_query":"true"}]}`, `{"links":[{"tags":[["a"]]}]}`, `{"links":[{"url":"a"}]}x`,
		`{"li\u006eks":[]}`, `{"links":[{"u\u0072l":"a"}]}`, `{"links":[{"code":"a\/b\u0000"}]}`,
	}
	for _, s := range plain {
		f.Add(s)
		if _, ok := fastBulkLinks([]byte(s)); !ok {
			f.Fatalf("fastBulkLinks left a plain body to the strict path: %s", s)
		}
	}
	for _, s := range others {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		items, ok := fastBulkLinks([]byte(s))
		if !ok {
			return
		}
		want, errs, err := strictBulkLinks([]byte(s))
		if err != nil {
			t.Fatalf("fast path accepted %q, the strict path refuses it: %v", s, err)
		}
		for i, e := range errs {
			if e != nil {
				t.Fatalf("fast path accepted %q, the strict path refuses item %d: %v", s, i, e)
			}
		}
		if !reflect.DeepEqual(items, want) {
			t.Fatalf("items of %q:\nfast   %+v\nstrict %+v", s, items, want)
		}
	})
}
