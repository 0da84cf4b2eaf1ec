package config

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"
)

const valid = `admin:
  address: 127.0.0.1:9901
listeners:
- name: web
  address: 127.0.0.1:8080
  routes:
  - match: {prefix: /api, headers: [{name: x-canary, exact: "1"}]}
    cluster: canary
  - cluster: backend
  filters:
  - name: stats
    url: oci://127.0.0.1:5000/filters/stats:v1
    phase: STATS
  - name: authn
    url: file:///srv/authn.wasm
    sha256: 0000000000000000000000000000000000000000000000000000000000000000
    phase: AUTHN
    pluginConfig: {header: x-user, allow: [a, b]}
    vmConfig:
      env: [{name: MODE, value: strict}]
  - name: last
    url: registry.example.com/f/last
    priority: 5
  - name: first
    url: https://example.com/first.wasm
    priority: 10
    failStrategy: FAIL_OPEN
clusters:
- name: backend
  endpoints: [127.0.0.1:9000, 127.0.0.1:9001]
  connectTimeout: 250ms
  healthCheck: {path: /healthz, interval: 1s}
- name: canary
  endpoints: [127.0.0.1:9002]
`

func TestParseValid(t *testing.T) {
	c, err := Parse("runtime.yaml", []byte(valid))
	if err != nil {
		t.Fatal(err)
	}
	if got := c.Clusters[0].ConnectTimeout.D(); got != 250*time.Millisecond {
		t.Errorf("connectTimeout = %v", got)
	}
	var order []string
	for _, f := range c.Listeners[0].SortedFilters() {
		order = append(order, f.Name)
	}
	if got := strings.Join(order, ","); got != "authn,stats,first,last" {
		t.Errorf("filter order = %s, want authn,stats,first,last", got)
	}
	authn := c.Listeners[0].Filters[1]
	if got := string(authn.ConfigBytes()); got != `{"allow":["a","b"],"header":"x-user"}` {
		t.Errorf("pluginConfig JSON = %s", got)
	}
	for _, tc := range []struct {
		f    Filter
		want string
	}{
		{c.Listeners[0].Filters[0], PullIfNotPresent},
		{c.Listeners[0].Filters[2], PullAlways}, // no tag means latest
		{Filter{URL: "oci://r/x:latest"}, PullAlways},
		{Filter{URL: "oci://r/x:latest", SHA256: strings.Repeat("a", 64)}, PullIfNotPresent},
		{Filter{URL: "r/x@sha256:" + strings.Repeat("a", 64), ImagePullPolicy: PullAlways}, PullIfNotPresent},
		{Filter{URL: "r:5000/x:v1", ImagePullPolicy: PullAlways}, PullAlways},
	} {
		if got := tc.f.EffectivePullPolicy(); got != tc.want {
			t.Errorf("EffectivePullPolicy(%+v) = %s, want %s", tc.f, got, tc.want)
		}
	}
}

func TestParseErrorsNameFileLineField(t *testing.T) {
	tests := []struct {
		name, yaml string
		want       []string // substrings, one per expected error
	}{
		{"unknown field", "listeners:\n- name: a\n  adress: 1:2\n", []string{`f.yaml:3:3: listeners[0].adress: unknown field "adress"; valid fields here: name, address, protocol, routes, cluster, filters`}},
		{"bad sha", strings.Replace(valid, "sha256: 0000000000000000000000000000000000000000000000000000000000000000", "sha256: abc", 1),
			[]string{"f.yaml:16:13: listeners[0].filters[1].sha256: \"abc\" is not a sha256"}},
		{"unknown cluster", strings.Replace(valid, "cluster: canary", "cluster: nope", 1),
			[]string{"f.yaml:8:14: listeners[0].routes[0].cluster: unknown cluster \"nope\""}},
		{"bad scheme and policy", strings.Replace(strings.Replace(valid, "https://example.com", "ftp://example.com", 1), "phase: STATS", "phase: LATE", 1),
			[]string{"f.yaml:13:12: listeners[0].filters[0].phase: unknown phase \"LATE\"", "listeners[0].filters[3].url: unsupported scheme \"ftp\""}},
		{"bad duration", strings.Replace(valid, "250ms", "soon", 1), []string{"f.yaml:31: \"soon\" is not a duration"}},
		{"no listeners", "clusters: []\n", []string{"f.yaml:1:1: listeners: at least one listener is required"}},
		{"syntax", "listeners: [\n", []string{"f.yaml:1: did not find expected node content"}},
		{"empty", "", []string{"f.yaml:1: the file is empty"}},
		{"tcp with routes", "listeners:\n- name: t\n  address: 127.0.0.1:1\n  protocol: tcp\n",
			[]string{"f.yaml:2:3: listeners[0].cluster: a tcp listener needs a cluster"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse("f.yaml", []byte(tc.yaml))
			var es Errors
			if !errors.As(err, &es) {
				t.Fatalf("err = %v (%T), want Errors", err, err)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error\n%s\ndoes not contain\n%s", err, w)
				}
			}
			if len(es) != len(tc.want) {
				t.Errorf("got %d errors, want %d:\n%s", len(es), len(tc.want), err)
			}
		})
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte(valid))
	f.Add([]byte("listeners: [{name: a, address: ':1', protocol: tcp, cluster: c}]\nclusters: [{name: c, endpoints: ['x:1']}]"))
	f.Add([]byte("a: &x [*x]"))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := Parse("fuzz.yaml", data)
		if err == nil && len(c.Listeners) == 0 {
			t.Fatal("a config without listeners was accepted")
		}
		if err != nil && err.Error() == "" {
			t.Fatal("empty error message")
		}
	})
}

func TestWatchSeesReplacementsAndChangesBeforeItStarted(t *testing.T) {
	dir := t.TempDir()
	path := dir + "/runtime.yaml"
	v := func(n int) string {
		return strings.Replace(valid, "127.0.0.1:8080", fmt.Sprintf("127.0.0.1:%d", 8080+n), 1)
	}
	os.WriteFile(path, []byte(v(0)), 0o644)
	loaded := []byte(v(0))
	os.WriteFile(path, []byte(v(1)), 0o644) // changed after the caller's read
	got := make(chan string, 10)
	err := WatchSince(t.Context(), path, loaded, func(c *Config, err error) {
		if err != nil {
			got <- "error: " + err.Error()
			return
		}
		got <- c.Listeners[0].Address
	})
	if err != nil {
		t.Fatal(err)
	}
	want := func(s string) {
		t.Helper()
		select {
		case g := <-got:
			if !strings.Contains(g, s) {
				t.Fatalf("got %q, want %q", g, s)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("no change delivered; want %q", s)
		}
	}
	want("127.0.0.1:8081")
	// Editor-style replacement: write a temporary file, rename it over.
	os.WriteFile(path+".swp", []byte(v(2)), 0o644)
	os.Rename(path+".swp", path)
	want("127.0.0.1:8082")
	// An invalid file is reported with its position, then a fix is applied.
	os.WriteFile(path, []byte("listeners: [{name: x, adress: 1}]\n"), 0o644)
	want("runtime.yaml:1:")
	os.WriteFile(path, []byte(v(3)), 0o644)
	want("127.0.0.1:8083")
}
