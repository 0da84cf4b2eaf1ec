// Command rbac is the Istio Mixer rbac adapter (ServiceRole and
// ServiceRoleBinding semantics) as a proxy-wasm filter, with an enforced and
// a permissive (shadow) mode: roles grant services, paths and methods under
// constraints; bindings give roles to users, groups or subject properties.
package main

import (
	_ "embed"
	"errors"
	"strconv"
	"strings"

	"github.com/wasmctl/wasmctl/filters/internal/mixer"
	"github.com/wasmctl/wasmctl/sdk/proxywasm"
	"github.com/wasmctl/wasmctl/sdk/proxywasm/types"
)

//go:embed schema.json
var schemaJSON []byte

var schema = mixer.MustCompileSchema(schemaJSON)

func main() {}

func init() { proxywasm.SetVMContext(&vmContext{}) }

type constraint struct {
	Key    string   `json:"key"`
	Values []string `json:"values"`
}

type rule struct {
	Services    []string     `json:"services"`
	Paths       []string     `json:"paths"`
	Methods     []string     `json:"methods"`
	Constraints []constraint `json:"constraints"`
}

type role struct {
	Name  string `json:"name"`
	Rules []rule `json:"rules"`

	subjects []subject
}

type subject struct {
	User       string            `json:"user"`
	Group      string            `json:"group"`
	Properties map[string]string `json:"properties"`
}

type binding struct {
	Role     string    `json:"role"`
	Subjects []subject `json:"subjects"`
}

type config struct {
	HandlerName string    `json:"handler_name"`
	Mode        string    `json:"mode"`
	Roles       []role    `json:"roles"`
	Bindings    []binding `json:"bindings"`
	Subject     struct {
		User       *mixer.Attr           `json:"user"`
		Groups     *mixer.Attr           `json:"groups"`
		Properties map[string]mixer.Attr `json:"properties"`
	} `json:"subject"`
	Action struct {
		Namespace  *mixer.Attr           `json:"namespace"`
		Service    *mixer.Attr           `json:"service"`
		Method     *mixer.Attr           `json:"method"`
		Path       *mixer.Attr           `json:"path"`
		Properties map[string]mixer.Attr `json:"properties"`
	} `json:"action"`
	FailClose *bool `json:"fail_close"`

	failClose bool
	// lookups resolve constraint keys and subject property names that are
	// not configured properties as attribute names.
	lookups map[string]*mixer.Attr
}

func orDefault(a *mixer.Attr, attribute string) *mixer.Attr {
	if a != nil {
		return a
	}
	return &mixer.Attr{Attribute: attribute}
}

func parseConfig(data []byte) (*config, error) {
	c := &config{Mode: "ENFORCED"}
	if err := mixer.DecodeConfig(schema, data, c); err != nil {
		return nil, err
	}
	c.failClose = c.FailClose == nil || *c.FailClose
	c.Subject.User = orDefault(c.Subject.User, "source.principal")
	c.Action.Namespace = orDefault(c.Action.Namespace, "destination.service.namespace")
	c.Action.Service = orDefault(c.Action.Service, "destination.service.host")
	c.Action.Method = orDefault(c.Action.Method, "request.method")
	c.Action.Path = orDefault(c.Action.Path, "request.url_path")
	for field, a := range map[string]*mixer.Attr{"subject.user": c.Subject.User, "subject.groups": c.Subject.Groups,
		"action.namespace": c.Action.Namespace, "action.service": c.Action.Service, "action.method": c.Action.Method, "action.path": c.Action.Path} {
		if a != nil {
			if err := a.Check(field); err != nil {
				return nil, err
			}
		}
	}
	c.lookups = map[string]*mixer.Attr{}
	add := func(field, name string, configured map[string]mixer.Attr) error {
		if a, ok := configured[name]; ok {
			if err := a.Check(field); err != nil {
				return err
			}
			c.lookups[name] = &a
			return nil
		}
		a := &mixer.Attr{Attribute: name}
		if err := a.Check(field); err != nil {
			var ve *mixer.ValidationError
			if errors.As(err, &ve) {
				return &mixer.ValidationError{Field: field, Reason: ve.Reason + ": name a configured property or a known attribute"}
			}
			return err
		}
		c.lookups[name] = a
		return nil
	}
	byName := map[string]*role{}
	for i := range c.Roles {
		r := &c.Roles[i]
		if byName[r.Name] != nil {
			return nil, &mixer.ValidationError{Field: "roles[" + strconv.Itoa(i) + "].name", Reason: "duplicate role " + strconv.Quote(r.Name)}
		}
		byName[r.Name] = r
		for j, ru := range r.Rules {
			for k, ct := range ru.Constraints {
				if err := add("roles["+strconv.Itoa(i)+"].rules["+strconv.Itoa(j)+"].constraints["+strconv.Itoa(k)+"].key", ct.Key, c.Action.Properties); err != nil {
					return nil, err
				}
			}
		}
	}
	for i, b := range c.Bindings {
		r := byName[b.Role]
		if r == nil {
			return nil, &mixer.ValidationError{Field: "bindings[" + strconv.Itoa(i) + "].role", Reason: "no role named " + strconv.Quote(b.Role)}
		}
		for j, s := range b.Subjects {
			for name := range s.Properties {
				if err := add("bindings["+strconv.Itoa(i)+"].subjects["+strconv.Itoa(j)+"].properties."+name, name, c.Subject.Properties); err != nil {
					return nil, err
				}
			}
		}
		r.subjects = append(r.subjects, b.Subjects...)
	}
	return c, nil
}

// matchString is Mixer rbac's string match: exact, "*", "abc*" or "*abc".
func matchString(pattern, v string) bool {
	switch {
	case pattern == "*":
		return true
	case strings.HasSuffix(pattern, "*"):
		return strings.HasPrefix(v, pattern[:len(pattern)-1])
	case strings.HasPrefix(pattern, "*"):
		return strings.HasSuffix(v, pattern[1:])
	}
	return pattern == v
}

func matchAny(patterns []string, v string) bool {
	for _, p := range patterns {
		if matchString(p, v) {
			return true
		}
	}
	return false
}

// request is the authorization instance: Mixer's subject and action.
type request struct {
	service, method, path string
	user                  string
	groups                []string
	src                   mixer.Source
	cfg                   *config
}

func (r *request) lookup(name string) (string, bool) {
	a := r.cfg.lookups[name]
	if a == nil {
		return "", false
	}
	return a.ResolveString(r.src)
}

func (r *request) ruleMatches(ru *rule) bool {
	if !matchAny(ru.Services, r.service) {
		return false
	}
	if len(ru.Paths) > 0 && !matchAny(ru.Paths, r.path) {
		return false
	}
	if !matchAny(ru.Methods, r.method) {
		return false
	}
	for _, ct := range ru.Constraints {
		v, ok := r.lookup(ct.Key)
		if !ok || !matchAny(ct.Values, v) {
			return false
		}
	}
	return true
}

func (r *request) subjectMatches(s *subject) bool {
	if s.User != "" && !matchString(s.User, r.user) {
		return false
	}
	if s.Group != "" {
		found := false
		for _, g := range r.groups {
			if matchString(s.Group, g) {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	for k, want := range s.Properties {
		v, ok := r.lookup(k)
		if !ok || !matchString(want, v) {
			return false
		}
	}
	return true
}

// decide returns the name of the role that allows the request, or "" and
// false when none does.
func (c *config) decide(r *request) (string, bool) {
	for i := range c.Roles {
		ro := &c.Roles[i]
		eligible := false
		for j := range ro.Rules {
			if r.ruleMatches(&ro.Rules[j]) {
				eligible = true
				break
			}
		}
		if !eligible {
			continue
		}
		for j := range ro.subjects {
			if r.subjectMatches(&ro.subjects[j]) {
				return ro.Name, true
			}
		}
	}
	return "", false
}

type vmContext struct{ types.DefaultVMContext }

func (*vmContext) NewPluginContext(uint32) types.PluginContext { return &pluginContext{} }

type pluginContext struct {
	types.DefaultPluginContext
	static       mixer.StaticProperties
	cfg          *config
	handler      string
	allowed      proxywasm.MetricCounter
	denied       proxywasm.MetricCounter
	shadowDenied proxywasm.MetricCounter
}

func (p *pluginContext) OnPluginStart(int) types.OnPluginStartStatus {
	data, _ := proxywasm.GetPluginConfiguration()
	cfg, err := parseConfig(data)
	if err != nil {
		proxywasm.LogCriticalf("rbac: %v", err)
		return types.OnPluginStartStatusFailed
	}
	p.cfg = cfg
	p.handler = mixer.HandlerName(cfg.HandlerName, "rbac")
	p.allowed = proxywasm.DefineCounterMetric("rbac_allowed_total")
	p.denied = proxywasm.DefineCounterMetric("rbac_denied_total")
	p.shadowDenied = proxywasm.DefineCounterMetric("rbac_shadow_denied_total")
	return types.OnPluginStartStatusOK
}

func (p *pluginContext) NewHttpContext(uint32) types.HttpContext {
	return &httpContext{plugin: p}
}

type httpContext struct {
	types.DefaultHttpContext
	plugin *pluginContext
}

// evaluate builds the authorization instance and decides.
func (p *pluginContext) evaluate(src mixer.Source) (policy string, allow bool, why string) {
	c := p.cfg
	r := &request{src: src, cfg: c}
	var ok [4]bool
	_, ok[0] = c.Action.Namespace.ResolveString(src)
	r.service, ok[1] = c.Action.Service.ResolveString(src)
	r.method, ok[2] = c.Action.Method.ResolveString(src)
	r.path, ok[3] = c.Action.Path.ResolveString(src)
	for i, name := range []string{"namespace", "service", "method", "path"} {
		if !ok[i] {
			if c.failClose {
				return "", false, "action." + name + " is missing"
			}
			return "", true, "action." + name + " is missing (fail open)"
		}
	}
	r.user, _ = c.Subject.User.ResolveString(src)
	if c.Subject.Groups != nil {
		if gs, ok := c.Subject.Groups.ResolveString(src); ok && gs != "" {
			for g := range strings.SplitSeq(gs, ",") {
				r.groups = append(r.groups, strings.TrimSpace(g))
			}
		}
	}
	policy, allow = c.decide(r)
	return policy, allow, ""
}

func (h *httpContext) OnHttpRequestHeaders(int, bool) types.Action {
	p := h.plugin
	policy, allow, why := p.evaluate(p.src())
	if allow {
		p.allowed.Increment(1)
		if p.cfg.Mode == "PERMISSIVE" {
			if policy == "" {
				policy = "none"
			}
			setProperty("rbac_permissive_response_code", "200")
			setProperty("rbac_permissive_effective_policy_id", policy)
		}
		return types.ActionContinue
	}
	if why != "" {
		proxywasm.LogDebugf("rbac: %s: deny: %s", p.handler, why)
	}
	if p.cfg.Mode == "PERMISSIVE" {
		p.shadowDenied.Increment(1)
		setProperty("rbac_permissive_response_code", "403")
		setProperty("rbac_permissive_effective_policy_id", "none")
		if err := proxywasm.ReplaceHttpRequestHeader("x-rbac-shadow", "denied"); err != nil {
			proxywasm.LogWarnf("rbac: add x-rbac-shadow: %v", err)
		}
		return types.ActionContinue
	}
	p.denied.Increment(1)
	return mixer.Deny(mixer.PermissionDenied, p.handler, "RBAC: permission denied.", nil)
}

// setProperty writes filter state readable by later filters (and by the
// stdio filter's permissiveResponseCode variables).
func setProperty(name, v string) {
	if err := proxywasm.SetProperty([]string{name}, []byte(v)); err != nil {
		proxywasm.LogDebugf("rbac: set_property %s: %v", name, err)
	}
}

// src reads the current stream, with this plugin's static properties cached.
func (p *pluginContext) src() mixer.HostSource { return mixer.HostSource{Static: &p.static} }
