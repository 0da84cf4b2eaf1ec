// Command prometheus is the Istio Mixer prometheus adapter as a proxy-wasm
// filter: Istio's standard request metrics (istio_requests_total and the
// duration and size distributions, with the standard labels) or your own,
// recorded in on_log through the proxy-wasm metrics ABI, which the proxy
// exposes to Prometheus.
package main

import (
	_ "embed"
	"encoding/json"
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

type metricConfig struct {
	Name        string                `json:"name"`
	Kind        string                `json:"kind"`
	Description string                `json:"description"`
	Value       *mixer.Attr           `json:"value"`
	LabelNames  []string              `json:"label_names"`
	Dimensions  map[string]mixer.Attr `json:"dimensions"`
	Buckets     map[string]any        `json:"buckets"`

	labels []mixer.Attr
}

type config struct {
	Namespace   string               `json:"namespace"`
	Metrics     []metricConfig       `json:"metrics"`
	TagEncoding string               `json:"tag_encoding"`
	Exclude     *mixer.MatcherConfig `json:"exclude"`

	exclude *mixer.Matcher
}

func a(name string, def string) mixer.Attr { return mixer.Attr{Attribute: name, Default: def} }

// standardLabels are Istio's standard metric labels and where their values
// come from; "unknown" when absent, as in Istio.
var standardLabels = map[string]mixer.Attr{
	"reporter":                       a("context.reporter.type", "unknown"),
	"source_workload":                a("source.workload.name", "unknown"),
	"source_workload_namespace":      a("source.workload.namespace", "unknown"),
	"source_principal":               a("source.principal", "unknown"),
	"source_app":                     a("source.labels[app]", "unknown"),
	"source_version":                 a("source.labels[version]", "unknown"),
	"destination_workload":           a("destination.workload.name", "unknown"),
	"destination_workload_namespace": a("destination.workload.namespace", "unknown"),
	"destination_principal":          a("destination.principal", "unknown"),
	"destination_app":                a("destination.labels[app]", "unknown"),
	"destination_version":            a("destination.labels[version]", "unknown"),
	"destination_service":            a("destination.service.host", "unknown"),
	"destination_service_name":       a("destination.service.name", "unknown"),
	"destination_service_namespace":  a("destination.service.namespace", "unknown"),
	"request_protocol":               a("context.protocol", "unknown"),
	"response_code":                  a("response.code", "200"),
	"response_flags":                 a("context.proxy_error_code", "-"),
	"connection_security_policy":     a("connection.security_policy", "unknown"),
}

var standardLabelNames = []string{"reporter", "source_workload", "source_workload_namespace", "source_principal", "source_app",
	"source_version", "destination_workload", "destination_workload_namespace", "destination_principal", "destination_app",
	"destination_version", "destination_service", "destination_service_name", "destination_service_namespace",
	"request_protocol", "response_code", "response_flags", "connection_security_policy"}

func defaultMetrics() []metricConfig {
	return []metricConfig{
		{Name: "requests_total", Kind: "COUNTER", LabelNames: standardLabelNames},
		{Name: "request_duration_milliseconds", Kind: "DISTRIBUTION", LabelNames: standardLabelNames,
			Value: &mixer.Attr{Attribute: "request.duration", Unit: "ms"}},
		{Name: "request_bytes", Kind: "DISTRIBUTION", LabelNames: standardLabelNames, Value: &mixer.Attr{Attribute: "request.total_size"}},
		{Name: "response_bytes", Kind: "DISTRIBUTION", LabelNames: standardLabelNames, Value: &mixer.Attr{Attribute: "response.total_size"}},
	}
}

var defaultExclude = `{"any":[{"attr":{"attribute":"request.useragent"},"prefix":"kube-probe"},{"attr":{"attribute":"request.useragent"},"prefix":"Prometheus"}]}`

func parseConfig(data []byte) (*config, error) {
	c := &config{Namespace: "istio", TagEncoding: "istio"}
	if err := mixer.DecodeConfig(schema, data, c); err != nil {
		return nil, err
	}
	if c.Metrics == nil {
		c.Metrics = defaultMetrics()
	}
	for i := range c.Metrics {
		m := &c.Metrics[i]
		field := "metrics[" + strconv.Itoa(i) + "]"
		if m.Kind == "" {
			m.Kind = "COUNTER"
		}
		if m.Value == nil {
			m.Value = &mixer.Attr{Literal: 1.0}
		}
		if err := m.Value.Check(field + ".value"); err != nil {
			return nil, err
		}
		for name, d := range m.Dimensions {
			if err := d.Check(field + ".dimensions." + name); err != nil {
				return nil, err
			}
		}
		for j, l := range m.LabelNames {
			src, ok := m.Dimensions[l]
			if !ok {
				src, ok = standardLabels[l]
			}
			if !ok {
				return nil, &mixer.ValidationError{Field: field + ".label_names[" + strconv.Itoa(j) + "]",
					Reason: "label " + l + " is not an Istio standard label: add dimensions." + l}
			}
			if err := src.Check(field + ".dimensions." + l); err != nil {
				return nil, err
			}
			m.labels = append(m.labels, src)
		}
	}
	if c.Exclude == nil {
		c.Exclude = &mixer.MatcherConfig{}
		if err := json.Unmarshal([]byte(defaultExclude), c.Exclude); err != nil {
			return nil, err
		}
	}
	ex, err := mixer.CompileMatcher(c.Exclude, "exclude")
	if err != nil {
		return nil, err
	}
	c.exclude = ex
	return c, nil
}

// sanitize keeps label values safe for both encodings: characters outside
// [A-Za-z0-9_.:/@-] become '_'.
func sanitize(s string) string {
	ok := true
	for i := 0; i < len(s); i++ {
		if !safe(s[i]) {
			ok = false
			break
		}
	}
	if ok {
		return s
	}
	b := []byte(s)
	for i := range b {
		if !safe(b[i]) {
			b[i] = '_'
		}
	}
	return string(b)
}

func safe(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("_.:/@-", c) >= 0
}

// seriesName encodes a metric name with its labels.
func seriesName(enc, full string, names, values []string) string {
	var b strings.Builder
	b.WriteString(full)
	if enc == "flat" {
		if len(names) == 0 {
			return full
		}
		b.WriteByte('{')
		for i, n := range names {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString(n)
			b.WriteString(`="`)
			b.WriteString(values[i])
			b.WriteByte('"')
		}
		b.WriteByte('}')
		return b.String()
	}
	for i, n := range names {
		b.WriteString(";.;")
		b.WriteString(n)
		b.WriteString("=.=")
		b.WriteString(values[i])
	}
	return b.String()
}

type vmContext struct {
	types.DefaultVMContext
	last *pluginContext // the most recent plugin context, for tests
}

func (v *vmContext) NewPluginContext(uint32) types.PluginContext {
	v.last = &pluginContext{}
	return v.last
}

type series struct {
	counter proxywasm.MetricCounter
	gauge   proxywasm.MetricGauge
	hist    proxywasm.MetricHistogram
}

type pluginContext struct {
	types.DefaultPluginContext
	static mixer.StaticProperties
	cfg    *config
	series map[string]series // name → defined metric: define_metric once per series
	values []string
	memo   mixer.Memo
	labels map[string]string // label values of the current request
}

func (p *pluginContext) OnPluginStart(int) types.OnPluginStartStatus {
	data, _ := proxywasm.GetPluginConfiguration()
	cfg, err := parseConfig(data)
	if err != nil {
		proxywasm.LogCriticalf("prometheus: %v", err)
		return types.OnPluginStartStatusFailed
	}
	p.cfg = cfg
	p.series = map[string]series{}
	return types.OnPluginStartStatusOK
}

func (p *pluginContext) NewHttpContext(uint32) types.HttpContext {
	return &httpContext{plugin: p}
}

type httpContext struct {
	types.DefaultHttpContext
	plugin *pluginContext
}

func (h *httpContext) OnHttpStreamDone() {
	p := h.plugin
	p.memo.Src = p.src()
	p.memo.Reset()
	p.record(&p.memo)
}

func (p *pluginContext) record(src mixer.Source) {
	cfg := p.cfg
	if p.labels == nil {
		p.labels = map[string]string{}
	}
	clear(p.labels)
	if cfg.exclude.Match(src) {
		return
	}
	for i := range cfg.Metrics {
		m := &cfg.Metrics[i]
		v, ok := m.Value.Resolve(src)
		if !ok {
			continue // e.g. request.duration on a reset stream: nothing to record
		}
		amount, ok := m.Value.Number(v)
		if !ok || amount < 0 {
			continue
		}
		p.values = p.values[:0]
		for j := range m.labels {
			// The default metrics share their labels: resolve each once.
			name := m.LabelNames[j]
			s, seen := p.labels[name]
			if !seen || m.Dimensions != nil {
				v, ok := m.labels[j].ResolveString(src)
				if !ok || v == "" {
					v = "unknown"
				}
				s = sanitize(v)
				if m.Dimensions == nil {
					p.labels[name] = s
				}
			}
			p.values = append(p.values, s)
		}
		name := seriesName(cfg.TagEncoding, cfg.Namespace+"_"+m.Name, m.LabelNames, p.values)
		s, ok := p.series[name]
		if !ok {
			switch m.Kind {
			case "GAUGE":
				s.gauge = proxywasm.DefineGaugeMetric(name)
			case "DISTRIBUTION":
				s.hist = proxywasm.DefineHistogramMetric(name)
			default:
				s.counter = proxywasm.DefineCounterMetric(name)
			}
			p.series[name] = s
		}
		switch m.Kind {
		case "GAUGE":
			s.gauge.Add(int64(amount) - s.gauge.Value())
		case "DISTRIBUTION":
			s.hist.Record(uint64(amount + 0.5))
		default:
			s.counter.Increment(uint64(amount + 0.5))
		}
	}
}

// src reads the current stream, with this plugin's static properties cached.
func (p *pluginContext) src() mixer.HostSource { return mixer.HostSource{Static: &p.static} }
