package proxy

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// metrics are the proxy's own Prometheus metrics. Filter metrics (those a
// plugin defines with proxy_define_metric) and cache metrics are collected
// from their owners at scrape time.
type metrics struct {
	reg            *prometheus.Registry
	requests       *prometheus.CounterVec
	routeRequests  *prometheus.CounterVec
	duration       *prometheus.HistogramVec
	active         *prometheus.GaugeVec
	upstreamErrors *prometheus.CounterVec
	noRoute        *prometheus.CounterVec
	reloads        *prometheus.CounterVec
	reloadSeconds  prometheus.Histogram
	tcpConns       *prometheus.CounterVec
	tcpActive      *prometheus.GaugeVec
	tcpBytes       *prometheus.CounterVec
	generation     prometheus.Gauge
	drainingGens   prometheus.Gauge
}

func newMetrics() *metrics {
	m := &metrics{reg: prometheus.NewRegistry()}
	m.requests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "wasmctl_proxy_requests_total", Help: "HTTP requests by listener and response class, local replies of filters included.",
	}, []string{"listener", "class"})
	m.routeRequests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "wasmctl_proxy_route_requests_total", Help: "HTTP requests that reached a route, by listener, route, cluster and response class.",
	}, []string{"listener", "route", "cluster", "class"})
	m.duration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "wasmctl_proxy_request_duration_seconds", Help: "HTTP request duration, filters and upstream included.",
		Buckets: []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
	}, []string{"listener"})
	m.active = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "wasmctl_proxy_requests_active", Help: "In-flight HTTP requests.",
	}, []string{"listener"})
	m.upstreamErrors = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "wasmctl_proxy_upstream_errors_total", Help: "Failed upstream exchanges by cluster and kind (connect, timeout, client_cancel).",
	}, []string{"cluster", "kind"})
	m.noRoute = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "wasmctl_proxy_no_route_total", Help: "Requests that matched no route (404).",
	}, []string{"listener"})
	m.reloads = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "wasmctl_proxy_reloads_total", Help: "Configuration applies by result (success, failure).",
	}, []string{"result"})
	m.reloadSeconds = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name: "wasmctl_proxy_reload_duration_seconds", Help: "Time to build and swap in a configuration (fetch, compile, instantiate, configure).",
		Buckets: prometheus.ExponentialBuckets(0.001, 2, 16),
	})
	m.tcpConns = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "wasmctl_proxy_tcp_connections_total", Help: "TCP connections accepted by listener.",
	}, []string{"listener"})
	m.tcpActive = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "wasmctl_proxy_tcp_connections_active", Help: "Open TCP connections by listener.",
	}, []string{"listener"})
	m.tcpBytes = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "wasmctl_proxy_tcp_bytes_total", Help: "Bytes proxied by TCP listeners, by direction (rx from clients, tx to clients).",
	}, []string{"listener", "direction"})
	m.generation = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "wasmctl_proxy_config_generation", Help: "Sequence number of the configuration being served.",
	})
	m.drainingGens = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "wasmctl_proxy_draining_generations", Help: "Old configurations still finishing in-flight requests.",
	})
	m.reg.MustRegister(m.requests, m.routeRequests, m.duration, m.active, m.upstreamErrors, m.noRoute, m.reloads, m.reloadSeconds,
		m.tcpConns, m.tcpActive, m.tcpBytes, m.generation, m.drainingGens,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}
