package proxytest

import (
	"encoding/binary"
	"strings"
	"testing"
	"time"

	"github.com/wasmctl/wasmctl/sdk/proxywasm/internal"
	"github.com/wasmctl/wasmctl/sdk/proxywasm/types"
	"github.com/wasmctl/wasmctl/sdk/wasmbuild"
)

func newWasmEmulator(tb testing.TB, dir, pluginConfig string) (*hostEmulator, *wasmVMContext) {
	tb.Helper()
	vm, err := NewWasmVMContext(wasmbuild.ForTest(tb, dir))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { vm.Close() })
	host, reset := NewHostEmulator(NewEmulatorOption().WithVMContext(vm).WithPluginConfiguration([]byte(pluginConfig)))
	tb.Cleanup(reset)
	_, isBench := tb.(*testing.B)
	host.(*hostEmulator).quiet = isBench
	host.StartVM()
	if st := host.StartPlugin(); st != types.OnPluginStartStatusOK {
		tb.Fatalf("StartPlugin failed: %q", host.GetErrorLogs())
	}
	return host.(*hostEmulator), vm.(*wasmVMContext)
}

// TestMalformedHostData makes the host hand the guest a corrupt map and a
// buffer shorter than announced: the SDK must turn both into errors the
// filter sees, never a panic or a read past its buffer.
func TestMalformedHostData(t *testing.T) {
	t.Parallel()
	host, w := newWasmEmulator(t, "testdata/filter", "")
	id := host.InitializeHttpContext()

	w.corrupt = func(b []byte) []byte {
		if len(b) >= 4 && strings.Contains(string(b), "x-read") {
			b = append([]byte(nil), b...)
			binary.LittleEndian.PutUint32(b, 1000) // count larger than the data
		}
		return b
	}
	host.CallOnRequestHeaders(id, [][2]string{{":path", "/headers"}, {"x-read", "v"}}, true)
	w.corrupt = nil
	if !hasLogT(host.GetErrorLogs(), "headers: error status returned by host: internal failure: proxy-wasm: malformed map data from host") {
		t.Errorf("error logs after a corrupt map: %q", host.GetErrorLogs())
	}

	w.shortBy = 3
	host.CallOnRequestHeaders(id, [][2]string{{":path", "/x"}}, true)
	w.shortBy = 0
	if !hasLogT(host.GetErrorLogs(), ":path: error status returned by host: internal failure") {
		t.Errorf("error logs after a short buffer: %q", host.GetErrorLogs())
	}
	if logs := host.GetCriticalLogs(); len(logs) > 0 {
		t.Errorf("the SDK panicked: %q", logs)
	}
}

func hasLogT(logs []string, s string) bool {
	for _, l := range logs {
		if strings.Contains(l, s) {
			return true
		}
	}
	return false
}

// mallocs returns the guest's runtime.MemStats.Mallocs.
func mallocs(tb testing.TB, w *wasmVMContext) uint64 {
	r, err := w.mod.ExportedFunction("testfilter_mallocs").Call(w.ctx)
	if err != nil {
		tb.Fatal(err)
	}
	return r[0]
}

// TestGuestAllocations counts the guest heap allocations of the SDK in the
// compiled module. Dispatching a callback to a no-op user method must
// allocate nothing; so must replacing and removing headers, adding a
// trailer, logging a constant and incrementing a counter. A callback that
// reads one header and adds one allocates only the value's bytes, through
// the allocator the host calls (which carves small buffers out of 2 KiB
// chunks). So does reading a property.
func TestGuestAllocations(t *testing.T) {
	t.Parallel()
	host, w := newWasmEmulator(t, "testdata/filter", "bench")
	id := host.InitializeHttpContext()
	host.CallOnRequestHeaders(id, [][2]string{{"x-read", "value"}}, true)
	s := host.httpStreams[id]
	base := s.requestHeaders[:1]
	host.active = id // the calls below bypass dispatch

	const n = 200
	overhead := mallocs(t, w)
	overhead = mallocs(t, w) - overhead // what one ReadMemStats call costs

	before := mallocs(t, w)
	for range n {
		w.onRequestTrailers(id, 0)
	}
	if got := mallocs(t, w) - before - overhead; got != 0 {
		t.Errorf("no-op dispatch: %d guest allocations over %d calls, want 0", got, n)
	}

	before = mallocs(t, w)
	for range n {
		s.requestHeaders, s.requestTrailers = base, s.requestTrailers[:0]
		if a := w.onRequestTrailers(id, 1); a != types.ActionContinue {
			t.Fatalf("replace/remove/log/metric callback failed: %v", a)
		}
	}
	if got := mallocs(t, w) - before - overhead; got != 0 {
		t.Errorf("replace + remove header + add trailer + log + counter: %d guest allocations over %d calls, want 0", got, n)
	}

	before = mallocs(t, w)
	for range n {
		s.requestHeaders = base
		if a := w.onRequestHeaders(id, 1, true); a != types.ActionContinue {
			t.Fatalf("bench callback failed: %v", a)
		}
	}
	// The value's bytes come from the allocator's shared chunk for small
	// buffers: n reads of a 5-byte value need ceil(5n/2048) chunks, and the
	// SDK allocates nothing else.
	if got, want := mallocs(t, w)-before-overhead, uint64((5*n+2047)/2048); got > want {
		t.Errorf("read + add header: %d guest allocations over %d calls, want at most %d (the values' bytes)", got, n, want)
	}
	if got := s.requestHeaders; len(got) != 2 || got[1] != [2]string{"x-added", "value"} {
		t.Errorf("headers after the reads: %q, want x-read and x-added: value", got)
	}
	host.properties[string(internal.SerializePropertyPath([]string{"bench", "property"}))] = []byte("value")
	w.onResponseHeaders(id, 0, true) // steady state: the path buffer has grown once
	before = mallocs(t, w)
	for range n {
		if a := w.onResponseHeaders(id, 0, true); a != types.ActionContinue {
			t.Fatalf("property read failed: %v", a)
		}
	}
	if got, want := mallocs(t, w)-before-overhead, uint64((5*n+2047)/2048); got > want {
		t.Errorf("property read: %d guest allocations over %d calls, want at most %d (the values' bytes)", got, n, want)
	}
}

// BenchmarkWasmCallback measures, through wazero and in one run,
// proxy_on_request_headers reading one header and adding one against two
// baselines in the same module:
//
//   - ns/empty-export: an empty exported function (proxy_abi_version_0_2_1),
//     the floor of any call from the host into the guest;
//   - ns/noop-callback: proxy_on_request_trailers dispatched by the SDK to a
//     user method that returns at once (the SDK's context lookup, panic
//     guard and interface call on top of the floor).
//
// It also reports the parts the header callback is made of, so the figures
// can be read as a sum: ns/host-call is an export making one trivial host
// call (proxy_get_log_level) minus the empty export, ns/allocator is a call
// of proxy_on_memory_allocate(5), the re-entry the host makes to hand the
// guest the header's value.
func BenchmarkWasmCallback(b *testing.B) {
	host, w := newWasmEmulator(b, "testdata/filter", "bench")
	id := host.InitializeHttpContext()
	host.CallOnRequestHeaders(id, [][2]string{{"x-read", "value"}}, true)
	s := host.httpStreams[id]
	base := s.requestHeaders[:1]
	host.active = id // the calls below bypass dispatch
	empty := w.mod.ExportedFunction("proxy_abi_version_0_2_1")
	hostCall := w.mod.ExportedFunction("testfilter_host_call")
	var stack [1]uint64
	ctx := w.ctx

	measure := func(f func()) float64 {
		for range 1000 { // warm up: grow the guest heap and the host maps once
			f()
		}
		start := time.Now()
		for range b.N {
			f()
		}
		return float64(time.Since(start).Nanoseconds()) / float64(b.N)
	}
	b.ResetTimer()
	header := measure(func() {
		s.requestHeaders = base
		w.onRequestHeaders(id, 1, true)
	})
	noop := measure(func() { w.onRequestTrailers(id, 0) })
	floor := measure(func() { _ = empty.CallWithStack(ctx, stack[:]) })
	oneCall := measure(func() { _ = hostCall.CallWithStack(ctx, stack[:]) })
	alloc := measure(func() {
		stack[0] = 5
		_ = w.malloc.CallWithStack(ctx, stack[:])
	})
	b.StopTimer()
	b.ReportMetric(header, "ns/read+add")
	b.ReportMetric(noop, "ns/noop-callback")
	b.ReportMetric(floor, "ns/empty-export")
	b.ReportMetric(oneCall-floor, "ns/host-call")
	b.ReportMetric(alloc, "ns/allocator")
	b.ReportMetric(header/noop, "x-noop-callback")
	b.ReportMetric(header/floor, "x-empty-export")
	b.ReportMetric(0, "ns/op")
}

// BenchmarkHelloworldModule reports the size of the helloworld module and
// its linear memory right after _initialize, and the time to instantiate it
// from the compilation cache.
func BenchmarkHelloworldModule(b *testing.B) {
	wasm := wasmbuild.ForTest(b, "testdata/helloworld")
	var pages uint32
	b.ResetTimer()
	for range b.N {
		vm, err := NewWasmVMContext(wasm)
		if err != nil {
			b.Fatal(err)
		}
		pages = vm.(*wasmVMContext).mod.Memory().Size() / 65536
		vm.Close()
	}
	b.ReportMetric(float64(len(wasm)), "module-bytes")
	b.ReportMetric(float64(pages), "pages-after-init")
}

// TestAllocator checks proxy_on_memory_allocate directly: size 0 (which a
// correct host never asks for) returns a valid address instead of trapping,
// and other sizes return distinct non-null addresses.
func TestAllocator(t *testing.T) {
	t.Parallel()
	_, w := newWasmEmulator(t, "testdata/filter", "")
	seen := map[uint64]bool{}
	for _, size := range []uint64{0, 1, 10, 1 << 20} {
		r, err := w.malloc.Call(w.ctx, size)
		if err != nil {
			t.Fatalf("allocate(%d) trapped: %v", size, err)
		}
		if r[0] == 0 || seen[r[0]] {
			t.Errorf("allocate(%d) = %#x", size, r[0])
		}
		seen[r[0]] = true
	}
}
