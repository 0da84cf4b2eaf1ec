package config

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"

	yaml "go.yaml.in/yaml/v3"
)

// FieldError is one problem in a configuration file.
type FieldError struct {
	File   string // the file name as given to Parse
	Line   int    // 1-based; 0 when unknown
	Column int    // 1-based; 0 when unknown
	Field  string // the field path, e.g. "listeners[0].filters[1].sha256"
	Msg    string // what is wrong and how to fix it
}

func (e *FieldError) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		fmt.Fprintf(&b, ":%d", e.Line)
		if e.Column > 0 {
			fmt.Fprintf(&b, ":%d", e.Column)
		}
	}
	b.WriteString(": ")
	if e.Field != "" {
		b.WriteString(e.Field)
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// Errors is every problem found in one file, in file order.
type Errors []*FieldError

func (es Errors) Error() string {
	lines := make([]string, len(es))
	for i, e := range es {
		lines[i] = e.Error()
	}
	return strings.Join(lines, "\n")
}

// Load reads and validates the file at path.
func Load(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("cannot read the proxy config: %w", err)
	}
	return Parse(path, data)
}

// Parse decodes and validates a configuration. file names the source in
// error messages. The returned error is an Errors value when the content is
// at fault.
func Parse(file string, data []byte) (*Config, error) {
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return nil, Errors{yamlError(file, err)}
	}
	if len(root.Content) == 0 {
		return nil, Errors{{File: file, Line: 1, Msg: "the file is empty; it needs at least one listener (see runtime/README.md)"}}
	}
	cfg := &Config{}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(cfg); err != nil && !errors.Is(err, io.EOF) {
		var te *yaml.TypeError
		if errors.As(err, &te) {
			pos := map[string]*yaml.Node{}
			index(root.Content[0], "", pos)
			es := make(Errors, 0, len(te.Errors))
			for _, m := range te.Errors {
				es = append(es, unknownField(yamlMessage(file, m), pos))
			}
			return nil, es
		}
		return nil, Errors{yamlError(file, err)}
	}
	pos := map[string]*yaml.Node{}
	index(root.Content[0], "", pos)
	v := &validator{file: file, pos: pos}
	v.config(cfg)
	if len(v.errs) > 0 {
		return nil, v.errs
	}
	return cfg, nil
}

var lineRE = regexp.MustCompile(`^(?:yaml: )?line (\d+): (.*)$`)

func yamlMessage(file, msg string) *FieldError {
	if m := lineRE.FindStringSubmatch(msg); m != nil {
		line, _ := strconv.Atoi(m[1])
		return &FieldError{File: file, Line: line, Msg: m[2]}
	}
	return &FieldError{File: file, Msg: strings.TrimPrefix(msg, "yaml: ")}
}

var unknownRE = regexp.MustCompile(`^field (\S+) not found in type config\.(\w+)$`)

// unknownField rewrites yaml's "field x not found in type config.T" into a
// message naming the field path and the valid fields.
func unknownField(e *FieldError, pos map[string]*yaml.Node) *FieldError {
	m := unknownRE.FindStringSubmatch(e.Msg)
	if m == nil {
		return e
	}
	for p, n := range pos {
		if k, ok := strings.CutSuffix(p, "#key"); ok && n.Value == m[1] && n.Line == e.Line {
			e.Field, e.Column = k, n.Column
			break
		}
	}
	e.Msg = fmt.Sprintf("unknown field %q; valid fields here: %s", m[1], strings.Join(fieldsOf[m[2]], ", "))
	return e
}

// fieldsOf lists the YAML fields of each configuration type, for messages.
var fieldsOf = map[string][]string{}

func init() {
	for _, v := range []any{Config{}, Admin{}, Cache{}, Listener{}, Route{}, Match{}, HeaderMatch{}, Cluster{}, HealthCheck{}, Filter{}, VMConfig{}, EnvVar{}} {
		t := reflect.TypeOf(v)
		for i := range t.NumField() {
			if tag, _, _ := strings.Cut(t.Field(i).Tag.Get("yaml"), ","); tag != "" && tag != "-" {
				fieldsOf[t.Name()] = append(fieldsOf[t.Name()], tag)
			}
		}
	}
}

func yamlError(file string, err error) *FieldError {
	return yamlMessage(file, err.Error())
}

// index records the node of every field path ("a.b[2].c"), so validation
// errors can point at a line.
func index(n *yaml.Node, path string, pos map[string]*yaml.Node) {
	pos[path] = n
	switch n.Kind {
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := n.Content[i].Value
			p := k
			if path != "" {
				p = path + "." + k
			}
			pos[p+"#key"] = n.Content[i]
			index(n.Content[i+1], p, pos)
		}
	case yaml.SequenceNode:
		for i, c := range n.Content {
			index(c, fmt.Sprintf("%s[%d]", path, i), pos)
		}
	}
	// Aliases are not followed: their target has its own position, and an
	// alias may point at its own ancestor.
}

type validator struct {
	file string
	pos  map[string]*yaml.Node
	errs Errors
}

// errf records an error at field path p; the position is that of p or of its
// closest parent present in the file.
func (v *validator) errf(p, format string, args ...any) {
	e := &FieldError{File: v.file, Field: p, Msg: fmt.Sprintf(format, args...)}
	for q := p; ; {
		if n, ok := v.pos[q]; ok {
			e.Line, e.Column = n.Line, n.Column
			break
		}
		if q == "" {
			break
		}
		i := strings.LastIndexAny(q, ".[")
		if i < 0 {
			q = ""
		} else {
			q = q[:i]
		}
	}
	v.errs = append(v.errs, e)
}

var hex64 = regexp.MustCompile(`^[a-f0-9]{64}$`)

func (v *validator) config(c *Config) {
	if c.Admin.Address != "" {
		v.hostPort("admin.address", c.Admin.Address)
	}
	if len(c.Listeners) == 0 {
		v.errf("listeners", "at least one listener is required")
	}
	clusters := map[string]bool{}
	for i := range c.Clusters {
		cl := &c.Clusters[i]
		p := fmt.Sprintf("clusters[%d]", i)
		v.cluster(p, cl)
		if cl.Name != "" {
			if clusters[cl.Name] {
				v.errf(p+".name", "duplicate cluster name %q; cluster names must be unique", cl.Name)
			}
			clusters[cl.Name] = true
		}
	}
	listeners := map[string]bool{}
	addrs := map[string]string{}
	for i := range c.Listeners {
		l := &c.Listeners[i]
		p := fmt.Sprintf("listeners[%d]", i)
		if l.Name == "" {
			v.errf(p+".name", "a listener needs a name")
		} else if listeners[l.Name] {
			v.errf(p+".name", "duplicate listener name %q", l.Name)
		}
		listeners[l.Name] = true
		if v.hostPort(p+".address", l.Address) {
			if other, ok := addrs[l.Address]; ok && !strings.HasSuffix(l.Address, ":0") {
				v.errf(p+".address", "address %s is already used by listener %q", l.Address, other)
			}
			addrs[l.Address] = l.Name
		}
		if c.Admin.Address != "" && l.Address == c.Admin.Address && !strings.HasSuffix(l.Address, ":0") {
			v.errf(p+".address", "address %s is the admin address", l.Address)
		}
		switch l.Protocol {
		case "", ProtocolHTTP:
			if len(l.Routes) == 0 {
				v.errf(p+".routes", "an http listener needs at least one route")
			}
			if l.Cluster != "" {
				v.errf(p+".cluster", "only tcp listeners take a cluster; http listeners use routes")
			}
			for j := range l.Routes {
				v.route(fmt.Sprintf("%s.routes[%d]", p, j), &l.Routes[j], clusters)
			}
		case ProtocolTCP:
			if len(l.Routes) > 0 {
				v.errf(p+".routes", "tcp listeners take a cluster, not routes")
			}
			if l.Cluster == "" {
				v.errf(p+".cluster", "a tcp listener needs a cluster")
			} else if !clusters[l.Cluster] {
				v.errf(p+".cluster", "unknown cluster %q; define it under clusters", l.Cluster)
			}
		default:
			v.errf(p+".protocol", "unknown protocol %q; use \"http\" (HTTP/1.1 and h2c) or \"tcp\"", l.Protocol)
		}
		names := map[string]bool{}
		for j := range l.Filters {
			fp := fmt.Sprintf("%s.filters[%d]", p, j)
			f := &l.Filters[j]
			v.filter(fp, f)
			if f.Name != "" {
				if names[f.Name] {
					v.errf(fp+".name", "duplicate filter name %q in listener %q", f.Name, l.Name)
				}
				names[f.Name] = true
			}
		}
	}
}

func (v *validator) hostPort(p, addr string) bool {
	if addr == "" {
		v.errf(p, "an address (host:port) is required")
		return false
	}
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		v.errf(p, "%q is not host:port (%v)", addr, err)
		return false
	}
	if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		v.errf(p, "port %q is not a number from 0 to 65535", port)
		return false
	}
	return true
}

func (v *validator) cluster(p string, c *Cluster) {
	if c.Name == "" {
		v.errf(p+".name", "a cluster needs a name")
	}
	if len(c.Endpoints) == 0 {
		v.errf(p+".endpoints", "a cluster needs at least one endpoint (host:port)")
	}
	for i, e := range c.Endpoints {
		v.hostPort(fmt.Sprintf("%s.endpoints[%d]", p, i), e)
	}
	if c.LbPolicy != "" && c.LbPolicy != "ROUND_ROBIN" {
		v.errf(p+".lbPolicy", "unknown lbPolicy %q; only ROUND_ROBIN is supported", c.LbPolicy)
	}
	if hc := c.HealthCheck; hc != nil {
		if hc.Path != "" && !strings.HasPrefix(hc.Path, "/") {
			v.errf(p+".healthCheck.path", "the path must start with \"/\"")
		}
		if hc.HealthyThreshold < 0 || hc.UnhealthyThreshold < 0 {
			v.errf(p+".healthCheck", "thresholds must be positive")
		}
	}
}

func (v *validator) route(p string, r *Route, clusters map[string]bool) {
	if r.Cluster == "" {
		v.errf(p+".cluster", "a route needs a cluster")
	} else if !clusters[r.Cluster] {
		v.errf(p+".cluster", "unknown cluster %q; define it under clusters", r.Cluster)
	}
	if r.Match.Prefix != "" && !strings.HasPrefix(r.Match.Prefix, "/") {
		v.errf(p+".match.prefix", "a path prefix must start with \"/\" (got %q)", r.Match.Prefix)
	}
	for i, h := range r.Match.Headers {
		hp := fmt.Sprintf("%s.match.headers[%d]", p, i)
		if h.Name == "" {
			v.errf(hp+".name", "a header match needs a name")
		}
		n := 0
		if h.Exact != "" {
			n++
		}
		if h.Prefix != "" {
			n++
		}
		if h.Present {
			n++
		}
		if n != 1 {
			v.errf(hp, "set exactly one of exact, prefix or present: true")
		}
	}
}

func (v *validator) filter(p string, f *Filter) {
	if f.Name == "" {
		v.errf(p+".name", "a filter needs a name")
	}
	if f.URL == "" {
		v.errf(p+".url", "a filter needs a url (oci://, file://, http:// or https://)")
	} else if u, err := url.Parse(f.URL); err != nil && strings.Contains(f.URL, "://") {
		v.errf(p+".url", "%q is not a URL: %v", f.URL, err)
	} else if strings.Contains(f.URL, "://") {
		switch u.Scheme {
		case "oci", "file", "http", "https":
		default:
			v.errf(p+".url", "unsupported scheme %q; use oci://, file://, http:// or https:// (no scheme means oci)", u.Scheme)
		}
		if u.Scheme == "file" && u.Path == "" {
			v.errf(p+".url", "a file URL needs an absolute path, like file:///srv/filters/x.wasm")
		}
	}
	if f.SHA256 != "" {
		if !hex64.MatchString(f.SHA256) {
			v.errf(p+".sha256", "%q is not a sha256: want 64 lowercase hex digits", f.SHA256)
		} else if i := strings.Index(f.URL, "@sha256:"); i >= 0 && f.URL[i+8:] != f.SHA256 {
			v.errf(p+".sha256", "the url pins digest sha256:%s but sha256 says %s; they must match", f.URL[i+8:], f.SHA256)
		}
	}
	switch f.ImagePullPolicy {
	case "", PullIfNotPresent, PullAlways, "UNSPECIFIED_POLICY":
	default:
		v.errf(p+".imagePullPolicy", "unknown policy %q; use IfNotPresent or Always", f.ImagePullPolicy)
	}
	if f.ImagePullPolicy == "UNSPECIFIED_POLICY" {
		f.ImagePullPolicy = ""
	}
	switch f.FailStrategy {
	case "", FailClose, FailOpen, FailReload:
	default:
		v.errf(p+".failStrategy", "unknown strategy %q; use FAIL_CLOSE, FAIL_OPEN or FAIL_RELOAD", f.FailStrategy)
	}
	if f.Phase == "UNSPECIFIED_PHASE" {
		f.Phase = ""
	}
	if !slices.Contains(Phases, f.Phase) {
		v.errf(p+".phase", "unknown phase %q; use AUTHN, AUTHZ, STATS or leave it empty", f.Phase)
	}
	if f.PluginName != "" && f.RootID != "" && f.PluginName != f.RootID {
		v.errf(p+".rootId", "rootId and pluginName are the same setting and disagree (%q vs %q); keep one", f.RootID, f.PluginName)
	}
	if f.PluginConfig != nil {
		if _, ok := f.PluginConfig.(string); !ok {
			if _, err := json.Marshal(jsonable(f.PluginConfig)); err != nil {
				v.errf(p+".pluginConfig", "cannot be turned into JSON: %v", err)
			}
		}
	}
	if f.PoolSize < 0 {
		v.errf(p+".poolSize", "must be 0 (host default) or more")
	}
	for i, e := range f.VMConfig.Env {
		ep := fmt.Sprintf("%s.vmConfig.env[%d]", p, i)
		if e.Name == "" {
			v.errf(ep+".name", "an env var needs a name")
		}
		switch e.ValueFrom {
		case "", "INLINE", "HOST":
		default:
			v.errf(ep+".valueFrom", "unknown valueFrom %q; use INLINE or HOST", e.ValueFrom)
		}
	}
}

// SortedFilters returns the listener's filters in execution order: by phase
// (AUTHN, AUTHZ, STATS, unspecified), then by descending priority, then in
// file order.
func (l *Listener) SortedFilters() []Filter {
	fs := slices.Clone(l.Filters)
	slices.SortStableFunc(fs, func(a, b Filter) int {
		if d := slices.Index(Phases, a.Phase) - slices.Index(Phases, b.Phase); d != 0 {
			return d
		}
		switch {
		case a.Priority > b.Priority:
			return -1
		case a.Priority < b.Priority:
			return 1
		}
		return 0
	})
	return fs
}
