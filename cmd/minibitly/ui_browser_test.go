package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
	"github.com/minibitly/minibitly/internal/harness"
	"github.com/minibitly/minibitly/storage"
	"github.com/minibitly/minibitly/storage/embedded"
)

// uiStep is how long one step of the browser test may take.
const uiStep = 10 * time.Second

// browser drives one headless chromium for a test, step by step, saving a
// screenshot of each screen under the test's temp dir.
type browser struct {
	t     *testing.T
	ctx   context.Context
	dir   string
	shots int
}

// newBrowser starts Debian's chromium headless with a fresh profile. A
// missing chromium fails the test with the command that installs it.
func newBrowser(t *testing.T) *browser {
	t.Helper()
	path, err := exec.LookPath("chromium")
	if err != nil {
		if _, serr := os.Stat("/usr/bin/chromium"); serr != nil {
			t.Fatalf("chromium is not installed (the browser test drives Debian's chromium): "+
				"run `apt-get install -y chromium` or `make deps` (scripts/install-deps.sh): %v", err)
		}
		path = "/usr/bin/chromium"
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(path),
		chromedp.Headless,
		chromedp.NoSandbox, // CI runs as root
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 900),
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(func() { cancel(); cancelAlloc() })
	// Start the browser now, so a broken chromium is named as such. The
	// first call must not carry a timeout (it would stop the browser with
	// it): a timer cancels the browser if it does not start in time.
	stuck := time.AfterFunc(30*time.Second, cancel)
	err = chromedp.Do(ctx)
	if !stuck.Stop() {
		t.Fatalf("chromium %s did not start within 30 s: %v", path, err)
	}
	if err != nil {
		t.Fatalf("start chromium %s: %v", path, err)
	}
	// Screenshots go to $MINIBITLY_UI_SCREENSHOTS when set, else to a
	// temporary directory that is removed when the test passes and kept
	// (and named) when it fails.
	dir := os.Getenv("MINIBITLY_UI_SCREENSHOTS")
	if dir == "" {
		var err error
		if dir, err = os.MkdirTemp("", "minibitly-ui-screenshots-"); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			if t.Failed() {
				t.Logf("screenshots kept in %s", dir)
				return
			}
			os.RemoveAll(dir)
		})
	} else if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshots of each screen go to %s (set MINIBITLY_UI_SCREENSHOTS to keep them)", dir)
	return &browser{t: t, ctx: ctx, dir: dir}
}

// step runs actions within uiStep; on failure it saves a screenshot and
// fails the test naming the step.
func (b *browser) step(name string, actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	browse(b, name, chromedp.Steps(actions...))
}

// browse runs one action that returns a value, as step does.
func browse[T any](b *browser, name string, a chromedp.Action[T]) T {
	b.t.Helper()
	c, cancel := context.WithTimeout(b.ctx, uiStep)
	defer cancel()
	v, err := chromedp.Run(c, a)
	if err != nil {
		b.shot("FAILED-" + strings.ReplaceAll(name, " ", "-"))
		b.t.Fatalf("browser step %q: %v", name, err)
	}
	return v
}

// shot saves a full-page screenshot named after the screen.
func (b *browser) shot(name string) {
	b.t.Helper()
	c, cancel := context.WithTimeout(b.ctx, uiStep)
	defer cancel()
	png, err := chromedp.Run(c, chromedp.FullScreenshot(100))
	if err != nil {
		b.t.Logf("screenshot %s: %v", name, err)
		return
	}
	b.shots++
	p := filepath.Join(b.dir, fmt.Sprintf("%02d-%s.png", b.shots, name))
	if err := os.WriteFile(p, png, 0o644); err != nil {
		b.t.Logf("screenshot %s: %v", name, err)
		return
	}
	b.t.Logf("screenshot: %s", p)
}

// wait waits for a visible element, saying what was missing when it does
// not appear.
func wait(what, sel string) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		if _, err := chromedp.WaitVisible(chromedp.CSS(sel))(ctx, t); err != nil {
			return fmt.Errorf("%s (%s) is not on the page: %w", what, sel, err)
		}
		return nil
	})
}

// waitJS polls a JavaScript condition until it is true.
func waitJS(what, cond string) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		for {
			ok, err := chromedp.Evaluate[bool]("!!("+cond+")")(ctx, t)
			if err != nil {
				return fmt.Errorf("%s: %w", what, err)
			}
			if ok {
				return nil
			}
			select {
			case <-ctx.Done():
				return fmt.Errorf("%s: never true (%s): %w", what, cond, ctx.Err())
			case <-time.After(50 * time.Millisecond):
			}
		}
	})
}

// fill replaces an input's value as typing would (an input event), for
// fields that already hold a value; change fires for selects.
func fill(sel, value string) chromedp.Action[chromedp.Void] {
	js := fmt.Sprintf(`(() => { const e = document.querySelector(%q); if (!e) return false;
		e.value = %q; e.dispatchEvent(new Event('input', {bubbles: true}));
		e.dispatchEvent(new Event('change', {bubbles: true})); return true; })()`, sel, value)
	return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		ok, err := chromedp.Evaluate[bool](js)(ctx, t)
		if err != nil {
			return err
		}
		if !ok {
			return fmt.Errorf("field %s is not on the page", sel)
		}
		return nil
	})
}

func click(sel string) chromedp.Action[chromedp.Void] { return chromedp.Click(chromedp.CSS(sel)) }

func typeIn(sel, text string) chromedp.Action[chromedp.Void] {
	return chromedp.SendKeys(chromedp.CSS(sel), text)
}

func text(sel string) chromedp.Action[string] { return chromedp.Text(chromedp.CSS(sel)) }

func eval[T any](js string) chromedp.Action[T] { return chromedp.Evaluate[T](js) }

// uiStats is what the visits screen shows, read from the DOM.
type uiStats struct {
	Total, Human, Bot uint64
	Tables            map[string][]uiRow
}

type uiRow struct {
	Key    string `json:"key"`
	Visits uint64 `json:"visits"`
}

const readStatsJS = `(() => {
  const n = (id) => Number(document.getElementById(id).dataset.visits);
  const tables = {};
  for (const id of ['referrers', 'browsers', 'os', 'devices', 'countries']) {
    const t = document.getElementById(id);
    tables[id] = t ? [...t.querySelectorAll('tbody tr')].map((r) => ({key: r.dataset.key, visits: Number(r.querySelector('td').dataset.visits)})) : [];
  }
  return {Total: n('stat-total'), Human: n('stat-human'), Bot: n('stat-bot'), Tables: tables};
})()`

type apiStats struct {
	Total     uint64  `json:"total"`
	Referrers []uiRow `json:"referrers"`
	Browsers  []uiRow `json:"browsers"`
	OS        []uiRow `json:"os"`
	Devices   []uiRow `json:"devices"`
	Countries []uiRow `json:"countries"`
	Bots      struct {
		Bot   uint64 `json:"bot"`
		Human uint64 `json:"human"`
	} `json:"bots"`
}

func sameRows(a, b []uiRow) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestUI_Browser drives the web UI in headless chromium against a real
// node: log in, create a link with the form, find it in the list, see the
// visits of real redirects equal /api/v1 stats, edit it, delete it, log out.
func TestUI_Browser(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the real binary and chromium")
	}
	started := time.Now()
	port := harness.FreePort(t, "127.0.0.1")
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	base := "http://" + addr
	harness.StartNode(t, harness.NodeConfig{Name: "ui", HTTPAddr: addr,
		Args: []string{"--http-addr", addr, "--base-url", base, "--data-dir", t.TempDir(),
			"--flush-interval", "100ms", "--batch-interval", "20ms", "--shards", "4"},
		Env: []string{"MINIBITLY_INITIAL_API_KEY=" + testKey}})
	b := newBrowser(t)

	// Log in: a wrong key is refused in words, the right one (typed, Enter) works.
	b.step("open /", chromedp.Navigate(base+"/"), wait("the API key field", "#api-key"),
		waitJS("/ redirects to /ui/", `location.pathname === '/ui/'`))
	b.shot("login")
	b.step("wrong key", typeIn("#api-key", "not-a-key"+kb.Enter),
		wait("the login error", "#login-form .error"))
	msg := browse(b, "read login error", text("#login-form .error"))
	if !strings.Contains(msg, "not accepted") || !strings.Contains(msg, "401") {
		t.Fatalf("login error says %q, want words about the refused key and its 401", msg)
	}
	b.shot("login-refused")
	b.step("log in", fill("#api-key", ""), typeIn("#api-key", testKey+kb.Enter),
		wait("the list of links", "#links"), wait("the new-link button", "#new-link"))
	stored := browse(b, "key stored", eval[string](`localStorage.getItem('minibitly.apiKey') || ''`))
	if stored != testKey {
		t.Fatalf("localStorage holds %q after login", stored)
	}
	b.shot("list-empty")

	// Create through the form.
	b.step("open the form", click("#new-link"), wait("the link form", "#link-form"), wait("the URL field", "#f-url"))
	b.step("fill the form",
		typeIn("#f-url", "https://example.com/landing?from=ui"),
		typeIn("#f-code", "uitest"),
		typeIn("#f-title", "Browser test"),
		typeIn("#f-tags", "ui, e2e"),
		typeIn("#f-max", "1000"),
		fill("#f-status", "301"))
	b.shot("create-form")
	b.step("create", click("#save"), wait("the new link's page", "#short-url"),
		waitJS("the link page's URL", `location.pathname === '/ui/links/uitest'`))
	short := browse(b, "read short URL", text("#short-url"))
	if short != base+"/uitest" {
		t.Fatalf("the page shows short URL %q, want %q", short, base+"/uitest")
	}
	var l struct {
		URL            string   `json:"url"`
		Title          string   `json:"title"`
		Tags           []string `json:"tags"`
		MaxVisits      *int64   `json:"max_visits"`
		RedirectStatus int      `json:"redirect_status"`
		Visits         *uint64  `json:"visits"`
	}
	if st := harness.Do(t, "GET", base+"/api/v1/links/uitest", testKey, nil, &l); st != 200 {
		t.Fatalf("GET the link made in the UI: %d", st)
	}
	if l.URL != "https://example.com/landing?from=ui" || l.Title != "Browser test" || strings.Join(l.Tags, ",") != "ui,e2e" ||
		l.MaxVisits == nil || *l.MaxVisits != 1000 || l.RedirectStatus != 301 {
		t.Fatalf("the API has %+v for the link made in the form", l)
	}
	b.step("copy the short URL", click(".detail .copy button"),
		waitJS("the copy confirmed", `document.querySelector('.detail .copy .status').textContent === 'Copied'`))
	b.step("QR code shown", waitJS("the QR image loads", `document.querySelector('.qr img').naturalWidth > 0`))
	b.shot("link-created")

	// The list shows it, and the search finds it.
	b.step("back to the list", click("main > p > a"), wait("the link in the list", `#links li[data-code="uitest"]`))
	b.step("search", typeIn("#search", "landing"),
		wait("the link found by the search", `#links li[data-code="uitest"]`))
	b.step("filter by a tag", fill("#search", ""), click(`#links li[data-code="uitest"] button.tag`),
		waitJS("the tag filter set from the link's tag", `document.querySelector('#tag-filter').value === 'ui' && location.search === '?tag=ui'`),
		wait("the link in the tag's list", `#links li[data-code="uitest"]`))
	b.shot("list")

	// Visits: real redirects from a few kinds of visitor.
	uas := []struct{ ua, ref string }{
		{"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36", "https://news.example.com/story"},
		{"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36", "https://news.example.com/other"},
		{"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36", ""},
		{"Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0", "https://blog.example.org/"},
		{"Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1", ""},
		{"Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)", ""},
	}
	for _, v := range uas {
		req, _ := http.NewRequest("GET", base+"/uitest", nil)
		req.Header.Set("User-Agent", v.ua)
		if v.ref != "" {
			req.Header.Set("Referer", v.ref)
		}
		resp, err := harness.Client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 301 || resp.Header.Get("Location") != "https://example.com/landing?from=ui" {
			t.Fatalf("redirect: %d to %q", resp.StatusCode, resp.Header.Get("Location"))
		}
	}
	var want apiStats
	harness.Eventually(t, 15*time.Second, func() error {
		if st := harness.Do(t, "GET", base+"/api/v1/links/uitest/stats", testKey, nil, &want); st != 200 {
			return fmt.Errorf("stats: %d", st)
		}
		if want.Total != uint64(len(uas)) {
			return fmt.Errorf("stats total %d, want %d", want.Total, len(uas))
		}
		return nil
	})

	// The visits screen shows what /api/v1 says.
	clicked := time.Now()
	b.step("open the visits", click(`#links li[data-code="uitest"] a.code`), wait("the total of visits", "#stat-total"),
		wait("the chart", `#visits-chart[data-ready="true"]`))
	t.Logf("time to first chart after opening the link: %v", time.Since(clicked).Round(time.Millisecond))
	got := browse(b, "read the visits", eval[uiStats](readStatsJS))
	b.shot("visits")
	if got.Total != want.Total || got.Human != want.Bots.Human || got.Bot != want.Bots.Bot {
		t.Errorf("the UI shows total %d, humans %d, bots %d; /api/v1 says %d, %d, %d",
			got.Total, got.Human, got.Bot, want.Total, want.Bots.Human, want.Bots.Bot)
	}
	for name, rows := range map[string][]uiRow{"referrers": want.Referrers, "browsers": want.Browsers, "os": want.OS,
		"devices": want.Devices, "countries": want.Countries} {
		if !sameRows(got.Tables[name], rows) {
			t.Errorf("%s: the UI shows %+v, /api/v1 says %+v", name, got.Tables[name], rows)
		}
	}
	if want.Bots.Bot != 1 || len(want.Browsers) < 3 {
		t.Errorf("the redirects were not classified as sent: %+v", want)
	}
	// A cold load of the same screen, scripts included.
	cold := time.Now()
	b.step("cold load of the visits", chromedp.Navigate(base+"/ui/links/uitest"),
		wait("the chart after a reload", `#visits-chart[data-ready="true"]`))
	firstChart := browse(b, "first chart time", eval[float64](`window.__firstChartMs || 0`))
	t.Logf("time to first chart on a cold load: %v (page clock: %.0f ms)", time.Since(cold).Round(time.Millisecond), firstChart)

	// Edit: a new URL, no visit limit.
	b.step("open the edit form", click("#edit-link"), wait("the edit form", "#link-form"),
		waitJS("the form holds the link", `document.querySelector('#f-url').value === 'https://example.com/landing?from=ui'`))
	b.step("change the link", fill("#f-url", "https://example.com/edited"), fill("#f-max", ""), fill("#f-title", "Edited"))
	b.shot("edit-form")
	b.step("save with Enter", typeIn("#f-title", kb.Enter), wait("the saved message", "main .flash"),
		waitJS("the new URL on the page", `document.querySelector('#long-url') && document.querySelector('#long-url').textContent === 'https://example.com/edited'`))
	b.shot("link-edited")
	l.MaxVisits = nil
	if st := harness.Do(t, "GET", base+"/api/v1/links/uitest", testKey, nil, &l); st != 200 || l.URL != "https://example.com/edited" ||
		l.MaxVisits != nil || l.Title != "Edited" {
		t.Fatalf("after the edit the API has %d %+v", st, l)
	}

	// Delete, with its confirmation.
	b.step("ask to delete", click("#delete-link"), wait("the delete confirmation", "#confirm-delete"),
		waitJS("the focus on the confirmation", `document.activeElement && document.activeElement.id === 'confirm-delete'`))
	b.shot("delete-confirm")
	b.step("delete", click("#confirm-delete"), wait("the list after deleting", "#links"),
		waitJS("the deleted message", `document.querySelector('main .flash') && document.querySelector('main .flash').textContent.includes('Deleted /uitest')`),
		waitJS("the link gone from the list", `!document.querySelector('#links li[data-code="uitest"]')`))
	b.shot("deleted")
	if st := harness.Do(t, "GET", base+"/api/v1/links/uitest", testKey, nil, nil); st != 404 {
		t.Fatalf("after delete GET answers %d, want 404", st)
	}

	// An API error in words: the code of a deleted link is never reused.
	b.step("create again", click("#new-link"), wait("the URL field", "#f-url"),
		typeIn("#f-url", "https://example.com/again"),
		typeIn("#f-code", "uitest"), click("#save"),
		wait("the error", "#link-form .error"))
	msg = browse(b, "read the error", text("#link-form .error"))
	if !strings.Contains(msg, "already taken") || !strings.Contains(msg, "409") {
		t.Fatalf("creating a retired code shows %q, want the API's words and its 409", msg)
	}
	b.shot("create-refused")

	// More links than a page: the list follows the API's cursor.
	bulk := make([]map[string]any, 60)
	for i := range bulk {
		bulk[i] = map[string]any{"url": fmt.Sprintf("https://example.com/bulk/%d", i), "tags": []string{"bulk"}}
	}
	if st := harness.Do(t, "POST", base+"/api/v1/links/bulk", testKey, map[string]any{"links": bulk}, nil); st != 200 {
		t.Fatalf("bulk create: %d", st)
	}
	b.step("first page", chromedp.Navigate(base+"/ui/"), wait("the load-more button", "#load-more"),
		waitJS("a page of 50 links", `document.querySelectorAll('#links li').length === 50`))
	b.step("next page", click("#load-more"),
		waitJS("all 60 links after loading more", `document.querySelectorAll('#links li').length === 60`),
		waitJS("no more pages", `!document.querySelector('#load-more')`))
	b.shot("list-all-pages")

	// On a phone: nothing wider than the screen, with a link in the list.
	if st := harness.Do(t, "POST", base+"/api/v1/links", testKey, map[string]any{"url": "https://example.com/a/rather/long/path/that/must/wrap/on/a/phone?with=query&and=more",
		"code": "phone", "title": "Seen on a phone", "tags": []string{"mobile"}}, nil); st != 201 {
		t.Fatalf("create the phone link: %d", st)
	}
	b.step("phone", chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile), chromedp.Navigate(base+"/ui/"),
		wait("the link on a phone", `#links li[data-code="phone"]`))
	overflow := browse(b, "phone width", eval[bool](`document.documentElement.scrollWidth > window.innerWidth`))
	b.shot("phone-list")
	if overflow {
		t.Errorf("the list is wider than a 390 px phone screen")
	}

	// Log out clears the key.
	b.step("log out", click("#logout"), wait("the login form", "#api-key"))
	stored = browse(b, "key cleared", eval[string](`localStorage.getItem('minibitly.apiKey') || ''`))
	if stored != "" {
		t.Fatalf("localStorage still holds %q after logout", stored)
	}
	b.shot("logged-out")
	if d := time.Since(started); d > 60*time.Second {
		t.Errorf("the browser test took %v, over its 60 s budget", d)
	}
}

// TestUI_FirstChartMillionVisits measures the time to the first chart of a
// link with a million visits, spread over the last 7 days (every minute)
// and over referrers, browsers, OS, devices, countries and bots, written
// into the node's embedded store as the flusher would: the UI reads
// aggregates, so this costs the same page as a link with ten visits.
func TestUI_FirstChartMillionVisits(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the real binary and chromium")
	}
	const visits = 1_000_000
	port := harness.FreePort(t, "127.0.0.1")
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	base := "http://" + addr
	dataDir := t.TempDir()
	n := harness.StartNode(t, harness.NodeConfig{Name: "ui-1m", HTTPAddr: addr,
		Args: []string{"--http-addr", addr, "--base-url", base, "--data-dir", dataDir, "--shards", "4"},
		Env:  []string{"MINIBITLY_INITIAL_API_KEY=" + testKey}})
	if st := harness.Do(t, "POST", base+"/api/v1/links", testKey, map[string]any{"url": "https://example.com/popular", "code": "million"}, nil); st != 201 {
		t.Fatalf("create: %d", st)
	}
	n.Stop(t) // the embedded store is one process's: write the visits while the node is down

	cfg := embedded.DefaultConfig()
	cfg.Path = filepath.Join(dataDir, filepath.Base(cfg.Path))
	store, err := embedded.Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	refs := []string{"", "news.example.com", "blog.example.org", "t.co", "mail.example.net"}
	kinds := []struct {
		device, browser, os string
		bot                 bool
	}{{"desktop", "chrome", "windows", false}, {"mobile", "safari", "ios", false}, {"desktop", "firefox", "linux", false},
		{"mobile", "chrome", "android", false}, {"bot", "bot", "other", true}}
	countries := []string{"", "DE", "US", "FR", "JP", "BR"}
	now := time.Now().Unix()
	first := now - now%60 - 7*86400 + 3600 // well inside the UI's "last 7 days"
	var rows []storage.VisitCount
	for m := first; m < now-60; m += 60 {
		for j := 0; j < len(kinds); j++ { // five kinds of visitor a minute
			i := len(rows)
			k := kinds[(i+j)%len(kinds)]
			rows = append(rows, storage.VisitCount{VisitKey: storage.VisitKey{Code: "million", Minute: m,
				Referrer: refs[(i/3)%len(refs)], Device: k.device, Browser: k.browser, OS: k.os, Bot: k.bot,
				Country: countries[(i/7)%len(countries)]}})
		}
	}
	for i := range rows {
		rows[i].Visits = uint64(visits / len(rows))
		if i < visits%len(rows) {
			rows[i].Visits++
		}
	}
	if err := store.WriteVisits(context.Background(), storage.VisitBatch{NodeID: "seed", Seq: 1, Rows: rows}); err != nil {
		t.Fatal(err)
	}
	if err := store.Close(); err != nil {
		t.Fatal(err)
	}
	n.Start(t)

	b := newBrowser(t)
	b.step("log in", chromedp.Navigate(base+"/ui/"), wait("the API key field", "#api-key"),
		eval[chromedp.Void](fmt.Sprintf(`localStorage.setItem('minibitly.apiKey', %q)`, testKey)))
	start := time.Now()
	b.step("open the visits", chromedp.Navigate(base+"/ui/links/million"),
		wait("the chart", `#visits-chart[data-ready="true"]`))
	wall := time.Since(start)
	pageMs := browse(b, "first chart time", eval[float64](`window.__firstChartMs || 0`))
	got := browse(b, "read the visits", eval[uiStats](readStatsJS))
	b.shot("visits-1m")
	t.Logf("time to first chart of a link with %d visits in %d aggregate rows: %v (navigation to chart drawn; page clock %.0f ms)",
		visits, len(rows), wall.Round(time.Millisecond), pageMs)
	if got.Total != visits {
		t.Fatalf("the UI shows %d visits, want %d", got.Total, visits)
	}
	if wall > 5*time.Second {
		t.Errorf("the first chart took %v", wall)
	}
}

// absent fails, naming what and why, when sel is on the page; run it after
// waiting for something the screen does show, so the page has rendered.
func absent(what, sel, why string) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		there, err := chromedp.Evaluate[bool](fmt.Sprintf(`!!document.querySelector(%q)`, sel))(ctx, t)
		if err != nil {
			return err
		}
		if there {
			return fmt.Errorf("%s (%s) is on the page, but %s", what, sel, why)
		}
		return nil
	})
}

// uiLogin logs the browser in with key from the login form, logging out
// first when a key is stored, and waits for the list screen.
func uiLogin(b *browser, base, key, name string) {
	b.t.Helper()
	b.step("log in as "+name, chromedp.Navigate(base+"/ui/"),
		eval[chromedp.Void](`localStorage.removeItem('minibitly.apiKey')`), chromedp.Reload(),
		wait("the API key field", "#api-key"), typeIn("#api-key", key+kb.Enter),
		wait("the key's name and scopes in the header", "#key-info"),
		waitJS("the list screen", `document.querySelector('h1') && document.querySelector('h1').textContent === 'Links'`))
}

// redirectStatus is the status of GET base/code (redirects not followed)
// and the error code of its JSON body, if any.
func redirectStatus(t *testing.T, base, code string) (int, string) {
	t.Helper()
	resp, err := harness.Client.Get(base + "/" + code)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var e struct {
		Error struct {
			Code string `json:"code"`
		} `json:"error"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&e) // a redirect has no JSON body
	return resp.StatusCode, e.Error.Code
}

// TestUI_Scopes logs in with scoped keys made through POST /api/v1/keys:
// a links:read key sees links and no create, edit, delete, disable or
// visits (and asks no stats); an admin key turns a link off with the
// Disabled switch (its redirect answers 410 link_disabled, the list marks
// it) and on again (302).
func TestUI_Scopes(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the real binary and chromium")
	}
	port := harness.FreePort(t, "127.0.0.1")
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	base := "http://" + addr
	harness.StartNode(t, harness.NodeConfig{Name: "ui-scopes", HTTPAddr: addr,
		Args: []string{"--http-addr", addr, "--base-url", base, "--data-dir", t.TempDir(), "--shards", "4"},
		Env:  []string{"MINIBITLY_INITIAL_API_KEY=" + testKey}})
	newKey := func(name string, scopes ...string) string {
		var k struct {
			Key string `json:"key"`
		}
		if st := harness.Do(t, "POST", base+"/api/v1/keys", testKey, map[string]any{"name": name, "scopes": scopes}, &k); st != 201 || k.Key == "" {
			t.Fatalf("create key %s %v: %d", name, scopes, st)
		}
		return k.Key
	}
	readOnly := newKey("reader", storage.ScopeLinksRead)
	// admin with links:write (PATCH needs it) but no stats:read.
	admin := newKey("operator", storage.ScopeLinksRead, storage.ScopeLinksWrite, storage.ScopeAdmin)
	if st := harness.Do(t, "POST", base+"/api/v1/links", testKey, map[string]any{"url": "https://example.com/switch", "code": "sw", "title": "Switched"}, nil); st != 201 {
		t.Fatalf("create link: %d", st)
	}
	if st, _ := redirectStatus(t, base, "sw"); st != 302 {
		t.Fatalf("GET /sw before any switch: %d, want 302", st)
	}
	b := newBrowser(t)

	// links:read only: the links, nothing that changes them, no visits.
	const ro = "a links:read key may not do it"
	uiLogin(b, base, readOnly, "reader")
	b.step("reader the list", wait("the link in the list", `#links li[data-code="sw"]`),
		absent("the new-link button", "#new-link", ro),
		absent("the header's new-link link", `header a[href="/ui/new"]`, ro))
	info := browse(b, "reader key info", text("#key-info"))
	if !strings.Contains(info, "reader") || !strings.Contains(info, "links:read") || strings.Contains(info, "write") {
		t.Errorf("the header says %q, want the key's name and its one scope", info)
	}
	b.shot("reader-list")
	b.step("reader the link", click(`#links li[data-code="sw"] a.code`), wait("the link's long URL", "#long-url"),
		wait("the note that visits need stats:read", `[data-lacks="stats:read"]`),
		absent("the edit button", "#edit-link", ro), absent("the delete button", "#delete-link", ro),
		absent("the Disabled switch", "#disabled-switch", "a key without admin may not disable links"),
		absent("the visits", "#stats", "a key without stats:read may not see visits"))
	asked := browse(b, "reader requests", eval[[]string](
		`performance.getEntriesByType('resource').map((e) => e.name).filter((u) => u.includes('/stats'))`))
	if len(asked) > 0 {
		t.Errorf("a key without stats:read still asked for stats: %v", asked)
	}
	b.shot("reader-link")
	b.step("reader the create form by URL", chromedp.Navigate(base+"/ui/new"),
		wait("the note that creating needs links:write", `[data-lacks="links:write"]`),
		absent("the link form", "#link-form", ro))
	b.shot("reader-new-refused")

	// admin: the switch turns the link off and on.
	uiLogin(b, base, admin, "operator")
	b.step("admin the list", wait("the link in the list", `#links li[data-code="sw"]`), wait("the new-link button", "#new-link"),
		absent("a Disabled badge", `#links li[data-code="sw"] .badge`, "the link is not disabled yet"))
	b.step("admin the link", click(`#links li[data-code="sw"] a.code`), wait("the Disabled switch", "#disabled-switch"),
		wait("the edit button", "#edit-link"), wait("the delete button", "#delete-link"),
		waitJS("the switch off", `document.querySelector('#disabled-switch').getAttribute('aria-checked') === 'false'`),
		absent("the visits", "#stats", "this admin key has no stats:read"))
	label := browse(b, "admin the switch's name", eval[string](
		`(() => { const s = document.querySelector('#disabled-switch'); return s.labels && s.labels[0] ? s.labels[0].textContent : ''; })()`))
	if label != "Disabled" {
		t.Errorf("the switch is labelled %q, want \"Disabled\"", label)
	}
	b.shot("admin-link")
	// Keyboard: focus the switch and press Space.
	b.step("admin disable", chromedp.Focus(chromedp.CSS("#disabled-switch")), chromedp.KeyEvent(" "),
		waitJS("the switch on", `document.querySelector('#disabled-switch').getAttribute('aria-checked') === 'true'`),
		waitJS("the state in words", `document.querySelector('#disabled-state').textContent.includes('410')`))
	b.shot("admin-disabled")
	harness.Eventually(t, 5*time.Second, func() error {
		if st, code := redirectStatus(t, base, "sw"); st != 410 || code != "link_disabled" {
			return fmt.Errorf("GET /sw after the switch: %d %q, want 410 link_disabled", st, code)
		}
		return nil
	})
	b.step("admin the list marks it", click("main > p > a"), wait("the Disabled badge", `#links li[data-code="sw"] .badge`))
	b.shot("admin-list-disabled")
	b.step("admin enable", click(`#links li[data-code="sw"] a.code`), wait("the Disabled switch", "#disabled-switch"),
		waitJS("the switch on after reload", `document.querySelector('#disabled-switch').getAttribute('aria-checked') === 'true'`),
		click("#disabled-switch"),
		waitJS("the switch off", `document.querySelector('#disabled-switch').getAttribute('aria-checked') === 'false'`))
	b.shot("admin-enabled")
	harness.Eventually(t, 5*time.Second, func() error {
		if st, _ := redirectStatus(t, base, "sw"); st != 302 {
			return fmt.Errorf("GET /sw after enabling: %d, want 302", st)
		}
		return nil
	})
	b.step("admin the list unmarked", click("main > p > a"), wait("the link in the list", `#links li[data-code="sw"]`),
		absent("a Disabled badge", `#links li[data-code="sw"] .badge`, "the link was enabled again"))

	// A key with every scope but admin sees visits and no switch.
	uiLogin(b, base, newKey("default"), "a default key")
	b.step("default key the link", click(`#links li[data-code="sw"] a.code`), wait("the visits", "#stats"),
		wait("the delete button", "#delete-link"),
		absent("the Disabled switch", "#disabled-switch", "a key without admin may not disable links"))
	b.shot("default-link")
}
