package proxy

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wasmctl/wasmctl/runtime/config"
)

// upstream is a real HTTP server that names itself in every response.
func upstream(t *testing.T, name string) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/slow":
			select {
			case <-time.After(2 * time.Second):
			case <-r.Context().Done():
			}
		case "/hold":
			time.Sleep(300 * time.Millisecond)
		}
		w.Header().Set("X-Upstream", name)
		w.Header().Set("X-Seen-Host", r.Host)
		w.Header().Set("X-Seen-Proto", r.Proto)
		fmt.Fprint(w, name)
	}))
	t.Cleanup(srv.Close)
	return srv
}

func hostOf(s *httptest.Server) string { return strings.TrimPrefix(s.URL, "http://") }

func testLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

func start(t *testing.T, yaml string) *Server {
	t.Helper()
	cfg, err := config.Parse("test.yaml", []byte(yaml))
	if err != nil {
		t.Fatal(err)
	}
	s := New(Options{Logger: testLogger(t)})
	if err := s.Apply(t.Context(), cfg); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		s.Shutdown(ctx)
	})
	return s
}

func get(t *testing.T, url string, hdr map[string]string) (*http.Response, string) {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	for k, v := range hdr {
		if k == "Host" {
			req.Host = v
		} else {
			req.Header.Set(k, v)
		}
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp, string(b)
}

func TestRoutingByPrefixHostAndHeader(t *testing.T) {
	a, b, c := upstream(t, "a"), upstream(t, "b"), upstream(t, "c")
	s := start(t, fmt.Sprintf(`
listeners:
- name: web
  address: 127.0.0.1:0
  routes:
  - match: {headers: [{name: x-canary, exact: "yes"}]}
    cluster: c
  - match: {host: "*.example.com", prefix: /api}
    cluster: b
  - match: {prefix: /api}
    cluster: a
clusters:
- {name: a, endpoints: [%s]}
- {name: b, endpoints: [%s]}
- {name: c, endpoints: [%s]}
`, hostOf(a), hostOf(b), hostOf(c)))
	base := "http://" + s.Addr("web")
	tests := []struct {
		path string
		hdr  map[string]string
		want string
		code int
	}{
		{"/api/x", nil, "a", 200},
		{"/api/x", map[string]string{"Host": "shop.example.com:8080"}, "b", 200},
		{"/api/x", map[string]string{"Host": "example.com"}, "a", 200},
		{"/other", map[string]string{"X-Canary": "yes"}, "c", 200},
		{"/other", map[string]string{"X-Canary": "no"}, "", 404},
	}
	for _, tc := range tests {
		resp, body := get(t, base+tc.path, tc.hdr)
		if resp.StatusCode != tc.code || (tc.want != "" && body != tc.want) {
			t.Errorf("GET %s %v = %d %q, want %d %q", tc.path, tc.hdr, resp.StatusCode, body, tc.code, tc.want)
		}
	}
	if resp, _ := get(t, base+"/api", map[string]string{"Host": "shop.example.com"}); resp.Header.Get("X-Seen-Host") != "shop.example.com" {
		t.Errorf("upstream saw Host %q; the proxy must preserve it", resp.Header.Get("X-Seen-Host"))
	}
}

func TestRoundRobinAndHealthChecks(t *testing.T) {
	a, b := upstream(t, "a"), upstream(t, "b")
	var bHealthy atomic.Bool
	bHealthy.Store(true)
	// b's health endpoint is a separate server so we can fail its checks only.
	hb := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !bHealthy.Load() {
			w.WriteHeader(503)
		}
	}))
	defer hb.Close()
	// Route health checks of endpoint b through a proxy that consults hb.
	bFront := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/healthz" {
			resp, err := http.Get(hb.URL)
			if err == nil {
				w.WriteHeader(resp.StatusCode)
				resp.Body.Close()
			}
			return
		}
		w.Write([]byte("b"))
	}))
	defer bFront.Close()
	_ = b
	s := start(t, fmt.Sprintf(`
listeners:
- {name: web, address: 127.0.0.1:0, routes: [{cluster: both}]}
clusters:
- name: both
  endpoints: [%s, %s]
  healthCheck: {path: /healthz, interval: 20ms, timeout: 200ms, unhealthyThreshold: 1, healthyThreshold: 1}
`, hostOf(a), hostOf(bFront)))
	base := "http://" + s.Addr("web")
	seen := map[string]int{}
	for range 10 {
		_, body := get(t, base+"/", nil)
		seen[body]++
	}
	if seen["a"] != 5 || seen["b"] != 5 {
		t.Fatalf("round robin over 2 endpoints gave %v, want 5 each", seen)
	}
	bHealthy.Store(false)
	waitFor(t, func() bool {
		_, body := get(t, base+"/", nil)
		_, body2 := get(t, base+"/", nil)
		return body == "a" && body2 == "a"
	})
	for range 6 {
		if _, body := get(t, base+"/", nil); body != "a" {
			t.Fatalf("an unhealthy endpoint got traffic")
		}
	}
	bHealthy.Store(true)
	waitFor(t, func() bool {
		_, body := get(t, base+"/", nil)
		_, body2 := get(t, base+"/", nil)
		return body == "b" || body2 == "b"
	})
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 5s")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestTimeoutsAndDeadEndpoints(t *testing.T) {
	a := upstream(t, "a")
	dead, _ := net.Listen("tcp", "127.0.0.1:0")
	deadAddr := dead.Addr().String()
	dead.Close()
	s := start(t, fmt.Sprintf(`
listeners:
- name: web
  address: 127.0.0.1:0
  routes:
  - {match: {prefix: /slow}, cluster: a, timeout: 100ms}
  - {match: {prefix: /dead}, cluster: dead}
  - {cluster: a}
clusters:
- {name: a, endpoints: [%s], timeout: 5s}
- {name: dead, endpoints: [%s], connectTimeout: 200ms}
`, hostOf(a), deadAddr))
	base := "http://" + s.Addr("web")
	t0 := time.Now()
	if resp, _ := get(t, base+"/slow", nil); resp.StatusCode != http.StatusGatewayTimeout {
		t.Errorf("slow upstream: %d, want 504", resp.StatusCode)
	}
	if d := time.Since(t0); d > time.Second {
		t.Errorf("route timeout of 100ms took %v", d)
	}
	if resp, _ := get(t, base+"/dead", nil); resp.StatusCode != http.StatusBadGateway {
		t.Errorf("dead upstream: %d, want 502", resp.StatusCode)
	}
	if resp, body := get(t, base+"/ok", nil); resp.StatusCode != 200 || body != "a" {
		t.Errorf("healthy route after errors: %d %q", resp.StatusCode, body)
	}
}

func TestH2CAndHTTP1OnOnePort(t *testing.T) {
	a := upstream(t, "a")
	s := start(t, fmt.Sprintf(`
listeners: [{name: web, address: 127.0.0.1:0, routes: [{cluster: a}]}]
clusters: [{name: a, endpoints: [%s]}]
`, hostOf(a)))
	protos := new(http.Protocols)
	protos.SetUnencryptedHTTP2(true)
	h2 := &http.Client{Transport: &http.Transport{Protocols: protos}}
	defer h2.CloseIdleConnections()
	resp, err := h2.Get("http://" + s.Addr("web") + "/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.Proto != "HTTP/2.0" || resp.Header.Get("X-Upstream") != "a" {
		t.Fatalf("h2c: proto %s upstream %q", resp.Proto, resp.Header.Get("X-Upstream"))
	}
	if r1, _ := get(t, "http://"+s.Addr("web")+"/", nil); r1.Proto != "HTTP/1.1" || r1.StatusCode != 200 {
		t.Fatalf("http/1.1: %s %d", r1.Proto, r1.StatusCode)
	}
}

func TestTCPListener(t *testing.T) {
	echo, _ := net.Listen("tcp", "127.0.0.1:0")
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
	s := start(t, fmt.Sprintf(`
listeners: [{name: raw, address: 127.0.0.1:0, protocol: tcp, cluster: echo}]
clusters: [{name: echo, endpoints: [%s]}]
`, echo.Addr()))
	c, err := net.Dial("tcp", s.Addr("raw"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	fmt.Fprintln(c, "ping through the proxy")
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil || line != "ping through the proxy\n" {
		t.Fatalf("echo = %q, %v", line, err)
	}
}

func TestReloadChangesRoutesAndKeepsServingOnError(t *testing.T) {
	a, b := upstream(t, "a"), upstream(t, "b")
	tmpl := `
listeners: [{name: web, address: 127.0.0.1:0, routes: [{cluster: %s}]}]
clusters: [{name: a, endpoints: [%s]}, {name: b, endpoints: [%s]}]
`
	s := start(t, fmt.Sprintf(tmpl, "a", hostOf(a), hostOf(b)))
	addr := s.Addr("web")
	if _, body := get(t, "http://"+addr+"/", nil); body != "a" {
		t.Fatalf("before reload: %q", body)
	}
	cfg, _ := config.Parse("t.yaml", []byte(fmt.Sprintf(tmpl, "b", hostOf(a), hostOf(b))))
	if err := s.Apply(t.Context(), cfg); err != nil {
		t.Fatal(err)
	}
	if s.Addr("web") != addr {
		t.Fatalf("the socket changed across a reload: %s → %s", addr, s.Addr("web"))
	}
	if _, body := get(t, "http://"+addr+"/", nil); body != "b" {
		t.Fatalf("after reload: %q", body)
	}
	// A config whose new listener cannot bind is refused whole.
	busy, _ := net.Listen("tcp", "127.0.0.1:0")
	defer busy.Close()
	bad, _ := config.Parse("t.yaml", []byte(fmt.Sprintf(`
listeners:
- {name: web, address: 127.0.0.1:0, routes: [{cluster: a}]}
- {name: web2, address: %s, routes: [{cluster: a}]}
clusters: [{name: a, endpoints: [%s]}]
`, busy.Addr(), hostOf(a))))
	if err := s.Apply(t.Context(), bad); err == nil || !strings.Contains(err.Error(), "cannot listen") {
		t.Fatalf("binding a busy port: %v", err)
	}
	if _, body := get(t, "http://"+addr+"/", nil); body != "b" {
		t.Fatalf("after a failed reload the old config must serve: %q", body)
	}
	// Moving the listener to another address opens the new socket and
	// closes the old one.
	free, _ := net.Listen("tcp", "127.0.0.1:0")
	newAddr := free.Addr().String()
	free.Close()
	moved, _ := config.Parse("t.yaml", []byte(fmt.Sprintf(`
listeners: [{name: web, address: %s, routes: [{cluster: a}]}]
clusters: [{name: a, endpoints: [%s]}]
drainTimeout: 1s
`, newAddr, hostOf(a))))
	if err := s.Apply(t.Context(), moved); err != nil {
		t.Fatal(err)
	}
	if _, body := get(t, "http://"+newAddr+"/", nil); body != "a" {
		t.Fatalf("moved listener: %q", body)
	}
	waitFor(t, func() bool {
		c, err := net.DialTimeout("tcp", addr, 100*time.Millisecond)
		if err == nil {
			c.Close()
		}
		return err != nil
	})
}

func TestShutdownDrainsInFlight(t *testing.T) {
	a := upstream(t, "a")
	s := start(t, fmt.Sprintf(`
listeners: [{name: web, address: 127.0.0.1:0, routes: [{cluster: a}]}]
clusters: [{name: a, endpoints: [%s]}]
`, hostOf(a)))
	addr := s.Addr("web")
	type result struct {
		code int
		err  error
	}
	done := make(chan result, 1)
	go func() {
		resp, err := http.Get("http://" + addr + "/hold")
		if err != nil {
			done <- result{0, err}
			return
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		done <- result{resp.StatusCode, nil}
	}()
	time.Sleep(50 * time.Millisecond) // let the request reach the upstream
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	if err := s.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if r := <-done; r.err != nil || r.code != 200 {
		t.Fatalf("in-flight request during shutdown: %d %v", r.code, r.err)
	}
	if _, err := net.DialTimeout("tcp", addr, 200*time.Millisecond); err == nil {
		t.Fatal("listener still accepts after shutdown")
	}
	if s.Ready() == nil {
		t.Fatal("Ready after shutdown")
	}
}
