package auth

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"strings"
	"time"
)

// claims is the payload of a registry token (the Docker token
// specification's JWT claim set) or a web session.
type claims struct {
	Issuer    string           `json:"iss"`
	Subject   string           `json:"sub"`
	Audience  string           `json:"aud"`
	Expires   int64            `json:"exp"`
	NotBefore int64            `json:"nbf"`
	IssuedAt  int64            `json:"iat"`
	ID        string           `json:"jti"`
	Access    []ResourceAccess `json:"access"`
}

// ResourceAccess is one granted scope of a registry token.
type ResourceAccess struct {
	Type    string   `json:"type"`
	Name    string   `json:"name"`
	Actions []string `json:"actions"`
}

const issuer = "wasmctl-hub"

var jwtHeader = base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"HS256","typ":"JWT"}`))

// sign returns an HS256 JWT of c.
func (s *Service) sign(c claims) string {
	body, _ := json.Marshal(c)
	msg := jwtHeader + "." + base64.RawURLEncoding.EncodeToString(body)
	mac := hmac.New(sha256.New, s.key)
	mac.Write([]byte(msg))
	return msg + "." + base64.RawURLEncoding.EncodeToString(mac.Sum(nil))
}

var errBadToken = errors.New("auth: invalid or expired token")

// parse verifies a JWT made by sign for audience aud and returns its claims.
func (s *Service) parse(tok, aud string) (claims, error) {
	parts := strings.Split(tok, ".")
	if len(parts) != 3 || parts[0] != jwtHeader {
		return claims{}, errBadToken
	}
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil {
		return claims{}, errBadToken
	}
	mac := hmac.New(sha256.New, s.key)
	mac.Write([]byte(parts[0] + "." + parts[1]))
	if !hmac.Equal(sig, mac.Sum(nil)) {
		return claims{}, errBadToken
	}
	body, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return claims{}, errBadToken
	}
	var c claims
	if err := json.Unmarshal(body, &c); err != nil {
		return claims{}, errBadToken
	}
	t := time.Now().Unix()
	if c.Issuer != issuer || c.Audience != aud || t >= c.Expires || t+30 < c.NotBefore {
		return claims{}, errBadToken
	}
	return c, nil
}

func newID() string {
	b := make([]byte, 12)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// sessionAudience marks web session tokens, so a registry token can never
// be used as a session cookie and the reverse.
const sessionAudience = "wasmctl-hub-web"

// IssueSession returns a signed session value for user, valid for ttl, for
// the web UI's session cookie. Store it HttpOnly, SameSite=Lax.
func (s *Service) IssueSession(user string, ttl time.Duration) string {
	t := time.Now()
	return s.sign(claims{Issuer: issuer, Subject: user, Audience: sessionAudience,
		IssuedAt: t.Unix(), NotBefore: t.Unix(), Expires: t.Add(ttl).Unix(), ID: newID()})
}

// ParseSession verifies a value made by [Service.IssueSession] and returns
// the session's user and its id (use the id to derive a CSRF token).
func (s *Service) ParseSession(value string) (user, id string, err error) {
	c, err := s.parse(value, sessionAudience)
	if err != nil {
		return "", "", err
	}
	return c.Subject, c.ID, nil
}

// CSRFToken derives the anti-forgery token of a session id: embed it in
// forms and compare with [Service.CheckCSRF].
func (s *Service) CSRFToken(sessionID string) string {
	mac := hmac.New(sha256.New, s.key)
	mac.Write([]byte("csrf\x00" + sessionID))
	return base64.RawURLEncoding.EncodeToString(mac.Sum(nil))
}

// CheckCSRF reports whether token is the anti-forgery token of sessionID.
func (s *Service) CheckCSRF(sessionID, token string) bool {
	return sessionID != "" && hmac.Equal([]byte(s.CSRFToken(sessionID)), []byte(token))
}
