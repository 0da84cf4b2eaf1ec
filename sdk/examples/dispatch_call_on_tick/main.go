// Command dispatch_call_on_tick makes an HTTP callout from the plugin
// context on every tick, without any HTTP stream.
//
// Every 100 ms it calls the "web_service" cluster, alternating the path
// between /ok and /fail, and logs each answer with its status.
package main

import (
	"errors"

	"github.com/wasmctl/wasmctl/sdk/proxywasm"
	"github.com/wasmctl/wasmctl/sdk/proxywasm/types"
)

const (
	tickMilliseconds uint32 = 100
	clusterName             = "web_service"
)

func main() {}

func init() { proxywasm.SetVMContext(&vmContext{}) }

type vmContext struct {
	types.DefaultVMContext
}

// NewPluginContext implements types.VMContext.
func (*vmContext) NewPluginContext(contextID uint32) types.PluginContext {
	return &pluginContext{contextID: contextID}
}

type pluginContext struct {
	types.DefaultPluginContext
	contextID uint32
	calls     int // callouts dispatched so far
}

// OnPluginStart implements types.PluginContext.
func (ctx *pluginContext) OnPluginStart(int) types.OnPluginStartStatus {
	if err := proxywasm.SetTickPeriodMilliSeconds(tickMilliseconds); err != nil {
		proxywasm.LogCriticalf("failed to set tick period: %v", err)
		return types.OnPluginStartStatusFailed
	}
	proxywasm.LogInfof("set tick period milliseconds: %d", tickMilliseconds)
	return types.OnPluginStartStatusOK
}

// OnTick implements types.PluginContext.
func (ctx *pluginContext) OnTick() {
	path := "/ok"
	if ctx.calls%2 == 1 {
		path = "/fail"
	}
	headers := [][2]string{
		{":method", "GET"}, {":authority", "some_authority"}, {":path", path}, {"accept", "*/*"},
	}
	n := ctx.calls + 1
	if _, err := proxywasm.DispatchHttpCall(clusterName, headers, nil, nil, 5000, func(numHeaders, bodySize, numTrailers int) {
		status := "unknown"
		hs, err := proxywasm.GetHttpCallResponseHeaders()
		if err != nil && !errors.Is(err, types.ErrorStatusNotFound) {
			proxywasm.LogErrorf("failed to get the response headers of call %d: %v", n, err)
		}
		for _, h := range hs {
			if h[0] == ":status" {
				status = h[1]
			}
		}
		proxywasm.LogInfof("call %d to %s answered %s (%d headers, %d body bytes) in context %d",
			n, path, status, numHeaders, bodySize, ctx.contextID)
	}); err != nil {
		proxywasm.LogCriticalf("dispatch httpcall failed: %v", err)
		return
	}
	ctx.calls++
}
