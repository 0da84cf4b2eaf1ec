// Command stdio is the Istio Mixer stdio adapter with Mixer's default
// accesslog instance as a proxy-wasm filter: one access-log entry per
// request, as JSON or console text, written through proxy_log at the
// entry's level, or batched through a shared queue and shipped by HTTP
// callout (the fluentd/solarwinds-style sink).
package main

import (
	_ "embed"
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

type batchConfig struct {
	mixer.Callout
	MaxEntries    int             `json:"max_entries"`
	FlushInterval *mixer.Duration `json:"flush_interval"`
}

type config struct {
	InstanceName   string                `json:"instance_name"`
	Severity       string                `json:"severity"`
	SeverityLevels map[string]string     `json:"severity_levels"`
	OutputAsJSON   *bool                 `json:"output_as_json"`
	OutputLevel    string                `json:"output_level"`
	Variables      map[string]mixer.Attr `json:"variables"`
	Extra          map[string]mixer.Attr `json:"extra_variables"`
	Filter         *mixer.MatcherConfig  `json:"filter"`
	Sink           string                `json:"sink"`
	Batch          *batchConfig          `json:"batch"`
	TimeProperty   []string              `json:"time_property"`

	json   bool
	level  Level
	min    Level
	names  []string
	attrs  []mixer.Attr
	filter *mixer.Matcher
	flush  time.Duration
}

func parseConfig(data []byte) (*config, error) {
	c := &config{InstanceName: "accesslog.logentry.istio-system", Severity: "Info", OutputLevel: "INFO", Sink: "log"}
	if err := mixer.DecodeConfig(schema, data, c); err != nil {
		return nil, err
	}
	c.json = c.OutputAsJSON == nil || *c.OutputAsJSON
	c.level = mapSeverity(c.Severity, c.SeverityLevels)
	c.min = levelNames[c.OutputLevel]
	vars := c.Variables
	where := "variables"
	if vars == nil {
		vars = defaultVariables()
		where = "extra_variables"
	}
	for k, v := range c.Extra {
		vars[k] = v
	}
	var fs []field
	for name := range vars {
		fs = append(fs, fieldOf(name))
	}
	sortFields(fs)
	for _, f := range fs {
		a := vars[f.name]
		if err := a.Check(where + "." + f.name); err != nil {
			return nil, err
		}
		c.names = append(c.names, f.name)
		c.attrs = append(c.attrs, a)
	}
	m, err := mixer.CompileMatcher(c.Filter, "filter")
	if err != nil {
		return nil, err
	}
	c.filter = m
	if c.Sink == "queue" {
		if c.Batch == nil {
			return nil, &mixer.ValidationError{Field: "batch", Reason: "is required when sink is \"queue\""}
		}
		if c.Batch.MaxEntries == 0 {
			c.Batch.MaxEntries = 500
		}
		c.flush = 10 * time.Second
		if c.Batch.FlushInterval != nil {
			c.flush = c.Batch.FlushInterval.D()
		}
		if c.flush < time.Millisecond {
			return nil, &mixer.ValidationError{Field: "batch.flush_interval", Reason: "must be at least 1ms"}
		}
	}
	return c, nil
}

func fieldOf(name string) field { return field{name: name} }

type vmContext struct{ types.DefaultVMContext }

func (*vmContext) NewPluginContext(uint32) types.PluginContext { return &pluginContext{} }

type pluginContext struct {
	types.DefaultPluginContext
	static  mixer.StaticProperties
	cfg     *config
	queueID uint32
	pending [][]byte // entries dequeued by this root, waiting for a flush
	flushes proxywasm.MetricCounter
	errors  proxywasm.MetricCounter
	dropped proxywasm.MetricCounter
	buf     []byte
	memo    mixer.Memo
}

func (p *pluginContext) OnPluginStart(int) types.OnPluginStartStatus {
	data, _ := proxywasm.GetPluginConfiguration()
	cfg, err := parseConfig(data)
	if err != nil {
		proxywasm.LogCriticalf("stdio: %v", err)
		return types.OnPluginStartStatusFailed
	}
	p.cfg = cfg
	if cfg.Sink == "queue" {
		id, err := proxywasm.RegisterSharedQueue("stdio/" + cfg.InstanceName)
		if err != nil {
			proxywasm.LogCriticalf("stdio: register shared queue: %v", err)
			return types.OnPluginStartStatusFailed
		}
		p.queueID = id
		p.flushes = proxywasm.DefineCounterMetric("stdio_flush_total")
		p.errors = proxywasm.DefineCounterMetric("stdio_flush_errors_total")
		p.dropped = proxywasm.DefineCounterMetric("stdio_dropped_entries_total")
		if err := proxywasm.SetTickPeriodMilliSeconds(uint32(cfg.flush / time.Millisecond)); err != nil {
			proxywasm.LogCriticalf("stdio: set tick period: %v", err)
			return types.OnPluginStartStatusFailed
		}
	}
	return types.OnPluginStartStatusOK
}

// OnQueueReady moves queued entries into the pending batch and flushes
// full batches right away.
func (p *pluginContext) OnQueueReady(queueID uint32) {
	for {
		e, err := proxywasm.DequeueSharedQueue(queueID)
		if err != nil {
			break
		}
		p.pending = append(p.pending, e)
		if len(p.pending) >= p.cfg.Batch.MaxEntries {
			p.flush()
		}
	}
}

// OnTick flushes whatever waits.
func (p *pluginContext) OnTick() {
	p.OnQueueReady(p.queueID)
	if len(p.pending) > 0 {
		p.flush()
	}
}

// flush POSTs the pending entries as newline-delimited JSON (or text).
func (p *pluginContext) flush() {
	entries := p.pending
	p.pending = nil
	var body []byte
	for _, e := range entries {
		body = append(body, e...)
		body = append(body, '\n')
	}
	b := p.cfg.Batch
	ct := "application/x-ndjson"
	if !p.cfg.json {
		ct = "text/plain"
	}
	headers := [][2]string{{":method", "POST"}, {":path", b.PathOr("/")}, {":authority", b.AuthorityOr()}, {"content-type", ct}}
	timeout := uint32(b.TimeoutMs)
	if timeout == 0 {
		timeout = 5000
	}
	n := len(entries)
	p.flushes.Increment(1)
	_, err := proxywasm.DispatchHttpCall(b.Cluster, headers, body, nil, timeout, func(numHeaders, _, _ int) {
		st := ""
		if numHeaders > 0 {
			hs, _ := proxywasm.GetHttpCallResponseHeaders()
			for _, h := range hs {
				if h[0] == ":status" {
					st = h[1]
				}
			}
		}
		if len(st) != 3 || st[0] != '2' {
			p.errors.Increment(1)
			p.dropped.Increment(uint64(n))
			proxywasm.LogWarnf("stdio: shipping %d entries to %s failed (status %q); dropped", n, b.Cluster, st)
		}
	})
	if err != nil {
		p.errors.Increment(1)
		p.dropped.Increment(uint64(n))
		proxywasm.LogWarnf("stdio: dispatch to cluster %q: %v; %d entries dropped", b.Cluster, err, n)
	}
}

func (p *pluginContext) NewHttpContext(uint32) types.HttpContext {
	return &httpContext{plugin: p}
}

type httpContext struct {
	types.DefaultHttpContext
	plugin *pluginContext
}

// entry renders the access-log entry for the current stream.
func (p *pluginContext) entry(src mixer.Source) []byte {
	cfg := p.cfg
	fields := make([]field, 0, len(cfg.names))
	for i := range cfg.attrs {
		v, ok := cfg.attrs[i].Resolve(src)
		if !ok {
			continue
		}
		fields = append(fields, field{name: cfg.names[i], v: v})
	}
	var ts int64
	if b, ok := src.Property("request", "time"); ok {
		if v, ok := mixer.Decode(b, "timestamp"); ok {
			ts = v.I
		}
	}
	if ts == 0 {
		ts = mixer.Clock(cfg.TimeProperty)
	}
	tstr := time.Unix(0, ts).UTC().Format(time.RFC3339Nano)
	p.buf = p.buf[:0]
	if cfg.json {
		p.buf = formatJSON(p.buf, cfg.level, tstr, cfg.InstanceName, fields)
	} else {
		p.buf = formatConsole(p.buf, cfg.level, tstr, cfg.InstanceName, fields)
	}
	return p.buf
}

func (h *httpContext) OnHttpStreamDone() {
	p := h.plugin
	cfg := p.cfg
	if cfg.level < cfg.min {
		return
	}
	p.memo.Src = p.src()
	p.memo.Reset()
	src := &p.memo
	if !cfg.filter.Match(src) {
		return
	}
	e := p.entry(src)
	if cfg.Sink == "queue" {
		if err := proxywasm.EnqueueSharedQueue(p.queueID, e); err != nil {
			proxywasm.LogWarnf("stdio: enqueue: %v", err)
		}
		return
	}
	msg := string(e)
	switch cfg.level {
	case LevelError:
		proxywasm.LogError(msg)
	case LevelWarning:
		proxywasm.LogWarn(msg)
	default:
		proxywasm.LogInfo(msg)
	}
}

// src reads the current stream, with this plugin's static properties cached.
func (p *pluginContext) src() mixer.HostSource { return mixer.HostSource{Static: &p.static} }
