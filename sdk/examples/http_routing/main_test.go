package main

import (
	"fmt"
	"slices"
	"testing"

	"github.com/wasmctl/wasmctl/sdk/proxywasm/proxytest"
	"github.com/wasmctl/wasmctl/sdk/proxywasm/types"
	"github.com/wasmctl/wasmctl/sdk/wasmbuild"
)

func TestHttpRouting(t *testing.T) {
	vmTest(t, func(t *testing.T, vm types.VMContext) {
		for _, tc := range []struct {
			dice      byte
			authority string
		}{
			{1, "example.com"},
			{2, "example.com-canary"},
			{255, "example.com"},
			{0, "example.com-canary"},
		} {
			t.Run(fmt.Sprint(tc.dice), func(t *testing.T) {
				opt := proxytest.NewEmulatorOption().WithVMContext(vm).WithPluginConfiguration([]byte{tc.dice})
				host, reset := proxytest.NewHostEmulator(opt)
				defer reset()
				if got := host.StartPlugin(); got != types.OnPluginStartStatusOK {
					t.Fatalf("StartPlugin() = %v, want OK", got)
				}
				id := host.InitializeHttpContext()
				hs := [][2]string{{":authority", "example.com"}, {":path", "/"}}
				if got := host.CallOnRequestHeaders(id, hs, true); got != types.ActionContinue {
					t.Errorf("OnHttpRequestHeaders = %v, want Continue", got)
				}
				want := [][2]string{{":authority", tc.authority}, {":path", "/"}}
				if got := host.GetCurrentRequestHeaders(id); !slices.Equal(got, want) {
					t.Errorf("dice %d: request headers = %q, want %q", tc.dice, got, want)
				}
			})
		}
		// Without a fixed die both routes occur.
		t.Run("random", func(t *testing.T) {
			host, reset := proxytest.NewHostEmulator(proxytest.NewEmulatorOption().WithVMContext(vm))
			defer reset()
			host.StartPlugin()
			seen := map[string]int{}
			for range 64 {
				id := host.InitializeHttpContext()
				host.CallOnRequestHeaders(id, [][2]string{{":authority", "a"}}, true)
				seen[host.GetCurrentRequestHeaders(id)[0][1]]++
			}
			// The chance that 64 fair rolls all land on one side is 2^-63.
			if seen["a"] == 0 || seen["a-canary"] == 0 || len(seen) != 2 {
				t.Errorf("authorities over 64 requests = %v, want both a and a-canary", seen)
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
