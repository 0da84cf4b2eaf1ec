package proxy

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/wasmctl/wasmctl/runtime/config"
	"github.com/wasmctl/wasmctl/runtime/host"
	"github.com/wasmctl/wasmctl/runtime/host/tcpproxy"
	"github.com/wasmctl/wasmctl/runtime/httpfilter"
)

// nodeProps is the "node" property tree (Envoy's node identity).
var nodeProps = func() map[string]any {
	host, _ := os.Hostname()
	return map[string]any{"id": host, "cluster": "wasmctl-proxy", "metadata": map[string]any{}}
}()

// WasmEngineOptions configures NewWasmEngine.
type WasmEngineOptions struct {
	// CompileCacheDir keeps compiled code on disk (keyed by module digest
	// and wazero version), so a restart does not recompile. Empty keeps it
	// in memory only.
	CompileCacheDir string
	// Logger receives plugin logs. Nil means slog.Default().
	Logger *slog.Logger
	// Clusters resolves the cluster names of proxy_http_call.
	Clusters host.ClusterResolver
}

// WasmEngine is the Engine backed by runtime/host (wazero) and
// runtime/httpfilter.
type WasmEngine struct {
	rt  *host.Runtime
	log *slog.Logger
}

// NewWasmEngine starts a wasm runtime.
func NewWasmEngine(ctx context.Context, o WasmEngineOptions) (*WasmEngine, error) {
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	rt, err := host.NewRuntime(ctx, host.Config{CacheDir: o.CompileCacheDir, Logger: o.Logger, Clusters: o.Clusters})
	if err != nil {
		return nil, err
	}
	return &WasmEngine{rt: rt, log: o.Logger}, nil
}

// Runtime returns the underlying host runtime.
func (e *WasmEngine) Runtime() *host.Runtime { return e.rt }

// Close stops every plugin and the runtime.
func (e *WasmEngine) Close(ctx context.Context) error { return e.rt.Close(ctx) }

type wasmPlugin struct{ p *host.Plugin }

func (w wasmPlugin) Close(ctx context.Context) error { return w.p.Close(ctx) }

func (w wasmPlugin) Status() PluginStatus {
	st := w.p.Status()
	return PluginStatus{State: st.State, Instances: st.Instances, Live: st.Live, Crashes: st.Crashes,
		LastError: st.LastError, LastErrorAt: st.LastErrorAt, Detail: st}
}

// NewPlugin implements Engine: compile (once per digest), then start the
// plugin's VMs (vm_start, configure).
func (e *WasmEngine) NewPlugin(ctx context.Context, spec PluginSpec) (Plugin, error) {
	mod, err := e.rt.Compile(ctx, spec.Module.Bytes)
	if err != nil {
		return nil, fmt.Errorf("compile: %w", err)
	}
	fs := host.FailClose
	if spec.Filter.FailStrategy == config.FailOpen {
		fs = host.FailOpen
	}
	p, err := e.rt.NewPlugin(ctx, mod, host.PluginConfig{
		Name:         spec.Filter.Name,
		RootID:       spec.Filter.RootIDOrName(),
		PluginConfig: spec.PluginConfig,
		Env:          spec.Env,
		FailStrategy: fs,
		PoolSize:     spec.Filter.PoolSize,
		Properties: map[string]any{
			"node":               nodeProps,
			"listener_direction": "INBOUND",
			"xds": map[string]any{
				"listener_name":     spec.Listener,
				"filter_chain_name": spec.Listener,
			},
		},
	})
	if err != nil {
		return nil, err
	}
	return wasmPlugin{p}, nil
}

// HTTPChain implements Engine.
func (e *WasmEngine) HTTPChain(plugins []Plugin, next http.Handler) (http.Handler, error) {
	hp, err := hostPlugins(plugins)
	if err != nil {
		return nil, err
	}
	return httpfilter.New(hp, next, httpfilter.Options{Logger: e.log}), nil
}

// TCPChain implements TCPEngine with runtime/host/tcpproxy.
func (e *WasmEngine) TCPChain(plugins []Plugin, cluster string, connectTimeout time.Duration) (TCPHandler, error) {
	hp, err := hostPlugins(plugins)
	if err != nil {
		return nil, err
	}
	opt := tcpproxy.Options{Logger: e.log, DialTimeout: connectTimeout, ClusterName: cluster}
	return func(ctx context.Context, down net.Conn, upstream string) {
		tcpproxy.Handle(ctx, down, hp, upstream, opt)
	}, nil
}

func hostPlugins(plugins []Plugin) ([]*host.Plugin, error) {
	hp := make([]*host.Plugin, len(plugins))
	for i, p := range plugins {
		wp, ok := p.(wasmPlugin)
		if !ok {
			return nil, fmt.Errorf("plugin %d was not built by this engine", i)
		}
		hp[i] = wp.p
	}
	return hp, nil
}

// Collector exports the metrics filters define (proxy_define_metric) and
// the host's per-plugin counters, each with a plugin label.
func (e *WasmEngine) Collector() prometheus.Collector { return wasmCollector{e.rt} }

type wasmCollector struct{ rt *host.Runtime }

// Describe sends nothing: the set of filter metrics changes at run time
// (an unchecked collector).
func (wasmCollector) Describe(chan<- *prometheus.Desc) {}

func (c wasmCollector) Collect(ch chan<- prometheus.Metric) {
	types := map[string]host.MetricType{}
	descs := map[string]*prometheus.Desc{}
	for _, m := range c.rt.Metrics() {
		name := host.PromName(m.Name)
		if m.Type == host.Counter && strings.HasPrefix(m.Name, "wasm_host_") && !strings.HasSuffix(name, "_total") {
			name += "_total"
		}
		if t, ok := types[name]; ok && t != m.Type {
			continue // two plugins disagree on the type; keep the first
		}
		types[name] = m.Type
		d, ok := descs[name]
		if !ok {
			d = prometheus.NewDesc(name, "Metric defined by a proxy-wasm filter ("+m.Type.String()+").", []string{"plugin"}, nil)
			descs[name] = d
		}
		var metric prometheus.Metric
		var err error
		switch m.Type {
		case host.Counter:
			metric, err = prometheus.NewConstMetric(d, prometheus.CounterValue, float64(m.Value), m.Plugin)
		case host.Gauge:
			metric, err = prometheus.NewConstMetric(d, prometheus.GaugeValue, float64(m.Value), m.Plugin)
		default:
			metric, err = prometheus.NewConstSummary(d, m.Count, m.Sum, nil, m.Plugin)
		}
		if err == nil {
			ch <- metric
		}
	}
}
