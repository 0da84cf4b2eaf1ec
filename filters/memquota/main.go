// Command memquota is the Istio Mixer memquota adapter as a proxy-wasm
// filter: rate limits (rolling or fixed windows) and concurrency quotas per
// combination of dimensions, with per-dimension overrides. Counters live in
// shared data and are updated with compare-and-swap, so every VM instance
// (every worker) of the proxy draws from the same quota.
package main

import (
	_ "embed"
	"sort"
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

type override struct {
	Dimensions    map[string]string `json:"dimensions"`
	MaxAmount     *int64            `json:"max_amount"`
	ValidDuration *mixer.Duration   `json:"valid_duration"`
}

type quota struct {
	Name          string         `json:"name"`
	MaxAmount     int64          `json:"max_amount"`
	ValidDuration mixer.Duration `json:"valid_duration"`
	Overrides     []override     `json:"overrides"`
}

type config struct {
	HandlerName      string                `json:"handler_name"`
	Quotas           []quota               `json:"quotas"`
	Dimensions       map[string]mixer.Attr `json:"dimensions"`
	Charge           int64                 `json:"charge"`
	Algorithm        string                `json:"algorithm"`
	BestEffort       bool                  `json:"best_effort"`
	RateLimitHeaders bool                  `json:"rate_limit_headers"`
	TimeProperty     []string              `json:"time_property"`

	dimNames []string
}

func parseConfig(data []byte) (*config, error) {
	c := &config{Charge: 1, Algorithm: "ROLLING_WINDOW"}
	if err := mixer.DecodeConfig(schema, data, c); err != nil {
		return nil, err
	}
	for name, a := range c.Dimensions {
		if err := a.Check("dimensions." + name); err != nil {
			return nil, err
		}
		c.Dimensions[name] = a // keep the resolver Check looked up
		c.dimNames = append(c.dimNames, name)
	}
	sort.Strings(c.dimNames)
	seen := map[string]bool{}
	for i, q := range c.Quotas {
		if seen[q.Name] {
			return nil, &mixer.ValidationError{Field: "quotas[" + strconv.Itoa(i) + "].name", Reason: "duplicate quota name " + strconv.Quote(q.Name)}
		}
		seen[q.Name] = true
		for j, o := range q.Overrides {
			for d := range o.Dimensions {
				if _, ok := c.Dimensions[d]; !ok {
					return nil, &mixer.ValidationError{
						Field:  "quotas[" + strconv.Itoa(i) + "].overrides[" + strconv.Itoa(j) + "].dimensions." + d,
						Reason: "is not one of the configured dimensions " + strings.Join(c.dimNames, ", "),
					}
				}
			}
		}
	}
	return c, nil
}

// limit is the effective quota for one request: the first override whose
// every dimension equals the request's value wins, else the quota default.
func (q *quota) limit(dims map[string]string) (max, durNanos int64) {
	max, durNanos = q.MaxAmount, q.ValidDuration.Nanos()
	for _, o := range q.Overrides {
		match := true
		for k, v := range o.Dimensions {
			if dims[k] != v {
				match = false
				break
			}
		}
		if !match {
			continue
		}
		if o.MaxAmount != nil {
			max = *o.MaxAmount
		}
		if o.ValidDuration != nil {
			durNanos = o.ValidDuration.Nanos()
		}
		break
	}
	return max, durNanos
}

// key renders Mixer's quota key: name;k=v;k2=v2 with dimensions sorted.
func key(name string, names []string, dims map[string]string) string {
	var b strings.Builder
	b.WriteString("memquota/")
	b.WriteString(name)
	for _, n := range names {
		b.WriteByte(';')
		b.WriteString(n)
		b.WriteByte('=')
		b.WriteString(dims[n])
	}
	return b.String()
}

type vmContext struct{ types.DefaultVMContext }

func (*vmContext) NewPluginContext(uint32) types.PluginContext { return &pluginContext{} }

type pluginContext struct {
	types.DefaultPluginContext
	static  mixer.StaticProperties
	cfg     *config
	handler string
	allowed proxywasm.MetricCounter
	denied  proxywasm.MetricCounter
}

func (p *pluginContext) OnPluginStart(int) types.OnPluginStartStatus {
	data, _ := proxywasm.GetPluginConfiguration()
	cfg, err := parseConfig(data)
	if err != nil {
		proxywasm.LogCriticalf("memquota: %v", err)
		return types.OnPluginStartStatusFailed
	}
	p.cfg = cfg
	p.handler = mixer.HandlerName(cfg.HandlerName, "memquota")
	p.allowed = proxywasm.DefineCounterMetric("memquota_allowed_total." + p.handler)
	p.denied = proxywasm.DefineCounterMetric("memquota_denied_total." + p.handler)
	return types.OnPluginStartStatusOK
}

func (p *pluginContext) NewHttpContext(uint32) types.HttpContext {
	return &httpContext{plugin: p}
}

type held struct {
	key    string
	amount int64
}

type httpContext struct {
	types.DefaultHttpContext
	plugin    *pluginContext
	held      []held // concurrency grants to release at stream end
	limit     int64
	remaining int64
	haveRL    bool
}

// allocate charges amount against one key and returns what was granted
// and what remains.
func (p *pluginContext) allocate(k string, kind byte, now, max, durNanos, amount int64) (granted, remaining int64, err error) {
	_, err = mixer.UpdateSharedData(k, []byte("-"), func(old []byte) ([]byte, bool) {
		c := decodeCounter(old, kind)
		avail := max - c.used(now, durNanos)
		if avail < 0 {
			avail = 0
		}
		granted = 0
		switch {
		case amount <= avail:
			granted = amount
		case p.cfg.BestEffort && avail > 0:
			granted = avail
		}
		remaining = avail - granted
		if granted == 0 {
			return nil, false
		}
		c.add(now, granted)
		return c.encode(), true
	})
	return granted, remaining, err
}

func (h *httpContext) OnHttpRequestHeaders(int, bool) types.Action {
	p := h.plugin
	cfg := p.cfg
	src := p.src()
	dims := make(map[string]string, len(cfg.dimNames))
	for _, n := range cfg.dimNames {
		a := cfg.Dimensions[n]
		v, _ := a.ResolveString(src)
		dims[n] = v
	}
	now := mixer.Clock(cfg.TimeProperty)
	var exhausted []string
	for i := range cfg.Quotas {
		q := &cfg.Quotas[i]
		max, dur := q.limit(dims)
		kind := byte('C')
		if dur > 0 {
			kind = 'R'
			if cfg.Algorithm == "FIXED_WINDOW" {
				kind = 'F'
			}
		}
		k := key(q.Name, cfg.dimNames, dims)
		granted, remaining, err := p.allocate(k, kind, now, max, dur, cfg.Charge)
		if err != nil {
			// Shared data failed: Mixer's proxy failed open on quota errors.
			proxywasm.LogErrorf("memquota: %s: %s: %v; allowing the request", p.handler, q.Name, err)
			continue
		}
		if !h.haveRL || remaining < h.remaining {
			h.limit, h.remaining, h.haveRL = max, remaining, true
		}
		if granted == 0 {
			exhausted = append(exhausted, q.Name)
			continue
		}
		if kind == 'C' {
			h.held = append(h.held, held{k, granted})
		}
	}
	if len(exhausted) > 0 {
		p.denied.Increment(1)
		h.release()
		body := mixer.ResourceExhausted.String() + ":Quota is exhausted for: " + strings.Join(exhausted, ", ")
		var headers [][2]string
		if cfg.RateLimitHeaders {
			headers = h.rateLimitHeaders()
		}
		if err := proxywasm.SendHttpResponse(mixer.ResourceExhausted.HTTPStatus(), headers, []byte(body), -1); err != nil {
			proxywasm.LogErrorf("memquota: send local response: %v", err)
		}
		return types.ActionPause
	}
	p.allowed.Increment(1)
	return types.ActionContinue
}

func (h *httpContext) rateLimitHeaders() [][2]string {
	if !h.haveRL {
		return nil
	}
	return [][2]string{
		{"x-ratelimit-limit", strconv.FormatInt(h.limit, 10)},
		{"x-ratelimit-remaining", strconv.FormatInt(h.remaining, 10)},
	}
}

func (h *httpContext) OnHttpResponseHeaders(int, bool) types.Action {
	if h.plugin.cfg.RateLimitHeaders {
		for _, kv := range h.rateLimitHeaders() {
			if err := proxywasm.ReplaceHttpResponseHeader(kv[0], kv[1]); err != nil {
				proxywasm.LogDebugf("memquota: set %s: %v", kv[0], err)
			}
		}
	}
	return types.ActionContinue
}

// release gives back concurrency grants (valid_duration 0).
func (h *httpContext) release() {
	for _, g := range h.held {
		_, err := mixer.UpdateSharedData(g.key, []byte("-"), func(old []byte) ([]byte, bool) {
			c := decodeCounter(old, 'C')
			c.add(0, -g.amount)
			return c.encode(), true
		})
		if err != nil {
			proxywasm.LogErrorf("memquota: release %s: %v", g.key, err)
		}
	}
	h.held = nil
}

func (h *httpContext) OnHttpStreamDone() { h.release() }

// src reads the current stream, with this plugin's static properties cached.
func (p *pluginContext) src() mixer.HostSource { return mixer.HostSource{Static: &p.static} }
