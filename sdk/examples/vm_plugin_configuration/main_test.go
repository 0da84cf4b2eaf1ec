package main

import (
	"slices"
	"testing"

	"github.com/wasmctl/wasmctl/sdk/proxywasm/proxytest"
	"github.com/wasmctl/wasmctl/sdk/proxywasm/types"
	"github.com/wasmctl/wasmctl/sdk/wasmbuild"
)

func TestConfigurations(t *testing.T) {
	vmTest(t, func(t *testing.T, vm types.VMContext) {
		opt := proxytest.NewEmulatorOption().WithVMContext(vm).
			WithVMConfiguration([]byte(`{"name": "vm configuration"}`)).
			WithPluginConfiguration([]byte(`{"name": "plugin configuration"}`))
		host, reset := proxytest.NewHostEmulator(opt)
		defer reset()
		if got := host.StartVM(); got != types.OnVMStartStatusOK {
			t.Fatalf("StartVM() = %v, want OK", got)
		}
		if got := host.StartPlugin(); got != types.OnPluginStartStatusOK {
			t.Fatalf("StartPlugin() = %v, want OK", got)
		}
		want := []string{
			`vm config (28 bytes): {"name": "vm configuration"}`,
			`plugin config (32 bytes): {"name": "plugin configuration"}`,
		}
		if logs := host.GetInfoLogs(); !slices.Equal(logs, want) {
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
