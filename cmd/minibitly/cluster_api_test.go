package main

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"testing"
	"time"

	"github.com/minibitly/minibitly/cluster"
	"github.com/minibitly/minibitly/gateway"
	"github.com/minibitly/minibitly/internal/harness"
	"github.com/prometheus/client_golang/prometheus"
)

// memberJSON decodes a member object of the /api/v1/cluster answers.
type memberJSON = gateway.Member

func TestClusterAPI_SingleNodeView(t *testing.T) {
	v := clusterView(nil, "solo", "127.0.0.1:8080")
	want := gateway.Member{Name: "solo", Status: "alive", HTTPAddr: "127.0.0.1:8080"}
	if got := v.Self(); got != want {
		t.Errorf("Self = %+v, want %+v", got, want)
	}
	if got := v.Members(); !slices.Equal(got, []gateway.Member{want}) {
		t.Errorf("Members = %+v", got)
	}
	if got := v.Owner("abc"); got != want {
		t.Errorf("Owner = %+v", got)
	}
	if got := v.Alive(); got != 1 {
		t.Errorf("Alive = %d", got)
	}
}

// startGossip starts an in-process gossip member on loopback (no actors,
// no remote), shut down at the end of the test.
func startGossip(t *testing.T, name string, join ...string) (*cluster.Node, string) {
	t.Helper()
	cfg := cluster.FastConfig()
	addr := fmt.Sprintf("127.0.0.1:%d", harness.FreePort(t, "127.0.0.1"))
	cfg.NodeName, cfg.BindAddr, cfg.Join = name, addr, join
	cfg.HTTPAddr, cfg.RemoteAddr = "http-"+name+":8080", "remote-"+name+":8090"
	cfg.Logger = slog.New(slog.DiscardHandler)
	n, err := cluster.New(cfg, prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	if err := n.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := n.Shutdown(); err != nil {
			t.Errorf("shutdown %s: %v", name, err)
		}
	})
	return n, addr
}

// TestClusterAPI_NodeView checks the adapter against a real two-member
// gossip cluster: what the gateway serves is what cluster.Node reports.
func TestClusterAPI_NodeView(t *testing.T) {
	n1, addr1 := startGossip(t, "n1")
	n2, _ := startGossip(t, "n2", addr1)
	v := clusterView(n1, "unused", "unused")
	harness.Eventually(t, 10*time.Second, func() error {
		if v.Alive() != 2 || n2.Placement().Len() != 2 {
			return fmt.Errorf("alive members: n1 sees %d, n2 sees %d; want 2", v.Alive(), n2.Placement().Len())
		}
		return nil
	})

	if got, want := v.Self(), (gateway.Member{Name: "n1", Status: "alive", HTTPAddr: "http-n1:8080", RemoteAddr: "remote-n1:8090"}); got != want {
		t.Errorf("Self = %+v, want %+v", got, want)
	}
	want := []gateway.Member{
		{Name: "n1", Status: "alive", HTTPAddr: "http-n1:8080", RemoteAddr: "remote-n1:8090"},
		{Name: "n2", Status: "alive", HTTPAddr: "http-n2:8080", RemoteAddr: "remote-n2:8090"},
	}
	if got := v.Members(); !slices.Equal(got, want) {
		t.Errorf("Members = %+v, want %+v", got, want)
	}
	owners := map[string]bool{}
	for i := 0; i < 50; i++ {
		code := fmt.Sprintf("code%d", i)
		got := v.Owner(code)
		if exp := toMember(n1.Placement().Owner(code)); got != exp {
			t.Fatalf("Owner(%q) = %+v, placement says %+v", code, got, exp)
		}
		owners[got.Name] = true
	}
	if len(owners) != 2 {
		t.Errorf("50 codes owned by %v, want both members", owners)
	}

	if err := n2.Leave(5 * time.Second); err != nil {
		t.Fatal(err)
	}
	harness.Eventually(t, 10*time.Second, func() error {
		if ms := v.Members(); v.Alive() != 1 || len(ms) != 2 || ms[1].Name != "n2" || ms[1].Status != "left" {
			return fmt.Errorf("n2 has not left: alive %d, members %+v", v.Alive(), ms)
		}
		return nil
	})
	if got := v.Owner("code1"); got.Name != "n1" {
		t.Errorf("after n2 left, Owner = %+v", got)
	}
}
