// Command json_validation lets only well-formed JSON requests through.
//
// The request's content-type must be application/json (otherwise 403
// "content-type must be provided"). The body, once complete, must be a JSON
// object that has every key listed in the plugin configuration
// {"requiredKeys": [...]} (default ["id", "token"]); otherwise the filter
// answers 403 "invalid payload".
package main

import (
	"encoding/json"
	"errors"
	"mime"

	"github.com/wasmctl/wasmctl/sdk/proxywasm"
	"github.com/wasmctl/wasmctl/sdk/proxywasm/types"
)

func main() {}

func init() { proxywasm.SetVMContext(&vmContext{}) }

type vmContext struct {
	types.DefaultVMContext
}

// NewPluginContext implements types.VMContext.
func (*vmContext) NewPluginContext(uint32) types.PluginContext { return &pluginContext{} }

// pluginConfiguration is the JSON plugin configuration.
type pluginConfiguration struct {
	RequiredKeys []string `json:"requiredKeys"`
}

type pluginContext struct {
	types.DefaultPluginContext
	cfg pluginConfiguration
}

// OnPluginStart implements types.PluginContext.
func (p *pluginContext) OnPluginStart(int) types.OnPluginStartStatus {
	p.cfg.RequiredKeys = []string{"id", "token"}
	data, err := proxywasm.GetPluginConfiguration()
	if err != nil && !errors.Is(err, types.ErrorStatusNotFound) {
		proxywasm.LogCriticalf("error reading plugin configuration: %v", err)
		return types.OnPluginStartStatusFailed
	}
	if len(data) == 0 {
		return types.OnPluginStartStatusOK
	}
	var cfg pluginConfiguration
	if err := json.Unmarshal(data, &cfg); err != nil {
		proxywasm.LogCriticalf("invalid plugin configuration: %v", err)
		return types.OnPluginStartStatusFailed
	}
	if cfg.RequiredKeys != nil {
		p.cfg = cfg
	}
	proxywasm.LogInfof("required keys: %q", p.cfg.RequiredKeys)
	return types.OnPluginStartStatusOK
}

// NewHttpContext implements types.PluginContext.
func (p *pluginContext) NewHttpContext(uint32) types.HttpContext {
	return &payloadValidationContext{requiredKeys: p.cfg.RequiredKeys}
}

type payloadValidationContext struct {
	types.DefaultHttpContext
	requiredKeys []string
	bodySize     int
}

// OnHttpRequestHeaders implements types.HttpContext.
func (ctx *payloadValidationContext) OnHttpRequestHeaders(int, bool) types.Action {
	contentType, err := proxywasm.GetHttpRequestHeader("content-type")
	mediaType, _, perr := mime.ParseMediaType(contentType)
	if err != nil || perr != nil || mediaType != "application/json" {
		if err := proxywasm.SendHttpResponse(403, nil, []byte("content-type must be provided"), -1); err != nil {
			proxywasm.LogErrorf("failed to send the 403 response: %v", err)
		}
		return types.ActionPause
	}
	// The body is only read, never changed, so content-length stays valid.
	return types.ActionContinue
}

// OnHttpRequestBody implements types.HttpContext.
func (ctx *payloadValidationContext) OnHttpRequestBody(bodySize int, endOfStream bool) types.Action {
	ctx.bodySize = bodySize
	if !endOfStream {
		return types.ActionPause
	}
	body, err := proxywasm.GetHttpRequestBody(0, ctx.bodySize)
	if err != nil && !errors.Is(err, types.ErrorStatusNotFound) {
		proxywasm.LogErrorf("failed to get request body: %v", err)
		return types.ActionContinue
	}
	if !ctx.validatePayload(body) {
		if err := proxywasm.SendHttpResponse(403, nil, []byte("invalid payload"), -1); err != nil {
			proxywasm.LogErrorf("failed to send the 403 response: %v", err)
		}
		return types.ActionPause
	}
	return types.ActionContinue
}

// validatePayload reports whether body is a JSON object with every required key.
func (ctx *payloadValidationContext) validatePayload(body []byte) bool {
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(body, &obj); err != nil {
		proxywasm.LogErrorf("body is not a JSON object: %v", err)
		return false
	}
	for _, k := range ctx.requiredKeys {
		if _, ok := obj[k]; !ok {
			proxywasm.LogErrorf("required key %q is missing", k)
			return false
		}
	}
	return true
}
