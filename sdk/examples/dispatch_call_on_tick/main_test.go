package main

import (
	"fmt"
	"testing"

	"github.com/wasmctl/wasmctl/sdk/proxywasm/proxytest"
	"github.com/wasmctl/wasmctl/sdk/proxywasm/types"
	"github.com/wasmctl/wasmctl/sdk/wasmbuild"
)

func TestDispatchCallOnTick(t *testing.T) {
	vmTest(t, func(t *testing.T, vm types.VMContext) {
		host, reset := proxytest.NewHostEmulator(proxytest.NewEmulatorOption().WithVMContext(vm))
		defer reset()
		if got := host.StartPlugin(); got != types.OnPluginStartStatusOK {
			t.Fatalf("StartPlugin() = %v, want OK", got)
		}
		if got := host.GetTickPeriod(); got != tickMilliseconds {
			t.Fatalf("tick period = %d, want %d", got, tickMilliseconds)
		}

		for i, path := range []string{"/ok", "/fail", "/ok", "/fail"} {
			host.Tick()
			callouts := host.GetCalloutAttributesFromContext(proxytest.PluginContextID)
			if len(callouts) != i+1 {
				t.Fatalf("after %d ticks the plugin made %d callouts, want %d", i+1, len(callouts), i+1)
			}
			c := callouts[i]
			want := [][2]string{{":method", "GET"}, {":authority", "some_authority"}, {":path", path}, {"accept", "*/*"}}
			if c.Upstream != clusterName || fmt.Sprint(c.Headers) != fmt.Sprint(want) {
				t.Errorf("callout %d = %+v, want GET %s on %s", i+1, c, path, clusterName)
			}
			status := "200"
			if path == "/fail" {
				status = "503"
			}
			host.CallOnHttpCallResponse(c.CalloutID, [][2]string{{":status", status}}, nil, []byte("body"))
			logs := host.GetInfoLogs()
			wantLog := fmt.Sprintf("call %d to %s answered %s (1 headers, 4 body bytes) in context %d", i+1, path, status, proxytest.PluginContextID)
			if logs[len(logs)-1] != wantLog {
				t.Errorf("last info log = %q, want %q", logs[len(logs)-1], wantLog)
			}
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
