package proxy

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wasmctl/wasmctl/runtime/cache"
	"github.com/wasmctl/wasmctl/runtime/config"
)

// The benchmarks below run side by side in one process and report ratios
// against a baseline measured in the same run:
//
//	go test ./runtime/proxy -run '^$' -bench 'Throughput|Latency|HotReload' -benchtime 2s
//
// Throughput: rps of httputil.ReverseProxy (tuned like ours: keep-alive pool,
// buffer pool), of the bare proxy (no filters), and of the proxy with 1 and 5
// addheader filters, all on the same upstream, reported as rps and as
// kept-ratios (bare/reverseproxy, filters/bare).
// Latency: one client, p50/p99 of each, and the p50/p99 added by the filters
// over the bare proxy.
// HotReload: Apply of a configuration whose filter changed (module compiled
// before, so the compile comes from cache): ms per reload.

// benchUpstream answers 100 bytes.
func benchUpstream(b *testing.B) *httptest.Server {
	body := []byte(strings.Repeat("x", 100))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		w.Write(body)
	}))
	b.Cleanup(srv.Close)
	return srv
}

// reverseProxyBaseline is net/http/httputil.ReverseProxy with the same
// transport tuning and buffer pool as the proxy's clusters.
func reverseProxyBaseline(b *testing.B, target string) string {
	u, _ := url.Parse(target)
	rp := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(u)
			pr.Out.Host = pr.In.Host
			pr.SetXForwarded()
		},
		Transport:  &http.Transport{MaxIdleConnsPerHost: 1024, IdleConnTimeout: 90 * time.Second},
		BufferPool: bufferPool{},
	}
	srv := httptest.NewServer(rp)
	b.Cleanup(srv.Close)
	return srv.URL
}

// benchServer starts the proxy with n addheader filters in front of up.
func benchServer(b *testing.B, eng Engine, mc *cache.Cache, wasmPath, up string, n int) (*Server, string) {
	var f strings.Builder
	if n > 0 {
		f.WriteString("  filters:\n")
	}
	for i := range n {
		fmt.Fprintf(&f, "  - {name: f%d, url: \"file://%s\", pluginConfig: \"x-f%d: %d\"}\n", i, wasmPath, i, i)
	}
	cfg, err := config.Parse("bench.yaml", []byte(fmt.Sprintf(`
listeners:
- name: web
  address: 127.0.0.1:0
  routes: [{cluster: up}]
%sclusters: [{name: up, endpoints: [%s]}]
`, f.String(), strings.TrimPrefix(up, "http://"))))
	if err != nil {
		b.Fatal(err)
	}
	s := New(Options{Engine: eng, Cache: mc, Logger: testLogger(nil)})
	if err := s.Apply(context.Background(), cfg); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Shutdown(context.Background()) })
	return s, "http://" + s.Addr("web") + "/"
}

type benchEnv struct {
	up, rp   string
	eng      *WasmEngine
	mc       *cache.Cache
	wasmPath string
}

func newBenchEnv(b *testing.B) *benchEnv {
	v1, _ := addHeaderModules(b)
	dir := b.TempDir()
	p := filepath.Join(dir, "addheader.wasm")
	if err := os.WriteFile(p, v1, 0o644); err != nil {
		b.Fatal(err)
	}
	eng, err := NewWasmEngine(context.Background(), WasmEngineOptions{CompileCacheDir: compileDir(), Logger: testLogger(nil)})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { eng.Close(context.Background()) })
	mc, err := cache.Open(filepath.Join(dir, "cache"), cache.Options{})
	if err != nil {
		b.Fatal(err)
	}
	up := benchUpstream(b)
	return &benchEnv{up: up.URL, rp: reverseProxyBaseline(b, up.URL), eng: eng, mc: mc, wasmPath: p}
}

func benchClient(conns int) *http.Client {
	return &http.Client{Transport: &http.Transport{
		MaxIdleConnsPerHost: conns, MaxConnsPerHost: conns, IdleConnTimeout: time.Minute,
		DialContext: (&net.Dialer{}).DialContext,
	}}
}

func do(b *testing.B, c *http.Client, url string) {
	resp, err := c.Get(url)
	if err != nil {
		b.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		b.Fatalf("status %d", resp.StatusCode)
	}
}

// BenchmarkThroughput measures the four setups interleaved: each iteration
// is one round sending the same burst of requests (32 concurrent clients) to
// each setup in turn, rotating the order, so that load from elsewhere on
// the machine hits every setup alike. It reports req/s per setup and the
// kept ratios bare/reverseproxy, filters=1/bare and filters=5/bare.
func BenchmarkThroughput(b *testing.B) {
	env := newBenchEnv(b)
	_, bare := benchServer(b, env.eng, env.mc, env.wasmPath, env.up, 0)
	_, one := benchServer(b, env.eng, env.mc, env.wasmPath, env.up, 1)
	_, five := benchServer(b, env.eng, env.mc, env.wasmPath, env.up, 5)
	targets := []struct{ name, url string }{{"reverseproxy", env.rp}, {"bare", bare}, {"filters=1", one}, {"filters=5", five}}
	const conns, burst = 32, 640
	clients := make([]*http.Client, len(targets))
	for i, tg := range targets {
		clients[i] = benchClient(conns)
		defer clients[i].CloseIdleConnections()
		var wg sync.WaitGroup
		for range conns { // open every connection and warm every VM
			wg.Go(func() { do(b, clients[i], tg.url) })
		}
		wg.Wait()
	}
	elapsed := make([]time.Duration, len(targets))
	b.ResetTimer()
	for n := range b.N {
		for k := range targets {
			i := (k + n) % len(targets)
			var next atomic.Int64
			var wg sync.WaitGroup
			t0 := time.Now()
			for range conns {
				wg.Go(func() {
					for next.Add(1) <= burst {
						do(b, clients[i], targets[i].url)
					}
				})
			}
			wg.Wait()
			elapsed[i] += time.Since(t0)
		}
	}
	b.StopTimer()
	rps := map[string]float64{}
	for i, tg := range targets {
		rps[tg.name] = float64(b.N*burst) / elapsed[i].Seconds()
		b.ReportMetric(rps[tg.name], tg.name+"-req/s")
	}
	b.ReportMetric(rps["bare"]/rps["reverseproxy"], "bare/reverseproxy")
	b.ReportMetric(rps["filters=1"]/rps["bare"], "filters=1/bare")
	b.ReportMetric(rps["filters=5"]/rps["bare"], "filters=5/bare")
}

// percentile returns the p-th percentile of sorted durations.
func percentile(d []time.Duration, p float64) time.Duration {
	if len(d) == 0 {
		return 0
	}
	return d[min(len(d)-1, int(float64(len(d))*p))]
}

// BenchmarkLatency measures one client's request latency, interleaved: each
// iteration sends one request to each setup in turn (direct to the
// upstream, reverseproxy, bare, filters=1, filters=5). It reports p50/p99 of
// each and the latency the filters add over the bare proxy (and the bare
// proxy over ReverseProxy).
func BenchmarkLatency(b *testing.B) {
	env := newBenchEnv(b)
	_, bare := benchServer(b, env.eng, env.mc, env.wasmPath, env.up, 0)
	_, one := benchServer(b, env.eng, env.mc, env.wasmPath, env.up, 1)
	_, five := benchServer(b, env.eng, env.mc, env.wasmPath, env.up, 5)
	targets := []struct{ name, url string }{{"direct", env.up + "/"}, {"reverseproxy", env.rp}, {"bare", bare}, {"filters=1", one}, {"filters=5", five}}
	clients := make([]*http.Client, len(targets))
	lat := make([][]time.Duration, len(targets))
	for i, tg := range targets {
		clients[i] = benchClient(1)
		defer clients[i].CloseIdleConnections()
		for range 20 {
			do(b, clients[i], tg.url)
		}
		lat[i] = make([]time.Duration, 0, b.N)
	}
	b.ResetTimer()
	for n := range b.N {
		for k := range targets {
			i := (k + n) % len(targets)
			t0 := time.Now()
			do(b, clients[i], targets[i].url)
			lat[i] = append(lat[i], time.Since(t0))
		}
	}
	b.StopTimer()
	p50, p99 := map[string]float64{}, map[string]float64{}
	for i, tg := range targets {
		slices.Sort(lat[i])
		p50[tg.name] = float64(percentile(lat[i], .50).Nanoseconds()) / 1e3
		p99[tg.name] = float64(percentile(lat[i], .99).Nanoseconds()) / 1e3
		b.ReportMetric(p50[tg.name], tg.name+"-p50-µs")
		b.ReportMetric(p99[tg.name], tg.name+"-p99-µs")
	}
	for _, pair := range [][2]string{{"bare", "reverseproxy"}, {"filters=1", "bare"}, {"filters=5", "bare"}} {
		b.ReportMetric(p50[pair[0]]-p50[pair[1]], pair[0]+"-added-p50-µs")
		b.ReportMetric(p99[pair[0]]-p99[pair[1]], pair[0]+"-added-p99-µs")
	}
}

// BenchmarkHotReload measures Apply for a configuration whose filter changed
// (another module version and configuration) while the module's compiled
// code is cached: fetch from the warm cache, verify, instantiate the VM
// pool, vm_start, configure, swap.
func BenchmarkHotReload(b *testing.B) {
	env := newBenchEnv(b)
	v1, v2 := addHeaderModules(b)
	dir := b.TempDir()
	paths := []string{filepath.Join(dir, "v1.wasm"), filepath.Join(dir, "v2.wasm")}
	os.WriteFile(paths[0], v1, 0o644)
	os.WriteFile(paths[1], v2, 0o644)
	cfgs := make([]*config.Config, 2)
	for i, p := range paths {
		c, err := config.Parse("bench.yaml", []byte(fmt.Sprintf(`
listeners:
- name: web
  address: 127.0.0.1:0
  routes: [{cluster: up}]
  filters: [{name: v, url: "file://%s", pluginConfig: "x-v: %d"}]
clusters: [{name: up, endpoints: [%s]}]
drainTimeout: 1s
`, p, i, strings.TrimPrefix(env.up, "http://"))))
		if err != nil {
			b.Fatal(err)
		}
		cfgs[i] = c
	}
	s := New(Options{Engine: env.eng, Cache: env.mc, Logger: testLogger(nil)})
	defer s.Shutdown(context.Background())
	// Compile both versions once (the cached compile the reloads reuse).
	for _, c := range cfgs {
		if err := s.Apply(context.Background(), c); err != nil {
			b.Fatal(err)
		}
	}
	b.ResetTimer()
	for i := range b.N {
		if err := s.Apply(context.Background(), cfgs[i%2]); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(b.Elapsed().Microseconds())/1e3/float64(b.N), "ms/reload")
}

// BenchmarkFilterChainCPU isolates the CPU cost of the wasm filter chain per
// request: the chain with 0, 1 and 5 addheader filters around a handler that
// answers 100 bytes, driven in-process (no sockets). Compare ns/op with
// BenchmarkThroughput's per-request cost of the bare proxy.
func BenchmarkFilterChainCPU(b *testing.B) {
	env := newBenchEnv(b)
	body := []byte(strings.Repeat("x", 100))
	next := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write(body) })
	for _, n := range []int{0, 1, 5} {
		b.Run(fmt.Sprintf("filters=%d", n), func(b *testing.B) {
			var ps []Plugin
			for i := range n {
				m, err := env.mc.Get(context.Background(), cache.Source{URL: "file://" + env.wasmPath})
				if err != nil {
					b.Fatal(err)
				}
				p, err := env.eng.NewPlugin(context.Background(), PluginSpec{Listener: "bench", Module: m,
					Filter: config.Filter{Name: fmt.Sprintf("f%d", i)}, PluginConfig: []byte(fmt.Sprintf("x-f%d: %d", i, i))})
				if err != nil {
					b.Fatal(err)
				}
				defer p.Close(context.Background())
				ps = append(ps, p)
			}
			var h http.Handler = next
			if n > 0 {
				var err error
				if h, err = env.eng.HTTPChain(ps, next); err != nil {
					b.Fatal(err)
				}
			}
			req := httptest.NewRequest("GET", "http://bench/", nil)
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				w := httptest.NewRecorder()
				h.ServeHTTP(w, req)
				if w.Code != 200 || (n > 0 && w.Header().Get("X-F0") != "0") {
					b.Fatalf("status %d headers %v", w.Code, w.Header())
				}
			}
		})
	}
}
