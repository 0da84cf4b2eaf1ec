package cli

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wasmctl/wasmctl/internal/author"
	"github.com/wasmctl/wasmctl/internal/testregistry"
	"github.com/wasmctl/wasmctl/runtime/host"
	"github.com/wasmctl/wasmctl/runtime/httpfilter"
)

// offlineGo makes every go command of the test (those wasmctl runs and the
// project's own tests) work like a fresh machine without network: no module
// proxy, an empty module cache, the vendored SDK only, no go.work.
func offlineGo(t *testing.T) {
	t.Helper()
	t.Setenv("GOPROXY", "off")
	t.Setenv("GOFLAGS", "-mod=vendor")
	t.Setenv("GOMODCACHE", t.TempDir())
	t.Setenv("GOWORK", "off")
	t.Setenv("GOTOOLCHAIN", "local")
}

// lines collects plugin log lines.
type lines struct {
	mu sync.Mutex
	l  []string
}

func (s *lines) Enabled(context.Context, slog.Level) bool { return true }
func (s *lines) Handle(_ context.Context, r slog.Record) error {
	s.mu.Lock()
	s.l = append(s.l, r.Message)
	s.mu.Unlock()
	return nil
}
func (s *lines) WithAttrs([]slog.Attr) slog.Handler { return s }
func (s *lines) WithGroup(string) slog.Handler      { return s }
func (s *lines) has(sub string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, l := range s.l {
		if strings.Contains(l, sub) {
			return true
		}
	}
	return false
}

// TestE2E_Templates: for every template, init → wasmctl test (go test +
// tests/*.yaml in the runtime host) → build → push to a real registry →
// pull → run the pulled module in the runtime host → the template's
// behaviour on a real HTTP request. Go runs offline with an empty module
// cache, so the project builds from the SDK vendored by init alone.
//
// Every template is scaffolded in turn into the same directory, so the go
// build cache is shared and the vendored packages compile once.
func TestE2E_Templates(t *testing.T) {
	if testing.Short() {
		t.Skip("skipping the end-to-end template test in -short mode")
	}
	authorEnv(t)
	offlineGo(t)
	reg := testregistry.Start(t)
	proj := filepath.Join(t.TempDir(), "filter")

	tests := []struct {
		template string
		config   string
		check    func(t *testing.T, url string, logs *lines, rt *host.Runtime)
	}{
		{"http-headers", `{"requestHeaders": {"x-team": "payments"}}`, func(t *testing.T, url string, _ *lines, _ *host.Runtime) {
			resp, _ := httpGet(t, url, nil)
			if got := resp.Header.Get("x-upstream-saw-team"); got != "payments" {
				t.Errorf("the upstream saw x-team %q, want payments", got)
			}
		}},
		{"auth", `{"tokens": ["s3cret"]}`, func(t *testing.T, url string, _ *lines, _ *host.Runtime) {
			if resp, body := httpGet(t, url, nil); resp.StatusCode != 401 || body != "unauthorized\n" {
				t.Errorf("no token: %d %q, want 401 unauthorized", resp.StatusCode, body)
			}
			if resp, _ := httpGet(t, url, map[string]string{"Authorization": "Bearer s3cret"}); resp.StatusCode != 200 {
				t.Errorf("valid token: %d, want 200", resp.StatusCode)
			}
		}},
		{"rate-limit", `{"requestsPerWindow": 1, "windowSeconds": 3600}`, func(t *testing.T, url string, _ *lines, _ *host.Runtime) {
			first, _ := httpGet(t, url, map[string]string{"x-api-key": "k"})
			second, _ := httpGet(t, url, map[string]string{"x-api-key": "k"})
			if first.StatusCode != 200 || second.StatusCode != 429 || second.Header.Get("retry-after") == "" {
				t.Errorf("statuses %d then %d (retry-after %q), want 200 then 429 with retry-after", first.StatusCode, second.StatusCode, second.Header.Get("retry-after"))
			}
		}},
		{"access-log", ``, func(t *testing.T, url string, logs *lines, _ *host.Runtime) {
			httpGet(t, url+"/items", nil)
			waitFor(t, func() bool { return logs.has("access GET /items status=200") }, "an access log line")
		}},
		{"metrics", `{"prefix": "shop"}`, func(t *testing.T, url string, _ *lines, rt *host.Runtime) {
			httpGet(t, url, nil)
			waitFor(t, func() bool { v, _ := rt.MetricValue("e2e", "shop_responses_2xx_total"); return v == 1 }, "shop_responses_2xx_total = 1")
		}},
		{"tcp", `{"denyPrefix": "DROP"}`, nil},
	}
	for _, tt := range tests {
		t.Run(tt.template, func(t *testing.T) {
			os.RemoveAll(proj)
			mustRun(t, "init", proj, "--template", tt.template)
			gomod, _ := os.ReadFile(filepath.Join(proj, "go.mod"))
			if strings.Contains(string(gomod), "replace") {
				t.Fatalf("go.mod has a replace directive:\n%s", gomod)
			}
			// go test (native + wasm) and the declarative cases.
			mustRun(t, "test", proj)
			ref := reg.Ref("e2e/" + tt.template + ":0.1.0")
			var built author.BuildResult
			if err := json.Unmarshal([]byte(mustRun(t, "build", proj, "-t", ref, "-o", "json")), &built); err != nil {
				t.Fatal(err)
			}
			mustRun(t, "push", ref)
			out := t.TempDir()
			mustRun(t, "pull", ref, "-d", out)
			wasm, err := os.ReadFile(filepath.Join(out, "filter.wasm"))
			if err != nil {
				t.Fatalf("pull wrote no filter.wasm: %v", err)
			}
			for _, f := range []string{"README.md", "schema.json", "wasmctl.yaml"} {
				if _, err := os.Stat(filepath.Join(out, f)); err != nil {
					t.Errorf("pull did not write %s: %v", f, err)
				}
			}
			runPulled(t, wasm, tt.config, tt.template, tt.check)

			// Interop: the same module pushed by oras as a plain artifact (one
			// raw .wasm layer) is pulled, inspected and run by wasmctl.
			if tt.template != "http-headers" {
				return
			}
			oras := findTool("oras")
			if oras == "" {
				t.Log("skipping the oras half: oras is not installed (go install oras.land/oras/cmd/oras@latest)")
				return
			}
			plain := reg.Ref("e2e/plain:1")
			cmd := exec.CommandContext(t.Context(), oras, "push", "--plain-http", plain, "filter.wasm")
			cmd.Dir = out
			if b, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("oras push: %v\n%s", err, b)
			}
			if text := mustRun(t, "inspect", plain); !strings.Contains(text, "artifact variant") || !strings.Contains(text, "proxy_on_request_headers") {
				t.Errorf("inspect of the oras artifact:\n%s", text)
			}
			out2 := t.TempDir()
			mustRun(t, "pull", plain, "-d", out2)
			wasm2, err := os.ReadFile(filepath.Join(out2, "filter.wasm"))
			if err != nil {
				t.Fatalf("pull of the oras artifact wrote no filter.wasm: %v", err)
			}
			runPulled(t, wasm2, tt.config, tt.template, tt.check)
		})
	}
}

// findTool finds a CLI on PATH or in ~/go/bin ("" when absent).
func findTool(name string) string {
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	home, _ := os.UserHomeDir()
	p := filepath.Join(home, "go", "bin", name)
	if _, err := os.Stat(p); err == nil {
		return p
	}
	return ""
}

// runPulled runs the module in the runtime host and calls check with the
// URL of a proxy (the filter in front of a stub upstream on 127.0.0.1).
func runPulled(t *testing.T, wasm []byte, config, template string, check func(*testing.T, string, *lines, *host.Runtime)) {
	t.Helper()
	ctx := t.Context()
	logs := &lines{}
	rt, err := host.NewRuntime(ctx, host.Config{Logger: slog.New(logs), LogLevel: host.LogTrace})
	if err != nil {
		t.Fatal(err)
	}
	defer rt.Close(context.Background())
	mod, err := rt.Compile(ctx, wasm)
	if err != nil {
		t.Fatalf("the pulled module does not compile in the runtime host: %v", err)
	}
	plugin, err := rt.NewPlugin(ctx, mod, host.PluginConfig{Name: "e2e", PluginConfig: []byte(config), PoolSize: 1})
	if err != nil {
		t.Fatalf("the plugin does not start: %v", err)
	}
	defer plugin.Close(context.Background())
	if template == "tcp" {
		s, err := plugin.NewTCPStream(&host.StreamInfo{})
		if err != nil {
			t.Fatal(err)
		}
		defer s.Done()
		s.OnNewConnection()
		if r := s.OnDownstreamData([]byte("hello"), false); !r.Continue {
			t.Errorf("hello: %+v, want Continue", r)
		}
		s2, err := plugin.NewTCPStream(&host.StreamInfo{})
		if err != nil {
			t.Fatal(err)
		}
		defer s2.Done()
		s2.OnNewConnection()
		if r := s2.OnDownstreamData([]byte("DROP this"), false); r.Continue {
			t.Errorf("DROP: %+v, want the connection stopped", r)
		}
		waitFor(t, func() bool { v, _ := rt.MetricValue("e2e", "tcp_connections_total"); return v == 2 }, "tcp_connections_total = 2")
		return
	}
	upstream := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("x-upstream-saw-team", r.Header.Get("x-team"))
		io.WriteString(w, "ok\n")
	})
	srv := httptest.NewServer(httpfilter.New([]*host.Plugin{plugin}, upstream, httpfilter.Options{}))
	defer srv.Close()
	check(t, srv.URL, logs, rt)
}

func httpGet(t *testing.T, url string, headers map[string]string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

func waitFor(t *testing.T, cond func() bool, what string) {
	t.Helper()
	deadline := time.Now().Add(3 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Errorf("timed out waiting for %s", what)
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestBuild_BadInput: a compile error shows the compiler's file:line, a
// failing declarative case fails `wasmctl test`, and a failed build leaves
// nothing behind (no .wasm, no tag in the store).
func TestBuild_BadInput(t *testing.T) {
	store := authorEnv(t)
	offlineGo(t)
	proj := filepath.Join(t.TempDir(), "broken")
	mustRun(t, "init", proj, "--template", "http-headers")
	main := filepath.Join(proj, "main.go")
	src, _ := os.ReadFile(main)
	broken := strings.Replace(string(src), "return types.ActionContinue", "return types.ActionContinue + undefinedThing", 1)
	writeFile(t, main, []byte(broken))
	code, _, errOut := run(t, "build", proj)
	if code != ExitError || !strings.Contains(errOut, "main.go:") || !strings.Contains(errOut, "undefinedThing") {
		t.Errorf("build of a broken project: exit %d, stderr %q; want the compiler's main.go:LINE message", code, errOut)
	}
	if _, err := os.Stat(filepath.Join(proj, "broken.wasm")); err == nil {
		t.Error("a failed build left broken.wasm behind")
	}
	st, err := author.OpenStore(t.Context(), store)
	if err != nil {
		t.Fatal(err)
	}
	if entries, _ := st.List(t.Context()); len(entries) != 0 {
		t.Errorf("a failed build tagged %v in the store", entries)
	}
	// A wrong expectation fails `wasmctl test` with exit 1 and says why.
	writeFile(t, main, src)
	writeFile(t, filepath.Join(proj, "tests", "headers.yaml"), []byte(`cases:
  - name: wrong expectation
    request: {path: /}
    expect: {status: 418}
`))
	code, out, _ := run(t, "test", proj, "--skip-go")
	if code != ExitError || !strings.Contains(out, "status = 200, want 418") {
		t.Errorf("wasmctl test with a failing case: exit %d, output %q", code, out)
	}
	// A typo in a test file is reported, not ignored.
	writeFile(t, filepath.Join(proj, "tests", "headers.yaml"), []byte("cases:\n  - name: x\n    expect: {stauts: 200}\n"))
	if code, _, errOut := run(t, "test", proj, "--skip-go"); code != ExitError || !strings.Contains(errOut, "stauts") {
		t.Errorf("wasmctl test with a typo: exit %d, stderr %q", code, errOut)
	}
}
