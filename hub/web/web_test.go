package web_test

import (
	"context"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"golang.org/x/crypto/bcrypt"
	"golang.org/x/net/html"

	"github.com/wasmctl/wasmctl/hub/api"
	"github.com/wasmctl/wasmctl/hub/auth"
	"github.com/wasmctl/wasmctl/hub/db/dbtest"
	"github.com/wasmctl/wasmctl/hub/index"
	"github.com/wasmctl/wasmctl/hub/index/indextest"
	"github.com/wasmctl/wasmctl/hub/web"
	"github.com/wasmctl/wasmctl/internal/testregistry"
)

func TestMain(m *testing.M) {
	code := m.Run()
	dbtest.Stop()
	os.Exit(code)
}

// hostileREADME tries every way to get script into the filter page.
const hostileREADME = "# Rate limit\n\nLimits **requests** per client.\n\n" +
	"<script>document.title='pwned'</script>\n\n" +
	"<img src=x onerror=\"document.title='pwned'\">\n\n" +
	"[click me](javascript:document.title='pwned')\n\n" +
	"| a | b |\n|---|---|\n| 1 | 2 |\n"

const schema = `{"type":"object","required":["rps"],"properties":{
	"rps":{"type":"integer","default":100,"description":"Requests per second per client"},
	"key":{"type":"string","enum":["ip","header"],"description":"What identifies a client"},
	"header":{"type":"object","properties":{"name":{"type":"string","description":"Header holding the client id"}}}}}`

type env struct {
	srv  *httptest.Server
	ix   *index.Index
	auth *auth.Service
	reg  *testregistry.Registry
}

// newEnv runs the UI and API over a real registry, index and account store,
// with one public filter (acme/rate-limit, two versions) and one user
// (alice / correct-horse) who owns the acme organisation.
func newEnv(t *testing.T) *env {
	t.Helper()
	return newEnvSignup(t, true)
}

// newEnvSignup is newEnv with web sign-up on or off.
func newEnvSignup(t *testing.T, signup bool) *env {
	t.Helper()
	ctx := t.Context()
	d := dbtest.SQLite(t)
	ix, err := index.Open(ctx, d, index.Options{})
	if err != nil {
		t.Fatal(err)
	}
	as, err := auth.New(ctx, d, auth.Config{Signup: signup, BcryptCost: bcrypt.MinCost,
		SigningKey: []byte("0123456789abcdef0123456789abcdef"), Limiter: auth.NewLimiter(3, time.Minute)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := as.CreateUser(ctx, "alice", "correct-horse", auth.UserOptions{}); err != nil {
		t.Fatal(err)
	}
	for _, org := range []string{"acme", "quiet-org"} {
		if err := as.CreateOrg(ctx, org, "alice"); err != nil {
			t.Fatal(err)
		}
	}
	as.OnVisibilityChange(ix.SetPrivate) // as hub.Server does
	reg := testregistry.Start(t)
	push := func(repo, tag string, img indextest.Image) {
		t.Helper()
		desc := indextest.Push(t, reg.Host, repo, tag, img)
		if err := ix.ManifestPushed(ctx, indextest.Repository(t, reg.Host, repo), repo, tag, desc); err != nil {
			t.Fatal(err)
		}
	}
	wasm := indextest.Module("proxy_abi_version_0_2_1")
	push("acme/rate-limit", "v1.0.0", indextest.Image{Wasm: indextest.Module("proxy_abi_version_0_2_0"), README: "# old"})
	push("acme/rate-limit", "v1.1.0", indextest.Image{Wasm: wasm, README: hostileREADME, Schema: schema,
		Annotations: map[string]string{ocispec.AnnotationDescription: "Token-bucket rate limiting per client",
			ocispec.AnnotationLicenses: "Apache-2.0", index.AnnotationCategories: "traffic,security",
			index.AnnotationKeywords: "throttle,token-bucket"}})
	push("bob/add-header", "latest", indextest.Image{Variant: indextest.Plain, Wasm: wasm,
		Annotations: map[string]string{ocispec.AnnotationDescription: "Adds a response header", index.AnnotationCategories: "headers"}})

	ui, err := web.New(web.Config{Index: ix, Auth: as, RegistryHost: reg.Host})
	if err != nil {
		t.Fatal(err)
	}
	a, err := api.New(api.Config{Index: ix, Auth: as})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle(api.Prefix, a)
	mux.Handle("/", ui)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return &env{srv: srv, ix: ix, auth: as, reg: reg}
}

// client is a browser-like HTTP client with a cookie jar that does not
// follow redirects.
func (e *env) client(t *testing.T) *http.Client {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

func get(t *testing.T, c *http.Client, u string) (int, string, http.Header) {
	t.Helper()
	resp, err := c.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), resp.Header
}

func post(t *testing.T, c *http.Client, u string, form url.Values) (int, string, http.Header) {
	t.Helper()
	resp, err := c.PostForm(u, form)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), resp.Header
}

var csrfRE = regexp.MustCompile(`name="csrf_token" value="([^"]+)"`)

func csrfToken(t *testing.T, body string) string {
	t.Helper()
	m := csrfRE.FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no csrf_token in page:\n%s", body)
	}
	return m[1]
}

// login logs c in as alice and returns the CSRF token of the new session.
func (e *env) login(t *testing.T, c *http.Client) string {
	t.Helper()
	return e.loginAs(t, c, "alice", "correct-horse")
}

// loginAs logs c in as name and returns the CSRF token of the new session.
func (e *env) loginAs(t *testing.T, c *http.Client, name, password string) string {
	t.Helper()
	_, body, _ := get(t, c, e.srv.URL+"/login")
	status, _, h := post(t, c, e.srv.URL+"/login", url.Values{"csrf_token": {csrfToken(t, body)},
		"username": {name}, "password": {password}, "next": {"/settings/tokens"}})
	if status != http.StatusSeeOther || h.Get("Location") != "/settings/tokens" {
		t.Fatalf("login = %d → %q", status, h.Get("Location"))
	}
	_, body, _ = get(t, c, e.srv.URL+"/settings/tokens")
	return csrfToken(t, body)
}

func TestPagesRender(t *testing.T) {
	e := newEnv(t)
	c := e.client(t)
	host := e.reg.Host
	tests := []struct {
		path   string
		status int
		want   []string
	}{
		{"/", 200, []string{"Explore proxy-wasm filters", "acme/</span>rate-limit", "bob/</span>add-header", "2 filters",
			`href="/?category=security"`, "ABI 0.2.1"}},
		{"/?q=rate", 200, []string{"Results for “rate”", "rate-limit", "1 filter<"}},
		{"/?q=thrott", 200, []string{"rate-limit", "1 filter<"}},
		{"/?q=zzzz", 200, []string{"No filter matches", "0 filters"}},
		{"/?category=headers", 200, []string{"add-header", "1 filter"}},
		{"/?sort=popular&page=1", 200, []string{`value="popular" selected>Most pulled</option>`}},
		{"/?q=x&namespace=acme", 200, []string{`value="relevance" selected>Best match</option>`}},
		{"/?page=abc", 400, []string{"page must be a positive integer"}},
		{"/?sort=name&per_page=1", 200, []string{"Page 1 of 2", `rel="next" href="/?page=2&amp;per_page=1&amp;sort=name"`, "acme/</span>rate-limit"}},
		{"/?sort=name&per_page=1&page=2", 200, []string{"Page 2 of 2", `rel="prev" href="/?per_page=1&amp;sort=name"`, "bob/</span>add-header"}},
		{"/filters/acme/rate-limit", 200, []string{
			`<h2 id="readme-rate-limit">Rate limit</h2>`, "<strong>requests</strong>", "<table>",
			"Token-bucket rate limiting per client", "Apache-2.0",
			`href="/?category=traffic"`, `href="/?q=throttle">#throttle</a>`,
			"<code>v1.1.0</code>", "<code>v1.0.0</code>", "0.2.0", "compat",
			"wasmctl pull " + host + "/acme/rate-limit:v1.1.0",
			"oras pull " + host + "/acme/rate-limit:v1.1.0",
			"kind: WasmPlugin", "url: oci://" + host + "/acme/rate-limit:v1.1.0", "sha256: ",
			"rps: 100", "listeners:",
			"<code>rps</code>", "Requests per second per client", `one of &#34;ip&#34;, &#34;header&#34;`, "<code>header.name</code>",
		}},
		{"/filters/acme/nope", 404, []string{"Filter not found"}},
		{"/namespaces/acme?sort=name", 200, []string{`value="name" selected>Name</option>`}},
		{"/namespaces/acme", 200, []string{`value="recent" selected>Recently updated</option>`, "rate-limit", "Organisation. Filters published in the <strong>acme</strong>"}},
		{"/namespaces/nobody", 404, []string{"0 filters", "No account or organisation is called <strong>nobody</strong>"}},
		{"/namespaces/alice", 200, []string{"User. Filters", "Nothing is published in <strong>alice</strong> yet"}},
		{"/namespaces/quiet-org", 200, []string{"Organisation. Filters", "Nothing is published in <strong>quiet-org</strong> yet", "wasmctl push " + host + "/quiet-org/NAME:TAG"}},
		{"/login", 200, []string{`<label for="username">`, `autocomplete="current-password"`, `name="csrf_token"`}},
		{"/signup", 200, []string{"Create an account", `name="confirm"`}},
		{"/settings/tokens", 303, nil},
		{"/static/style.css", 200, []string{"--accent"}},
		{"/nothing/here", 404, []string{"Page not found"}},
	}
	for _, tt := range tests {
		status, body, h := get(t, c, e.srv.URL+tt.path)
		if status != tt.status {
			t.Errorf("GET %s = %d, want %d\n%s", tt.path, status, tt.status, body)
			continue
		}
		for _, w := range tt.want {
			if !strings.Contains(body, w) {
				t.Errorf("GET %s: body lacks %q", tt.path, w)
			}
		}
		if csp := h.Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self'") || strings.Contains(csp, "unsafe-inline") {
			t.Errorf("GET %s: CSP = %q", tt.path, csp)
		}
		if h.Get("X-Content-Type-Options") != "nosniff" || h.Get("X-Frame-Options") != "DENY" {
			t.Errorf("GET %s: missing security headers: %v", tt.path, h)
		}
		if strings.Contains(h.Get("Content-Type"), "html") && (strings.Contains(body, "<script>") || strings.Contains(body, " style=")) {
			t.Errorf("GET %s: inline script or style in the page", tt.path)
		}
		if m := externalAsset.FindString(body); m != "" {
			t.Errorf("GET %s: asset from another site (all must be embedded): %s", tt.path, m)
		}
	}
}

// externalAsset matches a script, stylesheet or icon loaded from another
// origin (README images may link out; the site's own assets may not).
var externalAsset = regexp.MustCompile(`<(script|link)[^>]+(src|href)="(https?:)?//[^"]*"`)

func TestHead(t *testing.T) {
	e := newEnv(t)
	for _, p := range []string{"/", "/filters/acme/rate-limit", "/login"} {
		resp, err := http.Head(e.srv.URL + p)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
			t.Errorf("HEAD %s = %s %q", p, resp.Status, resp.Header.Get("Content-Type"))
		}
	}
}

func TestReadmeWithScriptRendersInert(t *testing.T) {
	e := newEnv(t)
	_, body, _ := get(t, e.client(t), e.srv.URL+"/filters/acme/rate-limit")
	for _, bad := range []string{"<script>document", "onerror=", `href="javascript:`, "<img src=\"x\""} {
		if strings.Contains(body, bad) {
			t.Errorf("filter page contains %q", bad)
		}
	}
	if !strings.Contains(body, "raw HTML omitted") || !strings.Contains(body, `rel="nofollow noopener ugc"`) {
		t.Errorf("README not rendered in safe mode:\n%s", body)
	}
}

func TestCSRFRejected(t *testing.T) {
	e := newEnv(t)
	c := e.client(t)
	// Anonymous forms: no token, a made-up token.
	for _, tok := range []string{"", "forged"} {
		status, body, _ := post(t, c, e.srv.URL+"/login", url.Values{"csrf_token": {tok}, "username": {"alice"}, "password": {"correct-horse"}})
		if status != http.StatusForbidden || !strings.Contains(body, "CSRF") {
			t.Fatalf("login with csrf %q = %d", tok, status)
		}
	}
	// A token from another visitor's page does not work either.
	other := e.client(t)
	_, page, _ := get(t, other, e.srv.URL+"/login")
	if status, _, _ := post(t, c, e.srv.URL+"/login", url.Values{"csrf_token": {csrfToken(t, page)}, "username": {"alice"}, "password": {"correct-horse"}}); status != http.StatusForbidden {
		t.Fatalf("login with another visitor's token = %d", status)
	}
	// Logged in: token creation and revocation need the session's token.
	tok := e.login(t, c)
	if status, _, _ := post(t, c, e.srv.URL+"/settings/tokens", url.Values{"name": {"ci"}, "expires": {"30"}}); status != http.StatusForbidden {
		t.Fatalf("create token without csrf = %d", status)
	}
	req, _ := http.NewRequest(http.MethodPost, e.srv.URL+"/settings/tokens", strings.NewReader(url.Values{"name": {"ci"}, "csrf_token": {tok}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	if resp, err := c.Do(req); err != nil || resp.StatusCode != http.StatusForbidden {
		t.Fatalf("cross-site post = %v, %v", resp.Status, err)
	}
	if toks, _ := e.auth.Tokens(t.Context(), "alice"); len(toks) != 0 {
		t.Fatalf("a rejected form created tokens: %v", toks)
	}
	if status, _, _ := post(t, c, e.srv.URL+"/logout", nil); status != http.StatusForbidden {
		t.Fatalf("logout without csrf = %d", status)
	}
}

func TestLoginRateLimited(t *testing.T) {
	e := newEnv(t)
	c := e.client(t)
	_, body, _ := get(t, c, e.srv.URL+"/login")
	tok := csrfToken(t, body)
	try := func(pw string) int {
		status, _, _ := post(t, c, e.srv.URL+"/login", url.Values{"csrf_token": {tok}, "username": {"alice"}, "password": {pw}})
		return status
	}
	for i := range 3 {
		if s := try("wrong-password"); s != http.StatusUnauthorized {
			t.Fatalf("failed login %d = %d, want 401", i, s)
		}
	}
	if s := try("correct-horse"); s != http.StatusTooManyRequests {
		t.Fatalf("login after 3 failures = %d, want 429 even with the right password", s)
	}
}

func TestTokens(t *testing.T) {
	e := newEnv(t)
	c := e.client(t)
	tok := e.login(t, c)
	status, body, h := post(t, c, e.srv.URL+"/settings/tokens", url.Values{"csrf_token": {tok}, "name": {"laptop"}, "expires": {"90"}})
	if status != http.StatusCreated || h.Get("Cache-Control") != "no-store" {
		t.Fatalf("create token = %d, cache %q", status, h.Get("Cache-Control"))
	}
	secret := regexp.MustCompile(`whp_[A-Za-z0-9_\-]+`).FindString(body)
	if secret == "" || !strings.Contains(body, "Copy your new token now") {
		t.Fatalf("secret not shown:\n%s", body)
	}
	// Shown once: the list shows the name and a prefix only.
	_, body, _ = get(t, c, e.srv.URL+"/settings/tokens")
	if strings.Contains(body, secret) || !strings.Contains(body, "laptop") {
		t.Fatalf("token list shows the secret or lacks the token")
	}
	// The token authenticates the API (and sees private filters), until revoked.
	e.ix.SetPrivate(t.Context(), "acme/rate-limit", true)
	apiGet := func() int {
		req, _ := http.NewRequest(http.MethodGet, e.srv.URL+"/api/v1/filters/acme/rate-limit", nil)
		req.Header.Set("Authorization", "Bearer "+secret)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if s := apiGet(); s != http.StatusOK {
		t.Fatalf("API with token = %d", s)
	}
	toks, _ := e.auth.Tokens(t.Context(), "alice")
	if len(toks) != 1 {
		t.Fatalf("tokens = %v", toks)
	}
	status, body, _ = post(t, c, e.srv.URL+"/settings/tokens/"+itoa(toks[0].ID)+"/revoke", url.Values{"csrf_token": {tok}})
	if status != http.StatusOK || !strings.Contains(body, "Token revoked") {
		t.Fatalf("revoke = %d", status)
	}
	if s := apiGet(); s != http.StatusUnauthorized {
		t.Fatalf("API with revoked token = %d, want 401", s)
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func TestPrivateFilterHiddenFromOthers(t *testing.T) {
	e := newEnv(t)
	if err := e.ix.SetPrivate(t.Context(), "acme/rate-limit", true); err != nil {
		t.Fatal(err)
	}
	anon := e.client(t)
	if s, _, _ := get(t, anon, e.srv.URL+"/filters/acme/rate-limit"); s != http.StatusNotFound {
		t.Fatalf("anonymous sees a private filter page: %d", s)
	}
	if _, body, _ := get(t, anon, e.srv.URL+"/?q=rate"); !strings.Contains(body, "0 filters") {
		t.Fatal("anonymous search lists a private filter")
	}
	owner := e.client(t)
	e.login(t, owner)
	if s, body, _ := get(t, owner, e.srv.URL+"/filters/acme/rate-limit"); s != http.StatusOK || !strings.Contains(body, "private</span>") {
		t.Fatalf("owner cannot see the private filter: %d", s)
	}
}

// TestVisibilityControl changes a filter's visibility from its page: only
// its namespace's owners see the control, and the form needs the session's
// CSRF token.
func TestVisibilityControl(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	const page, repo = "/filters/acme/rate-limit", "acme/rate-limit"
	if _, err := e.auth.CreateUser(ctx, "bob", "bob-password", auth.UserOptions{}); err != nil {
		t.Fatal(err)
	}
	anon := e.client(t)
	if _, body, _ := get(t, anon, e.srv.URL+page); strings.Contains(body, "/settings/visibility") {
		t.Fatal("anonymous visitor sees the visibility control")
	}
	set := func(c *http.Client, csrf, visibility string) (int, string, http.Header) {
		t.Helper()
		return post(t, c, e.srv.URL+"/settings/visibility", url.Values{"csrf_token": {csrf}, "repo": {repo}, "visibility": {visibility}})
	}
	if s, _, h := set(anon, "", "private"); s != http.StatusSeeOther || !strings.HasPrefix(h.Get("Location"), "/login") {
		t.Fatalf("anonymous change = %d → %q, want a redirect to /login", s, h.Get("Location"))
	}

	bob := e.client(t)
	bobCSRF := e.loginAs(t, bob, "bob", "bob-password")
	if _, body, _ := get(t, bob, e.srv.URL+page); strings.Contains(body, "/settings/visibility") {
		t.Fatal("a non-owner sees the visibility control")
	}
	if s, body, _ := set(bob, bobCSRF, "private"); s != http.StatusForbidden || !strings.Contains(body, "Only the owners") {
		t.Fatalf("non-owner change = %d", s)
	}

	alice := e.client(t)
	csrf := e.login(t, alice)
	if _, body, _ := get(t, alice, e.srv.URL+page); !strings.Contains(body, "Make private</button>") {
		t.Fatal("the owner has no Make private button")
	}
	if s, _, _ := set(alice, "", "private"); s != http.StatusForbidden {
		t.Fatalf("change without CSRF token = %d", s)
	}
	if s, _, _ := set(alice, bobCSRF, "private"); s != http.StatusForbidden {
		t.Fatalf("change with another session's CSRF token = %d", s)
	}
	if s, _, _ := set(alice, csrf, "secret"); s != http.StatusBadRequest {
		t.Fatalf("bad visibility value = %d", s)
	}
	if e.auth.Private(ctx, repo) {
		t.Fatal("a rejected form changed the visibility")
	}

	if s, _, h := set(alice, csrf, "private"); s != http.StatusSeeOther || h.Get("Location") != page {
		t.Fatalf("make private = %d → %q", s, h.Get("Location"))
	}
	if !e.auth.Private(ctx, repo) {
		t.Fatal("auth does not record the filter as private")
	}
	if s, _, _ := get(t, anon, e.srv.URL+page); s != http.StatusNotFound {
		t.Fatalf("anonymous sees the now-private filter: %d", s)
	}
	if s, _, _ := get(t, bob, e.srv.URL+page); s != http.StatusNotFound {
		t.Fatalf("bob sees the now-private filter: %d", s)
	}
	if _, body, _ := get(t, alice, e.srv.URL+page); !strings.Contains(body, "private</span>") || !strings.Contains(body, "Make public</button>") {
		t.Fatal("owner's page does not show the private state and the Make public button")
	}
	if s, _, _ := set(alice, csrf, "public"); s != http.StatusSeeOther {
		t.Fatalf("make public = %d", s)
	}
	if s, _, _ := get(t, anon, e.srv.URL+page); s != http.StatusOK || e.auth.Private(ctx, repo) {
		t.Fatalf("filter not public again: %d", s)
	}
}

func TestSignup(t *testing.T) {
	e := newEnv(t)
	c := e.client(t)
	_, body, _ := get(t, c, e.srv.URL+"/signup")
	tok := csrfToken(t, body)
	form := url.Values{"csrf_token": {tok}, "username": {"carol"}, "password": {"long-enough-pw"}, "confirm": {"different-pw"}}
	if s, body, _ := post(t, c, e.srv.URL+"/signup", form); s != http.StatusBadRequest || !strings.Contains(body, "differ") {
		t.Fatalf("mismatched confirm = %d", s)
	}
	form.Set("confirm", "long-enough-pw")
	if s, _, h := post(t, c, e.srv.URL+"/signup", form); s != http.StatusSeeOther || h.Get("Location") != "/settings/tokens" {
		t.Fatalf("signup = %d %v", s, h)
	}
	if s, body, _ := get(t, c, e.srv.URL+"/settings/tokens"); s != http.StatusOK || !strings.Contains(body, "/namespaces/carol") {
		t.Fatalf("signed-up user not logged in: %d", s)
	}
	if _, err := e.auth.User(context.Background(), "carol"); err != nil {
		t.Fatal(err)
	}
}

func TestSignupClosed(t *testing.T) {
	e := newEnvSignup(t, false)
	c := e.client(t)
	if _, body, _ := get(t, c, e.srv.URL+"/"); strings.Contains(body, `href="/signup"`) {
		t.Fatal("the header offers sign-up while it is closed")
	}
	if s, body, _ := get(t, c, e.srv.URL+"/signup"); s != http.StatusNotFound || !strings.Contains(body, "Sign-up is closed") {
		t.Fatalf("GET /signup = %d", s)
	}
	_, body, _ := get(t, c, e.srv.URL+"/login")
	form := url.Values{"csrf_token": {csrfToken(t, body)}, "username": {"carol"}, "password": {"long-enough-pw"}, "confirm": {"long-enough-pw"}}
	if s, _, _ := post(t, c, e.srv.URL+"/signup", form); s != http.StatusNotFound {
		t.Fatalf("POST /signup while closed = %d", s)
	}
	if _, err := e.auth.User(t.Context(), "carol"); err == nil {
		t.Fatal("an account was created while sign-up is closed")
	}
}

// TestAccessibleMarkup checks, on every page, what a screen reader relies
// on: one main landmark, a skip link, one h1, lang, and a label for every
// visible form control.
func TestAccessibleMarkup(t *testing.T) {
	e := newEnv(t)
	c := e.client(t)
	pages := []string{"/", "/?q=rate", "/filters/acme/rate-limit", "/namespaces/acme", "/login", "/signup"}
	check := func(path, body string) {
		t.Helper()
		z := html.NewTokenizer(strings.NewReader(body))
		labels, controls := map[string]bool{}, map[string]string{}
		var mains, h1s int
		var lang, skip bool
		for {
			tt := z.Next()
			if tt == html.ErrorToken {
				break
			}
			if tt != html.StartTagToken && tt != html.SelfClosingTagToken {
				continue
			}
			tok := z.Token()
			attr := map[string]string{}
			for _, a := range tok.Attr {
				attr[a.Key] = a.Val
			}
			switch tok.Data {
			case "html":
				lang = attr["lang"] != ""
			case "main":
				mains++
			case "h1":
				h1s++
			case "a":
				skip = skip || attr["href"] == "#main"
			case "label":
				labels[attr["for"]] = true
			case "input", "select", "textarea":
				if attr["type"] != "hidden" {
					controls[attr["id"]] = tok.Data + " " + attr["name"]
				}
			}
		}
		if !lang || mains != 1 || h1s != 1 || !skip {
			t.Errorf("%s: lang %v, %d main, %d h1, skip link %v", path, lang, mains, h1s, skip)
		}
		for id, what := range controls {
			if id == "" || !labels[id] {
				t.Errorf("%s: %s has no <label for>", path, what)
			}
		}
	}
	for _, p := range pages {
		_, body, _ := get(t, c, e.srv.URL+p)
		check(p, body)
	}
	e.login(t, c)
	for _, p := range []string{"/settings/tokens", "/filters/acme/rate-limit", "/namespaces/alice"} { // as an owner
		_, body, _ := get(t, c, e.srv.URL+p)
		check(p+" (logged in)", body)
	}
}
