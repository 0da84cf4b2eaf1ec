package auth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

type ctxKey struct{}

// Identity is who made a request, as established by the registry
// middleware or the web session.
type Identity struct {
	// User is the account name, or "" for anonymous.
	User string
}

// WithIdentity returns ctx carrying id.
func WithIdentity(ctx context.Context, id Identity) context.Context {
	return context.WithValue(ctx, ctxKey{}, id)
}

// IdentityFrom returns the identity stored in ctx (anonymous when none).
func IdentityFrom(ctx context.Context) Identity {
	id, _ := ctx.Value(ctxKey{}).(Identity)
	return id
}

// ClientIP returns the remote IP of r (without port), the key for login
// rate limiting. It does not trust forwarding headers.
func ClientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

func (s *Service) realm(r *http.Request) string {
	if s.cfg.Realm != "" {
		return s.cfg.Realm
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host + "/token"
}

// TokenHandler serves the Docker registry token endpoint (mount it at
// /token). GET takes optional basic auth (password or personal access
// token) and "scope" parameters ("repository:NAME:pull,push"); POST takes
// the OAuth2 form grants "password" (username, password) and
// "refresh_token" (a personal access token). It answers with a signed
// token granting the subset of the requested scopes the caller is allowed.
// Wrong credentials get 401; too many failures get 429.
func (s *Service) TokenHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var user, secret string
		var haveCreds bool
		switch r.Method {
		case http.MethodGet:
			user, secret, haveCreds = r.BasicAuth()
		case http.MethodPost:
			if err := r.ParseForm(); err != nil {
				tokenError(w, http.StatusBadRequest, "invalid_request", "cannot parse form")
				return
			}
			switch r.PostForm.Get("grant_type") {
			case "password":
				user, secret, haveCreds = r.PostForm.Get("username"), r.PostForm.Get("password"), true
			case "refresh_token":
				user, secret, haveCreds = r.PostForm.Get("username"), r.PostForm.Get("refresh_token"), true
			default:
				tokenError(w, http.StatusBadRequest, "unsupported_grant_type", "use grant_type=password or refresh_token")
				return
			}
		default:
			w.Header().Set("Allow", "GET, POST")
			tokenError(w, http.StatusMethodNotAllowed, "invalid_request", "use GET or POST")
			return
		}
		service := r.FormValue("service")
		if service != "" && service != s.cfg.Service {
			tokenError(w, http.StatusBadRequest, "invalid_request", fmt.Sprintf("unknown service %q, this hub is %q", service, s.cfg.Service))
			return
		}
		ctx := r.Context()
		subject := ""
		if haveCreds {
			u, err := s.Authenticate(ctx, ClientIP(r), user, secret)
			switch {
			case errors.Is(err, ErrRateLimited):
				w.Header().Set("Retry-After", strconv.Itoa(int(s.limiter.RetryAfter("user:"+user).Seconds())+1))
				tokenError(w, http.StatusTooManyRequests, "rate_limited", err.Error())
				return
			case err != nil && (errors.Is(err, ErrInvalidCredentials) || errors.Is(err, ErrNotFound)):
				w.Header().Set("WWW-Authenticate", fmt.Sprintf(`Basic realm=%q`, s.cfg.Service))
				tokenError(w, http.StatusUnauthorized, "invalid_grant", "invalid user name, password or token")
				return
			case err != nil:
				tokenError(w, http.StatusInternalServerError, "server_error", err.Error())
				return
			}
			subject = u.Name
		}
		var scopes []string
		if r.Method == http.MethodPost {
			scopes = strings.Fields(r.PostForm.Get("scope"))
		} else {
			for _, sc := range r.URL.Query()["scope"] {
				scopes = append(scopes, strings.Fields(sc)...)
			}
		}
		access := s.grant(ctx, subject, scopes)
		t := time.Now()
		tok := s.sign(claims{Issuer: issuer, Subject: subject, Audience: s.cfg.Service,
			IssuedAt: t.Unix(), NotBefore: t.Unix(), Expires: t.Add(s.cfg.TokenTTL).Unix(), ID: newID(), Access: access})
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		json.NewEncoder(w).Encode(map[string]any{
			"token": tok, "access_token": tok,
			"expires_in": int(s.cfg.TokenTTL.Seconds()), "issued_at": t.UTC().Format(time.RFC3339),
			"scope": strings.Join(scopes, " "),
		})
	})
}

func tokenError(w http.ResponseWriter, status int, code, desc string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]string{"error": code, "error_description": desc,
		"details": desc})
}

// grant returns the part of the requested scopes user may have.
func (s *Service) grant(ctx context.Context, user string, scopes []string) []ResourceAccess {
	var out []ResourceAccess
	for _, sc := range scopes {
		typ, rest, ok := strings.Cut(sc, ":")
		if !ok {
			continue
		}
		i := strings.LastIndexByte(rest, ':')
		if i < 0 {
			continue
		}
		name, actions := rest[:i], strings.Split(rest[i+1:], ",")
		var granted []string
		switch typ {
		case "repository":
			for _, a := range actions {
				act := Action(a)
				if a == "*" {
					if s.Can(ctx, user, name, Push) && s.Can(ctx, user, name, Pull) {
						granted = append(granted, "pull", "push", "delete")
					}
					continue
				}
				if (act == Pull || act == Push || act == Delete) && s.Can(ctx, user, name, act) && !slices.Contains(granted, a) {
					granted = append(granted, a)
				}
			}
		case "registry":
			if name == "catalog" && user != "" {
				granted = []string{"*"}
			}
		}
		if len(granted) > 0 {
			out = append(out, ResourceAccess{Type: typ, Name: name, Actions: granted})
		}
	}
	return out
}

// RegistryRequest is what an OCI distribution API request asks for.
type RegistryRequest struct {
	// Repository is the repository name, "" for /v2/ and /v2/_catalog.
	Repository string
	// Action is the access it needs: pull, push or delete.
	Action Action
	// Catalog is true for /v2/_catalog.
	Catalog bool
	// MountFrom is the source repository of a cross-repository blob mount.
	MountFrom string
}

// ParseRegistryRequest works out the repository and action of a request to
// the OCI distribution API. ok is false for paths outside /v2/.
func ParseRegistryRequest(r *http.Request) (req RegistryRequest, ok bool) {
	p := r.URL.Path
	if p != "/v2" && !strings.HasPrefix(p, "/v2/") {
		return req, false
	}
	switch r.Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
		req.Action = Pull
	case http.MethodDelete:
		req.Action = Delete
	default:
		req.Action = Push
	}
	rest := strings.TrimPrefix(strings.TrimPrefix(p, "/v2"), "/")
	if rest == "" {
		return req, true
	}
	if rest == "_catalog" {
		req.Catalog = true
		return req, true
	}
	// The name is everything before the last route keyword.
	best := -1
	for _, kw := range []string{"/blobs/", "/manifests/", "/tags/", "/referrers/"} {
		if i := strings.LastIndex(rest, kw); i > best {
			best = i
		}
	}
	if best <= 0 {
		req.Repository = strings.TrimSuffix(rest, "/")
		return req, true
	}
	req.Repository = rest[:best]
	if req.Action == Delete && strings.Contains(rest[best:], "/blobs/uploads/") {
		req.Action = Push // cancelling an upload
	}
	if r.Method == http.MethodPost && strings.HasPrefix(rest[best:], "/blobs/uploads") {
		req.MountFrom = r.URL.Query().Get("from")
	}
	return req, true
}

// RegistryMiddleware puts the hub's access rules in front of an OCI
// distribution API handler. It accepts registry tokens from
// [Service.TokenHandler] (Bearer) and, for clients that prefer it, basic
// auth with a password or personal access token. Anonymous requests that
// need more than pulling a public repository get a 401 with a
// WWW-Authenticate Bearer challenge naming the token endpoint and scope;
// authenticated users get 403 DENIED when they may not push or delete, and
// 404 NAME_UNKNOWN when they may not see a private repository (so its
// existence does not leak). /v2/ itself answers 401 to anonymous requests
// so that "docker login" and friends verify credentials. The identity is
// stored in the request context ([IdentityFrom]). A cross-repository mount
// from a repository the caller may not pull is turned into a plain upload.
func (s *Service) RegistryMiddleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		req, ok := ParseRegistryRequest(r)
		if !ok || !s.Enabled() {
			next.ServeHTTP(w, r)
			return
		}
		ctx := r.Context()
		user, granted, bearer, err := s.identify(r)
		if errors.Is(err, ErrRateLimited) {
			w.Header().Set("Retry-After", "60")
			ociError(w, http.StatusTooManyRequests, "TOOMANYREQUESTS", err.Error())
			return
		}
		if err != nil {
			s.challenge(w, r, req, "invalid_token", "UNAUTHORIZED", "authentication required: invalid credentials or expired token")
			return
		}
		r = r.WithContext(WithIdentity(ctx, Identity{User: user}))
		switch {
		case req.Repository == "" && !req.Catalog:
			if user == "" {
				s.challenge(w, r, req, "", "UNAUTHORIZED", "authentication required")
				return
			}
			next.ServeHTTP(w, r)
			return
		case req.Catalog:
			// The registry filters the listing with CanSee.
			next.ServeHTTP(w, r)
			return
		}
		allowed := s.Can(ctx, user, req.Repository, req.Action)
		if allowed && bearer && !grants(granted, req.Repository, req.Action) {
			s.challenge(w, r, req, "insufficient_scope", "UNAUTHORIZED", "token does not grant "+string(req.Action)+" on "+req.Repository)
			return
		}
		if !allowed {
			switch {
			case user == "":
				s.challenge(w, r, req, "insufficient_scope", "UNAUTHORIZED", "authentication required")
			case req.Action == Pull:
				ociError(w, http.StatusNotFound, "NAME_UNKNOWN", "repository name not known to registry")
			default:
				ociError(w, http.StatusForbidden, "DENIED", fmt.Sprintf("requested access to the resource is denied: %s may not %s %s (only the owner of namespace %q can)", user, req.Action, req.Repository, Namespace(req.Repository)))
			}
			return
		}
		if req.MountFrom != "" && !s.Can(ctx, user, req.MountFrom, Pull) {
			q := r.URL.Query()
			q.Del("mount")
			q.Del("from")
			r.URL.RawQuery = q.Encode()
		}
		next.ServeHTTP(w, r)
	})
}

// identify returns the caller's user name ("" anonymous) and, for bearer
// tokens, the access the token grants.
func (s *Service) identify(r *http.Request) (user string, access []ResourceAccess, bearer bool, err error) {
	h := r.Header.Get("Authorization")
	switch {
	case h == "":
		return "", nil, false, nil
	case len(h) > 7 && strings.EqualFold(h[:7], "bearer "):
		c, err := s.parse(strings.TrimSpace(h[7:]), s.cfg.Service)
		if err != nil {
			return "", nil, true, err
		}
		return c.Subject, c.Access, true, nil
	case len(h) > 6 && strings.EqualFold(h[:6], "basic "):
		name, secret, ok := r.BasicAuth()
		if !ok {
			return "", nil, false, ErrInvalidCredentials
		}
		u, err := s.authenticateBasic(r.Context(), ClientIP(r), name, secret)
		if err != nil {
			return "", nil, false, err
		}
		return u.Name, nil, false, nil
	}
	return "", nil, false, ErrInvalidCredentials
}

func grants(access []ResourceAccess, repo string, act Action) bool {
	for _, a := range access {
		if a.Type == "repository" && a.Name == repo && (slices.Contains(a.Actions, string(act)) || slices.Contains(a.Actions, "*")) {
			return true
		}
	}
	return false
}

func (s *Service) challenge(w http.ResponseWriter, r *http.Request, req RegistryRequest, errCode, code, msg string) {
	v := fmt.Sprintf(`Bearer realm=%q,service=%q`, s.realm(r), s.cfg.Service)
	switch {
	case req.Repository != "":
		actions := "pull"
		if req.Action != Pull {
			actions = "pull,push"
			if req.Action == Delete {
				actions = "delete"
			}
		}
		v += fmt.Sprintf(`,scope="repository:%s:%s"`, req.Repository, actions)
	case req.Catalog:
		v += `,scope="registry:catalog:*"`
	}
	if errCode != "" {
		v += fmt.Sprintf(`,error=%q`, errCode)
	}
	w.Header().Set("WWW-Authenticate", v)
	ociError(w, http.StatusUnauthorized, code, msg)
}

// ociError writes an OCI distribution error body.
func ociError(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Docker-Distribution-Api-Version", "registry/2.0")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]any{"errors": []map[string]any{{"code": code, "message": msg}}})
}

// TokenURL returns the token endpoint URL for a hub served at base
// ("http://127.0.0.1:5000").
func TokenURL(base string) string {
	u, err := url.Parse(base)
	if err != nil {
		return strings.TrimSuffix(base, "/") + "/token"
	}
	u.Path = "/token"
	return u.String()
}
