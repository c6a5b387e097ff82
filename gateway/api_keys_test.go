package gateway

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/minibitly/minibitly/storage"
)

// addKey stores a key with scopes (nil = a key from before scopes) and an
// expiry, and returns its secret.
func (e *apiEnv) addKey(id string, scopes []string, expires time.Time) string {
	e.t.Helper()
	secret := "mb_" + id + "_secret_0123456789"
	k := storage.APIKey{ID: id, Name: id, Hash: HashAPIKey([]byte(secret)), Prefix: secret[:8],
		CreatedAt: time.Now(), Scopes: scopes, ExpiresAt: expires}
	if err := e.store.CreateAPIKey(e.t.Context(), k); err != nil {
		e.t.Fatal(err)
	}
	return secret
}

func bearer(secret string) reqOpt { return withHeader("Authorization", "Bearer "+secret) }

// TestRoutes_Scopes pins the scope every method of every route of the three
// APIs needs ("" = any valid key).
func TestRoutes_Scopes(t *testing.T) {
	const (
		lr, lw, sr, ad = storage.ScopeLinksRead, storage.ScopeLinksWrite, storage.ScopeStatsRead, storage.ScopeAdmin
	)
	want := map[string]string{
		"GET /api/v1/links": lr, "POST /api/v1/links": lw, "POST /api/v1/links/bulk": lw,
		"GET /api/v1/links/{code}": lr, "PATCH /api/v1/links/{code}": lw, "DELETE /api/v1/links/{code}": lw,
		"GET /api/v1/links/{code}/stats": sr, "DELETE /api/v1/links/{code}/visits": lw, "GET /api/v1/openapi.json": "", "GET /api/v1/key": "",
		"GET /api/v1/keys": ad, "POST /api/v1/keys": ad, "DELETE /api/v1/keys/{code}": ad,
		"GET /api/v1/cluster": ad, "GET /api/v1/cluster/owner/{code}": ad,

		"GET /rest/v3/health": "", "GET /rest/v3/mercure-info": lr,
		"GET /rest/v3/short-urls": lr, "POST /rest/v3/short-urls": lw, "GET /rest/v3/short-urls/shorten": lw,
		"GET /rest/v3/short-urls/{code}": lr, "PATCH /rest/v3/short-urls/{code}": lw, "DELETE /rest/v3/short-urls/{code}": lw,
		"GET /rest/v3/short-urls/{code}/visits": sr, "DELETE /rest/v3/short-urls/{code}/visits": lw,
		"GET /rest/v3/short-urls/{code}/redirect-rules": lr, "POST /rest/v3/short-urls/{code}/redirect-rules": lw,
		"PATCH /rest/v3/short-urls/{code}/redirect-rules": lw,
		"GET /rest/v3/visits":                             sr, "GET /rest/v3/visits/non-orphan": sr,
		"GET /rest/v3/visits/orphan": sr, "DELETE /rest/v3/visits/orphan": lw, "GET /rest/v3/tags/{code}/visits": sr,
		"GET /rest/v3/domains/{code}/visits": sr, "GET /rest/v3/tags/stats": sr,
		"GET /rest/v3/tags": lr, "PUT /rest/v3/tags": lw, "DELETE /rest/v3/tags": lw,
		"GET /rest/v3/domains": lr, "PATCH /rest/v3/domains/redirects": ad,

		"POST /v4/shorten": lw, "POST /v4/bitlinks": lw, "POST /v4/expand": lr, "GET /v4/user": "",
		"GET /v4/bitlinks/{domain}/{code}": lr, "PATCH /v4/bitlinks/{domain}/{code}": lw, "DELETE /v4/bitlinks/{domain}/{code}": lw,
		"GET /v4/bitlinks/{domain}/{code}/clicks": sr, "GET /v4/bitlinks/{domain}/{code}/clicks/summary": sr,
		"GET /v4/bitlinks/{domain}/{code}/referrers": sr, "GET /v4/bitlinks/{domain}/{code}/countries": sr,
	}
	got := map[string]string{}
	for prefix, routes := range map[string][]apiRoute{"/api/v1": apiRoutes, "/rest/v3": shlinkRoutes, "/v4": bitlyRoutes} {
		for i := range routes {
			r := &routes[i]
			for m := range r.methods {
				got[m+" "+prefix+r.pattern] = r.scope(m)
			}
			if r.methods[http.MethodGet] != nil && r.scope(http.MethodHead) != r.scope(http.MethodGet) {
				t.Errorf("HEAD %s%s needs %q, GET %q", prefix, r.pattern, r.scope(http.MethodHead), r.scope(http.MethodGet))
			}
		}
	}
	for k, sc := range got {
		if w, ok := want[k]; !ok {
			t.Errorf("%s: needs %q, not pinned by this test", k, sc)
		} else if w != sc {
			t.Errorf("%s: needs %q, want %q", k, sc, w)
		}
	}
	for k := range want {
		if _, ok := got[k]; !ok {
			t.Errorf("%s: no such route", k)
		}
	}
}

// TestScopes_Native: each scope allows its routes of /api/v1 and is refused
// (403 forbidden, the API's JSON error) on the others; a key stored without
// scopes (before they existed) may do everything.
func TestScopes_Native(t *testing.T) {
	e := newAPIEnv(t)
	e.createLink(map[string]any{"url": "https://example.com/a", "code": "scoped"})
	keys := map[string]string{}
	for _, sc := range storage.AllScopes {
		keys[sc] = e.addKey("only-"+strings.ReplaceAll(sc, ":", "-"), []string{sc}, time.Time{})
	}
	keys["legacy"] = testKey
	type req struct {
		method, path string
		body         any
		scope        string
	}
	reqs := []req{
		{"GET", "/api/v1/links", nil, storage.ScopeLinksRead},
		{"GET", "/api/v1/links/scoped", nil, storage.ScopeLinksRead},
		{"POST", "/api/v1/links", map[string]any{"url": "https://example.com/b"}, storage.ScopeLinksWrite},
		{"PATCH", "/api/v1/links/scoped", map[string]any{"title": "t"}, storage.ScopeLinksWrite},
		{"GET", "/api/v1/links/scoped/stats", nil, storage.ScopeStatsRead},
		{"GET", "/api/v1/keys", nil, storage.ScopeAdmin},
		{"GET", "/api/v1/cluster", nil, storage.ScopeAdmin},
	}
	for who, secret := range keys {
		for _, r := range reqs {
			resp := e.do(r.method, r.path, r.body, bearer(secret))
			if who == "legacy" || who == r.scope {
				if resp.status >= 300 {
					t.Errorf("%s key: %s %s = %d, want allowed: %s", who, r.method, r.path, resp.status, resp.body)
				}
				continue
			}
			t.Run(who+" "+r.method+" "+r.path, func(t *testing.T) {
				resp.wantError(t, http.StatusForbidden, "forbidden", r.scope)
			})
		}
	}
	// Authentication comes first: an unknown route with a key lacking every
	// scope is still 404, a method not allowed 405.
	e.do("GET", "/api/v1/nothing", nil, bearer(keys[storage.ScopeStatsRead])).wantStatus(t, 404)
	e.do("PUT", "/api/v1/keys", nil, bearer(keys[storage.ScopeStatsRead])).wantStatus(t, 405)
	e.do("GET", "/api/v1/openapi.json", nil, bearer(keys[storage.ScopeStatsRead])).wantStatus(t, 200)
}

// TestScopes_Shlink: /rest/v3 refuses a missing scope with a problem of
// type forbidden (403), the apiKey query parameter of /shorten too.
func TestScopes_Shlink(t *testing.T) {
	e := newAPIEnv(t)
	e.shlinkCreate(map[string]any{"longUrl": "https://example.com/a", "customSlug": "sl"})
	read := e.addKey("lr", []string{storage.ScopeLinksRead}, time.Time{})
	stats := e.addKey("sr", []string{storage.ScopeStatsRead}, time.Time{})
	shl := func(secret, method, path string, body any) *apiResponse {
		return e.do(method, path, body, noAuth(), withHeader("X-Api-Key", secret))
	}
	shl(read, "GET", "/rest/v3/short-urls", nil).wantStatus(t, 200)
	shl(read, "GET", "/rest/v3/short-urls/sl", nil).wantStatus(t, 200)
	shl(read, "GET", "/rest/v3/tags", nil).wantStatus(t, 200)
	p := shl(read, "POST", "/rest/v3/short-urls", map[string]any{"longUrl": "https://example.com/b"}).wantProblem(t, 403, "forbidden")
	if !strings.Contains(p.Detail, storage.ScopeLinksWrite) || p.Title != "Forbidden" {
		t.Errorf("problem %+v", p)
	}
	shl(read, "DELETE", "/rest/v3/short-urls/sl", nil).wantProblem(t, 403, "forbidden")
	shl(read, "GET", "/rest/v3/visits", nil).wantProblem(t, 403, "forbidden")
	shl(read, "GET", "/rest/v3/short-urls/sl/visits", nil).wantProblem(t, 403, "forbidden")
	shl(read, "PATCH", "/rest/v3/domains/redirects", map[string]any{}).wantProblem(t, 403, "forbidden")
	shl(stats, "GET", "/rest/v3/visits", nil).wantStatus(t, 200)
	shl(stats, "GET", "/rest/v3/short-urls/sl/visits", nil).wantStatus(t, 200)
	shl(stats, "GET", "/rest/v3/short-urls", nil).wantProblem(t, 403, "forbidden")
	e.do("GET", "/rest/v3/short-urls/shorten?apiKey="+read+"&longUrl=https://example.com/c", nil, noAuth()).wantProblem(t, 403, "forbidden")
	e.do("GET", "/rest/v3/health", nil, noAuth()).wantStatus(t, 200)
	if r := shl(testKey, "PATCH", "/rest/v3/domains/redirects", map[string]any{}); r.status == 403 { // legacy: admin
		t.Errorf("a key from before scopes is refused: %s", r.body)
	}
}

// TestScopes_Bitly: /v4 refuses a missing scope with Bitly's 403 FORBIDDEN.
func TestScopes_Bitly(t *testing.T) {
	e := newAPIEnv(t)
	read := e.addKey("lr", []string{storage.ScopeLinksRead}, time.Time{})
	write := e.addKey("lw", []string{storage.ScopeLinksWrite}, time.Time{})
	stats := e.addKey("sr", []string{storage.ScopeStatsRead}, time.Time{})
	bl := func(secret, method, path string, body any) *apiResponse {
		return e.do(method, path, body, withHeader("Authorization", secret))
	}
	body := map[string]any{"long_url": "https://example.com/x"}
	b := bl(read, "POST", "/v4/shorten", body).wantBitlyError(t, 403, "FORBIDDEN", "")
	if !strings.Contains(b.Description, storage.ScopeLinksWrite) {
		t.Errorf("description %q does not name the scope", b.Description)
	}
	link := bl(write, "POST", "/v4/shorten", body).wantStatus(t, 201).bitlink(t)
	bl(write, "GET", "/v4/bitlinks/"+link.ID, nil).wantBitlyError(t, 403, "FORBIDDEN", "")
	bl(read, "GET", "/v4/bitlinks/"+link.ID, nil).wantStatus(t, 200)
	bl(read, "POST", "/v4/expand", map[string]any{"bitlink_id": link.ID}).wantStatus(t, 200)
	bl(read, "GET", "/v4/bitlinks/"+link.ID+"/clicks/summary", nil).wantBitlyError(t, 403, "FORBIDDEN", "")
	bl(stats, "GET", "/v4/bitlinks/"+link.ID+"/clicks/summary", nil).wantStatus(t, 200)
	bl(stats, "GET", "/v4/user", nil).wantStatus(t, 200)
	if r := bl(testKey, "POST", "/v4/shorten", body); r.status >= 300 { // legacy: every scope
		t.Errorf("a key from before scopes: %d %s", r.status, r.body)
	}
}

// TestAuth_ExpiredKey: a key past its expiry is refused on every API (401;
// Bitly's 403 FORBIDDEN, as for any bad token), one before it is not.
func TestAuth_ExpiredKey(t *testing.T) {
	e := newAPIEnv(t)
	old := e.addKey("old", []string{storage.ScopeLinksRead}, time.Now().Add(-time.Second))
	fresh := e.addKey("fresh", []string{storage.ScopeLinksRead}, time.Now().Add(time.Hour))
	e.do("GET", "/api/v1/links", nil, bearer(fresh)).wantStatus(t, 200)
	e.do("GET", "/api/v1/links", nil, bearer(old)).wantError(t, 401, "unauthorized", "expired")
	e.do("GET", "/rest/v3/short-urls", nil, noAuth(), withHeader("X-Api-Key", old)).wantProblem(t, 401, "invalid-api-key")
	e.do("GET", "/v4/user", nil, withHeader("Authorization", old)).wantBitlyError(t, 403, "FORBIDDEN", "")
}

// TestAPIKeys_CreateListRevoke drives /api/v1/keys: the secret is in the
// creation's answer only, the key works with its scopes at once, a DELETE
// revokes it for the next request; non-admin keys are refused.
func TestAPIKeys_CreateListRevoke(t *testing.T) {
	e := newAPIEnv(t)
	admin := e.addKey("adm", []string{storage.ScopeAdmin}, time.Time{})
	exp := time.Now().Add(24 * time.Hour).UTC().Truncate(time.Second)
	r := e.do("POST", "/api/v1/keys", map[string]any{
		"name": "ci", "scopes": []string{storage.ScopeStatsRead, storage.ScopeLinksRead}, "expires_at": exp.Format(time.RFC3339),
	}, bearer(admin)).wantStatus(t, http.StatusCreated)
	var k keyOut
	r.decode(t, &k)
	if !strings.HasPrefix(k.Key, "mb_") || k.ID == "" || k.Name != "ci" || !strings.HasPrefix(k.Key, k.Prefix) ||
		!slices.Equal(k.Scopes, []string{storage.ScopeLinksRead, storage.ScopeStatsRead}) ||
		k.ExpiresAt == nil || !k.ExpiresAt.Equal(exp) || k.RevokedAt != nil {
		t.Fatalf("created key %+v", k)
	}
	if loc := r.header.Get("Location"); loc != "/api/v1/keys/"+k.ID {
		t.Errorf("Location %q", loc)
	}
	stored, err := e.store.APIKeyByHash(t.Context(), HashAPIKey([]byte(k.Key)))
	if err != nil || stored.Hash == k.Key || stored.ID != k.ID {
		t.Fatalf("stored %+v, %v: want the key stored by its hash", stored, err)
	}
	e.do("GET", "/api/v1/links", nil, bearer(k.Key)).wantStatus(t, 200)
	e.do("POST", "/api/v1/links", map[string]any{"url": "https://example.com/"}, bearer(k.Key)).wantError(t, 403, "forbidden", "links:write")
	e.do("GET", "/api/v1/keys", nil, bearer(k.Key)).wantError(t, 403, "forbidden", "admin")

	// Default scopes: all but admin.
	var d keyOut
	e.do("POST", "/api/v1/keys", map[string]any{"name": "default"}, bearer(admin)).wantStatus(t, 201).decode(t, &d)
	if !slices.Equal(d.Scopes, DefaultScopes) || d.ExpiresAt != nil {
		t.Errorf("key without scopes: %+v, want %v and no expiry", d, DefaultScopes)
	}

	lr := e.do("GET", "/api/v1/keys", nil, bearer(admin)).wantStatus(t, 200)
	if strings.Contains(string(lr.body), k.Key) || strings.Contains(string(lr.body), `"key"`) {
		t.Fatalf("the list shows a secret: %s", lr.body)
	}
	var list struct{ Keys []keyOut }
	lr.decode(t, &list)
	byID := map[string]keyOut{}
	for _, x := range list.Keys {
		byID[x.ID] = x
	}
	if got := byID[k.ID]; got.Name != "ci" || !slices.Equal(got.Scopes, k.Scopes) {
		t.Errorf("listed %+v", got)
	}
	if got := byID["k1"]; !slices.Equal(got.Scopes, storage.AllScopes) {
		t.Errorf("a key from before scopes is listed with %v, want every scope", got.Scopes)
	}
	if got := byID["k2"]; got.RevokedAt == nil {
		t.Errorf("revoked key listed without revoked_at: %+v", got)
	}

	e.do("DELETE", "/api/v1/keys/"+k.ID, nil, bearer(k.Key)).wantError(t, 403, "forbidden", "admin")
	e.do("DELETE", "/api/v1/keys/"+k.ID, nil, bearer(admin)).wantStatus(t, http.StatusNoContent)
	e.do("GET", "/api/v1/links", nil, bearer(k.Key)).wantError(t, 401, "unauthorized", "revoked")
	e.do("DELETE", "/api/v1/keys/key_nope", nil, bearer(admin)).wantError(t, 404, "not_found", "key_nope")
	e.do("DELETE", "/api/v1/keys/"+k.ID, nil, bearer(admin)).wantStatus(t, http.StatusNoContent) // again: still revoked
	var after struct{ Keys []keyOut }
	e.do("GET", "/api/v1/keys", nil, bearer(admin)).wantStatus(t, 200).decode(t, &after)
	for _, x := range after.Keys {
		if x.ID == k.ID && x.RevokedAt == nil {
			t.Errorf("revoked key listed without revoked_at: %+v", x)
		}
	}
}

// TestAPIKeys_Current drives GET /api/v1/key: every valid key, whatever
// its scopes, gets its own record as GET /api/v1/keys lists it, never the
// secret; no key, a revoked one or a query parameter are refused.
func TestAPIKeys_Current(t *testing.T) {
	e := newAPIEnv(t)
	admin := e.addKey("adm", []string{storage.ScopeAdmin}, time.Time{})
	exp := time.Now().Add(time.Hour).UTC().Truncate(time.Second)
	var ro keyOut
	e.do("POST", "/api/v1/keys", map[string]any{
		"name": "read-only", "scopes": []string{storage.ScopeLinksRead}, "expires_at": exp.Format(time.RFC3339),
	}, bearer(admin)).wantStatus(t, http.StatusCreated).decode(t, &ro)

	r := e.do("GET", "/api/v1/key", nil, bearer(ro.Key)).wantStatus(t, 200)
	if strings.Contains(string(r.body), ro.Key) || strings.Contains(string(r.body), `"key"`) {
		t.Fatalf("GET /api/v1/key shows the secret: %s", r.body)
	}
	if cc := r.header.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("Cache-Control %q, want no-store", cc)
	}
	var got keyOut
	r.decode(t, &got)
	if got.ID != ro.ID || got.Name != "read-only" || got.Prefix != ro.Prefix ||
		!slices.Equal(got.Scopes, []string{storage.ScopeLinksRead}) || !got.CreatedAt.Equal(ro.CreatedAt) ||
		got.ExpiresAt == nil || !got.ExpiresAt.Equal(exp) || got.RevokedAt != nil {
		t.Errorf("GET /api/v1/key = %+v, want the created %+v without its secret", got, ro)
	}
	var list struct{ Keys []keyOut }
	e.do("GET", "/api/v1/keys", nil, bearer(admin)).wantStatus(t, 200).decode(t, &list)
	for _, x := range list.Keys {
		if x.ID == ro.ID && fmt.Sprintf("%+v", x) != fmt.Sprintf("%+v", got) {
			t.Errorf("GET /api/v1/key = %+v, GET /api/v1/keys lists %+v", got, x)
		}
	}

	var a keyOut
	e.do("GET", "/api/v1/key", nil, bearer(admin)).wantStatus(t, 200).decode(t, &a)
	if a.ID != "adm" || !slices.Equal(a.Scopes, []string{storage.ScopeAdmin}) || a.ExpiresAt != nil {
		t.Errorf("admin key: %+v", a)
	}
	var old keyOut // k1, the harness's key from before scopes
	e.do("GET", "/api/v1/key", nil).wantStatus(t, 200).decode(t, &old)
	if !slices.Equal(old.Scopes, storage.AllScopes) {
		t.Errorf("a key from before scopes has %v, want every scope", old.Scopes)
	}

	e.do("GET", "/api/v1/key?x=1", nil, bearer(admin)).wantError(t, 400, "invalid_query", "x")
	e.do("POST", "/api/v1/key", nil, bearer(admin)).wantStatus(t, 405)
	e.do("GET", "/api/v1/key", nil, noAuth()).wantStatus(t, 401)
	e.do("DELETE", "/api/v1/keys/"+ro.ID, nil, bearer(admin)).wantStatus(t, http.StatusNoContent)
	e.do("GET", "/api/v1/key", nil, bearer(ro.Key)).wantError(t, 401, "unauthorized", "revoked")
}

func TestAPIKeys_CreateValidation(t *testing.T) {
	e := newAPIEnv(t)
	for name, tc := range map[string]struct {
		body  string
		field string
	}{
		"no name":       {`{"scopes":["links:read"]}`, "name"},
		"blank name":    {`{"name":"  "}`, "name"},
		"unknown scope": {`{"name":"x","scopes":["links:read","everything"]}`, "scopes"},
		"no scope":      {`{"name":"x","scopes":[]}`, "scopes"},
		"bad expiry":    {`{"name":"x","expires_at":"tomorrow"}`, "expires_at"},
		"past expiry":   {`{"name":"x","expires_at":"2020-01-01T00:00:00Z"}`, "expires_at"},
	} {
		t.Run(name, func(t *testing.T) {
			e.do("POST", "/api/v1/keys", tc.body).wantError(t, 422, "invalid_"+tc.field, tc.field)
		})
	}
	e.do("POST", "/api/v1/keys", `{"name":"x","secret":"mine"}`).wantStatus(t, 400)
	var ks struct{ Keys []json.RawMessage }
	e.do("GET", "/api/v1/keys", nil).wantStatus(t, 200).decode(t, &ks)
	if len(ks.Keys) != 2 {
		t.Errorf("%d keys after refused creates, want the 2 of the fixture", len(ks.Keys))
	}
}

// TestMetrics_Token: with MetricsToken, /metrics needs it as a bearer
// token; without, it stays open.
func TestMetrics_Token(t *testing.T) {
	open := newAPIEnv(t)
	open.do("GET", "/metrics", nil, noAuth()).wantStatus(t, 200)
	e := newAPIEnv(t, func(c *Config, _ *Deps) { c.MetricsToken = "metrics-s3cret" })
	e.do("GET", "/metrics", nil, noAuth()).wantError(t, 401, "unauthorized", "metrics token")
	e.do("GET", "/metrics", nil).wantError(t, 401, "unauthorized", "metrics token") // an API key is not it
	e.do("GET", "/metrics", nil, bearer("metrics-s3cre")).wantStatus(t, 401)
	r := e.do("GET", "/metrics", nil, bearer("metrics-s3cret")).wantStatus(t, 200)
	if !strings.Contains(string(r.body), "minibitly_") {
		t.Errorf("metrics body: %.200s", r.body)
	}
}

// TestServer_ServeMetrics: with MetricsSeparate, /metrics is served by
// ServeMetrics' listener only (with the token when set), and the main
// listener answers it 404.
func TestServer_ServeMetrics(t *testing.T) {
	done := make(chan error, 1)
	t.Cleanup(func() { // runs after the env's Shutdown, which stops ServeMetrics too
		if err := <-done; err != nil {
			t.Errorf("serve metrics: %v", err)
		}
	})
	e := newAPIEnv(t, func(c *Config, _ *Deps) { c.MetricsSeparate, c.MetricsToken = true, "tok-123" })
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { done <- e.srv.ServeMetrics(ln) }()
	e.do("GET", "/metrics", nil, bearer("tok-123")).wantError(t, 404, "not_found", "--metrics-addr")
	e.do("GET", "/api/v1/links", nil).wantStatus(t, 200)
	m := &apiEnv{t: t, base: "http://" + ln.Addr().String(), client: e.client}
	r := m.do("GET", "/metrics", nil, bearer("tok-123")).wantStatus(t, 200)
	if !strings.Contains(string(r.body), "minibitly_") {
		t.Errorf("metrics body: %.200s", r.body)
	}
	m.do("GET", "/metrics", nil, noAuth()).wantStatus(t, 401)
	m.do("GET", "/api/v1/links", nil).wantError(t, 404, "not_found", "/metrics only")
	m.do("GET", "/health", nil).wantStatus(t, 404)
}

// TestServer_ExpiredKeyBodyIsSmall: an expired key is refused before its
// announced body is read (bodies are read after authentication: preauth.go).
func TestServer_ExpiredKeyBodyIsSmall(t *testing.T) {
	e := newAPIEnv(t)
	old := e.addKey("old", nil, time.Now().Add(-time.Minute))
	head := fmt.Sprintf("POST /api/v1/links/bulk HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n{", old, 100<<10)
	rawExchange(t, e, head).wantError(t, 401, "unauthorized", "expired")
}

// Disabling a link is an admin's switch: 403 for a links:write key, 410
// link_disabled at redirect (and for its QR code) once set, the link still
// listed; false restores it; not accepted at create.
func TestLinks_DisableNeedsAdmin(t *testing.T) {
	e := newAPIEnv(t)
	e.createLink(map[string]any{"url": "https://example.com/d", "code": "dis"})
	writer := e.addKey("writer", []string{storage.ScopeLinksRead, storage.ScopeLinksWrite}, time.Time{})
	admin := e.addKey("admin", []string{storage.ScopeAdmin, storage.ScopeLinksWrite}, time.Time{})
	e.do("PATCH", "/api/v1/links/dis", map[string]any{"disabled": true}, bearer(writer)).wantError(t, http.StatusForbidden, "forbidden", "admin")
	e.do("GET", "/dis", nil, noAuth()).wantStatus(t, http.StatusFound)

	r := e.do("PATCH", "/api/v1/links/dis", map[string]any{"disabled": true}, bearer(admin)).wantStatus(t, http.StatusOK)
	if m := r.json(t); m["disabled"] != true {
		t.Fatalf("patched link: %v", m)
	}
	e.do("GET", "/dis", nil, noAuth()).wantError(t, http.StatusGone, "link_disabled", "disabled")
	e.do("GET", "/dis/qr-code", nil, noAuth()).wantStatus(t, http.StatusGone)
	if m := e.do("GET", "/api/v1/links/dis", nil).wantStatus(t, http.StatusOK).json(t); m["disabled"] != true {
		t.Fatalf("a disabled link must stay readable: %v", m)
	}
	e.do("PATCH", "/api/v1/links/dis", map[string]any{"disabled": false}, bearer(admin)).wantStatus(t, http.StatusOK)
	e.do("GET", "/dis", nil, noAuth()).wantStatus(t, http.StatusFound)

	e.do("PATCH", "/api/v1/links/dis", map[string]any{"disabled": nil}, bearer(admin)).wantError(t, http.StatusBadRequest, "invalid_type", "null")
	e.do("POST", "/api/v1/links", map[string]any{"url": "https://example.com/x", "disabled": true}, bearer(admin)).wantError(t, http.StatusUnprocessableEntity, "invalid_disabled", "PATCH")
}

// A key limited to its own links sees, lists, edits and deletes only the
// links it created, through all three APIs; other keys see everything.
func TestKeys_OwnLinksOnly(t *testing.T) {
	e := newAPIEnv(t)
	r := e.do("POST", "/api/v1/keys", map[string]any{"name": "tenant", "own_links_only": true}).wantStatus(t, http.StatusCreated).json(t)
	if r["own_links_only"] != true {
		t.Fatalf("created key: %v", r)
	}
	tenant := bearer(r["key"].(string))
	e.do("POST", "/api/v1/links", map[string]any{"url": "https://example.com/mine", "code": "mine"}, tenant).wantStatus(t, http.StatusCreated)
	e.createLink(map[string]any{"url": "https://example.com/theirs", "code": "theirs"})

	var list struct{ Links []struct{ Code string } }
	if err := json.Unmarshal(e.do("GET", "/api/v1/links", nil, tenant).wantStatus(t, http.StatusOK).body, &list); err != nil {
		t.Fatal(err)
	}
	if len(list.Links) != 1 || list.Links[0].Code != "mine" {
		t.Fatalf("the tenant lists %+v, want only mine", list.Links)
	}
	e.do("GET", "/api/v1/links/mine", nil, tenant).wantStatus(t, http.StatusOK)
	for _, req := range []struct{ method, path string }{
		{"GET", "/api/v1/links/theirs"}, {"PATCH", "/api/v1/links/theirs"}, {"DELETE", "/api/v1/links/theirs"},
		{"GET", "/api/v1/links/theirs/stats"}, {"DELETE", "/api/v1/links/theirs/visits"},
	} {
		var body any
		if req.method == "PATCH" {
			body = map[string]any{"title": "x"}
		}
		if got := e.do(req.method, req.path, body, tenant); got.status != http.StatusNotFound {
			t.Errorf("tenant %s %s = %d, want 404: %s", req.method, req.path, got.status, got.body)
		}
	}
	if st := e.shlink("GET", "/rest/v3/short-urls/theirs", nil, withHeader("X-Api-Key", r["key"].(string))).status; st != http.StatusNotFound {
		t.Errorf("tenant Shlink GET of another's link = %d", st)
	}
	if st := e.bitly("GET", "/v4/bitlinks/sho.rt/theirs", nil, tenant).status; st != http.StatusNotFound {
		t.Errorf("tenant Bitly GET of another's link = %d", st)
	}
	// The full key sees both, and the links record their creator.
	if err := json.Unmarshal(e.do("GET", "/api/v1/links", nil).wantStatus(t, http.StatusOK).body, &list); err != nil {
		t.Fatal(err)
	}
	if len(list.Links) != 2 {
		t.Fatalf("the admin lists %+v, want both", list.Links)
	}
	l, err := e.store.db.GetLink(t.Context(), "mine")
	if err != nil || l.CreatedBy != r["id"] {
		t.Fatalf("stored creator %q (%v), want %v", l.CreatedBy, err, r["id"])
	}
	// Orphan visits belong to no link: not for this key.
	xk := withHeader("X-Api-Key", r["key"].(string))
	for _, m := range []string{"GET", "DELETE"} {
		if st := e.shlink(m, "/rest/v3/visits/orphan", nil, xk).status; st != http.StatusForbidden {
			t.Errorf("tenant %s /rest/v3/visits/orphan = %d, want 403", m, st)
		}
	}
	// Redirects are public: both redirect.
	e.do("GET", "/theirs", nil, noAuth()).wantStatus(t, http.StatusFound)
}
