package server

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/sluice-events/sluice/timeline"
)

// metrics are the server's Prometheus metrics, all prefixed sluice_server_.
type metrics struct {
	reg       *prometheus.Registry
	ingested  prometheus.Counter
	delivered *prometheus.CounterVec
	drops     *prometheus.CounterVec
	conns     *prometheus.GaugeVec
	appendDur prometheus.Histogram
	requests  *prometheus.CounterVec
	rejected  *prometheus.CounterVec
}

func newMetrics(more []prometheus.Collector) (*metrics, error) {
	m := &metrics{
		reg: prometheus.NewRegistry(),
		ingested: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "sluice_server_events_ingested_total",
			Help: "Events stored through the server (HTTP, JSON-RPC and WebSocket publishing).",
		}),
		delivered: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sluice_server_events_delivered_total",
			Help: "Events written to streaming clients, by transport (sse, ws, rpc).",
		}, []string{"transport"}),
		drops: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sluice_server_drops_total",
			Help: "Streaming clients disconnected by the server, by reason (slow: fell too far behind; write: a write failed or timed out). Events are never dropped silently: a dropped client resumes from its last cursor.",
		}, []string{"reason"}),
		conns: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "sluice_server_open_connections",
			Help: "Open streaming connections, by transport (sse, ws).",
		}, []string{"transport"}),
		appendDur: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "sluice_server_append_duration_seconds",
			Help:    "Time to append one request's events to the log.",
			Buckets: prometheus.ExponentialBuckets(0.0001, 2, 16),
		}),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sluice_server_http_requests_total",
			Help: "HTTP requests, by route and status code.",
		}, []string{"route", "code"}),
		rejected: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sluice_server_events_rejected_total",
			Help: "Requests to publish events that were refused, by error code.",
		}, []string{"code"}),
	}
	m.reg.MustRegister(m.ingested, m.delivered, m.drops, m.conns, m.appendDur, m.requests, m.rejected,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	for _, t := range []string{"sse", "ws", "rpc"} {
		m.delivered.WithLabelValues(t)
	}
	m.conns.WithLabelValues("sse")
	m.conns.WithLabelValues("ws")
	m.drops.WithLabelValues("slow")
	m.drops.WithLabelValues("write")
	for _, c := range more {
		if err := m.reg.Register(c); err != nil {
			return nil, fmt.Errorf("metrics: %w", err)
		}
	}
	return m, nil
}

// cache exposes the timeline cache's counts, prefixed
// sluice_server_timeline_cache_.
func (m *metrics) cache(c *timeline.Cache) {
	for _, st := range []struct {
		name, help string
		gauge      bool
		value      func(timeline.CacheStats) float64
	}{
		{"hits_total", "Timeline reads (the endpoint, resume preludes, summaries) that reused a cached fold.", false, func(s timeline.CacheStats) float64 { return float64(s.Hits) }},
		{"misses_total", "Timeline reads that folded a session from scratch.", false, func(s timeline.CacheStats) float64 { return float64(s.Misses) }},
		{"stale_total", "Cached folds found out of date (a deleted and restarted or pruned session) and dropped.", false, func(s timeline.CacheStats) float64 { return float64(s.Stale) }},
		{"evictions_total", "Sessions dropped from the cache to stay within its bounds.", false, func(s timeline.CacheStats) float64 { return float64(s.Evicted) }},
		{"sessions", "Sessions whose folds the cache holds.", true, func(s timeline.CacheStats) float64 { return float64(s.Entries) }},
		{"bytes", "Approximate bytes the cache holds.", true, func(s timeline.CacheStats) float64 { return float64(s.Bytes) }},
	} {
		value := func() float64 { return st.value(c.Stats()) }
		name := "sluice_server_timeline_cache_" + st.name
		if st.gauge {
			m.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: name, Help: st.help}, value))
		} else {
			m.reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{Name: name, Help: st.help}, value))
		}
	}
}
