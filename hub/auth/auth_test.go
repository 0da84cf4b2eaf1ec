package auth_test

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/wasmctl/wasmctl/hub/auth"
	"github.com/wasmctl/wasmctl/hub/db/dbtest"
)

func TestMain(m *testing.M) {
	code := m.Run()
	dbtest.Stop()
	os.Exit(code)
}

// TestPostgres runs the account, token and access checks on PostgreSQL.
func TestPostgres(t *testing.T) {
	for name, check := range map[string]func(*testing.T, *auth.Service){
		"users": checkUsersAndPasswords, "tokens": checkTokens, "access": checkAccessRules,
	} {
		t.Run(name, func(t *testing.T) {
			s, err := auth.New(t.Context(), dbtest.Postgres(t), auth.Config{BcryptCost: bcrypt.MinCost, KeyDir: t.TempDir()})
			if err != nil {
				t.Fatal(err)
			}
			check(t, s)
		})
	}
}

func newService(t *testing.T, cfg auth.Config) *auth.Service {
	t.Helper()
	cfg.BcryptCost = bcrypt.MinCost
	cfg.KeyDir = t.TempDir()
	s, err := auth.New(t.Context(), dbtest.SQLite(t), cfg)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func mustUser(t *testing.T, s *auth.Service, name string) {
	t.Helper()
	if _, err := s.CreateUser(t.Context(), name, name+"-password", auth.UserOptions{}); err != nil {
		t.Fatal(err)
	}
}

func TestUsersAndPasswords(t *testing.T) { checkUsersAndPasswords(t, newService(t, auth.Config{})) }

func checkUsersAndPasswords(t *testing.T, s *auth.Service) {
	ctx := t.Context()
	mustUser(t, s, "alice")
	tests := []struct {
		name, user, pw string
		want           error
	}{
		{"taken", "alice", "long-enough", auth.ErrExists},
		{"bad name", "Alice!", "long-enough", auth.ErrInvalidName},
		{"reserved", "v2", "long-enough", auth.ErrInvalidName},
		{"short password", "bob", "short", auth.ErrWeakPassword},
	}
	for _, tt := range tests {
		if _, err := s.CreateUser(ctx, tt.user, tt.pw, auth.UserOptions{}); !errors.Is(err, tt.want) {
			t.Errorf("%s: CreateUser(%q) error = %v, want %v", tt.name, tt.user, err, tt.want)
		}
	}
	if u, err := s.Authenticate(ctx, "1.2.3.4", "alice", "alice-password"); err != nil || u.Name != "alice" {
		t.Fatalf("Authenticate = %+v, %v", u, err)
	}
	if _, err := s.Authenticate(ctx, "1.2.3.4", "alice", "wrong-password"); !errors.Is(err, auth.ErrInvalidCredentials) {
		t.Fatalf("wrong password: %v", err)
	}
	if _, err := s.Authenticate(ctx, "1.2.3.4", "nobody", "whatever-pw"); !errors.Is(err, auth.ErrInvalidCredentials) {
		t.Fatalf("unknown user: %v", err)
	}
	if err := s.SetPassword(ctx, "alice", "new-password"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Authenticate(ctx, "", "alice", "new-password"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.SignUp(ctx, "carol", "c@example.com", "carol-password"); !errors.Is(err, auth.ErrSignupDisabled) {
		t.Fatalf("SignUp with sign-up off: %v", err)
	}
}

func TestTokens(t *testing.T) { checkTokens(t, newService(t, auth.Config{})) }

func checkTokens(t *testing.T, s *auth.Service) {
	ctx := t.Context()
	mustUser(t, s, "alice")
	mustUser(t, s, "bob")
	secret, tok, err := s.CreateToken(ctx, "alice", "laptop", time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(secret, "whp_") || !strings.HasPrefix(secret, tok.Prefix) {
		t.Fatalf("secret %q prefix %q", secret, tok.Prefix)
	}
	for _, user := range []string{"alice", ""} {
		if u, err := s.Authenticate(ctx, "", user, secret); err != nil || u.Name != "alice" {
			t.Fatalf("token auth as %q = %+v, %v", user, u, err)
		}
	}
	if _, err := s.Authenticate(ctx, "", "bob", secret); !errors.Is(err, auth.ErrInvalidCredentials) {
		t.Fatalf("alice's token as bob: %v", err)
	}
	list, err := s.Tokens(ctx, "alice")
	if err != nil || len(list) != 1 || list[0].Name != "laptop" || list[0].LastUsed.IsZero() {
		t.Fatalf("Tokens = %+v, %v", list, err)
	}
	if err := s.RevokeToken(ctx, "bob", tok.ID); !errors.Is(err, auth.ErrNotFound) {
		t.Fatalf("bob revoking alice's token: %v", err)
	}
	if err := s.RevokeToken(ctx, "alice", tok.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Authenticate(ctx, "", "alice", secret); !errors.Is(err, auth.ErrInvalidCredentials) {
		t.Fatalf("revoked token still works: %v", err)
	}
	expired, _, _ := s.CreateToken(ctx, "alice", "old", time.Now().Add(-time.Second))
	if _, err := s.Authenticate(ctx, "", "alice", expired); !errors.Is(err, auth.ErrInvalidCredentials) {
		t.Fatalf("expired token works: %v", err)
	}
}

func TestRateLimit(t *testing.T) {
	s := newService(t, auth.Config{Limiter: auth.NewLimiter(3, time.Minute)})
	ctx := t.Context()
	mustUser(t, s, "alice")
	for range 3 {
		if _, err := s.Authenticate(ctx, "9.9.9.9", "alice", "wrong-password"); !errors.Is(err, auth.ErrInvalidCredentials) {
			t.Fatal(err)
		}
	}
	if _, err := s.Authenticate(ctx, "8.8.8.8", "alice", "alice-password"); !errors.Is(err, auth.ErrRateLimited) {
		t.Fatalf("4th attempt for alice: %v, want rate limited", err)
	}
	if s.Limiter().RetryAfter("user:alice") <= 0 {
		t.Fatal("RetryAfter should be positive")
	}
}

func TestAccessRules(t *testing.T) { checkAccessRules(t, newService(t, auth.Config{})) }

func checkAccessRules(t *testing.T, s *auth.Service) {
	ctx := t.Context()
	mustUser(t, s, "alice")
	mustUser(t, s, "bob")
	mustUser(t, s, "root")
	if _, err := s.CreateUser(ctx, "admin1", "admin-password", auth.UserOptions{Admin: true}); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateOrg(ctx, "acme", "alice"); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateOrg(ctx, "bob", "alice"); !errors.Is(err, auth.ErrExists) {
		t.Fatalf("org named like a user: %v", err)
	}
	for ns, want := range map[string]string{"alice": "user", "acme": "org", "nobody": ""} {
		kind, err := s.NamespaceKind(ctx, ns)
		if kind != want || (want == "") != errors.Is(err, auth.ErrNotFound) {
			t.Errorf("NamespaceKind(%q) = %q, %v; want %q", ns, kind, err, want)
		}
	}
	s.RepositoryCreated(ctx, "alice/pub")
	if err := s.SetPrivate(ctx, "alice", "alice/secret", true); err != nil {
		t.Fatal(err)
	}
	if err := s.SetPrivate(ctx, "bob", "alice/pub", true); !errors.Is(err, auth.ErrForbidden) {
		t.Fatalf("bob making alice's repo private: %v", err)
	}
	if err := s.SetPrivate(ctx, "alice", "acme/secret", true); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		user, repo string
		act        auth.Action
		want       bool
	}{
		{"", "alice/pub", auth.Pull, true},
		{"", "alice/pub", auth.Push, false},
		{"bob", "alice/pub", auth.Pull, true},
		{"bob", "alice/pub", auth.Push, false},
		{"bob", "alice/pub", auth.Delete, false},
		{"alice", "alice/pub", auth.Push, true},
		{"alice", "alice/new/deep", auth.Push, true},
		{"", "alice/secret", auth.Pull, false},
		{"bob", "alice/secret", auth.Pull, false},
		{"alice", "alice/secret", auth.Pull, true},
		{"alice", "acme/secret", auth.Pull, true},
		{"alice", "acme/x", auth.Push, true},
		{"bob", "acme/x", auth.Push, false},
		{"bob", "acme/secret", auth.Pull, false},
		{"admin1", "acme/secret", auth.Pull, true},
		{"admin1", "bob/x", auth.Push, true},
	}
	for _, tt := range tests {
		if got := s.Can(ctx, tt.user, tt.repo, tt.act); got != tt.want {
			t.Errorf("Can(%q, %q, %s) = %v, want %v", tt.user, tt.repo, tt.act, got, tt.want)
		}
	}
	if err := s.AddMember(ctx, "acme", "bob"); err != nil {
		t.Fatal(err)
	}
	if !s.Can(ctx, "bob", "acme/secret", auth.Pull) || !s.Can(ctx, "bob", "acme/x", auth.Push) {
		t.Fatal("member bob should pull and push in acme")
	}
	ns, _ := s.VisibleNamespaces(ctx, "bob")
	if strings.Join(ns, ",") != "bob,acme" {
		t.Fatalf("VisibleNamespaces(bob) = %v", ns)
	}
}

func TestSessionsAndCSRF(t *testing.T) {
	s := newService(t, auth.Config{})
	v := s.IssueSession("alice", time.Hour)
	user, id, err := s.ParseSession(v)
	if err != nil || user != "alice" || id == "" {
		t.Fatalf("ParseSession = %q, %q, %v", user, id, err)
	}
	if _, _, err := s.ParseSession(v[:len(v)-2] + "xx"); err == nil {
		t.Fatal("tampered session accepted")
	}
	if _, _, err := s.ParseSession(s.IssueSession("alice", -time.Minute)); err == nil {
		t.Fatal("expired session accepted")
	}
	tok := s.CSRFToken(id)
	if !s.CheckCSRF(id, tok) || s.CheckCSRF(id, tok+"x") || s.CheckCSRF("", s.CSRFToken("")) {
		t.Fatal("CSRF check wrong")
	}
}

func TestParseRegistryRequest(t *testing.T) {
	tests := []struct {
		method, target string
		want           auth.RegistryRequest
	}{
		{"GET", "/v2/", auth.RegistryRequest{Action: auth.Pull}},
		{"GET", "/v2/_catalog?n=10", auth.RegistryRequest{Action: auth.Pull, Catalog: true}},
		{"GET", "/v2/a/b/manifests/latest", auth.RegistryRequest{Repository: "a/b", Action: auth.Pull}},
		{"HEAD", "/v2/a/blobs/c/blobs/sha256:00", auth.RegistryRequest{Repository: "a/blobs/c", Action: auth.Pull}},
		{"PUT", "/v2/a/b/manifests/v1", auth.RegistryRequest{Repository: "a/b", Action: auth.Push}},
		{"DELETE", "/v2/a/b/manifests/v1", auth.RegistryRequest{Repository: "a/b", Action: auth.Delete}},
		{"DELETE", "/v2/a/b/blobs/uploads/123", auth.RegistryRequest{Repository: "a/b", Action: auth.Push}},
		{"POST", "/v2/a/b/blobs/uploads/?mount=sha256:00&from=c/d", auth.RegistryRequest{Repository: "a/b", Action: auth.Push, MountFrom: "c/d"}},
		{"GET", "/v2/a/b/tags/list", auth.RegistryRequest{Repository: "a/b", Action: auth.Pull}},
		{"GET", "/v2/a/b/referrers/sha256:00", auth.RegistryRequest{Repository: "a/b", Action: auth.Pull}},
	}
	for _, tt := range tests {
		r := httptest.NewRequest(tt.method, tt.target, nil)
		got, ok := auth.ParseRegistryRequest(r)
		if !ok || got != tt.want {
			t.Errorf("%s %s = %+v, %v; want %+v", tt.method, tt.target, got, ok, tt.want)
		}
	}
	if _, ok := auth.ParseRegistryRequest(httptest.NewRequest("GET", "/v2x", nil)); ok {
		t.Error("/v2x parsed as a registry request")
	}
}

// TestRegistryTokenFlow walks the Docker token flow against a stand-in
// registry handler that only echoes who called.
func TestRegistryTokenFlow(t *testing.T) {
	s := newService(t, auth.Config{})
	ctx := t.Context()
	mustUser(t, s, "alice")
	mustUser(t, s, "bob")
	s.SetPrivate(ctx, "alice", "alice/secret", true)
	pat, _, _ := s.CreateToken(ctx, "alice", "ci", time.Time{})
	mux := http.NewServeMux()
	mux.Handle("/token", s.TokenHandler())
	mux.Handle("/v2/", s.RegistryMiddleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "ok:"+auth.IdentityFrom(r.Context()).User)
	})))
	srv := httptest.NewServer(mux)
	defer srv.Close()

	do := func(method, path, authz string) (*http.Response, string) {
		t.Helper()
		req, _ := http.NewRequest(method, srv.URL+path, nil)
		if authz != "" {
			req.Header.Set("Authorization", authz)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, string(b)
	}
	token := func(user, pw string, scopes ...string) (int, string) {
		t.Helper()
		q := url.Values{"service": {"wasmctl-hub"}, "scope": scopes}
		req, _ := http.NewRequest("GET", srv.URL+"/token?"+q.Encode(), nil)
		if user != "" || pw != "" {
			req.SetBasicAuth(user, pw)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var body struct{ Token string }
		json.NewDecoder(resp.Body).Decode(&body)
		return resp.StatusCode, body.Token
	}

	// /v2/ challenges anonymous callers with the realm and service.
	resp, _ := do("GET", "/v2/", "")
	if resp.StatusCode != 401 || !strings.Contains(resp.Header.Get("WWW-Authenticate"), `Bearer realm="`+srv.URL+`/token",service="wasmctl-hub"`) {
		t.Fatalf("GET /v2/ anonymous = %d %q", resp.StatusCode, resp.Header.Get("WWW-Authenticate"))
	}
	// Anonymous pull of a public repository needs no token at all.
	if resp, body := do("GET", "/v2/alice/pub/manifests/v1", ""); resp.StatusCode != 200 || body != "ok:" {
		t.Fatalf("anonymous public pull = %d %s", resp.StatusCode, body)
	}
	// Anonymous push is challenged with the scope to ask for.
	resp, _ = do("PUT", "/v2/alice/pub/manifests/v1", "")
	if resp.StatusCode != 401 || !strings.Contains(resp.Header.Get("WWW-Authenticate"), `scope="repository:alice/pub:pull,push"`) {
		t.Fatalf("anonymous push = %d %q", resp.StatusCode, resp.Header.Get("WWW-Authenticate"))
	}
	// Wrong password: 401 from the token endpoint.
	if code, _ := token("alice", "nope-nope", "repository:alice/pub:pull,push"); code != 401 {
		t.Fatalf("token with wrong password = %d", code)
	}
	// Alice's token grants push on her namespace; Bob's does not.
	_, aliceTok := token("alice", "alice-password", "repository:alice/pub:pull,push")
	if resp, body := do("PUT", "/v2/alice/pub/manifests/v1", "Bearer "+aliceTok); resp.StatusCode != 200 || body != "ok:alice" {
		t.Fatalf("alice push = %d %s", resp.StatusCode, body)
	}
	_, bobTok := token("bob", "bob-password", "repository:alice/pub:pull,push")
	if resp, body := do("PUT", "/v2/alice/pub/manifests/v1", "Bearer "+bobTok); resp.StatusCode != 403 || !strings.Contains(body, "DENIED") {
		t.Fatalf("bob push to alice = %d %s", resp.StatusCode, body)
	}
	// A token for one repository does not open another: re-challenge.
	if resp, _ := do("PUT", "/v2/alice/other/manifests/v1", "Bearer "+aliceTok); resp.StatusCode != 401 || !strings.Contains(resp.Header.Get("WWW-Authenticate"), "insufficient_scope") {
		t.Fatalf("alice push with a token for another repo = %d", resp.StatusCode)
	}
	// Private repositories: hidden from Bob (404), challenged for anonymous, open to Alice.
	_, bobPull := token("bob", "bob-password", "repository:alice/secret:pull")
	if resp, body := do("GET", "/v2/alice/secret/manifests/v1", "Bearer "+bobPull); resp.StatusCode != 404 || !strings.Contains(body, "NAME_UNKNOWN") {
		t.Fatalf("bob pull of private = %d %s", resp.StatusCode, body)
	}
	if resp, _ := do("GET", "/v2/alice/secret/manifests/v1", ""); resp.StatusCode != 401 {
		t.Fatalf("anonymous pull of private = %d", resp.StatusCode)
	}
	_, alicePull := token("alice", pat, "repository:alice/secret:pull")
	if resp, body := do("GET", "/v2/alice/secret/manifests/v1", "Bearer "+alicePull); resp.StatusCode != 200 || body != "ok:alice" {
		t.Fatalf("alice pull of private with PAT token = %d %s", resp.StatusCode, body)
	}
	// Basic auth straight on /v2/ works with a password or a token.
	req, _ := http.NewRequest("GET", srv.URL+"/v2/", nil)
	req.SetBasicAuth("alice", pat)
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != 200 {
		t.Fatalf("basic auth with PAT on /v2/: %v %v", resp, err)
	}
	// A forged token is refused.
	if resp, _ := do("GET", "/v2/alice/pub/manifests/v1", "Bearer "+aliceTok[:len(aliceTok)-3]+"abc"); resp.StatusCode != 401 {
		t.Fatalf("forged token = %d", resp.StatusCode)
	}
	// OAuth2 password grant (POST) as used by some clients.
	form := url.Values{"grant_type": {"password"}, "username": {"alice"}, "password": {"alice-password"}, "service": {"wasmctl-hub"}, "scope": {"repository:alice/pub:push"}}
	pr, err := http.PostForm(srv.URL+"/token", form)
	if err != nil || pr.StatusCode != 200 {
		t.Fatalf("POST /token = %v %v", pr, err)
	}
	pr.Body.Close()
}

func TestAuthDisabled(t *testing.T) {
	s := newService(t, auth.Config{Disabled: true})
	if !s.Can(t.Context(), "", "anyone/anything", auth.Push) {
		t.Fatal("disabled auth should allow anonymous push")
	}
	h := s.RegistryMiddleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(204) }))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("PUT", "/v2/x/y/manifests/1", nil))
	if rec.Code != 204 {
		t.Fatalf("disabled auth: %d", rec.Code)
	}
}
