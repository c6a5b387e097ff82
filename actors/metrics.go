package actors

import (
	"github.com/prometheus/client_golang/prometheus"
)

// Each component gets the metrics it updates and nothing else.

type flushMetrics struct {
	visitsFlushed  prometheus.Counter
	visitsDropped  prometheus.Counter
	batches        prometheus.Counter
	rows           prometheus.Counter
	failures       prometheus.Counter
	duration       prometheus.Histogram
	bufferedVisits prometheus.Gauge
	bufferedRows   prometheus.Gauge
	breakerOpen    prometheus.Gauge
}

type batchMetrics struct {
	visitsBatched prometheus.Counter // shared with sendMetrics: moved to a shard here or there
}

type sendMetrics struct {
	visitsBatched    prometheus.Counter
	visitsSentRemote prometheus.Counter
	visitsRerouted   prometheus.Counter
	resends          prometheus.Counter
}

type inboxMetrics struct {
	refused    prometheus.Counter
	duplicates prometheus.Counter
}

type resolveMetrics struct {
	loads           prometheus.Counter
	remoteLookups   prometheus.Counter
	remoteFailovers prometheus.Counter
}

type peerMetrics struct {
	down  prometheus.Gauge
	trips prometheus.Counter
	skips prometheus.Counter
}

type watchMetrics struct {
	visitsAtRisk prometheus.Counter
}

type journalMetrics struct {
	errors   prometheus.Counter
	replayed prometheus.Counter
	bad      prometheus.Counter
}

type metrics struct {
	flush   flushMetrics
	batch   batchMetrics
	send    sendMetrics
	inbox   inboxMetrics
	resolve resolveMetrics
	watch   watchMetrics
	journal journalMetrics
	peers   peerMetrics
}

func counter(name, help string) prometheus.Counter {
	return prometheus.NewCounter(prometheus.CounterOpts{Name: name, Help: help})
}

func gauge(name, help string) prometheus.Gauge {
	return prometheus.NewGauge(prometheus.GaugeOpts{Name: name, Help: help})
}

// newMetrics builds and registers the actor layer's metrics; extra are
// collectors that read the System's state (gauge funcs).
func newMetrics(reg prometheus.Registerer, extra ...prometheus.Collector) (*metrics, error) {
	batched := counter("minibitly_actors_visits_batched_total", "Visits moved from the visit log to the shards.")
	m := &metrics{
		flush: flushMetrics{
			visitsFlushed: counter("minibitly_actors_visits_flushed_total", "Visits written to the visit sink."),
			visitsDropped: counter("minibitly_actors_visits_dropped_total", "Visits dropped because the flush buffer overflowed or shutdown could not deliver them."),
			batches:       counter("minibitly_actors_flush_batches_total", "Visit batches written to the sink."),
			rows:          counter("minibitly_actors_flush_rows_total", "Aggregate rows written to the sink."),
			failures:      counter("minibitly_actors_flush_failures_total", "Failed writes to the visit sink (each is retried)."),
			duration: prometheus.NewHistogram(prometheus.HistogramOpts{
				Name: "minibitly_actors_flush_duration_seconds", Help: "Duration of writes to the visit sink.",
				Buckets: prometheus.ExponentialBuckets(0.0005, 4, 10),
			}),
			bufferedVisits: gauge("minibitly_actors_buffered_visits", "Visits collected from the shards and waiting for the sink."),
			bufferedRows:   gauge("minibitly_actors_buffered_rows", "Minute rows of the batches waiting for the sink (bounded by --flush-buffer-rows)."),
			breakerOpen:    gauge("minibitly_actors_flush_breaker_open", "1 while the visit sink's circuit breaker is open."),
		},
		batch: batchMetrics{visitsBatched: batched},
		send: sendMetrics{
			visitsBatched:    batched,
			visitsSentRemote: counter("minibitly_actors_visits_sent_remote_total", "Visits acknowledged by their owner on another node."),
			visitsRerouted:   counter("minibitly_actors_visits_rerouted_total", "Visits whose owner did not acknowledge them in time, counted on this node instead."),
			resends:          counter("minibitly_actors_remote_batch_resends_total", "Visit batches re-sent to their owner after a missing acknowledgement."),
		},
		inbox: inboxMetrics{
			refused:    counter("minibitly_actors_remote_batches_refused_total", "Visit batches from other nodes refused (late or shutting down); their senders count them."),
			duplicates: counter("minibitly_actors_remote_batch_duplicates_total", "Re-sent visit batches this node had applied already (acknowledged, not re-applied)."),
		},
		resolve: resolveMetrics{
			loads:           counter("minibitly_actors_link_loads_total", "Links loaded from the link store by shards (cache misses at the owner)."),
			remoteLookups:   counter("minibitly_actors_remote_lookups_total", "Near-cache misses resolved by asking the owner on another node."),
			remoteFailovers: counter("minibitly_actors_remote_failovers_total", "Lookups whose owner did not answer in time, or was down (routed around), and were failed over (new owner or the link store)."),
		},
		peers: peerMetrics{
			down:  gauge("minibitly_actors_peer_down", "Members this node routes requests around: a request to them failed or gossip suspects them, and no probe has answered since."),
			trips: counter("minibitly_actors_peer_trips_total", "Times a member was marked down (a request to it timed out or failed, or gossip newly suspected it)."),
			skips: counter("minibitly_actors_peer_skips_total", "Requests (lookups, admissions, pending counts, owner invalidations) not sent to a down member: failed over or answered unavailable at once."),
		},
		watch: watchMetrics{
			visitsAtRisk: counter("minibitly_actors_visits_at_risk_total", "Visits sent to a member and not yet acknowledged when it was declared dead (delayed: re-sent to it or counted here; lost only if it acknowledged them and never comes back)."),
		},
		journal: journalMetrics{
			errors:   counter("minibitly_visit_journal_errors_total", "Failed writes to the visit journal's record log (those visits are only in memory until flushed)."),
			replayed: counter("minibitly_visit_journal_replayed_visits_total", "Visits read back from the visit journal at start (recorded or received before the last stop, not yet in the sink)."),
			bad:      counter("minibitly_visit_journal_bad_records_total", "Journal records that did not decode at start (skipped and released)."),
		},
	}
	f := &m.flush
	cs := []prometheus.Collector{
		f.visitsFlushed, f.visitsDropped, f.batches, f.rows, f.failures, f.duration, f.bufferedVisits, f.bufferedRows, f.breakerOpen,
		batched, m.send.visitsSentRemote, m.send.visitsRerouted, m.send.resends,
		m.inbox.refused, m.inbox.duplicates,
		m.resolve.loads, m.resolve.remoteLookups, m.resolve.remoteFailovers,
		m.watch.visitsAtRisk,
		m.journal.errors, m.journal.replayed, m.journal.bad,
		m.peers.down, m.peers.trips, m.peers.skips,
	}
	for _, c := range append(cs, extra...) {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}
