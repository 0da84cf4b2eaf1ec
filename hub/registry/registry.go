// Package registry serves the OCI distribution API (/v2/) of the hub on any
// storage driver of github.com/distribution/distribution/v3: the local
// filesystem by default, S3 and the others by configuration, in memory for
// tests.
//
// It implements the whole distribution specification v1.1, which the
// distribution registry's own HTTP layer does not: the referrers API and
// the OCI-Subject header, sha512 as well as sha256 digests, single-POST
// monolithic uploads, anonymous cross-repository mounts, upload
// cancellation, manifest, tag and blob deletion, and tags given as query
// parameters. It reports every manifest push and delete to a [Listener]
// (the hub's search index), refuses uploads beyond a configured size with
// 413, and exposes read access to what it stores ([Registry.Repositories],
// [Registry.Repository]) for re-indexing.
//
// Storage layout under the driver's root (every write that makes content
// visible is an atomic rename or a single-object put, so a process killed
// mid-push leaves nothing visible):
//
//	oci/blobs/<alg>/<hex[:2]>/<hex>/data                 content, shared by all repositories
//	oci/repositories/<name>/_blobs/<alg>/<hex>           link: the blob belongs to the repository
//	oci/repositories/<name>/_manifests/<alg>/<hex>       link: manifest descriptor (JSON)
//	oci/repositories/<name>/_tags/<tag>                  link: manifest digest
//	oci/repositories/<name>/_referrers/<alg>/<hex>/<alg>-<hex>  referrer descriptor (JSON)
//	oci/repositories/<name>/_uploads/<id>/data           upload in progress
//	oci/uploads/<id>                                     temporary manifest writes
package registry

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"regexp"
	"strings"
	"time"

	storagedriver "github.com/distribution/distribution/v3/registry/storage/driver"
	"github.com/distribution/distribution/v3/registry/storage/driver/factory"
	_ "github.com/distribution/distribution/v3/registry/storage/driver/filesystem" // "filesystem" driver
	_ "github.com/distribution/distribution/v3/registry/storage/driver/inmemory"   // "inmemory" driver
)

// Config configures a [Registry].
type Config struct {
	// Driver names the distribution storage driver: "filesystem" (default),
	// "inmemory", or any other driver registered with distribution's
	// factory (the hub binary links "s3" too).
	Driver string
	// Parameters are the driver's parameters, as in distribution's
	// configuration file ("rootdirectory" for filesystem; "bucket",
	// "region", … for s3).
	Parameters map[string]any
	// MaxUploadSize refuses blobs larger than this many bytes with 413
	// SIZE_INVALID. Zero means no limit.
	MaxUploadSize int64
	// MaxManifestSize refuses larger manifests with 413 (default 4 MiB).
	MaxManifestSize int64
	// Listener hears about every manifest push and delete; nil for none.
	Listener Listener
	// Visible, when set, filters the /v2/_catalog listing.
	Visible func(ctx context.Context, repo string) bool
	// CanPull, when set, tells whether the caller of a request (its
	// context) may read repository repo. A cross-repository mount without a
	// source repository then only succeeds for blobs the caller could
	// already read somewhere; nil allows any stored blob.
	CanPull func(ctx context.Context, repo string) bool
	// UploadTTL is how long an abandoned upload is kept before the purge
	// removes it (default 24 h).
	UploadTTL time.Duration
	// Logger receives errors that are not the client's fault (default
	// slog.Default()).
	Logger *slog.Logger
}

// Registry is an OCI distribution API handler over a storage driver. It is
// safe for concurrent use, also by several processes sharing one storage.
type Registry struct {
	d   storagedriver.StorageDriver
	cfg Config
	log *slog.Logger
}

// New creates the storage driver named in cfg and returns the registry.
func New(ctx context.Context, cfg Config) (*Registry, error) {
	if cfg.Driver == "" {
		cfg.Driver = "filesystem"
	}
	params := cfg.Parameters
	if params == nil {
		params = map[string]any{}
	}
	d, err := factory.Create(ctx, cfg.Driver, params)
	if err != nil {
		return nil, fmt.Errorf("registry: storage driver %q: %w", cfg.Driver, err)
	}
	return NewWithDriver(d, cfg), nil
}

// NewWithDriver returns a registry over an existing storage driver; cfg's
// Driver and Parameters are ignored.
func NewWithDriver(d storagedriver.StorageDriver, cfg Config) *Registry {
	cfg.Driver = d.Name()
	if cfg.MaxManifestSize <= 0 {
		cfg.MaxManifestSize = 4 << 20
	}
	if cfg.UploadTTL <= 0 {
		cfg.UploadTTL = 24 * time.Hour
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return &Registry{d: d, cfg: cfg, log: cfg.Logger}
}

// Driver returns the storage driver.
func (r *Registry) Driver() storagedriver.StorageDriver { return r.d }

// nameRE is the distribution specification's repository name grammar.
var nameRE = regexp.MustCompile(`^[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*(/[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*)*$`)

// tagRE is the distribution specification's tag grammar.
var tagRE = regexp.MustCompile(`^[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}$`)

var uploadIDRE = regexp.MustCompile(`^[a-f0-9]{32}$`)

// ValidRepository reports whether name is a valid repository name.
func ValidRepository(name string) bool { return len(name) <= 255 && nameRE.MatchString(name) }

// route is a parsed /v2/ request path.
type route struct {
	kind string // "base", "catalog", "blob", "uploads", "upload", "manifest", "tags", "referrers"
	name string
	ref  string // digest, tag or upload id
}

func parseRoute(p string) (route, bool) {
	rest, ok := strings.CutPrefix(p, "/v2")
	if !ok {
		return route{}, false
	}
	rest = strings.TrimPrefix(rest, "/")
	if rest == "" {
		return route{kind: "base"}, true
	}
	if rest == "_catalog" {
		return route{kind: "catalog"}, true
	}
	if name, ok := strings.CutSuffix(rest, "/tags/list"); ok {
		return route{kind: "tags", name: name}, true
	}
	if name, ok := strings.CutSuffix(rest, "/blobs/uploads/"); ok {
		return route{kind: "uploads", name: name}, true
	}
	if name, ok := strings.CutSuffix(rest, "/blobs/uploads"); ok {
		return route{kind: "uploads", name: name}, true
	}
	i := strings.LastIndexByte(rest, '/')
	if i < 0 {
		return route{}, false
	}
	head, last := rest[:i], rest[i+1:]
	for _, kw := range []struct{ suffix, kind string }{
		{"/blobs/uploads", "upload"}, {"/blobs", "blob"}, {"/manifests", "manifest"}, {"/referrers", "referrers"},
	} {
		if name, ok := strings.CutSuffix(head, kw.suffix); ok && name != "" {
			return route{kind: kw.kind, name: name, ref: last}, true
		}
	}
	return route{}, false
}

// ServeHTTP serves the OCI distribution API under /v2/.
func (r *Registry) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	w.Header().Set("Docker-Distribution-Api-Version", "registry/2.0")
	rt, ok := parseRoute(req.URL.Path)
	if !ok {
		writeError(w, http.StatusNotFound, "NOT_FOUND", "no such endpoint", req.URL.Path)
		return
	}
	if rt.name != "" && !ValidRepository(rt.name) {
		writeError(w, http.StatusBadRequest, "NAME_INVALID", "invalid repository name", rt.name)
		return
	}
	ctx := req.Context()
	m := req.Method
	switch rt.kind {
	case "base":
		if m != http.MethodGet && m != http.MethodHead {
			break
		}
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte("{}"))
		return
	case "catalog":
		if m == http.MethodGet {
			r.serveCatalog(ctx, w, req)
			return
		}
	case "blob":
		switch m {
		case http.MethodGet, http.MethodHead:
			r.serveBlob(ctx, w, req, rt)
			return
		case http.MethodDelete:
			r.deleteBlob(ctx, w, rt)
			return
		}
	case "uploads":
		if m == http.MethodPost {
			r.startUpload(ctx, w, req, rt)
			return
		}
	case "upload":
		switch m {
		case http.MethodGet:
			r.uploadStatus(ctx, w, rt)
			return
		case http.MethodPatch:
			r.patchUpload(ctx, w, req, rt)
			return
		case http.MethodPut:
			r.finishUpload(ctx, w, req, rt)
			return
		case http.MethodDelete:
			r.cancelUpload(ctx, w, rt)
			return
		}
	case "manifest":
		switch m {
		case http.MethodGet, http.MethodHead:
			r.serveManifest(ctx, w, req, rt)
			return
		case http.MethodPut:
			r.putManifest(ctx, w, req, rt)
			return
		case http.MethodDelete:
			r.deleteManifest(ctx, w, rt)
			return
		}
	case "tags":
		if m == http.MethodGet || m == http.MethodHead {
			r.serveTags(ctx, w, req, rt)
			return
		}
	case "referrers":
		if m == http.MethodGet || m == http.MethodHead {
			r.serveReferrers(ctx, w, req, rt)
			return
		}
	}
	writeError(w, http.StatusMethodNotAllowed, "UNSUPPORTED", "method not allowed on this endpoint", m+" "+req.URL.Path)
}

// Error codes of the distribution specification.
const (
	codeBlobUnknown         = "BLOB_UNKNOWN"
	codeBlobUploadInvalid   = "BLOB_UPLOAD_INVALID"
	codeBlobUploadUnknown   = "BLOB_UPLOAD_UNKNOWN"
	codeDigestInvalid       = "DIGEST_INVALID"
	codeManifestBlobUnknown = "MANIFEST_BLOB_UNKNOWN"
	codeManifestInvalid     = "MANIFEST_INVALID"
	codeManifestUnknown     = "MANIFEST_UNKNOWN"
	codeNameUnknown         = "NAME_UNKNOWN"
	codeSizeInvalid         = "SIZE_INVALID"
	codeUnsupported         = "UNSUPPORTED"
)

type errorBody struct {
	Errors []errorEntry `json:"errors"`
}

type errorEntry struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	Detail  any    `json:"detail,omitempty"`
}

func writeError(w http.ResponseWriter, status int, code, msg string, detail any) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Del("Content-Length")
	h.Del("Docker-Content-Digest")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(errorBody{Errors: []errorEntry{{Code: code, Message: msg, Detail: detail}}})
}

// internalError logs err and answers 500.
func (r *Registry) internalError(w http.ResponseWriter, op string, err error) {
	if errors.Is(err, context.Canceled) {
		return
	}
	r.log.Error("registry: "+op, "err", err)
	writeError(w, http.StatusInternalServerError, "UNKNOWN", "internal error: "+op, nil)
}

func isNotFound(err error) bool {
	var pnf storagedriver.PathNotFoundError
	return errors.As(err, &pnf)
}
