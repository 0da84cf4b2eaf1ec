package main

import (
	"testing"

	"github.com/wasmctl/wasmctl/sdk/proxywasm/proxytest"
	"github.com/wasmctl/wasmctl/sdk/proxywasm/types"
	"github.com/wasmctl/wasmctl/sdk/wasmbuild"
)

func TestJSONValidation(t *testing.T) {
	vmTest(t, func(t *testing.T, vm types.VMContext) {
		opt := proxytest.NewEmulatorOption().WithVMContext(vm).
			WithPluginConfiguration([]byte(`{"requiredKeys": ["my_key"]}`))
		host, reset := proxytest.NewHostEmulator(opt)
		defer reset()
		if got := host.StartPlugin(); got != types.OnPluginStartStatusOK {
			t.Fatalf("StartPlugin() = %v, want OK", got)
		}

		for _, tc := range []struct {
			name, contentType string
			body              []string // chunks; nil means headers only
			status            uint32   // 0: passes
			reason            string
		}{
			{name: "no content-type", status: 403, reason: "content-type must be provided"},
			{name: "text", contentType: "text/plain", status: 403, reason: "content-type must be provided"},
			{name: "valid", contentType: "application/json", body: []string{`{"my_key": 1, `, `"other": 2}`}},
			{name: "valid with charset", contentType: "application/json; charset=utf-8", body: []string{`{"my_key": "v"}`}},
			{name: "missing key", contentType: "application/json", body: []string{`{"id": 1}`}, status: 403, reason: "invalid payload"},
			{name: "not json", contentType: "application/json", body: []string{`my_key`}, status: 403, reason: "invalid payload"},
			{name: "array", contentType: "application/json", body: []string{`["my_key"]`}, status: 403, reason: "invalid payload"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				id := host.InitializeHttpContext()
				var hs [][2]string
				if tc.contentType != "" {
					hs = append(hs, [2]string{"content-type", tc.contentType})
				}
				action := host.CallOnRequestHeaders(id, hs, len(tc.body) == 0)
				for i, chunk := range tc.body {
					last := i == len(tc.body)-1
					action = host.CallOnRequestBody(id, []byte(chunk), last)
					if !last && action != types.ActionPause {
						t.Errorf("chunk %d action = %v, want Pause (buffer)", i, action)
					}
				}
				res := host.GetSentLocalResponse(id)
				if tc.status == 0 {
					if action != types.ActionContinue || res != nil {
						t.Errorf("action = %v, local response = %+v; want Continue and no response", action, res)
					}
					return
				}
				if action != types.ActionPause {
					t.Errorf("action = %v, want Pause after a local response", action)
				}
				if res == nil || res.StatusCode != tc.status || string(res.Data) != tc.reason {
					t.Errorf("local response = %+v, want %d %q", res, tc.status, tc.reason)
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
