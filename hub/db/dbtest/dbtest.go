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
	"strings"
	"sync"
	"syscall"
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
// from TestMain after m.Run. (A server left behind stops by itself within a
// minute once its data directory is gone.)
func Stop() {
	if server == nil || server.Process == nil {
		return
	}
	// The server may run under runuser: signal the postmaster itself,
	// whose pid heads postmaster.pid, with SIGINT (fast shutdown).
	pid := server.Process.Pid
	if b, err := os.ReadFile(filepath.Join(server.Dir, "postmaster.pid")); err == nil {
		if first, _, _ := strings.Cut(string(b), "\n"); first != "" {
			if p, err := strconv.Atoi(strings.TrimSpace(first)); err == nil {
				pid = p
			}
		}
	}
	syscall.Kill(pid, syscall.SIGINT)
	done := make(chan struct{})
	go func() { server.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		syscall.Kill(pid, syscall.SIGKILL)
		server.Process.Kill()
		<-done
	}
	os.RemoveAll(filepath.Dir(server.Dir))
	server = nil
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

// initData fills data with a fresh cluster: a copy of a template made by
// initdb once per machine (initdb takes seconds; a copy, a fraction), so
// that the test packages that each start a server do not each pay for it.
func initData(bin, data string, runAs []string, uid, gid int) error {
	// Key the template by the real binary's location, which names the
	// PostgreSQL version (/usr/lib/postgresql/15/bin/initdb).
	real, err := filepath.EvalSymlinks(filepath.Join(bin, "initdb"))
	if err != nil {
		real = filepath.Join(bin, "initdb")
	}
	version := strings.NewReplacer("/", "_").Replace(filepath.Dir(filepath.Dir(real)))
	tmpl := filepath.Join(os.TempDir(), fmt.Sprintf("wasmctl-pg-template-%d%s", os.Geteuid(), version))
	lock, err := os.OpenFile(tmpl+".lock", os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return err
	}
	defer lock.Close()
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		return err
	}
	defer syscall.Flock(int(lock.Fd()), syscall.LOCK_UN)
	if _, err := os.Stat(filepath.Join(tmpl, "ready")); err != nil {
		os.RemoveAll(tmpl)
		if err := os.MkdirAll(tmpl, 0o755); err != nil {
			return err
		}
		if uid >= 0 {
			os.Chown(tmpl, uid, gid)
		}
		args := append(append([]string{}, runAs...), filepath.Join(bin, "initdb"), "-D", filepath.Join(tmpl, "data"),
			"-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync")
		c := exec.Command(args[0], args[1:]...)
		c.Dir = tmpl
		if out, err := c.CombinedOutput(); err != nil {
			os.RemoveAll(tmpl)
			return fmt.Errorf("initdb: %v\n%s", err, out)
		}
		if err := os.WriteFile(filepath.Join(tmpl, "ready"), nil, 0o644); err != nil {
			return err
		}
	}
	// cp -a keeps the owner and the 0700 mode PostgreSQL insists on.
	if out, err := exec.Command("cp", "-a", filepath.Join(tmpl, "data"), data).CombinedOutput(); err != nil {
		return fmt.Errorf("copy PostgreSQL template: %v\n%s", err, out)
	}
	return nil
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
	if err := initData(bin, data, runAs, uid, gid); err != nil {
		return "", err
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
