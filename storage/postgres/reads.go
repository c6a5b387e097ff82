package postgres

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// replicaRetryAfter is how long reads skip a replica that failed before
// one read tries it again.
const replicaRetryAfter = 2 * time.Second

// maxRecent bounds the codes remembered for read-your-writes; past it the
// store sends every read to the primary for one window instead.
const maxRecent = 100_000

// router picks the pool of each read when a read pool is configured:
//
//   - Read-your-writes: a code written through this store, or named by
//     NoteLinkChanged (another node's invalidation), is read from the
//     primary for Config.ReadYourWritesWindow; after any link write, lists
//     of links go to the primary for the window, and after any key write,
//     key reads do.
//   - Fallback: a read that fails on the replica because it is unreachable,
//     starting, shutting down or cancelled by a recovery conflict is retried
//     on the primary at once, and the replica is skipped for
//     replicaRetryAfter; then one read at a time tries it again until one
//     succeeds. Each transition is logged once.
type router struct {
	window time.Duration
	log    *slog.Logger
	now    func() time.Time

	mu         sync.Mutex
	recent     map[string]time.Time // code → primary until
	allUntil   time.Time            // every read to the primary (recent overflowed)
	listsUntil time.Time
	keysUntil  time.Time

	down      atomic.Bool
	downUntil atomic.Int64 // unix ns: skip the replica until then
	probing   atomic.Bool  // one read is trying a down replica

	replicaReads, primaryReads, fallbacks atomic.Uint64
}

func newRouter(window time.Duration, log *slog.Logger) *router {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &router{window: window, log: log, now: time.Now, recent: map[string]time.Time{}}
}

// ReadStats counts reads since Open by the pool that answered them:
// Replica (the read pool), Primary (the primary when a read pool is
// configured: read-your-writes, a down replica, fallbacks) and Fallbacks
// (reads that failed on the replica and were retried on the primary).
type ReadStats struct {
	Replica, Primary, Fallbacks uint64
	// ReplicaDown is true while the replica is being skipped.
	ReplicaDown bool
}

// ReadStats reports the read routing counters (all zero without ReadURL).
func (s *Store) ReadStats() ReadStats {
	r := s.router
	return ReadStats{Replica: r.replicaReads.Load(), Primary: r.primaryReads.Load(),
		Fallbacks: r.fallbacks.Load(), ReplicaDown: r.down.Load()}
}

// NoteLinkChanged implements storage.ChangeNotifier: reads of code go to
// the primary for Config.ReadYourWritesWindow. (Lists do only after this
// store's own writes: every node hears of every write in the cluster, and
// steady writes anywhere would otherwise keep every list off the replica.)
func (s *Store) NoteLinkChanged(code string) { s.router.noteLink(code, false) }

// noteLink remembers that code was written (own: through this store).
func (r *router) noteLink(code string, own bool) {
	if r.window <= 0 {
		return
	}
	now := r.now()
	until := now.Add(r.window)
	r.mu.Lock()
	defer r.mu.Unlock()
	if own {
		r.listsUntil = until
	}
	if len(r.recent) >= maxRecent {
		// Sweep the expired entries; when that frees less than half the
		// map, give up on per-code routing for one window instead (every
		// read to the primary), so a sweep runs at most once per
		// maxRecent/2 notes, not on every note near the bound.
		for c, u := range r.recent {
			if !now.Before(u) {
				delete(r.recent, c)
			}
		}
		if len(r.recent) > maxRecent/2 {
			clear(r.recent)
			r.allUntil = until
			return
		}
	}
	r.recent[code] = until
}

// noteAll sends every read to the primary for the window (after a
// migration: the replica may not have the new schema yet).
func (r *router) noteAll() {
	if r.window <= 0 {
		return
	}
	r.mu.Lock()
	r.allUntil = r.now().Add(r.window)
	r.mu.Unlock()
}

func (r *router) noteKeys() {
	if r.window <= 0 {
		return
	}
	r.mu.Lock()
	r.keysUntil = r.now().Add(r.window)
	r.mu.Unlock()
}

// Kinds of read, for fresh.
const (
	readLink = iota
	readLinkList
	readKey
)

// fresh reports whether a read of kind (and code, for readLink) must go to
// the primary for read-your-writes.
func (r *router) fresh(kind int, code string) bool {
	if r.window <= 0 {
		return false
	}
	now := r.now()
	r.mu.Lock()
	defer r.mu.Unlock()
	if now.Before(r.allUntil) {
		return true
	}
	switch kind {
	case readLinkList:
		return now.Before(r.listsUntil)
	case readKey:
		return now.Before(r.keysUntil)
	}
	until, ok := r.recent[code]
	if ok && !now.Before(until) {
		delete(r.recent, code)
		return false
	}
	return ok
}

// tryReplica reports whether this read may go to the replica; probe is
// true when it is the one read trying a down replica again.
func (r *router) tryReplica() (ok, probe bool) {
	if !r.down.Load() {
		return true, false
	}
	if r.now().UnixNano() < r.downUntil.Load() || !r.probing.CompareAndSwap(false, true) {
		return false, false
	}
	return true, true
}

// replicaOK ends a successful probe. (A read that started before the
// replica was marked down and succeeded says nothing about now.)
func (r *router) replicaOK(probe bool) {
	if !probe {
		return
	}
	r.probing.Store(false)
	if r.down.CompareAndSwap(true, false) {
		r.log.Info("postgres read replica is back: reads go to it again")
	}
}

func (r *router) replicaFailed(probe bool, err error) {
	r.downUntil.Store(r.now().Add(replicaRetryAfter).UnixNano())
	if r.down.CompareAndSwap(false, true) {
		r.log.Warn("postgres read replica unavailable: reads go to the primary", "retry_after", replicaRetryAfter, "err", err)
	}
	if probe {
		r.probing.Store(false)
	}
}

// readFrom runs f on the read pool when the routing allows it and retries
// it on the primary when the replica fails; otherwise on the primary. ctx
// is the operation's context (bounded by QueryTimeout); a replica attempt
// gets half of what is left, so the primary still has time to answer.
func readFrom[T any](ctx context.Context, s *Store, kind int, code string, f func(context.Context, *pgxpool.Pool) (T, error)) (T, error) {
	r := s.router
	if s.read == s.pool {
		return f(ctx, s.pool)
	}
	if !r.fresh(kind, code) {
		if ok, probe := r.tryReplica(); ok {
			rctx, cancel := halfContext(ctx)
			v, err := f(rctx, s.read)
			cancel()
			if err != nil && ctx.Err() != nil {
				// The caller gave up: says nothing about the replica.
				if probe {
					r.probing.Store(false)
				}
				return v, err
			}
			if err == nil || !replicaUnavailable(ctx, err) {
				r.replicaReads.Add(1)
				r.replicaOK(probe)
				return v, err
			}
			r.replicaFailed(probe, err)
			r.fallbacks.Add(1)
		}
	}
	r.primaryReads.Add(1)
	return f(ctx, s.pool)
}

func halfContext(ctx context.Context) (context.Context, context.CancelFunc) {
	if d, ok := ctx.Deadline(); ok {
		return context.WithTimeout(ctx, time.Until(d)/2)
	}
	return context.WithCancel(ctx)
}

// replicaUnavailable reports whether err, from a read on the replica, means
// the replica cannot serve reads now (so the primary should), rather than an
// answer (no rows) or the caller giving up (ctx done).
func replicaUnavailable(ctx context.Context, err error) bool {
	if ctx.Err() != nil || errors.Is(err, pgx.ErrNoRows) {
		return false
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		// 40001 and 57P04 are what a hot standby cancels reads with on a
		// recovery conflict; 57014 a statement cancelled (our half timeout);
		// 42P01 and 42703 (no such table, column) a replica that has not
		// replayed a migration yet.
		switch pgErr.Code {
		case "40001", "57P04", "57014", "42P01", "42703":
			return true
		}
		return unavailableCode(pgErr.Code)
	}
	// Refused, reset, closed, timed out (the half deadline), DNS, TLS.
	return true
}
