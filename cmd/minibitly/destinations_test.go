package main

import (
	"fmt"
	"net/http"
	"testing"

	"github.com/minibitly/minibitly/internal/harness"
)

// TestSingleNode_Destinations runs the real binary on 0.0.0.0: a link to
// the node in another spelling (127.1:PORT, which used to be a redirect
// loop counting a visit per hop) is refused with and without
// --allow-private-destinations; a private destination is refused by
// default and accepted with the flag.
func TestSingleNode_Destinations(t *testing.T) {
	for _, allow := range []bool{false, true} {
		port := harness.FreePort(t, "127.0.0.1")
		addr := fmt.Sprintf("0.0.0.0:%d", port)
		args := []string{"--http-addr", addr, "--data-dir", t.TempDir(), "--shards", "4"}
		if allow {
			args = append(args, "--allow-private-destinations")
		}
		harness.StartNode(t, harness.NodeConfig{Name: fmt.Sprintf("dest-%v", allow), HTTPAddr: fmt.Sprintf("127.0.0.1:%d", port),
			Args: args, Env: []string{"MINIBITLY_INITIAL_API_KEY=" + testKey}})
		base := fmt.Sprintf("http://127.0.0.1:%d", port)
		for _, u := range []string{
			fmt.Sprintf("http://127.1:%d/loop", port), fmt.Sprintf("http://0x7f.1:%d/", port),
			fmt.Sprintf("http://%%EF%%BD%%8C%%EF%%BD%%8F%%EF%%BD%%83%%EF%%BD%%81%%EF%%BD%%8C%%EF%%BD%%88%%EF%%BD%%8F%%EF%%BD%%93%%EF%%BD%%94:%d/", port),
			fmt.Sprintf("http://[::ffff:127.0.0.1]:%d/", port), fmt.Sprintf("http://localhost.:%d/", port),
		} {
			if st := harness.Do(t, "POST", base+"/api/v1/links", testKey, map[string]any{"url": u}, nil); st != http.StatusUnprocessableEntity {
				t.Errorf("allow=%v: %s: %d, want 422", allow, u, st)
			}
		}
		var l linkJSON
		st := harness.Do(t, "POST", base+"/api/v1/links", testKey, map[string]any{"url": "http://169.254.169.254/latest/meta-data/"}, &l)
		if want := map[bool]int{false: http.StatusUnprocessableEntity, true: http.StatusCreated}[allow]; st != want {
			t.Errorf("allow=%v: metadata address: %d, want %d", allow, st, want)
		}
		if st := harness.Do(t, "POST", base+"/api/v1/links", testKey, map[string]any{"url": "https://%D0%B0pple.com/"}, &l); st != http.StatusCreated || l.URL != "https://xn--pple-43d.com/" {
			t.Errorf("allow=%v: stored %q (%d), want https://xn--pple-43d.com/", allow, l.URL, st)
		}
	}
}
