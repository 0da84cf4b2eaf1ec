package cli

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wasmctl/wasmctl/sdk/wasmbuild"
)

// syncBuffer is a bytes.Buffer safe for a command writing while a test reads.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// headersFilter builds the SDK's http_headers example once per process and
// writes it to a temporary .wasm file.
func headersFilter(t *testing.T) string {
	t.Helper()
	wasm := wasmbuild.ForTest(t, "../sdk/examples/http_headers")
	p := filepath.Join(t.TempDir(), "http_headers.wasm")
	if err := os.WriteFile(p, wasm, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestRunServesThroughFilter(t *testing.T) {
	wasm := headersFilter(t)
	var seen http.Header
	var mu sync.Mutex
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen = r.Header.Clone()
		mu.Unlock()
		io.WriteString(w, "upstream says hi")
	}))
	defer up.Close()
	cfg := filepath.Join(t.TempDir(), "cfg.json")
	os.WriteFile(cfg, []byte(`{"header":"x-run","value":"yes"}`), 0o644)

	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	var stdout, stderr syncBuffer
	root := NewRootCommand(strings.NewReader(""), &stdout, &stderr)
	root.SetArgs([]string{"run", wasm, "--upstream", up.URL, "--listen", "127.0.0.1:0",
		"--config", "@" + cfg, "--cache-dir", t.TempDir(), "--env", "A=B", "--vms", "1"})
	done := make(chan error, 1)
	go func() { done <- root.ExecuteContext(ctx) }()

	re := regexp.MustCompile(`listening on (http://127\.0\.0\.1:\d+)`)
	var base string
	for deadline := time.Now().Add(2 * time.Minute); base == ""; {
		if m := re.FindStringSubmatch(stdout.String()); m != nil {
			base = m[1]
			break
		}
		select {
		case err := <-done:
			t.Fatalf("run exited early: %v\nstderr:\n%s", err, stderr.String())
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("no listen address printed; stderr:\n%s", stderr.String())
		}
	}

	req, _ := http.NewRequestWithContext(t.Context(), "GET", base+"/hello", nil)
	req.Header.Set("test", "worst")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(body) != "upstream says hi" {
		t.Fatalf("got %d %q", resp.StatusCode, body)
	}
	if got := resp.Header.Get("x-proxy-wasm-go-sdk-example"); got != "http_headers" {
		t.Errorf("x-proxy-wasm-go-sdk-example = %q, want http_headers", got)
	}
	if got := resp.Header.Get("x-run"); got != "yes" {
		t.Errorf("configured header x-run = %q, want yes (from --config @file)", got)
	}
	mu.Lock()
	if got := seen.Get("test"); got != "best" {
		t.Errorf("upstream saw test=%q, want best (rewritten by the filter)", got)
	}
	mu.Unlock()

	cancel() // what SIGINT does: drain, stop the filter, return nil
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("run returned %v after shutdown", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("run did not stop after its context was cancelled")
	}
	logs := stderr.String()
	for _, want := range []string{"request header --> test: best", "draining in-flight requests"} {
		if !strings.Contains(logs, want) {
			t.Errorf("logs lack %q:\n%s", want, logs)
		}
	}
}

func TestRunErrors(t *testing.T) {
	dir := t.TempDir()
	notWasm := filepath.Join(dir, "main.go")
	os.WriteFile(notWasm, []byte("package main\n"), 0o644)
	noABI := filepath.Join(dir, "empty.wasm")
	os.WriteFile(noABI, []byte("\x00asm\x01\x00\x00\x00"), 0o644)
	tests := []struct {
		name string
		args []string
		code int
		want []string
	}{
		{"no filter", []string{"run", "--upstream", "http://127.0.0.1:1"}, ExitUsage, []string{"exactly one FILTER.wasm"}},
		{"no upstream", []string{"run", notWasm}, ExitUsage, []string{"--upstream is required"}},
		{"bad cluster", []string{"run", notWasm, "--upstream", "http://127.0.0.1:1", "--cluster", "nourl"}, ExitUsage, []string{"bad --cluster \"nourl\": use NAME=URL"}},
		{"missing config file", []string{"run", notWasm, "--upstream", "http://127.0.0.1:1", "--config", "@" + filepath.Join(dir, "nope.json")}, ExitUsage, []string{"--config @"}},
		{"missing file", []string{"run", filepath.Join(dir, "nope.wasm"), "--upstream", "http://127.0.0.1:1"}, ExitError, []string{"does not exist", "wasmctl build"}},
		{"directory", []string{"run", dir, "--upstream", "http://127.0.0.1:1"}, ExitError, []string{"is a directory"}},
		{"not wasm", []string{"run", notWasm, "--upstream", "http://127.0.0.1:1"}, ExitError, []string{"is not a WebAssembly module"}},
		{"bad upstream", []string{"run", noABI, "--upstream", "localhost"}, ExitError, []string{"not an absolute URL", "--upstream"}},
		{"not proxy-wasm", []string{"run", noABI, "--upstream", "http://127.0.0.1:1", "--no-cache"}, ExitError, []string{"not a proxy-wasm module"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			code := Main(tc.args, strings.NewReader(""), &out, &errb)
			for _, w := range tc.want {
				if code != tc.code || !strings.Contains(errb.String(), w) {
					t.Fatalf("exit %d, stderr:\n%s\nwant exit %d and %q", code, errb.String(), tc.code, w)
				}
			}
		})
	}
}

func TestRunStartFailureShowsFilterLog(t *testing.T) {
	wasm := headersFilter(t)
	var out, errb bytes.Buffer
	code := Main([]string{"run", wasm, "--upstream", "http://127.0.0.1:1", "--listen", "127.0.0.1:0",
		"--config", "{header", "--vms", "1", "--cache-dir", t.TempDir()}, strings.NewReader(""), &out, &errb)
	if code != ExitError {
		t.Fatalf("exit %d, want %d; stderr:\n%s", code, ExitError, errb.String())
	}
	for _, want := range []string{
		"proxy_on_configure failed",
		"fix: the filter rejected its plugin configuration; check --config",
		"filter log:",
		`invalid plugin configuration "{header"`, // the filter's own critical log line
	} {
		if !strings.Contains(errb.String(), want) {
			t.Errorf("stderr lacks %q:\n%s", want, errb.String())
		}
	}
	if strings.Contains(out.String(), "listening on") {
		t.Errorf("printed a listen address for a filter that failed to start: %s", out.String())
	}
}
