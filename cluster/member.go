package cluster

import "time"

// Member status values, as gossip reports them.
const (
	StatusAlive   = "alive"
	StatusSuspect = "suspect" // reserved: memberlist reports no event for suspicion, so Node never reports it (see Node.Suspected)
	StatusDead    = "dead"
	StatusLeft    = "left"
)

// Member is one node as gossip sees it.
type Member struct {
	Name       string // memberlist node name
	HTTPAddr   string // host:port of its HTTP gateway
	RemoteAddr string // host:port of its protoactor remote
	Status     string // "alive", "suspect", "dead", "left"
}

// departedTTL is how long a dead or left member stays in Node.Members (and a dead member's
// address in the re-join targets) after its last state change. It bounds the member table
// where every restart brings a new name (Kubernetes Deployments).
const departedTTL = 15 * time.Minute

// memberState is the Node's record of one member, written only by event callbacks.
type memberState struct {
	Member
	gossipAddr string    // memberlist host:port, for re-joins
	since      time.Time // last state change
}
