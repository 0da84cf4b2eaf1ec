package cli

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

func run(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = Main(args, strings.NewReader(""), &out, &errb)
	return code, out.String(), errb.String()
}

func TestVersion(t *testing.T) {
	code, out, _ := run(t, "version", "-o", "json")
	if code != ExitOK {
		t.Fatalf("exit %d", code)
	}
	var v VersionInfo
	if err := json.Unmarshal([]byte(out), &v); err != nil {
		t.Fatalf("version -o json is not JSON: %v\n%s", err, out)
	}
	if v.Version == "" || !strings.HasPrefix(v.GoVersion, "go") {
		t.Fatalf("incomplete version info: %+v", v)
	}
}

func TestUnknownFlagIsUsageError(t *testing.T) {
	code, _, errOut := run(t, "version", "--bogus")
	if code != ExitUsage {
		t.Fatalf("exit %d, want %d", code, ExitUsage)
	}
	if !strings.Contains(errOut, "--help") {
		t.Fatalf("error does not point to --help: %q", errOut)
	}
}

func TestBadOutputFormat(t *testing.T) {
	code, _, errOut := run(t, "version", "-o", "yaml")
	if code != ExitUsage || !strings.Contains(errOut, "-o json") {
		t.Fatalf("exit %d, stderr %q", code, errOut)
	}
}
