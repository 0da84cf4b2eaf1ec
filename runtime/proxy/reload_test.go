package proxy

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wasmctl/wasmctl/runtime/cache"
	"github.com/wasmctl/wasmctl/runtime/config"
)

// recordingEngine is an Engine whose "plugins" add the header x-plugin:
// <their configuration>, so the reload protocol can be observed exactly:
// what is built, reused and closed, and when.
type recordingEngine struct {
	mu     sync.Mutex
	built  []string
	closed []string
	hold   chan struct{} // requests to /hold wait for it
}

func (e *recordingEngine) NewPlugin(_ context.Context, spec PluginSpec) (Plugin, error) {
	cfg := string(spec.PluginConfig)
	if cfg == "fail" {
		return nil, errors.New("proxy_on_configure returned false")
	}
	e.mu.Lock()
	e.built = append(e.built, cfg)
	e.mu.Unlock()
	return recordedPlugin{e: e, cfg: cfg}, nil
}

type recordedPlugin struct {
	e   *recordingEngine
	cfg string
}

func (p recordedPlugin) Status() PluginStatus {
	return PluginStatus{State: "running", Instances: 1, Live: 1}
}

func (p recordedPlugin) Close(context.Context) error {
	p.e.mu.Lock()
	p.e.closed = append(p.e.closed, p.cfg)
	p.e.mu.Unlock()
	return nil
}

func (e *recordingEngine) HTTPChain(plugins []Plugin, next http.Handler) (http.Handler, error) {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for _, p := range plugins {
			w.Header().Add("X-Plugin", p.(recordedPlugin).cfg)
		}
		if r.URL.Path == "/hold" {
			<-e.hold
		}
		next.ServeHTTP(w, r)
	}), nil
}

func (e *recordingEngine) snapshot() (built, closed string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	return strings.Join(e.built, ","), strings.Join(e.closed, ",")
}

func TestReloadProtocol(t *testing.T) {
	app := upstream(t, "app")
	wasm := filepath.Join(t.TempDir(), "f.wasm")
	os.WriteFile(wasm, []byte("\x00asm\x01\x00\x00\x00"), 0o644)
	mc, err := cache.Open(t.TempDir(), cache.Options{})
	if err != nil {
		t.Fatal(err)
	}
	eng := &recordingEngine{hold: make(chan struct{})}
	s := New(Options{Engine: eng, Cache: mc, Logger: testLogger(t)})
	defer s.Shutdown(context.Background())
	apply := func(pluginConfig, timeout string) error {
		cfg, err := config.Parse("r.yaml", []byte(fmt.Sprintf(`
listeners:
- name: web
  address: 127.0.0.1:0
  routes: [{cluster: app}]
  filters: [{name: f, url: "file://%s", pluginConfig: %q}]
clusters: [{name: app, endpoints: [%s], timeout: %s}]
drainTimeout: 10s
`, wasm, pluginConfig, hostOf(app), timeout)))
		if err != nil {
			t.Fatal(err)
		}
		return s.Apply(t.Context(), cfg)
	}
	header := func(path string) string {
		resp, err := http.Get("http://" + s.Addr("web") + path)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.Header.Get("X-Plugin")
	}

	if err := apply("v1", "10s"); err != nil {
		t.Fatal(err)
	}
	// A change elsewhere (the cluster) reuses the built plugin.
	if err := apply("v1", "20s"); err != nil {
		t.Fatal(err)
	}
	if b, c := eng.snapshot(); b != "v1" || c != "" {
		t.Fatalf("after a cluster-only change: built %q closed %q; want the plugin reused", b, c)
	}

	// A request in flight on v1 keeps v1 open across the swap to v2.
	held := make(chan string)
	go func() { held <- header("/hold") }()
	waitFor(t, func() bool { return s.cur.Load().active.Load() == 1 })
	if err := apply("v2", "20s"); err != nil {
		t.Fatal(err)
	}
	if got := header("/"); got != "v2" {
		t.Fatalf("new request after the swap ran %q, want v2", got)
	}
	time.Sleep(50 * time.Millisecond)
	if _, c := eng.snapshot(); c != "" {
		t.Fatalf("v1 closed (%q) while a request was still using it", c)
	}
	close(eng.hold)
	if got := <-held; got != "v1" {
		t.Fatalf("the in-flight request ran %q, want v1 to the end", got)
	}
	waitFor(t, func() bool { _, c := eng.snapshot(); return c == "v1" })

	// A plugin that fails to start is refused; v2 keeps serving and is not closed.
	if err := apply("fail", "20s"); err == nil || !strings.Contains(err.Error(), "filter f") {
		t.Fatalf("a failing plugin was accepted: %v", err)
	}
	if got := header("/"); got != "v2" {
		t.Fatalf("after a failed reload the proxy ran %q, want v2", got)
	}
	b, c := eng.snapshot()
	if b != "v1,v2" || c != "v1" {
		t.Fatalf("built %q closed %q, want v1,v2 and v1", b, c)
	}
	ps := s.Plugins()
	if len(ps) != 1 || ps[0].State != "running" || !strings.Contains(ps[0].LastError, "proxy_on_configure returned false") {
		t.Fatalf("/plugins after a failed update: %+v", ps)
	}
	if d := s.ConfigDump(); d.Generation != 3 || !strings.Contains(d.LastError, "start") {
		t.Fatalf("config dump: generation %d, last error %q", d.Generation, d.LastError)
	}
	// Shutdown closes what is left.
	s.Shutdown(context.Background())
	if _, c := eng.snapshot(); c != "v1,v2" {
		t.Fatalf("after shutdown closed = %q, want v1,v2", c)
	}
}
