package storage

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Sentinel errors returned by every backend. Compare with errors.Is.
var (
	// ErrNotFound: no live link or key under that identifier.
	ErrNotFound = errors.New("not found")
	// ErrConflict: the code (or key) is taken. Deleted codes stay taken.
	ErrConflict = errors.New("already exists")
	// ErrUnavailable: the backend cannot be reached; the operation did not happen.
	ErrUnavailable = errors.New("store unavailable")
	// ErrInvalidCursor: a list cursor that this store did not produce.
	ErrInvalidCursor = errors.New("invalid cursor")
)

// Link is a short link. Zero values mean "not set": ExpiresAt zero = never
// expires, MaxVisits 0 = unlimited.
type Link struct {
	Code           string
	URL            string
	Title          string
	Tags           []string
	CreatedAt      time.Time
	UpdatedAt      time.Time
	ExpiresAt      time.Time
	MaxVisits      int64
	RedirectStatus int  // 301, 302, 307 or 308
	ForwardQuery   bool // append the redirect request's query string to URL
	// CacheMaxAge is the max-age of the redirect's Cache-Control header in
	// seconds; -1 means the server-wide default.
	CacheMaxAge int
	// Disabled links answer 410 at redirect and stay listed and editable
	// (an admin's abuse switch; false restores the link).
	Disabled bool
	// CreatedBy is the id of the API key that created the link; "" when
	// unknown (the CLI, or links from before it was recorded). Set at
	// create, never changed.
	CreatedBy string
	// Version starts at 1 and grows by one on every update.
	Version int64
}

// HasTag reports whether the link carries tag t.
func (l *Link) HasTag(t string) bool {
	for _, x := range l.Tags {
		if x == t {
			return true
		}
	}
	return false
}

// LinkPatch is a partial update. A nil field is left alone. A pointer to the
// zero time clears ExpiresAt; MaxVisits 0 clears the limit; CacheMaxAge -1
// returns to the server default.
type LinkPatch struct {
	URL            *string
	Title          *string
	Tags           *[]string
	ExpiresAt      *time.Time
	MaxVisits      *int64
	RedirectStatus *int
	ForwardQuery   *bool
	CacheMaxAge    *int
	Disabled       *bool
}

// Apply writes the patch onto l, bumps its Version and sets UpdatedAt to now.
func (p LinkPatch) Apply(l *Link, now time.Time) {
	if p.URL != nil {
		l.URL = *p.URL
	}
	if p.Title != nil {
		l.Title = *p.Title
	}
	if p.Tags != nil {
		l.Tags = append([]string(nil), (*p.Tags)...)
	}
	if p.ExpiresAt != nil {
		l.ExpiresAt = *p.ExpiresAt
	}
	if p.MaxVisits != nil {
		l.MaxVisits = *p.MaxVisits
	}
	if p.RedirectStatus != nil {
		l.RedirectStatus = *p.RedirectStatus
	}
	if p.ForwardQuery != nil {
		l.ForwardQuery = *p.ForwardQuery
	}
	if p.CacheMaxAge != nil {
		l.CacheMaxAge = *p.CacheMaxAge
	}
	if p.Disabled != nil {
		l.Disabled = *p.Disabled
	}
	l.Version++
	l.UpdatedAt = now.UTC()
}

// ListQuery selects a page of links, newest first.
type ListQuery struct {
	Limit  int    // 1..1000
	Cursor string // opaque, from a previous page's next cursor; "" = first page
	Tag    string // "" = all
	// CreatedBy, when set, keeps only the links that key created.
	CreatedBy string
}

// LinkBatchReader is a LinkStore that reads many links in one round trip
// (one transaction, one query): the loader coalesces concurrent cache misses
// into it.
type LinkBatchReader interface {
	// GetLinks returns the live links among codes, in any order: a code
	// that is unknown or deleted is not among them. The error is for the
	// whole call.
	GetLinks(ctx context.Context, codes []string) ([]Link, error)
}

// LinkStore keeps link metadata. A successful write is durable when it returns.
type LinkStore interface {
	// CreateLink stores l; ErrConflict when the code is taken (or was ever used).
	CreateLink(ctx context.Context, l Link) error
	// CreateLinks stores each link independently and returns one error per link
	// (nil for success), in order. The returned error is for the whole call.
	CreateLinks(ctx context.Context, ls []Link) ([]error, error)
	GetLink(ctx context.Context, code string) (Link, error)
	// UpdateLink applies p atomically and returns the link as stored.
	UpdateLink(ctx context.Context, code string, p LinkPatch) (Link, error)
	// DeleteLink retires the code: it no longer resolves and cannot be reused.
	DeleteLink(ctx context.Context, code string) error
	// ListLinks returns up to q.Limit links, newest first, and the cursor of the
	// next page ("" when there is none).
	ListLinks(ctx context.Context, q ListQuery) ([]Link, string, error)
	// DomainRedirects returns the default domain's not-found redirects; the
	// zero value (nothing set) when they were never set.
	DomainRedirects(ctx context.Context) (DomainRedirects, error)
	// SetDomainRedirects replaces them all (durable on return).
	SetDomainRedirects(ctx context.Context, r DomainRedirects) error
}

// DomainRedirects are the default domain's "not found" redirects (Shlink's
// special redirects, edited through PATCH /rest/v3/domains/redirects): one
// small settings record per link store. Each is an absolute URL, "" when not
// set; the gateway validates them, the store keeps what it is given.
type DomainRedirects struct {
	BaseURL         string // GET / (the base URL)
	Regular404      string // a 404 on a path that is not a short code's
	InvalidShortURL string // a short code that is unknown, deleted, expired or over its visits
}

// APIKey is an API key. The secret itself is never stored, only its SHA-256.
type APIKey struct {
	ID        string
	Name      string
	Hash      string // hex SHA-256 of the secret
	Prefix    string // first characters of the secret, for recognising it
	CreatedAt time.Time
	RevokedAt time.Time // zero while valid
	// Scopes are what the key may do (Scope* constants). nil is a key
	// stored before scopes existed: it has every scope, admin included.
	// Stores keep nil and an empty list apart (an empty list has none).
	Scopes []string
	// ExpiresAt is when the key stops working; zero = never.
	ExpiresAt time.Time
	// OwnLinksOnly limits the key to the links it created (Link.CreatedBy):
	// others are not found through it.
	OwnLinksOnly bool
}

// The scopes of an API key.
const (
	ScopeLinksRead  = "links:read"  // read links, tags, domains
	ScopeLinksWrite = "links:write" // create, change and delete links and tags
	ScopeStatsRead  = "stats:read"  // read visit statistics
	ScopeAdmin      = "admin"       // manage API keys, the cluster, domain redirects
)

// AllScopes lists every scope, in documentation order.
var AllScopes = []string{ScopeLinksRead, ScopeLinksWrite, ScopeStatsRead, ScopeAdmin}

// ValidScope reports whether s is one of AllScopes.
func ValidScope(s string) bool {
	for _, x := range AllScopes {
		if x == s {
			return true
		}
	}
	return false
}

// HasScope reports whether k may do what scope allows: a key without
// stored scopes (nil) has all of them.
func (k APIKey) HasScope(scope string) bool {
	if k.Scopes == nil {
		return true
	}
	for _, s := range k.Scopes {
		if s == scope {
			return true
		}
	}
	return false
}

// Expired reports whether k has an expiry at or before now.
func (k APIKey) Expired(now time.Time) bool {
	return !k.ExpiresAt.IsZero() && !now.Before(k.ExpiresAt)
}

// KeyStore keeps API keys.
type KeyStore interface {
	CreateAPIKey(ctx context.Context, k APIKey) error // ErrConflict on a duplicate ID or hash
	// APIKeyByHash finds a key, revoked or not; ErrNotFound when absent.
	APIKeyByHash(ctx context.Context, hash string) (APIKey, error)
	ListAPIKeys(ctx context.Context) ([]APIKey, error)
	RevokeAPIKey(ctx context.Context, id string) error // ErrNotFound when absent
}

// VisitKey is one aggregation bucket: a code in one minute with one set of
// dimensions. Raw IPs are never part of it.
type VisitKey struct {
	Code     string
	Minute   int64  // unix seconds, a multiple of 60
	Referrer string // referrer host, "" = direct
	Device   string // desktop, mobile, tablet, bot, other
	Browser  string
	OS       string
	Country  string // ISO 3166 alpha-2, "" = unknown
	Bot      bool
}

// VisitCount is a number of visits in one bucket.
type VisitCount struct {
	VisitKey
	Visits uint64
	// Cumulative, in a VisitBatch, is the writing node's running total of
	// the bucket including Visits (0 = not tracked: the row counts on its
	// own). A sink that records batch ids ignores it; the ClickHouse sink
	// stores it, so a bucket keeps one row per node however often it is
	// flushed (docs/storage.md).
	Cumulative uint64
	// Epoch, with a running total, tells apart the successive writers of
	// one bucket by one node (a total forgotten while idle starts anew
	// under the next epoch: a node_id suffix).
	Epoch uint32
}

// VisitBatch is one flush of one node. (NodeID, Seq) identifies it: a sink
// that receives the same batch twice counts it once.
type VisitBatch struct {
	NodeID string
	Seq    uint64
	Rows   []VisitCount
	// Hourly and Daily are the same visits by hour and by day, one row per
	// dimension value (RollupCount), with their running totals, for sinks
	// that keep rollups (ClickHouse). nil: the sink derives them from Rows.
	Hourly, Daily []RollupCount
}

// Rollup dimensions (RollupCount.Dim): RollupTotal counts every visit of a
// bucket, RollupBots its bot visits (Value "1"); the others count visits by
// the value of that column of VisitKey.
const (
	RollupTotal    = ""
	RollupBots     = "bot"
	RollupReferrer = "referrer"
	RollupDevice   = "device"
	RollupBrowser  = "browser"
	RollupOS       = "os"
	RollupCountry  = "country"
)

// RollupCount is the visits of one dimension value of a code in one
// bucket (an hour or a day starting at Bucket): what a stats query reads
// for a long range, a handful of rows per bucket whatever the
// combinations of dimensions. Cumulative and Epoch are as in VisitCount.
type RollupCount struct {
	Code       string
	Bucket     int64 // unix seconds: the start of the hour or day
	Dim, Value string
	Visits     uint64
	Cumulative uint64
	Epoch      uint32
}

// Counts returns the row's visits and running total.
func (r VisitCount) Counts() (visits, cumulative uint64) { return r.Visits, r.Cumulative }

// Counts returns the row's visits and running total.
func (r RollupCount) Counts() (visits, cumulative uint64) { return r.Visits, r.Cumulative }

// RollupKey is a RollupCount's identity.
type RollupKey struct {
	Code       string
	Bucket     int64
	Dim, Value string
}

// Key returns r's identity.
func (r RollupCount) Key() RollupKey { return RollupKey{r.Code, r.Bucket, r.Dim, r.Value} }

// Rollups appends to dst the rollup rows of visit row r in buckets of
// width seconds: one for the total, one per dimension, one for bots.
func Rollups(dst []RollupCount, r VisitCount, width int64) []RollupCount {
	b := r.Minute - r.Minute%width
	add := func(dim, value string) {
		dst = append(dst, RollupCount{Code: r.Code, Bucket: b, Dim: dim, Value: value, Visits: r.Visits})
	}
	add(RollupTotal, "")
	if r.Bot {
		add(RollupBots, "1")
	}
	add(RollupReferrer, r.Referrer)
	add(RollupDevice, r.Device)
	add(RollupBrowser, r.Browser)
	add(RollupOS, r.OS)
	add(RollupCountry, r.Country)
	return dst
}

// VisitSink receives visit aggregates.
type VisitSink interface {
	WriteVisits(ctx context.Context, b VisitBatch) error
}

// TotalsSink is a VisitSink that stores running totals and rollups
// (ClickHouse): the flusher keeps running totals (VisitCount.Cumulative
// and Epoch, VisitBatch.Hourly and Daily) only for a sink that says it
// stores them. Any other sink gets them zero and nil, and the flusher
// spends no memory or CPU on them.
type TotalsSink interface {
	VisitSink
	StoresRunningTotals() bool
}

// Interval is the width of a stats series bucket.
type Interval string

const (
	Minute Interval = "minute"
	Hour   Interval = "hour"
	Day    Interval = "day"
)

// Seconds is the interval's width.
func (i Interval) Seconds() int64 {
	switch i {
	case Minute:
		return 60
	case Hour:
		return 3600
	case Day:
		return 86400
	}
	return 0
}

// StatsQuery asks for the visits of one code in [From, To).
type StatsQuery struct {
	Code     string
	From, To time.Time
	Interval Interval
	TopN     int // breakdown length; 0 = 10
}

// Point is one bucket of a time series.
type Point struct {
	T      time.Time
	Visits uint64
}

// Bucket is one value of a breakdown.
type Bucket struct {
	Key    string
	Visits uint64
}

// Stats answers a StatsQuery. Series is dense: every bucket in range appears,
// zero or not. Breakdowns are sorted by visits, descending, then by key.
type Stats struct {
	Total     uint64
	Series    []Point
	Referrers []Bucket
	Devices   []Bucket
	Browsers  []Bucket
	OS        []Bucket
	Countries []Bucket
	Bots      uint64
	Humans    uint64
}

// MaxVisitRows bounds VisitRowsQuery.Limit.
const MaxVisitRows = 100000

// VisitRowsQuery asks for the stored aggregate rows of one code whose
// minute is in [From, To).
type VisitRowsQuery struct {
	Code        string
	From, To    time.Time
	ExcludeBots bool // leave out rows with Bot set
	Limit       int  // 1..MaxVisitRows rows
}

// StatsReader answers stats questions.
type StatsReader interface {
	Stats(ctx context.Context, q StatsQuery) (Stats, error)
	// VisitTotal is every visit of the code ever stored.
	VisitTotal(ctx context.Context, code string) (uint64, error)
	// VisitRows returns up to q.Limit rows of q.Code in [From, To), one per
	// bucket (minute × dimensions; what several batches wrote for the same
	// bucket is summed), newest minute first and, within a minute, by
	// Referrer, Device, Browser, OS, Country, then Bot (false first), so
	// the order is the same on every call and in every backend. An
	// ErrInvalidQuery for a Limit out of range or From not before To.
	VisitRows(ctx context.Context, q VisitRowsQuery) ([]VisitCount, error)
}

// ValidateVisitRowsQuery reports why q cannot be answered, wrapping
// ErrInvalidQuery, or nil. Every StatsReader calls it first.
func ValidateVisitRowsQuery(q VisitRowsQuery) error {
	if q.Limit < 1 || q.Limit > MaxVisitRows {
		return fmt.Errorf("%w: row limit %d, want 1 to %d", ErrInvalidQuery, q.Limit, MaxVisitRows)
	}
	if q.To.Unix() <= q.From.Unix() {
		return fmt.Errorf("%w: [%s, %s)", ErrEmptyRange, q.From.UTC().Format(time.RFC3339), q.To.UTC().Format(time.RFC3339))
	}
	return nil
}

// LessVisitKey is the order of VisitRows within a minute.
func LessVisitKey(a, b VisitKey) bool {
	switch {
	case a.Referrer != b.Referrer:
		return a.Referrer < b.Referrer
	case a.Device != b.Device:
		return a.Device < b.Device
	case a.Browser != b.Browser:
		return a.Browser < b.Browser
	case a.OS != b.OS:
		return a.OS < b.OS
	case a.Country != b.Country:
		return a.Country < b.Country
	}
	return !a.Bot && b.Bot
}

// Pinger reports whether a backend is reachable.
type Pinger interface {
	Ping(ctx context.Context) error
}

// ChangeNotifier is implemented by link stores whose reads may lag their
// writes (e.g. reads served by a streaming replica). NoteLinkChanged tells
// the store that code was just written, on this node or another (the
// cluster's invalidation after a create, update or delete): the store's
// next reads of code, for a bounded window the backend documents, must
// not come from a copy older than that write. It must not block.
type ChangeNotifier interface {
	NoteLinkChanged(code string)
}
