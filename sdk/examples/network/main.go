// Command network is a TCP (L4) filter: it logs the bytes flowing in both
// directions, the upstream's address and location metadata, and counts
// finished connections in the counter "proxy_wasm_go.connection_counter".
package main

import (
	"errors"

	"github.com/wasmctl/wasmctl/sdk/proxywasm"
	"github.com/wasmctl/wasmctl/sdk/proxywasm/types"
)

const connectionCounterName = "proxy_wasm_go.connection_counter"

func main() {}

func init() { proxywasm.SetVMContext(&vmContext{}) }

type vmContext struct {
	types.DefaultVMContext
}

// NewPluginContext implements types.VMContext.
func (*vmContext) NewPluginContext(uint32) types.PluginContext { return &pluginContext{} }

type pluginContext struct {
	types.DefaultPluginContext
	counter proxywasm.MetricCounter
}

// OnPluginStart implements types.PluginContext.
func (ctx *pluginContext) OnPluginStart(int) types.OnPluginStartStatus {
	ctx.counter = proxywasm.DefineCounterMetric(connectionCounterName)
	return types.OnPluginStartStatusOK
}

// NewTcpContext implements types.PluginContext.
func (ctx *pluginContext) NewTcpContext(contextID uint32) types.TcpContext {
	return &networkContext{contextID: contextID, counter: ctx.counter}
}

type networkContext struct {
	types.DefaultTcpContext
	contextID uint32
	counter   proxywasm.MetricCounter
}

// OnNewConnection implements types.TcpContext.
func (ctx *networkContext) OnNewConnection() types.Action {
	proxywasm.LogInfof("new connection: %d", ctx.contextID)
	return types.ActionContinue
}

// OnDownstreamData implements types.TcpContext.
func (ctx *networkContext) OnDownstreamData(dataSize int, endOfStream bool) types.Action {
	if dataSize == 0 {
		return types.ActionContinue
	}
	data, err := proxywasm.GetDownstreamData(0, dataSize)
	if err != nil && !errors.Is(err, types.ErrorStatusNotFound) {
		proxywasm.LogCriticalf("failed to get downstream data: %v", err)
		return types.ActionContinue
	}
	proxywasm.LogInfof(">>>>>> downstream data received >>>>>>\n%s", data)
	return types.ActionContinue
}

// OnDownstreamClose implements types.TcpContext.
func (ctx *networkContext) OnDownstreamClose(types.PeerType) {
	proxywasm.LogInfo("downstream connection close!")
}

// OnUpstreamData implements types.TcpContext.
func (ctx *networkContext) OnUpstreamData(dataSize int, endOfStream bool) types.Action {
	if dataSize == 0 {
		return types.ActionContinue
	}
	// upstream.address is a string property ("host:port").
	if addr, err := proxywasm.GetProperty([]string{"upstream", "address"}); err == nil {
		proxywasm.LogInfof("remote address: %s", addr)
	} else {
		proxywasm.LogWarnf("failed to get upstream.address: %v", err)
	}
	// Cluster metadata is a map property.
	if loc, err := proxywasm.GetPropertyMap([]string{"cluster_metadata", "filter_metadata", "location"}); err == nil {
		for _, kv := range loc {
			proxywasm.LogInfof("location %s: %s", kv[0], kv[1])
		}
	} else {
		proxywasm.LogWarnf("failed to get cluster_metadata location: %v", err)
	}
	data, err := proxywasm.GetUpstreamData(0, dataSize)
	if err != nil && !errors.Is(err, types.ErrorStatusNotFound) {
		proxywasm.LogCriticalf("failed to get upstream data: %v", err)
		return types.ActionContinue
	}
	proxywasm.LogInfof("<<<<<< upstream data received <<<<<<\n%s", data)
	return types.ActionContinue
}

// OnStreamDone implements types.TcpContext.
func (ctx *networkContext) OnStreamDone() {
	ctx.counter.Increment(1)
	proxywasm.LogInfof("connection complete: %d", ctx.contextID)
}
