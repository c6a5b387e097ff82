package actors

import (
	"github.com/minibitly/minibitly/internal/nearcache"
	"github.com/minibitly/minibitly/storage"
)

// Messages between the node's goroutines and its shard actors. They are
// immutable once sent.

// resolveMsg asks for code's entry; with admit it also decides one visit
// of a limited link.
type resolveMsg struct {
	code  string
	admit bool
}

type resolveReply struct {
	entry    *nearcache.Entry
	admitted bool
	err      error
}

// loadedMsg completes a store load started by the shard.
type loadedMsg struct {
	code      string
	entry     *nearcache.Entry // nil: no such link
	maxVisits int64
	used      uint64
	err       error
}

// visitsMsg carries aggregated visits from the batcher.
type visitsMsg struct{ rows []storage.VisitCount }

// drainMsg asks a shard for its pending aggregates, answered on reply
// (buffered: the shard never blocks, and an answer that comes late is
// still there for the next collect).
type drainMsg struct{ reply chan []storage.VisitCount }

// pendingMsg asks for code's unflushed visit count (answered with uint64).
type pendingMsg struct{ code string }

// invalidateMsg drops code's cached link.
type invalidateMsg struct{ code string }
