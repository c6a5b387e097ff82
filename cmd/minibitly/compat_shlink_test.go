package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/minibitly/minibitly/internal/harness"
)

// sdkDir holds the Node side of the Shlink compatibility test: package.json,
// the committed package-lock.json pinning @shlinkio/shlink-js-sdk 3.2.1, and
// sdk-check.mjs.
var sdkDir = filepath.Join("..", "..", "compat", "shlink")

// sdkStep is one SDK call's outcome as sdk-check.mjs prints it.
type sdkStep struct {
	Value json.RawMessage `json:"value"`
	Error json.RawMessage `json:"error"`
}

type sdkShortURL struct {
	ShortCode     string `json:"shortCode"`
	ShortURL      string `json:"shortUrl"`
	LongURL       string `json:"longUrl"`
	Title         *string
	Tags          []string `json:"tags"`
	ForwardQuery  bool     `json:"forwardQuery"`
	VisitsSummary struct {
		Total, NonBots, Bots uint64
	} `json:"visitsSummary"`
	Meta struct {
		ValidUntil *string `json:"validUntil"`
		MaxVisits  *int64  `json:"maxVisits"`
	} `json:"meta"`
}

type sdkList struct {
	Data       []sdkShortURL `json:"data"`
	Pagination struct {
		CurrentPage, PagesCount, ItemsPerPage, ItemsInCurrentPage, TotalItems int
	} `json:"pagination"`
}

type sdkVisits struct {
	Data []struct {
		Referer       string         `json:"referer"`
		Date          string         `json:"date"`
		UserAgent     string         `json:"userAgent"`
		PotentialBot  bool           `json:"potentialBot"`
		VisitedURL    string         `json:"visitedUrl"`
		VisitLocation map[string]any `json:"visitLocation"`
		Type          *string        `json:"type"`
	} `json:"data"`
	Pagination struct {
		CurrentPage, PagesCount, ItemsPerPage, ItemsInCurrentPage, TotalItems int
	} `json:"pagination"`
}

type sdkProblem struct {
	Type            string   `json:"type"`
	Title           string   `json:"title"`
	Detail          string   `json:"detail"`
	Status          int      `json:"status"`
	InvalidElements []string `json:"invalidElements"`
	CustomSlug      string   `json:"customSlug"`
}

// runSDK installs the pinned SDK when node_modules is missing and runs
// sdk-check.mjs phase against base; it returns the steps by name.
func runSDK(t *testing.T, phase, base string) map[string]sdkStep {
	t.Helper()
	for _, bin := range []string{"node", "npm"} {
		if _, err := exec.LookPath(bin); err != nil {
			t.Fatalf("%s is not installed (needed to run the Shlink JS SDK): apt-get install nodejs npm", bin)
		}
	}
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()
	if _, err := os.Stat(filepath.Join(sdkDir, "node_modules", "@shlinkio", "shlink-js-sdk")); err != nil {
		cmd := exec.CommandContext(ctx, "npm", "ci", "--no-audit", "--no-fund")
		cmd.Dir = sdkDir
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("npm ci in %s: %v\n%s", sdkDir, err, out)
		}
	}
	cmd := exec.CommandContext(ctx, "node", "sdk-check.mjs", phase, base, testKey)
	cmd.Dir = sdkDir
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("node sdk-check.mjs %s: %v\n%s", phase, err, stderr.String())
	}
	steps := map[string]sdkStep{}
	if err := json.Unmarshal(out, &steps); err != nil {
		t.Fatalf("sdk-check.mjs output: %v\n%s", err, out)
	}
	return steps
}

// value decodes the value of step name, failing when the SDK threw.
func value(t *testing.T, steps map[string]sdkStep, name string, v any) {
	t.Helper()
	s, ok := steps[name]
	if !ok {
		t.Fatalf("step %s did not run", name)
	}
	if len(s.Error) > 0 && string(s.Error) != "null" {
		t.Fatalf("step %s: the SDK threw %s", name, s.Error)
	}
	if err := json.Unmarshal(s.Value, v); err != nil {
		t.Fatalf("step %s: %v: %s", name, err, s.Value)
	}
}

// problem decodes the problem the SDK threw at step name; it must be an
// RFC 7807 problem with every member shlink-web-component's parseApiError
// needs, of the Shlink type kind and the status.
func problem(t *testing.T, steps map[string]sdkStep, name, kind string, status int) sdkProblem {
	t.Helper()
	s := steps[name]
	var p sdkProblem
	if len(s.Error) == 0 || json.Unmarshal(s.Error, &p) != nil {
		t.Fatalf("step %s: want a thrown %s problem, got value %s", name, kind, s.Value)
	}
	if p.Type != "https://shlink.io/api/error/"+kind || p.Status != status || p.Title == "" || p.Detail == "" {
		t.Errorf("step %s: problem %+v, want type %s, status %d, a title and a detail", name, p, kind, status)
	}
	return p
}

// TestShlinkSDK runs the official Shlink JS SDK against a real node,
// through every method shlink-web-client uses that Mini Bitly implements,
// and checks the values it returns, including that a link made through
// /api/v1 is seen and counted through the SDK and one made through the
// SDK is seen, edited and counted through /api/v1.
func TestShlinkSDK(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the real binary and node")
	}
	_, base := startSingle(t, t.TempDir())
	if st := harness.Do(t, "POST", base+"/api/v1/links", testKey,
		map[string]any{"url": "https://example.com/v1", "code": "fromv1", "tags": []string{"both"}}, nil); st != 201 {
		t.Fatalf("create through /api/v1: %d", st)
	}
	const chrome = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36"
	for range 3 {
		if st := redirect(t, base, "fromv1", chrome); st != 302 {
			t.Fatalf("redirect: %d", st)
		}
	}
	if st := redirect(t, base, "fromv1", "Googlebot/2.1 (+http://www.google.com/bot.html)"); st != 302 {
		t.Fatalf("redirect: %d", st)
	}
	harness.Eventually(t, 10*time.Second, func() error {
		if n := statsTotal(t, base, "fromv1"); n != 4 {
			return fmt.Errorf("/api/v1 stats of fromv1: %d visits, want 4", n)
		}
		return nil
	})

	steps := runSDK(t, "main", base)

	var health struct{ Status, Version string }
	value(t, steps, "health", &health)
	if health.Status != "pass" || health.Version != "4.6.0" {
		t.Errorf("health %+v", health)
	}
	problem(t, steps, "mercureInfo", "mercure-not-configured", 501)
	problem(t, steps, "badKey", "invalid-api-key", 401)

	var created sdkShortURL
	value(t, steps, "create", &created)
	if created.ShortCode != "fromsdk" || created.ShortURL != base+"/fromsdk" || created.LongURL != "https://example.com/sdk" ||
		!created.ForwardQuery || created.Title == nil || *created.Title != "Made by the SDK" || strings.Join(created.Tags, ",") != "sdk,both" ||
		created.Meta.MaxVisits == nil || *created.Meta.MaxVisits != 100 || created.Meta.ValidUntil == nil || *created.Meta.ValidUntil != "2099-01-01T00:00:00+00:00" {
		t.Errorf("createShortUrl returned %+v", created)
	}
	var byLength sdkShortURL
	value(t, steps, "createLength", &byLength)
	if len(byLength.ShortCode) != 9 {
		t.Errorf("shortCodeLength \"9\" made %q", byLength.ShortCode)
	}
	if p := problem(t, steps, "createTaken", "non-unique-slug", 400); p.CustomSlug != "fromsdk" {
		t.Errorf("non-unique-slug customSlug %q", p.CustomSlug)
	}
	if p := problem(t, steps, "createInvalid", "invalid-data", 400); strings.Join(p.InvalidElements, ",") != "longUrl" {
		t.Errorf("invalid-data invalidElements %v", p.InvalidElements)
	}
	var found sdkShortURL
	value(t, steps, "findIfExists", &found)
	if found.ShortCode != "fromsdk" {
		t.Errorf("findIfExists returned %q, want the existing fromsdk", found.ShortCode)
	}
	var v1 sdkShortURL
	value(t, steps, "getV1", &v1)
	if v1.LongURL != "https://example.com/v1" || v1.VisitsSummary.Total != 4 || v1.VisitsSummary.Bots != 1 || v1.VisitsSummary.NonBots != 3 {
		t.Errorf("getShortUrl(fromv1) = %+v, want the /api/v1 link with 4 visits, 1 bot", v1)
	}
	problem(t, steps, "getMissing", "short-url-not-found", 404)

	var updated sdkShortURL
	value(t, steps, "update", &updated)
	if updated.LongURL != "https://example.com/sdk-edited" || updated.Title != nil || updated.Meta.MaxVisits != nil ||
		updated.Meta.ValidUntil != nil || updated.ForwardQuery || strings.Join(updated.Tags, ",") != "sdk,both,edited" {
		t.Errorf("updateShortUrl returned %+v", updated)
	}
	var l struct {
		linkJSON
		Tags []string `json:"tags"`
	}
	if st := harness.Do(t, "GET", base+"/api/v1/links/fromsdk", testKey, nil, &l); st != 200 || l.URL != "https://example.com/sdk-edited" {
		t.Errorf("/api/v1 sees fromsdk as %d %+v", st, l)
	}

	codes := func(name string) (string, sdkList) {
		t.Helper()
		var ls sdkList
		value(t, steps, name, &ls)
		var cs []string
		for _, u := range ls.Data {
			cs = append(cs, u.ShortCode)
		}
		return strings.Join(cs, ","), ls
	}
	if got, ls := codes("overviewList"); got != byLength.ShortCode+",fromsdk,fromv1" || ls.Pagination.TotalItems != 3 || ls.Pagination.ItemsPerPage != 5 {
		t.Errorf("listShortUrls(itemsPerPage 5, dateCreated-DESC) = %s %+v", got, ls.Pagination)
	}
	if got, ls := codes("listPage2"); got != "fromsdk" || ls.Pagination.CurrentPage != 2 || ls.Pagination.PagesCount != 3 {
		t.Errorf("listShortUrls(page 2 of 1) = %s %+v", got, ls.Pagination)
	}
	if got, _ := codes("listTags"); got != "fromv1,fromsdk" {
		t.Errorf("listShortUrls(tags [both], visits-DESC) = %s", got)
	}
	if got, _ := codes("listExclude"); got != byLength.ShortCode+",fromv1" {
		t.Errorf("listShortUrls(excludeTags [sdk]) = %s", got)
	}
	if got, _ := codes("listSearch"); got != "fromsdk" {
		t.Errorf("listShortUrls(searchTerm EDITED) = %s", got)
	}
	if got, _ := codes("listFiltered"); got != byLength.ShortCode+",fromsdk,fromv1" {
		t.Errorf("listShortUrls(last 30 days, excludeMaxVisitsReached, excludePastValidUntil) = %s", got)
	}

	var overview struct {
		NonOrphanVisits struct{ Total, NonBots, Bots uint64 }
		OrphanVisits    struct{ Total uint64 }
	}
	value(t, steps, "visitsOverview", &overview)
	if overview.NonOrphanVisits.Total != 4 || overview.NonOrphanVisits.Bots != 1 || overview.NonOrphanVisits.NonBots != 3 {
		t.Errorf("getVisitsOverview = %+v", overview)
	}
	var visits sdkVisits
	value(t, steps, "visitsV1", &visits)
	if len(visits.Data) != 4 || visits.Pagination.TotalItems != 4 || visits.Pagination.PagesCount != 1 {
		t.Fatalf("getShortUrlVisits(fromv1) = %+v", visits)
	}
	bots := 0
	for _, v := range visits.Data {
		if v.Type != nil {
			t.Errorf("a regular visit has a type (the web client would take it as orphan): %+v", v)
		}
		if v.VisitedURL != base+"/fromv1" || v.Date == "" || v.UserAgent == "" {
			t.Errorf("visit %+v", v)
		}
		if v.PotentialBot {
			bots++
		} else if !strings.Contains(v.UserAgent, "Chrome/") || !strings.Contains(v.UserAgent, "Windows") {
			t.Errorf("a Chrome on Windows visit has user agent %q", v.UserAgent)
		}
	}
	if bots != 1 {
		t.Errorf("%d bot visits, want 1", bots)
	}
	// The synthesised user agents read back as what was counted, by the
	// parser the web client charts with.
	var parsed []struct {
		Browser, OS *string
		Bot         bool
	}
	value(t, steps, "visitsV1Parsed", &parsed)
	for _, p := range parsed {
		if !p.Bot && (p.Browser == nil || *p.Browser != "Chrome" || p.OS == nil || *p.OS != "Windows") {
			t.Errorf("bowser reads a Chrome on Windows visit as %v / %v", p.Browser, p.OS)
		}
	}
	var latest sdkVisits
	value(t, steps, "visitsV1Latest", &latest)
	if len(latest.Data) != 1 || latest.Pagination.PagesCount != 4 || latest.Data[0].Date != visits.Data[0].Date {
		t.Errorf("getShortUrlVisits(itemsPerPage 1) = %+v", latest)
	}
	var human sdkVisits
	value(t, steps, "visitsV1NoBots", &human)
	if human.Pagination.TotalItems != 3 {
		t.Errorf("getShortUrlVisits(excludeBots) = %+v", human.Pagination)
	}

	for name, want := range map[string]int{"tagVisits": 4, "domainVisits": 3, "nonOrphanVisits": 4} {
		var vs sdkVisits
		value(t, steps, name, &vs)
		if len(vs.Data) != want || vs.Pagination.TotalItems != want {
			t.Errorf("%s: %d visits (totalItems %d), want %d", name, len(vs.Data), vs.Pagination.TotalItems, want)
		}
		for _, v := range vs.Data {
			if v.VisitedURL != base+"/fromv1" {
				t.Errorf("%s: a visit of %s, only fromv1 has visits", name, v.VisitedURL)
			}
		}
	}
	var tags struct{ Data []string }
	value(t, steps, "tags", &tags)
	if strings.Join(tags.Data, ",") != "both,edited,sdk" {
		t.Errorf("listTags = %v", tags.Data)
	}
	var tagStats struct {
		Data []struct {
			Tag            string
			ShortURLsCount int `json:"shortUrlsCount"`
			VisitsSummary  struct{ Total, NonBots, Bots uint64 }
		}
	}
	value(t, steps, "tagsStats", &tagStats)
	if len(tagStats.Data) != 3 || tagStats.Data[0].Tag != "both" || tagStats.Data[0].ShortURLsCount != 2 || tagStats.Data[0].VisitsSummary.Total != 4 {
		t.Errorf("tagsStats = %+v", tagStats.Data)
	}
	wantRedirects := sdkRedirects{BaseURLRedirect: ptr("https://example.com/home"), InvalidShortURLRedirect: ptr("https://example.com/invalid")}
	var edited sdkRedirects
	value(t, steps, "editRedirects", &edited)
	if !edited.equal(wantRedirects) {
		t.Errorf("editDomainRedirects = %s, want %s", edited, wantRedirects)
	}
	if p := problem(t, steps, "editRedirectsInvalid", "invalid-data", 400); strings.Join(p.InvalidElements, ",") != "regular404Redirect" {
		t.Errorf("editDomainRedirects(regular404Redirect: not a url): invalidElements %v", p.InvalidElements)
	}
	problem(t, steps, "editRedirectsOtherDomain", "domain-not-found", 404)
	var domains struct {
		Data []struct {
			Domain    string
			IsDefault bool
			Redirects sdkRedirects
		}
		DefaultRedirects sdkRedirects
	}
	value(t, steps, "domains", &domains)
	if len(domains.Data) != 1 || domains.Data[0].Domain != strings.TrimPrefix(base, "http://") || !domains.Data[0].IsDefault {
		t.Errorf("listDomains = %+v", domains.Data)
	} else if !domains.Data[0].Redirects.equal(wantRedirects) || !domains.DefaultRedirects.equal(wantRedirects) {
		t.Errorf("listDomains redirects %s, defaultRedirects %s; want %s", domains.Data[0].Redirects, domains.DefaultRedirects, wantRedirects)
	}
	// The redirect path applies what the SDK set.
	for path, want := range map[string]string{"/": "https://example.com/home", "/nope": "https://example.com/invalid", "/a/b": ""} {
		if loc := location(t, base+path); loc != want {
			t.Errorf("GET %s: Location %q, want %q", path, loc, want)
		}
	}
	var rules struct {
		DefaultLongURL string            `json:"defaultLongUrl"`
		RedirectRules  []json.RawMessage `json:"redirectRules"`
	}
	value(t, steps, "rules", &rules)
	if rules.DefaultLongURL != "https://example.com/sdk-edited" || rules.RedirectRules == nil || len(rules.RedirectRules) != 0 {
		t.Errorf("getShortUrlRedirectRules = %+v", rules)
	}
	problem(t, steps, "setRules", "invalid-data", 400)
	var deleted string
	value(t, steps, "delete", &deleted)
	if st := harness.Do(t, "GET", base+"/api/v1/links/"+deleted, testKey, nil, nil); st != 404 {
		t.Errorf("/api/v1 still has %s deleted through the SDK: %d", deleted, st)
	}
	problem(t, steps, "deleteMissing", "short-url-not-found", 404)
	problem(t, steps, "editTagConflict", "tag-conflict", 409)
	value(t, steps, "tagsAfterEdit", &tags)
	if strings.Join(tags.Data, ",") != "both,renamed,sdk" {
		t.Errorf("listTags after editTag(edited -> renamed) = %v", tags.Data)
	}
	value(t, steps, "tagsAfterDelete", &tags)
	if strings.Join(tags.Data, ",") != "both" {
		t.Errorf("listTags after deleteTags([renamed, sdk]) = %v", tags.Data)
	}
	if st := harness.Do(t, "GET", base+"/api/v1/links/fromsdk", testKey, nil, &l); st != 200 || strings.Join(l.Tags, ",") != "both" {
		t.Errorf("/api/v1 sees fromsdk's tags as %v after the SDK renamed and deleted tags", l.Tags)
	}

	// Visits of the SDK's link, counted by the redirect path, seen through
	// /api/v1 and through the SDK.
	for range 2 {
		if st := redirect(t, base, "fromsdk", chrome); st != 302 {
			t.Fatalf("redirect fromsdk: %d", st)
		}
	}
	harness.Eventually(t, 10*time.Second, func() error {
		if n := statsTotal(t, base, "fromsdk"); n != 2 {
			return fmt.Errorf("/api/v1 stats of fromsdk: %d visits, want 2", n)
		}
		// The orphan visits of /, /nope and /a/b (requested above).
		var ov struct {
			Visits struct{ OrphanVisits struct{ Total uint64 } }
		}
		if st := harness.Do(t, "GET", base+"/rest/v3/visits", testKey, nil, &ov); st != 200 || ov.Visits.OrphanVisits.Total != 3 {
			return fmt.Errorf("GET /rest/v3/visits: %d, %d orphan visits, want 3", st, ov.Visits.OrphanVisits.Total)
		}
		return nil
	})
	steps = runSDK(t, "counted", base)
	var got sdkShortURL
	value(t, steps, "get", &got)
	if got.VisitsSummary.Total != 2 || got.VisitsSummary.NonBots != 2 {
		t.Errorf("getShortUrl(fromsdk).visitsSummary = %+v, want 2 non-bot visits", got.VisitsSummary)
	}
	value(t, steps, "visits", &visits)
	if len(visits.Data) != 2 || visits.Pagination.TotalItems != 2 {
		t.Errorf("getShortUrlVisits(fromsdk) = %+v", visits)
	}
	if got, _ := codes("list"); got != "fromv1,fromsdk" {
		t.Errorf("listShortUrls(visits-DESC) = %s, want fromv1 (4) before fromsdk (2)", got)
	}
	var orphans sdkVisits
	value(t, steps, "orphanVisits", &orphans)
	var types []string
	for _, v := range orphans.Data {
		if v.Type == nil {
			t.Fatalf("getOrphanVisits: a visit without a type: %+v", v)
		}
		types = append(types, *v.Type)
		if want := map[bool]string{true: base + "/"}[*v.Type == "base_url"]; v.VisitedURL != want {
			t.Errorf("getOrphanVisits: a %s visit of %q, want visitedUrl %q", *v.Type, v.VisitedURL, want)
		}
	}
	sort.Strings(types) // newest minute first: a minute may have begun between the requests
	if got := strings.Join(types, ","); got != "base_url,invalid_short_url,regular_404" || orphans.Pagination.TotalItems != 3 {
		t.Errorf("getOrphanVisits: types %s, totalItems %d; want one of each", got, orphans.Pagination.TotalItems)
	}
	value(t, steps, "orphanBaseUrl", &orphans)
	if len(orphans.Data) != 1 || *orphans.Data[0].Type != "base_url" {
		t.Errorf("getOrphanVisits(type base_url) = %+v", orphans.Data)
	}
	var overview2 struct {
		NonOrphanVisits, OrphanVisits struct{ Total, NonBots, Bots uint64 }
	}
	value(t, steps, "overview", &overview2)
	if o := overview2.OrphanVisits; o.Total != 3 || o.NonBots+o.Bots != 3 || overview2.NonOrphanVisits.Total != 6 {
		t.Errorf("getVisitsOverview = %+v, want 3 orphan visits and 6 of links", overview2)
	}
	var removed struct{ DeletedVisits uint64 }
	value(t, steps, "deleteVisits", &removed)
	var linkVisits, before struct {
		Data       []json.RawMessage
		Pagination struct{ TotalItems int }
	}
	value(t, steps, "visits", &before)
	if removed.DeletedVisits == 0 || removed.DeletedVisits != uint64(before.Pagination.TotalItems) {
		t.Errorf("deleteShortUrlVisits = %d removed, want the %d visits listed before", removed.DeletedVisits, before.Pagination.TotalItems)
	}
	value(t, steps, "visitsAfterDelete", &linkVisits)
	if len(linkVisits.Data) != 0 {
		t.Errorf("getShortUrlVisits after the delete: %d visits", len(linkVisits.Data))
	}
	value(t, steps, "deleteOrphanVisits", &removed)
	if removed.DeletedVisits != 3 {
		t.Errorf("deleteOrphanVisits = %d, want 3", removed.DeletedVisits)
	}
	value(t, steps, "overviewAfterDelete", &overview2)
	if overview2.OrphanVisits.Total != 0 {
		t.Errorf("orphan visits after deleteOrphanVisits: %+v", overview2.OrphanVisits)
	}
}

// sdkRedirects are a domain's redirects as the SDK returns them.
type sdkRedirects struct {
	BaseURLRedirect         *string `json:"baseUrlRedirect"`
	Regular404Redirect      *string `json:"regular404Redirect"`
	InvalidShortURLRedirect *string `json:"invalidShortUrlRedirect"`
}

func (r sdkRedirects) equal(o sdkRedirects) bool { return r.String() == o.String() }

func (r sdkRedirects) String() string {
	s := func(p *string) string {
		if p == nil {
			return "null"
		}
		return strconv.Quote(*p)
	}
	return "{base " + s(r.BaseURLRedirect) + ", regular404 " + s(r.Regular404Redirect) + ", invalidShortUrl " + s(r.InvalidShortURLRedirect) + "}"
}

func ptr[T any](v T) *T { return &v }

// location is the Location of GET url's answer ("" when none).
func location(t *testing.T, url string) string {
	t.Helper()
	resp, err := harness.Client.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.Header.Get("Location")
}
