// Package db opens the hub's SQL database and applies each package's schema
// migrations. The hub runs on one machine with an embedded SQLite file
// (modernc.org/sqlite, pure Go, WAL journal, busy timeout) and beyond one
// machine on PostgreSQL (github.com/jackc/pgx/v5 through database/sql). The
// packages that keep tables (hub/auth, hub/index) write their SQL once with
// "?" placeholders and let [DB.Rebind] translate them for the dialect.
package db

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" database/sql driver
	_ "modernc.org/sqlite"             // registers the "sqlite" database/sql driver
)

// Dialect names the SQL engine behind a [DB].
type Dialect int

const (
	// SQLite is the embedded default (modernc.org/sqlite).
	SQLite Dialect = iota
	// Postgres is PostgreSQL through pgx.
	Postgres
)

// String returns "sqlite" or "postgres".
func (d Dialect) String() string {
	if d == Postgres {
		return "postgres"
	}
	return "sqlite"
}

// Rebind rewrites the "?" placeholders of query into the dialect's form:
// unchanged for SQLite, "$1", "$2", … for PostgreSQL. Question marks inside
// single-quoted string literals are left alone.
func (d Dialect) Rebind(query string) string {
	if d != Postgres || !strings.Contains(query, "?") {
		return query
	}
	var b strings.Builder
	b.Grow(len(query) + 8)
	n, quoted := 0, false
	for i := 0; i < len(query); i++ {
		c := query[i]
		switch {
		case c == '\'':
			quoted = !quoted
			b.WriteByte(c)
		case c == '?' && !quoted:
			n++
			fmt.Fprintf(&b, "$%d", n)
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// AutoID returns the column definition of an auto-incrementing integer
// primary key: "INTEGER PRIMARY KEY AUTOINCREMENT" or "BIGSERIAL PRIMARY KEY".
func (d Dialect) AutoID() string {
	if d == Postgres {
		return "BIGSERIAL PRIMARY KEY"
	}
	return "INTEGER PRIMARY KEY AUTOINCREMENT"
}

// Blob returns the column type for binary data: "BLOB" or "BYTEA".
func (d Dialect) Blob() string {
	if d == Postgres {
		return "BYTEA"
	}
	return "BLOB"
}

// DB is an open database and its dialect. Its embedded *sql.DB is safe for
// concurrent use.
type DB struct {
	*sql.DB
	// Dialect tells which SQL engine this is.
	Dialect Dialect
	// DSN is the data source name the database was opened with, with any
	// password removed (for logs and error messages).
	DSN string
}

// DefaultFile is the SQLite file name used under the data directory when no
// DSN is given.
const DefaultFile = "hub.db"

// Open opens the database named by dsn and checks that it answers.
//
// An empty dsn means the SQLite file [DefaultFile] under dataDir (created if
// absent). A dsn starting with "postgres://" or "postgresql://" opens
// PostgreSQL. Anything else is a SQLite file path, optionally prefixed with
// "sqlite:" or "file:"; a relative path is taken relative to dataDir.
// SQLite is opened in WAL mode with a 10 s busy timeout, foreign keys on and
// write transactions that take the write lock when they begin, so concurrent
// writers wait instead of failing with "database is locked".
func Open(ctx context.Context, dsn, dataDir string) (*DB, error) {
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		return openPostgres(ctx, dsn)
	}
	return openSQLite(ctx, dsn, dataDir)
}

func openPostgres(ctx context.Context, dsn string) (*DB, error) {
	redacted := redact(dsn)
	sqldb, err := sql.Open("pgx", dsn)
	if err != nil {
		return nil, fmt.Errorf("db: open %s: %w", redacted, err)
	}
	sqldb.SetMaxOpenConns(16)
	sqldb.SetMaxIdleConns(8)
	sqldb.SetConnMaxIdleTime(5 * time.Minute)
	if err := ping(ctx, sqldb); err != nil {
		sqldb.Close()
		return nil, fmt.Errorf("db: cannot reach PostgreSQL at %s: %w (check that the server runs and the DSN's user, password and database exist)", redacted, err)
	}
	return &DB{DB: sqldb, Dialect: Postgres, DSN: redacted}, nil
}

func openSQLite(ctx context.Context, dsn, dataDir string) (*DB, error) {
	path := strings.TrimPrefix(strings.TrimPrefix(dsn, "sqlite:"), "file:")
	query := ""
	if i := strings.IndexByte(path, '?'); i >= 0 {
		path, query = path[:i], path[i+1:]
	}
	if path == "" {
		path = DefaultFile
	}
	if path != ":memory:" && !filepath.IsAbs(path) {
		if dataDir == "" {
			dataDir = "."
		}
		path = filepath.Join(dataDir, path)
	}
	if path != ":memory:" {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return nil, fmt.Errorf("db: create directory for %s: %w", path, err)
		}
	}
	params := url.Values{}
	params.Add("_pragma", "busy_timeout(10000)")
	params.Add("_pragma", "journal_mode(WAL)")
	params.Add("_pragma", "synchronous(NORMAL)")
	params.Add("_pragma", "foreign_keys(1)")
	params.Set("_txlock", "immediate")
	full := "file:" + path + "?" + params.Encode()
	if query != "" {
		full += "&" + query
	}
	sqldb, err := sql.Open("sqlite", full)
	if err != nil {
		return nil, fmt.Errorf("db: open %s: %w", path, err)
	}
	if path == ":memory:" {
		// Each connection to :memory: is its own database: keep one.
		sqldb.SetMaxOpenConns(1)
	}
	if err := ping(ctx, sqldb); err != nil {
		sqldb.Close()
		return nil, fmt.Errorf("db: open SQLite file %s: %w (check the data directory's permissions)", path, err)
	}
	return &DB{DB: sqldb, Dialect: SQLite, DSN: "sqlite:" + path}, nil
}

func ping(ctx context.Context, sqldb *sql.DB) error {
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	return sqldb.PingContext(ctx)
}

func redact(dsn string) string {
	u, err := url.Parse(dsn)
	if err != nil || u.User == nil {
		return dsn
	}
	if _, ok := u.User.Password(); ok {
		u.User = url.UserPassword(u.User.Username(), "xxxxx")
	}
	return u.String()
}

// Rebind is shorthand for db.Dialect.Rebind(query).
func (db *DB) Rebind(query string) string { return db.Dialect.Rebind(query) }

// Migration is one forward step of a package's schema.
type Migration struct {
	// Version orders the steps of one component; it starts at 1 and never
	// changes once released.
	Version int
	// SQL holds one or more statements separated by ";". Use "?"
	// placeholders-free DDL here; dialect differences go in Postgres.
	SQL string
	// Postgres, when set, replaces SQL on PostgreSQL.
	Postgres string
}

// ErrMigrationOrder reports migrations not numbered 1, 2, 3, ….
var ErrMigrationOrder = errors.New("db: migrations must be numbered 1, 2, 3, … in order")

// Migrate applies, in order and each in its own transaction, the steps of
// component (a package name such as "auth" or "index") that the database
// has not seen yet. It records what it applied in the table
// schema_migrations, so running it again is a no-op. Concurrent hub
// processes may call it at the same time: the steps are serialised by the
// database (SQLite's write lock, a PostgreSQL advisory lock).
func (db *DB) Migrate(ctx context.Context, component string, steps []Migration) error {
	for i, m := range steps {
		if m.Version != i+1 {
			return fmt.Errorf("%w (component %q, step %d has version %d)", ErrMigrationOrder, component, i, m.Version)
		}
	}
	if _, err := db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		component TEXT NOT NULL,
		version INTEGER NOT NULL,
		applied_at TEXT NOT NULL,
		PRIMARY KEY (component, version))`); err != nil {
		// Two PostgreSQL processes racing on CREATE TABLE IF NOT EXISTS can
		// collide on the type's name; the table exists afterwards either way.
		if db.Dialect != Postgres {
			return fmt.Errorf("db: create schema_migrations: %w", err)
		}
	}
	for _, m := range steps {
		if err := db.applyStep(ctx, component, m); err != nil {
			return err
		}
	}
	return nil
}

func (db *DB) applyStep(ctx context.Context, component string, m Migration) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("db: migrate %s v%d: %w", component, m.Version, err)
	}
	defer tx.Rollback()
	if db.Dialect == Postgres {
		if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock(727274)`); err != nil {
			return fmt.Errorf("db: migrate %s v%d: lock: %w", component, m.Version, err)
		}
	}
	var n int
	if err := tx.QueryRowContext(ctx, db.Rebind(`SELECT COUNT(*) FROM schema_migrations WHERE component = ? AND version = ?`), component, m.Version).Scan(&n); err != nil {
		return fmt.Errorf("db: migrate %s v%d: %w", component, m.Version, err)
	}
	if n > 0 {
		return nil
	}
	src := m.SQL
	if db.Dialect == Postgres && m.Postgres != "" {
		src = m.Postgres
	}
	for _, stmt := range SplitStatements(src) {
		if _, err := tx.ExecContext(ctx, stmt); err != nil {
			return fmt.Errorf("db: migrate %s v%d: %w\nstatement: %s", component, m.Version, err, stmt)
		}
	}
	if _, err := tx.ExecContext(ctx, db.Rebind(`INSERT INTO schema_migrations (component, version, applied_at) VALUES (?, ?, ?)`),
		component, m.Version, time.Now().UTC().Format(time.RFC3339)); err != nil {
		return fmt.Errorf("db: migrate %s v%d: record: %w", component, m.Version, err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("db: migrate %s v%d: commit: %w", component, m.Version, err)
	}
	return nil
}

// SplitStatements splits src on the semicolons that end statements, ignoring
// those inside single-quoted literals, double-quoted identifiers and "--"
// comments, and drops empty statements.
func SplitStatements(src string) []string {
	var out []string
	var cur strings.Builder
	single, double, comment := false, false, false
	flush := func() {
		if s := strings.TrimSpace(cur.String()); s != "" {
			out = append(out, s)
		}
		cur.Reset()
	}
	for i := 0; i < len(src); i++ {
		c := src[i]
		switch {
		case comment:
			if c == '\n' {
				comment = false
				cur.WriteByte(c)
			}
			continue
		case !single && !double && c == '-' && i+1 < len(src) && src[i+1] == '-':
			comment = true
			continue
		case c == '\'' && !double:
			single = !single
		case c == '"' && !single:
			double = !double
		case c == ';' && !single && !double:
			flush()
			continue
		}
		cur.WriteByte(c)
	}
	flush()
	return out
}
