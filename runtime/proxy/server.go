// Package proxy is the data plane of `wasmctl proxy`: HTTP (HTTP/1.1 and
// h2c) and TCP listeners, routes matching path prefix, host and headers,
// clusters of static endpoints balanced round robin with active and passive
// health checking, and an ordered proxy-wasm filter chain per listener.
//
// A Server serves one configuration at a time, called a generation. Apply
// builds the next generation completely (fetch and verify every module,
// compile, instantiate, vm_start, configure, open new sockets) before
// swapping it in; if any step fails the running generation keeps serving and
// the error is reported (logs and /plugins). New requests go to the new
// generation; the old one drains its in-flight requests and then its plugins
// that are no longer used are closed. Unchanged plugins and clusters are
// carried over, so a reload only pays for what changed.
package proxy

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/wasmctl/wasmctl/runtime/cache"
	"github.com/wasmctl/wasmctl/runtime/config"
)

// DefaultDrainTimeout bounds how long a retired generation or a shutdown
// waits for in-flight requests.
const DefaultDrainTimeout = 30 * time.Second

// Options configures a Server.
type Options struct {
	// Engine builds wasm plugins. Nil means configurations with filters are
	// refused.
	Engine Engine
	// Cache fetches modules. Required when a configuration has filters.
	Cache *cache.Cache
	// Logger receives structured logs. Nil means slog.Default().
	Logger *slog.Logger
	// Collectors are extra Prometheus collectors served on /stats/prometheus
	// (e.g. the wasm host's filter metrics).
	Collectors []prometheus.Collector
}

// Server is a running proxy. Its methods are safe for concurrent use.
type Server struct {
	opts Options
	log  *slog.Logger
	m    *metrics

	cur atomic.Pointer[generation]

	applyMu  sync.Mutex // serializes Apply and Shutdown; guards clusters and plugins
	mu       sync.Mutex // guards sockets, failures and lastErr (short holds: admin reads)
	seq      uint64
	sockets  map[string]*socket     // by socket key (protocol+address)
	clusters map[string]*cluster    // live, by configuration key
	plugins  map[string]*pluginRef  // live, by plugin key
	failures map[string]*buildError // by listener/filter: the last failed build
	lastErr  error
	closed   atomic.Bool
	draining sync.WaitGroup
	drainN   atomic.Int64
}

// buildError records a failed build of one filter.
type buildError struct {
	spec PluginSpec
	err  string
	at   time.Time
}

// pluginRef is a built plugin shared by the generations that use it.
type pluginRef struct {
	key     string
	spec    PluginSpec
	plugin  Plugin
	built   time.Time
	refs    int // guarded by Server.applyMu
	buildMS float64
}

// generation is one applied configuration.
type generation struct {
	seq      uint64
	cfg      *config.Config
	applied  time.Time
	http     map[string]http.Handler // by socket key
	tcp      map[string]*tcpRoute    // by socket key
	names    map[string]string       // socket key → listener name
	clusters []*cluster
	plugins  []*pluginRef
	active   atomic.Int64
	retired  atomic.Bool
}

// tcpRoute is what a TCP listener does with a connection.
type tcpRoute struct {
	cluster *cluster
	handle  TCPHandler // nil without network filters
}

func pluginsOf(refs []*pluginRef) []Plugin {
	ps := make([]Plugin, len(refs))
	for i, r := range refs {
		ps[i] = r.plugin
	}
	return ps
}

// New returns a Server that serves nothing until Apply.
func New(opts Options) *Server {
	s := &Server{
		opts: opts, log: opts.Logger, m: newMetrics(),
		sockets: map[string]*socket{}, clusters: map[string]*cluster{},
		plugins: map[string]*pluginRef{}, failures: map[string]*buildError{},
	}
	if s.log == nil {
		s.log = slog.Default()
	}
	s.m.reg.MustRegister(healthCollector{s})
	for _, c := range opts.Collectors {
		s.m.reg.MustRegister(c)
	}
	return s
}

// Gatherer returns the Prometheus registry with the proxy's metrics and the
// Options.Collectors.
func (s *Server) Gatherer() prometheus.Gatherer { return s.m.reg }

// Registerer lets callers add collectors after New.
func (s *Server) Registerer() prometheus.Registerer { return s.m.reg }

// acquire returns the current generation with a reference held; release it
// with g.release. It never returns a generation that has started draining.
func (s *Server) acquire() *generation {
	for {
		g := s.cur.Load()
		if g == nil {
			return nil
		}
		g.active.Add(1)
		if !g.retired.Load() {
			return g
		}
		g.active.Add(-1)
	}
}

func (g *generation) release() { g.active.Add(-1) }

// Apply builds cfg completely and swaps it in. On error nothing changes: the
// running configuration keeps serving.
func (s *Server) Apply(ctx context.Context, cfg *config.Config) (err error) {
	s.applyMu.Lock()
	defer s.applyMu.Unlock()
	if s.closed.Load() {
		return errors.New("proxy: the server is shut down")
	}
	start := time.Now()
	defer func() {
		d := time.Since(start)
		s.mu.Lock()
		s.lastErr = err
		s.mu.Unlock()
		if err != nil {
			s.m.reloads.WithLabelValues("failure").Inc()
			s.log.Error("configuration rejected; the running configuration keeps serving", "err", err, "took", d)
			return
		}
		s.m.reloads.WithLabelValues("success").Inc()
		s.m.reloadSeconds.Observe(d.Seconds())
	}()

	next := &generation{seq: s.seq + 1, cfg: cfg, http: map[string]http.Handler{}, tcp: map[string]*tcpRoute{}, names: map[string]string{}}
	var undo []func()
	fail := func(e error) error {
		for i := len(undo) - 1; i >= 0; i-- {
			undo[i]()
		}
		return e
	}

	// Clusters: reuse unchanged ones (health state and connection pools).
	byName := map[string]*cluster{}
	for _, cc := range cfg.Clusters {
		key := clusterKeyOf(cc)
		cl, ok := s.clusters[key]
		if !ok {
			cl = newCluster(cc, s.m, s.log)
			nc := cl
			undo = append(undo, func() { nc.close() })
		}
		byName[cc.Name] = cl
		next.clusters = append(next.clusters, cl)
	}

	// Plugins: fetch, verify and build the filters concurrently (a few at a
	// time); unchanged ones are reused.
	type item struct {
		listener string
		f        config.Filter
		ref      *pluginRef
		err      error
	}
	var items []*item
	for _, l := range cfg.Listeners {
		for _, f := range l.SortedFilters() {
			items = append(items, &item{listener: l.Name, f: f})
		}
	}
	var wg sync.WaitGroup
	sem := make(chan struct{}, max(2, runtime.GOMAXPROCS(0)))
	for _, it := range items {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			it.ref, it.err = s.plugin(ctx, it.listener, it.f)
		})
	}
	wg.Wait()
	newPlugins := map[string]*pluginRef{}
	chains := map[string][]*pluginRef{}
	for _, it := range items {
		if it.ref != nil && it.ref.refs == 0 { // built by this Apply
			r := it.ref
			newPlugins[r.key] = r
			undo = append(undo, func() { r.plugin.Close(context.Background()) })
		}
	}
	for _, it := range items {
		if it.err != nil {
			return fail(it.err)
		}
		chains[it.listener] = append(chains[it.listener], it.ref)
	}

	// Handlers.
	for _, l := range cfg.Listeners {
		key := socketKey(l)
		next.names[key] = l.Name
		if l.Protocol == config.ProtocolTCP {
			tr := &tcpRoute{cluster: byName[l.Cluster]}
			if refs := chains[l.Name]; len(refs) > 0 {
				te, ok := s.opts.Engine.(TCPEngine)
				if !ok {
					return fail(errors.New("listener " + l.Name + " has network filters but the wasm engine cannot run them"))
				}
				ct := tr.cluster.cfg.ConnectTimeout.D()
				if ct <= 0 {
					ct = DefaultConnectTimeout
				}
				h, err := te.TCPChain(pluginsOf(refs), l.Cluster, ct)
				if err != nil {
					return fail(fmt.Errorf("listener %s: building the network filter chain: %w", l.Name, err))
				}
				tr.handle = h
			}
			next.tcp[key] = tr
			continue
		}
		var h http.Handler = newRouter(l, byName, s.m)
		if refs := chains[l.Name]; len(refs) > 0 {
			if s.opts.Engine == nil {
				return fail(errors.New("listener " + l.Name + " has filters but this proxy has no wasm engine"))
			}
			ch, err := s.opts.Engine.HTTPChain(pluginsOf(refs), h)
			if err != nil {
				return fail(fmt.Errorf("listener %s: building the filter chain: %w", l.Name, err))
			}
			h = ch
		}
		next.http[key] = s.instrument(l.Name, h)
	}

	// Sockets: bind the new ones before anything becomes visible.
	var opened []*socket
	for _, l := range cfg.Listeners {
		key := socketKey(l)
		if _, ok := s.sockets[key]; ok {
			continue
		}
		sk, err := s.listen(l, key)
		if err != nil {
			for _, o := range opened {
				o.ln.Close()
			}
			return fail(err)
		}
		opened = append(opened, sk)
	}

	// Commit: nothing below can fail.
	for key, r := range newPlugins {
		s.plugins[key] = r
	}
	for _, refs := range chains {
		for _, r := range refs {
			r.refs++
			next.plugins = append(next.plugins, r)
		}
	}
	for _, cl := range next.clusters {
		if cl.refs.Add(1) == 1 {
			s.clusters[cl.key] = cl
		}
	}
	s.mu.Lock()
	// Every filter of the applied configuration built: earlier failures,
	// including those of filters since removed, are history.
	clear(s.failures)
	s.seq = next.seq
	next.applied = time.Now()
	old := s.cur.Swap(next)
	s.m.generation.Set(float64(next.seq))
	for _, sk := range opened {
		s.sockets[sk.key] = sk
		sk.serve()
	}
	for key, sk := range s.sockets {
		if _, ok := next.names[key]; !ok {
			delete(s.sockets, key)
			go sk.shutdown(s.drainTimeout(cfg))
		}
	}
	s.mu.Unlock()
	if old != nil {
		s.retire(old, s.drainTimeout(cfg))
	}
	s.log.Info("configuration applied", "generation", next.seq, "listeners", len(cfg.Listeners),
		"clusters", len(cfg.Clusters), "new_plugins", len(newPlugins), "took", time.Since(start))
	return nil
}

func (s *Server) drainTimeout(cfg *config.Config) time.Duration {
	if d := cfg.Drain.D(); d > 0 {
		return d
	}
	return DefaultDrainTimeout
}

// plugin returns the built plugin for filter f of listener, building it if
// no live plugin has the same key.
//
// It runs concurrently with other calls of the same Apply: it only reads
// s.plugins (written under applyMu, which Apply holds) and writes failures
// under s.mu.
func (s *Server) plugin(ctx context.Context, listener string, f config.Filter) (*pluginRef, error) {
	spec := PluginSpec{Listener: listener, Filter: f, PluginConfig: f.ConfigBytes(), Env: resolveEnv(f.VMConfig.Env)}
	failed := func(step string, err error) error {
		e := fmt.Errorf("listener %s, filter %s (%s): %s: %w", listener, f.Name, f.URL, step, err)
		s.mu.Lock()
		s.failures[listener+"/"+f.Name] = &buildError{spec: spec, err: e.Error(), at: time.Now()}
		s.mu.Unlock()
		return e
	}
	if s.opts.Engine == nil {
		return nil, failed("build", errors.New("this proxy has no wasm engine"))
	}
	if s.opts.Cache == nil {
		return nil, failed("fetch", errors.New("no module cache configured"))
	}
	mod, err := s.opts.Cache.Get(ctx, cache.Source{URL: f.URL, SHA256: f.SHA256, PullPolicy: f.EffectivePullPolicy()})
	if err != nil {
		return nil, failed("fetch", err)
	}
	if mod.Stale {
		s.log.Warn("serving a cached module: the pull failed", "listener", listener, "filter", f.Name, "digest", mod.Digest, "err", mod.FetchErr)
	}
	spec.Module = mod
	key := pluginKey(spec)
	if r, ok := s.plugins[key]; ok {
		return r, nil
	}
	t0 := time.Now()
	p, err := s.opts.Engine.NewPlugin(ctx, spec)
	if err != nil {
		return nil, failed("start", err)
	}
	d := time.Since(t0)
	s.log.Info("filter built", "listener", listener, "filter", f.Name, "digest", mod.Digest, "took", d)
	return &pluginRef{key: key, spec: spec, plugin: p, built: time.Now(), buildMS: float64(d.Microseconds()) / 1000}, nil
}

func resolveEnv(vars []config.EnvVar) map[string]string {
	if len(vars) == 0 {
		return nil
	}
	env := make(map[string]string, len(vars))
	for _, v := range vars {
		if v.ValueFrom == "HOST" {
			if val, ok := os.LookupEnv(v.Name); ok {
				env[v.Name] = val
			}
			continue
		}
		env[v.Name] = v.Value
	}
	return env
}

// pluginKey identifies a plugin build: two filters with equal keys behave
// the same, so the built plugin is reused across reloads.
func pluginKey(sp PluginSpec) string {
	h := sha256.New()
	enc := json.NewEncoder(h)
	enc.Encode([]any{sp.Listener, sp.Filter.Name, sp.Module.Digest, string(sp.PluginConfig), sp.Filter.RootIDOrName(),
		sp.Env, sp.Filter.FailStrategy, sp.Filter.PoolSize})
	return hex.EncodeToString(h.Sum(nil))
}

// retire drains g in the background, then releases its plugins and clusters.
func (s *Server) retire(g *generation, timeout time.Duration) {
	g.retired.Store(true)
	s.draining.Add(1)
	s.m.drainingGens.Set(float64(s.drainN.Add(1)))
	go func() {
		defer s.draining.Done()
		deadline := time.Now().Add(timeout)
		for g.active.Load() > 0 && time.Now().Before(deadline) {
			time.Sleep(2 * time.Millisecond)
		}
		if n := g.active.Load(); n > 0 {
			s.log.Warn("drain timeout: closing a generation with requests in flight", "generation", g.seq, "in_flight", n)
		}
		s.applyMu.Lock()
		var toClose []*pluginRef
		for _, r := range g.plugins {
			r.refs--
			if r.refs == 0 {
				delete(s.plugins, r.key)
				toClose = append(toClose, r)
			}
		}
		for _, cl := range g.clusters {
			if cl.refs.Add(-1) == 0 {
				delete(s.clusters, cl.key)
				go cl.close()
			}
		}
		s.applyMu.Unlock()
		for _, r := range toClose {
			if err := r.plugin.Close(context.Background()); err != nil {
				s.log.Warn("closing a retired plugin", "filter", r.spec.Filter.Name, "err", err)
			}
		}
		s.m.drainingGens.Set(float64(s.drainN.Add(-1)))
		s.log.Debug("generation drained", "generation", g.seq, "closed_plugins", len(toClose))
	}()
}

// instrument counts requests of a listener by response class, local replies
// of filters included.
func (s *Server) instrument(listener string, h http.Handler) http.Handler {
	var byClass [6]prometheus.Counter
	for c := 1; c <= 5; c++ {
		byClass[c] = s.m.requests.WithLabelValues(listener, strconv.Itoa(c)+"xx")
	}
	active := s.m.active.WithLabelValues(listener)
	dur := s.m.duration.WithLabelValues(listener)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t0 := time.Now()
		active.Inc()
		sw := &statusWriter{ResponseWriter: w}
		defer func() {
			active.Dec()
			c := sw.code / 100
			if c < 1 || c > 5 {
				c = 5
			}
			byClass[c].Inc()
			dur.Observe(time.Since(t0).Seconds())
		}()
		h.ServeHTTP(sw, r)
	})
}

// Addr returns the bound address of the named listener (useful with port 0).
func (s *Server) Addr(listener string) string {
	g := s.cur.Load()
	if g == nil {
		return ""
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for key, name := range g.names {
		if name == listener {
			if sk, ok := s.sockets[key]; ok {
				return sk.ln.Addr().String()
			}
		}
	}
	return ""
}

// Ready reports whether a configuration is being served.
func (s *Server) Ready() error {
	if s.closed.Load() {
		return errors.New("shutting down")
	}
	if s.cur.Load() == nil {
		return errors.New("no configuration applied yet")
	}
	return nil
}

// Shutdown stops accepting connections, waits for in-flight requests (up to
// ctx's deadline), then closes every plugin and cluster.
func (s *Server) Shutdown(ctx context.Context) error {
	if s.closed.Swap(true) {
		return nil
	}
	s.applyMu.Lock() // waits for an Apply in progress
	s.mu.Lock()
	socks := slices.Collect(mapValues(s.sockets))
	s.sockets = map[string]*socket{}
	s.mu.Unlock()
	s.applyMu.Unlock()

	var wg sync.WaitGroup
	errs := make([]error, len(socks))
	for i, sk := range socks {
		wg.Go(func() { errs[i] = sk.shutdownCtx(ctx) })
	}
	wg.Wait()
	if g := s.cur.Swap(nil); g != nil {
		s.retire(g, time.Until(deadlineOr(ctx, time.Now())))
	}
	done := make(chan struct{})
	go func() { s.draining.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
		errs = append(errs, fmt.Errorf("shutdown: %w while draining", ctx.Err()))
	}
	s.log.Info("proxy stopped")
	return errors.Join(errs...)
}

func deadlineOr(ctx context.Context, t time.Time) time.Time {
	if d, ok := ctx.Deadline(); ok {
		return d
	}
	return t
}

func mapValues[K comparable, V any](m map[K]V) func(func(V) bool) {
	return func(yield func(V) bool) {
		for _, v := range m {
			if !yield(v) {
				return
			}
		}
	}
}

// healthCollector exports endpoint health of the current clusters.
type healthCollector struct{ s *Server }

var healthDesc = prometheus.NewDesc("wasmctl_proxy_endpoint_healthy", "1 when the endpoint passes health checks.", []string{"cluster", "endpoint"}, nil)

func (c healthCollector) Describe(ch chan<- *prometheus.Desc) { ch <- healthDesc }

func (c healthCollector) Collect(ch chan<- prometheus.Metric) {
	g := c.s.cur.Load()
	if g == nil {
		return
	}
	for _, cl := range g.clusters {
		for _, e := range cl.endpoints {
			v := 0.0
			if e.healthy.Load() {
				v = 1
			}
			ch <- prometheus.MustNewConstMetric(healthDesc, prometheus.GaugeValue, v, cl.name, e.addr)
		}
	}
}

// ResolveCluster maps a cluster of the current configuration to the base URL
// of one of its endpoints (round robin, healthy first), so filters can make
// proxy_http_call and proxy_grpc_call callouts to the proxy's clusters.
func (s *Server) ResolveCluster(name string) (string, bool) {
	g := s.cur.Load()
	if g == nil {
		return "", false
	}
	for _, cl := range g.clusters {
		if cl.name == name {
			return "http://" + cl.pick().addr, true
		}
	}
	return "", false
}
