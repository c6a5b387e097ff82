// Package rawvisits is the raw visit events pipeline of --raw-visits: the
// ring the gateway records every visit's event into (internal/eventlog) and
// the Flusher, its consumer: a drainer goroutine empties the ring every
// DrainInterval (10 ms, so the ring stays small and cache-warm), and a
// writer goroutine makes the drained events one storage.EventBatch every
// Interval (--flush-interval), writes it to a storage.EventSink with a
// bounded retry, and applies the events' TTL at start and every hour.
//
// Raw events are best-effort, unlike the visit aggregates (package actors):
// a full ring drops events, a sink that fails MaxAttempts times in a row
// loses the batch, and a crash loses what was not written; each loss but
// the crash is counted in minibitly_raw_visits_dropped_total. Retries never
// count an event twice: a batch keeps its (node id, seq) and every event its
// index, and the sink deduplicates by that id.
//
// Off (Config.Enabled false), New allocates no ring and Start starts
// nothing; Ring returns nil, which the gateway takes for "off".
//
// It imports storage and internal packages only; cmd/minibitly wires it.
package rawvisits
