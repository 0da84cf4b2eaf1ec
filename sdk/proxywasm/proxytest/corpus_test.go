package proxytest_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/wasmctl/wasmctl/sdk/proxywasm/proxytest"
	"github.com/wasmctl/wasmctl/sdk/proxywasm/types"
)

// corpus reads a third-party filter binary from ../shared/corpus (next to
// the repository) and skips when the corpus is not there.
func corpus(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "..", "..", "shared", "corpus", name))
	if err != nil {
		t.Skipf("third-party corpus not available (%v); it lives in ../shared/corpus next to the repository", err)
	}
	return b
}

// TestForeignSDKModules runs filters built by other Go SDKs through the
// wazero bridge: a Go 1.24 reactor of proxy-wasm/proxy-wasm-go-sdk (ABI
// 0.2.0) and a TinyGo command module of tetratelabs' SDK v0.20.0.
func TestForeignSDKModules(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		file, header, want string
	}{
		{"roastedroot-java/go-http_headers.wasm", "test", "best"},
		{"mosn-go-host/add-req-header-v2.wasm", "", ""},
	} {
		t.Run(filepath.Base(tc.file), func(t *testing.T) {
			t.Parallel()
			vm, err := proxytest.NewWasmVMContext(corpus(t, tc.file))
			if err != nil {
				t.Fatal(err)
			}
			defer vm.Close()
			host, reset := proxytest.NewHostEmulator(proxytest.NewEmulatorOption().WithVMContext(vm))
			defer reset()
			if host.StartVM() != types.OnVMStartStatusOK || host.StartPlugin() != types.OnPluginStartStatusOK {
				t.Fatalf("start failed: %q", host.GetErrorLogs())
			}
			id := host.InitializeHttpContext()
			before := len([][2]string{{":path", "/"}, {"test", "x"}})
			if a := host.CallOnRequestHeaders(id, [][2]string{{":path", "/"}, {"test", "x"}}, true); a != types.ActionContinue {
				t.Errorf("action = %v", a)
			}
			hs := host.GetCurrentRequestHeaders(id)
			if tc.header != "" {
				if v, _ := header(hs, tc.header); v != tc.want {
					t.Errorf("%s = %q, want %q (%v)", tc.header, v, tc.want, hs)
				}
			} else if len(hs) <= before {
				t.Errorf("no header added: %v", hs)
			}
			host.CompleteHttpContext(id)
		})
	}
}
