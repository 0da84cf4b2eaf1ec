// Command http_routing sends about half of the requests to a canary.
//
// For each request it rolls a die; on an even value it appends "-canary" to
// the :authority header, so that the proxy's routes can send the request to a
// canary cluster. A one-byte plugin configuration fixes the die's value,
// which makes the routing decision reproducible in tests.
package main

import (
	"crypto/rand"
	"errors"

	"github.com/wasmctl/wasmctl/sdk/proxywasm"
	"github.com/wasmctl/wasmctl/sdk/proxywasm/types"
)

func main() {}

func init() { proxywasm.SetVMContext(&vmContext{}) }

type vmContext struct {
	types.DefaultVMContext
}

// NewPluginContext implements types.VMContext.
func (*vmContext) NewPluginContext(contextID uint32) types.PluginContext {
	return &pluginContext{}
}

type pluginContext struct {
	types.DefaultPluginContext
	// diceOverride is the fixed die value from the configuration, if any.
	diceOverride    byte
	hasDiceOverride bool
}

// OnPluginStart implements types.PluginContext.
func (p *pluginContext) OnPluginStart(int) types.OnPluginStartStatus {
	data, err := proxywasm.GetPluginConfiguration()
	if err != nil && !errors.Is(err, types.ErrorStatusNotFound) {
		proxywasm.LogCriticalf("error reading plugin configuration: %v", err)
		return types.OnPluginStartStatusFailed
	}
	if len(data) > 0 {
		p.diceOverride, p.hasDiceOverride = data[0], true
	}
	return types.OnPluginStartStatusOK
}

// NewHttpContext implements types.PluginContext.
func (p *pluginContext) NewHttpContext(uint32) types.HttpContext {
	return &httpRouting{plugin: p}
}

type httpRouting struct {
	types.DefaultHttpContext
	plugin *pluginContext
}

func (ctx *httpRouting) dice() byte {
	if ctx.plugin.hasDiceOverride {
		return ctx.plugin.diceOverride
	}
	var b [1]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails on wasip1 or Linux.
	return b[0]
}

// OnHttpRequestHeaders implements types.HttpContext.
func (ctx *httpRouting) OnHttpRequestHeaders(int, bool) types.Action {
	if ctx.dice()%2 != 0 {
		return types.ActionContinue
	}
	authority, err := proxywasm.GetHttpRequestHeader(":authority")
	if err != nil {
		proxywasm.LogCriticalf("failed to get :authority: %v", err)
		return types.ActionContinue
	}
	if err := proxywasm.ReplaceHttpRequestHeader(":authority", authority+"-canary"); err != nil {
		proxywasm.LogCriticalf("failed to set :authority: %v", err)
		return types.ActionContinue
	}
	proxywasm.LogInfof("routed %s to %s-canary", authority, authority)
	return types.ActionContinue
}
