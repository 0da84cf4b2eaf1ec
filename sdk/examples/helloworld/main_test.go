package main

import (
	"strings"
	"testing"

	"github.com/wasmctl/wasmctl/sdk/proxywasm/proxytest"
	"github.com/wasmctl/wasmctl/sdk/proxywasm/types"
	"github.com/wasmctl/wasmctl/sdk/wasmbuild"
)

func TestHelloWorld(t *testing.T) {
	vmTest(t, func(t *testing.T, vm types.VMContext) {
		host, reset := proxytest.NewHostEmulator(proxytest.NewEmulatorOption().WithVMContext(vm))
		defer reset()

		if got := host.StartPlugin(); got != types.OnPluginStartStatusOK {
			t.Fatalf("StartPlugin() = %v, want OK", got)
		}
		if got := host.GetTickPeriod(); got != tickMilliseconds {
			t.Errorf("tick period = %d ms, want %d", got, tickMilliseconds)
		}
		if logs := host.GetInfoLogs(); len(logs) != 1 || logs[0] != "OnPluginStart from Go!" {
			t.Fatalf("info logs after start = %q, want the start message only", logs)
		}

		host.Tick()
		host.Tick()
		logs := host.GetInfoLogs()
		if len(logs) != 3 {
			t.Fatalf("info logs after two ticks = %q, want 3 lines", logs)
		}
		for _, l := range logs[1:] {
			if !strings.HasPrefix(l, "It's ") || !strings.Contains(l, ": random value: ") {
				t.Errorf("tick log %q does not have the expected shape", l)
			}
		}
		if logs[1] == logs[2] {
			t.Errorf("two ticks logged the same line %q; want a fresh time and random value", logs[1])
		}

		// HTTP streams pass through untouched.
		id := host.InitializeHttpContext()
		if got := host.CallOnRequestHeaders(id, [][2]string{{"a", "b"}}, true); got != types.ActionContinue {
			t.Errorf("OnHttpRequestHeaders = %v, want Continue", got)
		}
		host.CompleteHttpContext(id)
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
