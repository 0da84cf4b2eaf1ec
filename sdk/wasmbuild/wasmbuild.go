// Package wasmbuild compiles a Go proxy-wasm filter into a WebAssembly module
// with the standard Go toolchain:
//
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -trimpath -ldflags="-s -w"
//
// The result is a WASI reactor that exports _initialize and the proxy-wasm
// callbacks declared by the SDK. Build is what `wasmctl build` runs; ForTest
// lets a filter's tests compile the package under test once per process and
// run it as wasm next to the native run.
package wasmbuild

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// Options tunes Build. The zero value builds a stripped, trimmed module into
// a file named after the directory, inside that directory.
type Options struct {
	// Output is the path of the .wasm file to write. Default: DIR/<base of DIR>.wasm.
	Output string
	// Debug keeps symbols and DWARF (no -s -w), for profiling and stack traces.
	Debug bool
	// Env adds environment variables (KEY=VALUE) to the go command.
	Env []string
	// GoBin is the go command to run. Default: "go" from PATH, else $GOROOT/bin/go.
	GoBin string
}

// Error is a failed compilation. Output holds the go command's own messages,
// with file:line positions, exactly as the compiler printed them.
type Error struct {
	Dir    string
	Output string
	Err    error
}

func (e *Error) Error() string {
	msg := strings.TrimSpace(e.Output)
	if msg == "" {
		msg = e.Err.Error()
	}
	return fmt.Sprintf("go build of %s failed:\n%s", e.Dir, msg)
}

func (e *Error) Unwrap() error { return e.Err }

// Build compiles the Go main package in dir for GOOS=wasip1 GOARCH=wasm as a
// c-shared reactor and returns the path of the written module. The module is
// written to a temporary file first and renamed into place, so a failed build
// never leaves a partial file at the output path.
func Build(ctx context.Context, dir string, opt Options) (string, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	out := opt.Output
	if out == "" {
		out = filepath.Join(abs, filepath.Base(abs)+".wasm")
	}
	if out, err = filepath.Abs(out); err != nil {
		return "", err
	}
	tmp, err := os.CreateTemp(filepath.Dir(out), ".wasmbuild-*.wasm")
	if err != nil {
		return "", fmt.Errorf("cannot write the module next to %s: %w", out, err)
	}
	tmp.Close()
	defer os.Remove(tmp.Name())

	args := []string{"build", "-buildmode=c-shared", "-trimpath", "-o", tmp.Name()}
	if !opt.Debug {
		args = append(args, "-ldflags=-s -w")
	}
	args = append(args, ".")
	cmd := exec.CommandContext(ctx, goBin(opt.GoBin), args...)
	cmd.Dir = abs
	cmd.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm", "CGO_ENABLED=0")
	cmd.Env = append(cmd.Env, opt.Env...)
	var output bytes.Buffer
	cmd.Stdout = &output
	cmd.Stderr = &output
	if err := cmd.Run(); err != nil {
		return "", &Error{Dir: abs, Output: output.String(), Err: err}
	}
	if err := os.Rename(tmp.Name(), out); err != nil {
		return "", err
	}
	return out, nil
}

func goBin(explicit string) string {
	if explicit != "" {
		return explicit
	}
	if p, err := exec.LookPath("go"); err == nil {
		return p
	}
	if root := os.Getenv("GOROOT"); root != "" {
		return filepath.Join(root, "bin", "go")
	}
	return filepath.Join("/usr/local/go/bin", "go")
}

type result struct {
	once sync.Once
	wasm []byte
	err  error
}

var built sync.Map // absolute dir -> *result

// ForTest compiles the main package in dir (usually ".") once per test
// process and returns the module bytes. Later calls for the same directory
// return the same bytes. A compile error fails the test with the compiler's
// messages; it never skips, so a filter that stops compiling to wasm is caught.
func ForTest(tb testing.TB, dir string) []byte {
	tb.Helper()
	wasm, err := Cached(dir)
	if err != nil {
		tb.Fatalf("wasmbuild: %v", err)
	}
	return wasm
}

// Cached is ForTest without a testing.TB: it builds dir once per process
// into a private temporary directory and returns the module bytes.
func Cached(dir string) ([]byte, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	v, _ := built.LoadOrStore(abs, &result{})
	r := v.(*result)
	r.once.Do(func() {
		tmpDir, err := os.MkdirTemp("", "wasmbuild-")
		if err != nil {
			r.err = err
			return
		}
		defer os.RemoveAll(tmpDir)
		path, err := Build(context.Background(), abs, Options{Output: filepath.Join(tmpDir, "main.wasm")})
		if err != nil {
			r.err = err
			return
		}
		r.wasm, r.err = os.ReadFile(path)
	})
	if r.err == nil && len(r.wasm) == 0 {
		return nil, errors.New("wasmbuild: empty module")
	}
	return r.wasm, r.err
}
