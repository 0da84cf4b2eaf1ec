// Package api serves the hub's read-only JSON API under /api/v1: search,
// categories, filter detail and versions. It is plain net/http (only
// hub/web imports gin) and is documented in openapi.yaml, which it also
// serves at /api/v1/openapi.yaml.
//
// Callers are anonymous unless they send a personal access token
// ("Authorization: Bearer whp_…") or basic credentials; authenticated
// callers also see the private filters of their namespaces. Failed
// credentials count against the hub's login rate limit.
package api

import (
	_ "embed"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"strings"

	"github.com/wasmctl/wasmctl/hub/auth"
	"github.com/wasmctl/wasmctl/hub/index"
)

// Prefix is where the API is mounted.
const Prefix = "/api/v1/"

//go:embed openapi.yaml
var openAPI []byte

// Config holds what the API serves from.
type Config struct {
	// Index is the filter index (required).
	Index *index.Index
	// Auth authenticates callers; nil serves everyone anonymously.
	Auth *auth.Service
	// Logger receives internal errors; nil means slog.Default().
	Logger *slog.Logger
}

// New returns the API handler. Mount it at Prefix on the hub's mux; it
// answers every path under Prefix (unknown ones with a JSON 404).
func New(cfg Config) (http.Handler, error) {
	if cfg.Index == nil {
		return nil, errors.New("api: Config.Index is required")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	a := &handler{cfg: cfg}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/v1/filters", a.search)
	mux.HandleFunc("GET /api/v1/filters/{repo...}", a.filter)
	mux.HandleFunc("GET /api/v1/categories", a.categories)
	mux.HandleFunc("GET /api/v1/openapi.yaml", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/yaml")
		w.Write(openAPI)
	})
	mux.HandleFunc("/api/v1/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, "NOT_FOUND", "no such API endpoint; see /api/v1/openapi.yaml")
	})
	return headers(mux), nil
}

type handler struct{ cfg Config }

func headers(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Cache-Control", "no-store")
		h.Set("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'")
		next.ServeHTTP(w, r)
	})
}

// Error is the body of every error response.
type Error struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.Encode(v)
}

func writeError(w http.ResponseWriter, status int, code, msg string) {
	writeJSON(w, status, map[string]Error{"error": {Code: code, Message: msg}})
}

// viewer authenticates the request and returns the namespaces whose private
// filters it may see. ok is false when an error response was written.
func (a *handler) viewer(w http.ResponseWriter, r *http.Request) (ns []string, ok bool) {
	if a.cfg.Auth == nil {
		return nil, true
	}
	user := auth.IdentityFrom(r.Context()).User
	if user == "" {
		name, secret, hasBasic := r.BasicAuth()
		if h := r.Header.Get("Authorization"); strings.HasPrefix(h, "Bearer ") {
			name, secret, hasBasic = "", strings.TrimPrefix(h, "Bearer "), true
		}
		if hasBasic {
			u, err := a.cfg.Auth.Authenticate(r.Context(), auth.ClientIP(r), name, secret)
			switch {
			case errors.Is(err, auth.ErrRateLimited):
				w.Header().Set("Retry-After", "60")
				writeError(w, http.StatusTooManyRequests, "TOO_MANY_REQUESTS", err.Error())
				return nil, false
			case err != nil:
				w.Header().Set("WWW-Authenticate", `Basic realm="wasmctl hub API"`)
				writeError(w, http.StatusUnauthorized, "UNAUTHORIZED", "invalid credentials: send a personal access token as 'Authorization: Bearer whp_…' or none for anonymous access")
				return nil, false
			}
			user = u.Name
		}
	}
	ns, err := a.cfg.Auth.VisibleNamespaces(r.Context(), user)
	if err != nil {
		a.internal(w, err)
		return nil, false
	}
	return ns, true
}

func (a *handler) internal(w http.ResponseWriter, err error) {
	a.cfg.Logger.Error("api", "err", err)
	writeError(w, http.StatusInternalServerError, "INTERNAL", "internal error; the hub's log has details")
}

// SearchQuery parses the query parameters of a search (q, category,
// namespace, sort, page, per_page). The web UI uses it too, so both accept
// the same URLs.
func SearchQuery(r *http.Request) (index.Query, error) {
	v := r.URL.Query()
	q := index.Query{Text: v.Get("q"), Category: v.Get("category"), Namespace: v.Get("namespace"),
		Sort: index.ParseSort(v.Get("sort"))}
	for name, dst := range map[string]*int{"page": &q.Page, "per_page": &q.PerPage} {
		if s := v.Get(name); s != "" {
			n, err := strconv.Atoi(s)
			if err != nil || n < 1 || n > 100000 {
				return q, errors.New(name + " must be a positive integer")
			}
			*dst = n
		}
	}
	if len(q.Text) > 200 {
		return q, errors.New("q must be at most 200 characters")
	}
	return q, nil
}

func (a *handler) search(w http.ResponseWriter, r *http.Request) {
	q, err := SearchQuery(r)
	if err != nil {
		writeError(w, http.StatusBadRequest, "BAD_REQUEST", err.Error())
		return
	}
	var ok bool
	if q.Viewer, ok = a.viewer(w, r); !ok {
		return
	}
	res, err := a.cfg.Index.Search(r.Context(), q)
	if err != nil {
		a.internal(w, err)
		return
	}
	writeJSON(w, http.StatusOK, res)
}

func (a *handler) categories(w http.ResponseWriter, r *http.Request) {
	viewer, ok := a.viewer(w, r)
	if !ok {
		return
	}
	cats, err := a.cfg.Index.Categories(r.Context(), viewer)
	if err != nil {
		a.internal(w, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"categories": cats})
}

// filter serves /api/v1/filters/{namespace}/{name} (detail) and
// /api/v1/filters/{namespace}/{name}/versions.
func (a *handler) filter(w http.ResponseWriter, r *http.Request) {
	viewer, ok := a.viewer(w, r)
	if !ok {
		return
	}
	repo := r.PathValue("repo")
	ctx := r.Context()
	if base, found := strings.CutSuffix(repo, "/versions"); found && strings.Contains(base, "/") {
		vs, err := a.cfg.Index.Versions(ctx, base, viewer)
		if err == nil {
			writeJSON(w, http.StatusOK, map[string]any{"repository": base, "versions": vs})
			return
		}
		if !errors.Is(err, index.ErrNotFound) {
			a.internal(w, err)
			return
		}
	}
	d, err := a.cfg.Index.Get(ctx, repo, viewer)
	if errors.Is(err, index.ErrNotFound) {
		writeError(w, http.StatusNotFound, "NOT_FOUND", "no filter "+strconv.Quote(repo)+" (or it is private: authenticate as its owner)")
		return
	}
	if err != nil {
		a.internal(w, err)
		return
	}
	writeJSON(w, http.StatusOK, d)
}
