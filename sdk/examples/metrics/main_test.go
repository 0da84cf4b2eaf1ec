package main

import (
	"fmt"
	"testing"

	"github.com/wasmctl/wasmctl/sdk/proxywasm/proxytest"
	"github.com/wasmctl/wasmctl/sdk/proxywasm/types"
	"github.com/wasmctl/wasmctl/sdk/wasmbuild"
)

func TestMetrics(t *testing.T) {
	vmTest(t, func(t *testing.T, vm types.VMContext) {
		host, reset := proxytest.NewHostEmulator(proxytest.NewEmulatorOption().WithVMContext(vm))
		defer reset()
		host.StartPlugin()

		requests := []string{"foo", "bar", "foo", "", "foo"}
		for _, v := range requests {
			id := host.InitializeHttpContext()
			hs := [][2]string{{":path", "/"}}
			if v != "" {
				hs = append(hs, [2]string{customHeaderKey, v})
			}
			if got := host.CallOnRequestHeaders(id, hs, true); got != types.ActionContinue {
				t.Errorf("OnHttpRequestHeaders = %v, want Continue", got)
			}
		}
		for value, want := range map[string]uint64{"foo": 3, "bar": 1} {
			got, err := host.GetCounterMetric(counterName(value))
			if err != nil || got != want {
				t.Errorf("counter for %s = %d, %v; want %d", value, got, err, want)
			}
		}
		if _, err := host.GetCounterMetric(counterName("")); err == nil {
			t.Errorf("a request without %s defined a counter", customHeaderKey)
		}
		logs := host.GetInfoLogs()
		if want := fmt.Sprintf("incremented %s to 3", counterName("foo")); len(logs) != 4 || logs[3] != want {
			t.Errorf("info logs = %q, want 4 lines ending with %q", logs, want)
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
