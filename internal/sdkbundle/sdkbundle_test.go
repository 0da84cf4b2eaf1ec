package sdkbundle_test

import (
	"bytes"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/wasmctl/wasmctl/internal/sdkbundle"
	"github.com/wasmctl/wasmctl/internal/sharedtest"
)

// TestBundleIsFresh fails when the embedded SDK no longer matches ./sdk:
// every bundled SDK file must equal its source, every non-test file of a
// bundled package and every public package of the SDK must be bundled, and
// the SDK's requirements must be the vendored module versions. It reads
// files only (no go command, no module cache), so it runs on any machine.
func TestBundleIsFresh(t *testing.T) {
	files, err := sdkbundle.Files()
	if err != nil {
		t.Fatal(err)
	}
	if diffs := staleness(t, filepath.Join(sharedtest.RepoRoot(t), "sdk"), files); len(diffs) > 0 {
		t.Fatalf("the SDK bundle embedded in wasmctl is stale (%d differences, e.g. %s); run: go generate ./internal/sdkbundle",
			len(diffs), strings.Join(diffs[:min(5, len(diffs))], ", "))
	}
}

// TestStalenessDetected checks the check: an SDK rebuilt from the bundle is
// fresh; a changed file, a new public package and a new requirement are not.
func TestStalenessDetected(t *testing.T) {
	files, err := sdkbundle.Files()
	if err != nil {
		t.Fatal(err)
	}
	sdk := t.TempDir()
	const prefix = "vendor/" + sdkbundle.SDKModule + "/"
	var some string
	for name, b := range files {
		if rel, ok := strings.CutPrefix(name, prefix); ok {
			some = rel
			writeTestFile(t, filepath.Join(sdk, filepath.FromSlash(rel)), b)
		}
	}
	req, _, err := sdkbundle.Require()
	if err != nil {
		t.Fatal(err)
	}
	gomod := "module " + sdkbundle.SDKModule + "\n\nrequire (\n"
	for _, r := range req[1:] {
		gomod += "\t" + r + "\n"
	}
	writeTestFile(t, filepath.Join(sdk, "go.mod"), []byte(gomod+")\n"))
	if d := staleness(t, sdk, files); len(d) != 0 {
		t.Fatalf("an SDK identical to the bundle is reported stale: %v", d)
	}
	writeTestFile(t, filepath.Join(sdk, filepath.FromSlash(some)), []byte("package changed\n"))
	writeTestFile(t, filepath.Join(sdk, "newpkg", "new.go"), []byte("package newpkg\n"))
	writeTestFile(t, filepath.Join(sdk, "go.mod"), []byte(gomod+"\texample.com/dep v1.2.3\n)\n"))
	got := strings.Join(staleness(t, sdk, files), ";")
	for _, want := range []string{"changed " + some, "new newpkg/new.go", "example.com/dep v1.2.3 not vendored"} {
		if !strings.Contains(got, want) {
			t.Errorf("staleness = %s; want it to report %q", got, want)
		}
	}
}

func writeTestFile(t *testing.T, p string, b []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// staleness lists the differences between the SDK in sdkDir and the bundle.
func staleness(t *testing.T, sdkDir string, files map[string][]byte) []string {
	t.Helper()
	const prefix = "vendor/" + sdkbundle.SDKModule + "/"
	var diffs []string
	bundledPkgs := map[string]bool{}
	for name, b := range files {
		rel, ok := strings.CutPrefix(name, prefix)
		if !ok {
			continue
		}
		bundledPkgs[filepath.Dir(rel)] = true
		src, err := os.ReadFile(filepath.Join(sdkDir, filepath.FromSlash(rel)))
		switch {
		case err != nil:
			diffs = append(diffs, "removed "+rel)
		case !bytes.Equal(src, b):
			diffs = append(diffs, "changed "+rel)
		}
	}
	// Every public package with Go files, and every file of a bundled package.
	err := filepath.WalkDir(sdkDir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(sdkDir, p)
		rel = filepath.ToSlash(rel)
		if d.IsDir() {
			if rel != "." && (d.Name() == "examples" || d.Name() == "testdata" || strings.HasPrefix(d.Name(), ".") || strings.HasPrefix(d.Name(), "_")) {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(rel, ".go") || strings.HasSuffix(rel, "_test.go") {
			return nil
		}
		dir := filepath.ToSlash(filepath.Dir(rel))
		public := !strings.Contains("/"+dir+"/", "/internal/")
		if _, ok := files[prefix+rel]; !ok && (bundledPkgs[dir] || public) {
			diffs = append(diffs, "new "+rel)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// The SDK's requirements are the vendored versions.
	gomod, err := os.ReadFile(filepath.Join(sdkDir, "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	modules := string(files["vendor/modules.txt"])
	for _, line := range strings.Split(string(gomod), "\n") {
		f := strings.Fields(strings.TrimPrefix(strings.TrimSpace(line), "require "))
		if len(f) >= 2 && strings.Contains(f[0], ".") && strings.HasPrefix(f[1], "v") {
			if !strings.Contains(modules, "# "+f[0]+" "+f[1]+"\n") {
				diffs = append(diffs, "requirement "+f[0]+" "+f[1]+" not vendored")
			}
		}
	}
	sort.Strings(diffs)
	return diffs
}

func TestGoModAndVendorAgree(t *testing.T) {
	gomod, err := sdkbundle.GoMod("example.com/f")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(gomod), sdkbundle.SDKModule+" "+sdkbundle.SDKVersion) || strings.Contains(string(gomod), "replace") {
		t.Errorf("go.mod = %s, want a plain requirement on the SDK and no replace", gomod)
	}
	dir := t.TempDir()
	if err := sdkbundle.WriteVendor(dir); err != nil {
		t.Fatal(err)
	}
	mt, err := os.ReadFile(filepath.Join(dir, "vendor", "modules.txt"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(mt), "# "+sdkbundle.SDKModule+" "+sdkbundle.SDKVersion+"\n## explicit") || strings.Contains(string(mt), "=>") {
		t.Errorf("vendor/modules.txt does not record the SDK as an explicit %s requirement without replacement:\n%s", sdkbundle.SDKVersion, mt)
	}
	if _, err := os.Stat(filepath.Join(dir, "vendor", "github.com", "wasmctl", "wasmctl", "sdk", "proxywasm", "proxytest")); err != nil {
		t.Errorf("proxytest is not vendored: %v", err)
	}
}
