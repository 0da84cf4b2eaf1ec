package proxy

import (
	"slices"
	"strings"
	"time"

	"github.com/wasmctl/wasmctl/runtime/config"
)

// ConfigDump is what the admin endpoint shows at /config_dump.
type ConfigDump struct {
	// Generation counts applied configurations, starting at 1.
	Generation uint64 `json:"generation"`
	// Applied is when the generation started serving.
	Applied time.Time `json:"applied"`
	// Config is the configuration being served.
	Config *config.Config `json:"config"`
	// LastError is why the most recent Apply failed, if it did; the
	// configuration above kept serving.
	LastError string `json:"lastError,omitempty"`
}

// ConfigDump returns the configuration being served.
func (s *Server) ConfigDump() ConfigDump {
	s.mu.Lock()
	defer s.mu.Unlock()
	var d ConfigDump
	if g := s.cur.Load(); g != nil {
		d.Generation, d.Applied, d.Config = g.seq, g.applied, g.cfg
	}
	if s.lastErr != nil {
		d.LastError = s.lastErr.Error()
	}
	return d
}

// PluginInfo describes one filter of a listener for /plugins.
type PluginInfo struct {
	Listener string `json:"listener"`
	Name     string `json:"name"`
	URL      string `json:"url"`
	// Version is the tag (or digest) of the URL.
	Version string `json:"version,omitempty"`
	// Digest is the module's sha256; ImageDigest the OCI manifest's.
	Digest      string `json:"digest,omitempty"`
	ImageDigest string `json:"imageDigest,omitempty"`
	// State is running, degraded, down, closed (from the engine), or
	// failed when the filter has never built.
	State string `json:"state"`
	// Instances is the VM pool size; Live the usable VMs.
	Instances int    `json:"instances"`
	Live      int    `json:"live"`
	Crashes   uint64 `json:"crashes"`
	// Built is when this version finished building; BuildMillis how long
	// the build took (compile, instantiate, vm_start, configure).
	Built       time.Time `json:"built,omitzero"`
	BuildMillis float64   `json:"buildMillis,omitempty"`
	// StaleModule is true when an Always pull failed and the cached module
	// is in use.
	StaleModule bool `json:"staleModule,omitempty"`
	// LastError is the latest failure: a rejected update of this filter
	// (the running version keeps serving) or a VM crash.
	LastError   string    `json:"lastError,omitempty"`
	LastErrorAt time.Time `json:"lastErrorAt,omitzero"`
	// Detail is the engine's own status.
	Detail any `json:"detail,omitempty"`
}

// Plugins reports every filter of the current configuration, plus filters
// whose build failed.
func (s *Server) Plugins() []PluginInfo {
	s.mu.Lock()
	g := s.cur.Load()
	var refs []*pluginRef
	if g != nil {
		refs = slices.Clone(g.plugins)
	}
	failures := make(map[string]*buildError, len(s.failures))
	for k, v := range s.failures {
		failures[k] = v
	}
	s.mu.Unlock()

	var out []PluginInfo
	for _, r := range refs {
		st := r.plugin.Status()
		pi := PluginInfo{
			Listener: r.spec.Listener, Name: r.spec.Filter.Name, URL: r.spec.Filter.URL, Version: version(r.spec.Filter.URL),
			Digest: r.spec.Module.Digest, ImageDigest: r.spec.Module.ImageDigest,
			State: st.State, Instances: st.Instances, Live: st.Live, Crashes: st.Crashes,
			Built: r.built, BuildMillis: r.buildMS, StaleModule: r.spec.Module.Stale,
			LastError: st.LastError, LastErrorAt: st.LastErrorAt, Detail: st.Detail,
		}
		if f, ok := failures[pi.Listener+"/"+pi.Name]; ok {
			delete(failures, pi.Listener+"/"+pi.Name)
			if f.at.After(pi.LastErrorAt) {
				pi.LastError, pi.LastErrorAt = "update rejected, this version keeps serving: "+f.err, f.at
			}
		}
		out = append(out, pi)
	}
	for _, f := range failures {
		out = append(out, PluginInfo{
			Listener: f.spec.Listener, Name: f.spec.Filter.Name, URL: f.spec.Filter.URL, Version: version(f.spec.Filter.URL),
			State: "failed", LastError: f.err, LastErrorAt: f.at,
		})
	}
	slices.SortFunc(out, func(a, b PluginInfo) int {
		return strings.Compare(a.Listener+"/"+a.Name, b.Listener+"/"+b.Name)
	})
	return out
}

// version extracts the tag or digest of an OCI URL, or the file name of
// other URLs.
func version(u string) string {
	if i := strings.LastIndex(u, "@"); i >= 0 {
		return u[i+1:]
	}
	last := u[strings.LastIndex(u, "/")+1:]
	if strings.HasPrefix(u, "oci://") || !strings.Contains(u, "://") {
		if i := strings.LastIndex(last, ":"); i >= 0 {
			return last[i+1:]
		}
		return "latest"
	}
	return last
}
