// Command properties enforces a per-route authentication header named in
// the route's metadata.
//
// It reads the property route_metadata.filter_metadata
// ["envoy.filters.http.wasm"].auth. When the route has it, the request must
// carry the header it names; otherwise the filter answers 401 with gRPC
// status 16 (UNAUTHENTICATED). Routes without the property pass.
package main

import (
	"errors"

	"github.com/wasmctl/wasmctl/sdk/proxywasm"
	"github.com/wasmctl/wasmctl/sdk/proxywasm/types"
)

// authPropertyPath is the property naming the required header.
var authPropertyPath = []string{"route_metadata", "filter_metadata", "envoy.filters.http.wasm", "auth"}

func main() {}

func init() { proxywasm.SetVMContext(&vmContext{}) }

type vmContext struct {
	types.DefaultVMContext
}

// NewPluginContext implements types.VMContext.
func (*vmContext) NewPluginContext(uint32) types.PluginContext { return &pluginContext{} }

type pluginContext struct {
	types.DefaultPluginContext
}

// NewHttpContext implements types.PluginContext.
func (*pluginContext) NewHttpContext(contextID uint32) types.HttpContext {
	return &properties{contextID: contextID}
}

type properties struct {
	types.DefaultHttpContext
	contextID uint32
}

// OnHttpRequestHeaders implements types.HttpContext.
func (ctx *properties) OnHttpRequestHeaders(int, bool) types.Action {
	auth, err := proxywasm.GetProperty(authPropertyPath)
	if err != nil {
		if errors.Is(err, types.ErrorStatusNotFound) {
			proxywasm.LogInfo("no auth header for route")
			return types.ActionContinue
		}
		proxywasm.LogCriticalf("failed to read the auth property: %v", err)
		return types.ActionContinue
	}
	proxywasm.LogInfof("auth header is %q", auth)
	if _, err := proxywasm.GetHttpRequestHeader(string(auth)); err != nil {
		proxywasm.LogInfof("request in context %d lacks %q: 401", ctx.contextID, auth)
		if err := proxywasm.SendHttpResponse(401, nil, nil, 16); err != nil {
			proxywasm.LogErrorf("failed to send the 401 response: %v", err)
		}
		return types.ActionPause
	}
	return types.ActionContinue
}
