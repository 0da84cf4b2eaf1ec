package httpfilter_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"log/slog"

	"github.com/wasmctl/wasmctl/internal/sharedtest"
	"github.com/wasmctl/wasmctl/runtime/host"
	"github.com/wasmctl/wasmctl/runtime/host/hosttest"
	"github.com/wasmctl/wasmctl/runtime/httpfilter"
)

// clusters is a resolver tests add entries to (unique names per test).
type clusters struct{ m sync.Map }

func (c *clusters) ResolveCluster(name string) (string, bool) {
	v, ok := c.m.Load(name)
	if !ok {
		return "", false
	}
	return v.(string), true
}

var (
	envOnce  sync.Once
	rt       *host.Runtime
	logs     = &hosttest.Logs{}
	clusterM = &clusters{}
	modMu    sync.Mutex
	mods     = map[string]*host.Module{}
)

func runtimeT(t testing.TB) *host.Runtime {
	t.Helper()
	envOnce.Do(func() {
		var err error
		rt, err = host.NewRuntime(context.Background(), host.Config{
			Logger:          slog.New(logs),
			LogLevel:        host.LogTrace,
			Clusters:        clusterM,
			CallbackTimeout: 2 * time.Second,
			RebuildBackoff:  20 * time.Millisecond,
			CacheDir:        os.Getenv("WASMCTL_TEST_WAZERO_CACHE"),
		})
		if err != nil {
			panic(err)
		}
	})
	return rt
}

// corpusModule compiles a corpus binary once per process.
func corpusModule(t testing.TB, rel string) *host.Module {
	t.Helper()
	path := sharedtest.Corpus(t, rel)
	r := runtimeT(t)
	warmCorpus.Do(func() { go precompile(r, strings.TrimSuffix(path, rel)) })
	return compileFile(t, path)
}

var warmCorpus sync.Once

// precompile compiles every corpus module in the background, two at a
// time, so the tests find most of them already compiled (Runtime.Compile
// shares one compilation per digest).
func precompile(r *host.Runtime, dir string) {
	files, _ := filepath.Glob(filepath.Join(dir, "*", "*.wasm"))
	sem := make(chan struct{}, 2)
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		sem <- struct{}{}
		go func() {
			defer func() { <-sem }()
			r.Compile(context.Background(), b) // errors surface in the tests
		}()
	}
}

func compileFile(t testing.TB, path string) *host.Module {
	t.Helper()
	r := runtimeT(t)
	modMu.Lock()
	defer modMu.Unlock()
	if m, ok := mods[path]; ok {
		return m
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	m, err := r.Compile(context.Background(), b)
	if err != nil {
		t.Fatalf("compile %s: %v", path, err)
	}
	mods[path] = m
	return m
}

func compileBytes(t testing.TB, key string, b []byte) *host.Module {
	t.Helper()
	r := runtimeT(t)
	modMu.Lock()
	defer modMu.Unlock()
	if m, ok := mods[key]; ok {
		return m
	}
	m, err := r.Compile(context.Background(), b)
	if err != nil {
		t.Fatalf("compile %s: %v", key, err)
	}
	mods[key] = m
	return m
}

// newPlugin starts a plugin named after the test and closes it at cleanup.
func newPlugin(t testing.TB, m *host.Module, cfg host.PluginConfig) *host.Plugin {
	t.Helper()
	if cfg.Name == "" {
		cfg.Name = t.Name()
	}
	if cfg.PoolSize == 0 {
		cfg.PoolSize = 1
	}
	p, err := runtimeT(t).NewPlugin(context.Background(), m, cfg)
	if err != nil {
		t.Fatalf("NewPlugin: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		p.Close(ctx)
	})
	return p
}

// upstream is a real HTTP server on 127.0.0.1 recording what it received.
type upstream struct {
	*httptest.Server
	mu   sync.Mutex
	reqs []*recorded
}

type recorded struct {
	Method, Path, Host string
	Header             http.Header
	Body               string
}

func newUpstream(t testing.TB, h http.HandlerFunc) *upstream {
	t.Helper()
	u := &upstream{}
	u.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b := make([]byte, 0)
		if r.Body != nil {
			buf := make([]byte, 4096)
			for {
				n, err := r.Body.Read(buf)
				b = append(b, buf[:n]...)
				if err != nil {
					break
				}
			}
		}
		u.mu.Lock()
		u.reqs = append(u.reqs, &recorded{Method: r.Method, Path: r.URL.RequestURI(), Host: r.Host, Header: r.Header.Clone(), Body: string(b)})
		u.mu.Unlock()
		if h != nil {
			h(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/plain")
		w.Write([]byte("hello from upstream"))
	}))
	t.Cleanup(u.Close)
	return u
}

func (u *upstream) last(t testing.TB) *recorded {
	t.Helper()
	u.mu.Lock()
	defer u.mu.Unlock()
	if len(u.reqs) == 0 {
		t.Fatal("upstream received no request")
	}
	return u.reqs[len(u.reqs)-1]
}

func (u *upstream) count() int {
	u.mu.Lock()
	defer u.mu.Unlock()
	return len(u.reqs)
}

// proxy puts plugins in front of up with httpfilter + ReverseProxy, served on 127.0.0.1.
func proxy(t testing.TB, up *upstream, plugins ...*host.Plugin) *httptest.Server {
	t.Helper()
	h := httpfilter.New(plugins, httpfilter.ReverseProxy(up.URL), httpfilter.Options{Logger: slog.New(logs), PauseTimeout: 5 * time.Second})
	s := httptest.NewServer(h)
	t.Cleanup(s.Close)
	return s
}
