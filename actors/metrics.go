package actors

import (
	"github.com/prometheus/client_golang/prometheus"
)

type nodeMetrics struct {
	loads          prometheus.Counter
	visitsBatched  prometheus.Counter
	visitsFlushed  prometheus.Counter
	visitsDropped  prometheus.Counter
	flushBatches   prometheus.Counter
	flushRows      prometheus.Counter
	flushFailures  prometheus.Counter
	flushDuration  prometheus.Histogram
	bufferedVisits prometheus.Gauge
	breakerOpen    prometheus.Gauge

	remoteLookups    prometheus.Counter
	remoteFailovers  prometheus.Counter
	remoteRefused    prometheus.Counter
	visitsSentRemote prometheus.Counter
	visitsRerouted   prometheus.Counter
	visitsAtRisk     prometheus.Counter
	remoteResends    prometheus.Counter
	remoteDuplicates prometheus.Counter
}

func newNodeMetrics(reg prometheus.Registerer, n *Node) (*nodeMetrics, error) {
	m := &nodeMetrics{
		loads: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "minibitly_actors_link_loads_total", Help: "Links loaded from the link store by shards (cache misses at the owner).",
		}),
		visitsBatched: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "minibitly_actors_visits_batched_total", Help: "Visits moved from the visit log to the shards.",
		}),
		visitsFlushed: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "minibitly_actors_visits_flushed_total", Help: "Visits written to the visit sink.",
		}),
		visitsDropped: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "minibitly_actors_visits_dropped_total", Help: "Visits dropped because the flush buffer overflowed or shutdown could not deliver them.",
		}),
		flushBatches: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "minibitly_actors_flush_batches_total", Help: "Visit batches written to the sink.",
		}),
		flushRows: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "minibitly_actors_flush_rows_total", Help: "Aggregate rows written to the sink.",
		}),
		flushFailures: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "minibitly_actors_flush_failures_total", Help: "Failed writes to the visit sink (each is retried).",
		}),
		flushDuration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "minibitly_actors_flush_duration_seconds", Help: "Duration of writes to the visit sink.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 4, 10),
		}),
		bufferedVisits: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "minibitly_actors_buffered_visits", Help: "Visits collected from the shards and waiting for the sink.",
		}),
		breakerOpen: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "minibitly_actors_flush_breaker_open", Help: "1 while the visit sink's circuit breaker is open.",
		}),
	}
	m.remoteLookups = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "minibitly_actors_remote_lookups_total", Help: "Near-cache misses resolved by asking the owner on another node.",
	})
	m.remoteFailovers = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "minibitly_actors_remote_failovers_total", Help: "Lookups whose owner did not answer in time and were failed over (new owner or the link store).",
	})
	m.remoteRefused = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "minibitly_actors_remote_batches_refused_total", Help: "Visit batches from other nodes refused (late or shutting down); their senders count them.",
	})
	m.visitsSentRemote = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "minibitly_actors_visits_sent_remote_total", Help: "Visits acknowledged by their owner on another node.",
	})
	m.visitsRerouted = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "minibitly_actors_visits_rerouted_total", Help: "Visits whose owner did not acknowledge them in time, counted on this node instead.",
	})
	m.visitsAtRisk = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "minibitly_actors_visits_at_risk_total", Help: "Visits acknowledged by a member within its last flush interval before it was declared dead (an upper bound of visits lost with it).",
	})
	m.remoteResends = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "minibitly_actors_remote_batch_resends_total", Help: "Visit batches re-sent to their owner after a missing acknowledgement.",
	})
	m.remoteDuplicates = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "minibitly_actors_remote_batch_duplicates_total", Help: "Re-sent visit batches this node had applied already (acknowledged, not re-applied).",
	})
	cs := []prometheus.Collector{m.remoteResends, m.remoteDuplicates, m.remoteLookups, m.remoteFailovers, m.remoteRefused, m.visitsSentRemote, m.visitsRerouted, m.visitsAtRisk, m.loads, m.visitsBatched, m.visitsFlushed, m.visitsDropped, m.flushBatches,
		m.flushRows, m.flushFailures, m.flushDuration, m.bufferedVisits, m.breakerOpen,
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "minibitly_actors_mailbox_depth", Help: "Messages queued in the shard actors' mailboxes.",
		}, func() float64 { return float64(n.mailboxDepth.Load()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "minibitly_actors_shards", Help: "Shard actors on this node.",
		}, func() float64 { return float64(len(n.shards)) }),
	}
	for _, c := range cs {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}
