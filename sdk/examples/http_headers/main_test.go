package main

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/wasmctl/wasmctl/sdk/proxywasm/proxytest"
	"github.com/wasmctl/wasmctl/sdk/proxywasm/types"
	"github.com/wasmctl/wasmctl/sdk/wasmbuild"
)

func TestHttpHeaders(t *testing.T) {
	vmTest(t, func(t *testing.T, vm types.VMContext) {
		opt := proxytest.NewEmulatorOption().WithVMContext(vm).
			WithPluginConfiguration([]byte(`{"header": "x-wasm-header", "value": "demo-wasm"}`))
		host, reset := proxytest.NewHostEmulator(opt)
		defer reset()
		if got := host.StartPlugin(); got != types.OnPluginStartStatusOK {
			t.Fatalf("StartPlugin() = %v, want OK", got)
		}

		for n := 1; n <= 2; n++ {
			id := host.InitializeHttpContext()
			req := [][2]string{{"key1", "value1"}, {"test", "worst"}}
			if got := host.CallOnRequestHeaders(id, req, false); got != types.ActionContinue {
				t.Errorf("OnHttpRequestHeaders = %v, want Continue", got)
			}
			wantReq := [][2]string{{"key1", "value1"}, {"test", "best"}}
			if got := host.GetCurrentRequestHeaders(id); !slices.Equal(got, wantReq) {
				t.Errorf("request headers = %q, want %q", got, wantReq)
			}

			if got := host.CallOnResponseHeaders(id, [][2]string{{"server", "upstream"}}, false); got != types.ActionContinue {
				t.Errorf("OnHttpResponseHeaders = %v, want Continue", got)
			}
			wantResp := [][2]string{
				{"server", "upstream"},
				{"x-proxy-wasm-go-sdk-example", "http_headers"},
				{"x-proxy-wasm-counter", fmt.Sprint(n)},
				{"x-wasm-header", "demo-wasm"},
			}
			if got := host.GetCurrentResponseHeaders(id); !slices.Equal(got, wantResp) {
				t.Errorf("response %d headers = %q, want %q", n, got, wantResp)
			}
			host.CompleteHttpContext(id)

			logs := host.GetInfoLogs()
			for _, want := range []string{
				"request header --> key1: value1",
				"request header --> test: best",
				"response header <-- x-proxy-wasm-counter: " + fmt.Sprint(n),
				"response header <-- x-wasm-header: demo-wasm",
				fmt.Sprintf("%d finished", id),
			} {
				if !slices.Contains(logs, want) {
					t.Errorf("info logs lack %q:\n%s", want, strings.Join(logs, "\n"))
				}
			}
		}
	})
}

func TestHttpHeaders_Config(t *testing.T) {
	vmTest(t, func(t *testing.T, vm types.VMContext) {
		for _, tc := range []struct {
			name, config string
			want         types.OnPluginStartStatus
		}{
			{"none", "", types.OnPluginStartStatusOK},
			{"not json", "{header", types.OnPluginStartStatusFailed},
			{"no header", `{"value": "v"}`, types.OnPluginStartStatusFailed},
		} {
			t.Run(tc.name, func(t *testing.T) {
				opt := proxytest.NewEmulatorOption().WithVMContext(vm).WithPluginConfiguration([]byte(tc.config))
				host, reset := proxytest.NewHostEmulator(opt)
				defer reset()
				if got := host.StartPlugin(); got != tc.want {
					t.Fatalf("StartPlugin() with %q = %v, want %v", tc.config, got, tc.want)
				}
				if tc.want == types.OnPluginStartStatusFailed {
					if logs := host.GetCriticalLogs(); len(logs) != 1 || !strings.Contains(logs[0], "invalid plugin configuration") {
						t.Errorf("critical logs = %q, want one line naming the invalid configuration", logs)
					}
					return
				}
				id := host.InitializeHttpContext()
				host.CallOnResponseHeaders(id, nil, true)
				want := [][2]string{{"x-proxy-wasm-go-sdk-example", "http_headers"}, {"x-proxy-wasm-counter", "1"}}
				if got := host.GetCurrentResponseHeaders(id); !slices.Equal(got, want) {
					t.Errorf("response headers without config = %q, want %q", got, want)
				}
			})
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
