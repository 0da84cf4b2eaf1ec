package cli

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestProxyCommandErrors(t *testing.T) {
	bad := filepath.Join(t.TempDir(), "runtime.yaml")
	os.WriteFile(bad, []byte("listeners:\n- name: web\n  address: 127.0.0.1:0\n  routes: [{cluster: nowhere}]\n"), 0o644)
	tests := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"no config", []string{"proxy"}, ExitUsage, "--config is required"},
		{"bad log level", []string{"proxy", "-c", bad, "--log-level", "loud"}, ExitUsage, "bad --log-level"},
		{"missing file", []string{"proxy", "-c", filepath.Join(t.TempDir(), "nope.yaml")}, ExitError, "cannot read the proxy config"},
		{"invalid file", []string{"proxy", "-c", bad}, ExitError, bad + ":4:22: listeners[0].routes[0].cluster: unknown cluster \"nowhere\""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			code := Main(tc.args, strings.NewReader(""), &out, &errb)
			if code != tc.code || !strings.Contains(errb.String(), tc.want) {
				t.Fatalf("exit %d, stderr:\n%s\nwant exit %d and %q", code, errb.String(), tc.code, tc.want)
			}
		})
	}
}
