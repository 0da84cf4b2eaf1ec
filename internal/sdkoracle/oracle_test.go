package sdkoracle

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	// The oracle: the generated module's tests use this package. Naming it
	// here keeps it in go.mod and in the module cache of every clone.
	_ "github.com/tetratelabs/proxy-wasm-go-sdk/proxywasm/proxytest"

	"github.com/wasmctl/wasmctl/sdk/wasmbuild"
)

const (
	ourSDK      = "github.com/wasmctl/wasmctl/sdk/proxywasm"
	originalSDK = "github.com/tetratelabs/proxy-wasm-go-sdk/proxywasm"
	// wasmSource is how every example's vmTest gets its module.
	wasmSource  = `wasmbuild.ForTest(t, ".")`
	wasmbuildIm = `"github.com/wasmctl/wasmctl/sdk/wasmbuild"`
)

// wasmSkips names the examples whose compiled module the v0.24.0 wasm
// wrapper cannot drive, and why. Their native half still runs against the
// original emulator.
var wasmSkips = map[string]string{
	"network": "proxy-wasm-go-sdk v0.24.0 proxytest.NewWasmVMContext supports HTTP plugins only: " +
		"its pluginContext.NewTcpContext returns nil and it never calls proxy_on_new_connection, " +
		"proxy_on_downstream_data, proxy_on_upstream_data or the connection-close callbacks " +
		"(wasmwrapper.go: \"Note: Currently only HTTP plugins are supported.\")",
}

// TestOracle copies each example and its tests into a temporary module with
// the SDK import path replaced by proxy-wasm-go-sdk v0.24.0, then runs the
// same tests there: the "go" half compiles the example against the original
// SDK and its emulator, the "wasm" half loads the module built with OUR SDK
// into the original's NewWasmVMContext (wazero). The only change to a test
// is where the wasm comes from; the assertions are the examples' own.
func TestOracle(t *testing.T) {
	if testing.Short() {
		t.Skip("the oracle compiles every example twice; skipped with -short")
	}
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	examplesDir := filepath.Join(root, "sdk", "examples")
	examples := findExamples(t, examplesDir)

	mod := t.TempDir()
	writeModule(t, root, mod)

	start := time.Now()
	buildWasm(t, examplesDir, examples, mod)
	t.Logf("built %d examples with our SDK in %v", len(examples), time.Since(start).Round(time.Millisecond))

	for _, ex := range examples {
		copyExample(t, filepath.Join(examplesDir, ex), filepath.Join(mod, ex), wasmSkips[ex])
	}

	start = time.Now()
	cmd := exec.CommandContext(t.Context(), goCmd(), "test", "-json", "-count=1", "-vet=off", "./...")
	cmd.Dir = mod
	cmd.Env = append(os.Environ(), "GOWORK=off", "GOFLAGS=-mod=mod", "GOTOOLCHAIN=local")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, runErr := cmd.Output()
	t.Logf("go test of the oracle module took %v", time.Since(start).Round(time.Millisecond))
	results := parseEvents(t, out)

	for _, ex := range examples {
		t.Run(ex, func(t *testing.T) {
			pkg := results["oracle/"+ex]
			if pkg == nil || len(pkg.tests) == 0 {
				t.Fatalf("no test results for %s; go test said:\n%s\n%s", ex, stderr.String(), pkgOutput(pkg))
			}
			names := make([]string, 0, len(pkg.tests))
			for name := range pkg.tests {
				names = append(names, name)
			}
			sort.Strings(names)
			for _, name := range names {
				// Report TestX/go and TestX/wasm, and top-level tests that have
				// no subtests; deeper levels are part of their parent's output.
				leafTop := !strings.Contains(name, "/") &&
					!slices.ContainsFunc(names, func(n string) bool { return strings.HasPrefix(n, name+"/") })
				if strings.Count(name, "/") != 1 && !leafTop {
					continue
				}
				r := pkg.tests[name]
				t.Run(name, func(t *testing.T) {
					switch r.action {
					case "pass":
					case "skip":
						t.Skip(strings.TrimSpace(r.output.String()))
					default:
						t.Errorf("%s under proxy-wasm-go-sdk v0.24.0: %s\n%s", name, r.action, r.output.String())
					}
				})
			}
			if pkg.action == "fail" && !slices.ContainsFunc(names, func(n string) bool { return pkg.tests[n].action == "fail" }) {
				t.Errorf("package failed outside its tests:\n%s", pkgOutput(pkg))
			}
		})
	}
	if runErr != nil && !t.Failed() {
		t.Errorf("go test failed: %v\n%s", runErr, stderr.String())
	}
}

// findExamples lists the example directories, relative to dir.
func findExamples(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && d.Name() == "main.go" {
			rel, err := filepath.Rel(dir, filepath.Dir(path))
			if err != nil {
				return err
			}
			out = append(out, filepath.ToSlash(rel))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(out) == 0 {
		t.Fatalf("no examples under %s", dir)
	}
	return out
}

// writeModule writes go.mod and go.sum of the oracle module: the root
// module's requirements (so the versions are the ones root tests use),
// plus the SDK module from this checkout for wasmbuild.
func writeModule(t *testing.T, root, mod string) {
	t.Helper()
	gomod, err := os.ReadFile(filepath.Join(root, "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	gomod = regexp.MustCompile(`(?m)^module .*$`).ReplaceAll(gomod, []byte("module oracle"))
	// The root module requires the SDK and replaces it with ./sdk; the
	// oracle module lives elsewhere, so point the replacement at this
	// checkout's sdk directory.
	replaceRE := regexp.MustCompile(`(?m)^replace github.com/wasmctl/wasmctl/sdk => .*$`)
	if !replaceRE.Match(gomod) {
		t.Fatal("root go.mod has no `replace github.com/wasmctl/wasmctl/sdk => ./sdk`; the oracle module needs it")
	}
	gomod = replaceRE.ReplaceAll(gomod, []byte("replace github.com/wasmctl/wasmctl/sdk => "+filepath.Join(root, "sdk")))
	var sum []byte
	for _, f := range []string{"go.sum", filepath.Join("sdk", "go.sum")} {
		b, err := os.ReadFile(filepath.Join(root, f))
		if err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
		sum = append(sum, b...)
	}
	for name, data := range map[string][]byte{"go.mod": gomod, "go.sum": sum} {
		if err := os.WriteFile(filepath.Join(mod, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// buildWasm compiles every example with our SDK (two at a time) and writes
// its module, with the _start alias, as oracle.wasm in the oracle module.
func buildWasm(t *testing.T, examplesDir string, examples []string, mod string) {
	t.Helper()
	errs := make([]error, len(examples))
	sem := make(chan struct{}, 2)
	var wg sync.WaitGroup
	for i, ex := range examples {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			wasm, err := wasmbuild.Cached(filepath.Join(examplesDir, ex))
			if err == nil {
				wasm, err = AliasStart(wasm)
			}
			if err == nil {
				dir := filepath.Join(mod, ex)
				if err = os.MkdirAll(dir, 0o755); err == nil {
					err = os.WriteFile(filepath.Join(dir, "oracle.wasm"), wasm, 0o644)
				}
			}
			errs[i] = err
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("building %s: %v", examples[i], err)
		}
	}
	if t.Failed() {
		t.FailNow()
	}
}

// copyExample copies the Go files of one example with the SDK import path
// swapped for the original's, and points its vmTest at oracle.wasm.
func copyExample(t *testing.T, from, to, skipReason string) {
	t.Helper()
	entries, err := os.ReadDir(from)
	if err != nil {
		t.Fatal(err)
	}
	sawSource := false
	for _, e := range entries {
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".go") {
			continue
		}
		src, err := os.ReadFile(filepath.Join(from, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		s := strings.ReplaceAll(string(src), ourSDK, originalSDK)
		if strings.Contains(s, wasmSource) {
			if n := strings.Count(s, wasmSource); n != 1 {
				t.Fatalf("%s/%s has %d calls %s; the oracle expects exactly one, in vmTest", from, e.Name(), n, wasmSource)
			}
			s = strings.Replace(s, wasmSource, "oracleWasm(t)", 1)
			s = strings.Replace(s, "\t"+wasmbuildIm+"\n", "", 1)
			sawSource = true
		}
		if strings.Contains(s, "github.com/wasmctl/wasmctl") {
			t.Fatalf("%s/%s imports another package of ours; the oracle can only swap the SDK", from, e.Name())
		}
		if err := os.WriteFile(filepath.Join(to, e.Name()), []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if !sawSource {
		t.Fatalf("%s: no test builds the wasm with %s; every example must run its tests against the module too", from, wasmSource)
	}
	helper := fmt.Sprintf(`package main

import (
	"os"
	"testing"
)

// oracleWasm returns this example's module built with our SDK, with the
// _start alias the v0.24.0 wrapper needs to run _initialize.
func oracleWasm(t *testing.T) []byte {
	t.Helper()
	if reason := %q; reason != "" {
		t.Skip(reason)
	}
	b, err := os.ReadFile("oracle.wasm")
	if err != nil {
		t.Fatal(err)
	}
	return b
}
`, skipReason)
	if err := os.WriteFile(filepath.Join(to, "oracle_helper_test.go"), []byte(helper), 0o644); err != nil {
		t.Fatal(err)
	}
}

// testEvent is one line of go test -json.
type testEvent struct {
	Action     string
	Package    string
	ImportPath string // set on "build-output" and "build-fail" events
	Test       string
	Output     string
}

type testResult struct {
	action string
	output strings.Builder
}

type pkgResult struct {
	action string
	output strings.Builder
	tests  map[string]*testResult
}

func parseEvents(t *testing.T, out []byte) map[string]*pkgResult {
	t.Helper()
	pkgs := map[string]*pkgResult{}
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		var ev testEvent
		if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
			continue // not an event
		}
		pkg := ev.Package
		if ev.Action == "build-output" || ev.Action == "build-fail" {
			// ImportPath is "oracle/x" or "oracle/x [oracle/x.test]".
			pkg, _, _ = strings.Cut(ev.ImportPath, " ")
		}
		p := pkgs[pkg]
		if p == nil {
			p = &pkgResult{tests: map[string]*testResult{}}
			pkgs[pkg] = p
		}
		if ev.Test == "" {
			p.output.WriteString(ev.Output)
			if ev.Action == "pass" || ev.Action == "fail" || ev.Action == "skip" {
				p.action = ev.Action
			}
			continue
		}
		r := p.tests[ev.Test]
		if r == nil {
			r = &testResult{}
			p.tests[ev.Test] = r
		}
		// A parent's output includes its subtests' lines; keep each test's own.
		r.output.WriteString(ev.Output)
		if ev.Action == "pass" || ev.Action == "fail" || ev.Action == "skip" {
			r.action = ev.Action
		}
	}
	return pkgs
}

func pkgOutput(p *pkgResult) string {
	if p == nil {
		return ""
	}
	return p.output.String()
}

func goCmd() string {
	if p, err := exec.LookPath("go"); err == nil {
		return p
	}
	return filepath.Join(os.Getenv("GOROOT"), "bin", "go")
}
