package e2e

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wasmctl/wasmctl/runtime/proxy"
	"github.com/wasmctl/wasmctl/sdk/wasmbuild"
)

// TestChainThroughTheDataPlaneProxy runs three filters as a chain in the
// real data-plane proxy (runtime/proxy, what `wasmctl proxy` serves) from a
// YAML configuration: the denier, memquota and extauthz, whose policy
// callout goes to a proxy cluster on 127.0.0.1.
func TestChainThroughTheDataPlaneProxy(t *testing.T) {
	dir := t.TempDir()
	path := func(name string) string {
		wasm, err := wasmbuild.Cached(filepath.Join("..", name))
		if err != nil {
			t.Fatalf("build %s: %v", name, err)
		}
		p := filepath.Join(dir, name+".wasm")
		if err := os.WriteFile(p, wasm, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	var policyCalls atomic.Int64
	opa := newUpstream(t)
	opa.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		policyCalls.Add(1)
		io.WriteString(w, `{"result":true}`)
	})
	app := newUpstream(t)
	host := func(s string) string { u, _ := url.Parse(s); return u.Host }
	cfg := filepath.Join(dir, "runtime.yaml")
	if err := os.WriteFile(cfg, fmt.Appendf(nil, `
listeners:
- name: web
  address: 127.0.0.1:0
  routes: [{cluster: app}]
  filters:
  - name: denier
    url: "file://%s"
    pluginConfig: {handler_name: deny-v3, status: {code: 7, message: Not allowed}, match: {attr: {header: x-version}, exact: v3}}
  - name: memquota
    url: "file://%s"
    pluginConfig: {quotas: [{name: requestcountquota, max_amount: 3, valid_duration: 60s}]}
  - name: extauthz
    url: "file://%s"
    pluginConfig: {handler_name: opa, cluster: opa, cache: {valid_for: "0"}}
clusters:
- {name: app, endpoints: [%s]}
- {name: opa, endpoints: [%s]}
`, path("denier"), path("memquota"), path("extauthz"), host(app.URL), host(opa.URL)), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	started := make(chan *proxy.Server, 1)
	errc := make(chan error, 1)
	go func() {
		errc <- proxy.Run(ctx, proxy.RunOptions{ConfigPath: cfg, CacheDir: filepath.Join(dir, "cache"),
			CompileCacheDir: filepath.Join(os.TempDir(), "wasmctl-filters-e2e-wazero"),
			Logger:          slog.New(slog.DiscardHandler),
			Started:         func(s *proxy.Server, _ string) { started <- s }})
	}()
	var s *proxy.Server
	select {
	case s = <-started:
	case err := <-errc:
		cancel()
		t.Fatalf("proxy.Run: %v", err)
	case <-time.After(2 * time.Minute):
		cancel()
		t.Fatal("the proxy did not start within 2 minutes")
	}
	defer func() {
		cancel()
		if err := <-errc; err != nil {
			t.Errorf("proxy.Run returned %v", err)
		}
	}()
	base := "http://" + s.Addr("web")
	if c, b, _ := do(t, "GET", base+"/", "x-version", "v3"); c != 403 || b != "PERMISSION_DENIED:deny-v3:Not allowed" {
		t.Errorf("v3: %d %q", c, b)
	}
	for i := range 3 {
		if c, b, _ := do(t, "GET", base+"/"); c != 200 || b != "ok from upstream" {
			t.Fatalf("request %d: %d %q", i, c, b)
		}
	}
	if c, b, _ := do(t, "GET", base+"/"); c != 429 || b != "RESOURCE_EXHAUSTED:Quota is exhausted for: requestcountquota" {
		t.Errorf("4th: %d %q", c, b)
	}
	if policyCalls.Load() != 3 {
		t.Errorf("%d policy callouts through the proxy's opa cluster, want 3 (one per admitted request)", policyCalls.Load())
	}
	if app.hits.Load() != 3 {
		t.Errorf("upstream saw %d requests, want 3", app.hits.Load())
	}
}
