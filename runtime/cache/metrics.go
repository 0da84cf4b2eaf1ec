package cache

import (
	"os"
	"path/filepath"

	"github.com/prometheus/client_golang/prometheus"
)

var (
	lookupDesc  = prometheus.NewDesc("wasmctl_cache_lookups_total", "Module cache lookups by result (hit, miss), as Istio's wasm_cache_lookup_count.", []string{"hit"}, nil)
	fetchDesc   = prometheus.NewDesc("wasmctl_cache_remote_fetches_total", "Module fetches from origin by result (success, download_failure, checksum_mismatched), as Istio's wasm_remote_fetch_count.", []string{"result"}, nil)
	corruptDesc = prometheus.NewDesc("wasmctl_cache_corrupt_entries_total", "Cache entries whose content no longer matched their digest; they were deleted and fetched again.", nil, nil)
	entriesDesc = prometheus.NewDesc("wasmctl_cache_entries", "Modules stored in the cache directory.", nil, nil)
)

// Collector exports the cache's counters to Prometheus.
func (c *Cache) Collector() prometheus.Collector { return collector{c} }

type collector struct{ c *Cache }

func (collector) Describe(ch chan<- *prometheus.Desc) {
	ch <- lookupDesc
	ch <- fetchDesc
	ch <- corruptDesc
	ch <- entriesDesc
}

func (x collector) Collect(ch chan<- prometheus.Metric) {
	s := x.c.Stats()
	ch <- prometheus.MustNewConstMetric(lookupDesc, prometheus.CounterValue, float64(s.Hits), "true")
	ch <- prometheus.MustNewConstMetric(lookupDesc, prometheus.CounterValue, float64(s.Misses), "false")
	ch <- prometheus.MustNewConstMetric(fetchDesc, prometheus.CounterValue, float64(s.FetchOK), "success")
	ch <- prometheus.MustNewConstMetric(fetchDesc, prometheus.CounterValue, float64(s.FetchFailed), "download_failure")
	ch <- prometheus.MustNewConstMetric(fetchDesc, prometheus.CounterValue, float64(s.Checksum), "checksum_mismatched")
	ch <- prometheus.MustNewConstMetric(corruptDesc, prometheus.CounterValue, float64(s.Corrupt))
	ents, _ := os.ReadDir(filepath.Join(x.c.dir, "blobs", "sha256"))
	ch <- prometheus.MustNewConstMetric(entriesDesc, prometheus.GaugeValue, float64(len(ents)))
}
