package main

import (
	"fmt"
	"slices"
	"testing"

	"github.com/wasmctl/wasmctl/sdk/proxywasm/proxytest"
	"github.com/wasmctl/wasmctl/sdk/proxywasm/types"
	"github.com/wasmctl/wasmctl/sdk/wasmbuild"
)

func TestPostponeRequests(t *testing.T) {
	vmTest(t, func(t *testing.T, vm types.VMContext) {
		host, reset := proxytest.NewHostEmulator(proxytest.NewEmulatorOption().WithVMContext(vm))
		defer reset()
		if got := host.StartPlugin(); got != types.OnPluginStartStatusOK {
			t.Fatalf("StartPlugin() = %v, want OK", got)
		}
		if got := host.GetTickPeriod(); got != tickMilliseconds {
			t.Errorf("tick period = %d, want %d", got, tickMilliseconds)
		}

		a, b := host.InitializeHttpContext(), host.InitializeHttpContext()
		for _, id := range []uint32{a, b} {
			if got := host.CallOnRequestHeaders(id, [][2]string{{":path", "/"}}, true); got != types.ActionPause {
				t.Fatalf("OnHttpRequestHeaders(%d) = %v, want Pause", id, got)
			}
		}
		host.Tick()
		for _, id := range []uint32{a, b} {
			if got := host.GetCurrentHttpStreamAction(id); got != types.ActionContinue {
				t.Errorf("stream %d after the tick is %v, want resumed", id, got)
			}
		}
		logs := host.GetInfoLogs()
		for _, want := range []string{
			fmt.Sprintf("postponing request in context %d", a),
			fmt.Sprintf("resumed request in context %d", a),
			fmt.Sprintf("resumed request in context %d", b),
		} {
			if !slices.Contains(logs, want) {
				t.Errorf("info logs %q lack %q", logs, want)
			}
		}

		// A later request waits for the next tick; earlier ones are not resumed twice.
		c := host.InitializeHttpContext()
		host.CallOnRequestHeaders(c, nil, true)
		if got := host.GetCurrentHttpStreamAction(c); got != types.ActionPause {
			t.Errorf("new stream before the tick is %v, want paused", got)
		}
		n := len(host.GetInfoLogs())
		host.Tick()
		if got := host.GetCurrentHttpStreamAction(c); got != types.ActionContinue {
			t.Errorf("new stream after the tick is %v, want resumed", got)
		}
		if logs := host.GetInfoLogs()[n:]; len(logs) != 1 {
			t.Errorf("second tick logged %q, want exactly one resume", logs)
		}
	})
}

// vmTest runs f natively against vmContext and against the compiled module.
func vmTest(t *testing.T, f func(*testing.T, types.VMContext)) {
	t.Helper()
	t.Run("go", func(t *testing.T) { f(t, &vmContext{}) })
	t.Run("wasm", func(t *testing.T) {
		vm, err := proxytest.NewWasmVMContext(wasmbuild.ForTest(t, "."))
		if err != nil {
			t.Fatal(err)
		}
		defer vm.Close()
		f(t, vm)
	})
}
