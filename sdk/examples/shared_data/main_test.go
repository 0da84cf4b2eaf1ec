package main

import (
	"fmt"
	"testing"

	"github.com/wasmctl/wasmctl/sdk/proxywasm/proxytest"
	"github.com/wasmctl/wasmctl/sdk/proxywasm/types"
	"github.com/wasmctl/wasmctl/sdk/wasmbuild"
)

func TestSharedData(t *testing.T) {
	vmTest(t, func(t *testing.T, vm types.VMContext) {
		host, reset := proxytest.NewHostEmulator(proxytest.NewEmulatorOption().WithVMContext(vm))
		defer reset()
		if got := host.StartVM(); got != types.OnVMStartStatusOK {
			t.Fatalf("StartVM() = %v, want OK", got)
		}
		if got := host.StartPlugin(); got != types.OnPluginStartStatusOK {
			t.Fatalf("StartPlugin() = %v, want OK", got)
		}

		for i := uint64(1); i <= 10; i++ {
			id := host.InitializeHttpContext()
			if got := host.CallOnRequestHeaders(id, nil, true); got != types.ActionContinue {
				t.Fatalf("OnHttpRequestHeaders = %v, want Continue", got)
			}
			logs := host.GetInfoLogs()
			if want := fmt.Sprintf("shared value: %d", initialValue+i); logs[len(logs)-1] != want {
				t.Fatalf("after request %d the last log is %q, want %q", i, logs[len(logs)-1], want)
			}
		}
		if logs := host.GetCriticalLogs(); len(logs) != 0 {
			t.Errorf("critical logs: %q", logs)
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
