package cluster

import "github.com/hashicorp/memberlist"

// delegate gives memberlist this node's metadata. The node uses no user messages or
// state exchange.
type delegate struct{ n *Node }

var _ memberlist.Delegate = delegate{}

func (d delegate) NodeMeta(limit int) []byte {
	meta := *d.n.meta.Load()
	if len(meta) > limit { // checked in New against memberlist.MetaMaxSize
		return nil
	}
	return meta
}

func (delegate) NotifyMsg([]byte)                           {}
func (delegate) GetBroadcasts(overhead, limit int) [][]byte { return nil }
func (delegate) LocalState(join bool) []byte                { return nil }
func (delegate) MergeRemoteState(buf []byte, join bool)     {}
