// Package examples_test checks properties shared by every example: each one
// builds with the standard Go toolchain for wasip1 and its module exports
// what a proxy-wasm host needs to load it.
package examples_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sync"
	"testing"

	"github.com/wasmctl/wasmctl/sdk/wasmbuild"
)

// requiredExports are the exports a host looks up before anything else.
var requiredExports = []string{"proxy_abi_version_0_2_1", "_initialize", "proxy_on_memory_allocate"}

// exampleDirs lists the example directories (those holding a main.go).
func exampleDirs(t *testing.T) []string {
	t.Helper()
	var dirs []string
	err := filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && d.Name() == "main.go" {
			dirs = append(dirs, filepath.Dir(path))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(dirs) < 17 {
		t.Fatalf("found %d examples (%q), want at least 17", len(dirs), dirs)
	}
	return dirs
}

func TestExamplesExportProxyWasmABI(t *testing.T) {
	dirs := exampleDirs(t)
	// Build two at a time: each go build already uses every core for its
	// compile steps, but the link steps are serial.
	sem := make(chan struct{}, 2)
	var wg sync.WaitGroup
	for _, dir := range dirs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			_, _ = wasmbuild.Cached(dir)
		}()
	}
	wg.Wait()
	for _, dir := range dirs {
		t.Run(filepath.ToSlash(dir), func(t *testing.T) {
			wasm := wasmbuild.ForTest(t, dir)
			exports, err := exportNames(wasm)
			if err != nil {
				t.Fatalf("parsing the module of %s: %v", dir, err)
			}
			for _, name := range requiredExports {
				if !slices.Contains(exports, name) {
					t.Errorf("%s does not export %s; exports: %q", dir, name, exports)
				}
			}
			if slices.Contains(exports, "_start") {
				t.Errorf("%s exports _start: it must be a reactor (-buildmode=c-shared), not a command", dir)
			}
		})
	}
}

// TestExamplesLayout checks that every example is documented and tested.
func TestExamplesLayout(t *testing.T) {
	index, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, dir := range exampleDirs(t) {
		for _, f := range []string{"README.md", "main_test.go"} {
			if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
				t.Errorf("%s has no %s", dir, f)
			}
		}
		if link := "](" + filepath.ToSlash(dir) + ")"; !bytes.Contains(index, []byte(link)) {
			t.Errorf("README.md does not link %s", dir)
		}
		checkRunsTwice(t, dir)
	}
}

// checkRunsTwice checks that every test of an example runs natively and
// against the compiled module: each top-level test body is one vmTest call,
// and vmTest runs a "go" and a "wasm" subtest, the latter on the module
// wasmbuild compiles from the example.
func checkRunsTwice(t *testing.T, dir string) {
	t.Helper()
	src, err := os.ReadFile(filepath.Join(dir, "main_test.go"))
	if err != nil {
		return // reported above
	}
	tests := regexp.MustCompile(`(?m)^func Test\w+\(t \*testing\.T\) \{\n\tvmTest\(t, `).FindAll(src, -1)
	all := regexp.MustCompile(`(?m)^func Test`).FindAll(src, -1)
	if len(all) == 0 || len(tests) != len(all) {
		t.Errorf("%s/main_test.go: %d of %d tests start with vmTest(t, ...); every test must run natively and compiled", dir, len(tests), len(all))
	}
	for _, want := range []string{`t.Run("go", `, `t.Run("wasm", `, `proxytest.NewWasmVMContext(wasmbuild.ForTest(t, "."))`} {
		if !bytes.Contains(src, []byte(want)) {
			t.Errorf("%s/main_test.go: vmTest lacks %s", dir, want)
		}
	}
}

// exportNames returns the names in the export section of a binary wasm
// module. It checks the header and the framing of every section, so a
// truncated or foreign file is an error, never a panic.
func exportNames(wasm []byte) ([]string, error) {
	if len(wasm) < 8 || !bytes.Equal(wasm[:4], []byte("\x00asm")) {
		return nil, errors.New("not a wasm module: bad magic")
	}
	if v := binary.LittleEndian.Uint32(wasm[4:8]); v != 1 {
		return nil, fmt.Errorf("unsupported wasm binary version %d", v)
	}
	r := &reader{b: wasm[8:]}
	var names []string
	seenExports := false
	for len(r.b) > 0 {
		id, err := r.byte()
		if err != nil {
			return nil, err
		}
		size, err := r.u32()
		if err != nil {
			return nil, err
		}
		body, err := r.bytes(size)
		if err != nil {
			return nil, fmt.Errorf("section %d: %w", id, err)
		}
		if id != 7 {
			continue
		}
		if seenExports {
			return nil, errors.New("two export sections")
		}
		seenExports = true
		sr := &reader{b: body}
		n, err := sr.u32()
		if err != nil {
			return nil, err
		}
		for i := uint32(0); i < n; i++ {
			l, err := sr.u32()
			if err != nil {
				return nil, err
			}
			name, err := sr.bytes(l)
			if err != nil {
				return nil, fmt.Errorf("export %d name: %w", i, err)
			}
			if _, err := sr.byte(); err != nil { // kind
				return nil, err
			}
			if _, err := sr.u32(); err != nil { // index
				return nil, err
			}
			names = append(names, string(name))
		}
		if len(sr.b) != 0 {
			return nil, fmt.Errorf("export section has %d trailing bytes", len(sr.b))
		}
	}
	return names, nil
}

// reader decodes the primitives of the wasm binary format.
type reader struct{ b []byte }

var errShort = errors.New("unexpected end of module")

func (r *reader) byte() (byte, error) {
	if len(r.b) == 0 {
		return 0, errShort
	}
	c := r.b[0]
	r.b = r.b[1:]
	return c, nil
}

// u32 reads an unsigned LEB128 value of at most 5 bytes.
func (r *reader) u32() (uint32, error) {
	var v uint32
	for i := 0; i < 5; i++ {
		c, err := r.byte()
		if err != nil {
			return 0, err
		}
		if i == 4 && c > 0x0f {
			return 0, errors.New("LEB128 value overflows u32")
		}
		v |= uint32(c&0x7f) << (7 * i)
		if c&0x80 == 0 {
			return v, nil
		}
	}
	return 0, errors.New("LEB128 value longer than 5 bytes")
}

func (r *reader) bytes(n uint32) ([]byte, error) {
	if uint64(n) > uint64(len(r.b)) {
		return nil, errShort
	}
	b := r.b[:n]
	r.b = r.b[n:]
	return b, nil
}

func TestExportNames(t *testing.T) {
	// (module (func) (export "f" (func 0)) (export "_initialize" (func 0)))
	mod := []byte("\x00asm\x01\x00\x00\x00" +
		"\x01\x04\x01\x60\x00\x00" + // type section: () -> ()
		"\x03\x02\x01\x00" + // function section
		"\x07\x13\x02\x01f\x00\x00\x0b_initialize\x00\x00" + // export section
		"\x0a\x04\x01\x02\x00\x0b") // code section
	got, err := exportNames(mod)
	if err != nil || !slices.Equal(got, []string{"f", "_initialize"}) {
		t.Fatalf("exportNames = %q, %v; want [f _initialize]", got, err)
	}
	for _, bad := range [][]byte{nil, []byte("\x00asm"), []byte("\x00asx\x01\x00\x00\x00"), mod[:len(mod)-3], mod[:30]} {
		if _, err := exportNames(bad); err == nil {
			t.Errorf("exportNames(%q) succeeded, want an error", bad)
		}
	}
}

func FuzzExportNames(f *testing.F) {
	f.Add([]byte("\x00asm\x01\x00\x00\x00\x07\x05\x01\x01f\x00\x00"))
	f.Fuzz(func(t *testing.T, b []byte) {
		_, _ = exportNames(b) // must not panic
	})
}
