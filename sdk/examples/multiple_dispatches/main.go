// Command multiple_dispatches pauses a response until several HTTP callouts
// have all answered.
//
// On the response headers it dispatches totalDispatchNum callouts to the
// "httpbin" cluster and pauses the response. Each answer is counted; the
// last one resumes the response.
package main

import (
	"github.com/wasmctl/wasmctl/sdk/proxywasm"
	"github.com/wasmctl/wasmctl/sdk/proxywasm/types"
)

// totalDispatchNum is the number of callouts made per response.
const totalDispatchNum = 10

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
	return &httpContext{contextID: contextID}
}

type httpContext struct {
	types.DefaultHttpContext
	contextID uint32
	// pending counts the callouts that have not answered yet.
	pending int
}

// OnHttpResponseHeaders implements types.HttpContext.
func (ctx *httpContext) OnHttpResponseHeaders(int, bool) types.Action {
	headers := [][2]string{{":method", "GET"}, {":authority", "some_authority"}, {":path", "/uuid"}, {"accept", "*/*"}}
	for i := 0; i < totalDispatchNum; i++ {
		if _, err := proxywasm.DispatchHttpCall("httpbin", headers, nil, nil, 50000, ctx.dispatchCallback); err != nil {
			proxywasm.LogCriticalf("dispatch httpcall failed: %v", err)
			continue
		}
		ctx.pending++
	}
	if ctx.pending == 0 {
		return types.ActionContinue
	}
	proxywasm.LogInfof("pending dispatched requests: %d", ctx.pending)
	return types.ActionPause
}

// dispatchCallback runs in the context of the paused stream.
func (ctx *httpContext) dispatchCallback(numHeaders, bodySize, numTrailers int) {
	ctx.pending--
	if ctx.pending > 0 {
		proxywasm.LogInfof("pending dispatched requests: %d", ctx.pending)
		return
	}
	proxywasm.LogInfof("response resumed after processed %d dispatched request", totalDispatchNum)
	if err := proxywasm.ResumeHttpResponse(); err != nil {
		proxywasm.LogCriticalf("failed to resume the response: %v", err)
	}
}
