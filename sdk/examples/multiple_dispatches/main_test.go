package main

import (
	"fmt"
	"testing"

	"github.com/wasmctl/wasmctl/sdk/proxywasm/proxytest"
	"github.com/wasmctl/wasmctl/sdk/proxywasm/types"
	"github.com/wasmctl/wasmctl/sdk/wasmbuild"
)

func TestMultipleDispatches(t *testing.T) {
	vmTest(t, func(t *testing.T, vm types.VMContext) {
		host, reset := proxytest.NewHostEmulator(proxytest.NewEmulatorOption().WithVMContext(vm))
		defer reset()
		host.StartPlugin()

		id := host.InitializeHttpContext()
		if got := host.CallOnResponseHeaders(id, [][2]string{{":status", "200"}}, false); got != types.ActionPause {
			t.Fatalf("OnHttpResponseHeaders = %v, want Pause", got)
		}
		callouts := host.GetCalloutAttributesFromContext(id)
		if len(callouts) != totalDispatchNum {
			t.Fatalf("callouts = %d, want %d", len(callouts), totalDispatchNum)
		}
		for i, c := range callouts {
			if c.Upstream != "httpbin" {
				t.Errorf("callout %d goes to %q, want httpbin", i, c.Upstream)
			}
			host.CallOnHttpCallResponse(c.CalloutID, nil, nil, nil)
			got := host.GetCurrentHttpStreamAction(id)
			if i < len(callouts)-1 && got != types.ActionPause {
				t.Fatalf("after %d answers the response is %v, want still paused", i+1, got)
			}
			if i == len(callouts)-1 && got != types.ActionContinue {
				t.Fatalf("after all answers the response is %v, want resumed", got)
			}
		}
		logs := host.GetInfoLogs()
		want := []string{fmt.Sprintf("pending dispatched requests: %d", totalDispatchNum)}
		for n := totalDispatchNum - 1; n > 0; n-- {
			want = append(want, fmt.Sprintf("pending dispatched requests: %d", n))
		}
		want = append(want, fmt.Sprintf("response resumed after processed %d dispatched request", totalDispatchNum))
		if fmt.Sprint(logs) != fmt.Sprint(want) {
			t.Errorf("info logs = %q\nwant %q", logs, want)
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
