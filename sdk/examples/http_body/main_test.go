package main

import (
	"slices"
	"testing"

	"github.com/wasmctl/wasmctl/sdk/proxywasm/proxytest"
	"github.com/wasmctl/wasmctl/sdk/proxywasm/types"
	"github.com/wasmctl/wasmctl/sdk/wasmbuild"
)

func TestSetBody(t *testing.T) {
	vmTest(t, func(t *testing.T, vm types.VMContext) {
		host, reset := proxytest.NewHostEmulator(proxytest.NewEmulatorOption().WithVMContext(vm))
		defer reset()
		if got := host.StartPlugin(); got != types.OnPluginStartStatusOK {
			t.Fatalf("StartPlugin() = %v, want OK", got)
		}

		t.Run("no content-length", func(t *testing.T) {
			id := host.InitializeHttpContext()
			if got := host.CallOnRequestHeaders(id, [][2]string{{":path", "/"}}, false); got != types.ActionPause {
				t.Errorf("OnHttpRequestHeaders = %v, want Pause", got)
			}
			res := host.GetSentLocalResponse(id)
			if res == nil || res.StatusCode != 400 || string(res.Data) != "content must be provided" || res.GRPCStatus != -1 {
				t.Fatalf("local response = %+v, want 400 \"content must be provided\"", res)
			}
		})

		for _, tc := range []struct {
			op, at, want string
		}{
			{"", "", "[this is replaced body]"},
			{"replace", "request", "[this is replaced body]"},
			{"append", "request", "[original body][this is appended body]"},
			{"prepend", "request", "[this is prepended body][original body]"},
			{"append", "response", "[original body][this is appended body]"},
			{"prepend", "response", "[this is prepended body][original body]"},
			{"replace", "response", "[this is replaced body]"},
		} {
			t.Run(tc.op+"@"+tc.at, func(t *testing.T) {
				id := host.InitializeHttpContext()
				hs := [][2]string{{"content-length", "15"}, {"buffer-replace-at", tc.at}}
				if tc.op != "" {
					hs = append(hs, [2]string{"buffer-operation", tc.op})
				}
				if got := host.CallOnRequestHeaders(id, hs, false); got != types.ActionContinue {
					t.Fatalf("OnHttpRequestHeaders = %v, want Continue", got)
				}
				if res := host.GetSentLocalResponse(id); res != nil {
					t.Fatalf("unexpected local response %+v", res)
				}
				reqHasLength := slices.ContainsFunc(host.GetCurrentRequestHeaders(id), func(h [2]string) bool { return h[0] == "content-length" })
				if reqHasLength != (tc.at == "response") {
					t.Errorf("request keeps content-length = %v, want %v", reqHasLength, tc.at == "response")
				}

				// The body arrives in two chunks: the filter buffers until the end.
				body := host.CallOnRequestBody
				if tc.at == "response" {
					if got := host.CallOnRequestBody(id, []byte("[original body]"), true); got != types.ActionContinue {
						t.Fatalf("OnHttpRequestBody = %v, want Continue", got)
					}
					if got := string(host.GetCurrentRequestBody(id)); got != "[original body]" {
						t.Errorf("request body = %q, want it untouched", got)
					}
					host.CallOnResponseHeaders(id, [][2]string{{"content-length", "15"}}, false)
					if got := host.GetCurrentResponseHeaders(id); len(got) != 0 {
						t.Errorf("response headers = %q, want content-length removed", got)
					}
					body = host.CallOnResponseBody
				}
				if got := body(id, []byte("[original"), false); got != types.ActionPause {
					t.Errorf("first body chunk action = %v, want Pause (buffer)", got)
				}
				if got := body(id, []byte(" body]"), true); got != types.ActionContinue {
					t.Errorf("last body chunk action = %v, want Continue", got)
				}
				current := host.GetCurrentRequestBody(id)
				if tc.at == "response" {
					current = host.GetCurrentResponseBody(id)
				}
				if string(current) != tc.want {
					t.Errorf("body = %q, want %q", current, tc.want)
				}
				what := "request"
				if tc.at == "response" {
					what = "response"
				}
				if logs := host.GetInfoLogs(); !slices.Contains(logs, "original "+what+" body: [original body]") {
					t.Errorf("info logs %q lack the original %s body", logs, what)
				}
			})
		}
	})
}

func TestEchoBody(t *testing.T) {
	vmTest(t, func(t *testing.T, vm types.VMContext) {
		opt := proxytest.NewEmulatorOption().WithVMContext(vm).WithPluginConfiguration([]byte("echo"))
		host, reset := proxytest.NewHostEmulator(opt)
		defer reset()
		if got := host.StartPlugin(); got != types.OnPluginStartStatusOK {
			t.Fatalf("StartPlugin() = %v, want OK", got)
		}
		id := host.InitializeHttpContext()
		host.CallOnRequestHeaders(id, [][2]string{{"content-length", "11"}}, false)
		if got := host.CallOnRequestBody(id, []byte("hello "), false); got != types.ActionPause {
			t.Errorf("first chunk action = %v, want Pause", got)
		}
		if res := host.GetSentLocalResponse(id); res != nil {
			t.Fatalf("local response %+v sent before the end of the body", res)
		}
		host.CallOnRequestBody(id, []byte("world"), true)
		res := host.GetSentLocalResponse(id)
		if res == nil || res.StatusCode != 200 || string(res.Data) != "hello world" {
			t.Fatalf("local response = %+v, want 200 echoing \"hello world\"", res)
		}
	})
}

func TestBadConfig(t *testing.T) {
	vmTest(t, func(t *testing.T, vm types.VMContext) {
		opt := proxytest.NewEmulatorOption().WithVMContext(vm).WithPluginConfiguration([]byte("mirror"))
		host, reset := proxytest.NewHostEmulator(opt)
		defer reset()
		if got := host.StartPlugin(); got != types.OnPluginStartStatusFailed {
			t.Fatalf("StartPlugin() with config \"mirror\" = %v, want Failed", got)
		}
		if logs := host.GetCriticalLogs(); len(logs) != 1 {
			t.Errorf("critical logs = %q, want one line explaining the configuration", logs)
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
