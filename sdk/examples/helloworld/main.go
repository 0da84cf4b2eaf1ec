// Command helloworld is the smallest useful proxy-wasm filter: it logs when
// the plugin starts, asks the host for a periodic tick and logs on every
// tick. Its HTTP contexts do nothing (types.DefaultHttpContext).
package main

import (
	"math/rand/v2"
	"time"

	"github.com/wasmctl/wasmctl/sdk/proxywasm"
	"github.com/wasmctl/wasmctl/sdk/proxywasm/types"
)

// tickMilliseconds is the period of OnTick requested at plugin start.
const tickMilliseconds uint32 = 1000

func main() {}

func init() { proxywasm.SetVMContext(&vmContext{}) }

// vmContext creates one pluginContext per plugin.
type vmContext struct {
	types.DefaultVMContext
}

// NewPluginContext implements types.VMContext.
func (*vmContext) NewPluginContext(contextID uint32) types.PluginContext {
	return &pluginContext{}
}

type pluginContext struct {
	types.DefaultPluginContext
}

// OnPluginStart implements types.PluginContext.
func (ctx *pluginContext) OnPluginStart(pluginConfigurationSize int) types.OnPluginStartStatus {
	proxywasm.LogInfo("OnPluginStart from Go!")
	if err := proxywasm.SetTickPeriodMilliSeconds(tickMilliseconds); err != nil {
		proxywasm.LogCriticalf("failed to set tick period: %v", err)
		return types.OnPluginStartStatusFailed
	}
	return types.OnPluginStartStatusOK
}

// OnTick implements types.PluginContext.
func (ctx *pluginContext) OnTick() {
	proxywasm.LogInfof("It's %d: random value: %d", time.Now().UnixNano(), rand.Uint64())
}

// NewHttpContext implements types.PluginContext.
func (*pluginContext) NewHttpContext(uint32) types.HttpContext { return &types.DefaultHttpContext{} }
