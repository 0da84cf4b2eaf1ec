// Command peer-metadata is Istio's HTTP metadata exchange as a proxy-wasm
// filter, the replacement for Mixer's kubernetesenv adapter: each sidecar
// sends its own node metadata (workload, namespace, labels, …) to its peer
// in the x-envoy-peer-metadata headers, and turns the peer's headers into
// properties (downstream_peer, upstream_peer and flat source_* /
// destination_* attributes) for the filters after it.
package main

import (
	"container/list"
	_ "embed"
	"encoding/base64"
	"encoding/json"
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

// The exchange headers, as in Istio.
const (
	headerID       = "x-envoy-peer-metadata-id"
	headerMetadata = "x-envoy-peer-metadata"
)

type config struct {
	MaxPeerCacheSize int      `json:"max_peer_cache_size"`
	ExchangeKeys     []string `json:"exchange_keys"`
	Encoding         string   `json:"encoding"`
	EmitAttributes   *bool    `json:"emit_attributes"`
	Direction        string   `json:"direction"`

	emit bool
}

func parseConfig(data []byte) (*config, error) {
	c := &config{MaxPeerCacheSize: 1000, Encoding: "json-base64", Direction: "auto",
		ExchangeKeys: []string{"NAME", "NAMESPACE", "LABELS", "OWNER", "WORKLOAD_NAME", "CLUSTER_ID", "SERVICE_ACCOUNT"}}
	if err := mixer.DecodeConfig(schema, data, c); err != nil {
		return nil, err
	}
	c.emit = c.EmitAttributes == nil || *c.EmitAttributes
	return c, nil
}

// flatKeys maps node metadata keys to the flat attribute suffixes the
// mixer attribute resolver reads (source.workload.name → source_workload_name).
var flatKeys = map[string][]string{
	"WORKLOAD_NAME":   {"workload_name"},
	"NAMESPACE":       {"workload_namespace", "namespace"},
	"NAME":            {"name"},
	"OWNER":           {"owner"},
	"CLUSTER_ID":      {"cluster_id"},
	"SERVICE_ACCOUNT": {"service_account"},
}

// peer is decoded peer metadata.
type peer struct {
	raw    []byte            // the JSON object, stored as downstream_peer / upstream_peer
	fields map[string]string // string-valued keys
	labels map[string]string
}

// decodePeer decodes the x-envoy-peer-metadata value.
func decodePeer(v string) (*peer, bool) {
	b, err := base64.StdEncoding.DecodeString(strings.TrimSpace(v))
	if err != nil {
		return nil, false
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, false
	}
	p := &peer{raw: b, fields: map[string]string{}, labels: map[string]string{}}
	for k, x := range m {
		switch val := x.(type) {
		case string:
			p.fields[k] = val
		case map[string]any:
			if k == "LABELS" {
				for lk, lv := range val {
					if s, ok := lv.(string); ok {
						p.labels[lk] = s
					}
				}
			}
		}
	}
	return p, true
}

// lru is a small per-VM cache of decoded peers.
type lru struct {
	max   int
	ll    *list.List
	items map[string]*list.Element
}

type lruEntry struct {
	key string
	p   *peer
}

func (c *lru) get(k string) (*peer, bool) {
	if el, ok := c.items[k]; ok {
		c.ll.MoveToFront(el)
		return el.Value.(*lruEntry).p, true
	}
	return nil, false
}

func (c *lru) put(k string, p *peer) {
	c.items[k] = c.ll.PushFront(&lruEntry{k, p})
	for c.ll.Len() > c.max {
		old := c.ll.Back()
		c.ll.Remove(old)
		delete(c.items, old.Value.(*lruEntry).key)
	}
}

type vmContext struct{ types.DefaultVMContext }

func (*vmContext) NewPluginContext(uint32) types.PluginContext { return &pluginContext{} }

type pluginContext struct {
	types.DefaultPluginContext
	static    mixer.StaticProperties
	cfg       *config
	cache     *lru
	ownID     string
	ownHeader string
	ownReady  bool
	hits      proxywasm.MetricCounter
	misses    proxywasm.MetricCounter
	invalid   proxywasm.MetricCounter
}

func (p *pluginContext) OnPluginStart(int) types.OnPluginStartStatus {
	data, _ := proxywasm.GetPluginConfiguration()
	cfg, err := parseConfig(data)
	if err != nil {
		proxywasm.LogCriticalf("peer-metadata: %v", err)
		return types.OnPluginStartStatusFailed
	}
	p.cfg = cfg
	p.cache = &lru{max: cfg.MaxPeerCacheSize, ll: list.New(), items: map[string]*list.Element{}}
	p.hits = proxywasm.DefineCounterMetric("peer_metadata_cache_hit_total")
	p.misses = proxywasm.DefineCounterMetric("peer_metadata_cache_miss_total")
	p.invalid = proxywasm.DefineCounterMetric("peer_metadata_invalid_total")
	return types.OnPluginStartStatusOK
}

// nodeValue reads one node metadata key: a string, or for maps (LABELS) a
// JSON object or proxy-wasm pairs.
func nodeValue(src mixer.Source, key string) (any, bool) {
	var b []byte
	var ok bool
	for _, prefix := range [][]string{{"xds", "node", "metadata"}, {"node", "metadata"}} {
		if b, ok = src.Property(append(prefix, key)...); ok {
			break
		}
	}
	if !ok || len(b) == 0 {
		return nil, false
	}
	if b[0] == '{' {
		var m map[string]any
		if json.Unmarshal(b, &m) == nil {
			return m, true
		}
	}
	if key == "LABELS" {
		if m, ok := deserializePairs(b); ok {
			return m, true
		}
	}
	return string(b), true
}

// own returns this proxy's id and encoded metadata (computed once).
func (p *pluginContext) own(src mixer.Source) (string, string) {
	if p.ownReady {
		return p.ownID, p.ownHeader
	}
	m := map[string]any{}
	for _, k := range p.cfg.ExchangeKeys {
		if v, ok := nodeValue(src, k); ok {
			m[k] = v
		}
	}
	b, _ := json.Marshal(m)
	p.ownHeader = base64.StdEncoding.EncodeToString(b)
	if id, ok := mixer.NodeID(src); ok {
		p.ownID = id
	}
	p.ownReady = true
	return p.ownID, p.ownHeader
}

func (p *pluginContext) NewHttpContext(uint32) types.HttpContext {
	return &httpContext{plugin: p}
}

type httpContext struct {
	types.DefaultHttpContext
	plugin *pluginContext
}

func (h *httpContext) outbound(src mixer.Source) bool {
	switch h.plugin.cfg.Direction {
	case "outbound":
		return true
	case "inbound":
		return false
	}
	return mixer.ListenerDirection(src) == mixer.Outbound
}

func (h *httpContext) OnHttpRequestHeaders(int, bool) types.Action {
	src := h.plugin.src()
	if h.outbound(src) {
		id, md := h.plugin.own(src)
		h.send(proxywasm.ReplaceHttpRequestHeader, id, md)
		return types.ActionContinue
	}
	h.consume(src.RequestHeader, proxywasm.RemoveHttpRequestHeader, "downstream_peer", "source")
	return types.ActionContinue
}

func (h *httpContext) OnHttpResponseHeaders(int, bool) types.Action {
	src := h.plugin.src()
	if h.outbound(src) {
		h.consume(src.ResponseHeader, proxywasm.RemoveHttpResponseHeader, "upstream_peer", "destination")
		return types.ActionContinue
	}
	id, md := h.plugin.own(src)
	h.send(proxywasm.ReplaceHttpResponseHeader, id, md)
	return types.ActionContinue
}

func (h *httpContext) send(set func(string, string) error, id, md string) {
	if id != "" {
		if err := set(headerID, id); err != nil {
			proxywasm.LogDebugf("peer-metadata: set %s: %v", headerID, err)
		}
	}
	if err := set(headerMetadata, md); err != nil {
		proxywasm.LogDebugf("peer-metadata: set %s: %v", headerMetadata, err)
	}
}

// consume reads and removes the peer's headers and publishes the peer as
// properties: <prop> (JSON), <prop>_id and, with emit_attributes, the flat
// <side>_* attributes.
func (h *httpContext) consume(get func(string) (string, bool), remove func(string) error, prop, side string) {
	p := h.plugin
	id, hasID := get(headerID)
	md, hasMD := get(headerMetadata)
	if hasID {
		_ = remove(headerID)
	}
	if hasMD {
		_ = remove(headerMetadata)
	}
	if !hasMD {
		return
	}
	key := id + "\x00" + md
	peer, ok := p.cache.get(key)
	if ok {
		p.hits.Increment(1)
	} else {
		p.misses.Increment(1)
		peer, ok = decodePeer(md)
		if !ok {
			p.invalid.Increment(1)
			proxywasm.LogDebugf("peer-metadata: ignoring undecodable %s from peer %q", headerMetadata, id)
			return
		}
		p.cache.put(key, peer)
	}
	set := func(name, v string) {
		if v == "" {
			return
		}
		if err := proxywasm.SetProperty([]string{name}, []byte(v)); err != nil {
			proxywasm.LogDebugf("peer-metadata: set_property %s: %v", name, err)
		}
	}
	set(prop, string(peer.raw))
	if hasID {
		set(prop+"_id", id)
	}
	if !p.cfg.emit {
		return
	}
	for key, names := range flatKeys {
		if v, ok := peer.fields[key]; ok {
			for _, n := range names {
				set(side+"_"+n, v)
			}
		}
	}
	for k, v := range peer.labels {
		set(side+"_labels_"+k, v)
	}
}

// src reads the current stream, with this plugin's static properties cached.
func (p *pluginContext) src() mixer.HostSource { return mixer.HostSource{Static: &p.static} }
