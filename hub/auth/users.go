package auth

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"golang.org/x/crypto/bcrypt"
)

// User is a hub account.
type User struct {
	ID      int64
	Name    string
	Email   string
	Admin   bool
	Created time.Time
}

// UserOptions are the optional fields of [Service.CreateUser].
type UserOptions struct {
	Email string
	Admin bool
}

// CreateUser adds an account and its namespace. The name must satisfy
// [ValidName] and not be taken by a user or organisation; the password must
// have at least 8 characters.
func (s *Service) CreateUser(ctx context.Context, name, password string, opts UserOptions) (User, error) {
	defer s.cache.clear()
	if !ValidName(name) || reserved[name] {
		return User{}, fmt.Errorf("%w (got %q)", ErrInvalidName, name)
	}
	if len(password) < 8 {
		return User{}, ErrWeakPassword
	}
	hash, err := bcrypt.GenerateFromPassword([]byte(password), s.cfg.BcryptCost)
	if err != nil {
		return User{}, fmt.Errorf("auth: hash password: %w", err)
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return User{}, err
	}
	defer tx.Rollback()
	created := now()
	if _, err := tx.ExecContext(ctx, s.db.Rebind(`INSERT INTO auth_namespaces (name, kind, created_at) VALUES (?, 'user', ?)`), name, created); err != nil {
		if s.nameTaken(ctx, name) {
			return User{}, fmt.Errorf("%w: %q", ErrExists, name)
		}
		return User{}, fmt.Errorf("auth: create namespace: %w", err)
	}
	admin := 0
	if opts.Admin {
		admin = 1
	}
	if _, err := tx.ExecContext(ctx, s.db.Rebind(`INSERT INTO auth_users (name, email, password_hash, admin, created_at) VALUES (?, ?, ?, ?, ?)`),
		name, opts.Email, string(hash), admin, created); err != nil {
		return User{}, fmt.Errorf("auth: create user: %w", err)
	}
	if err := tx.Commit(); err != nil {
		if s.nameTaken(ctx, name) {
			return User{}, fmt.Errorf("%w: %q", ErrExists, name)
		}
		return User{}, err
	}
	return s.User(ctx, name)
}

// SignUp is [Service.CreateUser] for the web UI's sign-up form: it fails
// with [ErrSignupDisabled] unless sign-up is enabled, and never creates
// admins.
func (s *Service) SignUp(ctx context.Context, name, email, password string) (User, error) {
	if !s.cfg.Signup {
		return User{}, ErrSignupDisabled
	}
	return s.CreateUser(ctx, name, password, UserOptions{Email: email})
}

func (s *Service) nameTaken(ctx context.Context, name string) bool {
	var n int
	s.db.QueryRowContext(ctx, s.db.Rebind(`SELECT COUNT(*) FROM auth_namespaces WHERE name = ?`), name).Scan(&n)
	return n > 0
}

// User returns the account called name, or [ErrNotFound].
func (s *Service) User(ctx context.Context, name string) (User, error) {
	var u User
	var admin int
	var created string
	err := s.db.QueryRowContext(ctx, s.db.Rebind(`SELECT id, name, email, admin, created_at FROM auth_users WHERE name = ?`), name).
		Scan(&u.ID, &u.Name, &u.Email, &admin, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return User{}, fmt.Errorf("%w: user %q", ErrNotFound, name)
	}
	if err != nil {
		return User{}, fmt.Errorf("auth: read user: %w", err)
	}
	u.Admin = admin != 0
	u.Created = parseTime(created)
	return u, nil
}

// Users lists every account, by name.
func (s *Service) Users(ctx context.Context) ([]User, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT id, name, email, admin, created_at FROM auth_users ORDER BY name`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []User
	for rows.Next() {
		var u User
		var admin int
		var created string
		if err := rows.Scan(&u.ID, &u.Name, &u.Email, &admin, &created); err != nil {
			return nil, err
		}
		u.Admin, u.Created = admin != 0, parseTime(created)
		out = append(out, u)
	}
	return out, rows.Err()
}

// SetPassword replaces a user's password.
func (s *Service) SetPassword(ctx context.Context, name, password string) error {
	if len(password) < 8 {
		return ErrWeakPassword
	}
	hash, err := bcrypt.GenerateFromPassword([]byte(password), s.cfg.BcryptCost)
	if err != nil {
		return err
	}
	res, err := s.db.ExecContext(ctx, s.db.Rebind(`UPDATE auth_users SET password_hash = ? WHERE name = ?`), string(hash), name)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("%w: user %q", ErrNotFound, name)
	}
	s.forgetBasic()
	return nil
}

// Authenticate checks a user name with a password or a personal access
// token and returns the account. A token is recognised by its "whp_"
// prefix; with a token the user name may be empty. Failures count against
// the [Limiter] under client (an IP address, or "" for none) and the user
// name: past the limit every attempt fails with [ErrRateLimited] until the
// window passes, right credentials included.
func (s *Service) Authenticate(ctx context.Context, client, name, secret string) (User, error) {
	keys := []string{"ip:" + client, "user:" + name}
	if client == "" {
		keys = keys[1:]
	}
	for _, k := range keys {
		if !s.limiter.Allowed(k) {
			return User{}, ErrRateLimited
		}
	}
	u, err := s.verify(ctx, name, secret)
	if err != nil {
		if errors.Is(err, ErrInvalidCredentials) {
			for _, k := range keys {
				s.limiter.Fail(k)
			}
		}
		return User{}, err
	}
	return u, nil
}

func (s *Service) verify(ctx context.Context, name, secret string) (User, error) {
	if strings.HasPrefix(secret, tokenPrefix) {
		owner, err := s.checkToken(ctx, secret)
		if err != nil {
			return User{}, err
		}
		if name != "" && name != owner {
			return User{}, ErrInvalidCredentials
		}
		return s.User(ctx, owner)
	}
	var hash string
	err := s.db.QueryRowContext(ctx, s.db.Rebind(`SELECT password_hash FROM auth_users WHERE name = ?`), name).Scan(&hash)
	if errors.Is(err, sql.ErrNoRows) {
		// Spend the same time as a wrong password, so timing does not
		// reveal which names exist.
		bcrypt.CompareHashAndPassword(dummyHash, []byte(secret))
		return User{}, ErrInvalidCredentials
	}
	if err != nil {
		return User{}, fmt.Errorf("auth: read user: %w", err)
	}
	if bcrypt.CompareHashAndPassword([]byte(hash), []byte(secret)) != nil {
		return User{}, ErrInvalidCredentials
	}
	return s.User(ctx, name)
}

var dummyHash, _ = bcrypt.GenerateFromPassword([]byte("not a password of anyone"), bcrypt.MinCost)

// authenticateBasic is [Service.Authenticate] with a short in-memory cache
// of verified credentials, so that clients sending basic auth on every
// registry request do not pay for bcrypt each time.
func (s *Service) authenticateBasic(ctx context.Context, client, name, secret string) (User, error) {
	k := sha256.Sum256([]byte(name + "\x00" + secret))
	s.mu.Lock()
	e, ok := s.basicSeen[k]
	s.mu.Unlock()
	if ok && time.Now().Before(e.expires) && subtle.ConstantTimeCompare([]byte(e.user), []byte(name)) == 1 && !strings.HasPrefix(secret, tokenPrefix) {
		return s.User(ctx, name)
	}
	u, err := s.Authenticate(ctx, client, name, secret)
	if err != nil {
		return u, err
	}
	if !strings.HasPrefix(secret, tokenPrefix) {
		s.mu.Lock()
		if len(s.basicSeen) > 10000 {
			clear(s.basicSeen)
		}
		s.basicSeen[k] = basicEntry{user: name, expires: time.Now().Add(time.Minute)}
		s.mu.Unlock()
	}
	return u, nil
}

func (s *Service) forgetBasic() {
	s.mu.Lock()
	clear(s.basicSeen)
	s.mu.Unlock()
}
