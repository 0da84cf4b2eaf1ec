package filtertest

import (
	"runtime"
	"testing"
	"time"

	"github.com/wasmctl/wasmctl/sdk/proxywasm/proxytest"
	"github.com/wasmctl/wasmctl/sdk/proxywasm/types"
)

// noopVM is a filter that does nothing: the baseline of BenchmarkRequest.
type noopVM struct{ types.DefaultVMContext }

func (*noopVM) NewPluginContext(uint32) types.PluginContext { return &noopPlugin{} }

type noopPlugin struct{ types.DefaultPluginContext }

func (*noopPlugin) NewHttpContext(uint32) types.HttpContext { return &types.DefaultHttpContext{} }

// Exchange is one request/response through the emulator: request headers,
// response headers, then the end of the stream (on_log).
func Exchange(host proxytest.HostEmulator, req [][2]string, status string) {
	id := host.InitializeHttpContext()
	host.CallOnRequestHeaders(id, req, true)
	host.CallOnResponseHeaders(id, [][2]string{{":status", status}}, true)
	host.CompleteHttpContext(id)
}

// BenchmarkRequest measures the filter's own cost per request in the
// native emulator: it runs b.N Exchanges through a no-op filter and b.N
// through the filter, and reports "guest-allocs/op" and "guest-B/op" (heap
// allocations and bytes the filter's Go code makes per request, the
// emulator's share subtracted) and "native-ns/op" (the filter's time in
// the native emulator, an indication only: it includes the emulator's
// goroutine hand-offs). The same Go code runs in
// the wasm VM, so these are the guest heap allocations per request.
func BenchmarkRequest(b *testing.B, vm types.VMContext, config string, opts []Option, req [][2]string) {
	start := func(vm types.VMContext, config string) (proxytest.HostEmulator, func()) {
		o := proxytest.NewEmulatorOption().WithVMContext(vm).WithPluginConfiguration([]byte(config))
		for _, f := range opts {
			f(o)
		}
		host, release := proxytest.NewHostEmulator(o)
		host.StartVM()
		if host.StartPlugin() != types.OnPluginStartStatusOK {
			b.Fatalf("plugin failed to start: %v", Logs(host))
		}
		for range 100 { // warm caches (metric ids, peers, verdicts)
			Exchange(host, req, "200")
		}
		return host, release
	}
	measure := func(host proxytest.HostEmulator) (allocs, bytes, ns float64) {
		var m0, m1 runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&m0)
		t0 := time.Now()
		for range b.N {
			Exchange(host, req, "200")
		}
		d := time.Since(t0)
		runtime.ReadMemStats(&m1)
		n := float64(b.N)
		return float64(m1.Mallocs-m0.Mallocs) / n, float64(m1.TotalAlloc-m0.TotalAlloc) / n, float64(d.Nanoseconds()) / n
	}
	noop, r1 := start(&noopVM{}, "")
	defer r1()
	filter, r2 := start(vm, config)
	defer r2()
	b.ResetTimer()
	ba, bb, bn := measure(noop)
	fa, fb, fn := measure(filter)
	b.ReportMetric(max(fa-ba, 0), "guest-allocs/op")
	b.ReportMetric(max(fb-bb, 0), "guest-B/op")
	b.ReportMetric(max(fn-bn, 0), "native-ns/op")
}
