package proxytest_test

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/wasmctl/wasmctl/sdk/proxywasm/internal"
	"github.com/wasmctl/wasmctl/sdk/proxywasm/internal/testfilter"
	"github.com/wasmctl/wasmctl/sdk/proxywasm/proxytest"
	"github.com/wasmctl/wasmctl/sdk/proxywasm/types"
	"github.com/wasmctl/wasmctl/sdk/wasmbuild"
)

// vmTest runs f twice: against the natively linked test filter and against
// the same filter compiled to wasm and run through wazero.
func vmTest(t *testing.T, f func(t *testing.T, vm types.VMContext)) {
	t.Helper()
	t.Run("go", func(t *testing.T) {
		t.Parallel()
		f(t, testfilter.New())
	})
	t.Run("wasm", func(t *testing.T) {
		t.Parallel()
		vm, err := proxytest.NewWasmVMContext(wasmbuild.ForTest(t, "testdata/filter"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { vm.Close() })
		f(t, vm)
	})
}

func start(t *testing.T, opt *proxytest.EmulatorOption) proxytest.HostEmulator {
	t.Helper()
	host, reset := proxytest.NewHostEmulator(opt)
	t.Cleanup(reset)
	if st := host.StartVM(); st != types.OnVMStartStatusOK {
		t.Fatalf("StartVM = %v", st)
	}
	if st := host.StartPlugin(); st != types.OnPluginStartStatusOK {
		t.Fatalf("StartPlugin = %v, error logs %q", st, host.GetErrorLogs())
	}
	return host
}

func header(hs [][2]string, key string) (string, bool) {
	for _, h := range hs {
		if h[0] == key {
			return h[1], true
		}
	}
	return "", false
}

func hasLog(logs []string, substr string) bool {
	return slices.ContainsFunc(logs, func(l string) bool { return strings.Contains(l, substr) })
}

func request(path string, extra ...[2]string) [][2]string {
	return append([][2]string{{":path", path}, {":method", "GET"}, {":authority", "example.com"}}, extra...)
}

func noErrors(t *testing.T, host proxytest.HostEmulator) {
	t.Helper()
	if logs := host.GetErrorLogs(); len(logs) > 0 {
		t.Errorf("error logs: %q", logs)
	}
	if logs := host.GetCriticalLogs(); len(logs) > 0 {
		t.Errorf("critical logs: %q", logs)
	}
}

func TestHeaders(t *testing.T) {
	vmTest(t, func(t *testing.T, vm types.VMContext) {
		host := start(t, proxytest.NewEmulatorOption().WithVMContext(vm))
		id := host.InitializeHttpContext()
		action := host.CallOnRequestHeaders(id, request("/headers",
			[2]string{"X-Read", "v1"}, [2]string{"x-remove", "gone"}, [2]string{"x-replace", "old"}), true)
		if action != types.ActionContinue {
			t.Fatalf("action = %v", action)
		}
		hs := host.GetCurrentRequestHeaders(id)
		for key, want := range map[string]string{"x-added": "v1", "x-replace": "new", "x-all": "6"} {
			if got, _ := header(hs, key); got != want {
				t.Errorf("header %s = %q, want %q (all: %v)", key, got, want, hs)
			}
		}
		if _, ok := header(hs, "x-remove"); ok {
			t.Errorf("x-remove still present: %v", hs)
		}
		if !hasLog(host.GetInfoLogs(), "7 headers (callback said 6), eos=true") {
			t.Errorf("info logs: %q", host.GetInfoLogs())
		}
		host.CallOnResponseHeaders(id, [][2]string{{":status", "200"}, {"Server", "x"}}, false)
		rs := host.GetCurrentResponseHeaders(id)
		if v, _ := header(rs, "x-path"); v != "/headers" {
			t.Errorf("x-path = %q", v)
		}
		if _, ok := header(rs, "server"); ok {
			t.Errorf("server header not removed: %v", rs)
		}
		host.CallOnRequestTrailers(id, [][2]string{{"a", "b"}})
		if v, _ := header(host.GetCurrentRequestTrailers(id), "x-trailer"); v != "t" {
			t.Errorf("request trailers: %v", host.GetCurrentRequestTrailers(id))
		}
		host.CallOnResponseTrailers(id, [][2]string{{"grpc-status", "0"}})
		if v, _ := header(host.GetCurrentResponseTrailers(id), "x-grpc-status-seen"); v != "0" {
			t.Errorf("response trailers: %v", host.GetCurrentResponseTrailers(id))
		}
		host.CompleteHttpContext(id)
		if !hasLog(host.GetInfoLogs(), fmt.Sprintf("stream %d done: /headers", id)) {
			t.Errorf("no stream-done log: %q", host.GetInfoLogs())
		}
		if n, err := host.GetCounterMetric("testfilter_requests"); err != nil || n != 1 {
			t.Errorf("requests counter = %d, %v", n, err)
		}
		noErrors(t, host)
	})
}

func TestBody(t *testing.T) {
	vmTest(t, func(t *testing.T, vm types.VMContext) {
		host := start(t, proxytest.NewEmulatorOption().WithVMContext(vm))
		id := host.InitializeHttpContext()
		host.CallOnRequestHeaders(id, request("/body"), false)
		if a := host.CallOnRequestBody(id, []byte("hello "), false); a != types.ActionPause {
			t.Fatalf("first chunk action = %v, want pause", a)
		}
		if a := host.CallOnRequestBody(id, []byte("world"), true); a != types.ActionContinue {
			t.Fatalf("last chunk action = %v", a)
		}
		if got := string(host.GetCurrentRequestBody(id)); got != "<HELLO WORLD!" {
			t.Errorf("request body = %q", got)
		}
		host.CallOnResponseBody(id, []byte("resp"), true)
		if got := string(host.GetCurrentResponseBody(id)); got != "resp (filtered)" {
			t.Errorf("response body = %q", got)
		}
		noErrors(t, host)
	})
}

func TestLocalResponse(t *testing.T) {
	vmTest(t, func(t *testing.T, vm types.VMContext) {
		host := start(t, proxytest.NewEmulatorOption().WithVMContext(vm))
		id := host.InitializeHttpContext()
		if a := host.CallOnRequestHeaders(id, request("/local"), true); a != types.ActionPause {
			t.Errorf("action = %v", a)
		}
		r := host.GetSentLocalResponse(id)
		if r == nil {
			t.Fatal("no local response")
		}
		if r.StatusCode != 403 || string(r.Data) != "forbidden" || r.GRPCStatus != -1 {
			t.Errorf("local response = %+v", r)
		}
		if v, _ := header(r.Headers, "x-reason"); v != "denied" {
			t.Errorf("local response headers = %v", r.Headers)
		}
		noErrors(t, host)
	})
}

func TestHttpCallout(t *testing.T) {
	vmTest(t, func(t *testing.T, vm types.VMContext) {
		host := start(t, proxytest.NewEmulatorOption().WithVMContext(vm))
		id := host.InitializeHttpContext()
		if a := host.CallOnRequestHeaders(id, request("/callout"), true); a != types.ActionPause {
			t.Fatalf("action = %v", a)
		}
		attrs := host.GetCalloutAttributesFromContext(id)
		if len(attrs) != 1 {
			t.Fatalf("callouts = %+v", attrs)
		}
		a := attrs[0]
		if a.Upstream != "cluster_a" || string(a.Body) != "ping" {
			t.Errorf("callout = %+v", a)
		}
		if v, _ := header(a.Headers, ":path"); v != "/auth" {
			t.Errorf("callout headers = %v", a.Headers)
		}
		host.CallOnHttpCallResponse(a.CalloutID, [][2]string{{":status", "200"}}, nil, []byte("pong"))
		if act := host.GetCurrentHttpStreamAction(id); act != types.ActionContinue {
			t.Errorf("stream not resumed: %v", act)
		}
		if v, _ := header(host.GetCurrentRequestHeaders(id), "x-callout"); v != "pong" {
			t.Errorf("x-callout = %q; headers %v", v, host.GetCurrentRequestHeaders(id))
		}
		if !hasLog(host.GetInfoLogs(), `callout response: status=200 headers=1 body="pong"`) {
			t.Errorf("info logs: %q", host.GetInfoLogs())
		}
		noErrors(t, host)
	})
}

func TestGrpc(t *testing.T) {
	vmTest(t, func(t *testing.T, vm types.VMContext) {
		host := start(t, proxytest.NewEmulatorOption().WithVMContext(vm))
		ok := host.InitializeHttpContext()
		host.CallOnRequestHeaders(ok, request("/grpc"), true)
		calls := host.GetGrpcCalls(ok)
		if len(calls) != 1 || calls[0].Service != "pkg.Svc" || calls[0].Method != "Get" || string(calls[0].Message) != "req" || calls[0].Stream {
			t.Fatalf("grpc calls = %+v", calls)
		}
		host.CallOnGrpcReceive(calls[0].CallID, []byte("resp"))
		if a := host.GetCurrentHttpStreamAction(ok); a != types.ActionContinue {
			t.Errorf("not resumed: %v", a)
		}
		failed := host.InitializeHttpContext()
		host.CallOnRequestHeaders(failed, request("/grpc"), true)
		host.CallOnGrpcClose(host.GetGrpcCalls(failed)[0].CallID, 14, "unavailable")
		if r := host.GetSentLocalResponse(failed); r == nil || r.StatusCode != 503 || r.GRPCStatus != 14 {
			t.Errorf("local response after failed call = %+v", r)
		}
		st := host.InitializeHttpContext()
		host.CallOnRequestHeaders(st, request("/grpc-stream"), true)
		s := host.GetGrpcCalls(st)[0]
		if !s.Stream || len(s.Sent) != 2 || string(s.Sent[1]) != "two" || !s.EndStream {
			t.Errorf("stream = %+v", s)
		}
		host.CallOnGrpcReceiveInitialMetadata(s.CallID, [][2]string{{"a", "1"}})
		host.CallOnGrpcReceive(s.CallID, []byte("m1"))
		host.CallOnGrpcReceiveTrailingMetadata(s.CallID, [][2]string{{"grpc-status", "0"}})
		host.CallOnGrpcClose(s.CallID, 0, "")
		logs := host.GetInfoLogs()
		for _, want := range []string{`grpc message: "resp"`, "grpc closed: 14 unavailable", "stream initial metadata: [[a 1]]",
			`stream message: "m1"`, "stream trailing metadata: [[grpc-status 0]]", "stream closed: 0"} {
			if !hasLog(logs, want) {
				t.Errorf("missing log %q in %q", want, logs)
			}
		}
		noErrors(t, host)
	})
}

func TestSharedDataQueueMetricsProperties(t *testing.T) {
	vmTest(t, func(t *testing.T, vm types.VMContext) {
		md := internal.SerializeMap([][2]string{{"zone", "z1"}})
		host := start(t, proxytest.NewEmulatorOption().WithVMContext(vm).
			WithProperty([]string{"node", "id"}, []byte("node-1")).
			WithProperty([]string{"node", "metadata"}, md))
		host.RegisterForeignFunction("reverse", func(b []byte) []byte {
			slices.Reverse(b)
			return b
		})
		for i := 0; i < 3; i++ {
			id := host.InitializeHttpContext()
			host.CallOnRequestHeaders(id, request("/shared"), true)
		}
		v, cas, ok := host.GetSharedData("counter")
		if !ok || binary.LittleEndian.Uint64(v) != 3 || cas == 0 {
			t.Errorf("shared counter = %v %d %v", v, cas, ok)
		}
		id := host.InitializeHttpContext()
		host.CallOnRequestHeaders(id, request("/queue"), true)
		if n := host.GetQueueSize(0); n != 0 {
			t.Errorf("queue not drained by OnQueueReady: %d", n)
		}
		if !hasLog(host.GetInfoLogs(), fmt.Sprintf("dequeued: hello from %d", id)) {
			t.Errorf("no dequeue log: %q", host.GetInfoLogs())
		}
		id = host.InitializeHttpContext()
		host.CallOnRequestHeaders(id, request("/metrics"), true)
		if !hasLog(host.GetInfoLogs(), "metrics: requests=5 gauge=7 hist=42") {
			t.Errorf("metrics log: %q", host.GetInfoLogs())
		}
		if g, err := host.GetGaugeMetric("testfilter_gauge"); err != nil || g != 7 {
			t.Errorf("gauge = %d, %v", g, err)
		}
		if h, err := host.GetHistogramMetric("testfilter_sizes"); err != nil || h != 42 {
			t.Errorf("histogram = %d, %v", h, err)
		}
		if _, err := host.GetCounterMetric("testfilter_gauge"); err == nil {
			t.Error("a gauge read as a counter must fail")
		}
		id = host.InitializeHttpContext()
		host.CallOnRequestHeaders(id, request("/property"), true)
		if !hasLog(host.GetInfoLogs(), "node.id=node-1 err=<nil>") || !hasLog(host.GetInfoLogs(), "node.metadata=[[zone z1]] err=<nil>") {
			t.Errorf("property logs: %q", host.GetInfoLogs())
		}
		if v, err := host.GetProperty([]string{"filter", "seen"}); err != nil || string(v) != "yes" {
			t.Errorf("property set by filter = %q, %v", v, err)
		}
		id = host.InitializeHttpContext()
		host.CallOnRequestHeaders(id, request("/foreign"), true)
		if !hasLog(host.GetInfoLogs(), "foreign: cba <nil>") {
			t.Errorf("foreign logs: %q", host.GetInfoLogs())
		}
		host.CallOnForeignFunction(7, []byte("args"))
		if !hasLog(host.GetInfoLogs(), `foreign function 7 called with "args" (4 bytes, err=<nil>)`) {
			t.Errorf("on_foreign_function logs: %q", host.GetInfoLogs())
		}
		id = host.InitializeHttpContext()
		host.CallOnRequestHeaders(id, request("/loglevel"), true)
		if !hasLog(host.GetInfoLogs(), "log level 0 <nil>, time>0 true <nil>") {
			t.Errorf("log level logs: %q", host.GetInfoLogs())
		}
		id = host.InitializeHttpContext()
		host.CallOnRequestHeaders(id, request("/close"), true)
		if got := host.GetClosedStreams(id); !slices.Equal(got, []string{"request"}) {
			t.Errorf("closed streams = %v", got)
		}
		noErrors(t, host)
	})
}

func TestTickAndEffectiveContext(t *testing.T) {
	vmTest(t, func(t *testing.T, vm types.VMContext) {
		host := start(t, proxytest.NewEmulatorOption().WithVMContext(vm))
		if p := host.GetTickPeriod(); p != 100 {
			t.Errorf("tick period = %d", p)
		}
		id := host.InitializeHttpContext()
		if a := host.CallOnRequestHeaders(id, request("/pause"), true); a != types.ActionPause {
			t.Fatalf("action = %v", a)
		}
		host.Tick()
		if a := host.GetCurrentHttpStreamAction(id); a != types.ActionContinue {
			t.Errorf("tick did not resume the stream: %v", a)
		}
		if v, _ := header(host.GetCurrentRequestHeaders(id), "x-resumed-by"); v != "tick" {
			t.Errorf("headers after tick: %v", host.GetCurrentRequestHeaders(id))
		}
		if g, _ := host.GetGaugeMetric("testfilter_ticks"); g != 1 {
			t.Errorf("ticks gauge = %d", g)
		}
		noErrors(t, host)
	})
}

func TestTCP(t *testing.T) {
	vmTest(t, func(t *testing.T, vm types.VMContext) {
		host := start(t, proxytest.NewEmulatorOption().WithVMContext(vm).WithPluginConfiguration([]byte("tcp")))
		id, action := host.InitializeConnection()
		if action != types.ActionContinue {
			t.Fatalf("OnNewConnection = %v", action)
		}
		if a := host.CallOnDownstreamData(id, []byte("hel")); a != types.ActionPause {
			t.Errorf("partial line action = %v", a)
		}
		if a := host.CallOnDownstreamData(id, []byte("lo\n")); a != types.ActionContinue {
			t.Errorf("full line action = %v", a)
		}
		if got := string(host.GetCurrentDownstreamData(id)); got != ">hello\n<" {
			t.Errorf("downstream data = %q", got)
		}
		host.CallOnUpstreamData(id, []byte("ok"))
		if got := string(host.GetCurrentUpstreamData(id)); got != "OK" {
			t.Errorf("upstream data = %q", got)
		}
		host.CloseDownstreamConnection(id)
		host.CloseUpstreamConnection(id)
		host.CompleteConnection(id)
		logs := host.GetInfoLogs()
		for _, want := range []string{"new connection", "downstream closed", "upstream closed", "connection done"} {
			if !hasLog(logs, want) {
				t.Errorf("missing %q in %q", want, logs)
			}
		}
		noErrors(t, host)
	})
}

func TestRootOnly(t *testing.T) {
	vmTest(t, func(t *testing.T, vm types.VMContext) {
		host := start(t, proxytest.NewEmulatorOption().WithVMContext(vm).WithPluginConfiguration([]byte("root-only")))
		// A plugin without stream contexts: stream callbacks are answered
		// with Continue instead of crashing the VM.
		id := host.InitializeHttpContext()
		if a := host.CallOnRequestHeaders(id, request("/headers"), true); a != types.ActionContinue {
			t.Errorf("action = %v", a)
		}
		host.CompleteHttpContext(id)
		cid, a := host.InitializeConnection()
		if a != types.ActionContinue {
			t.Errorf("connection action = %v", a)
		}
		host.CompleteConnection(cid)
		host.Tick()
		if !hasLog(host.GetInfoLogs(), "tick 1") {
			t.Errorf("info logs: %q", host.GetInfoLogs())
		}
		noErrors(t, host)
	})
}

func TestStartFailures(t *testing.T) {
	vmTest(t, func(t *testing.T, vm types.VMContext) {
		host, reset := proxytest.NewHostEmulator(proxytest.NewEmulatorOption().WithVMContext(vm).
			WithVMConfiguration([]byte("fail")).WithPluginConfiguration([]byte("reject")))
		defer reset()
		if st := host.StartVM(); st != types.OnVMStartStatusFailed {
			t.Errorf("StartVM = %v, want failed", st)
		}
		if st := host.StartPlugin(); st != types.OnPluginStartStatusFailed {
			t.Errorf("StartPlugin = %v, want failed", st)
		}
		if !hasLog(host.GetInfoLogs(), "vm config: fail") {
			t.Errorf("info logs: %q", host.GetInfoLogs())
		}
	})
}

func TestPluginDone(t *testing.T) {
	vmTest(t, func(t *testing.T, vm types.VMContext) {
		host := start(t, proxytest.NewEmulatorOption().WithVMContext(vm).WithPluginConfiguration([]byte("linger")))
		if host.FinishVM() {
			t.Error("FinishVM = true, want false for a lingering plugin")
		}
		if host.IsPluginDone() {
			t.Error("plugin done before proxy_done")
		}
	})
}

// TestPanicIsLoggedAndTraps checks that a panic in a callback reaches the
// host as a critical log with the message and the stack, and that the
// callback does not return normally.
func TestPanicIsLoggedAndTraps(t *testing.T) {
	vmTest(t, func(t *testing.T, vm types.VMContext) {
		host := start(t, proxytest.NewEmulatorOption().WithVMContext(vm))
		id := host.InitializeHttpContext()
		func() {
			defer func() {
				if r := recover(); r == nil {
					t.Error("callback returned normally after a panic")
				}
			}()
			host.CallOnRequestHeaders(id, request("/panic"), true)
		}()
		logs := host.GetCriticalLogs()
		if len(logs) != 1 {
			t.Fatalf("critical logs = %q", logs)
		}
		for _, want := range []string{"panic in proxy_on_request_headers", "assignment to entry in nil map", "testfilter.(*httpContext).OnHttpRequestHeaders"} {
			if !strings.Contains(logs[0], want) {
				t.Errorf("critical log lacks %q:\n%s", want, logs[0])
			}
		}
	})
}

// TestParallelEmulators runs many emulators of the natively linked filter
// at once; each must see only its own state.
func TestParallelEmulators(t *testing.T) {
	t.Parallel()
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			host, reset := proxytest.NewHostEmulator(proxytest.NewEmulatorOption().WithVMContext(testfilter.New()))
			defer reset()
			host.StartVM()
			host.StartPlugin()
			for j := range 20 {
				id := host.InitializeHttpContext()
				v := fmt.Sprintf("%d-%d", i, j)
				host.CallOnRequestHeaders(id, request("/shared", [2]string{"x-read", v}), true)
				if got, _ := header(host.GetCurrentRequestHeaders(id), "x-added"); got != v {
					t.Errorf("emulator %d saw %q, want %q", i, got, v)
				}
				host.CompleteHttpContext(id)
			}
			if v, _, _ := host.GetSharedData("counter"); binary.LittleEndian.Uint64(v) != 20 {
				t.Errorf("emulator %d: shared counter %d, want 20", i, binary.LittleEndian.Uint64(v))
			}
		}()
	}
	wg.Wait()
}

func TestNewWasmVMContextRejectsNonProxyWasm(t *testing.T) {
	if _, err := proxytest.NewWasmVMContext([]byte("not wasm")); err == nil {
		t.Error("garbage accepted")
	}
	// The smallest valid module: no allocator export.
	empty := []byte{0, 'a', 's', 'm', 1, 0, 0, 0}
	_, err := proxytest.NewWasmVMContext(empty)
	if err == nil || !strings.Contains(err.Error(), "proxy_on_memory_allocate") {
		t.Errorf("err = %v", err)
	}
	_ = bytes.Equal
}
