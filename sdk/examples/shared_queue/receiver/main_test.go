package main

import (
	"testing"

	"github.com/wasmctl/wasmctl/sdk/proxywasm/proxytest"
	"github.com/wasmctl/wasmctl/sdk/proxywasm/types"
	"github.com/wasmctl/wasmctl/sdk/wasmbuild"
)

func TestReceiver(t *testing.T) {
	vmTest(t, func(t *testing.T, vm types.VMContext) {
		t.Run("registers", func(t *testing.T) {
			opt := proxytest.NewEmulatorOption().WithVMContext(vm).WithPluginConfiguration([]byte("http_request_headers"))
			host, reset := proxytest.NewHostEmulator(opt)
			defer reset()
			if got := host.StartPlugin(); got != types.OnPluginStartStatusOK {
				t.Fatalf("StartPlugin() = %v, want OK", got)
			}
			logs := host.GetInfoLogs()
			const prefix = `queue "http_request_headers" registered as queueID=`
			if len(logs) != 1 || len(logs[0]) <= len(prefix) || logs[0][:len(prefix)] != prefix {
				t.Fatalf("info logs = %q, want one line starting %q", logs, prefix)
			}
		})
		t.Run("needs a queue name", func(t *testing.T) {
			host, reset := proxytest.NewHostEmulator(proxytest.NewEmulatorOption().WithVMContext(vm))
			defer reset()
			if got := host.StartPlugin(); got != types.OnPluginStartStatusFailed {
				t.Fatalf("StartPlugin() without configuration = %v, want Failed", got)
			}
			if logs := host.GetCriticalLogs(); len(logs) != 1 {
				t.Errorf("critical logs = %q, want one explanation", logs)
			}
		})
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
