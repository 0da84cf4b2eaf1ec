package hub

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/wasmctl/wasmctl/hub/api"
	"github.com/wasmctl/wasmctl/hub/auth"
	"github.com/wasmctl/wasmctl/hub/db"
	"github.com/wasmctl/wasmctl/hub/index"
	"github.com/wasmctl/wasmctl/hub/registry"
	"github.com/wasmctl/wasmctl/hub/web"
)

// Options are the programmatic knobs of [New] that do not belong in a
// configuration file.
type Options struct {
	// Logger receives the hub's logs (default slog.Default()).
	Logger *slog.Logger
	// BcryptCost overrides the password hashing cost (tests use
	// bcrypt.MinCost).
	BcryptCost int
	// LoginLimiter overrides the failed-login limiter.
	LoginLimiter *auth.Limiter
	// Listener hears registry events after the hub's own handling.
	Listener registry.Listener
}

// Server is a running hub: an http.Handler plus the services behind it.
type Server struct {
	// Config is the effective configuration, defaults filled in.
	Config   Config
	DB       *db.DB
	Auth     *auth.Service
	Registry *registry.Registry
	Index    *index.Index

	log     *slog.Logger
	handler http.Handler
	pulls   chan string
	events  chan registry.Event
	stop    context.CancelFunc
	wg      sync.WaitGroup

	mu      sync.Mutex
	idle    *sync.Cond
	pending int  // events queued or being handled
	closed  bool // Close has begun: handle late events inline
}

// New opens (and migrates) the database, the account store, the registry
// storage and the index described by cfg, and wires them into one handler.
// Close releases them.
func New(ctx context.Context, cfg Config, opts Options) (*Server, error) {
	cfg = cfg.withDefaults()
	log := opts.Logger
	if log == nil {
		log = slog.Default()
	}
	if err := os.MkdirAll(cfg.Data, 0o755); err != nil {
		return nil, fmt.Errorf("hub: create data directory: %w", err)
	}
	d, err := db.Open(ctx, cfg.Database, cfg.Data)
	if err != nil {
		return nil, err
	}
	s := &Server{Config: cfg, DB: d, log: log, pulls: make(chan string, 1024), events: make(chan registry.Event, 4096)}
	s.idle = sync.NewCond(&s.mu)
	fail := func(err error) (*Server, error) {
		d.Close()
		return nil, err
	}
	acfg := auth.Config{
		Disabled:       !cfg.AuthEnabled(),
		Signup:         cfg.Auth.Signup,
		DefaultPrivate: cfg.Auth.DefaultPrivate,
		TokenTTL:       time.Duration(cfg.Auth.TokenTTL),
		KeyDir:         cfg.Data,
		BcryptCost:     opts.BcryptCost,
		Limiter:        opts.LoginLimiter,
	}
	if cfg.BaseURL != "" {
		acfg.Realm = auth.TokenURL(cfg.BaseURL)
	}
	if cfg.Auth.SigningKeyFile != "" {
		key, err := os.ReadFile(cfg.Auth.SigningKeyFile)
		if err != nil {
			return fail(fmt.Errorf("hub: read signing key: %w", err))
		}
		acfg.SigningKey = key
	}
	if s.Auth, err = auth.New(ctx, d, acfg); err != nil {
		return fail(err)
	}
	if s.Index, err = index.Open(ctx, d, index.Options{Private: s.Auth.Private}); err != nil {
		return fail(err)
	}
	s.Auth.OnVisibilityChange(s.Index.SetPrivate)
	s.Registry, err = registry.New(ctx, registry.Config{
		Driver:        cfg.Storage.Driver,
		Parameters:    cfg.Storage.Parameters,
		MaxUploadSize: int64(cfg.Uploads.MaxSize),
		Listener:      registry.Listeners{registry.ListenerFunc(s.enqueue), opts.Listener},
		Visible: func(ctx context.Context, repo string) bool {
			return s.Auth.CanSee(ctx, auth.IdentityFrom(ctx).User, repo)
		},
		CanPull: func(ctx context.Context, repo string) bool {
			return s.Auth.Can(ctx, auth.IdentityFrom(ctx).User, repo, auth.Pull)
		},
		Logger: log,
	})
	if err != nil {
		return fail(err)
	}
	ui, err := web.New(web.Config{Index: s.Index, Auth: s.Auth, RegistryHost: registryHost(cfg.BaseURL),
		SecureCookies: strings.HasPrefix(cfg.BaseURL, "https://"), Logger: log})
	if err != nil {
		return fail(err)
	}
	apiHandler, err := api.New(api.Config{Index: s.Index, Auth: s.Auth, Logger: log})
	if err != nil {
		return fail(err)
	}
	s.handler = s.routes(ui, apiHandler)
	bg, stop := context.WithCancel(context.WithoutCancel(ctx))
	s.stop = stop
	s.wg.Add(3)
	go s.countPulls(bg)
	go s.purgeUploads(bg)
	go s.handleEvents()
	return s, nil
}

// registryHost returns the host of an external base URL ("" for none).
func registryHost(base string) string {
	if u, err := url.Parse(base); err == nil {
		return u.Host
	}
	return ""
}

// routes builds the hub's handler.
func (s *Server) routes(ui, apiHandler http.Handler) http.Handler {
	mux := http.NewServeMux()
	reg := s.Auth.RegistryMiddleware(s.pullCounter(s.Registry))
	mux.Handle("/v2/", reg)
	mux.Handle("/v2", reg)
	mux.Handle("/token", s.Auth.TokenHandler())
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, r *http.Request) {
		if err := s.DB.PingContext(r.Context()); err != nil {
			http.Error(w, "database: "+err.Error(), http.StatusServiceUnavailable)
			return
		}
		io.WriteString(w, "ok\n")
	})
	mux.Handle(api.Prefix, apiHandler)
	mux.Handle("/", ui)
	return mux
}

// ServeHTTP serves the whole hub.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.handler.ServeHTTP(w, r) }

// enqueue records a new repository at once (so that its visibility rules
// apply from the first push) and queues the event for the index, which is
// updated in order, off the request path: a push does not wait for the
// index to read the module. [Server.Flush] waits for the queue to drain; an
// unclean exit is repaired by the next [Server.Serve] (see indexMarker).
func (s *Server) enqueue(ctx context.Context, ev registry.Event) {
	if ev.Action == registry.ActionPush {
		if err := s.Auth.RepositoryCreated(ctx, ev.Repository); err != nil {
			s.log.Error("hub: record repository", "repo", ev.Repository, "err", err)
		}
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		s.onEvent(ctx, ev)
		return
	}
	s.pending++
	s.mu.Unlock()
	s.events <- ev
}

func (s *Server) handleEvents() {
	defer s.wg.Done()
	for ev := range s.events {
		s.onEvent(context.Background(), ev)
		s.mu.Lock()
		s.pending--
		if s.pending == 0 {
			s.idle.Broadcast()
		}
		s.mu.Unlock()
	}
}

// Flush waits until every registry event received so far is in the index.
func (s *Server) Flush() {
	s.mu.Lock()
	for s.pending > 0 {
		s.idle.Wait()
	}
	s.mu.Unlock()
}

// onEvent keeps the index in step with the registry.
func (s *Server) onEvent(ctx context.Context, ev registry.Event) {
	switch ev.Action {
	case registry.ActionPush:
		repo, err := s.Registry.Repository(ctx, ev.Repository)
		if err == nil {
			err = s.Index.ManifestPushed(ctx, repo, ev.Repository, ev.Tag, ev.Descriptor)
		}
		if err != nil {
			s.log.Warn("hub: index push", "repo", ev.Repository, "tag", ev.Tag, "digest", ev.Descriptor.Digest, "err", err)
		}
	case registry.ActionDelete:
		if err := s.Index.ManifestDeleted(ctx, ev.Repository, ev.Descriptor.Digest); err != nil {
			s.log.Warn("hub: index delete", "repo", ev.Repository, "digest", ev.Descriptor.Digest, "err", err)
		}
	case registry.ActionUntag:
		if err := s.Index.TagDeleted(ctx, ev.Repository, ev.Tag); err != nil {
			s.log.Warn("hub: index untag", "repo", ev.Repository, "tag", ev.Tag, "err", err)
		}
	}
}

// pullCounter notes successful manifest downloads for the index's pull
// counts, off the request path.
func (s *Server) pullCounter(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet || !strings.Contains(r.URL.Path, "/manifests/") {
			next.ServeHTTP(w, r)
			return
		}
		sw := &statusWriter{ResponseWriter: w}
		next.ServeHTTP(sw, r)
		if sw.status == http.StatusOK {
			if req, ok := auth.ParseRegistryRequest(r); ok && req.Repository != "" {
				select {
				case s.pulls <- req.Repository:
				default: // never slow a pull down for a counter
				}
			}
		}
	})
}

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func (s *Server) countPulls(ctx context.Context) {
	defer s.wg.Done()
	for {
		select {
		case <-ctx.Done():
			return
		case repo := <-s.pulls:
			if err := s.Index.RecordPull(ctx, repo); err != nil && !errors.Is(err, context.Canceled) {
				s.log.Debug("hub: record pull", "repo", repo, "err", err)
			}
		}
	}
}

func (s *Server) purgeUploads(ctx context.Context) {
	defer s.wg.Done()
	t := time.NewTimer(time.Minute)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if n, err := s.Registry.PurgeUploads(ctx); err != nil {
				s.log.Warn("hub: purge stale uploads", "err", err)
			} else if n > 0 {
				s.log.Info("hub: purged stale uploads", "count", n)
			}
			t.Reset(time.Hour)
		}
	}
}

// Source returns read access to the registry's storage for
// [index.Index.Reindex].
func (s *Server) Source() index.Source {
	return index.SourceFuncs{
		RepositoriesFunc: s.Registry.Repositories,
		RepositoryFunc: func(ctx context.Context, name string) (index.Repository, error) {
			return s.Registry.Repository(ctx, name)
		},
	}
}

// Reindex rebuilds the index from the registry's storage and records every
// stored repository in the account store.
func (s *Server) Reindex(ctx context.Context, report func(repo, tag string, err error)) (index.ReindexStats, error) {
	err := s.Registry.Repositories(ctx, "", func(repos []string) error {
		for _, r := range repos {
			if err := s.Auth.RepositoryCreated(ctx, r); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return index.ReindexStats{}, err
	}
	return s.Index.Reindex(ctx, s.Source(), report)
}

// indexMarker is a file in the data directory that exists while a hub
// serves. Finding it at start means the last one died without draining its
// index queue, so Serve re-indexes from storage before taking requests.
const indexMarker = "serving.marker"

// Serve serves the hub on ln until ctx ends, then shuts down gracefully
// (in-flight requests get 10 seconds) and drains the index queue. If the
// previous hub on this data directory died uncleanly, Serve first brings
// the index back in step with storage.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	marker := s.DataPath(indexMarker)
	if _, err := os.Stat(marker); err == nil {
		s.log.Warn("hub: previous run ended uncleanly; re-indexing from storage")
		if st, err := s.Reindex(ctx, nil); err != nil {
			s.log.Error("hub: recovery reindex", "err", err)
		} else {
			s.log.Info("hub: recovery reindex done", "indexed", st.Indexed, "removed", st.Removed)
		}
	}
	if err := os.WriteFile(marker, []byte(time.Now().UTC().Format(time.RFC3339)+"\n"), 0o644); err != nil {
		return fmt.Errorf("hub: write %s: %w", marker, err)
	}
	defer func() {
		s.Flush()
		os.Remove(marker)
	}()
	srv := &http.Server{Handler: s, ReadHeaderTimeout: 30 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
		sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		srv.Shutdown(sctx)
		return nil
	}
}

// ListenAndServe listens on Config.Addr and calls [Server.Serve].
func (s *Server) ListenAndServe(ctx context.Context) error {
	ln, err := net.Listen("tcp", s.Config.Addr)
	if err != nil {
		return fmt.Errorf("hub: listen on %s: %w (is another hub running? pick another --addr)", s.Config.Addr, err)
	}
	return s.Serve(ctx, ln)
}

// Close drains the index queue, stops the background work and closes the
// database. Stop serving first.
func (s *Server) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	s.mu.Unlock()
	s.Flush()
	s.stop()
	close(s.events)
	s.wg.Wait()
	return s.DB.Close()
}

// DataPath returns a path under the data directory.
func (s *Server) DataPath(elem ...string) string {
	return filepath.Join(append([]string{s.Config.Data}, elem...)...)
}
