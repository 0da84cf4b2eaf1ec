package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/wasmctl/wasmctl/hub"
	"github.com/wasmctl/wasmctl/hub/auth"
	"github.com/wasmctl/wasmctl/hub/index/indextest"
)

func runIn(t *testing.T, stdin string, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := Main(args, strings.NewReader(stdin), &out, &errb)
	return code, out.String(), errb.String()
}

func TestHubUserAddListReindex(t *testing.T) {
	data := t.TempDir()
	if code, out, errOut := runIn(t, "alice-password\n", "hub", "user", "add", "alice", "--password-stdin", "--data", data); code != ExitOK || !strings.Contains(out, "created user alice") {
		t.Fatalf("user add = %d %q %q", code, out, errOut)
	}
	if code, _, errOut := runIn(t, "alice-password\n", "hub", "user", "add", "alice", "--password-stdin", "--data", data); code != ExitError || !strings.Contains(errOut, "taken") {
		t.Fatalf("duplicate user add = %d %q", code, errOut)
	}
	if code, _, _ := runIn(t, "x\n", "hub", "user", "add", "bob", "--data", data); code != ExitUsage {
		t.Fatalf("user add without --password-stdin = %d, want usage error", code)
	}
	if code, _, errOut := runIn(t, "short\n", "hub", "user", "add", "bob", "--password-stdin", "--data", data); code != ExitUsage || !strings.Contains(errOut, "8 characters") {
		t.Fatalf("weak password = %d %q", code, errOut)
	}
	code, out, _ := runIn(t, "", "hub", "user", "list", "-o", "json", "--data", data)
	var users []struct{ Name string }
	if code != ExitOK || json.Unmarshal([]byte(out), &users) != nil || len(users) != 1 || users[0].Name != "alice" {
		t.Fatalf("user list = %d %q", code, out)
	}
	if code, out, errOut := runIn(t, "", "hub", "repo", "private", "alice/secret", "--data", data); code != ExitOK || !strings.Contains(out, "alice/secret is now private") {
		t.Fatalf("repo private = %d %q %q", code, out, errOut)
	}
	if code, _, errOut := runIn(t, "", "hub", "org", "create", "acme", "--data", data); code != ExitUsage || !strings.Contains(errOut, "--owner") {
		t.Fatalf("org create without --owner = %d %q", code, errOut)
	}
	runIn(t, "bob-password\n", "hub", "user", "add", "bob", "--password-stdin", "--data", data)
	for _, c := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"org", "create", "acme", "--owner", "alice"}, ExitOK, "created organisation acme owned by alice"},
		{[]string{"org", "create", "acme", "--owner", "alice"}, ExitError, "taken"},
		{[]string{"org", "add-member", "acme", "bob"}, ExitOK, "bob is now a member of acme"},
		{[]string{"org", "add-member", "nope", "bob"}, ExitError, "nope"},
		{[]string{"repo", "private", "alice/open"}, ExitOK, "alice/open is now private"},
		{[]string{"repo", "public", "alice/open"}, ExitOK, "alice/open is now public"},
	} {
		code, out, errOut := runIn(t, "", append(append([]string{"hub"}, c.args...), "--data", data)...)
		if code != c.code || !strings.Contains(out+errOut, c.want) {
			t.Fatalf("hub %v = %d %q %q; want %d and %q", c.args, code, out, errOut, c.code, c.want)
		}
	}
	if s, err := hub.New(t.Context(), hub.Config{Data: data}, hub.Options{Logger: slog.New(slog.DiscardHandler)}); err != nil {
		t.Fatal(err)
	} else {
		ctx := t.Context()
		private, open := s.Auth.Private(ctx, "alice/secret"), s.Auth.Private(ctx, "alice/open")
		member := s.Auth.Can(ctx, "bob", "acme/filter", auth.Push)
		s.Close()
		if !private || open {
			t.Fatalf("after 'hub repo': alice/secret private %v (want true), alice/open private %v (want false)", private, open)
		}
		if !member {
			t.Fatal("bob cannot push to acme after 'hub org add-member acme bob'")
		}
	}
	if code, out, errOut := runIn(t, "", "hub", "reindex", "--data", data); code != ExitOK || !strings.Contains(out, "repositories 0") {
		t.Fatalf("reindex = %d %q %q", code, out, errOut)
	}
}

func TestHubServe(t *testing.T) {
	data := t.TempDir()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	ctx, cancel := context.WithCancel(t.Context())
	root := NewRootCommand(strings.NewReader(""), &bytes.Buffer{}, &bytes.Buffer{})
	root.SetArgs([]string{"hub", "serve", "--addr", addr, "--data", data})
	done := make(chan error, 1)
	go func() { done <- root.ExecuteContext(ctx) }()
	var resp *http.Response
	for i := 0; i < 100; i++ {
		if resp, err = http.Get("http://" + addr + "/v2/"); err == nil {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err != nil {
		t.Fatalf("hub serve did not answer: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(resp.Header.Get("WWW-Authenticate"), "/token") {
		t.Fatalf("GET /v2/ = %d %q", resp.StatusCode, resp.Header.Get("WWW-Authenticate"))
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("serve returned %v", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("hub serve did not stop on cancel")
	}
}

// TestHubWithWasmctlLoginAndPush logs in to a hub with 'wasmctl login',
// pushes a .wasm with 'wasmctl push' and finds it in the hub's index; a
// user pushing into someone else's namespace is refused.
func TestHubWithWasmctlLoginAndPush(t *testing.T) {
	t.Setenv("DOCKER_CONFIG", t.TempDir())
	s, err := hub.New(t.Context(), hub.Config{Data: t.TempDir()}, hub.Options{BcryptCost: bcrypt.MinCost, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range []string{"alice", "bob"} {
		if _, err := s.Auth.CreateUser(t.Context(), u, u+"-password", auth.UserOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { s.Serve(ctx, ln); close(done) }()
	defer func() { cancel(); <-done; s.Close() }()
	host := ln.Addr().String()
	dir := t.TempDir()
	wasm := filepath.Join(dir, "plugin.wasm")
	os.WriteFile(wasm, indextest.Module("proxy_abi_version_0_2_1", "proxy_on_memory_allocate", "proxy_on_context_create"), 0o644)
	store := filepath.Join(dir, "store")

	if code, out, errOut := runIn(t, "wrong-password\n", "login", host, "-u", "alice", "--password-stdin"); code == ExitOK {
		t.Fatalf("login with a wrong password succeeded: %q", out)
	} else if errOut == "" {
		t.Fatal("failed login printed no error")
	}
	if code, out, errOut := runIn(t, "alice-password\n", "login", host, "-u", "alice", "--password-stdin"); code != ExitOK {
		t.Fatalf("wasmctl login = %d %q %q", code, out, errOut)
	}
	if code, out, errOut := runIn(t, "", "push", wasm, host+"/alice/cli-filter:v1", "--store", store); code != ExitOK {
		t.Fatalf("wasmctl push = %d %q %q", code, out, errOut)
	}
	s.Flush()
	d, err := s.Index.Get(t.Context(), "alice/cli-filter", nil)
	if err != nil || len(d.Versions) != 1 || d.Versions[0].Tag != "v1" {
		t.Fatalf("index after wasmctl push: %+v, %v", d, err)
	}
	if code, _, errOut := runIn(t, "", "push", wasm, host+"/alice/cli-filter:evil", "--store", store, "-u", "bob", "-p", "bob-password"); code == ExitOK {
		t.Fatal("bob pushed into alice's namespace")
	} else if !strings.Contains(errOut, "403") && !strings.Contains(strings.ToLower(errOut), "denied") {
		t.Logf("refused as expected, message: %s", errOut)
	}
}
