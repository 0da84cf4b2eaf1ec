// Command attributegen is Istio's Telemetry V2 attributegen extension as a
// proxy-wasm filter, the replacement for Mixer's api.operation attribute:
// ordered conditions classify each request ("ListBooks", "2xx", …) and the
// first match is written with set_property, where later filters (stats,
// logs, RBAC) read it by name.
package main

import (
	_ "embed"
	"strconv"

	"github.com/wasmctl/wasmctl/filters/internal/mixer"
	"github.com/wasmctl/wasmctl/sdk/proxywasm"
	"github.com/wasmctl/wasmctl/sdk/proxywasm/types"
)

//go:embed schema.json
var schemaJSON []byte

var schema = mixer.MustCompileSchema(schemaJSON)

func main() {}

func init() { proxywasm.SetVMContext(&vmContext{}) }

type matchConfig struct {
	Value     string               `json:"value"`
	Condition *mixer.MatcherConfig `json:"condition"`

	m *mixer.Matcher
}

type attribute struct {
	OutputAttribute string        `json:"output_attribute"`
	Phase           string        `json:"phase"`
	OutputHeader    string        `json:"output_header"`
	Match           []matchConfig `json:"match"`
}

type config struct {
	Attributes []attribute `json:"attributes"`
}

func parseConfig(data []byte) (*config, error) {
	c := &config{}
	if err := mixer.DecodeConfig(schema, data, c); err != nil {
		return nil, err
	}
	for i := range c.Attributes {
		a := &c.Attributes[i]
		f := "attributes[" + strconv.Itoa(i) + "]"
		if a.Phase == "" {
			a.Phase = "AFTER_RESPONSE"
		}
		if a.OutputHeader != "" && a.Phase != "ON_REQUEST" {
			return nil, &mixer.ValidationError{Field: f + ".output_header", Reason: "needs phase ON_REQUEST (headers are already sent after the response)"}
		}
		for j := range a.Match {
			m, err := mixer.CompileMatcher(a.Match[j].Condition, f+".match["+strconv.Itoa(j)+"].condition")
			if err != nil {
				return nil, err
			}
			a.Match[j].m = m
		}
	}
	return c, nil
}

// evaluate returns the value of the first matching entry.
func (a *attribute) evaluate(src mixer.Source) (string, bool) {
	for i := range a.Match {
		if a.Match[i].m.Match(src) {
			return a.Match[i].Value, true
		}
	}
	return "", false
}

type vmContext struct{ types.DefaultVMContext }

func (*vmContext) NewPluginContext(uint32) types.PluginContext { return &pluginContext{} }

type pluginContext struct {
	types.DefaultPluginContext
	static    mixer.StaticProperties
	cfg       *config
	onRequest []*attribute
	afterResp []*attribute
}

func (p *pluginContext) OnPluginStart(int) types.OnPluginStartStatus {
	configErrors := proxywasm.DefineCounterMetric("attributegen_config_error_total")
	data, _ := proxywasm.GetPluginConfiguration()
	cfg, err := parseConfig(data)
	if err != nil {
		configErrors.Increment(1)
		proxywasm.LogCriticalf("attributegen: %v", err)
		return types.OnPluginStartStatusFailed
	}
	p.cfg = cfg
	for i := range cfg.Attributes {
		a := &cfg.Attributes[i]
		if a.Phase == "ON_REQUEST" {
			p.onRequest = append(p.onRequest, a)
		} else {
			p.afterResp = append(p.afterResp, a)
		}
	}
	return types.OnPluginStartStatusOK
}

func (p *pluginContext) NewHttpContext(uint32) types.HttpContext {
	return &httpContext{plugin: p}
}

type httpContext struct {
	types.DefaultHttpContext
	plugin *pluginContext
}

func emit(a *attribute, src mixer.Source, request bool) {
	v, ok := a.evaluate(src)
	if !ok {
		return
	}
	if err := proxywasm.SetProperty([]string{a.OutputAttribute}, []byte(v)); err != nil {
		proxywasm.LogWarnf("attributegen: set_property %s: %v", a.OutputAttribute, err)
	}
	if request && a.OutputHeader != "" {
		if err := proxywasm.ReplaceHttpRequestHeader(a.OutputHeader, v); err != nil {
			proxywasm.LogWarnf("attributegen: set header %s: %v", a.OutputHeader, err)
		}
	}
}

func (h *httpContext) OnHttpRequestHeaders(int, bool) types.Action {
	for _, a := range h.plugin.onRequest {
		emit(a, h.plugin.src(), true)
	}
	return types.ActionContinue
}

func (h *httpContext) OnHttpStreamDone() {
	for _, a := range h.plugin.afterResp {
		emit(a, h.plugin.src(), false)
	}
}

// src reads the current stream, with this plugin's static properties cached.
func (p *pluginContext) src() mixer.HostSource { return mixer.HostSource{Static: &p.static} }
