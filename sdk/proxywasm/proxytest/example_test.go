package proxytest_test

import (
	"fmt"

	"github.com/wasmctl/wasmctl/sdk/proxywasm"
	"github.com/wasmctl/wasmctl/sdk/proxywasm/proxytest"
	"github.com/wasmctl/wasmctl/sdk/proxywasm/types"
)

type exampleVM struct{ types.DefaultVMContext }

func (*exampleVM) NewPluginContext(uint32) types.PluginContext { return &examplePlugin{} }

type examplePlugin struct{ types.DefaultPluginContext }

func (*examplePlugin) NewHttpContext(uint32) types.HttpContext { return &exampleHTTP{} }

type exampleHTTP struct{ types.DefaultHttpContext }

func (*exampleHTTP) OnHttpRequestHeaders(int, bool) types.Action {
	if _, err := proxywasm.GetHttpRequestHeader("authorization"); err != nil {
		_ = proxywasm.SendHttpResponse(401, nil, []byte("no credentials"), -1)
		return types.ActionPause
	}
	_ = proxywasm.AddHttpRequestHeader("x-authenticated", "yes")
	return types.ActionContinue
}

// The emulator drives a filter's callbacks and exposes what the filter did.
// Pass proxytest.NewWasmVMContext(wasm) instead of &exampleVM{} to run the
// same steps against the compiled module.
func ExampleNewHostEmulator() {
	host, reset := proxytest.NewHostEmulator(proxytest.NewEmulatorOption().WithVMContext(&exampleVM{}))
	defer reset()
	host.StartVM()
	host.StartPlugin()

	ok := host.InitializeHttpContext()
	fmt.Println(host.CallOnRequestHeaders(ok, [][2]string{{"Authorization", "Bearer x"}}, true))
	fmt.Println(host.GetCurrentRequestHeaders(ok))

	denied := host.InitializeHttpContext()
	fmt.Println(host.CallOnRequestHeaders(denied, nil, true))
	r := host.GetSentLocalResponse(denied)
	fmt.Println(r.StatusCode, string(r.Data))
	// Output:
	// 0
	// [[authorization Bearer x] [x-authenticated yes]]
	// 1
	// 401 no credentials
}
