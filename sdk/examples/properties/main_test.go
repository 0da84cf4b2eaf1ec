package main

import (
	"slices"
	"testing"

	"github.com/wasmctl/wasmctl/sdk/proxywasm/proxytest"
	"github.com/wasmctl/wasmctl/sdk/proxywasm/types"
	"github.com/wasmctl/wasmctl/sdk/wasmbuild"
)

func TestProperties(t *testing.T) {
	vmTest(t, func(t *testing.T, vm types.VMContext) {
		t.Run("route without auth", func(t *testing.T) {
			host, reset := proxytest.NewHostEmulator(proxytest.NewEmulatorOption().WithVMContext(vm))
			defer reset()
			id := host.InitializeHttpContext()
			if got := host.CallOnRequestHeaders(id, nil, true); got != types.ActionContinue {
				t.Errorf("OnHttpRequestHeaders = %v, want Continue", got)
			}
			if logs := host.GetInfoLogs(); !slices.Equal(logs, []string{"no auth header for route"}) {
				t.Errorf("info logs = %q", logs)
			}
		})
		t.Run("route with auth", func(t *testing.T) {
			opt := proxytest.NewEmulatorOption().WithVMContext(vm).WithProperty(authPropertyPath, []byte("cookie"))
			host, reset := proxytest.NewHostEmulator(opt)
			defer reset()

			id := host.InitializeHttpContext()
			if got := host.CallOnRequestHeaders(id, [][2]string{{"cookie", "a=b"}}, true); got != types.ActionContinue {
				t.Errorf("request with the header: OnHttpRequestHeaders = %v, want Continue", got)
			}
			if res := host.GetSentLocalResponse(id); res != nil {
				t.Errorf("request with the header got local response %+v", res)
			}

			id = host.InitializeHttpContext()
			if got := host.CallOnRequestHeaders(id, [][2]string{{"authorization", "x"}}, true); got != types.ActionPause {
				t.Errorf("request without the header: OnHttpRequestHeaders = %v, want Pause", got)
			}
			res := host.GetSentLocalResponse(id)
			if res == nil || res.StatusCode != 401 || res.GRPCStatus != 16 || len(res.Data) != 0 {
				t.Errorf("local response = %+v, want 401 with gRPC status 16 and no body", res)
			}
			if logs := host.GetInfoLogs(); len(logs) == 0 || logs[0] != `auth header is "cookie"` {
				t.Errorf("info logs = %q, want the header name first", logs)
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
