package conformance

import (
	"encoding/xml"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/wasmctl/wasmctl/hub"
	"github.com/wasmctl/wasmctl/hub/auth"
	"github.com/wasmctl/wasmctl/hub/hubtest"
)

var (
	suiteOnce sync.Once
	suitePath string
	suiteErr  error
)

// suite builds the pinned conformance binary once per process into the
// user cache directory (reused by later runs) and returns its path.
func suite(t *testing.T) string {
	t.Helper()
	suiteOnce.Do(func() {
		cache, err := os.UserCacheDir()
		if err != nil {
			cache = os.TempDir()
		}
		bin := filepath.Join(cache, "wasmctl", "oci-conformance", SuiteVersion)
		suitePath = filepath.Join(bin, "conformance")
		if _, err := os.Stat(suitePath); err == nil {
			return
		}
		cmd := exec.Command("go", "install", SuiteModule+"@"+SuiteVersion)
		cmd.Env = append(os.Environ(), "GOBIN="+bin, "GOWORK=off", "GOFLAGS=-mod=mod", "CGO_ENABLED=0")
		cmd.Dir = os.TempDir()
		if out, err := cmd.CombinedOutput(); err != nil {
			suiteErr = err
			suitePath = string(out)
		}
	})
	if suiteErr != nil {
		t.Fatalf("building the OCI conformance suite (go install %s@%s) failed: %v\n%s\nIt needs the Go module proxy or a module cache holding it.", SuiteModule, SuiteVersion, suiteErr, suitePath)
	}
	return suitePath
}

// Result is what the suite reports.
type Result struct {
	Tests, Failures, Errors, Skipped, Disabled int
	// DisabledFeatures lists the features reported as "Disabled".
	DisabledFeatures []string
	Output           string
}

type junit struct {
	Tests    int `xml:"tests,attr"`
	Failures int `xml:"failures,attr"`
	Errors   int `xml:"errors,attr"`
	Skipped  int `xml:"skipped,attr"`
	Disabled int `xml:"disabled,attr"`
}

var disabledRE = regexp.MustCompile(`(?m)^\s+([A-Za-z0-9 ]+?)\.*:\s+Disabled$`)

// run runs the suite with env and parses its junit report.
func run(t *testing.T, env ...string) Result {
	t.Helper()
	bin := suite(t)
	dir := t.TempDir()
	cmd := exec.CommandContext(t.Context(), bin)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), append([]string{"OCI_RESULTS_DIR=" + filepath.Join(dir, "results"), "OCI_LOG=error"}, env...)...)
	out, _ := cmd.CombinedOutput() // non-zero on failures; the report says which
	b, err := os.ReadFile(filepath.Join(dir, "results", "junit.xml"))
	if err != nil {
		t.Fatalf("conformance suite wrote no report: %v\n%s", err, out)
	}
	var j junit
	if err := xml.Unmarshal(b, &j); err != nil {
		t.Fatalf("parse junit.xml: %v", err)
	}
	r := Result{Tests: j.Tests, Failures: j.Failures, Errors: j.Errors, Skipped: j.Skipped, Disabled: j.Disabled, Output: string(out)}
	for _, m := range disabledRE.FindAllStringSubmatch(r.Output, -1) {
		r.DisabledFeatures = append(r.DisabledFeatures, strings.TrimSpace(m[1]))
	}
	return r
}

// allOn switches on every optional API of the suite, beyond its defaults.
var allOn = []string{
	"OCI_API_BLOBS_UPLOAD_CANCEL=true",
	"OCI_API_MANIFESTS_TAG_PARAM=true",
	"OCI_API_BLOBS_DIGEST_HEADER=true",
	"OCI_API_MANIFESTS_DIGEST_HEADER=true",
}

// check fails the test on any failure or skip, and on any disabled
// feature but the sparse manifests the hub refuses on purpose.
func check(t *testing.T, r Result) {
	t.Helper()
	t.Logf("OCI conformance: %d tests, %d failures, %d errors, %d skipped, %d disabled %v",
		r.Tests, r.Failures, r.Errors, r.Skipped, r.Disabled, r.DisabledFeatures)
	if r.Tests < 900 {
		t.Errorf("only %d tests ran; expected the full suite (~986)", r.Tests)
	}
	if r.Failures+r.Errors+r.Skipped > 0 {
		t.Errorf("conformance: %d failures, %d errors, %d skipped; output:\n%s", r.Failures, r.Errors, r.Skipped, tail(r.Output, 200))
	}
	for _, f := range r.DisabledFeatures {
		if f != "Sparse Manifests" {
			t.Errorf("feature %q is disabled; only Sparse Manifests is switched off on purpose", f)
		}
	}
}

func tail(s string, lines int) string {
	l := strings.Split(s, "\n")
	if len(l) > lines {
		l = l[len(l)-lines:]
	}
	return strings.Join(l, "\n")
}

// TestConformanceNoAuth runs the suite against a hub with authentication
// switched off, configured with the suite's current variables.
func TestConformanceNoAuth(t *testing.T) {
	off := false
	_, addr := hubtest.Serve(t, hub.Config{Auth: hub.AuthConfig{Enabled: &off}})
	r := run(t, append([]string{
		"OCI_REGISTRY=" + addr, "OCI_TLS=disabled",
		"OCI_REPO1=conformance/repo1", "OCI_REPO2=conformance/repo2",
	}, allOn...)...)
	check(t, r)
}

// TestConformanceAuth runs the suite against a hub with authentication on
// (the Docker token flow), configured with the legacy variables of the
// classic suite (OCI_ROOT_URL, OCI_NAMESPACE, OCI_TEST_*), the user's
// password in one run and a personal access token in the other.
func TestConformanceAuth(t *testing.T) {
	s, addr := hubtest.Serve(t, hub.Config{})
	ctx := t.Context()
	if _, err := s.Auth.CreateUser(ctx, "conformance", "conformance-password", auth.UserOptions{}); err != nil {
		t.Fatal(err)
	}
	pat, _, err := s.Auth.CreateToken(ctx, "conformance", "suite", timeZero)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ name, secret string }{{"password", "conformance-password"}, {"token", pat}} {
		t.Run(tc.name, func(t *testing.T) {
			r := run(t, append([]string{
				"OCI_ROOT_URL=http://" + addr,
				"OCI_NAMESPACE=conformance/" + tc.name + "1",
				"OCI_CROSSMOUNT_NAMESPACE=conformance/" + tc.name + "2",
				"OCI_USERNAME=conformance", "OCI_PASSWORD=" + tc.secret,
				"OCI_TEST_PULL=1", "OCI_TEST_PUSH=1", "OCI_TEST_CONTENT_DISCOVERY=1", "OCI_TEST_CONTENT_MANAGEMENT=1",
			}, allOn...)...)
			check(t, r)
		})
	}
	// The suite's repositories are not writable by anyone else.
	if s.Auth.Can(ctx, "someone-else", "conformance/password1", auth.Push) {
		t.Fatal("another user could push to the suite's namespace")
	}
}
