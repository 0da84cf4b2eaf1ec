package auth

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// Action is something done to a repository.
type Action string

// The actions of the Docker registry token scope grammar.
const (
	Pull   Action = "pull"
	Push   Action = "push"
	Delete Action = "delete"
)

// Org is an organisation: a namespace owned by its members.
type Org struct {
	Name    string
	Members []string
	Created time.Time
}

// CreateOrg creates organisation name with owner as its first member.
func (s *Service) CreateOrg(ctx context.Context, name, owner string) error {
	defer s.cache.clear()
	if !ValidName(name) || reserved[name] {
		return fmt.Errorf("%w (got %q)", ErrInvalidName, name)
	}
	if _, err := s.User(ctx, owner); err != nil {
		return err
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, s.db.Rebind(`INSERT INTO auth_namespaces (name, kind, created_at) VALUES (?, 'org', ?)`), name, now()); err != nil {
		if s.nameTaken(ctx, name) {
			return fmt.Errorf("%w: %q", ErrExists, name)
		}
		return err
	}
	if _, err := tx.ExecContext(ctx, s.db.Rebind(`INSERT INTO auth_members (namespace, user_name, role) VALUES (?, ?, 'owner')`), name, owner); err != nil {
		return err
	}
	return tx.Commit()
}

// AddMember makes user a member of organisation org. Members may push to
// and see everything in the organisation's namespace.
func (s *Service) AddMember(ctx context.Context, org, user string) error {
	defer s.cache.clear()
	if kind, _ := s.namespaceKind(ctx, org); kind != "org" {
		return fmt.Errorf("%w: organisation %q", ErrNotFound, org)
	}
	if _, err := s.User(ctx, user); err != nil {
		return err
	}
	_, err := s.db.ExecContext(ctx, s.db.Rebind(`INSERT INTO auth_members (namespace, user_name, role) VALUES (?, ?, 'owner') ON CONFLICT DO NOTHING`), org, user)
	return err
}

// RemoveMember removes user from organisation org.
func (s *Service) RemoveMember(ctx context.Context, org, user string) error {
	defer s.cache.clear()
	_, err := s.db.ExecContext(ctx, s.db.Rebind(`DELETE FROM auth_members WHERE namespace = ? AND user_name = ?`), org, user)
	return err
}

// Orgs lists the organisations user belongs to.
func (s *Service) Orgs(ctx context.Context, user string) ([]string, error) {
	rows, err := s.db.QueryContext(ctx, s.db.Rebind(`SELECT namespace FROM auth_members WHERE user_name = ? ORDER BY namespace`), user)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			return nil, err
		}
		out = append(out, n)
	}
	return out, rows.Err()
}

// NamespaceKind reports what owns namespace ns: "user" for an account's own
// namespace, "org" for an organisation. A name nobody has claimed gives
// [ErrNotFound].
func (s *Service) NamespaceKind(ctx context.Context, ns string) (string, error) {
	return s.namespaceKind(ctx, ns)
}

func (s *Service) namespaceKind(ctx context.Context, ns string) (string, error) {
	var kind string
	err := s.db.QueryRowContext(ctx, s.db.Rebind(`SELECT kind FROM auth_namespaces WHERE name = ?`), ns).Scan(&kind)
	if errors.Is(err, sql.ErrNoRows) {
		return "", ErrNotFound
	}
	return kind, err
}

// Owns reports whether user may write to namespace ns: it is the user's own
// namespace, the user is a member of the organisation ns, or the user is a
// site admin. The empty user (anonymous) owns nothing.
func (s *Service) Owns(ctx context.Context, user, ns string) bool {
	if user == "" {
		return false
	}
	if user == ns {
		return true
	}
	key := "owns\x00" + user + "\x00" + ns
	if v, ok := s.cache.get(key); ok {
		return v
	}
	var n int
	s.db.QueryRowContext(ctx, s.db.Rebind(`SELECT
		(SELECT COUNT(*) FROM auth_members WHERE namespace = ? AND user_name = ?) +
		(SELECT COUNT(*) FROM auth_users WHERE name = ? AND admin = 1)`), ns, user, user).Scan(&n)
	s.cache.put(key, n > 0)
	return n > 0
}

// Repository is a repository's access record.
type Repository struct {
	Name      string
	Namespace string
	Private   bool
	Created   time.Time
}

// RepositoryCreated records repository repo (on its first push) with the
// default visibility. It does nothing when the repository is known.
func (s *Service) RepositoryCreated(ctx context.Context, repo string) error {
	private := 0
	if s.cfg.DefaultPrivate {
		private = 1
	}
	_, err := s.db.ExecContext(ctx, s.db.Rebind(`INSERT INTO auth_repositories (name, namespace, private, created_at) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING`),
		repo, Namespace(repo), private, now())
	return err
}

// SetPrivate changes repo's visibility on behalf of user, who must own its
// namespace ([ErrForbidden] otherwise). The repository need not have been
// pushed yet: making a name private before the first push keeps it hidden
// from the start.
func (s *Service) SetPrivate(ctx context.Context, user, repo string, private bool) error {
	if s.Enabled() && !s.Owns(ctx, user, Namespace(repo)) {
		return ErrForbidden
	}
	return s.SetVisibility(ctx, repo, private)
}

// SetVisibility changes repo's visibility without a permission check, for
// administrators ('wasmctl hub repo private').
func (s *Service) SetVisibility(ctx context.Context, repo string, private bool) error {
	defer s.cache.clear()
	p := 0
	if private {
		p = 1
	}
	_, err := s.db.ExecContext(ctx, s.db.Rebind(`INSERT INTO auth_repositories (name, namespace, private, created_at) VALUES (?, ?, ?, ?)
		ON CONFLICT (name) DO UPDATE SET private = excluded.private`), repo, Namespace(repo), p, now())
	if err != nil {
		return err
	}
	s.mu.Lock()
	hooks := s.visHooks
	s.mu.Unlock()
	for _, h := range hooks {
		if err := h(ctx, repo, private); err != nil {
			return fmt.Errorf("auth: visibility of %s changed but a listener failed: %w", repo, err)
		}
	}
	return nil
}

// OnVisibilityChange registers fn to be called after every successful
// [Service.SetPrivate], so that copies of the flag (the search index)
// follow it.
func (s *Service) OnVisibilityChange(fn func(ctx context.Context, repo string, private bool) error) {
	s.mu.Lock()
	s.visHooks = append(s.visHooks, fn)
	s.mu.Unlock()
}

// Private reports whether repo is private. Unknown repositories are public
// unless [Config.DefaultPrivate] is set.
func (s *Service) Private(ctx context.Context, repo string) bool {
	key := "private\x00" + repo
	if v, ok := s.cache.get(key); ok {
		return v
	}
	var p int
	err := s.db.QueryRowContext(ctx, s.db.Rebind(`SELECT private FROM auth_repositories WHERE name = ?`), repo).Scan(&p)
	if errors.Is(err, sql.ErrNoRows) {
		s.cache.put(key, s.cfg.DefaultPrivate)
		return s.cfg.DefaultPrivate
	}
	if err != nil {
		return true // fail closed, and do not remember the failure
	}
	s.cache.put(key, p != 0)
	return p != 0
}

// RepositoryDeleted forgets repo's access record.
func (s *Service) RepositoryDeleted(ctx context.Context, repo string) error {
	defer s.cache.clear()
	_, err := s.db.ExecContext(ctx, s.db.Rebind(`DELETE FROM auth_repositories WHERE name = ?`), repo)
	return err
}

// Can reports whether user ("" for anonymous) may do action on repo under
// the hub's rules. With auth disabled everything is allowed.
func (s *Service) Can(ctx context.Context, user, repo string, action Action) bool {
	if !s.Enabled() {
		return true
	}
	switch action {
	case Pull:
		return !s.Private(ctx, repo) || s.Owns(ctx, user, Namespace(repo))
	case Push, Delete:
		return s.Owns(ctx, user, Namespace(repo))
	}
	return false
}

// CanSee reports whether user may know that repo exists (list it, show its
// page, return it in search results). It is the same as pulling.
func (s *Service) CanSee(ctx context.Context, user, repo string) bool {
	return s.Can(ctx, user, repo, Pull)
}

// VisibleNamespaces returns the namespaces whose private repositories user
// may see (their own and their organisations'), for index queries that
// filter in SQL: a repository is visible when it is public or its namespace
// is in this list.
func (s *Service) VisibleNamespaces(ctx context.Context, user string) ([]string, error) {
	if user == "" {
		return nil, nil
	}
	orgs, err := s.Orgs(ctx, user)
	if err != nil {
		return nil, err
	}
	return append([]string{user}, orgs...), nil
}
