package proxy

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/wasmctl/wasmctl/runtime/cache"
	"github.com/wasmctl/wasmctl/runtime/config"
)

// RunOptions configures Run, the whole `wasmctl proxy` process.
type RunOptions struct {
	// ConfigPath is the YAML configuration; it is watched for changes.
	ConfigPath string
	// PlainHTTP reaches every registry over plain HTTP (for localhost
	// registries); cache.plainHTTP in the file lists hosts one by one.
	PlainHTTP bool
	// CacheDir overrides cache.dir.
	CacheDir string
	// CompileCacheDir overrides where compiled code is kept
	// (default: the cache directory's compiled/).
	CompileCacheDir string
	// AdminAddress overrides admin.address.
	AdminAddress string
	// Logger receives structured logs. Nil means slog.Default().
	Logger *slog.Logger
	// Started, when set, is called once the first configuration serves.
	Started func(s *Server, adminAddr string)
	// Admin builds the admin handler; nil disables the admin endpoint.
	// (The admin package imports this one, so the CLI passes
	// admin.Handler here.)
	Admin func(s *Server) http.Handler
}

// DefaultCacheDir is where pulled modules and compiled code are kept when
// neither the flag nor the file says.
func DefaultCacheDir() string {
	if d, err := os.UserCacheDir(); err == nil {
		return filepath.Join(d, "wasmctl", "runtime")
	}
	return filepath.Join(os.TempDir(), "wasmctl-runtime-cache")
}

// Run loads the configuration, starts the proxy and its admin endpoint,
// applies every change of the configuration file (and the file as it is on
// SIGHUP) as a hot reload, and on
// ctx's end shuts down gracefully (draining in-flight requests for up to
// drainTimeout). It returns an error when the first configuration cannot be
// served; later invalid configurations are logged and ignored.
func Run(ctx context.Context, o RunOptions) error {
	log := o.Logger
	if log == nil {
		log = slog.Default()
	}
	data, err := os.ReadFile(o.ConfigPath)
	if err != nil {
		return fmt.Errorf("cannot read the proxy config: %w", err)
	}
	cfg, err := config.Parse(o.ConfigPath, data)
	if err != nil {
		return err
	}
	cacheDir := o.CacheDir
	if cacheDir == "" {
		cacheDir = cfg.Cache.Dir
	}
	if cacheDir == "" {
		cacheDir = DefaultCacheDir()
	}
	plain := cfg.Cache.PlainHTTP
	mc, err := cache.Open(filepath.Join(cacheDir, "modules"), cache.Options{
		PlainHTTP:    func(host string) bool { return o.PlainHTTP || slices.Contains(plain, host) },
		DockerConfig: cfg.Cache.DockerConfig,
		Timeout:      cfg.Cache.FetchTimeout.D(),
		Logger:       log.With("component", "cache"),
	})
	if err != nil {
		return err
	}
	var srv atomic.Pointer[Server] // callouts resolve clusters of the running config
	resolver := resolverFunc(func(name string) (string, bool) {
		if s := srv.Load(); s != nil {
			return s.ResolveCluster(name)
		}
		return "", false
	})
	compiled := o.CompileCacheDir
	if compiled == "" {
		compiled = filepath.Join(cacheDir, "compiled")
	}
	eng, err := NewWasmEngine(ctx, WasmEngineOptions{CompileCacheDir: compiled, Logger: log.With("component", "wasm"), Clusters: resolver})
	if err != nil {
		return err
	}
	defer eng.Close(context.Background())
	s := New(Options{Engine: eng, Cache: mc, Logger: log, Collectors: []prometheus.Collector{mc.Collector(), eng.Collector()}})
	srv.Store(s)
	if err := s.Apply(ctx, cfg); err != nil {
		return err
	}

	adminAddr := o.AdminAddress
	if adminAddr == "" {
		adminAddr = cfg.Admin.Address
	}
	var adminSrv *http.Server
	if adminAddr != "" && o.Admin != nil {
		ln, err := net.Listen("tcp", adminAddr)
		if err != nil {
			s.Shutdown(context.Background())
			return fmt.Errorf("admin endpoint: cannot listen on %s: %w", adminAddr, err)
		}
		adminAddr = ln.Addr().String()
		adminSrv = &http.Server{Handler: o.Admin(s), ReadHeaderTimeout: 10 * time.Second}
		go adminSrv.Serve(ln)
		log.Info("admin endpoint listening", "address", adminAddr)
	}

	reloads := make(chan *config.Config, 1)
	if err := config.WatchSince(ctx, o.ConfigPath, data, func(c *config.Config, err error) {
		if err != nil {
			log.Error("configuration file rejected; the running configuration keeps serving", "err", err)
			return
		}
		select {
		case <-reloads: // a newer one replaces a pending one
		default:
		}
		reloads <- c
	}); err != nil {
		log.Warn("configuration file not watched; restart to apply changes", "err", err)
	}
	for _, l := range cfg.Listeners {
		log.Info("listening", "listener", l.Name, "address", s.Addr(l.Name), "protocol", cmpOr(l.Protocol, config.ProtocolHTTP))
	}
	if o.Started != nil {
		o.Started(s, adminAddr)
	}
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	for {
		select {
		case <-hup: // an explicit reload, e.g. when the file lives where it cannot be watched
			c, err := config.Load(o.ConfigPath)
			if err != nil {
				log.Error("configuration file rejected; the running configuration keeps serving", "err", err)
				continue
			}
			t0 := time.Now()
			if err := s.Apply(ctx, c); err == nil {
				log.Info("reload on SIGHUP done", "took", time.Since(t0))
			}
		case c := <-reloads:
			t0 := time.Now()
			if err := s.Apply(ctx, c); err == nil {
				log.Info("hot reload done", "took", time.Since(t0))
			}
		case <-ctx.Done():
			drain := s.drainTimeout(s.ConfigDump().Config)
			log.Info("shutting down; draining in-flight requests", "timeout", drain)
			sctx, cancel := context.WithTimeout(context.Background(), drain)
			defer cancel()
			err := s.Shutdown(sctx)
			if adminSrv != nil {
				adminSrv.Shutdown(sctx)
			}
			if errors.Is(err, context.DeadlineExceeded) {
				return fmt.Errorf("shutdown: requests still in flight after %s", drain)
			}
			return err
		}
	}
}

// resolverFunc adapts a function to host.ClusterResolver.
type resolverFunc func(name string) (string, bool)

func (f resolverFunc) ResolveCluster(name string) (string, bool) { return f(name) }

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}
