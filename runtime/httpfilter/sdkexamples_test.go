package httpfilter_test

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wasmctl/wasmctl/internal/sharedtest"
	"github.com/wasmctl/wasmctl/runtime/host"
	"github.com/wasmctl/wasmctl/sdk/wasmbuild"
)

// The SDK examples (sdk/examples), compiled with the standard Go toolchain,
// run here through a real proxy with real requests, and must show the
// behaviour their own tests check under the SDK's emulator
// (sdk/examples/*/main_test.go).

var sdkBuild sync.Once

// sdkExample builds (once per process, two at a time) and compiles an SDK
// example.
func sdkExample(t *testing.T, name string) *host.Module {
	t.Helper()
	root := sharedtest.RepoRoot(t) + "/sdk/examples/"
	r := runtimeT(t)
	sdkBuild.Do(func() {
		sem := make(chan struct{}, 2)
		var wg sync.WaitGroup
		for _, n := range []string{"http_headers", "http_auth_random", "json_validation", "http_body", "metrics", "properties", "http_routing", "multiple_dispatches", "postpone_requests"} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				sem <- struct{}{}
				defer func() { <-sem }()
				// Errors surface below, through ForTest and compileBytes.
				if b, err := wasmbuild.Cached(root + n); err == nil {
					r.Compile(context.Background(), b) // cached by digest for compileBytes
				}
			}()
		}
		wg.Wait()
	})
	return compileBytes(t, "sdk:"+name, wasmbuild.ForTest(t, root+name))
}

func TestSDKExampleHTTPHeaders(t *testing.T) {
	m := sdkExample(t, "http_headers")
	p := newPlugin(t, m, host.PluginConfig{PluginConfig: []byte(`{"header": "x-wasm-header", "value": "demo-wasm"}`)})
	up := newUpstream(t, nil)
	px := proxy(t, up, p)
	for n := 1; n <= 2; n++ {
		resp, body := get(t, px.URL+"/", map[string]string{"key1": "value1", "test": "worst"}, "")
		if resp.StatusCode != 200 || body != "hello from upstream" {
			t.Fatalf("got %d %q", resp.StatusCode, body)
		}
		if got := up.last(t).Header.Get("test"); got != "best" {
			t.Errorf("upstream saw test=%q, want best", got)
		}
		for k, want := range map[string]string{
			"x-proxy-wasm-go-sdk-example": "http_headers",
			"x-proxy-wasm-counter":        string(rune('0' + n)),
			"x-wasm-header":               "demo-wasm",
		} {
			if got := resp.Header.Get(k); got != want {
				t.Errorf("response %d: %s = %q, want %q", n, k, got, want)
			}
		}
	}
	for _, want := range []string{"request header --> key1: value1", "request header --> test: best",
		"response header <-- x-proxy-wasm-counter: 2", "response header <-- x-wasm-header: demo-wasm", " finished"} {
		logs.WaitFor(t, t.Name(), want, time.Second)
	}
	// An invalid configuration fails the start, as StartPlugin does there.
	if _, err := runtimeT(t).NewPlugin(t.Context(), m, host.PluginConfig{Name: t.Name() + "-bad", PoolSize: 1, PluginConfig: []byte("{header")}); err == nil {
		t.Error("a non-JSON configuration started")
	}
}

func TestSDKExampleHTTPAuthRandom(t *testing.T) {
	m := sdkExample(t, "http_auth_random")
	// fnv32a("allow") is even (granted), fnv32a("deny") is odd (forbidden).
	auth := newUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/allow") {
			w.Write([]byte("allow"))
			return
		}
		w.Write([]byte("deny"))
	})
	clusterM.m.Store("httpbin", auth.URL)
	t.Cleanup(func() { clusterM.m.Delete("httpbin") })
	p := newPlugin(t, m, host.PluginConfig{})
	up := newUpstream(t, nil)
	px := proxy(t, up, p)

	resp, body := get(t, px.URL+"/allow", map[string]string{"key": "value"}, "")
	if resp.StatusCode != 200 || body != "hello from upstream" {
		t.Fatalf("granted: got %d %q", resp.StatusCode, body)
	}
	if got := auth.last(t).Header.Get("key"); got != "value" {
		t.Errorf("the callout did not carry the request headers: key=%q", got)
	}
	logs.WaitFor(t, t.Name(), "request header from: key: value", time.Second)
	logs.WaitFor(t, t.Name(), "access granted", time.Second)
	n := up.count()
	resp, body = get(t, px.URL+"/deny", nil, "")
	if resp.StatusCode != 403 || body != "access forbidden" || resp.Header.Get("powered-by") != "proxy-wasm-go-sdk!!" {
		t.Errorf("forbidden: got %d %q powered-by=%q", resp.StatusCode, body, resp.Header.Get("powered-by"))
	}
	if up.count() != n {
		t.Error("a forbidden request reached the upstream")
	}
}

func TestSDKExampleJSONValidation(t *testing.T) {
	m := sdkExample(t, "json_validation")
	p := newPlugin(t, m, host.PluginConfig{PluginConfig: []byte(`{"requiredKeys": ["my_key"]}`)})
	up := newUpstream(t, nil)
	px := proxy(t, up, p)
	ct := map[string]string{"content-type": "application/json"}
	for _, tc := range []struct {
		name   string
		hdr    map[string]string
		body   string
		status int
		reason string
	}{
		{"valid", ct, `{"my_key": "foo"}`, 200, "hello from upstream"},
		{"missing key", ct, `{"other": 1}`, 403, "invalid payload"},
		{"not json", ct, `not json`, 403, "invalid payload"},
		{"no content-type", nil, `{"my_key": "foo"}`, 403, "content-type must be provided"},
	} {
		resp, body := get(t, px.URL+"/", tc.hdr, tc.body)
		if resp.StatusCode != tc.status || body != tc.reason {
			t.Errorf("%s: got %d %q, want %d %q", tc.name, resp.StatusCode, body, tc.status, tc.reason)
		}
	}
	if up.count() != 1 || up.last(t).Body != `{"my_key": "foo"}` {
		t.Errorf("upstream got %d requests, last body %q; want only the valid one", up.count(), up.last(t).Body)
	}
}

func TestSDKExampleHTTPBody(t *testing.T) {
	m := sdkExample(t, "http_body")
	t.Run("no content-length", func(t *testing.T) {
		p := newPlugin(t, m, host.PluginConfig{})
		up := newUpstream(t, nil)
		resp, body := get(t, proxy(t, up, p).URL+"/", nil, "")
		if resp.StatusCode != 400 || body != "content must be provided" || up.count() != 0 {
			t.Errorf("got %d %q (upstream saw %d)", resp.StatusCode, body, up.count())
		}
	})
	t.Run("echo", func(t *testing.T) {
		p := newPlugin(t, m, host.PluginConfig{PluginConfig: []byte("echo")})
		up := newUpstream(t, nil)
		resp, body := get(t, proxy(t, up, p).URL+"/", nil, "hello world")
		if resp.StatusCode != 200 || body != "hello world" || up.count() != 0 {
			t.Errorf("got %d %q (upstream saw %d)", resp.StatusCode, body, up.count())
		}
	})
	t.Run("rewrite", func(t *testing.T) {
		p := newPlugin(t, m, host.PluginConfig{})
		up := newUpstream(t, nil)
		px := proxy(t, up, p)
		resp, _ := get(t, px.URL+"/", map[string]string{"buffer-operation": "append"}, "[original body]")
		if resp.StatusCode != 200 || !strings.HasPrefix(up.last(t).Body, "[original body]") || up.last(t).Body == "[original body]" {
			t.Errorf("append: %d, upstream body %q", resp.StatusCode, up.last(t).Body)
		}
		resp, body := get(t, px.URL+"/", map[string]string{"buffer-replace-at": "response"}, "[original body]")
		if resp.StatusCode != 200 || body == "hello from upstream" || up.last(t).Body != "[original body]" {
			t.Errorf("replace at response: %d %q, upstream body %q", resp.StatusCode, body, up.last(t).Body)
		}
		logs.WaitFor(t, t.Name(), "original request body: [original body]", time.Second)
	})
}

func TestSDKExampleMetrics(t *testing.T) {
	m := sdkExample(t, "metrics")
	p := newPlugin(t, m, host.PluginConfig{})
	up := newUpstream(t, nil)
	px := proxy(t, up, p)
	for _, v := range []string{"foo", "foo", "bar", "foo", ""} {
		var h map[string]string
		if v != "" {
			h = map[string]string{"my-custom-header": v}
		}
		if resp, _ := get(t, px.URL+"/", h, ""); resp.StatusCode != 200 {
			t.Fatalf("status %d", resp.StatusCode)
		}
	}
	for v, want := range map[string]int64{"foo": 3, "bar": 1} {
		name := "custom_header_value_counts_value=" + v + "_reporter=wasmgosdk"
		if got, ok := runtimeT(t).MetricValue(t.Name(), name); !ok || got != want {
			t.Errorf("%s = %d (%v), want %d", name, got, ok, want)
		}
	}
	logs.WaitFor(t, t.Name(), "incremented custom_header_value_counts_value=foo_reporter=wasmgosdk to 3", time.Second)
}

func TestSDKExampleProperties(t *testing.T) {
	m := sdkExample(t, "properties")
	props := map[string]any{"route_metadata": map[string]any{"filter_metadata": map[string]any{
		"envoy.filters.http.wasm": map[string]any{"auth": "cookie"}}}}
	p := newPlugin(t, m, host.PluginConfig{Properties: props})
	up := newUpstream(t, nil)
	px := proxy(t, up, p)
	if resp, _ := get(t, px.URL+"/", map[string]string{"cookie": "a=b"}, ""); resp.StatusCode != 200 {
		t.Errorf("with the header: status %d, want 200", resp.StatusCode)
	}
	resp, body := get(t, px.URL+"/", map[string]string{"authorization": "x"}, "")
	if resp.StatusCode != 401 || body != "" || resp.Header.Get("grpc-status") != "16" && resp.Header.Get("grpc-status") != "" {
		t.Errorf("without the header: %d %q grpc-status=%q, want 401", resp.StatusCode, body, resp.Header.Get("grpc-status"))
	}
	logs.WaitFor(t, t.Name(), `auth header is "cookie"`, time.Second)
	p2 := newPlugin(t, m, host.PluginConfig{Name: t.Name() + "-none"})
	if resp, _ := get(t, proxy(t, up, p2).URL+"/", nil, ""); resp.StatusCode != 200 {
		t.Errorf("route without the property: status %d, want 200", resp.StatusCode)
	}
	logs.WaitFor(t, t.Name()+"-none", "no auth header for route", time.Second)
}

func TestSDKExampleHTTPRouting(t *testing.T) {
	m := sdkExample(t, "http_routing")
	for _, tc := range []struct {
		dice   byte
		suffix string
	}{{2, "-canary"}, {3, ""}} {
		p := newPlugin(t, m, host.PluginConfig{Name: t.Name() + string(rune('0'+tc.dice)), PluginConfig: []byte{tc.dice}})
		up := newUpstream(t, nil)
		px := proxy(t, up, p)
		get(t, px.URL+"/", nil, "")
		if want := strings.TrimPrefix(px.URL, "http://") + tc.suffix; up.last(t).Host != want {
			t.Errorf("dice %d: upstream Host %q, want %q", tc.dice, up.last(t).Host, want)
		}
	}
}

func TestSDKExampleMultipleDispatches(t *testing.T) {
	m := sdkExample(t, "multiple_dispatches")
	callouts := newUpstream(t, nil)
	clusterM.m.Store("httpbin", callouts.URL)
	t.Cleanup(func() { clusterM.m.Delete("httpbin") })
	p := newPlugin(t, m, host.PluginConfig{})
	up := newUpstream(t, nil)
	resp, body := get(t, proxy(t, up, p).URL+"/", nil, "")
	if resp.StatusCode != 200 || body != "hello from upstream" {
		t.Fatalf("got %d %q", resp.StatusCode, body)
	}
	if callouts.count() != 10 {
		t.Errorf("callout cluster saw %d requests, want 10", callouts.count())
	}
	logs.WaitFor(t, t.Name(), "response resumed after processed 10 dispatched request", time.Second)
}

func TestSDKExamplePostponeRequests(t *testing.T) {
	m := sdkExample(t, "postpone_requests")
	p := newPlugin(t, m, host.PluginConfig{})
	up := newUpstream(t, nil)
	resp, body := get(t, proxy(t, up, p).URL+"/", nil, "")
	if resp.StatusCode != 200 || body != "hello from upstream" {
		t.Fatalf("got %d %q", resp.StatusCode, body)
	}
	logs.WaitFor(t, t.Name(), "postponing request in context", time.Second)
	logs.WaitFor(t, t.Name(), "resumed request in context", time.Second)
}
