package main

import (
	"bytes"
	"compress/flate"
	"encoding/hex"
	"fmt"
	"testing"

	"github.com/wasmctl/wasmctl/sdk/proxywasm/proxytest"
	"github.com/wasmctl/wasmctl/sdk/proxywasm/types"
	"github.com/wasmctl/wasmctl/sdk/wasmbuild"
)

// compress stands in for the host's foreign function.
func compress(in []byte) []byte {
	var buf bytes.Buffer
	w, _ := flate.NewWriter(&buf, flate.BestCompression)
	_, _ = w.Write(in)
	_ = w.Close()
	return buf.Bytes()
}

func TestForeignCallOnTick(t *testing.T) {
	vmTest(t, func(t *testing.T, vm types.VMContext) {
		host, reset := proxytest.NewHostEmulator(proxytest.NewEmulatorOption().WithVMContext(vm))
		defer reset()
		var params [][]byte
		host.RegisterForeignFunction("compress", func(b []byte) []byte {
			params = append(params, bytes.Clone(b))
			return compress(b)
		})
		if got := host.StartPlugin(); got != types.OnPluginStartStatusOK {
			t.Fatalf("StartPlugin() = %v, want OK", got)
		}
		if got := host.GetTickPeriod(); got != tickMilliseconds {
			t.Errorf("tick period = %d, want %d", got, tickMilliseconds)
		}
		for i := 1; i <= 3; i++ {
			host.Tick()
			logs := host.GetInfoLogs()
			want := fmt.Sprintf("foreign function (compress) called: %d, result: %s", i, hex.EncodeToString(compress([]byte("hello world!"))))
			if len(logs) != i || logs[i-1] != want {
				t.Fatalf("info logs after tick %d = %q, want last %q", i, logs, want)
			}
		}
		if len(params) != 3 || string(params[0]) != "hello world!" {
			t.Errorf("foreign function parameters = %q, want 3 × hello world!", params)
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
