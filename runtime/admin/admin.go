// Package admin serves the proxy's admin endpoint:
//
//	/ready              200 when a configuration is being served, else 503
//	/stats/prometheus   proxy, cache and filter metrics (Prometheus text format)
//	/config_dump        the configuration being served, as JSON
//	/plugins            each filter: version, digests, state, VMs, crashes, last error
//
// Bind it to a loopback or otherwise private address: it discloses the
// configuration.
package admin

import (
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/wasmctl/wasmctl/runtime/proxy"
)

// Source is what the admin endpoint reports on; *proxy.Server implements it.
type Source interface {
	Ready() error
	Gatherer() prometheus.Gatherer
	ConfigDump() proxy.ConfigDump
	Plugins() []proxy.PluginInfo
}

// Handler returns the admin endpoint's handler.
func Handler(src Source) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprint(w, "wasmctl proxy admin\n\n/ready\n/stats/prometheus\n/config_dump\n/plugins\n")
	})
	mux.HandleFunc("GET /ready", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		if err := src.Ready(); err != nil {
			w.WriteHeader(http.StatusServiceUnavailable)
			fmt.Fprintf(w, "not ready: %v\n", err)
			return
		}
		fmt.Fprint(w, "ready\n")
	})
	mux.Handle("GET /stats/prometheus", promhttp.HandlerFor(src.Gatherer(), promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError}))
	mux.HandleFunc("GET /config_dump", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, src.ConfigDump())
	})
	mux.HandleFunc("GET /plugins", func(w http.ResponseWriter, r *http.Request) {
		ps := src.Plugins()
		if ps == nil {
			ps = []proxy.PluginInfo{}
		}
		writeJSON(w, ps)
	})
	return mux
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
	}
}
