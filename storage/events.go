package storage

import (
	"context"
	"fmt"
	"time"
)

// Event is one raw visit (--raw-visits): what the redirect saw, to the
// second. It never holds the visitor's IP address.
type Event struct {
	Time      time.Time // to the second, UTC
	Code      string
	Referrer  string // the Referer URL without its query string and fragment, cut at 200 bytes; "" = direct
	UserAgent string // cut at 256 bytes
	Device    string // the user agent's classes, as in VisitKey
	Browser   string
	OS        string
	Country   string // ISO 3166 alpha-2, "" = unknown
	Bot       bool
}

// EventID identifies an event for deduplication: the writer's incarnation,
// the batch's sequence number (from 1, per incarnation) and the event's
// index in the batch. A retried batch carries the same ids.
type EventID struct {
	NodeID string
	Seq    uint64
	Index  uint32
}

// EventBatch is the events one writer drained at once, under (NodeID, Seq):
// event i has EventID{NodeID, Seq, i}. Writing the same batch again (a
// retry) must not count its events twice.
type EventBatch struct {
	NodeID string
	Seq    uint64
	Events []Event
}

// EventSink stores raw visit events.
type EventSink interface {
	// WriteEvents stores b; writing the same batch again stores nothing
	// more (readers see each event once).
	WriteEvents(ctx context.Context, b EventBatch) error
	// ExpireEvents removes events older than ttl before now (whole days
	// may be kept up to a day longer). Several nodes may call it at once.
	ExpireEvents(ctx context.Context, now time.Time, ttl time.Duration) error
}

// EventDeleter is an event store that can remove a code's events (when its
// visits are deleted).
type EventDeleter interface {
	// DeleteEvents removes every stored event of code and returns once
	// they are gone from reads. Events written after it stay.
	DeleteEvents(ctx context.Context, code string) error
}

// MaxEventsPage bounds EventsQuery.Limit.
const MaxEventsPage = 5000

// EventsQuery asks for the events of Codes whose time is in [From, To),
// newest first, skipping Offset of them.
type EventsQuery struct {
	Codes       []string
	From, To    time.Time
	ExcludeBots bool
	Offset      int // ≥ 0
	Limit       int // 1..MaxEventsPage
}

// EventReader reads raw visit events.
type EventReader interface {
	// Events returns up to q.Limit events of q, newest first (ties by code,
	// then by writer and index), each once however often its batch was
	// written.
	Events(ctx context.Context, q EventsQuery) ([]Event, error)
	// CountEvents is how many events Events pages over (Offset and Limit
	// ignored).
	CountEvents(ctx context.Context, q EventsQuery) (uint64, error)
}

// ValidateEventsQuery reports why q cannot be answered, wrapping
// ErrInvalidQuery, or nil. Every EventReader calls it first.
func ValidateEventsQuery(q EventsQuery, counting bool) error {
	if !counting && (q.Limit < 1 || q.Limit > MaxEventsPage || q.Offset < 0) {
		return fmt.Errorf("%w: events limit %d offset %d, want 1 to %d and ≥ 0", ErrInvalidQuery, q.Limit, q.Offset, MaxEventsPage)
	}
	if q.To.Unix() <= q.From.Unix() {
		return fmt.Errorf("%w: [%s, %s)", ErrEmptyRange, q.From.UTC().Format(time.RFC3339), q.To.UTC().Format(time.RFC3339))
	}
	return nil
}
