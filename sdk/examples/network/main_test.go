package main

import (
	"encoding/binary"
	"fmt"
	"slices"
	"testing"

	"github.com/wasmctl/wasmctl/sdk/proxywasm/proxytest"
	"github.com/wasmctl/wasmctl/sdk/proxywasm/types"
	"github.com/wasmctl/wasmctl/sdk/wasmbuild"
)

// serializeMap encodes pairs the way hosts pass map-valued properties.
func serializeMap(pairs [][2]string) []byte {
	b := binary.LittleEndian.AppendUint32(nil, uint32(len(pairs)))
	for _, p := range pairs {
		b = binary.LittleEndian.AppendUint32(b, uint32(len(p[0])))
		b = binary.LittleEndian.AppendUint32(b, uint32(len(p[1])))
	}
	for _, p := range pairs {
		b = append(append(append(append(b, p[0]...), 0), p[1]...), 0)
	}
	return b
}

func TestNetwork(t *testing.T) {
	vmTest(t, func(t *testing.T, vm types.VMContext) {
		opt := proxytest.NewEmulatorOption().WithVMContext(vm).
			WithProperty([]string{"upstream", "address"}, []byte("10.0.0.1:8080")).
			WithProperty([]string{"cluster_metadata", "filter_metadata", "location"},
				serializeMap([][2]string{{"region", "eu-west"}, {"zone", "b"}}))
		host, reset := proxytest.NewHostEmulator(opt)
		defer reset()
		if got := host.StartPlugin(); got != types.OnPluginStartStatusOK {
			t.Fatalf("StartPlugin() = %v, want OK", got)
		}

		for n := uint64(1); n <= 2; n++ {
			id, action := host.InitializeConnection()
			if action != types.ActionContinue {
				t.Errorf("OnNewConnection = %v, want Continue", action)
			}
			if got := host.CallOnDownstreamData(id, []byte("ping")); got != types.ActionContinue {
				t.Errorf("OnDownstreamData = %v, want Continue", got)
			}
			if got := host.CallOnUpstreamData(id, []byte("pong")); got != types.ActionContinue {
				t.Errorf("OnUpstreamData = %v, want Continue", got)
			}
			host.CloseDownstreamConnection(id)
			host.CompleteConnection(id)

			logs := host.GetInfoLogs()
			for _, want := range []string{
				fmt.Sprintf("new connection: %d", id),
				">>>>>> downstream data received >>>>>>\nping",
				"remote address: 10.0.0.1:8080",
				"location region: eu-west",
				"location zone: b",
				"<<<<<< upstream data received <<<<<<\npong",
				"downstream connection close!",
				fmt.Sprintf("connection complete: %d", id),
			} {
				if !slices.Contains(logs, want) {
					t.Errorf("info logs lack %q:\n%q", want, logs)
				}
			}
			if got, err := host.GetCounterMetric(connectionCounterName); err != nil || got != n {
				t.Errorf("%s = %d, %v; want %d", connectionCounterName, got, err, n)
			}
		}
		if logs := host.GetWarnLogs(); len(logs) != 0 {
			t.Errorf("warn logs: %q", logs)
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
