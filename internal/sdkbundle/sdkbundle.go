// Package sdkbundle ships the wasmctl SDK inside the wasmctl binary so that
// `wasmctl init` writes projects that build and test offline, with only Go
// installed: the SDK module's source and its dependencies (wazero, for
// proxytest's wasm runner) are embedded as a vendor tree and written into the
// new project's vendor/ directory with a consistent vendor/modules.txt.
//
// The archive sdk.tar.gz is generated from ../../sdk by
//
//	go generate ./internal/sdkbundle
//
// and a test fails when it no longer matches the SDK's source.
package sdkbundle

//go:generate go run ./gen

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	_ "embed"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
)

//go:embed sdk.tar.gz
var archive []byte

// SDKModule is the SDK's module path.
const SDKModule = "github.com/wasmctl/wasmctl/sdk"

// SDKVersion is the version the vendored SDK is recorded under in go.mod
// and vendor/modules.txt.
const SDKVersion = "v0.1.0"

// requireFile lists the go.mod require lines of a project using the SDK.
const requireFile = "go.mod.require"

// goVersionFile holds the go directive the project needs.
const goVersionFile = "go.mod.go"

// Files returns the bundle: vendor/ paths (slash-separated, relative to the
// project root) mapped to their content, plus the go.mod fragments.
func Files() (map[string][]byte, error) { return unpack(archive) }

// Require returns the require lines ("path version [// indirect]") and the
// go version a project using the bundled SDK declares in its go.mod.
func Require() (lines []string, goVersion string, err error) {
	files, err := Files()
	if err != nil {
		return nil, "", err
	}
	for _, l := range strings.Split(strings.TrimSpace(string(files[requireFile])), "\n") {
		if l != "" {
			lines = append(lines, l)
		}
	}
	return lines, strings.TrimSpace(string(files[goVersionFile])), nil
}

// GoMod returns the go.mod of a project named module that uses the bundled SDK.
func GoMod(module string) ([]byte, error) {
	req, goVersion, err := Require()
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, "module %s\n\ngo %s\n\nrequire (\n", module, goVersion)
	for _, l := range req {
		fmt.Fprintf(&b, "\t%s\n", l)
	}
	b.WriteString(")\n")
	return b.Bytes(), nil
}

// WriteVendor writes the vendor/ tree into the project directory dir.
func WriteVendor(dir string) error {
	files, err := Files()
	if err != nil {
		return err
	}
	names := make([]string, 0, len(files))
	for name := range files {
		if strings.HasPrefix(name, "vendor/") {
			names = append(names, name)
		}
	}
	sort.Strings(names)
	for _, name := range names {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(p, files[name], 0o644); err != nil {
			return err
		}
	}
	return nil
}

func unpack(b []byte) (map[string][]byte, error) {
	gz, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		return nil, fmt.Errorf("sdk bundle: %w", err)
	}
	tr := tar.NewReader(gz)
	files := map[string][]byte{}
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("sdk bundle: %w", err)
		}
		name := path.Clean(h.Name)
		if strings.HasPrefix(name, "../") || path.IsAbs(name) {
			return nil, fmt.Errorf("sdk bundle: bad path %q", h.Name)
		}
		data, err := io.ReadAll(tr)
		if err != nil {
			return nil, fmt.Errorf("sdk bundle: %w", err)
		}
		files[name] = data
	}
	return files, nil
}

// Pack builds the deterministic archive from a file map.
func Pack(files map[string][]byte) ([]byte, error) {
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	var buf bytes.Buffer
	gz, err := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	if err != nil {
		return nil, err
	}
	tw := tar.NewWriter(gz)
	for _, n := range names {
		if err := tw.WriteHeader(&tar.Header{Name: n, Mode: 0o644, Size: int64(len(files[n])), Typeflag: tar.TypeReg}); err != nil {
			return nil, err
		}
		if _, err := tw.Write(files[n]); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	if err := gz.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
