package httpfilter_test

import (
	"bytes"
	"compress/zlib"
	"encoding/hex"
	"errors"
	"hash/fnv"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

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

// fnvBody returns a body whose fnv32a hash has the wanted parity.
func fnvBody(even bool) string {
	for i := 0; ; i++ {
		b := "body-" + strconv.Itoa(i)
		h := fnv.New32a()
		h.Write([]byte(b))
		if (h.Sum32()%2 == 0) == even {
			return b
		}
	}
}

// authCluster registers a cluster answering /even with an even-hash body
// and anything else with an odd-hash body.
func authCluster(t *testing.T, name string) *upstream {
	even, odd := fnvBody(true), fnvBody(false)
	c := newUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/even") {
			w.Write([]byte(even))
			return
		}
		w.Write([]byte(odd))
	})
	clusterM.m.Store(name, c.URL)
	t.Cleanup(func() { clusterM.m.Delete(name) })
	return c
}

func testAuthRandom(t *testing.T, rel, poweredBy string) {
	m := corpusModule(t, rel)
	p := newPlugin(t, m, host.PluginConfig{})
	callouts := authCluster(t, "httpbin")
	up := newUpstream(t, nil)
	px := proxy(t, up, p)

	resp, body := get(t, px.URL+"/even", nil, "")
	if resp.StatusCode != 200 || body != "hello from upstream" {
		t.Fatalf("even hash: got %d %q, want the upstream's 200", resp.StatusCode, body)
	}
	before := up.count()
	resp, body = get(t, px.URL+"/odd", nil, "")
	if resp.StatusCode != 403 || body != "access forbidden" {
		t.Fatalf("odd hash: got %d %q, want 403 access forbidden", resp.StatusCode, body)
	}
	if resp.Header.Get("powered-by") != poweredBy {
		t.Errorf("powered-by = %q", resp.Header.Get("powered-by"))
	}
	if up.count() != before {
		t.Errorf("a denied request reached the upstream")
	}
	if callouts.count() != 2 {
		t.Errorf("callout cluster saw %d requests, want 2", callouts.count())
	}
}

func TestCorpusGoHTTPAuthRandom(t *testing.T) {
	testAuthRandom(t, "roastedroot-java/go-http_auth_random.wasm", "proxy-wasm-go-sdk!!")
}

func TestCorpusTinyGo2020HTTPAuthRandom(t *testing.T) {
	// The 2020 build predates the SDK rename: its header says proxy-wasm-go.
	testAuthRandom(t, "tetratelabs-go-sdk-2020/http_auth_random.wasm", "proxy-wasm-go!!")
}

func TestCorpusGoHTTPBody(t *testing.T) {
	m := corpusModule(t, "roastedroot-java/go-http_body.wasm")
	t.Run("no content-length", func(t *testing.T) {
		p := newPlugin(t, m, host.PluginConfig{})
		up := newUpstream(t, nil)
		px := proxy(t, up, p)
		resp, body := get(t, px.URL+"/", nil, "")
		if resp.StatusCode != 400 || body != "content must be provided" {
			t.Fatalf("got %d %q", resp.StatusCode, body)
		}
		if up.count() != 0 {
			t.Error("upstream was called")
		}
	})
	for _, tc := range []struct{ op, want string }{
		{"replace", "[this is replaced body]"},
		{"append", "original[this is appended body]"},
		{"prepend", "[this is prepended body]original"},
		{"", "[this is replaced body]"},
	} {
		t.Run("request "+tc.op, func(t *testing.T) {
			p := newPlugin(t, m, host.PluginConfig{})
			up := newUpstream(t, nil)
			px := proxy(t, up, p)
			hdr := map[string]string{}
			if tc.op != "" {
				hdr["buffer-operation"] = tc.op
			}
			resp, _ := get(t, px.URL+"/", hdr, "original")
			if resp.StatusCode != 200 {
				t.Fatalf("status %d", resp.StatusCode)
			}
			if got := up.last(t).Body; got != tc.want {
				t.Errorf("upstream body %q, want %q", got, tc.want)
			}
		})
	}
	t.Run("response append", func(t *testing.T) {
		p := newPlugin(t, m, host.PluginConfig{})
		up := newUpstream(t, nil)
		px := proxy(t, up, p)
		_, body := get(t, px.URL+"/", map[string]string{"buffer-operation": "append", "buffer-replace-at": "response"}, "original")
		if body != "hello from upstream[this is appended body]" {
			t.Errorf("client body %q", body)
		}
		if got := up.last(t).Body; got != "original" {
			t.Errorf("upstream body %q, want the original", got)
		}
	})
	t.Run("echo", func(t *testing.T) {
		p := newPlugin(t, m, host.PluginConfig{PluginConfig: []byte("echo")})
		up := newUpstream(t, nil)
		px := proxy(t, up, p)
		resp, body := get(t, px.URL+"/", nil, "echo me")
		if resp.StatusCode != 200 || body != "echo me" || up.count() != 0 {
			t.Errorf("got %d %q (upstream calls %d)", resp.StatusCode, body, up.count())
		}
	})
}

func TestCorpusCppOnRequestHeaders(t *testing.T) {
	testLogsHeaders(t, "roastedroot-java/cpp-on_request_headers.wasm", true)
}

func TestCorpusMosnExampleHTTP(t *testing.T) {
	testLogsHeaders(t, "mosn-go-host/example-http.wasm", false)
}

func testLogsHeaders(t *testing.T, rel string, doneLogs bool) {
	m := corpusModule(t, rel)
	p := newPlugin(t, m, host.PluginConfig{})
	up := newUpstream(t, nil)
	px := proxy(t, up, p)
	resp, body := get(t, px.URL+"/x", map[string]string{"x-probe": "42"}, "")
	if resp.StatusCode != 200 || body != "hello from upstream" {
		t.Fatalf("got %d %q", resp.StatusCode, body)
	}
	if !logs.Find(t.Name(), "print from wasm, onRequestHeaders, context id:") {
		t.Errorf("no onRequestHeaders log: %q", logs.Lines(t.Name()))
	}
	if !logs.Find(t.Name(), "print from wasm, x-probe -> 42") {
		t.Errorf("header not logged: %q", logs.Lines(t.Name()))
	}
	if doneLogs {
		for _, s := range []string{"onDone", "onLog", "onDelete"} {
			if !logs.Find(t.Name(), s) {
				t.Errorf("no %s log: %q", s, logs.Lines(t.Name()))
			}
		}
	}
}

func TestCorpusAddReqHeader(t *testing.T) {
	for _, rel := range []string{"mosn-go-host/add-req-header-v2.wasm", "mosn-go-host/add-req-header-v1.wasm"} {
		t.Run(rel, func(t *testing.T) {
			m := corpusModule(t, rel)
			p := newPlugin(t, m, host.PluginConfig{})
			up := newUpstream(t, nil)
			px := proxy(t, up, p)
			var ids []string
			for range 2 {
				resp, _ := get(t, px.URL+"/", nil, "")
				if resp.StatusCode != 200 {
					t.Fatalf("status %d", resp.StatusCode)
				}
				id := up.last(t).Header.Get("Wasm-Context")
				if _, err := strconv.Atoi(id); err != nil {
					t.Fatalf("Wasm-Context = %q, want a context id", id)
				}
				ids = append(ids, id)
			}
			if ids[0] == ids[1] {
				t.Errorf("two streams got the same context id %s", ids[0])
			}
		})
	}
}

func TestCorpusAssemblyScriptAddHeader(t *testing.T) {
	for _, tc := range []struct{ rel, root, cfg, hdr, want string }{
		{"as-envoy-experiments/wasm-filter-optimized.wasm", "add_header", "", "Version", "v1.12"},
		{"as-envoy-experiments/wasm-filter-optimized.wasm", "add_header", "world", "hello", "world"},
		// INDEX.md says root id version_header and v1.14, but this binary's
		// strings are add_header and v1.12 (it is the same filter).
		{"as-envoy-experiments/k8s-example-filter-optimized.wasm", "add_header", "", "Version", "v1.12"},
	} {
		t.Run(tc.rel+"/"+tc.cfg, func(t *testing.T) {
			m := corpusModule(t, tc.rel)
			p := newPlugin(t, m, host.PluginConfig{RootID: tc.root, PluginConfig: []byte(tc.cfg)})
			up := newUpstream(t, nil)
			px := proxy(t, up, p)
			resp, _ := get(t, px.URL+"/", nil, "")
			if got := resp.Header.Get(tc.hdr); got != tc.want {
				t.Errorf("%s = %q, want %q (headers %v)", tc.hdr, got, tc.want, resp.Header)
			}
		})
	}
	t.Run("wrong root id kills the VM, FAIL_CLOSE answers 503", func(t *testing.T) {
		m := corpusModule(t, "as-envoy-experiments/wasm-filter-optimized.wasm")
		p := newPlugin(t, m, host.PluginConfig{RootID: "other"})
		up := newUpstream(t, nil)
		px := proxy(t, up, p)
		resp, _ := get(t, px.URL+"/", nil, "")
		if resp.StatusCode != 503 {
			t.Errorf("status %d, want 503", resp.StatusCode)
		}
		if !logs.Find(t.Name(), "did not find root id other") {
			t.Errorf("missing the filter's own complaint: %q", logs.Lines(t.Name()))
		}
		if p.Status().Crashes == 0 {
			t.Error("crash not counted")
		}
		if up.count() != 0 {
			t.Error("request reached the upstream")
		}
	})
}

func TestCorpusRustHelloWorld(t *testing.T) {
	m := corpusModule(t, "roastedroot-java/rust-hello_world.wasm")
	newPlugin(t, m, host.PluginConfig{})
	logs.WaitFor(t, t.Name(), "Hello, World!", 2*time.Second)
}

func TestCorpusGoHelloWorld(t *testing.T) {
	m := corpusModule(t, "roastedroot-java/go-helloworld.wasm")
	p := newPlugin(t, m, host.PluginConfig{})
	logs.WaitFor(t, t.Name(), "OnPluginStart from Go!", 2*time.Second)
	logs.WaitFor(t, t.Name(), "It's", 3*time.Second) // on_tick logs the time every second
	up := newUpstream(t, nil)
	resp, _ := get(t, proxy(t, up, p).URL+"/", nil, "")
	if resp.StatusCode != 200 {
		t.Errorf("DefaultHttpContext request: status %d", resp.StatusCode)
	}
}

func TestCorpusTinyGo2020HelloWorld(t *testing.T) {
	m := corpusModule(t, "tetratelabs-go-sdk-2020/helloworld.wasm")
	newPlugin(t, m, host.PluginConfig{})
	logs.WaitFor(t, t.Name(), "proxy_on_vm_start from Go!", 2*time.Second)
}

func TestCorpusTinyGo2020HTTPHeaders(t *testing.T) {
	m := corpusModule(t, "tetratelabs-go-sdk-2020/http_headers.wasm")
	p := newPlugin(t, m, host.PluginConfig{})
	up := newUpstream(t, nil)
	resp, _ := get(t, proxy(t, up, p).URL+"/", map[string]string{"x-probe": "tinygo"}, "")
	if resp.StatusCode != 200 {
		t.Fatalf("status %d", resp.StatusCode)
	}
	if !logs.Find(t.Name(), "tinygo") {
		t.Errorf("request header not logged: %q", logs.Lines(t.Name()))
	}
}

func TestCorpusGoHTTPBodyChunk(t *testing.T) {
	m := corpusModule(t, "roastedroot-java/go-http_body_chunk.wasm")
	p := newPlugin(t, m, host.PluginConfig{})
	up := newUpstream(t, nil)
	px := proxy(t, up, p)
	resp, _ := get(t, px.URL+"/", nil, "some text with pattern inside")
	if resp.StatusCode != 403 {
		t.Errorf("body with pattern: status %d, want 403", resp.StatusCode)
	}
	resp, body := get(t, px.URL+"/", nil, "nothing to see")
	if resp.StatusCode != 200 || body != "hello from upstream" || up.last(t).Body != "nothing to see" {
		t.Errorf("clean body: %d %q upstream %q", resp.StatusCode, body, up.last(t).Body)
	}
	if !logs.Find(t.Name(), "pattern not found") {
		t.Errorf("no 'pattern not found' log: %q", logs.Lines(t.Name()))
	}
}

func TestCorpusGoHTTPRouting(t *testing.T) {
	m := corpusModule(t, "roastedroot-java/go-http_routing.wasm")
	for _, tc := range []struct {
		dice byte
		want string
	}{{2, "-canary"}, {3, ""}} {
		p := newPlugin(t, m, host.PluginConfig{Name: t.Name() + strconv.Itoa(int(tc.dice)), PluginConfig: []byte{tc.dice}})
		up := newUpstream(t, nil)
		px := proxy(t, up, p)
		get(t, px.URL+"/", nil, "")
		host := strings.TrimPrefix(px.URL, "http://")
		if got := up.last(t).Host; got != host+tc.want {
			t.Errorf("dice %d: upstream Host %q, want %q", tc.dice, got, host+tc.want)
		}
	}
}

func TestCorpusGoJSONValidation(t *testing.T) {
	m := corpusModule(t, "roastedroot-java/go-json_validation.wasm")
	p := newPlugin(t, m, host.PluginConfig{PluginConfig: []byte(`{"requiredKeys":["id","token"]}`)})
	up := newUpstream(t, nil)
	px := proxy(t, up, p)
	resp, body := get(t, px.URL+"/", nil, `{"id":1,"token":"t"}`)
	if resp.StatusCode != 403 || body != "content-type must be provided" {
		t.Errorf("no content-type: %d %q", resp.StatusCode, body)
	}
	ct := map[string]string{"content-type": "application/json"}
	resp, body = get(t, px.URL+"/", ct, `{"id":1}`)
	if resp.StatusCode != 403 || body != "invalid payload" {
		t.Errorf("missing key: %d %q", resp.StatusCode, body)
	}
	resp, _ = get(t, px.URL+"/", ct, `{"id":1,"token":"t"}`)
	if resp.StatusCode != 200 || up.last(t).Body != `{"id":1,"token":"t"}` {
		t.Errorf("valid payload: %d, upstream body %q", resp.StatusCode, up.last(t).Body)
	}
}

func TestCorpusGoMetrics(t *testing.T) {
	m := corpusModule(t, "roastedroot-java/go-metrics.wasm")
	p := newPlugin(t, m, host.PluginConfig{})
	up := newUpstream(t, nil)
	px := proxy(t, up, p)
	for range 3 {
		get(t, px.URL+"/", map[string]string{"my-custom-header": "foo"}, "")
	}
	name := "custom_header_value_counts_value=foo_reporter=wasmgosdk"
	if v, ok := runtimeT(t).MetricValue(t.Name(), name); !ok || v != 3 {
		t.Errorf("metric %s = %d (%v), want 3", name, v, ok)
	}
	var b strings.Builder
	runtimeT(t).WritePrometheus(&b)
	if !strings.Contains(b.String(), `custom_header_value_counts_value_foo_reporter_wasmgosdk{plugin="`+t.Name()+`"`) {
		t.Errorf("prometheus output lacks the metric:\n%s", b.String())
	}
}

func TestCorpusGoProperties(t *testing.T) {
	m := corpusModule(t, "roastedroot-java/go-properties.wasm")
	props := map[string]any{"route_metadata": map[string]any{"filter_metadata": map[string]any{
		"envoy.filters.http.wasm": map[string]any{"auth": "x-auth"}}}}
	p := newPlugin(t, m, host.PluginConfig{Properties: props})
	up := newUpstream(t, nil)
	px := proxy(t, up, p)
	resp, _ := get(t, px.URL+"/", nil, "")
	if resp.StatusCode != 401 {
		t.Errorf("without x-auth: status %d, want 401", resp.StatusCode)
	}
	resp, _ = get(t, px.URL+"/", map[string]string{"x-auth": "1"}, "")
	if resp.StatusCode != 200 {
		t.Errorf("with x-auth: status %d, want 200", resp.StatusCode)
	}
	// No route metadata: the property is NOT_FOUND and the request passes.
	p2 := newPlugin(t, m, host.PluginConfig{Name: t.Name() + "-none"})
	resp, _ = get(t, proxy(t, up, p2).URL+"/", nil, "")
	if resp.StatusCode != 200 {
		t.Errorf("no route metadata: status %d, want 200", resp.StatusCode)
	}
}

func TestCorpusGoSharedData(t *testing.T) {
	m := corpusModule(t, "roastedroot-java/go-shared_data.wasm")
	p := newPlugin(t, m, host.PluginConfig{VMID: t.Name(), PoolSize: 2})
	up := newUpstream(t, nil)
	px := proxy(t, up, p)
	for range 4 {
		if resp, _ := get(t, px.URL+"/", nil, ""); resp.StatusCode != 200 {
			t.Fatalf("status %d", resp.StatusCode)
		}
	}
	// This build's on_vm_start stores an empty value (not 10000000 as
	// INDEX.md says); each request CAS-increments it, across both VMs.
	for i := 1; i <= 4; i++ {
		logs.WaitFor(t, t.Name(), "shared value: "+strconv.Itoa(i), time.Second)
	}
}

func TestCorpusGoSharedQueue(t *testing.T) {
	recvMod := corpusModule(t, "roastedroot-java/go-shared_queue_receiver.wasm")
	sendMod := corpusModule(t, "roastedroot-java/go-shared_queue_sender.wasm")
	newPlugin(t, recvMod, host.PluginConfig{Name: t.Name() + "-recv", VMID: "receiver", PluginConfig: []byte("http_request_headers")})
	newPlugin(t, recvMod, host.PluginConfig{Name: t.Name() + "-recv2", VMID: "receiver", PluginConfig: []byte("http_response_headers")})
	sender := newPlugin(t, sendMod, host.PluginConfig{Name: t.Name() + "-send", VMID: "sender", PluginConfig: []byte("http")})
	up := newUpstream(t, nil)
	resp, _ := get(t, proxy(t, up, sender).URL+"/", map[string]string{"x-queued": "q1"}, "")
	if resp.StatusCode != 200 {
		t.Fatalf("status %d", resp.StatusCode)
	}
	logs.WaitFor(t, t.Name()+"-recv", `"key": "x-queued","value": "q1"`, 2*time.Second)
	logs.WaitFor(t, t.Name()+"-recv2", `dequeued data from http_response_headers`, 2*time.Second)
}

func TestCorpusGoDispatchCallOnTick(t *testing.T) {
	m := corpusModule(t, "roastedroot-java/go-dispatch_call_on_tick.wasm")
	ws := newUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("x-from", "web_service")
		w.Write([]byte("ok"))
	})
	clusterM.m.Store("web_service", ws.URL)
	t.Cleanup(func() { clusterM.m.Delete("web_service") })
	newPlugin(t, m, host.PluginConfig{})
	logs.WaitFor(t, t.Name(), "response header for the dispatched call: x-from: web_service", 3*time.Second)
	logs.WaitFor(t, t.Name(), "called 2 for contextID=", 3*time.Second)
}

func TestCorpusGoForeignCallOnTick(t *testing.T) {
	m := corpusModule(t, "roastedroot-java/go-foreign_call_on_tick.wasm")
	newPlugin(t, m, host.PluginConfig{})
	var b bytes.Buffer
	w := zlib.NewWriter(&b)
	w.Write([]byte("hello world!"))
	w.Close()
	logs.WaitFor(t, t.Name(), "foreign function (compress) called: 1, result: "+hex.EncodeToString(b.Bytes()), 2*time.Second)
}

func TestCorpusGoVMPluginConfiguration(t *testing.T) {
	m := corpusModule(t, "roastedroot-java/go-vm_plugin_configuration.wasm")
	newPlugin(t, m, host.PluginConfig{VMConfig: []byte("vm-config-123"), PluginConfig: []byte("plugin-config-456")})
	logs.WaitFor(t, t.Name(), "vm-config-123", time.Second)
	logs.WaitFor(t, t.Name(), "plugin-config-456", time.Second)
}

func TestCorpusZigForwardSSLSession(t *testing.T) {
	m := corpusModule(t, "zig-sdk/forward-ssl-session.wasm")
	p, err := runtimeT(t).NewPlugin(t.Context(), m, host.PluginConfig{Name: t.Name(), PoolSize: 1})
	if err == nil {
		p.Close(t.Context())
		t.Fatal("INDEX.md: configure traps without config, but the plugin started")
	}
	var se *host.StartError
	if !errors.As(err, &se) || se.Step != "proxy_on_configure" {
		t.Fatalf("want a StartError at proxy_on_configure, got %v", err)
	}
}

func TestCorpusWasmerData(t *testing.T) {
	// A DWARF test input, not a filter: it must compile (ABI 0.1.0) and
	// either start or fail with a clear error, never crash the process.
	m := corpusModule(t, "mosn-go-host/wasmer-data.wasm")
	if m.ABI != host.ABI010 {
		t.Errorf("ABI %s, want 0.1.0", m.ABI)
	}
	p, err := runtimeT(t).NewPlugin(t.Context(), m, host.PluginConfig{Name: t.Name(), PoolSize: 1})
	if err != nil {
		t.Logf("start error (acceptable for this non-filter): %v", err)
		return
	}
	defer p.Close(t.Context())
	up := newUpstream(t, nil)
	resp, _ := get(t, proxy(t, up, p).URL+"/", nil, "")
	t.Logf("status %d", resp.StatusCode)
}
