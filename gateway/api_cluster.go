package gateway

import (
	"context"
	"net/http"
	"strings"

	"github.com/valyala/fasthttp"
)

// Member is one node of the cluster as this node's membership layer sees it.
// Its JSON form is the member object of the /api/v1/cluster answers.
type Member struct {
	Name       string `json:"name"`        // node name (--node-name)
	Status     string `json:"status"`      // "alive", "dead" or "left"
	HTTPAddr   string `json:"http_addr"`   // host:port of its HTTP gateway
	RemoteAddr string `json:"remote_addr"` // host:port of its actor remote; "" on a single node
}

// Cluster is what the gateway needs from the membership layer: the view
// served under /api/v1/cluster. Its methods are safe for concurrent use;
// the slice Members returns is the caller's.
type Cluster interface {
	// Self is this node.
	Self() Member
	// Members is every member this node knows of, sorted by name: the alive
	// ones and those that died or left recently.
	Members() []Member
	// Owner is the member that owns code under the current placement; the
	// zero Member when no member is alive.
	Owner(code string) Member
	// Alive is the number of members codes are placed on.
	Alive() int
}

// SingleNode is the Cluster of a node that runs alone: self is its only
// member and owns every code.
func SingleNode(self Member) Cluster { return singleNode{self: self} }

type singleNode struct{ self Member }

func (n singleNode) Self() Member        { return n.self }
func (n singleNode) Members() []Member   { return []Member{n.self} }
func (n singleNode) Owner(string) Member { return n.self }
func (n singleNode) Alive() int          { return 1 }

type clusterOut struct {
	Self    Member   `json:"self"`
	Members []Member `json:"members"`
	Alive   int      `json:"alive"`
}

type ownerOut struct {
	Code  string `json:"code"`
	Owner Member `json:"owner"`
	Self  bool   `json:"self"`
}

// clusterView answers GET /api/v1/cluster: the members as this node sees
// them.
func (s *Server) clusterView(_ context.Context, ctx *fasthttp.RequestCtx, _ string) error {
	if s.d.Cluster == nil {
		return errNoRoute(string(ctx.Path()))
	}
	out := clusterOut{Self: s.d.Cluster.Self(), Members: s.d.Cluster.Members(), Alive: s.d.Cluster.Alive()}
	if out.Members == nil {
		out.Members = []Member{}
	}
	s.writeJSON(ctx, http.StatusOK, &out)
	return nil
}

// clusterOwner answers GET /api/v1/cluster/owner/{code}: the member that
// owns code, which need not exist. Any non-empty segment is a code here; the
// route takes the rest of the path (apiRoute.tail) so that an empty code or
// one with a slash is a 400, not "no such route".
func (s *Server) clusterOwner(_ context.Context, ctx *fasthttp.RequestCtx, code string) error {
	if s.d.Cluster == nil {
		return errNoRoute(string(ctx.Path()))
	}
	if code == "" || strings.Contains(code, "/") {
		return errorf(http.StatusBadRequest, "invalid_code", "want /api/v1/cluster/owner/{code}")
	}
	owner := s.d.Cluster.Owner(code)
	s.writeJSON(ctx, http.StatusOK, &ownerOut{Code: code, Owner: owner, Self: owner.Name == s.d.Cluster.Self().Name})
	return nil
}
