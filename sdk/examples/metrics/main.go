// Command metrics counts requests by the value of a request header.
//
// For every request that carries "my-custom-header: V" it increments the
// counter "custom_header_value_counts_value=V_reporter=wasmgosdk" (Envoy's
// stats tag extraction turns the name into the tags value=V and
// reporter=wasmgosdk). Counters are defined once per name and cached.
package main

import (
	"errors"
	"fmt"

	"github.com/wasmctl/wasmctl/sdk/proxywasm"
	"github.com/wasmctl/wasmctl/sdk/proxywasm/types"
)

const customHeaderKey = "my-custom-header"

func main() {}

func init() { proxywasm.SetVMContext(&vmContext{}) }

type vmContext struct {
	types.DefaultVMContext
}

// NewPluginContext implements types.VMContext.
func (*vmContext) NewPluginContext(uint32) types.PluginContext {
	return &metricPluginContext{counters: map[string]proxywasm.MetricCounter{}}
}

type metricPluginContext struct {
	types.DefaultPluginContext
	counters map[string]proxywasm.MetricCounter
}

// NewHttpContext implements types.PluginContext.
func (ctx *metricPluginContext) NewHttpContext(uint32) types.HttpContext {
	return &metricHttpContext{plugin: ctx}
}

// counterName is the metric name for a header value.
func counterName(value string) string {
	return fmt.Sprintf("custom_header_value_counts_value=%s_reporter=wasmgosdk", value)
}

type metricHttpContext struct {
	types.DefaultHttpContext
	plugin *metricPluginContext
}

// OnHttpRequestHeaders implements types.HttpContext.
func (ctx *metricHttpContext) OnHttpRequestHeaders(int, bool) types.Action {
	value, err := proxywasm.GetHttpRequestHeader(customHeaderKey)
	if err != nil {
		if !errors.Is(err, types.ErrorStatusNotFound) {
			proxywasm.LogErrorf("error reading %s: %v", customHeaderKey, err)
		}
		return types.ActionContinue
	}
	name := counterName(value)
	counter, ok := ctx.plugin.counters[name]
	if !ok {
		counter = proxywasm.DefineCounterMetric(name)
		ctx.plugin.counters[name] = counter
	}
	counter.Increment(1)
	proxywasm.LogInfof("incremented %s to %d", name, counter.Value())
	return types.ActionContinue
}
