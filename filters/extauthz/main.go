// Command extauthz checks each request with an out-of-process policy
// service (OPA or anything speaking its data API) by HTTP callout: the
// request pauses while the callout runs, verdicts are cached per VM, and a
// failing policy service fails open or closed. It replaces Mixer's opa
// adapter and the out-of-process adapter model (Apigee, App ID).
package main

import (
	_ "embed"
	"encoding/json"
	"strings"
	"time"

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
	HandlerName    string      `json:"handler_name"`
	Cluster        string      `json:"cluster"`
	Authority      string      `json:"authority"`
	Path           string      `json:"path"`
	TimeoutMs      uint32      `json:"timeout_ms"`
	Input          string      `json:"input"`
	IncludeHeaders []string    `json:"include_headers"`
	FailClose      *bool       `json:"fail_close"`
	FailureCode    *mixer.Code `json:"failure_code"`
	DenyMessage    string      `json:"deny_message"`
	Cache          *struct {
		ValidFor   *mixer.Duration `json:"valid_for"`
		MaxEntries int             `json:"max_entries"`
	} `json:"cache"`
	AllowedUpstreamHeaders []string `json:"allowed_upstream_headers"`
	Subject                struct {
		User   *mixer.Attr `json:"user"`
		Groups *mixer.Attr `json:"groups"`
	} `json:"subject"`
	TimeProperty []string `json:"time_property"`

	failClose   bool
	failureCode mixer.Code
	validFor    time.Duration
	maxEntries  int
	allowed     map[string]bool
}

func parseConfig(data []byte) (*config, error) {
	c := &config{Path: "/v1/data/mixerauthz/allow", TimeoutMs: 500, Input: "mixer_authorization", DenyMessage: "opa: request was rejected"}
	if err := mixer.DecodeConfig(schema, data, c); err != nil {
		return nil, err
	}
	if c.Authority == "" {
		c.Authority = c.Cluster
	}
	c.failClose = c.FailClose == nil || *c.FailClose
	c.failureCode = mixer.PermissionDenied
	if c.FailureCode != nil {
		c.failureCode = *c.FailureCode
	}
	c.validFor, c.maxEntries = 10*time.Second, 1000
	if c.Cache != nil {
		if c.Cache.ValidFor != nil {
			c.validFor = c.Cache.ValidFor.D()
		}
		if c.Cache.MaxEntries > 0 {
			c.maxEntries = c.Cache.MaxEntries
		}
	}
	if c.Subject.User == nil {
		c.Subject.User = &mixer.Attr{Attribute: "source.principal"}
	}
	if err := c.Subject.User.Check("subject.user"); err != nil {
		return nil, err
	}
	if c.Subject.Groups != nil {
		if err := c.Subject.Groups.Check("subject.groups"); err != nil {
			return nil, err
		}
	}
	c.allowed = map[string]bool{}
	for _, h := range c.AllowedUpstreamHeaders {
		c.allowed[strings.ToLower(h)] = true
	}
	return c, nil
}

// buildInput renders the policy input: Mixer's authorization template
// ({"input":{"action":{…},"subject":{…}}}, empty fields omitted) or the
// istio-ecosystem/wasm-extensions OPA plugin's flat shape.
func (c *config) buildInput(src mixer.Source) []byte {
	get := func(name string) string {
		a := mixer.Attr{Attribute: name}
		v, _ := a.ResolveString(src)
		return v
	}
	headers := map[string]string{}
	for _, h := range c.IncludeHeaders {
		if v, ok := src.RequestHeader(strings.ToLower(h)); ok {
			headers[strings.ToLower(h)] = v
		}
	}
	user, _ := c.Subject.User.ResolveString(src)
	var in any
	if c.Input == "istio_ecosystem" {
		m := map[string]any{
			"source_principal":     user,
			"destination_workload": get("destination.workload.name"),
			"request_method":       get("request.method"),
			"request_url_path":     get("request.url_path"),
		}
		if len(headers) > 0 {
			m["request_headers"] = headers
		}
		in = map[string]any{"input": m}
	} else {
		action := map[string]any{}
		for k, name := range map[string]string{"namespace": "destination.service.namespace", "service": "destination.service.host",
			"method": "request.method", "path": "request.url_path"} {
			if v := get(name); v != "" {
				action[k] = v
			}
		}
		if len(headers) > 0 {
			action["properties"] = headers
		}
		subject := map[string]any{}
		if user != "" {
			subject["user"] = user
		}
		if c.Subject.Groups != nil {
			if g, ok := c.Subject.Groups.ResolveString(src); ok && g != "" {
				subject["groups"] = g
			}
		}
		in = map[string]any{"input": map[string]any{"action": action, "subject": subject}}
	}
	b, _ := json.Marshal(in) // maps marshal with sorted keys: a stable cache key
	return b
}

// verdict is a policy decision.
type verdict struct {
	allow   bool
	headers [][2]string
}

// parseResult reads the policy service's answer: {"result":true|false} or
// {"result":{"allow":bool,"headers":{…}}}. ok is false for anything else.
func (c *config) parseResult(body []byte) (v verdict, ok bool) {
	var r struct {
		Result json.RawMessage `json:"result"`
	}
	if json.Unmarshal(body, &r) != nil || len(r.Result) == 0 {
		return v, false
	}
	var b bool
	if json.Unmarshal(r.Result, &b) == nil {
		return verdict{allow: b}, true
	}
	var obj struct {
		Allow   *bool             `json:"allow"`
		Headers map[string]string `json:"headers"`
	}
	if json.Unmarshal(r.Result, &obj) != nil || obj.Allow == nil {
		return v, false
	}
	v.allow = *obj.Allow
	for k, val := range obj.Headers {
		if c.allowed[strings.ToLower(k)] {
			v.headers = append(v.headers, [2]string{strings.ToLower(k), val})
		}
	}
	return v, true
}

type vmContext struct{ types.DefaultVMContext }

func (*vmContext) NewPluginContext(uint32) types.PluginContext { return &pluginContext{} }

type pluginContext struct {
	types.DefaultPluginContext
	static                      mixer.StaticProperties
	cfg                         *config
	handler                     string
	cache                       *mixer.VerdictCache[verdict]
	hit, miss, allow, deny, err proxywasm.MetricCounter
}

func (p *pluginContext) OnPluginStart(int) types.OnPluginStartStatus {
	data, _ := proxywasm.GetPluginConfiguration()
	cfg, err := parseConfig(data)
	if err != nil {
		proxywasm.LogCriticalf("extauthz: %v", err)
		return types.OnPluginStartStatusFailed
	}
	p.cfg = cfg
	p.handler = mixer.HandlerName(cfg.HandlerName, "extauthz")
	p.cache = mixer.NewVerdictCache[verdict](cfg.maxEntries)
	p.hit = proxywasm.DefineCounterMetric("extauthz_cache_hit")
	p.miss = proxywasm.DefineCounterMetric("extauthz_cache_miss")
	p.allow = proxywasm.DefineCounterMetric("extauthz_allow")
	p.deny = proxywasm.DefineCounterMetric("extauthz_deny")
	p.err = proxywasm.DefineCounterMetric("extauthz_error")
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
	p := h.plugin
	cfg := p.cfg
	input := cfg.buildInput(p.src())
	key := string(input)
	now := mixer.Clock(cfg.TimeProperty)
	if v, ok := p.cache.Get(key, now); ok {
		p.hit.Increment(1)
		return h.apply(v, false)
	}
	p.miss.Increment(1)
	headers := [][2]string{{":method", "POST"}, {":path", cfg.Path}, {":authority", cfg.Authority}, {"content-type", "application/json"}}
	_, err := proxywasm.DispatchHttpCall(cfg.Cluster, headers, input, nil, cfg.TimeoutMs, func(numHeaders, bodySize, _ int) {
		v, ok := h.readVerdict(numHeaders, bodySize)
		if !ok {
			h.failed()
			return
		}
		p.cache.Put(key, v, mixer.Clock(cfg.TimeProperty), int64(cfg.validFor), 0)
		h.apply(v, true)
	})
	if err != nil {
		proxywasm.LogErrorf("extauthz: %s: dispatch to cluster %q: %v", p.handler, cfg.Cluster, err)
		return h.failedNow()
	}
	return types.ActionPause
}

// readVerdict reads the callout response; ok is false on a timeout (no
// headers), a non-200 status or an unreadable body.
func (h *httpContext) readVerdict(numHeaders, bodySize int) (verdict, bool) {
	if numHeaders == 0 {
		proxywasm.LogWarnf("extauthz: %s: policy callout timed out or failed", h.plugin.handler)
		return verdict{}, false
	}
	hs, err := proxywasm.GetHttpCallResponseHeaders()
	if err != nil {
		return verdict{}, false
	}
	status := ""
	for _, kv := range hs {
		if kv[0] == ":status" {
			status = kv[1]
		}
	}
	if status != "200" {
		proxywasm.LogWarnf("extauthz: %s: policy service answered %s", h.plugin.handler, status)
		return verdict{}, false
	}
	var body []byte
	if bodySize > 0 {
		if body, err = proxywasm.GetHttpCallResponseBody(0, bodySize); err != nil {
			return verdict{}, false
		}
	}
	v, ok := h.plugin.cfg.parseResult(body)
	if !ok {
		proxywasm.LogWarnf("extauthz: %s: unreadable policy result %q", h.plugin.handler, truncate(body))
	}
	return v, ok
}

func truncate(b []byte) string {
	if len(b) > 200 {
		return string(b[:200]) + "…"
	}
	return string(b)
}

// apply enforces a verdict; resume says the request is paused on a callout.
func (h *httpContext) apply(v verdict, resume bool) types.Action {
	p := h.plugin
	if !v.allow {
		p.deny.Increment(1)
		return mixer.Deny(mixer.PermissionDenied, p.handler, p.cfg.DenyMessage, nil)
	}
	p.allow.Increment(1)
	for _, kv := range v.headers {
		if err := proxywasm.ReplaceHttpRequestHeader(kv[0], kv[1]); err != nil {
			proxywasm.LogWarnf("extauthz: set %s: %v", kv[0], err)
		}
	}
	if resume {
		if err := proxywasm.ResumeHttpRequest(); err != nil {
			proxywasm.LogErrorf("extauthz: resume: %v", err)
		}
	}
	return types.ActionContinue
}

// failed handles a callout error on a paused request.
func (h *httpContext) failed() {
	p := h.plugin
	p.err.Increment(1)
	if p.cfg.failClose {
		mixer.Deny(p.cfg.failureCode, p.handler, p.cfg.DenyMessage, nil)
		return
	}
	if err := proxywasm.ResumeHttpRequest(); err != nil {
		proxywasm.LogErrorf("extauthz: resume: %v", err)
	}
}

// failedNow handles an error before the request was paused.
func (h *httpContext) failedNow() types.Action {
	p := h.plugin
	p.err.Increment(1)
	if p.cfg.failClose {
		return mixer.Deny(p.cfg.failureCode, p.handler, p.cfg.DenyMessage, nil)
	}
	return types.ActionContinue
}

// src reads the current stream, with this plugin's static properties cached.
func (p *pluginContext) src() mixer.HostSource { return mixer.HostSource{Static: &p.static} }
