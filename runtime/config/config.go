// Package config reads and validates the YAML file that configures
// `wasmctl proxy`: listeners, routes, clusters and the ordered proxy-wasm
// filter chain of each listener.
//
// The vocabulary is Envoy's (listeners, routes, clusters) and, for filters,
// Istio's WasmPlugin (url, sha256, imagePullPolicy, pluginConfig, pluginName,
// vmConfig.env, failStrategy, phase, priority), so a control plane can map a
// WasmPlugin onto a filter one to one.
//
// Every problem found by Parse is reported with the file, line, column and the
// path of the field (for example
// "runtime.yaml:14:9: listeners[0].filters[1].sha256: ..."), and all problems
// of a file are reported at once.
package config

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	yaml "go.yaml.in/yaml/v3"
)

// Config is a whole proxy configuration.
type Config struct {
	// Admin configures the admin endpoint (/ready, /stats/prometheus,
	// /config_dump, /plugins).
	Admin Admin `yaml:"admin" json:"admin"`
	// Cache configures where pulled filters are stored and how registries are
	// reached.
	Cache Cache `yaml:"cache" json:"cache"`
	// Listeners are the sockets the proxy serves.
	Listeners []Listener `yaml:"listeners" json:"listeners"`
	// Clusters are the upstream services routes point to.
	Clusters []Cluster `yaml:"clusters" json:"clusters"`
	// Drain is how long a shutdown or a reload waits for in-flight requests
	// before closing them. Default 30s.
	Drain Duration `yaml:"drainTimeout" json:"drainTimeout,omitempty"`
}

// Admin configures the admin HTTP endpoint.
type Admin struct {
	// Address is host:port; empty disables the admin endpoint.
	Address string `yaml:"address" json:"address,omitempty"`
}

// Cache configures the filter cache and registry access.
type Cache struct {
	// Dir is the cache directory. Default: $XDG_CACHE_HOME/wasmctl/runtime.
	Dir string `yaml:"dir" json:"dir,omitempty"`
	// PlainHTTP lists registry hosts (host or host:port) reached over plain
	// HTTP instead of HTTPS. The --plain-http flag adds every host.
	PlainHTTP []string `yaml:"plainHTTP" json:"plainHTTP,omitempty"`
	// DockerConfig is the path of a Docker config.json holding registry
	// credentials. Default: $DOCKER_CONFIG/config.json or ~/.docker/config.json.
	DockerConfig string `yaml:"dockerConfig" json:"dockerConfig,omitempty"`
	// FetchTimeout bounds one pull. Default 30s.
	FetchTimeout Duration `yaml:"fetchTimeout" json:"fetchTimeout,omitempty"`
}

// Protocols of a listener.
const (
	ProtocolHTTP = "http" // HTTP/1.1 and cleartext HTTP/2 (h2c) on one port
	ProtocolTCP  = "tcp"  // raw TCP proxying to one cluster
)

// Listener is one socket and what the proxy does with its traffic.
type Listener struct {
	// Name identifies the listener in logs, metrics and the admin endpoint.
	Name string `yaml:"name" json:"name"`
	// Address is host:port to listen on.
	Address string `yaml:"address" json:"address"`
	// Protocol is "http" (default: HTTP/1.1 and h2c) or "tcp".
	Protocol string `yaml:"protocol" json:"protocol,omitempty"`
	// Routes are tried in order for HTTP listeners; the first match wins.
	Routes []Route `yaml:"routes" json:"routes,omitempty"`
	// Cluster is where a TCP listener sends its connections.
	Cluster string `yaml:"cluster" json:"cluster,omitempty"`
	// Filters is the proxy-wasm filter chain. It runs in phase order
	// (AUTHN, AUTHZ, STATS, then unspecified), by descending priority within
	// a phase, and in file order on ties.
	Filters []Filter `yaml:"filters" json:"filters,omitempty"`
}

// Route sends matching requests to a cluster.
type Route struct {
	// Name is optional and shows up in metrics.
	Name string `yaml:"name" json:"name,omitempty"`
	// Match selects requests; the empty match selects every request.
	Match Match `yaml:"match" json:"match"`
	// Cluster names the upstream cluster.
	Cluster string `yaml:"cluster" json:"cluster"`
	// Timeout bounds the whole upstream exchange; 0 uses the cluster's.
	Timeout Duration `yaml:"timeout" json:"timeout,omitempty"`
}

// Match is a route predicate. All set conditions must hold.
type Match struct {
	// Prefix matches the start of the request path. Default "/".
	Prefix string `yaml:"prefix" json:"prefix,omitempty"`
	// Host matches the request authority without port, exactly or with a
	// leading "*." wildcard.
	Host string `yaml:"host" json:"host,omitempty"`
	// Headers must all match.
	Headers []HeaderMatch `yaml:"headers" json:"headers,omitempty"`
}

// HeaderMatch matches one request header. Exactly one of Exact, Prefix or
// Present is set.
type HeaderMatch struct {
	Name    string `yaml:"name" json:"name"`
	Exact   string `yaml:"exact" json:"exact,omitempty"`
	Prefix  string `yaml:"prefix" json:"prefix,omitempty"`
	Present bool   `yaml:"present" json:"present,omitempty"`
}

// Cluster is a set of upstream endpoints balanced round robin.
type Cluster struct {
	// Name is what routes refer to.
	Name string `yaml:"name" json:"name"`
	// Endpoints are static host:port addresses.
	Endpoints []string `yaml:"endpoints" json:"endpoints"`
	// LbPolicy is ROUND_ROBIN (the default and only policy).
	LbPolicy string `yaml:"lbPolicy" json:"lbPolicy,omitempty"`
	// ConnectTimeout bounds dialing an endpoint. Default 5s.
	ConnectTimeout Duration `yaml:"connectTimeout" json:"connectTimeout,omitempty"`
	// Timeout bounds a whole upstream exchange (0 = none). Default 0.
	Timeout Duration `yaml:"timeout" json:"timeout,omitempty"`
	// HealthCheck enables active health checking of the endpoints.
	HealthCheck *HealthCheck `yaml:"healthCheck" json:"healthCheck,omitempty"`
}

// HealthCheck probes endpoints. An HTTP check (Path set) wants a 2xx answer;
// without Path a TCP connect is the probe.
type HealthCheck struct {
	Path               string   `yaml:"path" json:"path,omitempty"`
	Interval           Duration `yaml:"interval" json:"interval,omitempty"`
	Timeout            Duration `yaml:"timeout" json:"timeout,omitempty"`
	HealthyThreshold   int      `yaml:"healthyThreshold" json:"healthyThreshold,omitempty"`
	UnhealthyThreshold int      `yaml:"unhealthyThreshold" json:"unhealthyThreshold,omitempty"`
}

// Pull policies (Istio WasmPlugin imagePullPolicy).
const (
	PullIfNotPresent = "IfNotPresent"
	PullAlways       = "Always"
)

// Fail strategies (Istio WasmPlugin failStrategy).
const (
	FailClose  = "FAIL_CLOSE"
	FailOpen   = "FAIL_OPEN"
	FailReload = "FAIL_RELOAD"
)

// Phases (Istio WasmPlugin phase), in chain order.
var Phases = []string{"AUTHN", "AUTHZ", "STATS", ""}

// Filter is one proxy-wasm plugin in a listener's chain. Its fields are those
// of Istio's WasmPlugin spec.
type Filter struct {
	// Name identifies the plugin (metrics, /plugins, logs). Unique per listener.
	Name string `yaml:"name" json:"name"`
	// URL is where the module comes from: oci://, file://, http:// or
	// https://. No scheme means oci.
	URL string `yaml:"url" json:"url"`
	// SHA256 pins the content: the module's or the OCI manifest's sha256, in
	// 64 lowercase hex digits.
	SHA256 string `yaml:"sha256" json:"sha256,omitempty"`
	// ImagePullPolicy is IfNotPresent or Always. Default IfNotPresent, or
	// Always for an OCI ":latest" tag without sha256.
	ImagePullPolicy string `yaml:"imagePullPolicy" json:"imagePullPolicy,omitempty"`
	// PluginConfig is passed to the plugin's proxy_on_configure: a string as
	// is, anything else as JSON.
	PluginConfig any `yaml:"pluginConfig" json:"pluginConfig,omitempty"`
	// PluginName is the plugin's root id (Envoy root_id). RootID is accepted
	// as an alias.
	PluginName string `yaml:"pluginName" json:"pluginName,omitempty"`
	RootID     string `yaml:"rootId" json:"rootId,omitempty"`
	// VMConfig holds the VM's environment.
	VMConfig VMConfig `yaml:"vmConfig" json:"vmConfig,omitzero"`
	// FailStrategy is FAIL_CLOSE (default), FAIL_OPEN or FAIL_RELOAD.
	FailStrategy string `yaml:"failStrategy" json:"failStrategy,omitempty"`
	// Phase is AUTHN, AUTHZ, STATS or empty (end of the chain).
	Phase string `yaml:"phase" json:"phase,omitempty"`
	// Priority orders filters within a phase, highest first.
	Priority int32 `yaml:"priority" json:"priority,omitempty"`
	// PoolSize is the number of VM instances; 0 lets the host choose.
	PoolSize int `yaml:"poolSize" json:"poolSize,omitempty"`
}

// VMConfig is the VM configuration of a filter.
type VMConfig struct {
	Env []EnvVar `yaml:"env" json:"env,omitempty"`
}

// EnvVar is one VM environment variable. ValueFrom is INLINE (default, Value
// is used) or HOST (the proxy's own environment variable Name).
type EnvVar struct {
	Name      string `yaml:"name" json:"name"`
	ValueFrom string `yaml:"valueFrom" json:"valueFrom,omitempty"`
	Value     string `yaml:"value" json:"value,omitempty"`
}

// RootIDOrName returns the plugin's root id: PluginName, else RootID.
func (f *Filter) RootIDOrName() string {
	if f.PluginName != "" {
		return f.PluginName
	}
	return f.RootID
}

// ConfigBytes returns the bytes handed to proxy_on_configure.
func (f *Filter) ConfigBytes() []byte {
	switch v := f.PluginConfig.(type) {
	case nil:
		return nil
	case string:
		return []byte(v)
	default:
		b, err := json.Marshal(jsonable(v))
		if err != nil {
			return nil // Validate rejects values that cannot be marshaled.
		}
		return b
	}
}

// jsonable turns the map[any]any values some YAML decoders produce into
// map[string]any so encoding/json accepts them.
func jsonable(v any) any {
	switch x := v.(type) {
	case map[string]any:
		m := make(map[string]any, len(x))
		for k, e := range x {
			m[k] = jsonable(e)
		}
		return m
	case map[any]any:
		m := make(map[string]any, len(x))
		for k, e := range x {
			m[fmt.Sprint(k)] = jsonable(e)
		}
		return m
	case []any:
		s := make([]any, len(x))
		for i, e := range x {
			s[i] = jsonable(e)
		}
		return s
	default:
		return v
	}
}

// EffectivePullPolicy applies Istio's defaults: a sha256 or a digest in the
// URL means IfNotPresent; otherwise the field, or Always for ":latest" tags,
// or IfNotPresent.
func (f *Filter) EffectivePullPolicy() string {
	if f.SHA256 != "" || strings.Contains(f.URL, "@sha256:") {
		return PullIfNotPresent
	}
	if f.ImagePullPolicy != "" {
		return f.ImagePullPolicy
	}
	if isOCI(f.URL) && (strings.HasSuffix(f.URL, ":latest") || !hasTag(f.URL)) {
		return PullAlways
	}
	return PullIfNotPresent
}

func isOCI(u string) bool {
	return strings.HasPrefix(u, "oci://") || !strings.Contains(u, "://")
}

// hasTag reports whether an OCI reference names a tag or digest.
func hasTag(u string) bool {
	u = strings.TrimPrefix(u, "oci://")
	last := u[strings.LastIndex(u, "/")+1:]
	return strings.ContainsAny(last, ":@")
}

// Duration is a time.Duration written as a Go duration string ("1.5s").
type Duration time.Duration

// D returns the value as a time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

// UnmarshalYAML accepts "250ms", "1m", or a number of seconds.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode {
		return fmt.Errorf("line %d: want a duration such as \"5s\"", n.Line)
	}
	v, err := time.ParseDuration(n.Value)
	if err != nil {
		var secs float64
		if _, err2 := fmt.Sscanf(n.Value, "%g", &secs); err2 != nil || fmt.Sprint(secs) != strings.TrimSpace(n.Value) {
			return fmt.Errorf("line %d: %q is not a duration; write it like \"5s\" or \"250ms\"", n.Line, n.Value)
		}
		v = time.Duration(secs * float64(time.Second))
	}
	if v < 0 {
		return fmt.Errorf("line %d: duration %q is negative", n.Line, n.Value)
	}
	*d = Duration(v)
	return nil
}

// MarshalJSON writes the duration as a string.
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(time.Duration(d).String()) }

// MarshalYAML writes the duration as a string.
func (d Duration) MarshalYAML() (any, error) { return time.Duration(d).String(), nil }
