package wasmbuild

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func writeModule(t *testing.T, src string) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module example.com/m\n\ngo 1.24\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "main.go"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestBuildReactor(t *testing.T) {
	dir := writeModule(t, "package main\n\n//go:wasmexport answer\nfunc answer() int32 { return 42 }\n\nfunc main() {}\n")
	out := filepath.Join(t.TempDir(), "x.wasm")
	path, err := Build(context.Background(), dir, Options{Output: out})
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(b, []byte("\x00asm")) {
		t.Fatalf("output is not a wasm module")
	}
	for _, name := range []string{"_initialize", "answer"} {
		if !bytes.Contains(b, []byte(name)) {
			t.Errorf("module lacks export %q", name)
		}
	}
}

func TestBuildErrorKeepsCompilerMessageAndWritesNothing(t *testing.T) {
	dir := writeModule(t, "package main\n\nfunc main() { undefinedThing() }\n")
	out := filepath.Join(t.TempDir(), "x.wasm")
	_, err := Build(context.Background(), dir, Options{Output: out})
	var be *Error
	if !errors.As(err, &be) {
		t.Fatalf("want *Error, got %v", err)
	}
	if !strings.Contains(err.Error(), "main.go:3") || !strings.Contains(err.Error(), "undefinedThing") {
		t.Fatalf("error lacks the compiler's file:line message: %v", err)
	}
	if _, statErr := os.Stat(out); !os.IsNotExist(statErr) {
		t.Fatalf("a failed build left %s behind", out)
	}
	entries, _ := os.ReadDir(filepath.Dir(out))
	if len(entries) != 0 {
		t.Fatalf("a failed build left temporary files: %v", entries)
	}
}
