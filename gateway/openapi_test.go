package gateway

import (
	"encoding/json"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"
)

type openAPIOp struct {
	Responses map[string]json.RawMessage `json:"responses"`
}

var openAPIMethods = []string{"get", "head", "post", "put", "patch", "delete", "options"}

// openAPIPaths returns path → method (upper case) → operation.
func openAPIPaths(t *testing.T, doc []byte) map[string]map[string]openAPIOp {
	t.Helper()
	var d struct {
		OpenAPI string                                `json:"openapi"`
		Paths   map[string]map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal(doc, &d); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(d.OpenAPI, "3.0.") {
		t.Fatalf("openapi version %q", d.OpenAPI)
	}
	out := map[string]map[string]openAPIOp{}
	for p, item := range d.Paths {
		out[p] = map[string]openAPIOp{}
		for m, raw := range item {
			if !slices.Contains(openAPIMethods, m) {
				continue // parameters, summary, ...
			}
			var op openAPIOp
			if err := json.Unmarshal(raw, &op); err != nil {
				t.Fatalf("%s %s: %v", m, p, err)
			}
			out[p][strings.ToUpper(m)] = op
		}
	}
	return out
}

// TestOpenAPI_RefsResolve checks that every $ref in the document points at
// something in it.
func TestOpenAPI_RefsResolve(t *testing.T) {
	var doc any
	if err := json.Unmarshal(openAPIDoc, &doc); err != nil {
		t.Fatal(err)
	}
	var walk func(v any)
	walk = func(v any) {
		switch x := v.(type) {
		case map[string]any:
			if r, ok := x["$ref"].(string); ok {
				if !strings.HasPrefix(r, "#/") {
					t.Errorf("external $ref %q", r)
					return
				}
				cur := doc
				for _, part := range strings.Split(r[2:], "/") {
					m, ok := cur.(map[string]any)
					if !ok || m[part] == nil {
						t.Errorf("$ref %q does not resolve", r)
						return
					}
					cur = m[part]
				}
			}
			for _, e := range x {
				walk(e)
			}
		case []any:
			for _, e := range x {
				walk(e)
			}
		}
	}
	walk(doc)
}

// TestOpenAPI_MatchesLiveRoutes walks the document served by the live
// handler: every documented path and method is answered (never "no such
// route" nor 405) with a documented status, every route of the API's
// routing table and every public route is documented, and on API paths
// the methods the document leaves out are refused with 405.
func TestOpenAPI_MatchesLiveRoutes(t *testing.T) {
	e := newAPIEnv(t, func(c *Config, _ *Deps) { c.APIRate, c.APIBurst = 0, 0 }) // every route and method: more than the test cluster's share of a burst
	r := e.do("GET", "/api/v1/openapi.json", nil).wantStatus(t, 200)
	if r.header.Get("Content-Type") != "application/json" {
		t.Errorf("Content-Type %q", r.header.Get("Content-Type"))
	}
	paths := openAPIPaths(t, r.body)

	// Every live route is documented.
	live := map[string][]string{
		"/{code}":         {"GET", "HEAD"},
		"/{code}/qr-code": {"GET", "HEAD"},
		"/":               {"GET"},
		"/ui/":            {"GET"},
		"/health":         {"GET"},
		"/ready":          {"GET"},
		"/metrics":        {"GET"},
	}
	for _, rt := range apiRoutes {
		for m := range rt.methods {
			live["/api/v1"+rt.pattern] = append(live["/api/v1"+rt.pattern], m)
		}
	}
	for _, rt := range bitlyRoutes {
		for m := range rt.methods {
			live["/v4"+rt.pattern] = append(live["/v4"+rt.pattern], m)
		}
	}
	for p, ms := range live {
		for _, m := range ms {
			if _, ok := paths[p][m]; !ok {
				t.Errorf("live route %s %s is not documented", m, p)
			}
		}
	}
	for p, ops := range paths {
		for m := range ops {
			if !slices.Contains(live[p], m) {
				t.Errorf("documented %s %s is not a known live route", m, p)
			}
		}
	}

	// Every documented operation is answered.
	e.createLink(map[string]any{"url": "https://example.com/oa", "code": "oa"})
	e.createLink(map[string]any{"url": "https://example.com/oadel", "code": "oadel"})
	e.createLink(map[string]any{"url": "https://example.com/oa4del", "code": "oa4del"})
	e.addKey("oadel", nil, time.Time{})
	bodies := map[string]string{
		"POST /api/v1/links":                 `{"url":"https://example.com/new"}`,
		"POST /api/v1/links/bulk":            `{"links":[{"url":"https://example.com/b"}]}`,
		"POST /api/v1/keys":                  `{"name":"documented","scopes":["links:read"]}`,
		"PATCH /api/v1/links/{code}":         `{"title":"documented"}`,
		"POST /v4/shorten":                   `{"long_url":"https://example.com/v4"}`,
		"POST /v4/bitlinks":                  `{"long_url":"https://example.com/v4b","title":"t"}`,
		"POST /v4/expand":                    `{"bitlink_id":"sho.rt/oa"}`,
		"PATCH /v4/bitlinks/{domain}/{code}": `{"title":"documented"}`,
	}
	keys := make([]string, 0, len(paths))
	for p := range paths {
		keys = append(keys, p)
	}
	sort.Strings(keys)
	for _, p := range keys {
		for m, op := range paths[p] {
			code := "oa"
			if m == "DELETE" && !strings.HasSuffix(p, "/visits") { // deleting visits keeps the link
				code = "oadel"
				if strings.HasPrefix(p, "/v4/") {
					code = "oa4del"
				}
			}
			url := strings.ReplaceAll(strings.ReplaceAll(p, "{code}", code), "{domain}", "sho.rt")
			var body any
			if b, ok := bodies[m+" "+p]; ok {
				body = b
			}
			r := e.do(m, url, body)
			if r.status == http.StatusMethodNotAllowed {
				t.Errorf("%s %s: 405 for a documented operation", m, url)
			}
			if r.status == http.StatusNotFound && strings.Contains(string(r.body), "no such route") {
				t.Errorf("%s %s: no such route", m, url)
			}
			if r.status >= 300 && r.status < 400 || r.status >= 200 && r.status < 300 {
				// success as documented
			} else {
				t.Errorf("%s %s: status %d: %s", m, url, r.status, r.body)
			}
			if _, ok := op.Responses[strconv.Itoa(r.status)]; !ok {
				t.Errorf("%s %s answered %d, which is not documented", m, url, r.status)
			}
		}
	}

	// On API paths, undocumented methods are refused.
	for _, p := range keys {
		if !strings.HasPrefix(p, "/api/v1/") && !strings.HasPrefix(p, "/v4/") {
			continue // /health and friends are not method-checked by the API router
		}
		for _, m := range []string{"GET", "POST", "PUT", "PATCH", "DELETE"} {
			if _, ok := paths[p][m]; ok {
				continue
			}
			url := strings.ReplaceAll(strings.ReplaceAll(p, "{code}", "oa"), "{domain}", "sho.rt")
			if r := e.do(m, url, nil); r.status != http.StatusMethodNotAllowed {
				t.Errorf("undocumented %s %s answered %d, want 405", m, url, r.status)
			}
		}
	}
}
