package hub_test

import (
	"bufio"
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"

	"github.com/wasmctl/wasmctl/hub"
	"github.com/wasmctl/wasmctl/hub/db/dbtest"
)

// TestMain doubles as a hub process for TestKilledMidPush: with
// WASMCTL_HUB_CHILD set to a data directory it serves a hub (auth off) on a
// free port, prints the address and runs until killed.
func TestMain(m *testing.M) {
	if dir := os.Getenv("WASMCTL_HUB_CHILD"); dir != "" {
		off := false
		s, err := hub.New(context.Background(), hub.Config{Data: dir, Auth: hub.AuthConfig{Enabled: &off}}, hub.Options{})
		if err != nil {
			fmt.Println("error:", err)
			os.Exit(1)
		}
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			fmt.Println("error:", err)
			os.Exit(1)
		}
		fmt.Println(ln.Addr().String())
		s.Serve(context.Background(), ln)
		os.Exit(0)
	}
	code := m.Run()
	dbtest.Stop()
	os.Exit(code)
}

// child starts a hub process on data directory dir.
func child(t *testing.T, dir string) (*exec.Cmd, string) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "WASMCTL_HUB_CHILD="+dir)
	stdout, _ := cmd.StdoutPipe()
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil || strings.HasPrefix(line, "error:") {
		t.Fatalf("hub child did not start: %q %v", line, err)
	}
	return cmd, strings.TrimSpace(line)
}

// TestKilledMidPush kills a hub process (SIGKILL) in the middle of a blob
// upload, after a blob was stored but before its manifest, and checks that
// after a restart nothing of the interrupted pushes is visible and the
// index agrees with storage.
func TestKilledMidPush(t *testing.T) {
	dir := t.TempDir()
	ctx := t.Context()
	proc, host := child(t, dir)
	base := "http://" + host
	if _, err := pushModule(ctx, repoAs(t, host, "alice/f", ""), "v1", module); err != nil {
		t.Fatal(err)
	}

	// An image whose layer made it to storage but whose manifest never did.
	orphan := make([]byte, 64<<10)
	rand.Read(orphan)
	resp, err := http.Post(base+"/v2/alice/f/blobs/uploads/?digest="+digest.FromBytes(orphan).String(), "application/octet-stream", strings.NewReader(string(orphan)))
	if err != nil || resp.StatusCode != 201 {
		t.Fatalf("monolithic upload: %v %v", resp, err)
	}
	resp.Body.Close()

	// A chunked upload killed mid-stream.
	resp, err = http.Post(base+"/v2/alice/f/blobs/uploads/", "", nil)
	if err != nil || resp.StatusCode != 202 {
		t.Fatalf("start upload: %v %v", resp, err)
	}
	resp.Body.Close()
	loc := base + resp.Header.Get("Location")
	pr, pw := io.Pipe()
	req, _ := http.NewRequest("PATCH", loc, pr)
	req.Header.Set("Content-Type", "application/octet-stream")
	errc := make(chan error, 1)
	go func() {
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			resp.Body.Close()
			err = fmt.Errorf("PATCH finished with %d", resp.StatusCode)
		}
		errc <- err
	}()
	chunk := make([]byte, 256<<10)
	for range 4 {
		rand.Read(chunk)
		if _, err := pw.Write(chunk); err != nil {
			t.Fatal(err)
		}
	}
	if err := proc.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	proc.Wait()
	pw.CloseWithError(io.ErrUnexpectedEOF)
	select {
	case <-errc:
	case <-time.After(10 * time.Second):
		t.Fatal("client never noticed the dead hub")
	}

	// Restart on the same data and look.
	_, host = child(t, dir)
	base = "http://" + host
	_, body := get(t, "GET", base+"/v2/alice/f/tags/list", nil, nil)
	if body != `{"name":"alice/f","tags":["v1"]}`+"\n" {
		t.Fatalf("tags after crash = %s", body)
	}
	_, body = get(t, "GET", base+"/v2/_catalog", nil, nil)
	if body != `{"repositories":["alice/f"]}`+"\n" {
		t.Fatalf("catalog after crash = %s", body)
	}
	if _, err := repoAs(t, host, "alice/f", "").Resolve(ctx, "v1"); err != nil {
		t.Fatalf("v1 lost: %v", err)
	}
	// The index (read in-process from the same data directory) has exactly v1,
	// and a rebuild from storage finds nothing to add or remove.
	s, err := hub.New(ctx, hub.Config{Data: dir}, hub.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	d, err := s.Index.Get(ctx, "alice/f", nil)
	if err != nil {
		t.Fatal(err)
	}
	var tags []string
	for _, v := range d.Versions {
		tags = append(tags, v.Tag)
	}
	if !slices.Equal(tags, []string{"v1"}) {
		t.Fatalf("indexed versions after crash = %v", tags)
	}
	st, err := s.Reindex(ctx, nil)
	if err != nil || st.Indexed != 0 || st.Removed != 0 || st.Unchanged != 1 {
		t.Fatalf("reindex after crash = %+v, %v; want exactly one unchanged tag", st, err)
	}
}

// TestReindexFromStorage rebuilds a lost index (a fresh database) from the
// registry's storage.
func TestReindexFromStorage(t *testing.T) {
	dir := t.TempDir()
	ctx := t.Context()
	s, host := startHub(t, hub.Config{Data: dir})
	for _, tag := range []string{"v1", "v2"} {
		if _, err := pushModule(ctx, repoAs(t, host, "alice/r", "alice"), tag, module); err != nil {
			t.Fatal(err)
		}
	}
	s.Flush()
	if err := s.Auth.SetPrivate(ctx, "alice", "alice/r", true); err != nil {
		t.Fatal(err)
	}
	s2, err := hub.New(ctx, hub.Config{Data: dir, Database: "rebuilt.db"}, hub.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	if _, err := s2.Index.Get(ctx, "alice/r", []string{"alice"}); err == nil {
		t.Fatal("fresh database already has alice/r")
	}
	st, err := s2.Reindex(ctx, func(repo, tag string, err error) { t.Errorf("reindex %s:%s: %v", repo, tag, err) })
	if err != nil || st.Indexed != 2 {
		t.Fatalf("Reindex = %+v, %v", st, err)
	}
	d, err := s2.Index.Get(ctx, "alice/r", []string{"alice"})
	if err != nil || len(d.Versions) != 2 {
		t.Fatalf("rebuilt index: %+v, %v", d, err)
	}
}
