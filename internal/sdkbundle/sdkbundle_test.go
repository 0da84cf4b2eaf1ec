package sdkbundle_test

import (
	"bytes"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/wasmctl/wasmctl/internal/sdkbundle"
	"github.com/wasmctl/wasmctl/internal/sharedtest"
)

// TestBundleIsFresh fails when the embedded SDK no longer matches ./sdk.
func TestBundleIsFresh(t *testing.T) {
	want, err := sdkbundle.Generate(t.Context(), filepath.Join(sharedtest.RepoRoot(t), "sdk"))
	if err != nil {
		t.Fatalf("Generate() error = %v", err)
	}
	got, err := sdkbundle.Files()
	if err != nil {
		t.Fatal(err)
	}
	var diffs []string
	for name, b := range want {
		if g, ok := got[name]; !ok {
			diffs = append(diffs, "missing "+name)
		} else if !bytes.Equal(g, b) {
			diffs = append(diffs, "changed "+name)
		}
	}
	for name := range got {
		if _, ok := want[name]; !ok {
			diffs = append(diffs, "extra "+name)
		}
	}
	sort.Strings(diffs)
	if len(diffs) > 0 {
		t.Fatalf("the SDK bundle embedded in wasmctl is stale (%d files differ, e.g. %s); run: go generate ./internal/sdkbundle",
			len(diffs), strings.Join(diffs[:min(5, len(diffs))], ", "))
	}
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
