package cluster

import "github.com/prometheus/client_golang/prometheus"

type metrics struct {
	members prometheus.Gauge
	changes prometheus.Counter
	rejoins prometheus.Counter
	// suspicions counts members this node's own probe found unresponsive.
	suspicions prometheus.Counter
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		members: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "minibitly_cluster_members",
			Help: "Members this node sees alive (the members of its placement).",
		}),
		changes: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "minibitly_cluster_member_changes_total",
			Help: "Membership events (join, leave, failure, metadata update) this node has seen.",
		}),
		rejoins: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "minibitly_cluster_rejoins_total",
			Help: "Re-join rounds: joins of seeds and dead members' addresses after start, made because some were not alive members.",
		}),
		suspicions: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "minibitly_cluster_suspicions_total",
			Help: "Times this node's gossip probe of an alive member failed (memberlist marks it suspect; see Node.Suspected).",
		}),
	}
	if reg == nil {
		return m, nil
	}
	for _, c := range []prometheus.Collector{m.members, m.changes, m.rejoins, m.suspicions} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}
