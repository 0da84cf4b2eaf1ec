// Command http_headers rewrites and logs HTTP headers.
//
// On the request it replaces the header "test" with "best" and logs every
// request header. On the response it adds "x-proxy-wasm-go-sdk-example:
// http_headers", a per-plugin response counter "x-proxy-wasm-counter" and,
// when the plugin configuration is the JSON object {"header": H, "value": V},
// the header H: V. An invalid configuration fails the plugin start.
package main

import (
	"encoding/json"
	"errors"
	"strconv"

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

// config is the optional plugin configuration.
type config struct {
	Header string `json:"header"`
	Value  string `json:"value"`
}

type pluginContext struct {
	types.DefaultPluginContext
	cfg       config
	responses uint64 // responses seen by this plugin, sent back as x-proxy-wasm-counter
}

// OnPluginStart implements types.PluginContext.
func (p *pluginContext) OnPluginStart(int) types.OnPluginStartStatus {
	data, err := proxywasm.GetPluginConfiguration()
	if err != nil && !errors.Is(err, types.ErrorStatusNotFound) {
		proxywasm.LogCriticalf("error reading plugin configuration: %v", err)
		return types.OnPluginStartStatusFailed
	}
	if len(data) == 0 {
		return types.OnPluginStartStatusOK
	}
	if err := json.Unmarshal(data, &p.cfg); err != nil {
		proxywasm.LogCriticalf("invalid plugin configuration %q: %v", data, err)
		return types.OnPluginStartStatusFailed
	}
	if p.cfg.Header == "" {
		proxywasm.LogCriticalf("invalid plugin configuration %q: \"header\" must not be empty", data)
		return types.OnPluginStartStatusFailed
	}
	proxywasm.LogInfof("header from config: %s = %s", p.cfg.Header, p.cfg.Value)
	return types.OnPluginStartStatusOK
}

// NewHttpContext implements types.PluginContext.
func (p *pluginContext) NewHttpContext(contextID uint32) types.HttpContext {
	return &httpHeaders{contextID: contextID, plugin: p}
}

type httpHeaders struct {
	types.DefaultHttpContext
	contextID uint32
	plugin    *pluginContext
}

// OnHttpRequestHeaders implements types.HttpContext.
func (ctx *httpHeaders) OnHttpRequestHeaders(int, bool) types.Action {
	if err := proxywasm.ReplaceHttpRequestHeader("test", "best"); err != nil {
		proxywasm.LogCriticalf("failed to set request header test: %v", err)
	}
	hs, err := proxywasm.GetHttpRequestHeaders()
	if err != nil {
		proxywasm.LogCriticalf("failed to get request headers: %v", err)
	}
	for _, h := range hs {
		proxywasm.LogInfof("request header --> %s: %s", h[0], h[1])
	}
	return types.ActionContinue
}

// OnHttpResponseHeaders implements types.HttpContext.
func (ctx *httpHeaders) OnHttpResponseHeaders(int, bool) types.Action {
	ctx.plugin.responses++
	add := [][2]string{
		{"x-proxy-wasm-go-sdk-example", "http_headers"},
		{"x-proxy-wasm-counter", strconv.FormatUint(ctx.plugin.responses, 10)},
	}
	if h := ctx.plugin.cfg.Header; h != "" {
		add = append(add, [2]string{h, ctx.plugin.cfg.Value})
	}
	for _, h := range add {
		if err := proxywasm.AddHttpResponseHeader(h[0], h[1]); err != nil {
			proxywasm.LogCriticalf("failed to add response header %s: %v", h[0], err)
		}
	}
	hs, err := proxywasm.GetHttpResponseHeaders()
	if err != nil {
		proxywasm.LogCriticalf("failed to get response headers: %v", err)
	}
	for _, h := range hs {
		proxywasm.LogInfof("response header <-- %s: %s", h[0], h[1])
	}
	return types.ActionContinue
}

// OnHttpStreamDone implements types.HttpContext.
func (ctx *httpHeaders) OnHttpStreamDone() {
	proxywasm.LogInfof("%d finished", ctx.contextID)
}
