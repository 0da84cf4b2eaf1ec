// Command postpone_requests holds every request until the next tick.
//
// Each request is paused on its headers and remembered by the plugin. On the
// next tick (every second) the plugin switches to each remembered stream
// with proxywasm.SetEffectiveContext and resumes it.
package main

import (
	"github.com/wasmctl/wasmctl/sdk/proxywasm"
	"github.com/wasmctl/wasmctl/sdk/proxywasm/types"
)

const tickMilliseconds uint32 = 1000

func main() {}

func init() { proxywasm.SetVMContext(&vmContext{}) }

type vmContext struct {
	types.DefaultVMContext
}

// NewPluginContext implements types.VMContext.
func (*vmContext) NewPluginContext(uint32) types.PluginContext { return &pluginContext{} }

type pluginContext struct {
	types.DefaultPluginContext
	postponed []uint32 // ids of the paused HTTP contexts, oldest first
}

// OnPluginStart implements types.PluginContext.
func (ctx *pluginContext) OnPluginStart(int) types.OnPluginStartStatus {
	if err := proxywasm.SetTickPeriodMilliSeconds(tickMilliseconds); err != nil {
		proxywasm.LogCriticalf("failed to set tick period: %v", err)
		return types.OnPluginStartStatusFailed
	}
	return types.OnPluginStartStatusOK
}

// OnTick implements types.PluginContext.
func (ctx *pluginContext) OnTick() {
	for _, id := range ctx.postponed {
		if err := proxywasm.SetEffectiveContext(id); err != nil {
			proxywasm.LogErrorf("context %d is gone: %v", id, err)
			continue
		}
		if err := proxywasm.ResumeHttpRequest(); err != nil {
			proxywasm.LogErrorf("failed to resume context %d: %v", id, err)
			continue
		}
		proxywasm.LogInfof("resumed request in context %d", id)
	}
	ctx.postponed = ctx.postponed[:0]
}

// NewHttpContext implements types.PluginContext.
func (ctx *pluginContext) NewHttpContext(contextID uint32) types.HttpContext {
	return &httpContext{contextID: contextID, plugin: ctx}
}

type httpContext struct {
	types.DefaultHttpContext
	contextID uint32
	plugin    *pluginContext
}

// OnHttpRequestHeaders implements types.HttpContext.
func (ctx *httpContext) OnHttpRequestHeaders(int, bool) types.Action {
	proxywasm.LogInfof("postponing request in context %d", ctx.contextID)
	ctx.plugin.postponed = append(ctx.plugin.postponed, ctx.contextID)
	return types.ActionPause
}
