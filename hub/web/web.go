// Package web is the hub's browser UI: server-rendered pages (gin and
// html/template) that work without JavaScript, with every asset embedded.
//
// Pages: explore (search, categories, sort by recent or popular,
// pagination), a filter page (rendered README, versions, configuration
// schema, copy-ready pull and deploy snippets), a namespace page, login,
// sign-up (when enabled) and personal access token management.
//
// Security: sessions are signed cookies (HttpOnly, SameSite=Lax, Secure
// behind TLS); every form carries a CSRF token bound to the session (or, before
// login, to a random pre-session cookie); logins go through the hub's shared
// failed-login limiter; every response carries a strict Content-Security-Policy
// without inline scripts or styles, and README markdown is rendered without
// raw HTML.
//
// This is the only package of the project that imports gin.
package web

import (
	"bytes"
	"context"
	"crypto/rand"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/wasmctl/wasmctl/hub/api"
	"github.com/wasmctl/wasmctl/hub/auth"
	"github.com/wasmctl/wasmctl/hub/index"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// Cookie names.
const (
	sessionCookie = "hub_session"
	preCookie     = "hub_pre" // random id binding CSRF tokens before login
)

// Config holds what the UI serves from.
type Config struct {
	// Index is the filter index (required).
	Index *index.Index
	// Auth is the account service (required).
	Auth *auth.Service
	// RegistryHost is the host (and port) users pull from, shown in
	// snippets. Empty means the Host header of each request.
	RegistryHost string
	// SecureCookies forces the Secure flag on cookies (set it when TLS is
	// terminated in front of the hub); requests over TLS always get it.
	SecureCookies bool
	// SessionTTL is how long a login lasts (default 12 hours).
	SessionTTL time.Duration
	// Title is the site name (default "wasmctl hub").
	Title string
	// Logger receives internal errors; nil means slog.Default().
	Logger *slog.Logger
}

// UI is the web handler.
type UI struct {
	cfg    Config
	engine *gin.Engine
	pages  map[string]*template.Template
}

// New returns the UI handler. Mount it at "/" on the hub's mux (after /v2/,
// /token and /api/v1/, which it does not serve).
func New(cfg Config) (*UI, error) {
	if cfg.Index == nil || cfg.Auth == nil {
		return nil, errors.New("web: Config.Index and Config.Auth are required")
	}
	if cfg.SessionTTL <= 0 {
		cfg.SessionTTL = 12 * time.Hour
	}
	if cfg.Title == "" {
		cfg.Title = "wasmctl hub"
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	u := &UI{cfg: cfg, pages: map[string]*template.Template{}}
	if err := u.parseTemplates(); err != nil {
		return nil, err
	}
	gin.SetMode(gin.ReleaseMode)
	e := gin.New()
	e.Use(gin.Recovery(), u.securityHeaders)
	e.RedirectTrailingSlash = false
	e.HandleMethodNotAllowed = true

	// Static assets need no session (no database query per file).
	static, _ := fs.Sub(staticFS, "static")
	e.GET("/static/*file", func(c *gin.Context) {
		c.Header("Cache-Control", "public, max-age=3600")
		c.FileFromFS(c.Param("file"), http.FS(static))
	})
	g := e.Group("/", u.session)
	get := func(path string, h ...gin.HandlerFunc) { g.GET(path, h...); g.HEAD(path, h...) }
	get("/", u.explore)
	get("/filters/*repo", u.filter)
	get("/namespaces/:ns", u.namespace)
	get("/login", u.loginPage)
	g.POST("/login", u.csrf, u.login)
	g.POST("/logout", u.csrf, u.logout)
	get("/signup", u.signupPage)
	g.POST("/signup", u.csrf, u.signup)
	get("/settings/tokens", u.requireLogin, u.tokensPage)
	g.POST("/settings/tokens", u.requireLogin, u.csrf, u.createToken)
	g.POST("/settings/tokens/:id/revoke", u.requireLogin, u.csrf, u.revokeToken)
	g.POST("/settings/visibility", u.requireLogin, u.csrf, u.setVisibility)
	e.NoRoute(u.session, func(c *gin.Context) {
		u.errorPage(c, http.StatusNotFound, "Page not found", "There is nothing at this address.")
	})
	e.NoMethod(u.session, func(c *gin.Context) { u.errorPage(c, http.StatusMethodNotAllowed, "Method not allowed", "") })
	u.engine = e
	return u, nil
}

// ServeHTTP serves the UI.
func (u *UI) ServeHTTP(w http.ResponseWriter, r *http.Request) { u.engine.ServeHTTP(w, r) }

// ---- middleware ----

// csp allows only same-origin scripts and styles (no inline code), https
// images in READMEs, and forms posting to this origin.
const csp = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' https: data:; " +
	"form-action 'self'; frame-ancestors 'none'; base-uri 'none'; connect-src 'self'"

func (u *UI) securityHeaders(c *gin.Context) {
	h := c.Writer.Header()
	h.Set("Content-Security-Policy", csp)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "same-origin")
	h.Set("Cross-Origin-Opener-Policy", "same-origin")
	h.Set("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
	if u.secure(c.Request) {
		h.Set("Strict-Transport-Security", "max-age=31536000")
	}
	c.Next()
}

func (u *UI) secure(r *http.Request) bool { return u.cfg.SecureCookies || r.TLS != nil }

// viewerKey and friends are the gin context keys set by session.
const (
	keyUser = "user"
	keySID  = "sid"
)

// session reads the session cookie (or the pre-session cookie) and stores
// the user and the CSRF binding id in the context.
func (u *UI) session(c *gin.Context) {
	if v, err := c.Cookie(sessionCookie); err == nil && v != "" {
		if user, id, err := u.cfg.Auth.ParseSession(v); err == nil {
			if _, err := u.cfg.Auth.User(c.Request.Context(), user); err == nil {
				c.Set(keyUser, user)
				c.Set(keySID, "s:"+id)
				c.Request = c.Request.WithContext(auth.WithIdentity(c.Request.Context(), auth.Identity{User: user}))
				c.Next()
				return
			}
		}
		u.clearCookie(c, sessionCookie)
	}
	pre, err := c.Cookie(preCookie)
	if err != nil || len(pre) != 32 {
		b := make([]byte, 16)
		rand.Read(b)
		pre = hex.EncodeToString(b)
		u.setCookie(c, preCookie, pre, 0, http.SameSiteStrictMode)
	}
	c.Set(keySID, "p:"+pre)
	c.Next()
}

func (u *UI) setCookie(c *gin.Context, name, value string, maxAge int, same http.SameSite) {
	http.SetCookie(c.Writer, &http.Cookie{Name: name, Value: value, Path: "/", MaxAge: maxAge,
		HttpOnly: true, Secure: u.secure(c.Request), SameSite: same})
}

func (u *UI) clearCookie(c *gin.Context, name string) {
	u.setCookie(c, name, "", -1, http.SameSiteLaxMode)
}

func user(c *gin.Context) string { return c.GetString(keyUser) }

// csrf rejects a POST whose csrf_token field does not match the session,
// and cross-site form posts flagged by the browser.
func (u *UI) csrf(c *gin.Context) {
	if c.GetHeader("Sec-Fetch-Site") == "cross-site" ||
		!u.cfg.Auth.CheckCSRF(c.GetString(keySID), c.PostForm("csrf_token")) {
		u.errorPage(c, http.StatusForbidden, "Form expired",
			"This form was not sent from this site's current page (CSRF check failed). Go back, reload the page and submit it again.")
		c.Abort()
		return
	}
	c.Next()
}

func (u *UI) requireLogin(c *gin.Context) {
	if user(c) == "" {
		c.Redirect(http.StatusSeeOther, "/login?next="+url.QueryEscape(c.Request.URL.RequestURI()))
		c.Abort()
		return
	}
	c.Next()
}

// ---- rendering ----

// page is the data every template gets.
type page struct {
	Title     string
	Site      string
	User      string
	CSRF      string
	Signup    bool
	Query     string
	Flash     string
	Error     string
	Canonical string
	Data      any
}

func (u *UI) parseTemplates() error {
	funcs := template.FuncMap{
		"shortDigest": func(d string) string {
			d = strings.TrimPrefix(d, "sha256:")
			if len(d) > 12 {
				return d[:12]
			}
			return d
		},
		"size":    humanSize,
		"date":    func(t time.Time) string { return t.UTC().Format("2006-01-02") },
		"iso":     func(t time.Time) string { return t.UTC().Format(time.RFC3339) },
		"ago":     ago,
		"join":    strings.Join,
		"inc":     func(i int) int { return i + 1 },
		"dec":     func(i int) int { return i - 1 },
		"pageURL": pageURL,
	}
	layout, err := template.New("layout.html").Funcs(funcs).ParseFS(templateFS, "templates/layout.html", "templates/partials.html")
	if err != nil {
		return fmt.Errorf("web: templates: %w", err)
	}
	names, _ := fs.Glob(templateFS, "templates/*.html")
	for _, n := range names {
		base := strings.TrimPrefix(n, "templates/")
		if base == "layout.html" || base == "partials.html" {
			continue
		}
		t, err := template.Must(layout.Clone()).ParseFS(templateFS, n)
		if err != nil {
			return fmt.Errorf("web: template %s: %w", base, err)
		}
		u.pages[strings.TrimSuffix(base, ".html")] = t
	}
	return nil
}

func (u *UI) render(c *gin.Context, status int, name string, p page) {
	p.Site = u.cfg.Title
	p.User = user(c)
	p.CSRF = u.cfg.Auth.CSRFToken(c.GetString(keySID))
	p.Signup = u.cfg.Auth.SignupEnabled()
	if p.Query == "" {
		p.Query = c.Query("q")
	}
	var buf bytes.Buffer
	if err := u.pages[name].ExecuteTemplate(&buf, "layout.html", p); err != nil {
		u.cfg.Logger.Error("web: render", "page", name, "err", err)
		c.String(http.StatusInternalServerError, "internal error rendering the page; the hub's log has details")
		return
	}
	c.Data(status, "text/html; charset=utf-8", buf.Bytes())
}

func (u *UI) errorPage(c *gin.Context, status int, title, msg string) {
	u.render(c, status, "error", page{Title: title, Error: msg, Data: status})
}

func (u *UI) internal(c *gin.Context, err error) {
	u.cfg.Logger.Error("web", "path", c.Request.URL.Path, "err", err)
	u.errorPage(c, http.StatusInternalServerError, "Something went wrong", "The hub could not complete this request; its log has details.")
}

// registryHost is the host users pull from: Config.RegistryHost, else the
// request's Host.
func (u *UI) registryHost(c *gin.Context) string {
	if u.cfg.RegistryHost != "" {
		return u.cfg.RegistryHost
	}
	return c.Request.Host
}

func (u *UI) viewer(ctx context.Context, c *gin.Context) ([]string, error) {
	return u.cfg.Auth.VisibleNamespaces(ctx, user(c))
}

// ---- pages ----

type exploreData struct {
	Results    *index.Results
	Categories []index.Category
	Q          index.Query
	Heading    string
	Namespace  string
	Kind       string // namespace page: "user", "org" or "" (unclaimed)
	Host       string // registry host, for the empty state's push command
	Base       string // path the pagination and sort links point to
}

func (u *UI) explore(c *gin.Context) {
	q, err := api.SearchQuery(c.Request)
	if err != nil {
		u.errorPage(c, http.StatusBadRequest, "Bad search", err.Error())
		return
	}
	u.list(c, q, "explore", "Explore filters", "/")
}

func (u *UI) namespace(c *gin.Context) {
	q, err := api.SearchQuery(c.Request)
	if err != nil {
		u.errorPage(c, http.StatusBadRequest, "Bad search", err.Error())
		return
	}
	q.Namespace = c.Param("ns")
	u.list(c, q, "namespace", q.Namespace, "/namespaces/"+url.PathEscape(q.Namespace))
}

func (u *UI) list(c *gin.Context, q index.Query, tmpl, heading, base string) {
	ctx := c.Request.Context()
	viewer, err := u.viewer(ctx, c)
	if err != nil {
		u.internal(c, err)
		return
	}
	q.Viewer = viewer
	if q.PerPage == 0 {
		q.PerPage = defaultPerPage
	}
	res, err := u.cfg.Index.Search(ctx, q)
	if err != nil {
		u.internal(c, err)
		return
	}
	cats, err := u.cfg.Index.Categories(ctx, viewer)
	if err != nil {
		u.internal(c, err)
		return
	}
	if len(cats) > 24 {
		cats = cats[:24]
	}
	title := heading
	if q.Text != "" {
		title = "Search: " + q.Text
	}
	status, kind := http.StatusOK, ""
	if tmpl == "namespace" {
		// An account or organisation with nothing published yet is a page;
		// an unknown name is not (unless something was pushed there while
		// the hub ran without accounts).
		kind, err = u.cfg.Auth.NamespaceKind(ctx, q.Namespace)
		if err != nil && !errors.Is(err, auth.ErrNotFound) {
			u.internal(c, err)
			return
		}
		if kind == "" && res.Total == 0 && q.Text == "" && q.Category == "" {
			status = http.StatusNotFound
		}
	}
	u.render(c, status, tmpl, page{Title: title, Query: q.Text, Data: exploreData{Results: res, Categories: cats, Q: q,
		Heading: heading, Namespace: q.Namespace, Kind: kind, Host: u.registryHost(c), Base: base}})
}

type filterData struct {
	F        *index.Detail
	Owner    bool // the viewer owns the namespace: show the visibility control
	README   template.HTML
	Fields   []SchemaField
	Snippets []Snippet
	Tag      string
	Host     string
}

func (u *UI) filter(c *gin.Context) {
	repo := strings.Trim(c.Param("repo"), "/")
	ctx := c.Request.Context()
	viewer, err := u.viewer(ctx, c)
	if err != nil {
		u.internal(c, err)
		return
	}
	d, err := u.cfg.Index.Get(ctx, repo, viewer)
	if errors.Is(err, index.ErrNotFound) {
		u.errorPage(c, http.StatusNotFound, "Filter not found",
			"No filter is published as "+strconv.Quote(repo)+". It may be private: log in as its owner to see it.")
		return
	}
	if err != nil {
		u.internal(c, err)
		return
	}
	host := u.registryHost(c)
	fd := filterData{F: d, README: renderMarkdown(d.README), Fields: schemaFields(d.Schema), Tag: d.LatestTag, Host: host,
		Owner: user(c) != "" && u.cfg.Auth.Owns(ctx, user(c), d.Namespace)}
	fd.Snippets = snippets(host, d.Repository, d.Name, d.LatestTag, d.Digest, d.Schema)
	u.render(c, http.StatusOK, "filter", page{Title: d.Repository, Data: fd})
}

// setVisibility makes a filter private or public (form fields repo and
// visibility), for the owners of its namespace, then shows the filter page
// again.
func (u *UI) setVisibility(c *gin.Context) {
	ctx := c.Request.Context()
	repo := strings.Trim(c.PostForm("repo"), "/")
	var private bool
	switch c.PostForm("visibility") {
	case "private":
		private = true
	case "public":
	default:
		u.errorPage(c, http.StatusBadRequest, "Bad request", "visibility must be \"private\" or \"public\".")
		return
	}
	viewer, err := u.viewer(ctx, c)
	if err != nil {
		u.internal(c, err)
		return
	}
	if _, err := u.cfg.Index.Get(ctx, repo, viewer); err != nil {
		if errors.Is(err, index.ErrNotFound) {
			u.errorPage(c, http.StatusNotFound, "Filter not found", "No filter is published as "+strconv.Quote(repo)+".")
			return
		}
		u.internal(c, err)
		return
	}
	err = u.cfg.Auth.SetPrivate(ctx, user(c), repo, private)
	if errors.Is(err, auth.ErrForbidden) {
		u.errorPage(c, http.StatusForbidden, "Not allowed",
			"Only the owners of the "+strconv.Quote(auth.Namespace(repo))+" namespace can change who sees "+repo+".")
		return
	}
	if err != nil {
		u.internal(c, err)
		return
	}
	c.Redirect(http.StatusSeeOther, "/filters/"+repo)
}

// ---- accounts ----

// safeNext keeps a post-login redirect on this site.
func safeNext(next string) string {
	if next == "" || !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.HasPrefix(next, "/\\") {
		return "/"
	}
	return next
}

type loginData struct {
	Name, Next string
}

func (u *UI) loginPage(c *gin.Context) {
	if user(c) != "" {
		c.Redirect(http.StatusSeeOther, safeNext(c.Query("next")))
		return
	}
	u.render(c, http.StatusOK, "login", page{Title: "Log in", Data: loginData{Next: safeNext(c.Query("next"))}})
}

func (u *UI) login(c *gin.Context) {
	name := strings.TrimSpace(c.PostForm("username"))
	next := safeNext(c.PostForm("next"))
	usr, err := u.cfg.Auth.Authenticate(c.Request.Context(), auth.ClientIP(c.Request), name, c.PostForm("password"))
	switch {
	case errors.Is(err, auth.ErrRateLimited):
		c.Header("Retry-After", "60")
		u.render(c, http.StatusTooManyRequests, "login", page{Title: "Log in",
			Error: "Too many failed logins. Wait a minute, then try again.", Data: loginData{Name: name, Next: next}})
		return
	case err != nil:
		u.render(c, http.StatusUnauthorized, "login", page{Title: "Log in",
			Error: "Wrong user name or password.", Data: loginData{Name: name, Next: next}})
		return
	}
	u.startSession(c, usr.Name)
	c.Redirect(http.StatusSeeOther, next)
}

func (u *UI) startSession(c *gin.Context, name string) {
	u.setCookie(c, sessionCookie, u.cfg.Auth.IssueSession(name, u.cfg.SessionTTL), int(u.cfg.SessionTTL.Seconds()), http.SameSiteLaxMode)
}

func (u *UI) logout(c *gin.Context) {
	u.clearCookie(c, sessionCookie)
	c.Redirect(http.StatusSeeOther, "/")
}

func (u *UI) signupPage(c *gin.Context) {
	if !u.cfg.Auth.SignupEnabled() {
		u.errorPage(c, http.StatusNotFound, "Sign-up is closed", "Ask an administrator of this hub for an account.")
		return
	}
	u.render(c, http.StatusOK, "signup", page{Title: "Sign up", Data: loginData{}})
}

func (u *UI) signup(c *gin.Context) {
	if !u.cfg.Auth.SignupEnabled() {
		u.errorPage(c, http.StatusNotFound, "Sign-up is closed", "Ask an administrator of this hub for an account.")
		return
	}
	name := strings.TrimSpace(c.PostForm("username"))
	pw := c.PostForm("password")
	fail := func(status int, msg string) {
		u.render(c, status, "signup", page{Title: "Sign up", Error: msg, Data: loginData{Name: name}})
	}
	if pw != c.PostForm("confirm") {
		fail(http.StatusBadRequest, "The two passwords differ.")
		return
	}
	// Sign-ups share the failed-login limiter so they cannot be used to
	// probe names or burn bcrypt time at full speed.
	lim := u.cfg.Auth.Limiter()
	key := "signup:" + auth.ClientIP(c.Request)
	if !lim.Allowed(key) {
		c.Header("Retry-After", "60")
		fail(http.StatusTooManyRequests, "Too many sign-up attempts. Wait a minute, then try again.")
		return
	}
	usr, err := u.cfg.Auth.SignUp(c.Request.Context(), name, strings.TrimSpace(c.PostForm("email")), pw)
	switch {
	case errors.Is(err, auth.ErrExists):
		lim.Fail(key)
		fail(http.StatusConflict, "That name is taken. Choose another.")
		return
	case errors.Is(err, auth.ErrInvalidName), errors.Is(err, auth.ErrWeakPassword):
		fail(http.StatusBadRequest, strings.TrimPrefix(err.Error(), "auth: "))
		return
	case err != nil:
		u.internal(c, err)
		return
	}
	u.startSession(c, usr.Name)
	c.Redirect(http.StatusSeeOther, "/settings/tokens")
}

type tokensData struct {
	Tokens []auth.Token
	Secret string
	Name   string
	Host   string
}

func (u *UI) tokensPage(c *gin.Context) {
	u.showTokens(c, http.StatusOK, "", "", "")
}

func (u *UI) showTokens(c *gin.Context, status int, secret, flash, errMsg string) {
	toks, err := u.cfg.Auth.Tokens(c.Request.Context(), user(c))
	if err != nil {
		u.internal(c, err)
		return
	}
	host := u.registryHost(c)
	// A page that shows a secret must never be cached or stored.
	c.Header("Cache-Control", "no-store")
	u.render(c, status, "tokens", page{Title: "Access tokens", Flash: flash, Error: errMsg,
		Data: tokensData{Tokens: toks, Secret: secret, Name: user(c), Host: host}})
}

func (u *UI) createToken(c *gin.Context) {
	name := strings.TrimSpace(c.PostForm("name"))
	if name == "" || len(name) > 64 {
		u.showTokens(c, http.StatusBadRequest, "", "", "Give the token a name of 1 to 64 characters (for example \"laptop\" or \"CI\").")
		return
	}
	var expires time.Time
	switch c.PostForm("expires") {
	case "30":
		expires = time.Now().Add(30 * 24 * time.Hour)
	case "90", "":
		expires = time.Now().Add(90 * 24 * time.Hour)
	case "365":
		expires = time.Now().Add(365 * 24 * time.Hour)
	case "never":
	default:
		u.showTokens(c, http.StatusBadRequest, "", "", "Choose an expiry from the list.")
		return
	}
	secret, _, err := u.cfg.Auth.CreateToken(c.Request.Context(), user(c), name, expires)
	if err != nil {
		u.internal(c, err)
		return
	}
	u.showTokens(c, http.StatusCreated, secret, "Token "+strconv.Quote(name)+" created.", "")
}

func (u *UI) revokeToken(c *gin.Context) {
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err == nil {
		err = u.cfg.Auth.RevokeToken(c.Request.Context(), user(c), id)
	}
	if errors.Is(err, auth.ErrNotFound) || (err != nil && id == 0) {
		u.showTokens(c, http.StatusNotFound, "", "", "No such token.")
		return
	}
	if err != nil {
		u.internal(c, err)
		return
	}
	u.showTokens(c, http.StatusOK, "", "Token revoked. Clients using it can no longer log in.", "")
}

// ---- helpers ----

func humanSize(n int64) string {
	switch {
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}

func ago(t time.Time) string {
	d := time.Since(t)
	switch {
	case d < time.Minute:
		return "just now"
	case d < time.Hour:
		return plural(int(d/time.Minute), "minute") + " ago"
	case d < 48*time.Hour:
		return plural(int(d/time.Hour), "hour") + " ago"
	case d < 60*24*time.Hour:
		return plural(int(d/(24*time.Hour)), "day") + " ago"
	}
	return t.UTC().Format("2 Jan 2006")
}

func plural(n int, unit string) string {
	if n == 1 {
		return "1 " + unit
	}
	return strconv.Itoa(n) + " " + unit + "s"
}

// pageURL builds a listing URL on base keeping the query, category and
// sort, with page set (and key=value overriding one parameter).
// defaultPerPage is the number of results on a page of the UI.
const defaultPerPage = 20

func pageURL(base string, q index.Query, page int, kv ...string) string {
	v := url.Values{}
	if q.Text != "" {
		v.Set("q", q.Text)
	}
	if q.Category != "" {
		v.Set("category", q.Category)
	}
	if q.Sort != "" && q.Sort != index.SortRelevance {
		v.Set("sort", string(q.Sort))
	}
	if page > 1 {
		v.Set("page", strconv.Itoa(page))
	}
	if q.PerPage != 0 && q.PerPage != defaultPerPage {
		v.Set("per_page", strconv.Itoa(q.PerPage))
	}
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] == "" {
			v.Del(kv[i])
		} else {
			v.Set(kv[i], kv[i+1])
		}
	}
	if len(v) == 0 {
		return base
	}
	return base + "?" + v.Encode()
}
