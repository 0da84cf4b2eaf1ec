// Package sharedtest locates ../shared (the team's research and the
// third-party filter corpus), which CI places beside the clone. Tests that
// need it call Dir or Corpus and are skipped, with a message saying why, when
// it is absent.
package sharedtest

import (
	"os"
	"path/filepath"
	"testing"
)

// RepoRoot returns the repository root: the nearest directory above the
// working directory that holds go.work.
func RepoRoot(tb testing.TB) string {
	tb.Helper()
	dir, err := os.Getwd()
	if err != nil {
		tb.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.work")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			tb.Fatal("sharedtest: no go.work above the working directory; run tests inside the wasmctl checkout")
		}
		dir = parent
	}
}

// Dir returns the absolute path of ../shared, or skips the test if it is missing.
func Dir(tb testing.TB) string {
	tb.Helper()
	if env := os.Getenv("WASMCTL_SHARED"); env != "" {
		return env
	}
	d := filepath.Join(filepath.Dir(RepoRoot(tb)), "shared")
	if _, err := os.Stat(filepath.Join(d, "corpus")); err != nil {
		tb.Skipf("skipping: ../shared is absent (%s); it holds the third-party filter corpus this test runs. Put it beside the clone or set WASMCTL_SHARED", d)
	}
	return d
}

// Corpus returns the path of a file under ../shared/corpus, or skips the test.
func Corpus(tb testing.TB, rel string) string {
	tb.Helper()
	p := filepath.Join(Dir(tb), "corpus", rel)
	if _, err := os.Stat(p); err != nil {
		tb.Skipf("skipping: corpus file %s is absent", p)
	}
	return p
}
