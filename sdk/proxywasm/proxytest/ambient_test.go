package proxytest_test

import (
	"fmt"
	"testing"

	"github.com/wasmctl/wasmctl/sdk/proxywasm"
	"github.com/wasmctl/wasmctl/sdk/proxywasm/internal/testfilter"
	"github.com/wasmctl/wasmctl/sdk/proxywasm/proxytest"
	"github.com/wasmctl/wasmctl/sdk/proxywasm/types"
)

// TestDirectCallsOutsideCallbacks: as with the original SDK, a test may
// create an emulator and call proxywasm functions directly, outside any
// callback; they act on that emulator. Parallel tests, each with its own
// emulator, do not see each other's, and callbacks of a natively linked
// filter running meanwhile keep acting on theirs.
func TestDirectCallsOutsideCallbacks(t *testing.T) {
	t.Parallel()
	for i := range 4 {
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			t.Parallel()
			want := fmt.Sprintf("/path-%d", i)
			opt := proxytest.NewEmulatorOption().WithVMContext(testfilter.New()).
				WithProperty([]string{"request", "path"}, []byte(want))
			host, reset := proxytest.NewHostEmulator(opt)
			defer reset()
			host.StartPlugin()
			for range 50 {
				v, err := proxywasm.GetProperty([]string{"request", "path"})
				if err != nil || string(v) != want {
					t.Fatalf("GetProperty = %q, %v; want %q", v, err, want)
				}
				// A callback of this emulator's filter in between.
				id := host.InitializeHttpContext()
				host.CallOnRequestHeaders(id, [][2]string{{":path", "/x"}}, true)
				host.CompleteHttpContext(id)
			}
			if err := proxywasm.SetSharedData("direct", []byte(want), 0); err != nil {
				t.Fatal(err)
			}
			if d, _, ok := host.GetSharedData("direct"); !ok || string(d) != want {
				t.Errorf("shared data set directly = %q, %v; want %q", d, ok, want)
			}
			proxywasm.LogInfof("direct %d", i)
			if logs := host.GetInfoLogs(); len(logs) == 0 || logs[len(logs)-1] != fmt.Sprintf("direct %d", i) {
				t.Errorf("info logs end with %q, want the direct log", logs[max(len(logs)-1, 0):])
			}
		})
	}
}

// TestDirectCallsAfterReset: once reset, direct calls find no emulator and
// fail instead of reaching a stale one.
func TestDirectCallsAfterReset(t *testing.T) {
	t.Parallel()
	_, reset := proxytest.NewHostEmulator(proxytest.NewEmulatorOption().
		WithProperty([]string{"k"}, []byte("v")))
	if _, err := proxywasm.GetProperty([]string{"k"}); err != nil {
		t.Fatalf("before reset: %v", err)
	}
	reset()
	if _, err := proxywasm.GetProperty([]string{"k"}); err != types.ErrorInternalFailure {
		t.Errorf("after reset: err = %v, want %v", err, types.ErrorInternalFailure)
	}
}
