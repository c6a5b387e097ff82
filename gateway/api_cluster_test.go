package gateway

import (
	"slices"
	"testing"
)

// testCluster is a real in-memory Cluster of three members, one dead: codes
// listed in owners belong to that member, every other code to self.
type testCluster struct {
	self    Member
	members []Member
	owners  map[string]string // code → member name
}

func newTestCluster() *testCluster {
	n1 := Member{Name: "node-1", Status: "alive", HTTPAddr: "10.0.0.1:8080", RemoteAddr: "10.0.0.1:8090"}
	n2 := Member{Name: "node-2", Status: "alive", HTTPAddr: "10.0.0.2:8080", RemoteAddr: "10.0.0.2:8090"}
	n3 := Member{Name: "node-3", Status: "dead", HTTPAddr: "10.0.0.3:8080", RemoteAddr: "10.0.0.3:8090"}
	return &testCluster{self: n1, members: []Member{n1, n2, n3}, owners: map[string]string{"elsewhere": "node-2"}}
}

func (c *testCluster) Self() Member      { return c.self }
func (c *testCluster) Members() []Member { return slices.Clone(c.members) }

func (c *testCluster) Owner(code string) Member {
	name, ok := c.owners[code]
	if !ok {
		return c.self
	}
	for _, m := range c.members {
		if m.Name == name {
			return m
		}
	}
	return Member{}
}

func (c *testCluster) Alive() int {
	n := 0
	for _, m := range c.members {
		if m.Status == "alive" {
			n++
		}
	}
	return n
}

// The bodies below are byte for byte what the cluster routes answered when
// cmd/minibitly served them (for values without <, > or &, which the old
// encoder escaped as \u003c, \u003e and \u0026).
const (
	node1JSON = `{"name":"node-1","status":"alive","http_addr":"10.0.0.1:8080","remote_addr":"10.0.0.1:8090"}`
	node2JSON = `{"name":"node-2","status":"alive","http_addr":"10.0.0.2:8080","remote_addr":"10.0.0.2:8090"}`
	node3JSON = `{"name":"node-3","status":"dead","http_addr":"10.0.0.3:8080","remote_addr":"10.0.0.3:8090"}`
	soloJSON  = `{"name":"solo","status":"alive","http_addr":"127.0.0.1:8080","remote_addr":""}`
)

func TestAPI_Cluster(t *testing.T) {
	e := newAPIEnv(t)
	ok := map[string]string{
		"/api/v1/cluster":                  `{"self":` + node1JSON + `,"members":[` + node1JSON + `,` + node2JSON + `,` + node3JSON + `],"alive":2}` + "\n",
		"/api/v1/cluster/owner/elsewhere":  `{"code":"elsewhere","owner":` + node2JSON + `,"self":false}` + "\n",
		"/api/v1/cluster/owner/Ab-9_x":     `{"code":"Ab-9_x","owner":` + node1JSON + `,"self":true}` + "\n",
		"/api/v1/cluster/owner/not.a.code": `{"code":"not.a.code","owner":` + node1JSON + `,"self":true}` + "\n", // the code need not be valid, nor exist
	}
	for path, want := range ok {
		t.Run(path, func(t *testing.T) {
			r := e.do("GET", path, nil).wantStatus(t, 200)
			if ct := r.header.Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type %q", ct)
			}
			if string(r.body) != want {
				t.Errorf("body\n%s\nwant\n%s", r.body, want)
			}
		})
	}
	t.Run("bad code", func(t *testing.T) {
		for _, p := range []string{"/api/v1/cluster/owner/", "/api/v1/cluster/owner/a/b", "/api/v1/cluster/owner//"} {
			e.do("GET", p, nil).wantError(t, 400, "invalid_code", "want /api/v1/cluster/owner/{code}")
		}
	})
	t.Run("no such route", func(t *testing.T) {
		for _, p := range []string{"/api/v1/clusterx", "/api/v1/cluster/", "/api/v1/cluster/owner", "/api/v1/cluster/x", "/api/v1/cluster/ownerx/abc"} {
			e.do("GET", p, nil).wantError(t, 404, "not_found", "no such route")
		}
	})
	t.Run("GET only", func(t *testing.T) {
		for _, p := range []string{"/api/v1/cluster", "/api/v1/cluster/owner/abc", "/api/v1/cluster/owner/"} {
			for _, m := range []string{"POST", "PUT", "PATCH", "DELETE", "OPTIONS", "HEAD"} {
				r := e.do(m, p, nil)
				if m == "HEAD" {
					r.wantStatus(t, 405)
				} else {
					r.wantError(t, 405, "method_not_allowed", m)
				}
				if got := r.header.Get("Allow"); got != "GET" {
					t.Errorf("%s %s: Allow %q, want GET", m, p, got)
				}
			}
		}
	})
	t.Run("key required", func(t *testing.T) {
		for _, p := range []string{"/api/v1/cluster", "/api/v1/cluster/owner/abc", "/api/v1/cluster/owner/"} {
			e.do("GET", p, nil, noAuth()).wantError(t, 401, "unauthorized", "API key")
		}
	})
	t.Run("key store down", func(t *testing.T) {
		e.store.down.Store(true)
		defer e.store.down.Store(false)
		e.do("GET", "/api/v1/cluster", nil).wantError(t, 503, "store_unavailable", "key store")
	})
}

func TestAPI_Cluster_SingleNode(t *testing.T) {
	e := newAPIEnv(t, func(_ *Config, d *Deps) {
		d.Cluster = SingleNode(Member{Name: "solo", Status: "alive", HTTPAddr: "127.0.0.1:8080"})
	})
	r := e.do("GET", "/api/v1/cluster", nil).wantStatus(t, 200)
	if want := `{"self":` + soloJSON + `,"members":[` + soloJSON + `],"alive":1}` + "\n"; string(r.body) != want {
		t.Errorf("cluster\n%s\nwant\n%s", r.body, want)
	}
	r = e.do("GET", "/api/v1/cluster/owner/Ab-9_x", nil).wantStatus(t, 200)
	if want := `{"code":"Ab-9_x","owner":` + soloJSON + `,"self":true}` + "\n"; string(r.body) != want {
		t.Errorf("owner\n%s\nwant\n%s", r.body, want)
	}
	e.do("GET", "/api/v1/cluster/owner/", nil).wantError(t, 400, "invalid_code", "{code}")
}

// emptyCluster is a Cluster whose members are unknown (nil) and no member is
// alive.
type emptyCluster struct{ self Member }

func (c emptyCluster) Self() Member        { return c.self }
func (c emptyCluster) Members() []Member   { return nil }
func (c emptyCluster) Owner(string) Member { return Member{} }
func (c emptyCluster) Alive() int          { return 0 }

func TestAPI_Cluster_NoMembers(t *testing.T) {
	e := newAPIEnv(t, func(_ *Config, d *Deps) {
		d.Cluster = emptyCluster{self: Member{Name: "solo", Status: "left", HTTPAddr: "127.0.0.1:8080"}}
	})
	self := `{"name":"solo","status":"left","http_addr":"127.0.0.1:8080","remote_addr":""}`
	r := e.do("GET", "/api/v1/cluster", nil).wantStatus(t, 200)
	if want := `{"self":` + self + `,"members":[],"alive":0}` + "\n"; string(r.body) != want {
		t.Errorf("cluster\n%s\nwant\n%s", r.body, want)
	}
	r = e.do("GET", "/api/v1/cluster/owner/abc", nil).wantStatus(t, 200)
	if want := `{"code":"abc","owner":{"name":"","status":"","http_addr":"","remote_addr":""},"self":false}` + "\n"; string(r.body) != want {
		t.Errorf("owner\n%s\nwant\n%s", r.body, want)
	}
}

func TestAPI_Cluster_NilIsNoRoute(t *testing.T) {
	e := newAPIEnv(t, func(_ *Config, d *Deps) { d.Cluster = nil })
	e.do("GET", "/api/v1/cluster", nil).wantError(t, 404, "not_found", "no such route")
	e.do("GET", "/api/v1/cluster/owner/abc", nil).wantError(t, 404, "not_found", "no such route")
}
