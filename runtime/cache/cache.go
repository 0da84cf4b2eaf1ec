// Package cache fetches proxy-wasm modules by URL and keeps them in a
// content-addressed directory, so a proxy restart with a warm cache needs no
// network.
//
// URLs are those of Istio's WasmPlugin: oci:// (the default when there is no
// scheme), file://, http:// and https://. OCI images are read through
// oras-go v2 in every shape wasmctl accepts (the wasme 2-layer "oci" variant,
// the "compat" tar+gzip variant holding plugin.wasm, a plain single-layer
// ORAS artifact, with or without extra metadata layers).
//
// Layout of the cache directory:
//
//	blobs/sha256/<hex>      module bytes, named by their sha256
//	refs/<sha256 of url>.json  what a URL resolved to (module and image digests)
//	tmp/                    partial downloads; never read
//
// Every write goes to tmp/ and is renamed into place, so a crash never leaves
// a partial entry. Every read re-hashes the blob; a corrupt entry is deleted
// and fetched again.
package cache

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"oras.land/oras-go/v2/registry/remote"
	"oras.land/oras-go/v2/registry/remote/auth"
	"oras.land/oras-go/v2/registry/remote/credentials"
	"oras.land/oras-go/v2/registry/remote/retry"

	"github.com/wasmctl/wasmctl/internal/wasmimage"
)

// Pull policies, as in Istio's WasmPlugin imagePullPolicy.
const (
	IfNotPresent = "IfNotPresent"
	Always       = "Always"
)

// MaxModuleSize bounds a downloaded module.
const MaxModuleSize = 256 << 20

// ErrChecksum means the fetched content does not match the sha256 the
// configuration pins.
var ErrChecksum = errors.New("sha256 mismatch")

// Options configures a Cache.
type Options struct {
	// PlainHTTP reports whether a registry host is reached over plain HTTP.
	// Nil means HTTPS everywhere.
	PlainHTTP func(host string) bool
	// DockerConfig is the path of a Docker config.json with registry
	// credentials. Empty means $DOCKER_CONFIG/config.json or
	// ~/.docker/config.json.
	DockerConfig string
	// HTTPClient is used for http(s) URLs and registries. Nil means a client
	// with retries.
	HTTPClient *http.Client
	// Timeout bounds one fetch. Default 30s.
	Timeout time.Duration
	// Logger receives fetch and cache events. Nil discards them.
	Logger *slog.Logger
}

// Source says what to fetch.
type Source struct {
	// URL is oci://, file://, http:// or https://; no scheme means oci.
	URL string
	// SHA256 optionally pins the module's sha256 or, for OCI, the image
	// manifest's digest (64 lowercase hex digits).
	SHA256 string
	// PullPolicy is IfNotPresent (default) or Always.
	PullPolicy string
}

// Module is a fetched, verified module.
type Module struct {
	// Bytes is the wasm module.
	Bytes []byte
	// Digest is "sha256:<hex>" of Bytes.
	Digest string
	// ImageDigest is the OCI manifest digest, for oci URLs.
	ImageDigest string
	// Path is the module's file in the cache.
	Path string
	// FromCache is true when no network (or source file) was read.
	FromCache bool
	// Stale is true when an Always pull failed and the cached copy was used.
	Stale bool
	// FetchErr is the error of that failed pull when Stale is true.
	FetchErr error
}

// Stats counts cache events since Open.
type Stats struct {
	Hits, Misses                   uint64
	FetchOK, FetchFailed, Checksum uint64
	Corrupt                        uint64
}

// Cache is a content-addressed module cache. It is safe for concurrent use.
type Cache struct {
	dir   string
	opts  Options
	log   *slog.Logger
	creds credentials.Store
	http  *http.Client

	mu    sync.Mutex
	locks map[string]*sync.Mutex // one fetch per URL at a time

	hits, misses, fetchOK, fetchFailed, checksum, corrupt atomic.Uint64
}

// Open creates (or reuses) a cache in dir.
func Open(dir string, opts Options) (*Cache, error) {
	for _, d := range []string{"blobs/sha256", "refs", "tmp"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			return nil, fmt.Errorf("cannot create the module cache in %s: %w (set cache.dir to a writable directory)", dir, err)
		}
	}
	if opts.Timeout <= 0 {
		opts.Timeout = 30 * time.Second
	}
	c := &Cache{dir: dir, opts: opts, log: opts.Logger, locks: map[string]*sync.Mutex{}}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	c.http = opts.HTTPClient
	if c.http == nil {
		c.http = retry.DefaultClient
	}
	var err error
	if opts.DockerConfig != "" {
		c.creds, err = credentials.NewStore(opts.DockerConfig, credentials.StoreOptions{})
	} else {
		c.creds, err = credentials.NewStoreFromDocker(credentials.StoreOptions{})
	}
	if err != nil {
		c.log.Warn("registry credentials unavailable; pulling anonymously", "err", err)
		c.creds = nil
	}
	// Remove partial downloads left by a crash.
	if ents, err := os.ReadDir(filepath.Join(dir, "tmp")); err == nil {
		for _, e := range ents {
			os.Remove(filepath.Join(dir, "tmp", e.Name()))
		}
	}
	return c, nil
}

// Dir returns the cache directory.
func (c *Cache) Dir() string { return c.dir }

// Stats returns the event counters.
func (c *Cache) Stats() Stats {
	return Stats{
		Hits: c.hits.Load(), Misses: c.misses.Load(),
		FetchOK: c.fetchOK.Load(), FetchFailed: c.fetchFailed.Load(),
		Checksum: c.checksum.Load(), Corrupt: c.corrupt.Load(),
	}
}

// refEntry is what a URL resolved to at its last fetch.
type refEntry struct {
	URL         string    `json:"url"`
	Module      string    `json:"module"`
	ImageDigest string    `json:"imageDigest,omitempty"`
	Fetched     time.Time `json:"fetched"`
}

func (c *Cache) lock(key string) func() {
	c.mu.Lock()
	l, ok := c.locks[key]
	if !ok {
		l = &sync.Mutex{}
		c.locks[key] = l
	}
	c.mu.Unlock()
	l.Lock()
	return l.Unlock
}

// Get returns the module src points to, from the cache when the pull policy
// allows it, else from its origin. The result is always verified: its bytes
// hash to Digest and, when src.SHA256 is set, that matches the module or the
// image digest; otherwise Get fails with ErrChecksum.
func (c *Cache) Get(ctx context.Context, src Source) (*Module, error) {
	kind, loc, err := parseURL(src.URL)
	if err != nil {
		return nil, err
	}
	unlock := c.lock(src.URL)
	defer unlock()

	cached, cerr := c.lookup(src)
	if cerr == nil && src.PullPolicy != Always {
		c.hits.Add(1)
		return cached, nil
	}
	c.misses.Add(1)
	ctx, cancel := context.WithTimeout(ctx, c.opts.Timeout)
	defer cancel()
	m, err := c.fetch(ctx, kind, loc, src)
	if err != nil {
		if errors.Is(err, ErrChecksum) {
			c.checksum.Add(1)
			return nil, err
		}
		c.fetchFailed.Add(1)
		if cached != nil {
			c.log.Warn("pull failed; using the cached copy", "url", src.URL, "digest", cached.Digest, "err", err)
			cached.Stale, cached.FetchErr = true, err
			return cached, nil
		}
		return nil, err
	}
	c.fetchOK.Add(1)
	return m, nil
}

// lookup finds src in the cache without any network access.
func (c *Cache) lookup(src Source) (*Module, error) {
	var e refEntry
	b, err := os.ReadFile(c.refPath(src.URL))
	if err != nil {
		// A pinned module digest may be cached under another URL.
		if src.SHA256 != "" {
			if m, err := c.readBlob("sha256:" + src.SHA256); err == nil {
				m.FromCache = true
				return m, nil
			}
		}
		return nil, err
	}
	if err := json.Unmarshal(b, &e); err != nil {
		os.Remove(c.refPath(src.URL))
		return nil, fmt.Errorf("corrupt ref entry: %w", err)
	}
	if src.SHA256 != "" && "sha256:"+src.SHA256 != e.Module && "sha256:"+src.SHA256 != e.ImageDigest {
		return nil, fmt.Errorf("cached %s is %s, not the pinned sha256", src.URL, e.Module)
	}
	m, err := c.readBlob(e.Module)
	if err != nil {
		return nil, err
	}
	m.ImageDigest = e.ImageDigest
	m.FromCache = true
	return m, nil
}

// readBlob reads and re-hashes a blob; a corrupt blob is deleted.
func (c *Cache) readBlob(digest string) (*Module, error) {
	hexd, ok := strings.CutPrefix(digest, "sha256:")
	if !ok || len(hexd) != 64 {
		return nil, fmt.Errorf("bad digest %q", digest)
	}
	p := filepath.Join(c.dir, "blobs", "sha256", hexd)
	b, err := os.ReadFile(p)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(b)
	if hex.EncodeToString(sum[:]) != hexd {
		c.corrupt.Add(1)
		c.log.Warn("corrupt cache entry removed; fetching again", "path", p)
		os.Remove(p)
		return nil, fmt.Errorf("cache entry %s is corrupt", p)
	}
	return &Module{Bytes: b, Digest: digest, Path: p}, nil
}

func (c *Cache) refPath(u string) string {
	sum := sha256.Sum256([]byte(u))
	return filepath.Join(c.dir, "refs", hex.EncodeToString(sum[:])+".json")
}

// fetch reads src from its origin, verifies it and stores it.
func (c *Cache) fetch(ctx context.Context, kind, loc string, src Source) (*Module, error) {
	var (
		mod   []byte
		image string
		err   error
	)
	switch kind {
	case "file":
		mod, err = readFileLimited(loc)
	case "http":
		mod, err = c.fetchHTTP(ctx, loc)
	default:
		mod, image, err = c.fetchOCI(ctx, loc)
	}
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(mod)
	digest := "sha256:" + hex.EncodeToString(sum[:])
	if src.SHA256 != "" && "sha256:"+src.SHA256 != digest && "sha256:"+src.SHA256 != image {
		got := digest
		if image != "" {
			got = "image " + image + ", module " + digest
		}
		return nil, fmt.Errorf("%w: %s is %s but sha256 pins %s; fix the sha256 field or the url", ErrChecksum, src.URL, got, src.SHA256)
	}
	if len(mod) < 8 || string(mod[:4]) != "\x00asm" {
		return nil, fmt.Errorf("%s is not a WebAssembly module (no \\0asm magic); point the url at a .wasm file or a wasm image", src.URL)
	}
	p := filepath.Join(c.dir, "blobs", "sha256", digest[len("sha256:"):])
	if err := c.writeAtomic(p, mod); err != nil {
		return nil, err
	}
	e, _ := json.Marshal(refEntry{URL: src.URL, Module: digest, ImageDigest: image, Fetched: time.Now().UTC()})
	if err := c.writeAtomic(c.refPath(src.URL), e); err != nil {
		return nil, err
	}
	c.log.Info("filter fetched", "url", src.URL, "digest", digest, "image", image, "bytes", len(mod))
	return &Module{Bytes: mod, Digest: digest, ImageDigest: image, Path: p}, nil
}

// writeAtomic writes b to a temporary file, syncs it and renames it to p.
func (c *Cache) writeAtomic(p string, b []byte) error {
	f, err := os.CreateTemp(filepath.Join(c.dir, "tmp"), "part-*")
	if err != nil {
		return fmt.Errorf("cache write: %w", err)
	}
	tmp := f.Name()
	_, werr := f.Write(b)
	serr := f.Sync()
	cerr := f.Close()
	if err := errors.Join(werr, serr, cerr); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("cache write %s: %w", p, err)
	}
	if err := os.Rename(tmp, p); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("cache write %s: %w", p, err)
	}
	return nil
}

// parseURL splits a filter URL into its kind (oci, file, http) and location.
func parseURL(raw string) (kind, loc string, err error) {
	if raw == "" {
		return "", "", errors.New("empty filter url")
	}
	if !strings.Contains(raw, "://") {
		return "oci", raw, nil
	}
	u, err := url.Parse(raw)
	if err != nil {
		return "", "", fmt.Errorf("bad filter url %q: %w", raw, err)
	}
	switch u.Scheme {
	case "oci":
		return "oci", strings.TrimPrefix(raw, "oci://"), nil
	case "file":
		if u.Path == "" {
			return "", "", fmt.Errorf("file url %q has no path; write file:///abs/path.wasm", raw)
		}
		return "file", u.Path, nil
	case "http", "https":
		return "http", raw, nil
	}
	return "", "", fmt.Errorf("unsupported url scheme %q in %q; use oci://, file://, http:// or https://", u.Scheme, raw)
}

func readFileLimited(p string) ([]byte, error) {
	f, err := os.Open(p)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("filter file %s does not exist; build it with `wasmctl build` or fix the url", p)
		}
		return nil, err
	}
	defer f.Close()
	return readLimited(f, p)
}

func readLimited(r io.Reader, what string) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, MaxModuleSize+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", what, err)
	}
	if len(b) > MaxModuleSize {
		return nil, fmt.Errorf("%s is larger than %d bytes", what, MaxModuleSize)
	}
	return b, nil
}

func (c *Cache) fetchHTTP(ctx context.Context, u string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("download %s: %w", u, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("download %s: HTTP %s", u, resp.Status)
	}
	return readLimited(resp.Body, u)
}

func (c *Cache) fetchOCI(ctx context.Context, ref string) (mod []byte, image string, err error) {
	repo, err := remote.NewRepository(ref)
	if err != nil {
		return nil, "", fmt.Errorf("bad image reference %q: %w (want host/repo:tag or host/repo@sha256:...)", ref, err)
	}
	host := repo.Reference.Registry
	if c.opts.PlainHTTP != nil && c.opts.PlainHTTP(host) {
		repo.PlainHTTP = true
	}
	client := &auth.Client{Client: c.http, Cache: auth.NewCache()}
	if c.creds != nil {
		client.Credential = credentials.Credential(c.creds)
	}
	repo.Client = client
	tag := repo.Reference.Reference
	if tag == "" {
		tag = "latest"
	}
	img, err := wasmimage.ReadRef(ctx, repo, tag, wasmimage.ReadOptions{MaxBlobSize: MaxModuleSize})
	if err != nil {
		hint := ""
		switch msg := err.Error(); {
		case strings.Contains(msg, "http: server gave HTTP response to HTTPS client"):
			hint = " (the registry speaks plain HTTP: pass --plain-http or list it under cache.plainHTTP)"
		case strings.Contains(msg, "credential not found") || strings.Contains(msg, "401") || strings.Contains(msg, "403"):
			hint = " (the registry wants credentials: log in with `wasmctl login " + host + "` or `docker login " + host +
				"`; they are read from the Docker config file, cache.dockerConfig)"
		}
		return nil, "", fmt.Errorf("pull %s: %w%s", ref, err, hint)
	}
	return img.Module, img.Descriptor.Digest.String(), nil
}
