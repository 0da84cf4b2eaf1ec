package httpfilter_test

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/wasmctl/wasmctl/runtime/host"
)

func get(t *testing.T, url string, hdr map[string]string, body string) (*http.Response, string) {
	t.Helper()
	method := http.MethodGet
	var rd io.Reader
	if body != "" {
		method = http.MethodPost
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(t.Context(), method, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

func TestCorpusGoHTTPHeaders(t *testing.T) {
	m := corpusModule(t, "roastedroot-java/go-http_headers.wasm")
	p := newPlugin(t, m, host.PluginConfig{PluginConfig: []byte(`{"header":"x-configured","value":"yes"}`)})
	up := newUpstream(t, nil)
	px := proxy(t, up, p)
	for i := 1; i <= 2; i++ {
		resp, body := get(t, px.URL+"/hello", map[string]string{"test": "old"}, "")
		if resp.StatusCode != 200 || body != "hello from upstream" {
			t.Fatalf("got %d %q", resp.StatusCode, body)
		}
		if got := up.last(t).Header.Get("test"); got != "best" {
			t.Errorf("upstream saw test=%q, want best", got)
		}
		if got := resp.Header.Get("x-proxy-wasm-go-sdk-example"); got != "http_headers" {
			t.Errorf("x-proxy-wasm-go-sdk-example = %q", got)
		}
		if got := resp.Header.Get("x-configured"); got != "yes" {
			t.Errorf("x-configured = %q", got)
		}
		if got := resp.Header.Get("x-proxy-wasm-counter"); got == "" {
			t.Errorf("missing x-proxy-wasm-counter")
		}
	}
	if !logs.Find(t.Name(), "test: best") {
		t.Errorf("request headers not logged: %v", logs.Lines(t.Name()))
	}
}
