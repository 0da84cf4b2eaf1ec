// Package auth holds the hub's accounts and access rules: users with bcrypt
// passwords, personal access tokens, namespaces (a user owns the namespace
// of their name; organisations own theirs and list their members),
// repository visibility, the permission checks every front end shares, the
// Docker registry token flow for the OCI API, signed web sessions and login
// rate limiting.
//
// The rules are:
//   - anyone, anonymous included, may pull a public repository;
//   - only the owner of a repository's namespace (the user of that name, or
//     a member of that organisation) and site admins may push to or delete
//     from it;
//   - a private repository is visible to and pullable by its owners only;
//     to anyone else it looks exactly like a repository that does not exist.
package auth

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/wasmctl/wasmctl/hub/db"
)

// Sentinel errors. Test them with errors.Is.
var (
	// ErrInvalidCredentials means the user name, password or token is wrong.
	ErrInvalidCredentials = errors.New("auth: invalid user name, password or token")
	// ErrRateLimited means too many failed logins came from this client or
	// for this user; wait and retry.
	ErrRateLimited = errors.New("auth: too many failed logins, wait a minute and retry")
	// ErrExists means the user or namespace name is taken.
	ErrExists = errors.New("auth: name already taken")
	// ErrNotFound means no such user, token, organisation or repository.
	ErrNotFound = errors.New("auth: not found")
	// ErrInvalidName means a user, organisation or repository name breaks
	// the naming rules (see [ValidName]).
	ErrInvalidName = errors.New("auth: invalid name: use 2 to 64 lowercase letters, digits and single '-', '_' or '.' between them")
	// ErrWeakPassword means the password is shorter than 8 characters.
	ErrWeakPassword = errors.New("auth: password too short: use at least 8 characters")
	// ErrForbidden means the user is authenticated but may not do this.
	ErrForbidden = errors.New("auth: permission denied")
	// ErrSignupDisabled means self-service sign-up is switched off.
	ErrSignupDisabled = errors.New("auth: sign-up is disabled on this hub; ask an administrator to run 'wasmctl hub user add'")
)

// Config tunes a [Service]. The zero value is usable: auth enabled, sign-up
// off, 5-minute registry tokens, bcrypt's default cost.
type Config struct {
	// Disabled turns every check off: anonymous users may push anywhere.
	// Use it only for throwaway local hubs.
	Disabled bool
	// Signup allows anyone to create an account from the web UI.
	Signup bool
	// DefaultPrivate makes repositories created by a first push private.
	DefaultPrivate bool
	// Service is the "service" name in registry tokens and challenges
	// (default "wasmctl-hub").
	Service string
	// Realm is the absolute URL of the token endpoint announced in
	// WWW-Authenticate challenges. Empty means "<scheme>://<Host>/token" of
	// each request.
	Realm string
	// SigningKey signs registry tokens and web sessions (HMAC-SHA256, at
	// least 32 bytes). Empty means [LoadOrCreateKey] in KeyDir.
	SigningKey []byte
	// KeyDir is where the signing key file lives when SigningKey is empty.
	KeyDir string
	// TokenTTL is the lifetime of registry tokens (default 5 minutes).
	TokenTTL time.Duration
	// BcryptCost is the bcrypt work factor (default bcrypt.DefaultCost;
	// tests use bcrypt.MinCost).
	BcryptCost int
	// Limiter limits failed logins; nil means [NewLimiter](5, time.Minute).
	Limiter *Limiter
	// CacheTTL is how long access answers (repository visibility,
	// namespace ownership) are remembered (default 2 s). Changes made
	// through this Service apply at once; changes made by another hub
	// process sharing the database apply within CacheTTL. Negative
	// disables the cache.
	CacheTTL time.Duration
}

// Service is the hub's account store and access policy. It is safe for
// concurrent use.
type Service struct {
	db      *db.DB
	cfg     Config
	key     []byte
	limiter *Limiter

	mu        sync.Mutex
	basicSeen map[[32]byte]basicEntry // verified basic credentials, to skip bcrypt on every request
	visHooks  []func(ctx context.Context, repo string, private bool) error
	cache     *ttlCache // recent access answers, so registry requests rarely hit the database
}

type basicEntry struct {
	user    string
	expires time.Time
}

// New migrates the auth tables in d and returns the service.
func New(ctx context.Context, d *db.DB, cfg Config) (*Service, error) {
	if cfg.Service == "" {
		cfg.Service = "wasmctl-hub"
	}
	if cfg.TokenTTL <= 0 {
		cfg.TokenTTL = 5 * time.Minute
	}
	if cfg.BcryptCost == 0 {
		cfg.BcryptCost = bcrypt.DefaultCost
	}
	key := cfg.SigningKey
	if len(key) == 0 {
		var err error
		if key, err = LoadOrCreateKey(cfg.KeyDir); err != nil {
			return nil, err
		}
	}
	if len(key) < 32 {
		return nil, fmt.Errorf("auth: signing key is %d bytes, want at least 32", len(key))
	}
	lim := cfg.Limiter
	if lim == nil {
		lim = NewLimiter(5, time.Minute)
	}
	if err := d.Migrate(ctx, "auth", migrations(d.Dialect)); err != nil {
		return nil, err
	}
	return &Service{db: d, cfg: cfg, key: key, limiter: lim, basicSeen: map[[32]byte]basicEntry{}, cache: newTTLCache(cfg.CacheTTL)}, nil
}

// Enabled reports whether access checks are on.
func (s *Service) Enabled() bool { return !s.cfg.Disabled }

// SignupEnabled reports whether the web UI may offer a sign-up form.
func (s *Service) SignupEnabled() bool { return s.cfg.Signup }

// Limiter returns the failed-login limiter shared by every login path
// (registry token endpoint, basic auth on /v2/, web login form).
func (s *Service) Limiter() *Limiter { return s.limiter }

// KeyFile is the name of the signing key file under the data directory.
const KeyFile = "signing.key"

// LoadOrCreateKey reads the signing key stored in dir/[KeyFile], creating a
// random 32-byte key (mode 0600) when the file is absent.
func LoadOrCreateKey(dir string) ([]byte, error) {
	if dir == "" {
		return nil, errors.New("auth: no signing key and no directory to keep one in: set Config.SigningKey or Config.KeyDir")
	}
	path := filepath.Join(dir, KeyFile)
	b, err := os.ReadFile(path)
	if err == nil {
		if len(b) < 32 {
			return nil, fmt.Errorf("auth: signing key %s is %d bytes, want at least 32 (delete it to generate a new one; existing tokens and sessions become invalid)", path, len(b))
		}
		return b, nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("auth: read signing key: %w", err)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("auth: create key directory: %w", err)
	}
	key := make([]byte, 32)
	rand.Read(key)
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, os.ErrExist) {
		return LoadOrCreateKey(dir) // another process won the race
	}
	if err != nil {
		return nil, fmt.Errorf("auth: create signing key: %w", err)
	}
	if _, err := f.Write(key); err != nil {
		f.Close()
		return nil, fmt.Errorf("auth: write signing key: %w", err)
	}
	return key, f.Close()
}

var nameRE = regexp.MustCompile(`^[a-z0-9]+(?:[._-][a-z0-9]+)*$`)

// ValidName reports whether name may be a user or organisation name (and so
// a namespace): 2 to 64 lowercase letters and digits, with single '.', '_'
// or '-' between them, matching the OCI repository path component rules.
func ValidName(name string) bool {
	return len(name) >= 2 && len(name) <= 64 && nameRE.MatchString(name)
}

// reserved names would shadow hub routes or confuse clients.
var reserved = map[string]bool{
	"v2": true, "api": true, "token": true, "login": true, "logout": true, "signup": true,
	"settings": true, "static": true, "assets": true, "explore": true, "search": true,
	"admin": true, "library": true, "_catalog": true, "health": true, "healthz": true,
}

// Namespace returns the namespace of a repository name: its first path
// component ("alice" for "alice/filters/auth").
func Namespace(repo string) string {
	ns, _, _ := strings.Cut(repo, "/")
	return ns
}

func migrations(d db.Dialect) []db.Migration {
	return []db.Migration{{Version: 1, SQL: fmt.Sprintf(`
CREATE TABLE auth_users (
	id %[1]s,
	name TEXT NOT NULL UNIQUE,
	email TEXT NOT NULL DEFAULT '',
	password_hash TEXT NOT NULL,
	admin INTEGER NOT NULL DEFAULT 0,
	created_at TEXT NOT NULL
);
CREATE TABLE auth_namespaces (
	name TEXT PRIMARY KEY,
	kind TEXT NOT NULL,
	created_at TEXT NOT NULL
);
CREATE TABLE auth_members (
	namespace TEXT NOT NULL,
	user_name TEXT NOT NULL,
	role TEXT NOT NULL DEFAULT 'owner',
	PRIMARY KEY (namespace, user_name)
);
CREATE INDEX auth_members_user ON auth_members(user_name);
CREATE TABLE auth_tokens (
	id %[1]s,
	user_name TEXT NOT NULL,
	name TEXT NOT NULL,
	hash TEXT NOT NULL UNIQUE,
	prefix TEXT NOT NULL,
	created_at TEXT NOT NULL,
	last_used_at TEXT NOT NULL DEFAULT '',
	expires_at TEXT NOT NULL DEFAULT ''
);
CREATE INDEX auth_tokens_user ON auth_tokens(user_name);
CREATE TABLE auth_repositories (
	name TEXT PRIMARY KEY,
	namespace TEXT NOT NULL,
	private INTEGER NOT NULL DEFAULT 0,
	created_at TEXT NOT NULL
);
CREATE INDEX auth_repositories_ns ON auth_repositories(namespace);
`, d.AutoID())}}
}

func now() string { return time.Now().UTC().Format(time.RFC3339Nano) }

func parseTime(s string) time.Time {
	t, _ := time.Parse(time.RFC3339Nano, s)
	return t
}
