// Command listchecker is the Istio Mixer list adapter ("listchecker") as a
// proxy-wasm filter: it checks a value taken from the request against a list
// of strings, case-insensitive strings, IP ranges or regular expressions, as
// a whitelist or a blacklist. The list is local (overrides), fetched from an
// HTTP provider on a timer and shared across every VM instance through
// shared data, or both.
package main

import (
	_ "embed"
	"fmt"
	"strconv"
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
	HandlerName        string          `json:"handler_name"`
	Value              mixer.Attr      `json:"value"`
	EntryType          entryType       `json:"entry_type"`
	Blacklist          bool            `json:"blacklist"`
	Overrides          []string        `json:"overrides"`
	Provider           *mixer.Callout  `json:"provider"`
	RefreshInterval    *mixer.Duration `json:"refresh_interval"`
	TTL                *mixer.Duration `json:"ttl"`
	CachingInterval    mixer.Duration  `json:"caching_interval"`
	CachingUseCount    int64           `json:"caching_use_count"`
	FailOpenWhenNoList bool            `json:"fail_open_when_no_list"`
	TimeProperty       []string        `json:"time_property"`

	overrides *list
	refresh   time.Duration
	ttl       time.Duration
}

// parseConfig validates a configuration and compiles its local list.
func parseConfig(data []byte) (*config, error) {
	c := &config{EntryType: typeStrings, refresh: 60 * time.Second, ttl: 300 * time.Second}
	if err := mixer.DecodeConfig(schema, data, c); err != nil {
		return nil, err
	}
	if err := c.Value.Check("value"); err != nil {
		return nil, err
	}
	ov, err := compileList(c.EntryType, c.Overrides, "overrides")
	if err != nil {
		return nil, err
	}
	c.overrides = ov
	if c.RefreshInterval != nil {
		c.refresh = c.RefreshInterval.D()
	}
	if c.TTL != nil {
		c.ttl = c.TTL.D()
	}
	if c.Provider != nil {
		if c.refresh < time.Second {
			return nil, &mixer.ValidationError{Field: "refresh_interval", Reason: "must be at least 1s when a provider is set"}
		}
		if c.ttl <= c.refresh {
			return nil, &mixer.ValidationError{Field: "ttl", Reason: fmt.Sprintf("must be greater than refresh_interval (%v)", c.refresh)}
		}
	}
	return c, nil
}

type vmContext struct{ types.DefaultVMContext }

func (*vmContext) NewPluginContext(uint32) types.PluginContext { return &pluginContext{} }

// remoteMeta is what the shared "meta" key holds: the list version (bumped
// when the body changes), the time of the last successful fetch and the
// SHA-1 of the body.
type remoteMeta struct {
	version uint64
	fetched int64
	sha     string
}

func (m remoteMeta) encode() []byte {
	return []byte(fmt.Sprintf("%d %d %s", m.version, m.fetched, m.sha))
}

func decodeMeta(b []byte) (remoteMeta, bool) {
	f := strings.Fields(string(b))
	if len(f) != 3 {
		return remoteMeta{}, false
	}
	v, err1 := strconv.ParseUint(f[0], 10, 64)
	t, err2 := strconv.ParseInt(f[1], 10, 64)
	if err1 != nil || err2 != nil {
		return remoteMeta{}, false
	}
	return remoteMeta{version: v, fetched: t, sha: f[2]}, true
}

type verdict struct {
	code mixer.Code
	msg  string
}

type pluginContext struct {
	types.DefaultPluginContext
	static  mixer.StaticProperties
	cfg     *config
	handler string
	keyMeta string
	keyList string
	keyNext string

	// The remote list as this VM last loaded it from shared data.
	version uint64
	merged  *list

	cache       *mixer.VerdictCache[verdict]
	fetchErrors proxywasm.MetricCounter
	fetches     proxywasm.MetricCounter
}

func (p *pluginContext) OnPluginStart(int) types.OnPluginStartStatus {
	data, _ := proxywasm.GetPluginConfiguration()
	cfg, err := parseConfig(data)
	if err != nil {
		proxywasm.LogCriticalf("listchecker: %v", err)
		return types.OnPluginStartStatusFailed
	}
	p.cfg = cfg
	p.handler = mixer.HandlerName(cfg.HandlerName, "listchecker")
	prefix := "listchecker/" + p.handler + "/"
	p.keyMeta, p.keyList, p.keyNext = prefix+"meta", prefix+"list", prefix+"next_fetch"
	p.cache = mixer.NewVerdictCache[verdict](1000)
	p.merged = cfg.overrides
	p.fetches = proxywasm.DefineCounterMetric("listchecker_fetch_total." + p.handler)
	p.fetchErrors = proxywasm.DefineCounterMetric("listchecker_fetch_errors_total." + p.handler)
	if cfg.Provider != nil {
		if err := proxywasm.SetTickPeriodMilliSeconds(uint32(cfg.refresh / time.Millisecond)); err != nil {
			proxywasm.LogCriticalf("listchecker: set tick period: %v", err)
			return types.OnPluginStartStatusFailed
		}
		p.maybeFetch()
	}
	return types.OnPluginStartStatusOK
}

func (p *pluginContext) now() int64 { return mixer.Clock(p.cfg.TimeProperty) }

func (p *pluginContext) OnTick() { p.maybeFetch() }

// maybeFetch starts a fetch if this VM wins the election for the current
// refresh period: every VM ticks, but only the one that moves the shared
// "next_fetch" time forward with a successful CAS dispatches the callout.
func (p *pluginContext) maybeFetch() {
	now := p.now()
	won := false
	_, err := mixer.UpdateSharedData(p.keyNext, []byte("0"), func(old []byte) ([]byte, bool) {
		next, _ := strconv.ParseInt(string(old), 10, 64)
		if now < next {
			won = false
			return nil, false
		}
		won = true
		// A little less than the period, so the next tick of any VM wins.
		return []byte(strconv.FormatInt(now+int64(p.cfg.refresh)*9/10, 10)), true
	})
	if err != nil {
		proxywasm.LogWarnf("listchecker: %s: elect refresher: %v", p.handler, err)
		return
	}
	if !won {
		return
	}
	pr := p.cfg.Provider
	timeout := uint32(pr.TimeoutMs)
	if timeout == 0 {
		timeout = 5000
	}
	headers := [][2]string{{":method", "GET"}, {":path", pr.PathOr("/")}, {":authority", pr.AuthorityOr()}}
	p.fetches.Increment(1)
	if _, err := proxywasm.DispatchHttpCall(pr.Cluster, headers, nil, nil, timeout, p.onFetched); err != nil {
		p.fetchFailed(fmt.Sprintf("dispatch to cluster %q: %v", pr.Cluster, err))
	}
}

func (p *pluginContext) fetchFailed(reason string) {
	p.fetchErrors.Increment(1)
	proxywasm.LogWarnf("listchecker: %s: fetch failed, keeping the previous list: %s", p.handler, reason)
}

func (p *pluginContext) onFetched(numHeaders, bodySize, _ int) {
	if numHeaders == 0 {
		p.fetchFailed("no response (timeout or connection failure)")
		return
	}
	hs, err := proxywasm.GetHttpCallResponseHeaders()
	if err != nil {
		p.fetchFailed(err.Error())
		return
	}
	status := ""
	for _, h := range hs {
		if h[0] == ":status" {
			status = h[1]
		}
	}
	if status != "200" {
		p.fetchFailed("status " + status)
		return
	}
	var body []byte
	if bodySize > 0 {
		if body, err = proxywasm.GetHttpCallResponseBody(0, bodySize); err != nil {
			p.fetchFailed(err.Error())
			return
		}
	}
	if _, err := compileList(p.cfg.EntryType, parseBody(p.cfg.EntryType, body), ""); err != nil {
		p.fetchFailed("bad list: " + err.Error())
		return
	}
	now, sha := p.now(), digest(body)
	changed := false
	_, err = mixer.UpdateSharedData(p.keyMeta, []byte("0 0 -"), func(old []byte) ([]byte, bool) {
		m, _ := decodeMeta(old)
		changed = m.sha != sha
		if changed {
			// Store the body first so a VM that sees the new version
			// finds the new list.
			if err := proxywasm.SetSharedData(p.keyList, body, 0); err != nil {
				return nil, false
			}
			m.version++
			m.sha = sha
		}
		m.fetched = now
		return m.encode(), true
	})
	if err != nil {
		p.fetchFailed("store list: " + err.Error())
		return
	}
	proxywasm.LogInfof("listchecker: %s: fetched %d bytes, changed=%v", p.handler, len(body), changed)
}

// current returns the list to check against, reloading the remote part
// from shared data when another VM (or this one's root) stored a new
// version. reason explains a nil list.
func (p *pluginContext) current(now int64) (l *list, reason string) {
	if p.cfg.Provider == nil {
		return p.cfg.overrides, ""
	}
	b, _, err := proxywasm.GetSharedData(p.keyMeta)
	m, ok := decodeMeta(b)
	if err != nil || !ok || m.version == 0 {
		return nil, "the list has not been fetched yet"
	}
	if now-m.fetched > int64(p.cfg.ttl) {
		return nil, fmt.Sprintf("the list expired: no successful fetch for %v (ttl %v)", time.Duration(now-m.fetched).Round(time.Millisecond), p.cfg.ttl)
	}
	if m.version != p.version {
		body, _, err := proxywasm.GetSharedData(p.keyList)
		if err != nil {
			return nil, "the list is missing from shared data"
		}
		remote, err := compileList(p.cfg.EntryType, parseBody(p.cfg.EntryType, body), "")
		if err != nil {
			return nil, "the stored list is invalid: " + err.Error()
		}
		p.merged = merge(p.cfg.overrides, remote)
		p.version = m.version
		p.cache = mixer.NewVerdictCache[verdict](1000)
	}
	return p.merged, ""
}

// check returns the verdict for one value.
func (p *pluginContext) check(l *list, v string) verdict {
	in, err := l.contains(v)
	switch {
	case err != nil:
		return verdict{mixer.InvalidArgument, v + " is not a valid IP address"}
	case p.cfg.Blacklist && in:
		return verdict{mixer.PermissionDenied, v + " is blacklisted"}
	case !p.cfg.Blacklist && !in:
		return verdict{mixer.PermissionDenied, v + " is not whitelisted"}
	}
	return verdict{mixer.OK, ""}
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
	now := p.now()
	l, reason := p.current(now)
	if l == nil {
		if p.cfg.FailOpenWhenNoList {
			return types.ActionContinue
		}
		return mixer.Deny(mixer.Internal, p.handler, reason, nil)
	}
	v, ok := p.cfg.Value.ResolveString(p.src())
	if !ok {
		return mixer.Deny(mixer.InvalidArgument, p.handler, "the value to check is absent and has no default", nil)
	}
	vd, hit := p.cache.Get(v, now)
	if !hit {
		vd = p.check(l, v)
		p.cache.Put(v, vd, now, p.cfg.CachingInterval.Nanos(), p.cfg.CachingUseCount)
	}
	if vd.code == mixer.OK {
		return types.ActionContinue
	}
	return mixer.Deny(vd.code, p.handler, vd.msg, nil)
}

// src reads the current stream, with this plugin's static properties cached.
func (p *pluginContext) src() mixer.HostSource { return mixer.HostSource{Static: &p.static} }
