package author

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"sigs.k8s.io/yaml"

	"github.com/wasmctl/wasmctl/runtime/host"
	"github.com/wasmctl/wasmctl/runtime/httpfilter"
	"github.com/wasmctl/wasmctl/sdk/wasmbuild"
)

// TestFile is one tests/*.yaml file: a plugin configuration and cases run
// in order against one plugin (shared data and metrics carry over).
type TestFile struct {
	// Config is the plugin configuration: an object (sent as JSON) or a string.
	Config any        `json:"config,omitempty"`
	Cases  []TestCase `json:"cases"`
}

// TestCase is one request through the filter to a stub upstream.
type TestCase struct {
	Name    string `json:"name"`
	Request struct {
		Method  string            `json:"method,omitempty"`
		Path    string            `json:"path,omitempty"`
		Headers map[string]string `json:"headers,omitempty"`
		Body    string            `json:"body,omitempty"`
	} `json:"request"`
	// Upstream is the stub upstream's answer; default 200 "ok\n".
	Upstream struct {
		Status  int               `json:"status,omitempty"`
		Headers map[string]string `json:"headers,omitempty"`
		Body    *string           `json:"body,omitempty"`
	} `json:"upstream,omitempty"`
	Expect Expectation `json:"expect"`
}

// Expectation is what a case checks. Unset fields are not checked.
type Expectation struct {
	Status          int               `json:"status,omitempty"`
	Headers         map[string]string `json:"headers,omitempty"`
	HeadersAbsent   []string          `json:"headersAbsent,omitempty"`
	Body            *string           `json:"body,omitempty"`
	BodyContains    string            `json:"bodyContains,omitempty"`
	UpstreamHeaders map[string]string `json:"upstreamHeaders,omitempty"`
	// Logs are substrings that must each appear in a log line of the case.
	Logs []string `json:"logs,omitempty"`
	// Metrics are the values of filter metrics after the case.
	Metrics map[string]int64 `json:"metrics,omitempty"`
}

// CaseResult is the outcome of one case.
type CaseResult struct {
	File     string        `json:"file"`
	Name     string        `json:"name"`
	Passed   bool          `json:"passed"`
	Failures []string      `json:"failures,omitempty"`
	Duration time.Duration `json:"duration"`
}

// TestReport is the outcome of RunTests.
type TestReport struct {
	GoTests string       `json:"goTests"` // "passed", "failed" or "skipped"
	Cases   []CaseResult `json:"cases"`
	Passed  bool         `json:"passed"`
}

// TestOptions tunes RunTests.
type TestOptions struct {
	// SkipGoTests skips `go test ./...`.
	SkipGoTests bool
	// Run keeps only the cases whose name contains this string.
	Run string
	// Out receives go test's output and a line per case; nil discards.
	Out io.Writer
}

// ErrTestsFailed is returned by RunTests when a test failed.
var ErrTestsFailed = errors.New("tests failed")

// RunTests runs the project's Go tests, then compiles the project and runs
// the declarative cases in DIR/tests/*.yaml against the module in the
// runtime host, each request over real HTTP on 127.0.0.1.
func RunTests(ctx context.Context, dir string, opts TestOptions) (*TestReport, error) {
	out := opts.Out
	if out == nil {
		out = io.Discard
	}
	p, err := LoadProject(dir)
	if err != nil {
		return nil, err
	}
	rep := &TestReport{GoTests: "skipped", Passed: true}
	if !opts.SkipGoTests {
		fmt.Fprintf(out, "== go test ./... (%s)\n", p.Dir)
		cmd := exec.CommandContext(ctx, "go", "test", "./...")
		cmd.Dir, cmd.Stdout, cmd.Stderr = p.Dir, out, out
		if err := cmd.Run(); err != nil {
			rep.GoTests, rep.Passed = "failed", false
		} else {
			rep.GoTests = "passed"
		}
	}
	files, err := filepath.Glob(filepath.Join(p.Dir, "tests", "*.yaml"))
	if err != nil {
		return nil, err
	}
	sort.Strings(files)
	if len(files) == 0 {
		fmt.Fprintf(out, "== no declarative cases (tests/*.yaml)\n")
		return finish(rep)
	}
	tmp, err := os.MkdirTemp("", "wasmctl-test-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	fmt.Fprintf(out, "== building %s for the runtime host\n", p.Metadata.Name)
	built, err := wasmbuild.Build(ctx, p.Dir, wasmbuild.Options{Output: filepath.Join(tmp, "m.wasm")})
	if err != nil {
		return nil, err
	}
	wasm, err := os.ReadFile(built)
	if err != nil {
		return nil, err
	}
	for _, f := range files {
		results, err := runTestFile(ctx, p.Metadata.Name, wasm, f, opts.Run)
		if err != nil {
			return nil, err
		}
		for _, r := range results {
			rep.Cases = append(rep.Cases, r)
			status := "PASS"
			if !r.Passed {
				status, rep.Passed = "FAIL", false
			}
			fmt.Fprintf(out, "--- %s: %s/%s (%s)\n", status, filepath.Base(r.File), r.Name, r.Duration.Round(time.Millisecond))
			for _, m := range r.Failures {
				fmt.Fprintf(out, "    %s\n", m)
			}
		}
	}
	return finish(rep)
}

func finish(rep *TestReport) (*TestReport, error) {
	if !rep.Passed {
		return rep, ErrTestsFailed
	}
	return rep, nil
}

// ParseTestFile parses a tests/*.yaml document; unknown fields are errors.
func ParseTestFile(b []byte) (*TestFile, error) {
	var tf TestFile
	if err := yaml.UnmarshalStrict(b, &tf); err != nil {
		return nil, err
	}
	if len(tf.Cases) == 0 {
		return nil, errors.New("no cases: add `cases:` with at least one request and expectation")
	}
	for i, c := range tf.Cases {
		if c.Name == "" {
			return nil, fmt.Errorf("case %d has no name", i+1)
		}
		if c.Request.Path != "" && !strings.HasPrefix(c.Request.Path, "/") {
			return nil, fmt.Errorf("case %q: request.path %q must start with /", c.Name, c.Request.Path)
		}
	}
	return &tf, nil
}

// logSink collects plugin log lines.
type logSink struct {
	mu    sync.Mutex
	lines []string
}

func (s *logSink) Enabled(context.Context, slog.Level) bool { return true }
func (s *logSink) Handle(_ context.Context, r slog.Record) error {
	s.mu.Lock()
	s.lines = append(s.lines, r.Message)
	s.mu.Unlock()
	return nil
}
func (s *logSink) WithAttrs([]slog.Attr) slog.Handler { return s }
func (s *logSink) WithGroup(string) slog.Handler      { return s }
func (s *logSink) since(n int) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.lines[n:]...)
}
func (s *logSink) len() int { s.mu.Lock(); defer s.mu.Unlock(); return len(s.lines) }

func runTestFile(ctx context.Context, name string, wasm []byte, path, filter string) ([]CaseResult, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	tf, err := ParseTestFile(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	var cfg []byte
	switch c := tf.Config.(type) {
	case nil:
	case string:
		cfg = []byte(c)
	default:
		if cfg, err = json.Marshal(c); err != nil {
			return nil, fmt.Errorf("%s: config: %w", path, err)
		}
	}
	logs := &logSink{}
	rt, err := host.NewRuntime(ctx, host.Config{Logger: slog.New(logs), LogLevel: host.LogTrace})
	if err != nil {
		return nil, err
	}
	defer rt.Close(ctx)
	mod, err := rt.Compile(ctx, wasm)
	if err != nil {
		return nil, err
	}
	plugin, err := rt.NewPlugin(ctx, mod, host.PluginConfig{Name: name, PluginConfig: cfg, PoolSize: 1})
	if err != nil {
		return nil, fmt.Errorf("%s: the plugin did not start with this config: %w\nlogs:\n%s", path, err, strings.Join(logs.since(0), "\n"))
	}
	defer plugin.Close(ctx)

	var mu sync.Mutex
	var current *TestCase
	var seen http.Header
	upstream := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		c := current
		seen = r.Header.Clone()
		mu.Unlock()
		io.Copy(io.Discard, r.Body)
		for k, v := range c.Upstream.Headers {
			w.Header().Set(k, v)
		}
		status := c.Upstream.Status
		if status == 0 {
			status = http.StatusOK
		}
		body := "ok\n"
		if c.Upstream.Body != nil {
			body = *c.Upstream.Body
		}
		w.WriteHeader(status)
		io.WriteString(w, body)
	})
	srv := httptest.NewServer(httpfilter.New([]*host.Plugin{plugin}, upstream, httpfilter.Options{PauseTimeout: 10 * time.Second}))
	defer srv.Close()

	var results []CaseResult
	for i := range tf.Cases {
		c := &tf.Cases[i]
		if filter != "" && !strings.Contains(c.Name, filter) {
			continue
		}
		start := time.Now()
		mu.Lock()
		current, seen = c, nil
		mu.Unlock()
		mark := logs.len()
		res := CaseResult{File: path, Name: c.Name}
		fail := func(format string, args ...any) { res.Failures = append(res.Failures, fmt.Sprintf(format, args...)) }
		method := c.Request.Method
		if method == "" {
			method = http.MethodGet
		}
		reqPath := c.Request.Path
		if reqPath == "" {
			reqPath = "/"
		}
		req, err := http.NewRequestWithContext(ctx, method, srv.URL+reqPath, strings.NewReader(c.Request.Body))
		if err != nil {
			return nil, err
		}
		for k, v := range c.Request.Headers {
			req.Header.Set(k, v)
		}
		resp, err := srv.Client().Do(req)
		if err != nil {
			fail("request failed: %v", err)
		} else {
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			e := c.Expect
			if e.Status != 0 && resp.StatusCode != e.Status {
				fail("status = %d, want %d (body %q)", resp.StatusCode, e.Status, truncate(body))
			}
			for k, v := range e.Headers {
				if got := resp.Header.Get(k); got != v {
					fail("response header %s = %q, want %q", k, got, v)
				}
			}
			for _, k := range e.HeadersAbsent {
				if got, ok := resp.Header[http.CanonicalHeaderKey(k)]; ok {
					fail("response header %s = %q, want it absent", k, got)
				}
			}
			if e.Body != nil && string(body) != *e.Body {
				fail("body = %q, want %q", truncate(body), *e.Body)
			}
			if e.BodyContains != "" && !bytes.Contains(body, []byte(e.BodyContains)) {
				fail("body %q lacks %q", truncate(body), e.BodyContains)
			}
			mu.Lock()
			up := seen
			mu.Unlock()
			for k, v := range e.UpstreamHeaders {
				if up == nil {
					fail("the upstream got no request, want header %s: %q", k, v)
				} else if got := up.Get(k); got != v {
					fail("upstream saw header %s = %q, want %q", k, got, v)
				}
			}
		}
		// Logs of the stream end (on_done, on_log) may trail the response.
		deadline := time.Now().Add(2 * time.Second)
		for _, want := range c.Expect.Logs {
			for {
				if containsLine(logs.since(mark), want) {
					break
				}
				if time.Now().After(deadline) {
					fail("no log line contains %q; logs:\n      %s", want, strings.Join(logs.since(mark), "\n      "))
					break
				}
				time.Sleep(5 * time.Millisecond)
			}
		}
		for name, want := range c.Expect.Metrics {
			for {
				got, ok := rt.MetricValue(plugin.Config().Name, name)
				if ok && got == want {
					break
				}
				if time.Now().After(deadline) {
					fail("metric %s = %d (defined: %v), want %d", name, got, ok, want)
					break
				}
				time.Sleep(5 * time.Millisecond)
			}
		}
		res.Passed = len(res.Failures) == 0
		res.Duration = time.Since(start)
		results = append(results, res)
	}
	return results, nil
}

func containsLine(lines []string, sub string) bool {
	for _, l := range lines {
		if strings.Contains(l, sub) {
			return true
		}
	}
	return false
}

func truncate(b []byte) string {
	if len(b) > 200 {
		return string(b[:200]) + "..."
	}
	return string(b)
}
