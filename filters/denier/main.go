// Command denier is the Istio Mixer denier adapter as a proxy-wasm filter:
// requests that match a condition get Mixer's configured status as a local
// reply ("PERMISSION_DENIED:<handler>:<message>" → 403, and so on).
package main

import (
	_ "embed"

	"github.com/wasmctl/wasmctl/filters/internal/mixer"
	"github.com/wasmctl/wasmctl/sdk/proxywasm"
	"github.com/wasmctl/wasmctl/sdk/proxywasm/types"
)

//go:embed schema.json
var schemaJSON []byte

var schema = mixer.MustCompileSchema(schemaJSON)

func main() {}

func init() { proxywasm.SetVMContext(&vmContext{}) }

type config struct {
	HandlerName string `json:"handler_name"`
	Status      struct {
		Code    *mixer.Code `json:"code"`
		Message string      `json:"message"`
	} `json:"status"`
	Match          *mixer.MatcherConfig `json:"match"`
	ValidDuration  mixer.Duration       `json:"valid_duration"`
	ValidUseCount  int64                `json:"valid_use_count"`
	DirectResponse *struct {
		Code    uint32      `json:"code"`
		Body    string      `json:"body"`
		Headers [][2]string `json:"headers"`
	} `json:"direct_response"`
	ResponseHeaders [][2]string `json:"response_headers"`
}

// plan is the compiled configuration.
type plan struct {
	handler string
	code    mixer.Code
	message string
	match   *mixer.Matcher
	direct  *struct {
		Code    uint32      `json:"code"`
		Body    string      `json:"body"`
		Headers [][2]string `json:"headers"`
	}
	headers       [][2]string
	directHeaders [][2]string
}

// parseConfig validates and compiles a configuration. handlerFallback is
// used when handler_name is not set.
func parseConfig(data []byte, handlerFallback func(string) string) (*plan, error) {
	var c config
	if err := mixer.DecodeConfig(schema, data, &c); err != nil {
		return nil, err
	}
	m, err := mixer.CompileMatcher(c.Match, "match")
	if err != nil {
		return nil, err
	}
	p := &plan{code: mixer.FailedPrecondition, message: c.Status.Message, match: m, direct: c.DirectResponse, headers: c.ResponseHeaders}
	if c.Status.Code != nil {
		p.code = *c.Status.Code
	}
	if p.direct != nil {
		p.directHeaders = append(append([][2]string{}, p.direct.Headers...), p.headers...)
	}
	p.handler = handlerFallback(c.HandlerName)
	return p, nil
}

type vmContext struct{ types.DefaultVMContext }

func (*vmContext) NewPluginContext(uint32) types.PluginContext { return &pluginContext{} }

type pluginContext struct {
	types.DefaultPluginContext
	static mixer.StaticProperties
	plan   *plan
	denied proxywasm.MetricCounter
}

func (p *pluginContext) OnPluginStart(int) types.OnPluginStartStatus {
	data, _ := proxywasm.GetPluginConfiguration()
	pl, err := parseConfig(data, func(h string) string { return mixer.HandlerName(h, "denier") })
	if err != nil {
		proxywasm.LogCriticalf("denier: %v", err)
		return types.OnPluginStartStatusFailed
	}
	p.plan = pl
	p.denied = proxywasm.DefineCounterMetric("mixer_denier_denied_total." + pl.handler)
	return types.OnPluginStartStatusOK
}

func (p *pluginContext) NewHttpContext(uint32) types.HttpContext {
	return &httpContext{plugin: p}
}

type httpContext struct {
	types.DefaultHttpContext
	plugin *pluginContext
}

func (h *httpContext) OnHttpRequestHeaders(int, bool) types.Action {
	pl := h.plugin.plan
	if !pl.match.Match(h.plugin.src()) {
		return types.ActionContinue
	}
	h.plugin.denied.Increment(1)
	proxywasm.LogDebugf("denier: %s denied the request", pl.handler)
	if d := pl.direct; d != nil {
		if err := proxywasm.SendHttpResponse(d.Code, pl.directHeaders, []byte(d.Body), -1); err != nil {
			proxywasm.LogErrorf("denier: send local response: %v", err)
		}
		return types.ActionPause
	}
	return mixer.Deny(pl.code, pl.handler, pl.message, pl.headers)
}

// src reads the current stream, with this plugin's static properties cached.
func (p *pluginContext) src() mixer.HostSource { return mixer.HostSource{Static: &p.static} }
