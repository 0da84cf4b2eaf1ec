package proxy

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wasmctl/wasmctl/internal/testregistry"
	"github.com/wasmctl/wasmctl/runtime/cache/cachetest"
	"github.com/wasmctl/wasmctl/sdk/wasmbuild"
)

// compileDir is wazero's on-disk compilation cache shared by every engine of
// this test process, so each module version compiles once.
var compileDir = sync.OnceValue(func() string {
	d, err := os.MkdirTemp("", "wasmctl-proxy-test-compiled-")
	if err != nil {
		panic(err)
	}
	return d
})

func TestMain(m *testing.M) {
	code := m.Run()
	os.RemoveAll(compileDir())
	os.Exit(code)
}

// addHeaderModules returns the addheader test filter and a second version of
// it: the same code plus a custom section, so it has another digest and is
// compiled and started as a different module.
func addHeaderModules(t testing.TB) (v1, v2 []byte) {
	t.Helper()
	v1 = wasmbuild.ForTest(t, "testdata/addheader")
	section := cachetest.Module("v2")[8:] // the custom section of a tiny module
	v2 = append(append([]byte(nil), v1...), section...)
	return v1, v2
}

// runProxy starts Run in the background on a config file and returns the
// server once it serves.
func runProxy(t *testing.T, cfgPath, cacheDir string, plainHTTP bool) (*Server, func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	started := make(chan *Server, 1)
	errc := make(chan error, 1)
	go func() {
		errc <- Run(ctx, RunOptions{
			ConfigPath: cfgPath, CacheDir: cacheDir, PlainHTTP: plainHTTP, Logger: testLogger(t),
			CompileCacheDir: compileDir(),
			Started:         func(s *Server, _ string) { started <- s },
		})
	}()
	select {
	case s := <-started:
		stop := func() {
			cancel()
			if err := <-errc; err != nil {
				t.Errorf("Run returned %v", err)
			}
		}
		return s, stop
	case err := <-errc:
		cancel()
		t.Fatalf("Run: %v", err)
	case <-time.After(2 * time.Minute):
		cancel()
		t.Fatal("the proxy did not start within 2 minutes")
	}
	return nil, nil
}

// writeAtomic replaces path the way editors do: write a temporary file, then
// rename it over the old one.
func writeAtomic(t testing.TB, path, content string) {
	t.Helper()
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

const reloadCfg = `
listeners:
- name: web
  address: 127.0.0.1:0
  routes: [{cluster: app}]
  filters:
  - name: version
    url: file://%s
    pluginConfig: "x-filter-version: %s"
clusters:
- name: app
  endpoints: [%s]
drainTimeout: 10s
`

// TestHotReloadUnderLoadFailsNoRequest swaps the filter version many times by
// rewriting the config file while clients hammer the proxy: no request may
// fail, and every response must carry the header of the old or the new
// version.
func TestHotReloadUnderLoadFailsNoRequest(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and compiles a Go filter")
	}
	v1, v2 := addHeaderModules(t)
	dir := t.TempDir()
	paths := map[string]string{"v1": filepath.Join(dir, "v1.wasm"), "v2": filepath.Join(dir, "v2.wasm")}
	os.WriteFile(paths["v1"], v1, 0o644)
	os.WriteFile(paths["v2"], v2, 0o644)
	app := upstream(t, "app")
	cfgPath := filepath.Join(dir, "runtime.yaml")
	cfgFor := func(v string) string { return fmt.Sprintf(reloadCfg, paths[v], v, hostOf(app)) }
	writeAtomic(t, cfgPath, cfgFor("v1"))
	s, stop := runProxy(t, cfgPath, t.TempDir(), false)
	defer stop()
	base := "http://" + s.Addr("web") + "/"

	const clients = 8
	var (
		total, failed atomic.Int64
		seen          sync.Map // version → count
		firstFailure  atomic.Value
		quit          = make(chan struct{})
		wg            sync.WaitGroup
	)
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: clients}, Timeout: 10 * time.Second}
	for range clients {
		wg.Go(func() {
			for {
				select {
				case <-quit:
					return
				default:
				}
				resp, err := client.Get(base)
				total.Add(1)
				if err != nil {
					failed.Add(1)
					firstFailure.CompareAndSwap(nil, err.Error())
					continue
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				v := resp.Header.Get("X-Filter-Version")
				if resp.StatusCode != 200 || (v != "v1" && v != "v2") {
					failed.Add(1)
					firstFailure.CompareAndSwap(nil, fmt.Sprintf("status %d, x-filter-version %q", resp.StatusCode, v))
					continue
				}
				n, _ := seen.LoadOrStore(v, new(atomic.Int64))
				n.(*atomic.Int64).Add(1)
			}
		})
	}

	const swaps = 20
	gen0 := s.ConfigDump().Generation
	var reloadTimes []time.Duration
	for i := range swaps {
		v := "v2"
		if i%2 == 1 {
			v = "v1"
		}
		t0 := time.Now()
		if i%3 == 2 {
			os.WriteFile(cfgPath, []byte(cfgFor(v)), 0o644) // in-place write
		} else {
			writeAtomic(t, cfgPath, cfgFor(v)) // editor-style rename
		}
		deadline := time.Now().Add(30 * time.Second)
		for s.ConfigDump().Generation != gen0+uint64(i)+1 {
			if time.Now().After(deadline) {
				t.Fatalf("swap %d to %s not applied within 30s: %+v", i, v, s.ConfigDump().LastError)
			}
			time.Sleep(2 * time.Millisecond)
		}
		reloadTimes = append(reloadTimes, time.Since(t0))
		time.Sleep(20 * time.Millisecond) // let traffic flow on this version
	}
	close(quit)
	wg.Wait()

	counts := map[string]int64{}
	seen.Range(func(k, v any) bool { counts[k.(string)] = v.(*atomic.Int64).Load(); return true })
	t.Logf("%d requests over %d swaps: %v; file change → applied: %v", total.Load(), swaps, counts, reloadTimes)
	if failed.Load() != 0 {
		t.Fatalf("%d of %d requests failed during hot reloads; first: %v", failed.Load(), total.Load(), firstFailure.Load())
	}
	if counts["v1"] == 0 || counts["v2"] == 0 {
		t.Fatalf("both versions must have served: %v", counts)
	}
	if resp, _ := get(t, base, nil); resp.Header.Get("X-Filter-Version") != "v1" {
		t.Fatalf("after the last swap (to v1) the response says %q", resp.Header.Get("X-Filter-Version"))
	}
	ps := s.Plugins()
	if len(ps) != 1 || ps[0].State != "running" || ps[0].Digest != "sha256:"+sha(v1) {
		t.Fatalf("/plugins after the swaps: %+v", ps)
	}
}

func sha(b []byte) string { return sha256Sum(b) }

// TestBadUpdatesKeepTheRunningVersion feeds the running proxy an invalid
// file, then a valid file whose filter fails verification: both are refused,
// the old version keeps serving and /plugins says why.
func TestBadUpdatesKeepTheRunningVersion(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and compiles a Go filter")
	}
	v1, _ := addHeaderModules(t)
	dir := t.TempDir()
	wasm := filepath.Join(dir, "v1.wasm")
	os.WriteFile(wasm, v1, 0o644)
	app := upstream(t, "app")
	cfgPath := filepath.Join(dir, "runtime.yaml")
	good := fmt.Sprintf(reloadCfg, wasm, "v1", hostOf(app))
	writeAtomic(t, cfgPath, good)
	s, stop := runProxy(t, cfgPath, t.TempDir(), false)
	defer stop()
	base := "http://" + s.Addr("web") + "/"

	// 1. Invalid YAML field: rejected by the watcher, nothing applied.
	writeAtomic(t, cfgPath, strings.Replace(good, "pluginConfig:", "pluginConfg:", 1))
	time.Sleep(300 * time.Millisecond)
	if g := s.ConfigDump().Generation; g != 1 {
		t.Fatalf("an invalid file was applied (generation %d)", g)
	}
	// 2. Valid file, but the module does not match its sha256.
	writeAtomic(t, cfgPath, strings.Replace(good, "    pluginConfig:", "    sha256: "+strings.Repeat("0", 64)+"\n    pluginConfig:", 1))
	waitFor(t, func() bool { return s.ConfigDump().LastError != "" })
	if e := s.ConfigDump().LastError; !strings.Contains(e, "sha256 mismatch") {
		t.Fatalf("last error %q does not say sha256 mismatch", e)
	}
	ps := s.Plugins()
	if len(ps) != 1 || ps[0].State != "running" || !strings.Contains(ps[0].LastError, "update rejected") {
		t.Fatalf("/plugins must show the running version and the rejected update: %+v", ps)
	}
	if resp, _ := get(t, base, nil); resp.StatusCode != 200 || resp.Header.Get("X-Filter-Version") != "v1" {
		t.Fatalf("the old version stopped serving: %d %q", resp.StatusCode, resp.Header.Get("X-Filter-Version"))
	}
	// 3. A module that fails to start (bad plugin configuration) is refused too.
	writeAtomic(t, cfgPath, strings.Replace(good, `"x-filter-version: v1"`, `"no colon here"`, 1))
	waitFor(t, func() bool { return strings.Contains(s.ConfigDump().LastError, "start") })
	if resp, _ := get(t, base, nil); resp.Header.Get("X-Filter-Version") != "v1" {
		t.Fatal("the old version stopped serving after a failed start")
	}
	// 4. Fixing the file applies it.
	writeAtomic(t, cfgPath, strings.Replace(good, "x-filter-version: v1", "x-filter-version: v1-fixed", 1))
	waitFor(t, func() bool { r, _ := get(t, base, nil); return r.Header.Get("X-Filter-Version") == "v1-fixed" })
}

// TestPullFromRegistryAndWarmRestartOffline runs the proxy on a filter
// pulled by tag from a real registry, then restarts it with the registry
// down: the warm cache must be enough.
func TestPullFromRegistryAndWarmRestartOffline(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and compiles a Go filter")
	}
	v1, _ := addHeaderModules(t)
	reg := testregistry.Start(t)
	u, _ := url.Parse(reg.URL)
	front := httptest.NewServer(httputil.NewSingleHostReverseProxy(u))
	defer front.Close()
	host := strings.TrimPrefix(front.URL, "http://")
	desc := cachetest.Push(t, reg.Ref("filters/addheader:1.0"), v1, cachetest.Compat)
	app := upstream(t, "app")
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "runtime.yaml")
	writeAtomic(t, cfgPath, fmt.Sprintf(`
listeners:
- name: web
  address: 127.0.0.1:0
  routes: [{cluster: app}]
  filters:
  - name: version
    url: oci://%s/filters/addheader:1.0
    sha256: %s
    pluginConfig: "x-filter-version: oci"
clusters: [{name: app, endpoints: [%s]}]
`, host, desc.Digest.Encoded(), hostOf(app)))
	cacheDir := t.TempDir()
	s, stop := runProxy(t, cfgPath, cacheDir, true)
	if r, _ := get(t, "http://"+s.Addr("web")+"/", nil); r.Header.Get("X-Filter-Version") != "oci" {
		t.Fatalf("filter pulled from the registry did not run: %v", r.Header)
	}
	ps := s.Plugins()
	if len(ps) != 1 || ps[0].ImageDigest != desc.Digest.String() || ps[0].Version != "1.0" {
		t.Fatalf("/plugins: %+v", ps)
	}
	stop()
	front.Close() // the registry is down

	s, stop = runProxy(t, cfgPath, cacheDir, true)
	defer stop()
	if r, _ := get(t, "http://"+s.Addr("web")+"/", nil); r.Header.Get("X-Filter-Version") != "oci" {
		t.Fatalf("warm restart without the registry did not run the filter: %v", r.Header)
	}
	var out strings.Builder
	json.NewEncoder(&out).Encode(s.Plugins())
	if !strings.Contains(out.String(), desc.Digest.String()) {
		t.Fatalf("/plugins after the offline restart: %s", out.String())
	}
}

func sha256Sum(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

// TestCalloutsReachProxyClusters runs the SDK's http_auth_random example,
// which asks the cluster "httpbin" before letting a request through: the
// callout must reach the proxy's cluster of that name.
func TestCalloutsReachProxyClusters(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and compiles a Go filter")
	}
	wasm := wasmbuild.ForTest(t, "../../sdk/examples/http_auth_random")
	dir := t.TempDir()
	p := filepath.Join(dir, "auth.wasm")
	os.WriteFile(p, wasm, 0o644)
	var callouts atomic.Int64
	// "b" hashes (FNV-32a) to an odd value: the filter answers 403;
	// "a" hashes to an even value: the filter lets the request through.
	body := atomic.Value{}
	body.Store("b")
	auth := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		callouts.Add(1)
		io.WriteString(w, body.Load().(string))
	}))
	defer auth.Close()
	app := upstream(t, "app")
	cfgPath := filepath.Join(dir, "runtime.yaml")
	writeAtomic(t, cfgPath, fmt.Sprintf(`
listeners:
- name: web
  address: 127.0.0.1:0
  routes: [{cluster: app}]
  filters: [{name: auth, url: "file://%s"}]
clusters:
- {name: app, endpoints: [%s]}
- {name: httpbin, endpoints: [%s]}
`, p, hostOf(app), hostOf(auth)))
	s, stop := runProxy(t, cfgPath, t.TempDir(), false)
	defer stop()
	if r, b := get(t, "http://"+s.Addr("web")+"/", nil); r.StatusCode != 403 || b != "access forbidden" {
		t.Fatalf("callout answer %q: got %d %q, want 403 (callouts %d)", "b", r.StatusCode, b, callouts.Load())
	}
	body.Store("a")
	if r, b := get(t, "http://"+s.Addr("web")+"/", nil); r.StatusCode != 200 || b != "app" {
		t.Fatalf("callout answer %q: got %d %q, want 200 from app", "a", r.StatusCode, b)
	}
	if callouts.Load() != 2 {
		t.Fatalf("%d callouts reached the httpbin cluster, want 2", callouts.Load())
	}
}

// TestNetworkFilterOnTCPListener runs the SDK's network example on a TCP
// listener: bytes flow through it both ways, and the counter it defines
// shows up in the proxy's Prometheus metrics.
func TestNetworkFilterOnTCPListener(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and compiles a Go filter")
	}
	wasm := wasmbuild.ForTest(t, "../../sdk/examples/network")
	dir := t.TempDir()
	p := filepath.Join(dir, "network.wasm")
	os.WriteFile(p, wasm, 0o644)
	echo, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer echo.Close()
	go func() {
		for {
			c, err := echo.Accept()
			if err != nil {
				return
			}
			go func() { io.Copy(c, c); c.Close() }()
		}
	}()
	cfgPath := filepath.Join(dir, "runtime.yaml")
	writeAtomic(t, cfgPath, fmt.Sprintf(`
listeners:
- {name: raw, address: 127.0.0.1:0, protocol: tcp, cluster: echo, filters: [{name: net, url: "file://%s"}]}
clusters: [{name: echo, endpoints: [%s]}]
`, p, echo.Addr()))
	s, stop := runProxy(t, cfgPath, t.TempDir(), false)
	defer stop()
	for i := range 2 {
		c, err := net.Dial("tcp", s.Addr("raw"))
		if err != nil {
			t.Fatal(err)
		}
		msg := fmt.Sprintf("hello %d through a network filter\n", i)
		io.WriteString(c, msg)
		c.(*net.TCPConn).CloseWrite()
		got, err := io.ReadAll(c)
		c.Close()
		if err != nil || string(got) != msg {
			t.Fatalf("echo through the filter = %q, %v", got, err)
		}
	}
	waitFor(t, func() bool {
		var b strings.Builder
		mfs, _ := s.Gatherer().Gather()
		for _, mf := range mfs {
			if mf.GetName() == "proxy_wasm_go_connection_counter" {
				for _, m := range mf.GetMetric() {
					fmt.Fprint(&b, m.GetCounter().GetValue())
				}
			}
		}
		return b.String() == "2"
	})
}
