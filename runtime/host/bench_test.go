package host_test

import (
	"bufio"
	"context"
	"io"
	"log/slog"
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/wasmctl/wasmctl/runtime/host"
)

// BenchmarkHostCall measures what one host call costs a real Go guest
// (testdata/probe built with the SDK): each proxy_on_request_headers makes
// the call 100 times, so the callback's own cost is amortized; "noop" is
// the baseline (the same callback making no call). Reported per host call:
// ns/call and host-allocs/call (Go heap allocations in the host process),
// and ns/call-over-noop, the difference from the baseline in the same run.
//
//	go test -run '^$' -bench BenchmarkHostCall -benchtime 2000x ./runtime/host/
func BenchmarkHostCall(b *testing.B) {
	const perCallback = 100
	m := probe(b)
	var baseNs, baseAllocs float64
	for _, op := range []string{"noop", "get-header", "add-header", "get-property"} {
		b.Run(op, func(b *testing.B) {
			p := newPlugin(b, m, host.PluginConfig{Name: "bench-" + op, PluginConfig: []byte("bench " + op + " " + strconv.Itoa(perCallback))})
			s, err := p.NewHTTPStream(&host.StreamInfo{})
			if err != nil {
				b.Fatal(err)
			}
			defer s.Done()
			hdr := host.Pairs{{":path", "/bench"}, {":method", "GET"}, {":authority", "h"}, {"x-bench", "value"}}
			var ms0, ms1 runtime.MemStats
			runtime.ReadMemStats(&ms0)
			b.ResetTimer()
			start := time.Now()
			for range b.N {
				if r := s.OnRequestHeaders(hdr[:len(hdr):len(hdr)], false); !r.Continue {
					b.Fatalf("callback did not continue: %+v", r)
				}
			}
			el := time.Since(start)
			b.StopTimer()
			runtime.ReadMemStats(&ms1)
			calls := float64(b.N) * perCallback
			ns := float64(el.Nanoseconds()) / calls
			allocs := float64(ms1.Mallocs-ms0.Mallocs) / calls
			b.ReportMetric(ns, "ns/call")
			b.ReportMetric(allocs, "host-allocs/call")
			if op == "noop" {
				baseNs, baseAllocs = ns, allocs
				return
			}
			b.ReportMetric(ns-baseNs, "ns/call-over-noop")
			b.ReportMetric(allocs-baseAllocs, "host-allocs/call-over-noop")
		})
	}
}

// BenchmarkCompileColdVsCached compiles the 2.7 MB probe module (a Go 1.2x
// guest built with the SDK) from scratch, and again in a fresh Runtime
// whose on-disk compilation cache was filled by the cold compile (a
// restart). Reports cold-ms, cached-ms and cached/cold-% (goal ≤ 5 %).
//
//	go test -run '^$' -bench BenchmarkCompileColdVsCached -benchtime 1x ./runtime/host/
func BenchmarkCompileColdVsCached(b *testing.B) {
	wasm := probeWasm(b)
	ctx := context.Background()
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	var cold, cached time.Duration
	for range b.N {
		dir := b.TempDir()
		compile := func() time.Duration {
			r, err := host.NewRuntime(ctx, host.Config{CacheDir: dir, Logger: quiet})
			if err != nil {
				b.Fatal(err)
			}
			defer r.Close(ctx)
			start := time.Now()
			if _, err := r.Compile(ctx, wasm); err != nil {
				b.Fatal(err)
			}
			return time.Since(start)
		}
		cold += compile()
		cached += compile()
	}
	b.ReportMetric(float64(len(wasm))/(1<<20), "module-MiB")
	b.ReportMetric(float64(cold.Milliseconds())/float64(b.N), "cold-ms")
	b.ReportMetric(float64(cached.Microseconds())/1000/float64(b.N), "cached-ms")
	b.ReportMetric(100*float64(cached)/float64(cold), "cached/cold-%")
}

// BenchmarkInstantiate measures starting one VM of a compiled Go guest:
// instantiate, _initialize, proxy_on_context_create, proxy_on_vm_start and
// proxy_on_configure (NewPlugin with one VM), then closing it. The baseline
// in the same run is one request callback on a running VM.
//
//	go test -run '^$' -bench BenchmarkInstantiate -benchtime 20x ./runtime/host/
func BenchmarkInstantiate(b *testing.B) {
	m := probe(b)
	ctx := context.Background()
	p := newPlugin(b, m, host.PluginConfig{Name: "bench-inst-base"})
	s, err := p.NewHTTPStream(&host.StreamInfo{})
	if err != nil {
		b.Fatal(err)
	}
	hdr := host.Pairs{{":path", "/"}}
	const n = 200
	t0 := time.Now()
	for range n {
		s.OnRequestHeaders(hdr[:1:1], false)
	}
	callback := time.Since(t0) / n
	s.Done()
	b.ResetTimer()
	var start time.Duration
	for range b.N {
		t := time.Now()
		p, err := runtimeT(b).NewPlugin(ctx, m, host.PluginConfig{Name: "bench-inst", PoolSize: 1})
		if err != nil {
			b.Fatal(err)
		}
		start += time.Since(t)
		p.Close(ctx)
	}
	b.StopTimer()
	per := start / time.Duration(b.N)
	b.ReportMetric(float64(per.Microseconds())/1000, "start-ms/VM")
	b.ReportMetric(float64(callback.Nanoseconds())/1000, "callback-µs")
	b.ReportMetric(float64(per)/float64(callback), "start/callback")
}

// BenchmarkMemoryPerVM starts 8 VMs of a Go guest, serves one request on
// each, and reports the linear memory per VM and the growth of the
// process's resident set per VM (goal ≤ 20 MB). The baseline is the RSS
// before the VMs exist, in the same run.
//
//	go test -run '^$' -bench BenchmarkMemoryPerVM -benchtime 1x ./runtime/host/
func BenchmarkMemoryPerVM(b *testing.B) {
	const vms = 8
	m := probe(b)
	ctx := context.Background()
	for range b.N {
		runtime.GC()
		before := rss(b)
		p, err := runtimeT(b).NewPlugin(ctx, m, host.PluginConfig{Name: "bench-mem", PoolSize: vms})
		if err != nil {
			b.Fatal(err)
		}
		var streams []*host.HTTPStream
		for range vms { // bound to the least busy VM: one per VM
			s, err := p.NewHTTPStream(&host.StreamInfo{})
			if err != nil {
				b.Fatal(err)
			}
			s.OnRequestHeaders(host.Pairs{{":path", "/"}}, false)
			s.OnResponseHeaders(host.Pairs{{":status", "200"}}, false)
			streams = append(streams, s)
		}
		for _, s := range streams {
			s.Done()
		}
		runtime.GC()
		after := rss(b)
		st := p.Status()
		p.Close(ctx)
		b.ReportMetric(float64(st.MemoryBytes)/vms/(1<<20), "linear-MiB/VM")
		b.ReportMetric(float64(after-before)/vms/(1<<20), "rss-MiB/VM")
		b.ReportMetric(float64(before)/(1<<20), "rss-before-MiB")
	}
}

// rss reads the process's resident set size from /proc/self/status.
func rss(tb testing.TB) int64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		tb.Skipf("RSS needs /proc/self/status (Linux): %v", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb << 10
		}
	}
	tb.Skip("no VmRSS in /proc/self/status")
	return 0
}
