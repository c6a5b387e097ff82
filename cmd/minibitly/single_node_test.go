package main

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/minibitly/minibitly/internal/harness"
)

const testKey = "mb_test_key_0123456789"

type linkJSON struct {
	Code   string  `json:"code"`
	URL    string  `json:"url"`
	Visits *uint64 `json:"visits"`
}

type statsJSON struct {
	Total  uint64 `json:"total"`
	Series []struct {
		T      string `json:"t"`
		Visits uint64 `json:"visits"`
	} `json:"series"`
	Browsers []struct {
		Key    string `json:"key"`
		Visits uint64 `json:"visits"`
	} `json:"browsers"`
}

func startSingle(t *testing.T, dataDir string) (*harness.Node, string) {
	port := harness.FreePort(t, "127.0.0.1")
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	n := harness.StartNode(t, harness.NodeConfig{Name: "single", HTTPAddr: addr,
		Args: []string{"--http-addr", addr, "--data-dir", dataDir, "--flush-interval", "200ms", "--shards", "8"},
		Env:  []string{"MINIBITLY_INITIAL_API_KEY=" + testKey}})
	return n, "http://" + addr
}

func redirect(t *testing.T, base, code, ua string) int {
	t.Helper()
	req, _ := http.NewRequest("GET", base+"/"+code, nil)
	req.Header.Set("User-Agent", ua)
	resp, err := harness.Client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

func statsTotal(t *testing.T, base, code string) uint64 {
	t.Helper()
	var s statsJSON
	if st := harness.Do(t, "GET", base+"/api/v1/links/"+code+"/stats?interval=minute&from="+
		time.Now().Add(-time.Hour).UTC().Format(time.RFC3339), testKey, nil, &s); st != 200 {
		t.Fatalf("stats: %d", st)
	}
	return s.Total
}

// TestSingleNode_VisitsSurviveRestart runs the real binary on the embedded
// store: 100 redirects show as 100 in stats within two flush intervals, are
// still there after SIGTERM and a restart, and visits made right before
// SIGTERM are flushed by it.
func TestSingleNode_VisitsSurviveRestart(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the real binary")
	}
	dir := t.TempDir()
	n, base := startSingle(t, dir)

	var l linkJSON
	if st := harness.Do(t, "POST", base+"/api/v1/links", testKey,
		map[string]any{"url": "https://example.com/landing?x=1", "title": "e2e"}, &l); st != 201 {
		t.Fatalf("create: %d", st)
	}
	for i := 0; i < 100; i++ {
		if st := redirect(t, base, l.Code, "Mozilla/5.0 (X11; Linux x86_64; rv:120.0) Gecko/20100101 Firefox/120.0"); st != 302 {
			t.Fatalf("redirect %d: %d", i, st)
		}
	}
	start := time.Now()
	harness.Eventually(t, 10*time.Second, func() error {
		if got := statsTotal(t, base, l.Code); got != 100 {
			return fmt.Errorf("stats total = %d, want 100", got)
		}
		return nil
	})
	t.Logf("100 visits visible in stats after %s (flush interval 200ms)", time.Since(start).Round(time.Millisecond))

	n.Stop(t)
	n.Start(t)
	if got := statsTotal(t, base, l.Code); got != 100 {
		t.Fatalf("after restart stats total = %d, want 100", got)
	}
	var got linkJSON
	harness.Do(t, "GET", base+"/api/v1/links/"+l.Code, testKey, nil, &got)
	if got.Visits == nil || *got.Visits != 100 || got.URL != "https://example.com/landing?x=1" {
		t.Fatalf("link after restart: %+v", got)
	}

	for i := 0; i < 37; i++ {
		redirect(t, base, l.Code, "curl/8.0")
	}
	n.Stop(t) // SIGTERM right after the visits: shutdown must flush them
	n.Start(t)
	if got := statsTotal(t, base, l.Code); got != 137 {
		t.Fatalf("after SIGTERM stats total = %d, want 137", got)
	}
	var view struct {
		Alive   int `json:"alive"`
		Members []struct {
			Name string `json:"name"`
		} `json:"members"`
	}
	if st := harness.Do(t, "GET", base+"/api/v1/cluster", testKey, nil, &view); st != 200 || view.Alive != 1 || len(view.Members) != 1 {
		t.Fatalf("single node cluster view: %d %+v", st, view)
	}
	var owner struct {
		Self bool `json:"self"`
	}
	if st := harness.Do(t, "GET", base+"/api/v1/cluster/owner/"+l.Code, testKey, nil, &owner); st != 200 || !owner.Self {
		t.Fatalf("single node owner: %d %+v", st, owner)
	}
	if !strings.Contains(n.Logs(), `"msg":"minibitly serving"`) {
		t.Fatalf("no JSON start log line:\n%s", n.Logs())
	}
}
