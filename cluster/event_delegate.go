package cluster

import (
	"time"

	"github.com/hashicorp/memberlist"
)

// eventDelegate records membership events in the Node's member table and signals the
// rebuild goroutine. memberlist calls it with its node lock held: it must not call back
// into memberlist (Members() would deadlock) and may read *memberlist.Node only here.
type eventDelegate struct{ n *Node }

var _ memberlist.EventDelegate = eventDelegate{}

func (d eventDelegate) NotifyJoin(node *memberlist.Node)   { d.n.record(node, StatusAlive) }
func (d eventDelegate) NotifyUpdate(node *memberlist.Node) { d.n.record(node, StatusAlive) }

// NotifyLeave reports a failure or a graceful leave; node.State does not say which (it is
// never updated in memberlist v0.7.0), so a member that announced it is leaving in its
// metadata (see meta.go) is "left", any other "dead".
func (d eventDelegate) NotifyLeave(node *memberlist.Node) { d.n.record(node, StatusDead) }

// record copies node into the member table with status and signals a rebuild.
func (n *Node) record(node *memberlist.Node, status string) {
	httpAddr, remoteAddr, leaving, err := decodeMeta(node.Meta)
	if err != nil {
		n.log.Warn("cluster: member without valid metadata", "member", node.Name, "addr", node.Address(), "error", err)
	}
	if status == StatusDead && (leaving || (node.Name == n.cfg.NodeName && n.left.Load())) {
		status = StatusLeft
	}
	ms := &memberState{
		Member:     Member{Name: node.Name, HTTPAddr: httpAddr, RemoteAddr: remoteAddr, Status: status},
		gossipAddr: node.Address(),
		since:      time.Now(),
	}
	n.mu.Lock()
	prev := n.members[node.Name]
	n.members[node.Name] = ms
	delete(n.suspects, node.Name) // alive again (an update) or gone
	n.mu.Unlock()
	n.metrics.changes.Inc()
	if prev == nil || prev.Status != status {
		n.log.Info("cluster: member "+status, "member", node.Name, "addr", ms.gossipAddr,
			"http_addr", httpAddr, "remote_addr", remoteAddr)
	}
	select {
	case n.rebuild <- struct{}{}:
	default:
	}
}

// pingDelegate clears a suspicion when memberlist's probe of the member succeeds (a suspect
// that refuted raises no event). It reads only the Node's name.
type pingDelegate struct{ n *Node }

var _ memberlist.PingDelegate = pingDelegate{}

func (pingDelegate) AckPayload() []byte { return nil }

func (d pingDelegate) NotifyPingComplete(other *memberlist.Node, _ time.Duration, _ []byte) {
	d.n.unsuspect(other.Name)
}
