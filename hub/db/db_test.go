package db_test

import (
	"context"
	"os"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/wasmctl/wasmctl/hub/db"
	"github.com/wasmctl/wasmctl/hub/db/dbtest"
)

func TestMain(m *testing.M) {
	code := m.Run()
	dbtest.Stop()
	os.Exit(code)
}

func TestRebind(t *testing.T) {
	tests := []struct {
		d    db.Dialect
		in   string
		want string
	}{
		{db.SQLite, "SELECT * FROM t WHERE a = ? AND b = ?", "SELECT * FROM t WHERE a = ? AND b = ?"},
		{db.Postgres, "SELECT * FROM t WHERE a = ? AND b = ?", "SELECT * FROM t WHERE a = $1 AND b = $2"},
		{db.Postgres, "SELECT '?' FROM t WHERE a = ?", "SELECT '?' FROM t WHERE a = $1"},
		{db.Postgres, "SELECT 1", "SELECT 1"},
	}
	for _, tt := range tests {
		if got := tt.d.Rebind(tt.in); got != tt.want {
			t.Errorf("%v.Rebind(%q) = %q, want %q", tt.d, tt.in, got, tt.want)
		}
	}
}

func TestSplitStatements(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{"CREATE TABLE a (x TEXT); CREATE INDEX i ON a(x);", []string{"CREATE TABLE a (x TEXT)", "CREATE INDEX i ON a(x)"}},
		{"INSERT INTO a VALUES ('x;y'); -- a comment; here\nSELECT 1", []string{"INSERT INTO a VALUES ('x;y')", "SELECT 1"}},
		{`CREATE TABLE "we;ird" (x TEXT)`, []string{`CREATE TABLE "we;ird" (x TEXT)`}},
		{" ; ;", nil},
	}
	for _, tt := range tests {
		if got := db.SplitStatements(tt.in); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("SplitStatements(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func FuzzSplitStatements(f *testing.F) {
	f.Add("CREATE TABLE a (x TEXT); SELECT ';'")
	f.Add("-- c\n\"x;\"")
	f.Fuzz(func(t *testing.T, s string) {
		for _, stmt := range db.SplitStatements(s) {
			if stmt == "" {
				t.Fatalf("empty statement from %q", s)
			}
		}
	})
}

var steps = []db.Migration{
	{Version: 1, SQL: `CREATE TABLE widgets (id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL UNIQUE);`,
		Postgres: `CREATE TABLE widgets (id BIGSERIAL PRIMARY KEY, name TEXT NOT NULL UNIQUE);`},
	{Version: 2, SQL: `ALTER TABLE widgets ADD COLUMN size INTEGER NOT NULL DEFAULT 0; CREATE INDEX widgets_size ON widgets(size)`},
}

func exercise(t *testing.T, d *db.DB) {
	t.Helper()
	ctx := t.Context()
	if err := d.Migrate(ctx, "widgets", steps); err != nil {
		t.Fatal(err)
	}
	// A second run is a no-op, also when several run at once.
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for range 4 {
		wg.Add(1)
		go func() { defer wg.Done(); errs <- d.Migrate(ctx, "widgets", steps) }()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if _, err := d.ExecContext(ctx, d.Rebind(`INSERT INTO widgets (name, size) VALUES (?, ?)`), "a", 3); err != nil {
		t.Fatal(err)
	}
	var size int
	if err := d.QueryRowContext(ctx, d.Rebind(`SELECT size FROM widgets WHERE name = ?`), "a").Scan(&size); err != nil || size != 3 {
		t.Fatalf("size = %d, %v; want 3", size, err)
	}
	var n int
	if err := d.QueryRowContext(ctx, `SELECT COUNT(*) FROM schema_migrations WHERE component = 'widgets'`).Scan(&n); err != nil || n != 2 {
		t.Fatalf("schema_migrations rows = %d, %v; want 2", n, err)
	}
	// Bad numbering is refused before anything runs.
	if err := d.Migrate(ctx, "other", []db.Migration{{Version: 2, SQL: "SELECT 1"}}); err == nil {
		t.Fatal("Migrate accepted a step numbered 2 first")
	}
}

func TestSQLite(t *testing.T) {
	d := dbtest.SQLite(t)
	if d.Dialect != db.SQLite {
		t.Fatalf("dialect %v", d.Dialect)
	}
	var mode string
	if err := d.QueryRow(`PRAGMA journal_mode`).Scan(&mode); err != nil || mode != "wal" {
		t.Fatalf("journal_mode = %q, %v; want wal", mode, err)
	}
	exercise(t, d)
}

func TestPostgres(t *testing.T) {
	d := dbtest.Postgres(t)
	if d.Dialect != db.Postgres {
		t.Fatalf("dialect %v", d.Dialect)
	}
	exercise(t, d)
}

func TestOpenErrors(t *testing.T) {
	ctx := context.Background()
	_, err := db.Open(ctx, "postgres://nobody:secret@127.0.0.1:1/x?sslmode=disable&connect_timeout=1", "")
	if err == nil {
		t.Fatal("Open of an unreachable PostgreSQL succeeded")
	}
	if got := err.Error(); !strings.Contains(got, "xxxxx") || strings.Contains(got, "secret") {
		t.Fatalf("error should redact the password: %v", got)
	}
}
