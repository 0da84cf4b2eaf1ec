// Package dbtest gives tests a real database: a SQLite file in a temporary
// directory, or a throwaway PostgreSQL server started from the machine's
// PostgreSQL binaries (Debian's postgresql package) on 127.0.0.1.
package dbtest

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/wasmctl/wasmctl/hub/db"
)

// SQLite opens a fresh SQLite database in a temporary directory; it is
// closed when the test ends.
func SQLite(tb testing.TB) *db.DB {
	tb.Helper()
	d, err := db.Open(context.Background(), "", tb.TempDir())
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { d.Close() })
	return d
}

var (
	pgOnce sync.Once
	pgDSN  string
	pgErr  error
	pgSeq  int
	pgMu   sync.Mutex
)

// PostgresDSN returns the DSN of a new, empty database on a PostgreSQL
// server shared by the tests of this process (started on first use, stopped
// when the process exits via [Stop] or left to die with it). When
// WASMCTL_TEST_POSTGRES is set to a DSN, that server is used instead. The
// test is skipped, with a message saying what to install, when no
// PostgreSQL binaries are found.
func PostgresDSN(tb testing.TB) string {
	tb.Helper()
	pgOnce.Do(func() { pgDSN, pgErr = startPostgres() })
	if pgErr != nil {
		if _, ok := pgErr.(skipError); ok {
			tb.Skip(pgErr.Error())
		}
		tb.Fatalf("dbtest: %v", pgErr)
	}
	pgMu.Lock()
	pgSeq++
	name := fmt.Sprintf("t%d_%d", os.Getpid(), pgSeq)
	pgMu.Unlock()
	admin, err := db.Open(context.Background(), pgDSN, "")
	if err != nil {
		tb.Fatal(err)
	}
	defer admin.Close()
	if _, err := admin.Exec("CREATE DATABASE " + name); err != nil {
		tb.Fatalf("dbtest: create database: %v", err)
	}
	u, err := url.Parse(pgDSN)
	if err != nil {
		tb.Fatalf("dbtest: bad DSN %q: %v", pgDSN, err)
	}
	u.Path = "/" + name
	return u.String()
}

// Postgres opens a new, empty PostgreSQL database (see [PostgresDSN]).
func Postgres(tb testing.TB) *db.DB {
	tb.Helper()
	d, err := db.Open(context.Background(), PostgresDSN(tb), "")
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { d.Close() })
	return d
}

type skipError string

func (e skipError) Error() string { return string(e) }

var server *exec.Cmd

// Stop stops the PostgreSQL server started by this process, if any. Call it
// from TestMain after m.Run; without it the server exits when its data
// directory's owner process (this one) is gone at the next start-up check.
func Stop() {
	if server != nil && server.Process != nil {
		server.Process.Signal(os.Interrupt)
		done := make(chan struct{})
		go func() { server.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			server.Process.Kill()
		}
		os.RemoveAll(filepath.Dir(server.Dir))
	}
}

func pgBin() (string, error) {
	if p, err := exec.LookPath("initdb"); err == nil {
		return filepath.Dir(p), nil
	}
	matches, _ := filepath.Glob("/usr/lib/postgresql/*/bin/initdb")
	if len(matches) == 0 {
		return "", skipError("dbtest: PostgreSQL binaries not found (install them: apt-get install postgresql)")
	}
	sort.Strings(matches)
	return filepath.Dir(matches[len(matches)-1]), nil
}

func startPostgres() (string, error) {
	if dsn := os.Getenv("WASMCTL_TEST_POSTGRES"); dsn != "" {
		return dsn, nil
	}
	bin, err := pgBin()
	if err != nil {
		return "", err
	}
	root, err := os.MkdirTemp("", "wasmctl-pg-")
	if err != nil {
		return "", err
	}
	data := filepath.Join(root, "data")
	var runAs []string
	var uid, gid int = -1, -1
	if os.Geteuid() == 0 {
		// PostgreSQL refuses to run as root: run it as the postgres user.
		u, err := user.Lookup("postgres")
		if err != nil {
			return "", skipError("dbtest: running as root and no postgres user exists (install postgresql, which creates it)")
		}
		uid, _ = strconv.Atoi(u.Uid)
		gid, _ = strconv.Atoi(u.Gid)
		if err := os.Chown(root, uid, gid); err != nil {
			return "", err
		}
		runAs = []string{"runuser", "-u", "postgres", "--"}
	}
	cmd := func(name string, args ...string) *exec.Cmd {
		full := append(append([]string{}, runAs...), append([]string{filepath.Join(bin, name)}, args...)...)
		c := exec.Command(full[0], full[1:]...)
		c.Dir = root
		return c
	}
	if out, err := cmd("initdb", "-D", data, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync").CombinedOutput(); err != nil {
		return "", fmt.Errorf("initdb: %v\n%s", err, out)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	server = cmd("postgres", "-D", data, "-k", root, "-h", "127.0.0.1", "-p", strconv.Itoa(port),
		"-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off")
	server.Dir = data
	logf, _ := os.Create(filepath.Join(root, "log"))
	if uid >= 0 && logf != nil {
		os.Chown(logf.Name(), uid, gid)
	}
	server.Stdout, server.Stderr = logf, logf
	if err := server.Start(); err != nil {
		return "", err
	}
	dsn := fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", port)
	deadline := time.Now().Add(30 * time.Second)
	for {
		d, err := db.Open(context.Background(), dsn, "")
		if err == nil {
			d.Close()
			return dsn, nil
		}
		if time.Now().After(deadline) {
			out, _ := os.ReadFile(filepath.Join(root, "log"))
			return "", fmt.Errorf("postgres did not start: %v\n%s", err, out)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
