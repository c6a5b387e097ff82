package gateway

import (
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

type metrics struct {
	redirects   *prometheus.CounterVec
	redirect301 prometheus.Counter
	redirect302 prometheus.Counter
	redirect307 prometheus.Counter
	redirect308 prometheus.Counter
	redirect404 prometheus.Counter
	redirect410 prometheus.Counter
	redirect5xx prometheus.Counter
	latency     prometheus.Histogram
	cacheHits   prometheus.Counter
	cacheMisses prometheus.Counter
	api         *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer, d Deps) (*metrics, error) {
	m := &metrics{
		redirects: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "minibitly_gateway_redirects_total",
			Help: "Redirect requests answered, by HTTP status.",
		}, []string{"status"}),
		latency: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "minibitly_gateway_redirect_duration_seconds",
			Help:    "Time from request parsed to redirect written, for successful redirects.",
			Buckets: []float64{0.00001, 0.000025, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.05, 0.25, 1},
		}),
		cacheHits: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "minibitly_gateway_nearcache_hits_total",
			Help: "Redirects answered from the near-cache.",
		}),
		cacheMisses: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "minibitly_gateway_nearcache_misses_total",
			Help: "Redirects that had to ask the code's owner.",
		}),
		api: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "minibitly_gateway_api_requests_total",
			Help: "API requests, by HTTP status.",
		}, []string{"status"}),
	}
	m.redirect301 = m.redirects.WithLabelValues("301")
	m.redirect302 = m.redirects.WithLabelValues("302")
	m.redirect307 = m.redirects.WithLabelValues("307")
	m.redirect308 = m.redirects.WithLabelValues("308")
	m.redirect404 = m.redirects.WithLabelValues("404")
	m.redirect410 = m.redirects.WithLabelValues("410")
	m.redirect5xx = m.redirects.WithLabelValues("5xx")
	cs := []prometheus.Collector{m.redirects, m.latency, m.cacheHits, m.cacheMisses, m.api}
	if d.Cache.Valid() {
		cs = append(cs, prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "minibitly_gateway_nearcache_entries",
			Help: "Links held in the near-cache.",
		}, func() float64 { return float64(d.Cache.Len()) }), prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "minibitly_gateway_nearcache_negative_entries",
			Help: "Unknown codes remembered as 404 by the near-cache (kept apart from the links).",
		}, func() float64 { return float64(d.Cache.NegativeLen()) }))
	}
	if d.Visits != nil {
		cs = append(cs, prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "minibitly_gateway_visits_dropped_total",
			Help: "Visits dropped because the visit rings were full (batcher starved).",
		}, func() float64 { return float64(d.Visits.Dropped()) }))
	}
	for _, c := range cs {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}

func (m *metrics) observeRedirect(status int, start time.Time) {
	switch status {
	case 301:
		m.redirect301.Inc()
	case 302:
		m.redirect302.Inc()
	case 307:
		m.redirect307.Inc()
	case 308:
		m.redirect308.Inc()
	default:
		m.redirects.WithLabelValues(strconv.Itoa(status)).Inc()
	}
	m.latency.Observe(time.Since(start).Seconds())
}
