package host_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/wasmctl/wasmctl/runtime/host"
	"github.com/wasmctl/wasmctl/runtime/host/hosttest"
	"github.com/wasmctl/wasmctl/runtime/httpfilter"
	"github.com/wasmctl/wasmctl/sdk/wasmbuild"
)

// The package's tests share one Runtime and compile each module once.
var (
	rtOnce sync.Once
	rt     *host.Runtime
	rtErr  error
	logs   = &hosttest.Logs{}

	probeOnce sync.Once
	probeMod  *host.Module
	probeErr  error
)

// testConfig is the shared Runtime's configuration: a 64 MiB memory limit
// (the memory bomb hits it fast), a 1s callback deadline (the infinite loop
// dies fast) and a short rebuild backoff.
var testConfig = host.Config{
	MemoryLimitPages:  1024,
	CallbackTimeout:   time.Second,
	RebuildBackoff:    50 * time.Millisecond,
	MaxRebuildBackoff: time.Second,
	LogLevel:          host.LogDebug,
}

func runtimeT(tb testing.TB) *host.Runtime {
	tb.Helper()
	rtOnce.Do(func() {
		cfg := testConfig
		cfg.Logger = slog.New(logs)
		cfg.CacheDir = os.Getenv("WASMCTL_TEST_WAZERO_CACHE")
		rt, rtErr = host.NewRuntime(context.Background(), cfg)
	})
	if rtErr != nil {
		tb.Fatal(rtErr)
	}
	return rt
}

// probeWasm builds testdata/probe once per process.
func probeWasm(tb testing.TB) []byte {
	tb.Helper()
	b, err := wasmbuild.Cached("testdata/probe")
	if err != nil {
		tb.Fatalf("building testdata/probe: %v", err)
	}
	return b
}

// probe compiles testdata/probe once per process in the shared Runtime.
func probe(tb testing.TB) *host.Module {
	tb.Helper()
	wasm := probeWasm(tb)
	r := runtimeT(tb)
	probeOnce.Do(func() { probeMod, probeErr = r.Compile(context.Background(), wasm) })
	if probeErr != nil {
		tb.Fatal(probeErr)
	}
	return probeMod
}

func newPlugin(tb testing.TB, m *host.Module, cfg host.PluginConfig) *host.Plugin {
	tb.Helper()
	if cfg.PoolSize == 0 {
		cfg.PoolSize = 1
	}
	p, err := runtimeT(tb).NewPlugin(context.Background(), m, cfg)
	if err != nil {
		tb.Fatalf("NewPlugin %s: %v", cfg.Name, err)
	}
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		p.Close(ctx)
	})
	return p
}

// upstream is a real HTTP server on 127.0.0.1 counting its requests.
type upstream struct {
	*httptest.Server
	mu sync.Mutex
	n  int
}

func newUpstream(tb testing.TB) *upstream {
	u := &upstream{}
	u.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u.mu.Lock()
		u.n++
		u.mu.Unlock()
		io.WriteString(w, "upstream")
	}))
	tb.Cleanup(u.Close)
	return u
}

func (u *upstream) count() int { u.mu.Lock(); defer u.mu.Unlock(); return u.n }

// serve puts plugins in front of up on a real 127.0.0.1 listener.
func serve(tb testing.TB, up *upstream, plugins ...*host.Plugin) string {
	tb.Helper()
	h := httpfilter.New(plugins, httpfilter.ReverseProxy(up.URL), httpfilter.Options{Logger: slog.New(logs), PauseTimeout: 5 * time.Second})
	s := httptest.NewServer(h)
	tb.Cleanup(s.Close)
	return s.URL
}

type reply struct {
	status int
	probe  string // the x-probe response header
	body   string
}

func do(tb testing.TB, url string, hdr map[string]string) reply {
	tb.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		tb.Fatal(err)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		tb.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return reply{resp.StatusCode, resp.Header.Get("x-probe"), string(b)}
}
