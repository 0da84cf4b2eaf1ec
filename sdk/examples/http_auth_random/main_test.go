package main

import (
	"slices"
	"testing"

	"github.com/wasmctl/wasmctl/sdk/proxywasm/proxytest"
	"github.com/wasmctl/wasmctl/sdk/proxywasm/types"
	"github.com/wasmctl/wasmctl/sdk/wasmbuild"
)

func TestHttpAuthRandom(t *testing.T) {
	vmTest(t, func(t *testing.T, vm types.VMContext) {
		host, reset := proxytest.NewHostEmulator(proxytest.NewEmulatorOption().WithVMContext(vm))
		defer reset()
		host.StartPlugin()

		for _, tc := range []struct {
			name, body string // fnv32a("allow") is even, fnv32a("deny") is odd
			granted    bool
		}{
			{"granted", "allow", true},
			{"forbidden", "deny", false},
		} {
			t.Run(tc.name, func(t *testing.T) {
				id := host.InitializeHttpContext()
				req := [][2]string{{":path", "/get"}, {"key", "value"}}
				if got := host.CallOnRequestHeaders(id, req, false); got != types.ActionPause {
					t.Fatalf("OnHttpRequestHeaders = %v, want Pause while the callout runs", got)
				}
				callouts := host.GetCalloutAttributesFromContext(id)
				if len(callouts) != 1 {
					t.Fatalf("callouts from context %d = %+v, want exactly one", id, callouts)
				}
				c := callouts[0]
				if c.Upstream != "httpbin" || !slices.Equal(c.Headers, req) || len(c.Body) != 0 {
					t.Errorf("callout = %+v, want the request headers sent to httpbin without a body", c)
				}
				if logs := host.GetInfoLogs(); !slices.Contains(logs, "request header from: key: value") {
					t.Errorf("info logs %q lack the request header", logs)
				}

				host.CallOnHttpCallResponse(c.CalloutID, [][2]string{{"HTTP-Status", "200"}}, nil, []byte(tc.body))
				logs := host.GetInfoLogs()
				if !slices.Contains(logs, "response header from httpbin: http-status: 200") {
					t.Errorf("info logs %q lack the callout response header", logs)
				}
				res := host.GetSentLocalResponse(id)
				if tc.granted {
					if got := host.GetCurrentHttpStreamAction(id); got != types.ActionContinue {
						t.Errorf("stream action after granted callout = %v, want Continue (resumed)", got)
					}
					if res != nil {
						t.Errorf("unexpected local response %+v", res)
					}
					if logs[len(logs)-1] != "access granted" {
						t.Errorf("last info log = %q, want access granted", logs[len(logs)-1])
					}
					return
				}
				if got := host.GetCurrentHttpStreamAction(id); got != types.ActionPause {
					t.Errorf("stream action after forbidden callout = %v, want Pause (never resumed)", got)
				}
				want := [][2]string{{"powered-by", "proxy-wasm-go-sdk!!"}}
				if res == nil || res.StatusCode != 403 || string(res.Data) != "access forbidden" ||
					!slices.Equal(res.Headers, want) || res.GRPCStatus != -1 {
					t.Fatalf("local response = %+v, want 403 access forbidden with %q", res, want)
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
