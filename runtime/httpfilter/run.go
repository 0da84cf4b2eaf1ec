package httpfilter

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/wasmctl/wasmctl/runtime/host"
)

// RunOptions configures Run: one local proxy-wasm filter in front of one
// upstream, with named clusters for the filter's callouts.
type RunOptions struct {
	// WasmPath is the filter module, a local .wasm file.
	WasmPath string
	// Upstream is the base URL requests are forwarded to
	// ("http://127.0.0.1:8080").
	Upstream string
	// Listen is the address to serve on. Default "127.0.0.1:10000"; use
	// port 0 for any free port (Ready reports the bound address).
	Listen string
	// PluginConfig is given to proxy_on_configure, VMConfig to
	// proxy_on_vm_start.
	PluginConfig, VMConfig []byte
	// RootID is the root context id (plugin_root_id); Name defaults to the
	// file name without .wasm.
	RootID, Name string
	// Clusters maps the cluster names used by proxy_http_call and
	// proxy_grpc_call to base URLs.
	Clusters map[string]string
	// FailOpen skips the filter for streams of a crashed VM instead of
	// answering 503.
	FailOpen bool
	// Env is the filter's WASI environment.
	Env map[string]string
	// PoolSize is the number of VM instances (default min(GOMAXPROCS, 4)).
	PoolSize int
	// CacheDir keeps compiled code on disk between runs; "" keeps it in
	// memory only.
	CacheDir string
	// DrainTimeout bounds the graceful shutdown (default 10s).
	DrainTimeout time.Duration
	// Logger receives host and plugin logs. Default slog.Default().
	Logger *slog.Logger
	// Ready, if set, is called once the listener is bound and the filter is
	// running.
	Ready func(addr net.Addr)
}

// Run loads the filter, starts it, serves HTTP on Listen through the filter
// to Upstream, and returns when ctx is done, after draining in-flight
// requests and stopping the filter (proxy_on_done, proxy_on_delete). Errors
// name what to fix: a missing or non-wasm file, a module that is not
// proxy-wasm, or the start step that failed, with the filter's own log lines.
func Run(ctx context.Context, o RunOptions) error {
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Listen == "" {
		o.Listen = "127.0.0.1:10000"
	}
	if o.DrainTimeout <= 0 {
		o.DrainTimeout = 10 * time.Second
	}
	if o.Name == "" {
		o.Name = strings.TrimSuffix(filepath.Base(o.WasmPath), ".wasm")
	}
	wasm, err := ReadModule(o.WasmPath)
	if err != nil {
		return err
	}
	next, err := NewReverseProxy(o.Upstream)
	if err != nil {
		return fmt.Errorf("%w (set --upstream)", err)
	}
	for name, u := range o.Clusters {
		if _, err := NewReverseProxy(u); err != nil {
			return fmt.Errorf("cluster %s: %w", name, err)
		}
	}

	// Keep the filter's recent log lines to explain a failed start.
	tail := &logTail{next: o.Logger.Handler(), max: 20, state: &tailState{}}
	log := slog.New(tail)
	rt, err := host.NewRuntime(ctx, host.Config{
		CacheDir: o.CacheDir,
		Logger:   log,
		Clusters: host.StaticClusters(o.Clusters),
	})
	if err != nil {
		return err
	}
	defer rt.Close(context.Background())
	start := time.Now()
	mod, err := rt.Compile(ctx, wasm)
	if err != nil {
		return fmt.Errorf("filter %s: %w", o.WasmPath, err)
	}
	o.Logger.Info("compiled filter", "file", o.WasmPath, "digest", mod.Digest, "abi", mod.ABI, "took", time.Since(start).Round(time.Millisecond))
	fs := host.FailClose
	if o.FailOpen {
		fs = host.FailOpen
	}
	p, err := rt.NewPlugin(ctx, mod, host.PluginConfig{
		Name: o.Name, RootID: o.RootID, VMID: o.Name,
		VMConfig: o.VMConfig, PluginConfig: o.PluginConfig, Env: o.Env,
		FailStrategy: fs, PoolSize: o.PoolSize,
	})
	if err != nil {
		return startError(err, tail.lines(), o)
	}
	defer func() {
		cctx, cancel := context.WithTimeout(context.Background(), o.DrainTimeout)
		defer cancel()
		p.Close(cctx)
	}()

	ln, err := net.Listen("tcp", o.Listen)
	if err != nil {
		return fmt.Errorf("listen on %s: %w (pick another address with --listen, e.g. 127.0.0.1:0)", o.Listen, err)
	}
	srv := &http.Server{
		Handler:           New([]*host.Plugin{p}, next, Options{Logger: o.Logger, UpstreamAddr: upstreamHost(o.Upstream), ClusterName: "upstream"}),
		ReadHeaderTimeout: 30 * time.Second,
		ErrorLog:          slog.NewLogLogger(o.Logger.Handler(), slog.LevelWarn),
	}
	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(ln) }()
	o.Logger.Info("serving", "listen", ln.Addr().String(), "upstream", o.Upstream, "filter", o.Name, "fail_strategy", fs.String())
	if o.Ready != nil {
		o.Ready(ln.Addr())
	}
	select {
	case err := <-serveErr:
		return fmt.Errorf("serve %s: %w", ln.Addr(), err)
	case <-ctx.Done():
	}
	o.Logger.Info("shutting down: draining in-flight requests", "timeout", o.DrainTimeout)
	sctx, cancel := context.WithTimeout(context.Background(), o.DrainTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		srv.Close()
		return fmt.Errorf("drain: requests still in flight after %s: %w", o.DrainTimeout, err)
	}
	return nil
}

// ReadModule reads a local .wasm file and checks it is a WebAssembly binary,
// with errors that say how to fix the path or the file.
func ReadModule(path string) ([]byte, error) {
	if path == "" {
		return nil, errors.New("no filter given: pass the path of a .wasm file (build one with `wasmctl build`)")
	}
	b, err := os.ReadFile(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil, fmt.Errorf("filter %s does not exist: check the path, or build it with `wasmctl build`", path)
	case err != nil:
		if st, serr := os.Stat(path); serr == nil && st.IsDir() {
			return nil, fmt.Errorf("filter %s is a directory: pass the .wasm file inside it (`wasmctl build` writes one)", path)
		}
		return nil, fmt.Errorf("read filter %s: %w", path, err)
	}
	if !bytes.HasPrefix(b, []byte("\x00asm")) {
		head := b[:min(len(b), 8)]
		return nil, fmt.Errorf("filter %s is not a WebAssembly module (it starts with %q, not \"\\x00asm\"): pass the .wasm file that `wasmctl build` or your SDK's build wrote", path, head)
	}
	return b, nil
}

func startError(err error, lines []string, o RunOptions) error {
	var b strings.Builder
	b.WriteString(err.Error())
	var se *host.StartError
	if errors.As(err, &se) {
		switch se.Step {
		case "proxy_on_configure":
			b.WriteString("\nfix: the filter rejected its plugin configuration; check --config")
		case "proxy_on_vm_start":
			b.WriteString("\nfix: the filter rejected its VM configuration; check --vm-config")
		case "instantiate":
			b.WriteString("\nfix: the module could not be instantiated; rebuild it for wasip1 with a proxy-wasm SDK")
		default:
			b.WriteString("\nfix: the filter failed while starting; see its log lines below")
		}
		if o.RootID == "" {
			b.WriteString(" (some filters also need --root-id)")
		}
	}
	if len(lines) > 0 {
		b.WriteString("\nfilter log:")
		for _, l := range lines {
			b.WriteString("\n  ")
			b.WriteString(l)
		}
	}
	return errors.New(b.String())
}

func upstreamHost(u string) string {
	if i := strings.Index(u, "://"); i >= 0 {
		u = u[i+3:]
	}
	if i := strings.IndexByte(u, '/'); i >= 0 {
		u = u[:i]
	}
	return u
}

// logTail is a slog.Handler that forwards to next and keeps the last max
// messages logged by the filter itself (source=wasm) or about its VM.
type logTail struct {
	next  slog.Handler
	max   int
	state *tailState
	wasm  bool
}

type tailState struct {
	mu  sync.Mutex
	buf []string
}

func (t *logTail) st() *tailState { return t.state }

func (t *logTail) Enabled(ctx context.Context, l slog.Level) bool { return t.next.Enabled(ctx, l) }

func (t *logTail) Handle(ctx context.Context, r slog.Record) error {
	wasm := t.wasm
	r.Attrs(func(a slog.Attr) bool {
		if a.Key == "source" && a.Value.String() == "wasm" {
			wasm = true
		}
		return true
	})
	if wasm {
		s := t.st()
		s.mu.Lock()
		s.buf = append(s.buf, r.Level.String()+" "+r.Message)
		if len(s.buf) > t.max {
			s.buf = s.buf[len(s.buf)-t.max:]
		}
		s.mu.Unlock()
	}
	return t.next.Handle(ctx, r)
}

func (t *logTail) WithAttrs(as []slog.Attr) slog.Handler {
	c := &logTail{next: t.next.WithAttrs(as), max: t.max, state: t.st(), wasm: t.wasm}
	for _, a := range as {
		if a.Key == "source" && a.Value.String() == "wasm" {
			c.wasm = true
		}
	}
	return c
}

func (t *logTail) WithGroup(name string) slog.Handler {
	return &logTail{next: t.next.WithGroup(name), max: t.max, state: t.st(), wasm: t.wasm}
}

func (t *logTail) lines() []string {
	s := t.st()
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.buf...)
}
