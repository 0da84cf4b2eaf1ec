package main

import (
	"strings"
	"testing"

	"github.com/wasmctl/wasmctl/sdk/proxywasm/proxytest"
	"github.com/wasmctl/wasmctl/sdk/proxywasm/types"
	"github.com/wasmctl/wasmctl/sdk/wasmbuild"
)

// TestSender runs the sender alone: its emulator shares no store, so there is
// no receiver VM and every enqueue must fail with "not found" while the
// stream goes on unaffected.
func TestSender(t *testing.T) {
	vmTest(t, func(t *testing.T, vm types.VMContext) {
		t.Run("no receiver", func(t *testing.T) {
			opt := proxytest.NewEmulatorOption().WithVMContext(vm).WithPluginConfiguration([]byte("http"))
			host, reset := proxytest.NewHostEmulator(opt)
			defer reset()
			if got := host.StartPlugin(); got != types.OnPluginStartStatusOK {
				t.Fatalf("StartPlugin() = %v, want OK", got)
			}
			id := host.InitializeHttpContext()
			if got := host.CallOnRequestHeaders(id, [][2]string{{"hello", "world"}}, true); got != types.ActionContinue {
				t.Errorf("OnHttpRequestHeaders = %v, want Continue", got)
			}
			if got := host.CallOnResponseHeaders(id, [][2]string{{"server", "x"}}, true); got != types.ActionContinue {
				t.Errorf("OnHttpResponseHeaders = %v, want Continue", got)
			}
			logs := host.GetErrorLogs()
			if len(logs) != 2 || !strings.Contains(logs[0], "http_request_headers") || !strings.Contains(logs[1], "http_response_headers") {
				t.Fatalf("error logs = %q, want one per queue", logs)
			}
			for _, l := range logs {
				if !strings.Contains(l, types.ErrorStatusNotFound.Error()) {
					t.Errorf("error log %q does not say the queue was not found", l)
				}
			}
			if logs := host.GetInfoLogs(); len(logs) != 0 {
				t.Errorf("info logs = %q, want nothing enqueued", logs)
			}
		})
		t.Run("bad config", func(t *testing.T) {
			opt := proxytest.NewEmulatorOption().WithVMContext(vm).WithPluginConfiguration([]byte("grpc"))
			host, reset := proxytest.NewHostEmulator(opt)
			defer reset()
			if got := host.StartPlugin(); got != types.OnPluginStartStatusFailed {
				t.Fatalf("StartPlugin() with config grpc = %v, want Failed", got)
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
