package host

import (
	"context"
	"fmt"
	"io"
	"math"
	"sort"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/tetratelabs/wazero/api"
)

// MetricType is a proxy_metric_type_t.
type MetricType uint32

// Metric types.
const (
	Counter   MetricType = 0
	Gauge     MetricType = 1
	Histogram MetricType = 2
)

func (t MetricType) String() string {
	switch t {
	case Counter:
		return "counter"
	case Gauge:
		return "gauge"
	case Histogram:
		return "histogram"
	}
	return "untyped"
}

// histogramBounds are Envoy's default histogram buckets.
var histogramBounds = []float64{0.5, 1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000, 300000, 600000, 1800000, 3600000}

type metric struct {
	plugin string
	name   string
	typ    MetricType
	val    atomic.Int64 // counter/gauge; histogram: last recorded value
	mu     sync.Mutex   // histogram
	counts []uint64
	sum    float64
	count  uint64
}

type metricStore struct {
	mu    sync.RWMutex
	byKey map[[3]string]uint32
	list  []*metric // index id>>2 - 1
	host  sync.Map  // [2]string → *atomic.Uint64
}

func newMetricStore() *metricStore {
	return &metricStore{byKey: map[[3]string]uint32{}}
}

func (s *metricStore) define(plugin, name string, t MetricType) uint32 {
	key := [3]string{plugin, name, t.String()}
	s.mu.Lock()
	defer s.mu.Unlock()
	if id, ok := s.byKey[key]; ok {
		return id
	}
	m := &metric{plugin: plugin, name: name, typ: t}
	if t == Histogram {
		m.counts = make([]uint64, len(histogramBounds))
	}
	s.list = append(s.list, m)
	id := uint32(len(s.list))<<2 | uint32(t)
	s.byKey[key] = id
	return id
}

func (s *metricStore) get(id uint32) *metric {
	idx := int(id>>2) - 1
	s.mu.RLock()
	defer s.mu.RUnlock()
	if idx < 0 || idx >= len(s.list) || uint32(s.list[idx].typ) != id&3 {
		return nil
	}
	return s.list[idx]
}

func (s *metricStore) hostCounter(plugin, name string) {
	v, _ := s.host.LoadOrStore([2]string{plugin, name}, new(atomic.Uint64))
	v.(*atomic.Uint64).Add(1)
}

func hDefineMetric(_ context.Context, in *instance, a args) Status {
	if a[0] > uint32(Histogram) {
		return StatusBadArgument
	}
	name, ok := in.read(a[1], a[2])
	if !ok {
		return StatusInvalidMemoryAccess
	}
	id := in.p.rt.metrics.define(in.p.cfg.Name, string(name), MetricType(a[0]))
	return in.wU32(a[3], id)
}

// metricI64 implements proxy_increment_metric and proxy_record_metric,
// whose second parameter is an i64.
func metricI64(record bool) api.GoModuleFunc {
	return func(ctx context.Context, _ api.Module, st []uint64) {
		in := instOf(ctx)
		if in == nil {
			st[0] = uint64(StatusInternalFailure)
			return
		}
		m := in.p.rt.metrics.get(uint32(st[0]))
		if m == nil {
			st[0] = uint64(StatusNotFound)
			return
		}
		if record {
			st[0] = uint64(m.record(int64(st[1])))
		} else {
			st[0] = uint64(m.increment(int64(st[1])))
		}
	}
}

func hGetMetric(_ context.Context, in *instance, a args) Status {
	m := in.p.rt.metrics.get(a[0])
	if m == nil {
		return StatusNotFound
	}
	return in.wU64(a[1], uint64(m.val.Load()))
}

func (m *metric) increment(delta int64) Status {
	switch m.typ {
	case Counter:
		if delta < 0 {
			return StatusBadArgument
		}
		m.val.Add(delta)
	case Gauge:
		m.val.Add(delta)
	default:
		return StatusBadArgument
	}
	return StatusOK
}

func (m *metric) record(v int64) Status {
	switch m.typ {
	case Counter, Gauge:
		m.val.Store(v)
	case Histogram:
		m.val.Store(v)
		m.mu.Lock()
		f := float64(uint64(v))
		for i, b := range histogramBounds {
			if f <= b {
				m.counts[i]++
			}
		}
		m.sum += f
		m.count++
		m.mu.Unlock()
	}
	return StatusOK
}

// MetricSample is one filter-defined metric's current value.
type MetricSample struct {
	Plugin string
	Name   string
	Type   MetricType
	Value  int64   // counter and gauge; last value for a histogram
	Count  uint64  // histogram observations
	Sum    float64 // histogram sum
}

// Metrics returns every metric the filters defined, sorted by plugin and
// name, plus the host's own per-plugin counters (Type Counter, Name
// prefixed "wasm_host_": crashes, failed_streams, callouts...).
func (r *Runtime) Metrics() []MetricSample {
	s := r.metrics
	s.mu.RLock()
	out := make([]MetricSample, 0, len(s.list))
	for _, m := range s.list {
		ms := MetricSample{Plugin: m.plugin, Name: m.name, Type: m.typ, Value: m.val.Load()}
		if m.typ == Histogram {
			m.mu.Lock()
			ms.Count, ms.Sum = m.count, m.sum
			m.mu.Unlock()
		}
		out = append(out, ms)
	}
	s.mu.RUnlock()
	s.host.Range(func(k, v any) bool {
		key := k.([2]string)
		out = append(out, MetricSample{Plugin: key[0], Name: "wasm_host_" + key[1], Type: Counter, Value: int64(v.(*atomic.Uint64).Load())})
		return true
	})
	sort.Slice(out, func(i, j int) bool {
		if out[i].Plugin != out[j].Plugin {
			return out[i].Plugin < out[j].Plugin
		}
		return out[i].Name < out[j].Name
	})
	return out
}

// MetricValue returns the value of a filter metric of a plugin.
func (r *Runtime) MetricValue(plugin, name string) (int64, bool) {
	for _, m := range r.Metrics() {
		if m.Plugin == plugin && m.Name == name {
			return m.Value, true
		}
	}
	return 0, false
}

// PromName turns a filter metric name into a valid Prometheus metric name.
func PromName(name string) string {
	var b strings.Builder
	for i, c := range name {
		ok := c == '_' || c == ':' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (i > 0 && c >= '0' && c <= '9')
		if ok {
			b.WriteRune(c)
		} else {
			b.WriteByte('_')
		}
	}
	if b.Len() == 0 {
		return "_"
	}
	return b.String()
}

func escLabel(s string) string {
	return strings.NewReplacer(`\`, `\\`, "\n", `\n`, `"`, `\"`).Replace(s)
}

// WritePrometheus writes every filter metric and host counter in the
// Prometheus text exposition format (version 0.0.4). Filter metrics keep
// their (sanitized) name and get a plugin label; the raw name is kept in a
// wasm_name label when sanitizing changed it.
func (r *Runtime) WritePrometheus(w io.Writer) error {
	type line struct {
		labels string
		m      MetricSample
	}
	families := map[string][]line{}
	types := map[string]MetricType{}
	for _, m := range r.Metrics() {
		name := PromName(m.Name)
		if m.Type == Counter && strings.HasPrefix(m.Name, "wasm_host_") && !strings.HasSuffix(name, "_total") {
			name += "_total"
		}
		if t, ok := types[name]; ok && t != m.Type {
			name = name + "_" + m.Type.String()
		}
		types[name] = m.Type
		labels := `plugin="` + escLabel(m.Plugin) + `"`
		if PromName(m.Name) != m.Name {
			labels += `,wasm_name="` + escLabel(m.Name) + `"`
		}
		families[name] = append(families[name], line{labels, m})
	}
	names := make([]string, 0, len(families))
	for n := range families {
		names = append(names, n)
	}
	sort.Strings(names)
	var sb strings.Builder
	for _, n := range names {
		t := types[n]
		fmt.Fprintf(&sb, "# TYPE %s %s\n", n, t)
		for _, l := range families[n] {
			if t != Histogram {
				fmt.Fprintf(&sb, "%s{%s} %d\n", n, l.labels, l.m.Value)
				continue
			}
			m := r.histogram(l.m.Plugin, l.m.Name)
			if m == nil {
				continue
			}
			m.mu.Lock()
			for i, b := range histogramBounds {
				fmt.Fprintf(&sb, "%s_bucket{%s,le=\"%g\"} %d\n", n, l.labels, b, m.counts[i])
			}
			fmt.Fprintf(&sb, "%s_bucket{%s,le=\"+Inf\"} %d\n", n, l.labels, m.count)
			fmt.Fprintf(&sb, "%s_sum{%s} %s\n", n, l.labels, fmtFloat(m.sum))
			fmt.Fprintf(&sb, "%s_count{%s} %d\n", n, l.labels, m.count)
			m.mu.Unlock()
		}
	}
	_, err := io.WriteString(w, sb.String())
	return err
}

func fmtFloat(f float64) string {
	if math.IsInf(f, 0) || math.IsNaN(f) {
		return fmt.Sprint(f)
	}
	return fmt.Sprintf("%g", f)
}

func (r *Runtime) histogram(plugin, name string) *metric {
	s := r.metrics
	s.mu.RLock()
	defer s.mu.RUnlock()
	id, ok := s.byKey[[3]string{plugin, name, Histogram.String()}]
	if !ok {
		return nil
	}
	return s.list[int(id>>2)-1]
}
