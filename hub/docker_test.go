package hub_test

import (
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wasmctl/wasmctl/hub"
)

// TestDockerLogin runs the docker CLI's login (which needs no engine: the
// client performs the registry handshake itself) against the hub, with a
// password and with a personal access token, through a proxy that records
// the requests, to check that docker takes the Bearer token flow: /v2/
// answers 401 with a challenge, docker fetches /token with basic auth, and
// /v2/ accepts the token it got.
func TestDockerLogin(t *testing.T) {
	docker, err := exec.LookPath("docker")
	if err != nil {
		t.Skip("docker CLI not found: install the client (Debian: apt-get install docker-cli; no engine needed) to run this test")
	}
	s, hubAddr := startHub(t, hub.Config{})
	secret, _, err := s.Auth.CreateToken(t.Context(), "alice", "docker", time.Time{})
	if err != nil {
		t.Fatal(err)
	}

	// A recording proxy in front of the hub.
	var mu sync.Mutex
	var seen []string
	target, _ := url.Parse("http://" + hubAddr)
	proxy := httputil.NewSingleHostReverseProxy(target)
	rec := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		kind := "anonymous"
		switch h := r.Header.Get("Authorization"); {
		case strings.HasPrefix(h, "Basic "):
			kind = "basic"
		case strings.HasPrefix(h, "Bearer "):
			kind = "bearer"
		}
		mu.Lock()
		seen = append(seen, r.Method+" "+r.URL.Path+" "+kind)
		mu.Unlock()
		proxy.ServeHTTP(w, r)
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: rec}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	host := ln.Addr().String() // 127.0.0.1 is an insecure registry to docker: plain HTTP after HTTPS fails

	login := func(user, password string) (string, string, error) {
		t.Helper()
		cfg := t.TempDir()
		cmd := exec.CommandContext(t.Context(), docker, "login", host, "-u", user, "--password-stdin")
		// No engine: DOCKER_HOST points at a socket that does not exist.
		cmd.Env = append(os.Environ(), "DOCKER_CONFIG="+cfg, "HOME="+cfg, "DOCKER_HOST=unix://"+filepath.Join(cfg, "no-engine.sock"))
		cmd.Stdin = strings.NewReader(password + "\n")
		out, err := cmd.CombinedOutput()
		return string(out), cfg, err
	}
	tests := []struct {
		name, user, password string
		ok                   bool
	}{
		{"password", "alice", "alice-password", true},
		{"access token", "alice", secret, true},
		{"wrong password", "alice", "not-the-password", false},
		{"unknown user", "mallory", "mallory-password", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mu.Lock()
			seen = nil
			mu.Unlock()
			out, cfg, err := login(tt.user, tt.password)
			if (err == nil) != tt.ok {
				t.Fatalf("docker login: err %v, want success %v\n%s", err, tt.ok, out)
			}
			stored, _ := os.ReadFile(filepath.Join(cfg, "config.json"))
			if tt.ok != strings.Contains(string(stored), host) {
				t.Fatalf("config.json after login (success %v):\n%s", tt.ok, stored)
			}
			mu.Lock()
			trace := strings.Join(seen, "\n")
			mu.Unlock()
			if !tt.ok {
				if !strings.Contains(out, "unauthorized") {
					t.Fatalf("refused login does not say unauthorized:\n%s", out)
				}
				return
			}
			for _, want := range []string{"GET /v2/ anonymous", "GET /token basic", "GET /v2/ bearer"} {
				if !strings.Contains(trace, want) {
					t.Fatalf("docker login did not do %q; requests:\n%s", want, trace)
				}
			}
		})
	}
}
