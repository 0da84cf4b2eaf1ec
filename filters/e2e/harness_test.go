package e2e

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/wasmctl/wasmctl/runtime/host"
	"github.com/wasmctl/wasmctl/runtime/httpfilter"
	"github.com/wasmctl/wasmctl/sdk/wasmbuild"
)

// clusterMap is a ClusterResolver tests add to as they start servers.
type clusterMap struct{ m sync.Map }

func (c *clusterMap) ResolveCluster(name string) (string, bool) {
	v, ok := c.m.Load(name)
	if !ok {
		return "", false
	}
	return v.(string), true
}

// logCapture keeps plugin log lines, per plugin name.
type logCapture struct {
	mu    sync.Mutex
	lines map[string][]string
}

func (l *logCapture) Enabled(context.Context, slog.Level) bool { return true }
func (l *logCapture) Handle(_ context.Context, r slog.Record) error {
	plugin := ""
	r.Attrs(func(a slog.Attr) bool {
		if a.Key == "plugin" {
			plugin = a.Value.String()
		}
		return true
	})
	l.mu.Lock()
	l.lines[plugin] = append(l.lines[plugin], r.Message)
	l.mu.Unlock()
	return nil
}
func (l *logCapture) WithAttrs(as []slog.Attr) slog.Handler {
	return &attrHandler{l, as}
}
func (l *logCapture) WithGroup(string) slog.Handler { return l }

type attrHandler struct {
	l  *logCapture
	as []slog.Attr
}

func (h *attrHandler) Enabled(context.Context, slog.Level) bool { return true }
func (h *attrHandler) Handle(ctx context.Context, r slog.Record) error {
	r.AddAttrs(h.as...)
	return h.l.Handle(ctx, r)
}
func (h *attrHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return &attrHandler{h.l, append(append([]slog.Attr{}, h.as...), as...)}
}
func (h *attrHandler) WithGroup(string) slog.Handler { return h }

// logsOf returns the captured log lines of a plugin.
func logsOf(name string) []string {
	logs.mu.Lock()
	defer logs.mu.Unlock()
	return append([]string(nil), logs.lines[name]...)
}

var (
	rtOnce   sync.Once
	rt       *host.Runtime
	rtErr    error
	clusters = &clusterMap{}
	logs     = &logCapture{lines: map[string][]string{}}
	modules  sync.Map // filter name → *host.Module
	seq      atomic.Int64
)

// runtime returns the package's runtime, created once.
func runtime(t testing.TB) *host.Runtime {
	t.Helper()
	rtOnce.Do(func() {
		cache := filepath.Join(os.TempDir(), "wasmctl-filters-e2e-wazero")
		rt, rtErr = host.NewRuntime(context.Background(), host.Config{
			CacheDir: cache,
			Logger:   slog.New(logs),
			LogLevel: host.LogDebug,
			Clusters: clusters,
		})
	})
	if rtErr != nil {
		t.Fatalf("runtime: %v", rtErr)
	}
	return rt
}

// module builds filters/<name> to wasm and compiles it, once per process.
func module(t testing.TB, name string) *host.Module {
	t.Helper()
	if m, ok := modules.Load(name); ok {
		return m.(*host.Module)
	}
	wasm, err := wasmbuild.Cached(filepath.Join("..", name))
	if err != nil {
		t.Fatalf("build %s: %v", name, err)
	}
	m, err := runtime(t).Compile(context.Background(), wasm)
	if err != nil {
		t.Fatalf("compile %s: %v", name, err)
	}
	modules.Store(name, m)
	return m
}

// plugin starts filter name with config; every plugin gets its own VM id,
// so shared data never leaks between tests.
func plugin(t testing.TB, name, config string, pool int, props map[string]any) *host.Plugin {
	t.Helper()
	id := name + "-" + itoa(seq.Add(1))
	p, err := runtime(t).NewPlugin(context.Background(), module(t, name), host.PluginConfig{
		Name: id, RootID: id, VMID: id, PluginConfig: []byte(config), PoolSize: pool, Properties: props,
		FailStrategy: host.FailClose,
	})
	if err != nil {
		t.Fatalf("start %s: %v\nlogs: %s", name, err, strings.Join(logsOf(id), "\n"))
	}
	t.Cleanup(func() { p.Close(context.Background()) })
	return p
}

func itoa(i int64) string {
	const digits = "0123456789"
	if i < 10 {
		return digits[i : i+1]
	}
	return itoa(i/10) + digits[i%10:i%10+1]
}

// upstream is a real HTTP server on 127.0.0.1 that answers 200 "ok from
// upstream", echoing selected request headers as x-seen-<name>.
type upstream struct {
	*httptest.Server
	hits atomic.Int64
	mu   sync.Mutex
	last http.Header
}

func newUpstream(t testing.TB) *upstream {
	u := &upstream{}
	u.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u.hits.Add(1)
		u.mu.Lock()
		u.last = r.Header.Clone()
		u.mu.Unlock()
		io.Copy(io.Discard, r.Body)
		w.Header().Set("content-type", "text/plain")
		io.WriteString(w, "ok from upstream")
	}))
	t.Cleanup(u.Close)
	return u
}

func (u *upstream) lastHeader(name string) string {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.last == nil {
		return ""
	}
	return u.last.Get(name)
}

// front serves the plugins in front of up on 127.0.0.1.
func front(t testing.TB, up *upstream, plugins ...*host.Plugin) *httptest.Server {
	t.Helper()
	s := httptest.NewServer(httpfilter.New(plugins, httpfilter.ReverseProxy(up.URL), httpfilter.Options{ClusterName: "upstream"}))
	t.Cleanup(s.Close)
	return s
}

// do sends one request and returns status and body.
func do(t testing.TB, method, url string, headers ...string) (int, string, http.Header) {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), resp.Header
}

// callee is a real callout target on 127.0.0.1 registered as a cluster.
func callee(t testing.TB, cluster string, h http.Handler) *httptest.Server {
	s := httptest.NewServer(h)
	clusters.m.Store(cluster, s.URL)
	t.Cleanup(func() { s.Close(); clusters.m.Delete(cluster) })
	return s
}
