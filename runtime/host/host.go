// Package host runs proxy-wasm filters (ABI 0.1.0, 0.2.0 and 0.2.1) on
// wazero, the way Envoy's proxy-wasm-cpp-host does.
//
// A Runtime compiles modules once per sha256 digest (in memory and,
// with Config.CacheDir, on disk) and owns what is shared between plugins:
// shared data and queues (per vm_id), metrics, callout clusters and foreign
// functions. A Plugin is one configured filter: a pool of VM instances, each
// started with _initialize / _start, proxy_on_context_create,
// proxy_on_vm_start and proxy_on_configure. Streams (HTTPStream, TCPStream)
// bind to one instance for their whole life; an instance runs one callback at
// a time, and streams interleave on it.
//
// A trap, proc_exit, memory-limit hit or callback deadline kills only the
// instance: its streams get the plugin's FailStrategy and the instance is
// rebuilt from the cached compiled module with exponential backoff.
package host

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"
	"google.golang.org/grpc"
)

// Config configures a Runtime. The zero value is usable.
type Config struct {
	// CacheDir, when set, keeps wazero's compiled code on disk so a restart
	// does not recompile (the in-memory cache is always on).
	CacheDir string
	// MemoryLimitPages caps each VM's linear memory in 64 KiB pages.
	// Default 16384 (1 GiB, Envoy's cap). A Go guest needs ≥ 128 pages.
	MemoryLimitPages uint32
	// CallbackTimeout bounds every call into a guest; past it the instance
	// is closed and counted as crashed. Default 5s.
	CallbackTimeout time.Duration
	// Logger receives plugin logs (proxy_log, stdout, stderr) and host
	// events. Default slog.Default().
	Logger *slog.Logger
	// LogLevel is what proxy_get_log_level reports and the lowest proxy_log
	// level forwarded. Default LogInfo... set LogTrace to see everything.
	LogLevel LogLevel
	// Clusters resolves the upstream names used by proxy_http_call and
	// proxy_grpc_call to base URLs ("http://127.0.0.1:8080"). Nil means no
	// callouts (BAD_ARGUMENT for HTTP, PARSE_FAILURE for gRPC, as Envoy).
	Clusters ClusterResolver
	// HTTPClient makes HTTP callouts. Default: a client with a private
	// transport.
	HTTPClient *http.Client
	// Foreign adds or overrides foreign functions by name on top of the
	// built-ins (see Builtins).
	Foreign map[string]ForeignFunc
	// RebuildBackoff is the first delay before a crashed instance is
	// rebuilt; it doubles per consecutive crash up to MaxRebuildBackoff.
	// Defaults 100ms and 30s.
	RebuildBackoff, MaxRebuildBackoff time.Duration
}

// ClusterResolver maps a cluster name to a base URL such as
// "http://127.0.0.1:9000". ok=false means the cluster is unknown.
type ClusterResolver interface {
	ResolveCluster(name string) (baseURL string, ok bool)
}

// StaticClusters is a ClusterResolver backed by a map.
type StaticClusters map[string]string

// ResolveCluster implements ClusterResolver.
func (s StaticClusters) ResolveCluster(name string) (string, bool) {
	u, ok := s[name]
	return u, ok
}

// LogLevel is a proxy_log_level_t.
type LogLevel uint32

// Log levels.
const (
	LogTrace LogLevel = iota
	LogDebug
	LogInfo
	LogWarn
	LogError
	LogCritical
)

func (l LogLevel) String() string {
	switch l {
	case LogTrace:
		return "trace"
	case LogDebug:
		return "debug"
	case LogInfo:
		return "info"
	case LogWarn:
		return "warn"
	case LogError:
		return "error"
	case LogCritical:
		return "critical"
	}
	return fmt.Sprintf("level(%d)", uint32(l))
}

func (l LogLevel) slog() slog.Level {
	switch l {
	case LogTrace:
		return slog.LevelDebug - 4
	case LogDebug:
		return slog.LevelDebug
	case LogInfo:
		return slog.LevelInfo
	case LogWarn:
		return slog.LevelWarn
	}
	return slog.LevelError
}

// Runtime embeds wazero and owns compiled modules and process-wide proxy-wasm
// state. It is safe for concurrent use. Close it when done.
type Runtime struct {
	cfg     Config
	wz      wazero.Runtime
	cache   wazero.CompilationCache
	log     *slog.Logger
	client  *http.Client
	foreign map[string]ForeignFunc

	modMu   sync.Mutex
	modules map[string]*moduleEntry

	shared  *sharedStore
	metrics *metricStore

	plugMu  sync.Mutex
	plugins map[*Plugin]struct{}

	wd watchdog

	wzWatched   wazero.Runtime
	watchedOnce sync.Once
	watchedErr  error
	done        chan struct{}

	grpcMu    sync.Mutex
	grpcConns map[string]*grpc.ClientConn
}

type moduleEntry struct {
	done chan struct{}
	mod  *Module
	err  error
}

// NewRuntime creates a Runtime and registers the host modules (env,
// wasi_snapshot_preview1, wasi_unstable).
func NewRuntime(ctx context.Context, cfg Config) (*Runtime, error) {
	if cfg.MemoryLimitPages == 0 {
		cfg.MemoryLimitPages = 16384
	}
	if cfg.CallbackTimeout <= 0 {
		cfg.CallbackTimeout = 5 * time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.RebuildBackoff <= 0 {
		cfg.RebuildBackoff = 100 * time.Millisecond
	}
	if cfg.MaxRebuildBackoff <= 0 {
		cfg.MaxRebuildBackoff = 30 * time.Second
	}
	r := &Runtime{
		cfg:     cfg,
		log:     cfg.Logger,
		client:  cfg.HTTPClient,
		modules: map[string]*moduleEntry{},
		shared:  newSharedStore(),
		metrics: newMetricStore(),
		plugins: map[*Plugin]struct{}{},
		foreign: Builtins(),
		done:    make(chan struct{}),
	}
	for k, f := range cfg.Foreign {
		r.foreign[k] = f
	}
	if r.client == nil {
		r.client = &http.Client{Transport: &http.Transport{Proxy: nil, MaxIdleConnsPerHost: 16, IdleConnTimeout: 30 * time.Second}}
	}
	var err error
	if cfg.CacheDir != "" {
		r.cache, err = wazero.NewCompilationCacheWithDir(cfg.CacheDir)
		if err != nil {
			return nil, fmt.Errorf("host: compilation cache in %s: %w (check the directory is writable)", cfg.CacheDir, err)
		}
	} else {
		r.cache = wazero.NewCompilationCache()
	}
	// Modules run instrumented with the deadline flag (deadline.go) in r.wz,
	// which does not start a goroutine per guest call; the few the
	// instrumentation cannot decode run in r.wzWatched (made on first use),
	// where wazero watches each call's context.
	r.wz, err = r.newWazero(ctx, false)
	if err != nil {
		return nil, err
	}
	return r, nil
}

// newWazero makes a wazero runtime with the host modules registered.
// watchContext enables WithCloseOnContextDone.
func (r *Runtime) newWazero(ctx context.Context, watchContext bool) (wazero.Runtime, error) {
	rc := wazero.NewRuntimeConfig().
		WithCompilationCache(r.cache).
		WithMemoryLimitPages(r.cfg.MemoryLimitPages).
		WithCloseOnContextDone(watchContext)
	wz := wazero.NewRuntimeWithConfig(ctx, rc)
	if err := registerHostModules(ctx, wz); err != nil {
		wz.Close(ctx)
		return nil, err
	}
	return wz, nil
}

// watched returns the runtime for modules that are not instrumented.
func (r *Runtime) watched(ctx context.Context) (wazero.Runtime, error) {
	r.watchedOnce.Do(func() { r.wzWatched, r.watchedErr = r.newWazero(ctx, true) })
	return r.wzWatched, r.watchedErr
}

func registerHostModules(ctx context.Context, wz wazero.Runtime) error {
	if _, err := wasi_snapshot_preview1.Instantiate(ctx, wz); err != nil {
		return fmt.Errorf("host: wasi_snapshot_preview1: %w", err)
	}
	b := wz.NewHostModuleBuilder("wasi_unstable")
	wasi_snapshot_preview1.NewFunctionExporter().ExportFunctions(b)
	if _, err := b.Instantiate(ctx); err != nil {
		return fmt.Errorf("host: wasi_unstable: %w", err)
	}
	env := wz.NewHostModuleBuilder("env")
	exportEnv(env)
	if _, err := env.Instantiate(ctx); err != nil {
		return fmt.Errorf("host: env module: %w", err)
	}
	return nil
}

// Close stops every plugin and releases compiled code.
func (r *Runtime) Close(ctx context.Context) error {
	r.plugMu.Lock()
	ps := make([]*Plugin, 0, len(r.plugins))
	for p := range r.plugins {
		ps = append(ps, p)
	}
	r.plugMu.Unlock()
	for _, p := range ps {
		p.Close(ctx)
	}
	close(r.done)
	r.grpcMu.Lock()
	for _, c := range r.grpcConns {
		c.Close()
	}
	r.grpcMu.Unlock()
	err := r.wz.Close(ctx)
	r.watchedOnce.Do(func() {}) // no watched runtime after Close
	if r.wzWatched != nil {
		if e := r.wzWatched.Close(ctx); err == nil {
			err = e
		}
	}
	if r.cfg.CacheDir == "" {
		r.cache.Close(ctx)
	}
	return err
}

// Module is a compiled proxy-wasm module. It is immutable and shared by every
// plugin built from the same bytes.
type Module struct {
	// Digest is "sha256:<hex>" of the module bytes.
	Digest string
	// ABI is the version declared by the proxy_abi_version_* marker.
	ABI ABIVersion
	// Size is the size of the wasm bytes.
	Size int

	compiled wazero.CompiledModule
	exports  map[string]api.FunctionDefinition
	// wz is the wazero runtime the module was compiled in; deadline is
	// true when it carries the injected deadline flag (deadline.go).
	wz       wazero.Runtime
	deadline bool
}

// Exports lists the names of the functions the module exports.
func (m *Module) Exports() []string {
	out := make([]string, 0, len(m.exports))
	for k := range m.exports {
		out = append(out, k)
	}
	return out
}

// HasExport reports whether the module exports a function with that name.
func (m *Module) HasExport(name string) bool { _, ok := m.exports[name]; return ok }

// ErrNotProxyWasm is returned by Compile for a module without a proxy-wasm
// ABI marker export.
var ErrNotProxyWasm = errors.New("not a proxy-wasm module: no proxy_abi_version_0_1_0/0_2_0/0_2_1 export (build it with a proxy-wasm SDK)")

// Compile compiles wasm once per sha256 digest; later calls with the same
// bytes return the same *Module. It validates the ABI marker and that every
// import is one this host provides.
func (r *Runtime) Compile(ctx context.Context, wasm []byte) (*Module, error) {
	sum := sha256.Sum256(wasm)
	digest := "sha256:" + hex.EncodeToString(sum[:])
	r.modMu.Lock()
	e, ok := r.modules[digest]
	if !ok {
		e = &moduleEntry{done: make(chan struct{})}
		r.modules[digest] = e
		r.modMu.Unlock()
		e.mod, e.err = r.compile(ctx, wasm, digest)
		close(e.done)
		if e.err != nil {
			r.modMu.Lock()
			delete(r.modules, digest)
			r.modMu.Unlock()
		}
		return e.mod, e.err
	}
	r.modMu.Unlock()
	select {
	case <-e.done:
		return e.mod, e.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func (r *Runtime) compile(ctx context.Context, wasm []byte, digest string) (*Module, error) {
	wz, deadline := r.wz, true
	var cm wazero.CompiledModule
	inst, err := instrumentDeadline(wasm)
	if err == nil {
		cm, err = wz.CompileModule(ctx, inst)
	}
	if err != nil {
		// Not decodable by the instrumentation, or the rewritten module
		// failed to compile: run the original bytes with wazero's own
		// context watching (a goroutine per guest call).
		r.log.Debug("wasm module runs without the deadline instrumentation", "digest", digest, "reason", err)
		if wz, err = r.watched(ctx); err != nil {
			return nil, err
		}
		deadline = false
		if cm, err = wz.CompileModule(ctx, wasm); err != nil {
			return nil, fmt.Errorf("host: compile %s: %w", digest, err)
		}
	}
	m := &Module{Digest: digest, Size: len(wasm), compiled: cm, exports: cm.ExportedFunctions(), wz: wz, deadline: deadline}
	switch {
	case m.HasExport("proxy_abi_version_0_2_1"):
		m.ABI = ABI021
	case m.HasExport("proxy_abi_version_0_2_0"):
		m.ABI = ABI020
	case m.HasExport("proxy_abi_version_0_1_0"):
		m.ABI = ABI010
	case m.HasExport("proxy_abi_version_0_x_x"):
		m.ABI = ABINext
	default:
		cm.Close(ctx)
		return nil, ErrNotProxyWasm
	}
	var missing []string
	for _, f := range cm.ImportedFunctions() {
		mod, name, _ := f.Import()
		switch mod {
		case "env":
			if _, ok := envSignatures[name]; !ok {
				missing = append(missing, mod+"."+name)
			}
		case "wasi_snapshot_preview1", "wasi_unstable":
		default:
			missing = append(missing, mod+"."+name)
		}
	}
	if len(missing) > 0 {
		cm.Close(ctx)
		return nil, fmt.Errorf("host: module %s imports functions this host does not provide: %s", digest, strings.Join(missing, ", "))
	}
	return m, nil
}

// Writer adapts a plugin's stdout/stderr to its log.
type logWriter struct {
	emit func(LogLevel, string)
	lvl  LogLevel
}

func (w logWriter) Write(p []byte) (int, error) {
	s := strings.TrimRight(string(p), "\n")
	if s != "" {
		w.emit(w.lvl, s)
	}
	return len(p), nil
}

var _ io.Writer = logWriter{}
