package internal

import (
	"strings"
	"testing"

	"github.com/wasmctl/wasmctl/sdk/proxywasm/types"
)

// recordingHost is a Host that records logs and answers header reads; the
// other methods come from the embedded nil interface and must not be called.
type recordingHost struct {
	Host
	logs []string
}

func (h *recordingHost) ProxyLog(level LogLevel, msg string) Status {
	h.logs = append(h.logs, level.String()+": "+msg)
	return StatusOK
}

func (h *recordingHost) ProxyAddHeaderMapValue(MapType, string, string) Status { return StatusOK }

type testVM struct{ types.DefaultVMContext }

func (*testVM) NewPluginContext(uint32) types.PluginContext { return &testPlugin{} }

type testPlugin struct{ types.DefaultPluginContext }

func (*testPlugin) NewHttpContext(uint32) types.HttpContext { return &testHTTP{} }

type testHTTP struct{ types.DefaultHttpContext }

func (*testHTTP) OnHttpRequestHeaders(int, bool) types.Action {
	ProxyAddHeaderMapValue(MapTypeHttpRequestHeaders, "x-key", "value")
	return types.ActionContinue
}

func (*testHTTP) OnHttpResponseHeaders(int, bool) types.Action { panic("bad filter") }

func withState(t *testing.T, h Host) {
	t.Helper()
	s := NewState(&testVM{})
	s.Host = h
	prev := Swap(s)
	t.Cleanup(func() { Swap(prev) })
	ProxyOnContextCreate(1, 0)
	ProxyOnContextCreate(2, 1)
}

// TestDispatchDoesNotAllocate checks the SDK side of a callback: finding the
// context and calling the user's method, plus adding a header, allocate
// nothing. (The wasm-side proof is TestGuestAllocations in proxytest.)
func TestDispatchDoesNotAllocate(t *testing.T) {
	withState(t, &recordingHost{})
	if n := testing.AllocsPerRun(1000, func() { ProxyOnRequestHeaders(2, 3, true) }); n != 0 {
		t.Errorf("dispatch + add header allocates %v times per call", n)
	}
	if n := testing.AllocsPerRun(1000, func() { ProxyOnRequestTrailers(2, 0) }); n != 0 {
		t.Errorf("no-op dispatch allocates %v times per call", n)
	}
}

func TestPanicIsLoggedAtCriticalThenRepanics(t *testing.T) {
	h := &recordingHost{}
	withState(t, h)
	defer func() {
		r := recover()
		if r != "bad filter" {
			t.Errorf("recovered %v, want the filter's panic value", r)
		}
		if len(h.logs) != 1 || !strings.HasPrefix(h.logs[0], "critical: panic in proxy_on_response_headers: bad filter\n") ||
			!strings.Contains(h.logs[0], "OnHttpResponseHeaders") {
			t.Errorf("logs = %q", h.logs)
		}
	}()
	ProxyOnResponseHeaders(2, 0, false)
	t.Error("no panic")
}

func TestUnknownContextsContinue(t *testing.T) {
	withState(t, &recordingHost{})
	if a := ProxyOnRequestHeaders(99, 1, true); a != types.ActionContinue {
		t.Errorf("unknown HTTP context: %v", a)
	}
	if a := ProxyOnDownstreamData(99, 1, false); a != types.ActionContinue {
		t.Errorf("unknown TCP context: %v", a)
	}
	ProxyOnTick(99)
	ProxyOnHttpCallResponse(1, 42, 0, 0, 0)
	ProxyOnGrpcClose(1, 42, 0)
	ProxyOnDelete(99)
}

type countingVM struct {
	types.DefaultVMContext
	created []*countingHTTP
}

func (vm *countingVM) NewPluginContext(uint32) types.PluginContext { return &countingPlugin{vm: vm} }

type countingPlugin struct {
	types.DefaultPluginContext
	vm *countingVM
}

func (p *countingPlugin) NewHttpContext(uint32) types.HttpContext {
	c := &countingHTTP{}
	p.vm.created = append(p.vm.created, c)
	return c
}

type countingHTTP struct {
	types.DefaultHttpContext
	calls int
}

func (c *countingHTTP) OnHttpRequestTrailers(int) types.Action {
	c.calls++
	return types.ActionPause
}

// TestDeletedContextIsForgotten: after proxy_on_delete a stream's callbacks
// no longer reach its context (even the one dispatched last), and an id the
// host reuses gets the new context.
func TestDeletedContextIsForgotten(t *testing.T) {
	vm := &countingVM{}
	s := NewState(vm)
	s.Host = &recordingHost{}
	prev := Swap(s)
	t.Cleanup(func() { Swap(prev) })
	ProxyOnContextCreate(1, 0)
	ProxyOnContextCreate(2, 1)

	if a := ProxyOnRequestTrailers(2, 0); a != types.ActionPause {
		t.Fatalf("live context: %v, want its Pause", a)
	}
	ProxyOnDelete(2)
	if a := ProxyOnRequestTrailers(2, 0); a != types.ActionContinue {
		t.Errorf("deleted context: %v, want Continue", a)
	}
	ProxyOnContextCreate(2, 1)
	ProxyOnRequestTrailers(2, 0)
	if len(vm.created) != 2 || vm.created[0].calls != 1 || vm.created[1].calls != 1 {
		t.Errorf("calls per created context = %d/%d of %d contexts, want 1 each of 2", vm.created[0].calls, vm.created[len(vm.created)-1].calls, len(vm.created))
	}
}
