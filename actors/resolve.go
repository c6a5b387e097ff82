package actors

import (
	"context"
	"errors"
	"fmt"

	"github.com/minibitly/minibitly/cluster"
	"github.com/minibitly/minibitly/internal/nearcache"
	"github.com/minibitly/minibitly/proto/clusterpb"
	"github.com/minibitly/minibitly/storage"
)

// The System's side of gateway.Resolver: lookups on a near-cache miss,
// admission of limited links, invalidation after edits, live totals.

// Resolve implements gateway.Resolver: it asks code's owner (a local shard
// or another node) and fills the near-cache. The returned entry is shared
// with the near-cache and every other caller: it must not be modified.
func (s *System) Resolve(ctx context.Context, code string) (*nearcache.Entry, error) {
	gen := s.cache.Gen(code) // an edit from here on wins over this lookup
	r, err := s.resolve(ctx, code, false)
	if errors.Is(err, storage.ErrNotFound) {
		s.cache.PutIfGen(&nearcache.Entry{Code: code, Gone: true}, s.d.Clock.Unix(), gen)
		return nil, err
	}
	if err != nil {
		return nil, err
	}
	e := r.entry
	if s.d.Blocklist.BlockedURL(string(e.Location)) {
		b := *e // the shard's entry is shared: mark a copy
		b.Blocked = true
		e = &b
	}
	s.cache.PutIfGen(e, s.d.Clock.Unix(), gen)
	return e, nil
}

// DestinationsChanged drops the near-cache after the blocklist was
// reloaded: every link is looked at again on its next hit. (The owner
// caches keep their entries: the blocklist is applied as entries enter the
// near-cache, on each node by its own list.)
func (s *System) DestinationsChanged() { s.cache.Clear() }

// Admit implements gateway.Resolver: the shard that owns a limited link
// decides every visit.
func (s *System) Admit(ctx context.Context, code string) (bool, error) {
	r, err := s.resolve(ctx, code, true)
	if err != nil {
		return false, err
	}
	return r.admitted, nil
}

func (s *System) resolve(ctx context.Context, code string, admit bool) (*resolveReply, error) {
	if s.closing.Load() {
		return nil, unavailable(errShuttingDown)
	}
	owner, local := s.owner(code)
	if local {
		return s.resolveLocal(ctx, code, admit)
	}
	r, err := s.resolveRemote(ctx, owner, code, admit)
	if err == nil || errors.Is(err, storage.ErrNotFound) {
		return r, err
	}
	// The owner did not answer, or is down and was not asked (see peerSet:
	// after one failed request to a member the others do not wait for it):
	// ask the new owner if gossip has moved the code meanwhile, else read
	// the link from the store ourselves.
	s.m.resolve.remoteFailovers.Inc()
	if owner2, local2 := s.owner(code); owner2.Name != owner.Name {
		if local2 {
			return s.resolveLocal(ctx, code, admit)
		}
		if r, err2 := s.resolveRemote(ctx, owner2, code, admit); err2 == nil || errors.Is(err2, storage.ErrNotFound) {
			return r, err2
		}
	}
	if admit {
		// Only the owner may count visits of a limited link: unavailable
		// (at once while the owner is down) until gossip moves the code.
		return nil, err
	}
	return s.loadDirect(ctx, code)
}

func (s *System) resolveLocal(ctx context.Context, code string, admit bool) (*resolveReply, error) {
	res, err := s.ask(ctx, s.ShardOf(code), &resolveMsg{code: code, admit: admit})
	if err != nil {
		return nil, unavailable(err)
	}
	r := res.(*resolveReply)
	if r.err != nil {
		return nil, r.err
	}
	return r, nil
}

func (s *System) resolveRemote(ctx context.Context, owner cluster.Member, code string, admit bool) (*resolveReply, error) {
	res, err := s.askPeer(ctx, owner, &clusterpb.ResolveRequest{Code: code, Admit: admit})
	if errors.Is(err, errPeerDown) {
		return nil, err
	}
	s.m.resolve.remoteLookups.Inc()
	if err != nil {
		return nil, err
	}
	p, ok := res.(*clusterpb.ResolveResponse)
	if !ok {
		return nil, unavailableAnswer(owner, res)
	}
	return replyFromProto(p)
}

// loadDirect reads a link from the store without its owner (failover).
func (s *System) loadDirect(ctx context.Context, code string) (*resolveReply, error) {
	l, err := s.d.Links.GetLink(ctx, code)
	if errors.Is(err, storage.ErrNotFound) {
		return nil, err
	}
	if err != nil {
		return nil, unavailable(err)
	}
	return &resolveReply{entry: EntryOf(&l)}, nil
}

// LinkChanged implements gateway.Resolver: it drops code from the
// near-cache and its shard here, then from the owner (waiting for it, up
// to the remote timeout or ctx's deadline) and every other member. Once
// ctx is done it stops: the members not yet told keep their copy until
// their near-cache TTL, as when an invalidation is lost.
func (s *System) LinkChanged(ctx context.Context, code string) {
	s.changed(ctx, code, false)
}

// VisitsDeleted is LinkChanged after code's stored visits were deleted:
// every node's flusher also forgets the code's running totals, so its next
// rows count from zero (a total from before the delete would bring the
// deleted visits back).
func (s *System) VisitsDeleted(ctx context.Context, code string) {
	s.flusher.resetVisits(code)
	s.changed(ctx, code, true)
}

func (s *System) changed(ctx context.Context, code string, visitsDeleted bool) {
	s.noteChanged(code)
	s.cache.Delete(code)
	s.send(code, &invalidateMsg{code: code})
	if s.d.Cluster == nil {
		return
	}
	// The owner first, and wait for it: a node that drops the code and
	// re-resolves it at once must not get the owner's old copy back. An
	// owner that is down is not waited for (lookups go around it to the
	// store meanwhile): it is sent the invalidation without waiting, which
	// reaches it if it is in fact alive (its owner cache has no TTL); if it
	// is dead, every other node clears its link caches when it is back
	// (membershipWatcher), and a restarted node starts with empty caches.
	owner, local := s.owner(code)
	if !local {
		if _, err := s.askPeer(ctx, owner, &clusterpb.Invalidate{Code: code, VisitsDeleted: visitsDeleted}); errors.Is(err, errPeerDown) {
			s.actors.Root.Send(remotePID(owner), &clusterpb.Invalidate{Code: code, VisitsDeleted: visitsDeleted})
			s.log.Warn("owner down: invalidation sent without waiting for it", "code", code, "owner", owner.Name)
		} else if err != nil {
			s.log.Warn("invalidate at the owner failed; its copy lives until its near-cache TTL", "code", code, "owner", owner.Name, "err", err)
		}
	}
	if err := ctx.Err(); err != nil {
		s.log.Warn("invalidation not broadcast; other members keep their copy until their near-cache TTL", "code", code, "err", err)
		return
	}
	self := s.d.Cluster.Self().Name
	for _, m := range s.d.Cluster.Placement().Members() {
		// Sent to down members too: a send does not wait.
		if m.Name != self && m.Name != owner.Name {
			s.actors.Root.Send(remotePID(m), &clusterpb.Invalidate{Code: code, VisitsDeleted: visitsDeleted})
		}
	}
}

// noteChanged tells a link store that reads from a lagging replica (a
// storage.ChangeNotifier) that code changed, before its caches here drop
// it: the reload that follows must not bring the old link back from the
// replica (docs/postgres-replicas.md).
func (s *System) noteChanged(code string) {
	if n, ok := s.d.Links.(storage.ChangeNotifier); ok {
		n.NoteLinkChanged(code)
	}
}

// Visits implements gateway.Resolver: stored visits plus those buffered in
// the flusher and pending in the owner's shard (here or on another node).
func (s *System) Visits(ctx context.Context, code string) (uint64, error) {
	pending, err := s.pendingAtOwner(ctx, code)
	if err != nil {
		return 0, err
	}
	pending += s.flusher.buffered(code)
	stored, err := s.d.Stats.VisitTotal(ctx, code)
	if err != nil {
		return 0, unavailable(err)
	}
	return stored + pending, nil
}

func (s *System) pendingAtOwner(ctx context.Context, code string) (uint64, error) {
	owner, local := s.owner(code)
	if local {
		res, err := s.ask(ctx, s.ShardOf(code), &pendingMsg{code: code})
		if err != nil {
			return 0, unavailable(err)
		}
		return res.(uint64), nil
	}
	// A down owner is not asked: unavailable at once.
	res, err := s.askPeer(ctx, owner, &clusterpb.PendingRequest{Code: code})
	if err != nil {
		return 0, unavailable(fmt.Errorf("pending visits of %q at %s: %w", code, owner.Name, err))
	}
	p, ok := res.(*clusterpb.PendingResponse)
	if !ok {
		return 0, unavailableAnswer(owner, res)
	}
	return p.Visits, nil
}
