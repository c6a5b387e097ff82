package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/minibitly/minibitly/internal/harness"
)

// startRaw is startExternal with extra arguments.
func startRaw(t *testing.T, extra ...string) *extNode {
	t.Helper()
	pg, ch := extServers(t)
	e := &extNode{pg: pg, ch: ch, pgURL: pg.NewDatabase(t), chURL: ch.NewDatabase(t)}
	e.db = newCHDB(t, ch, e.chURL)
	addr := fmt.Sprintf("127.0.0.1:%d", harness.FreePort(t, "127.0.0.1"))
	e.base = "http://" + addr
	e.Node = harness.StartNode(t, harness.NodeConfig{Name: "raw", HTTPAddr: addr, Args: append([]string{
		"--http-addr", addr, "--data-dir", t.TempDir(), "--shards", "8", "--flush-interval", "100ms",
		"--postgres-url", e.pgURL, "--clickhouse-url", e.chURL,
	}, extra...), Env: []string{"MINIBITLY_INITIAL_API_KEY=" + extKey}})
	return e
}

// hitWith makes one redirect with the headers, failing t unless it is a 302.
func (e *extNode) hitWith(t *testing.T, code string, hdr ...string) {
	t.Helper()
	req, _ := http.NewRequest("GET", e.base+"/"+code+"?utm_source=test", nil)
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := harness.Client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound {
		t.Fatalf("GET /%s: %d", code, resp.StatusCode)
	}
}

// metricOf reads one sample from the node's /metrics.
func (e *extNode) metricOf(t *testing.T, name string) float64 {
	t.Helper()
	_, body, err := get(harness.Client, "GET", e.base+"/metrics", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(body), "\n") {
		if v, ok := strings.CutPrefix(line, name+" "); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				t.Fatalf("%s: %q", name, line)
			}
			return f
		}
	}
	t.Fatalf("no metric %s", name)
	return 0
}

type shlinkVisits struct {
	Visits struct {
		Data []struct {
			Referer       string `json:"referer"`
			Date          string `json:"date"`
			UserAgent     string `json:"userAgent"`
			PotentialBot  bool   `json:"potentialBot"`
			VisitedURL    string `json:"visitedUrl"`
			VisitLocation *struct {
				CountryCode string `json:"countryCode"`
			} `json:"visitLocation"`
		} `json:"data"`
		Pagination struct {
			TotalItems int `json:"totalItems"`
			PagesCount int `json:"pagesCount"`
		} `json:"pagination"`
	} `json:"visits"`
}

func (e *extNode) shlinkVisits(t *testing.T, path string) (shlinkVisits, error) {
	t.Helper()
	var v shlinkVisits
	req, _ := http.NewRequest("GET", e.base+path, nil)
	req.Header.Set("X-Api-Key", extKey)
	resp, err := harness.Client.Do(req)
	if err != nil {
		return v, err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		return v, fmt.Errorf("%s: %d %s", path, resp.StatusCode, body)
	}
	return v, json.Unmarshal(body, &v)
}

// TestRawVisits_Shlink: a node with --raw-visits stores each redirect as an
// event in ClickHouse, and the Shlink visit list of the link is those
// events: the referrer without its query string, the user agent cut at 256
// bytes, the second of the visit. The table has no column for an address.
func TestRawVisits_Shlink(t *testing.T) {
	e := startRaw(t, "--raw-visits", "--country-header", "CF-IPCountry")
	e.create(t, "rawv")
	ua := "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36 " + strings.Repeat("z", 300)
	// The node's clock is coarse (internal/clock advances every
	// clock.Resolution, later on a loaded machine): a visit may carry a
	// second up to that much before the wall clock's.
	start := time.Now().Add(-2 * time.Second).Truncate(time.Second)
	for range 3 {
		e.hitWith(t, "rawv", "Referer", "https://news.example.com/story/1?id=42&token=secret#comments", "User-Agent", ua, "CF-IPCountry", "de")
	}
	e.hitWith(t, "rawv", "User-Agent", "Googlebot/2.1 (+http://www.google.com/bot.html)")
	end := time.Now()

	var v shlinkVisits
	harness.Eventually(t, 15*time.Second, func() error {
		var err error
		v, err = e.shlinkVisits(t, "/rest/v3/short-urls/rawv/visits")
		if err == nil && v.Visits.Pagination.TotalItems != 4 {
			err = fmt.Errorf("%d visits listed, want 4", v.Visits.Pagination.TotalItems)
		}
		return err
	})
	bots := 0
	for _, d := range v.Visits.Data {
		at, err := time.Parse(time.RFC3339, d.Date)
		if err != nil || at.Before(start) || at.After(end) || d.Date != at.UTC().Format("2006-01-02T15:04:05+00:00") {
			t.Errorf("date %q (%v) not the second of a visit between %s and %s", d.Date, err, start, end)
		}
		if d.PotentialBot {
			bots++
			if d.Referer != "" || !strings.HasPrefix(d.UserAgent, "Googlebot/2.1") || d.VisitLocation != nil {
				t.Errorf("bot visit %+v", d)
			}
			continue
		}
		if d.Referer != "https://news.example.com/story/1" || d.UserAgent != ua[:256] ||
			d.VisitLocation == nil || d.VisitLocation.CountryCode != "DE" || !strings.HasSuffix(d.VisitedURL, "/rawv") {
			t.Errorf("visit %+v", d)
		}
	}
	if bots != 1 {
		t.Errorf("%d bot visits, want 1", bots)
	}
	if v, err := e.shlinkVisits(t, "/rest/v3/short-urls/rawv/visits?excludeBots=true&itemsPerPage=2&page=2"); err != nil ||
		v.Visits.Pagination.TotalItems != 3 || v.Visits.Pagination.PagesCount != 2 || len(v.Visits.Data) != 1 {
		t.Errorf("page 2 of the human visits: %+v, %v", v.Visits, err)
	}
	if v, err := e.shlinkVisits(t, "/rest/v3/visits/non-orphan"); err != nil || v.Visits.Pagination.TotalItems != 4 {
		t.Errorf("non-orphan visits: %+v, %v", v.Visits.Pagination, err)
	}
	// No address is stored: the columns are the documented ones.
	var cols []string
	if err := e.db.query("SELECT name FROM system.columns WHERE database = '"+e.db.name+"' AND table = 'visit_events'", func(r interface{ Scan(...any) error }) error {
		var c string
		err := r.Scan(&c)
		cols = append(cols, c)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(cols, ","); got != "time,code,referrer,user_agent,device,browser,os,country,bot,node_id,seq,idx" {
		t.Errorf("visit_events columns %s", got)
	}
	if n := e.db.count(t, "SELECT count() FROM "+e.db.name+".visit_events WHERE user_agent LIKE '%127.0.0.1%' OR referrer LIKE '%127.0.0.1%'"); n != 0 {
		t.Errorf("%d events mention the client address", n)
	}
	if e.metricOf(t, "minibitly_raw_visits_enabled") != 1 || e.metricOf(t, "minibitly_raw_visits_written_total") != 4 || e.metricOf(t, "minibitly_raw_visits_dropped_total") != 0 {
		t.Errorf("raw visit metrics: enabled %v written %v dropped %v", e.metricOf(t, "minibitly_raw_visits_enabled"),
			e.metricOf(t, "minibitly_raw_visits_written_total"), e.metricOf(t, "minibitly_raw_visits_dropped_total"))
	}
	// Deleting the link's visits deletes its events too.
	req, _ := http.NewRequest("DELETE", e.base+"/rest/v3/short-urls/rawv/visits", nil)
	req.Header.Set("X-Api-Key", extKey)
	resp, err := harness.Client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("DELETE visits: %d", resp.StatusCode)
	}
	if v, err := e.shlinkVisits(t, "/rest/v3/short-urls/rawv/visits"); err != nil || v.Visits.Pagination.TotalItems != 0 {
		t.Fatalf("after DELETE: %+v, %v", v.Visits.Pagination, err)
	}
}

// TestRawVisits_Off: without --raw-visits nothing is recorded as an event
// (the aggregates count the visit), and the lists expand aggregates.
func TestRawVisits_Off(t *testing.T) {
	e := startRaw(t)
	e.create(t, "rawoff")
	e.hitWith(t, "rawoff", "Referer", "https://news.example.com/story?x=1")
	harness.Eventually(t, 15*time.Second, func() error {
		if n := e.apiTotal(t, "rawoff"); n != 1 {
			return fmt.Errorf("total %d", n)
		}
		return nil
	})
	if e.metricOf(t, "minibitly_raw_visits_enabled") != 0 || e.metricOf(t, "minibitly_raw_visits_recorded_total") != 0 {
		t.Fatal("raw visits recorded while off")
	}
	if n := e.db.count(t, "SELECT count() FROM "+e.db.name+".visit_events"); n != 0 {
		t.Fatalf("%d events stored while off", n)
	}
	v, err := e.shlinkVisits(t, "/rest/v3/short-urls/rawoff/visits")
	if err != nil || len(v.Visits.Data) != 1 || v.Visits.Data[0].Referer != "news.example.com" {
		t.Fatalf("aggregate visits %+v, %v", v.Visits, err)
	}
}
