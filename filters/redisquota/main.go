// Command redisquota is the Istio Mixer redisquota adapter as a proxy-wasm
// filter: a global rate limit kept by a quota service that the filter asks
// by HTTP callout (fixed or rolling windows, per-dimension overrides,
// best effort, dedup by x-request-id), with Mixer's client-visible results:
// 429 when exhausted, 503 when the service fails (if configured to deny),
// 500 on a malformed reply.
package main

import (
	_ "embed"
	"encoding/json"
	"hash/fnv"
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
	Dimensions map[string]string `json:"dimensions"`
	MaxAmount  int64             `json:"max_amount"`

	hash string
}

type quota struct {
	Name               string          `json:"name"`
	MaxAmount          int64           `json:"max_amount"`
	ValidDuration      mixer.Duration  `json:"valid_duration"`
	BucketDuration     *mixer.Duration `json:"bucket_duration"`
	RateLimitAlgorithm string          `json:"rate_limit_algorithm"`
	Overrides          []override      `json:"overrides"`
}

type config struct {
	HandlerName     string                `json:"handler_name"`
	Service         mixer.Callout         `json:"service"`
	Quotas          []quota               `json:"quotas"`
	Dimensions      map[string]mixer.Attr `json:"dimensions"`
	Charge          int64                 `json:"charge"`
	BestEffort      bool                  `json:"best_effort"`
	FailureModeDeny bool                  `json:"failure_mode_deny"`

	dimNames []string
}

func parseConfig(data []byte) (*config, error) {
	c := &config{Charge: 1}
	if err := mixer.DecodeConfig(schema, data, c); err != nil {
		return nil, err
	}
	if c.Service.Path == "" {
		c.Service.Path = "/allocate"
	}
	if c.Service.TimeoutMs == 0 {
		c.Service.TimeoutMs = 200
	}
	for name, a := range c.Dimensions {
		if err := a.Check("dimensions." + name); err != nil {
			return nil, err
		}
		c.Dimensions[name] = a // keep the resolver Check looked up
		c.dimNames = append(c.dimNames, name)
	}
	sort.Strings(c.dimNames)
	for i := range c.Quotas {
		q := &c.Quotas[i]
		f := "quotas[" + strconv.Itoa(i) + "]"
		if q.ValidDuration <= 0 {
			return nil, &mixer.ValidationError{Field: f + ".valid_duration", Reason: "must be greater than 0"}
		}
		if q.RateLimitAlgorithm == "" {
			q.RateLimitAlgorithm = "FIXED_WINDOW"
		}
		if q.RateLimitAlgorithm == "ROLLING_WINDOW" {
			if q.BucketDuration == nil || *q.BucketDuration <= 0 || *q.BucketDuration >= q.ValidDuration {
				return nil, &mixer.ValidationError{Field: f + ".bucket_duration", Reason: "ROLLING_WINDOW needs 0 < bucket_duration < valid_duration"}
			}
		}
		for j := range q.Overrides {
			o := &q.Overrides[j]
			var keys []string
			for d := range o.Dimensions {
				if _, ok := c.Dimensions[d]; !ok {
					return nil, &mixer.ValidationError{Field: f + ".overrides[" + strconv.Itoa(j) + "].dimensions." + d,
						Reason: "is not one of the configured dimensions " + strings.Join(c.dimNames, ", ")}
				}
				keys = append(keys, d)
			}
			sort.Strings(keys)
			h := fnv.New64a()
			for _, k := range keys {
				h.Write([]byte(k + "=" + o.Dimensions[k] + ";"))
			}
			o.hash = strconv.FormatUint(h.Sum64(), 16)
		}
	}
	return c, nil
}

// allocation is the request body sent to the quota service.
type allocation struct {
	Key        string `json:"key"`
	MaxAmount  int64  `json:"max_amount"`
	WindowNs   int64  `json:"window_ns"`
	BucketNs   int64  `json:"bucket_ns,omitempty"`
	Algorithm  string `json:"algorithm"`
	Amount     int64  `json:"amount"`
	BestEffort bool   `json:"best_effort,omitempty"`
	DedupID    string `json:"dedup_id,omitempty"`
}

// request builds the allocation for quota q and the request's dimensions:
// the first override whose dimensions all match sets the limit and adds its
// hash to the key, as Mixer's redisquota did.
func (c *config) request(q *quota, dims map[string]string, dedup string) allocation {
	var b strings.Builder
	b.WriteString(q.Name)
	for _, n := range c.dimNames {
		b.WriteString(";" + n + "=" + dims[n])
	}
	a := allocation{MaxAmount: q.MaxAmount, WindowNs: q.ValidDuration.Nanos(), Algorithm: q.RateLimitAlgorithm,
		Amount: c.Charge, BestEffort: c.BestEffort, DedupID: dedup}
	if q.BucketDuration != nil && q.RateLimitAlgorithm == "ROLLING_WINDOW" {
		a.BucketNs = q.BucketDuration.Nanos()
	}
	for _, o := range q.Overrides {
		match := true
		for k, v := range o.Dimensions {
			if dims[k] != v {
				match = false
				break
			}
		}
		if match {
			a.MaxAmount = o.MaxAmount
			b.WriteString("#" + o.hash)
			break
		}
	}
	a.Key = b.String()
	return a
}

type vmContext struct{ types.DefaultVMContext }

func (*vmContext) NewPluginContext(uint32) types.PluginContext { return &pluginContext{} }

type pluginContext struct {
	types.DefaultPluginContext
	static                       mixer.StaticProperties
	cfg                          *config
	handler                      string
	allowed, denied, unavailable proxywasm.MetricCounter
}

func (p *pluginContext) OnPluginStart(int) types.OnPluginStartStatus {
	data, _ := proxywasm.GetPluginConfiguration()
	cfg, err := parseConfig(data)
	if err != nil {
		proxywasm.LogCriticalf("redisquota: %v", err)
		return types.OnPluginStartStatusFailed
	}
	p.cfg = cfg
	p.handler = mixer.HandlerName(cfg.HandlerName, "redisquota")
	p.allowed = proxywasm.DefineCounterMetric("redisquota_allowed_total." + p.handler)
	p.denied = proxywasm.DefineCounterMetric("redisquota_denied_total." + p.handler)
	p.unavailable = proxywasm.DefineCounterMetric("redisquota_errors_total." + p.handler)
	return types.OnPluginStartStatusOK
}

func (p *pluginContext) NewHttpContext(uint32) types.HttpContext {
	return &httpContext{plugin: p}
}

// outcome of one quota's callout, worst first.
const (
	outcomeOK = iota
	outcomeUnavailable
	outcomeExhausted
	outcomeInternal
)

type httpContext struct {
	types.DefaultHttpContext
	plugin  *pluginContext
	pending int
	worst   int
	done    bool
}

func (h *httpContext) OnHttpRequestHeaders(int, bool) types.Action {
	p := h.plugin
	cfg := p.cfg
	src := p.src()
	dims := make(map[string]string, len(cfg.dimNames))
	for _, n := range cfg.dimNames {
		a := cfg.Dimensions[n]
		dims[n], _ = a.ResolveString(src)
	}
	dedup, _ := src.RequestHeader("x-request-id")
	headers := [][2]string{{":method", "POST"}, {":path", cfg.Service.Path}, {":authority", cfg.Service.AuthorityOr()}, {"content-type", "application/json"}}
	for i := range cfg.Quotas {
		body, _ := json.Marshal(cfg.request(&cfg.Quotas[i], dims, dedup))
		_, err := proxywasm.DispatchHttpCall(cfg.Service.Cluster, headers, body, nil, uint32(cfg.Service.TimeoutMs), h.onResponse)
		if err != nil {
			proxywasm.LogErrorf("redisquota: %s: dispatch to cluster %q: %v", p.handler, cfg.Service.Cluster, err)
			h.record(outcomeUnavailable)
			continue
		}
		h.pending++
	}
	if h.pending == 0 {
		return h.finish(false)
	}
	return types.ActionPause
}

func (h *httpContext) record(o int) {
	if o == outcomeUnavailable && !h.plugin.cfg.FailureModeDeny {
		o = outcomeOK
	}
	if o > h.worst {
		h.worst = o
	}
}

func (h *httpContext) onResponse(numHeaders, bodySize, _ int) {
	h.pending--
	h.record(h.classify(numHeaders, bodySize))
	if h.pending == 0 {
		h.finish(true)
	}
}

// classify reads one quota service reply.
func (h *httpContext) classify(numHeaders, bodySize int) int {
	if numHeaders == 0 {
		proxywasm.LogWarnf("redisquota: %s: quota service timed out or is unreachable", h.plugin.handler)
		return outcomeUnavailable
	}
	hs, _ := proxywasm.GetHttpCallResponseHeaders()
	status := ""
	for _, kv := range hs {
		if kv[0] == ":status" {
			status = kv[1]
		}
	}
	if status != "200" {
		proxywasm.LogWarnf("redisquota: %s: quota service answered %q", h.plugin.handler, status)
		return outcomeUnavailable
	}
	var body []byte
	if bodySize > 0 {
		body, _ = proxywasm.GetHttpCallResponseBody(0, bodySize)
	}
	var r struct {
		Allocated       *int64 `json:"allocated"`
		ValidDurationNs int64  `json:"valid_duration_ns"`
	}
	if err := json.Unmarshal(body, &r); err != nil || r.Allocated == nil {
		proxywasm.LogErrorf("redisquota: %s: malformed quota reply %q", h.plugin.handler, body)
		return outcomeInternal
	}
	cfg := h.plugin.cfg
	if *r.Allocated >= cfg.Charge || (cfg.BestEffort && *r.Allocated > 0) {
		return outcomeOK
	}
	return outcomeExhausted
}

// finish sends the verdict; resume says the request is paused.
func (h *httpContext) finish(resume bool) types.Action {
	p := h.plugin
	var code mixer.Code
	var msg string
	switch h.worst {
	case outcomeOK:
		p.allowed.Increment(1)
		if resume {
			if err := proxywasm.ResumeHttpRequest(); err != nil {
				proxywasm.LogErrorf("redisquota: resume: %v", err)
			}
		}
		return types.ActionContinue
	case outcomeExhausted:
		p.denied.Increment(1)
		code, msg = mixer.ResourceExhausted, "redisquota: Resource exhausted"
	case outcomeUnavailable:
		p.unavailable.Increment(1)
		code, msg = mixer.Unavailable, "redisquota: Service Unavailable"
	default:
		p.unavailable.Increment(1)
		code, msg = mixer.Internal, "redisquota: Internal Error"
	}
	return mixer.Deny(code, p.handler, msg, nil)
}

// src reads the current stream, with this plugin's static properties cached.
func (p *pluginContext) src() mixer.HostSource { return mixer.HostSource{Static: &p.static} }
