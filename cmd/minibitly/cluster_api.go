package main

import (
	"github.com/minibitly/minibitly/cluster"
	"github.com/minibitly/minibitly/gateway"
)

// clusterView is the membership the gateway serves under /api/v1/cluster:
// the gossip node's view, or this node alone (name, HTTP listen address)
// when there is no cluster.
func clusterView(cn *cluster.Node, name, httpAddr string) gateway.Cluster {
	if cn == nil {
		return gateway.SingleNode(gateway.Member{Name: name, Status: cluster.StatusAlive, HTTPAddr: httpAddr})
	}
	return nodeView{cn}
}

// nodeView adapts a *cluster.Node to gateway.Cluster.
type nodeView struct{ n *cluster.Node }

func (v nodeView) Self() gateway.Member { return toMember(v.n.Self()) }

func (v nodeView) Members() []gateway.Member {
	ms := v.n.Members()
	out := make([]gateway.Member, len(ms))
	for i, m := range ms {
		out[i] = toMember(m)
	}
	return out
}

func (v nodeView) Owner(code string) gateway.Member { return toMember(v.n.Placement().Owner(code)) }

func (v nodeView) Alive() int { return v.n.Placement().Len() }

func toMember(m cluster.Member) gateway.Member {
	return gateway.Member{Name: m.Name, Status: m.Status, HTTPAddr: m.HTTPAddr, RemoteAddr: m.RemoteAddr}
}
