package httpfilter_test

import (
	"context"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wasmctl/wasmctl/internal/sharedtest"
	"github.com/wasmctl/wasmctl/runtime/httpfilter"
	"github.com/wasmctl/wasmctl/sdk/wasmbuild"
)

// TestRunWithCluster runs the SDK's http_auth_random example with Run, the
// library behind `wasmctl run`: its callouts go to the cluster named on the
// command line, and cancelling the context drains and returns nil.
func TestRunWithCluster(t *testing.T) {
	sdkExample(t, "http_auth_random") // builds the examples once
	wasm := filepath.Join(t.TempDir(), "auth.wasm")
	if err := os.WriteFile(wasm, wasmbuild.ForTest(t, sharedtest.RepoRoot(t)+"/sdk/examples/http_auth_random"), 0o644); err != nil {
		t.Fatal(err)
	}
	auth := newUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/allow") {
			w.Write([]byte("allow"))
			return
		}
		w.Write([]byte("deny"))
	})
	up := newUpstream(t, nil)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	ready := make(chan net.Addr, 1)
	done := make(chan error, 1)
	go func() {
		done <- httpfilter.Run(ctx, httpfilter.RunOptions{
			WasmPath: wasm, Upstream: up.URL, Listen: "127.0.0.1:0",
			Clusters: map[string]string{"httpbin": auth.URL}, PoolSize: 1,
			Logger: slog.New(logs), Ready: func(a net.Addr) { ready <- a },
		})
	}()
	var base string
	select {
	case a := <-ready:
		base = "http://" + a.String()
	case err := <-done:
		t.Fatalf("Run returned before serving: %v", err)
	case <-time.After(time.Minute):
		t.Fatal("Run never became ready")
	}
	if resp, body := get(t, base+"/allow", nil, ""); resp.StatusCode != 200 || body != "hello from upstream" {
		t.Errorf("granted: %d %q", resp.StatusCode, body)
	}
	if resp, body := get(t, base+"/deny", nil, ""); resp.StatusCode != 403 || body != "access forbidden" {
		t.Errorf("forbidden: %d %q", resp.StatusCode, body)
	}
	if auth.count() != 2 {
		t.Errorf("the cluster saw %d callouts, want 2", auth.count())
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Run after cancel: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("Run did not return after cancel")
	}
}
