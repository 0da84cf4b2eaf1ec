package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/base32"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"
)

// tokenPrefix starts every personal access token, so that secret scanners
// and [Service.Authenticate] can tell tokens from passwords.
const tokenPrefix = "whp_"

// Token describes a personal access token. The secret itself is shown once,
// by [Service.CreateToken], and stored only as a SHA-256 hash.
type Token struct {
	ID   int64
	User string
	// Name is the label the user gave the token ("laptop", "CI").
	Name string
	// Prefix is the start of the secret, to recognise it in a list.
	Prefix   string
	Created  time.Time
	LastUsed time.Time // zero if never used
	Expires  time.Time // zero if it never expires
}

// CreateToken makes a personal access token for user, valid until expires
// (zero: forever), and returns its secret (shown once) and description. The
// secret works wherever the password does: registry logins, basic auth,
// the token endpoint.
func (s *Service) CreateToken(ctx context.Context, user, name string, expires time.Time) (string, Token, error) {
	if _, err := s.User(ctx, user); err != nil {
		return "", Token{}, err
	}
	name = strings.TrimSpace(name)
	if name == "" || len(name) > 100 {
		return "", Token{}, errors.New("auth: token name must have 1 to 100 characters")
	}
	raw := make([]byte, 20)
	rand.Read(raw)
	secret := tokenPrefix + strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(raw))
	t := Token{User: user, Name: name, Prefix: secret[:len(tokenPrefix)+6], Created: time.Now().UTC(), Expires: expires}
	exp := ""
	if !expires.IsZero() {
		exp = expires.UTC().Format(time.RFC3339Nano)
	}
	err := s.db.QueryRowContext(ctx, s.db.Rebind(`INSERT INTO auth_tokens (user_name, name, hash, prefix, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?) RETURNING id`),
		user, name, hashToken(secret), t.Prefix, t.Created.Format(time.RFC3339Nano), exp).Scan(&t.ID)
	if err != nil {
		return "", Token{}, fmt.Errorf("auth: store token: %w", err)
	}
	return secret, t, nil
}

// Tokens lists user's personal access tokens, newest first.
func (s *Service) Tokens(ctx context.Context, user string) ([]Token, error) {
	rows, err := s.db.QueryContext(ctx, s.db.Rebind(`SELECT id, user_name, name, prefix, created_at, last_used_at, expires_at FROM auth_tokens WHERE user_name = ? ORDER BY id DESC`), user)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Token
	for rows.Next() {
		var t Token
		var c, l, e string
		if err := rows.Scan(&t.ID, &t.User, &t.Name, &t.Prefix, &c, &l, &e); err != nil {
			return nil, err
		}
		t.Created, t.LastUsed, t.Expires = parseTime(c), parseTime(l), parseTime(e)
		out = append(out, t)
	}
	return out, rows.Err()
}

// RevokeToken deletes user's token id. It fails with [ErrNotFound] when the
// token does not exist or belongs to someone else.
func (s *Service) RevokeToken(ctx context.Context, user string, id int64) error {
	res, err := s.db.ExecContext(ctx, s.db.Rebind(`DELETE FROM auth_tokens WHERE id = ? AND user_name = ?`), id, user)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("%w: token %d of %q", ErrNotFound, id, user)
	}
	return nil
}

// checkToken returns the owner of a valid token secret.
func (s *Service) checkToken(ctx context.Context, secret string) (string, error) {
	var id int64
	var user, exp, last string
	err := s.db.QueryRowContext(ctx, s.db.Rebind(`SELECT id, user_name, expires_at, last_used_at FROM auth_tokens WHERE hash = ?`), hashToken(secret)).Scan(&id, &user, &exp, &last)
	if errors.Is(err, sql.ErrNoRows) {
		return "", ErrInvalidCredentials
	}
	if err != nil {
		return "", fmt.Errorf("auth: read token: %w", err)
	}
	if exp != "" && time.Now().After(parseTime(exp)) {
		return "", ErrInvalidCredentials
	}
	// Record use at most once a minute, to keep reads cheap.
	if l := parseTime(last); time.Since(l) > time.Minute {
		s.db.ExecContext(ctx, s.db.Rebind(`UPDATE auth_tokens SET last_used_at = ? WHERE id = ?`), now(), id)
	}
	return user, nil
}

func hashToken(secret string) string {
	h := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(h[:])
}
