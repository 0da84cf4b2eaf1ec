package hub_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"oras.land/oras-go/v2"
	"oras.land/oras-go/v2/errdef"
	"oras.land/oras-go/v2/registry/remote"
	orasauth "oras.land/oras-go/v2/registry/remote/auth"

	"github.com/wasmctl/wasmctl/hub"
	"github.com/wasmctl/wasmctl/hub/auth"
	"github.com/wasmctl/wasmctl/hub/db/dbtest"
	"github.com/wasmctl/wasmctl/hub/hubtest"
	"github.com/wasmctl/wasmctl/hub/index/indextest"
)

// startHub serves a hub on 127.0.0.1 with users alice and bob (password
// "<name>-password") until the test ends.
func startHub(t testing.TB, cfg hub.Config) (*hub.Server, string) {
	t.Helper()
	s, host := hubtest.Serve(t, cfg)
	for _, u := range []string{"alice", "bob"} {
		if _, err := s.Auth.CreateUser(context.Background(), u, u+"-password", auth.UserOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	return s, host
}

// repoAs returns an oras-go client for host/repo logged in as user ("" for
// anonymous), going through the Docker token flow.
func repoAs(t testing.TB, host, repo, user string) *remote.Repository {
	t.Helper()
	r, err := remote.NewRepository(host + "/" + repo)
	if err != nil {
		t.Fatal(err)
	}
	r.PlainHTTP = true
	c := &orasauth.Client{Client: http.DefaultClient, Cache: orasauth.NewCache()}
	if user != "" {
		c.Credential = orasauth.StaticCredential(host, orasauth.Credential{Username: user, Password: user + "-password"})
	}
	r.Client = c
	return r
}

var module = indextest.Module("proxy_abi_version_0_2_1", "proxy_on_memory_allocate", "proxy_on_context_create")

func tool(t *testing.T, name string) string {
	t.Helper()
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	if home, err := os.UserHomeDir(); err == nil {
		p := filepath.Join(home, "go", "bin", name)
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	t.Skipf("%s not found: install it (.ci/run does: go install) to run this interop test", name)
	return ""
}

// cli runs an external client with its own credential store.
func cli(t *testing.T, dockerConfig, stdin string, name string, args ...string) (string, error) {
	t.Helper()
	cmd := exec.CommandContext(t.Context(), tool(t, name), args...)
	cmd.Env = append(os.Environ(), "DOCKER_CONFIG="+dockerConfig, "HOME="+dockerConfig)
	cmd.Stdin = strings.NewReader(stdin)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func TestInteropORASAndCrane(t *testing.T) {
	s, host := startHub(t, hub.Config{})
	ctx := t.Context()
	dir := t.TempDir()
	aliceCfg, bobCfg := filepath.Join(dir, "alice"), filepath.Join(dir, "bob")
	os.MkdirAll(aliceCfg, 0o700)
	os.MkdirAll(bobCfg, 0o700)
	wasm := filepath.Join(dir, "plugin.wasm")
	os.WriteFile(wasm, module, 0o644)

	// oras: login, push a plain artifact, pull it back.
	if out, err := cli(t, aliceCfg, "alice-password\n", "oras", "login", "--plain-http", host, "-u", "alice", "--password-stdin"); err != nil || !strings.Contains(out, "Login Succeeded") {
		t.Fatalf("oras login: %v\n%s", err, out)
	}
	if out, err := cli(t, bobCfg, "wrong-password\n", "oras", "login", "--plain-http", host, "-u", "bob", "--password-stdin"); err == nil {
		t.Fatalf("oras login with a wrong password succeeded:\n%s", out)
	}
	out, err := cliIn(t, dir, aliceCfg, "oras", "push", "--plain-http", host+"/alice/oras-filter:v1", "plugin.wasm:application/vnd.module.wasm.content.layer.v1+wasm")
	if err != nil {
		t.Fatalf("oras push: %v\n%s", err, out)
	}
	pulled := filepath.Join(dir, "pulled")
	if out, err := cli(t, aliceCfg, "", "oras", "pull", "--plain-http", "-o", pulled, host+"/alice/oras-filter:v1"); err != nil {
		t.Fatalf("oras pull: %v\n%s", err, out)
	}
	if got, _ := os.ReadFile(filepath.Join(pulled, "plugin.wasm")); !bytes.Equal(got, module) {
		t.Fatal("oras pulled different bytes")
	}
	// oras attach (a referrer, as signatures are) and oras discover.
	os.WriteFile(filepath.Join(dir, "sig.txt"), []byte("signature"), 0o644)
	if out, err := cliIn(t, dir, aliceCfg, "oras", "attach", "--plain-http", "--artifact-type", "application/vnd.example.signature",
		host+"/alice/oras-filter:v1", "sig.txt"); err != nil {
		t.Fatalf("oras attach: %v\n%s", err, out)
	}
	if out, err := cli(t, aliceCfg, "", "oras", "discover", "--plain-http", "--format", "json", host+"/alice/oras-filter:v1"); err != nil || !strings.Contains(out, "application/vnd.example.signature") {
		t.Fatalf("oras discover: %v\n%s", err, out)
	}
	// Anonymous pull of a public repository works with no login at all.
	anon := filepath.Join(dir, "anon")
	os.MkdirAll(anon, 0o700)
	if out, err := cli(t, anon, "", "oras", "pull", "--plain-http", "-o", filepath.Join(dir, "anon-pulled"), host+"/alice/oras-filter:v1"); err != nil {
		t.Fatalf("anonymous oras pull: %v\n%s", err, out)
	}

	// crane: login, push an image whose layer is a tar+gzip holding plugin.wasm, pull it.
	layer := filepath.Join(dir, "layer.tar.gz")
	os.WriteFile(layer, indextest.TarGz(map[string][]byte{"plugin.wasm": module}), 0o644)
	if out, err := cli(t, aliceCfg, "alice-password", "crane", "auth", "login", host, "-u", "alice", "--password-stdin"); err != nil {
		t.Fatalf("crane auth login: %v\n%s", err, out)
	}
	if out, err := cli(t, aliceCfg, "", "crane", "append", "--insecure", "--oci-empty-base", "-f", layer, "-t", host+"/alice/crane-filter:v1"); err != nil {
		t.Fatalf("crane append (push): %v\n%s", err, out)
	}
	if out, err := cli(t, aliceCfg, "", "crane", "pull", "--insecure", "--format", "oci", host+"/alice/crane-filter:v1", filepath.Join(dir, "crane-oci")); err != nil {
		t.Fatalf("crane pull: %v\n%s", err, out)
	}
	if out, err := cli(t, aliceCfg, "", "crane", "ls", "--insecure", host+"/alice/crane-filter"); err != nil || strings.TrimSpace(out) != "v1" {
		t.Fatalf("crane ls = %q, %v", out, err)
	}
	// crane copies between repositories with a cross-repository mount.
	if out, err := cli(t, aliceCfg, "", "crane", "copy", "--insecure", host+"/alice/oras-filter:v1", host+"/alice/copied:v1"); err != nil {
		t.Fatalf("crane copy: %v\n%s", err, out)
	}

	// Both pushes are indexed.
	s.Flush()
	for _, repo := range []string{"alice/oras-filter", "alice/crane-filter", "alice/copied"} {
		d, err := s.Index.Get(ctx, repo, nil)
		if err != nil {
			t.Fatalf("index has no %s: %v", repo, err)
		}
		if len(d.Versions) != 1 || d.Versions[0].Tag != "v1" || len(d.ABIVersions) == 0 {
			t.Fatalf("index entry for %s: %+v", repo, d.Filter)
		}
	}

	// Bob may not push into alice's namespace, with either client.
	if out, err := cli(t, bobCfg, "bob-password\n", "oras", "login", "--plain-http", host, "-u", "bob", "--password-stdin"); err != nil {
		t.Fatalf("oras login bob: %v\n%s", err, out)
	}
	out, err = cliIn(t, dir, bobCfg, "oras", "push", "--plain-http", host+"/alice/oras-filter:evil", "plugin.wasm:application/vnd.module.wasm.content.layer.v1+wasm")
	if err == nil || !(strings.Contains(out, "403") || strings.Contains(out, "denied") || strings.Contains(out, "DENIED")) {
		t.Fatalf("bob's oras push into alice/ = %v\n%s", err, out)
	}
	if out, err := cli(t, bobCfg, "bob-password", "crane", "auth", "login", host, "-u", "bob", "--password-stdin"); err != nil {
		t.Fatalf("crane auth login bob: %v\n%s", err, out)
	}
	if out, err := cli(t, bobCfg, "", "crane", "copy", "--insecure", host+"/alice/oras-filter:v1", host+"/alice/oras-filter:evil"); err == nil {
		t.Fatalf("bob's crane copy into alice/ succeeded:\n%s", out)
	}
	if _, err := repoAs(t, host, "alice/oras-filter", "alice").Resolve(ctx, "evil"); err == nil {
		t.Fatal("tag 'evil' exists after refused pushes")
	}
}

func cliIn(t *testing.T, wd, dockerConfig, name string, args ...string) (string, error) {
	t.Helper()
	cmd := exec.CommandContext(t.Context(), tool(t, name), args...)
	cmd.Dir = wd
	cmd.Env = append(os.Environ(), "DOCKER_CONFIG="+dockerConfig, "HOME="+dockerConfig)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// get performs an HTTP request and decodes nothing.
func get(t *testing.T, method, url string, body io.Reader, hdr map[string]string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, url, body)
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

// pushModule pushes wasm as a plain single-layer artifact to repo:tag.
func pushModule(ctx context.Context, repo *remote.Repository, tag string, wasm []byte) (ocispec.Descriptor, error) {
	layer, err := oras.PushBytes(ctx, repo, "application/vnd.module.wasm.content.layer.v1+wasm", wasm)
	if err != nil {
		return ocispec.Descriptor{}, err
	}
	layer.Annotations = map[string]string{ocispec.AnnotationTitle: "plugin.wasm"}
	desc, err := oras.PackManifest(ctx, repo, oras.PackManifestVersion1_1, "application/vnd.module.wasm.content.layer.v1+wasm",
		oras.PackManifestOptions{Layers: []ocispec.Descriptor{layer}})
	if err != nil {
		return desc, err
	}
	return desc, repo.Tag(ctx, desc, tag)
}

func TestAccessControl(t *testing.T) {
	s, host := startHub(t, hub.Config{})
	ctx := t.Context()
	base := "http://" + host
	if _, err := pushModule(ctx, repoAs(t, host, "alice/pub", "alice"), "v1", module); err != nil {
		t.Fatalf("alice pushing to her namespace: %v", err)
	}
	secretModule := bigModule(100)
	if _, err := pushModule(ctx, repoAs(t, host, "alice/secret", "alice"), "v1", secretModule); err != nil {
		t.Fatal(err)
	}
	if err := s.Auth.SetPrivate(ctx, "alice", "alice/secret", true); err != nil {
		t.Fatal(err)
	}

	t.Run("wrong owner cannot push", func(t *testing.T) {
		_, err := pushModule(ctx, repoAs(t, host, "alice/pub", "bob"), "evil", module)
		if err == nil || !(strings.Contains(err.Error(), "403") || strings.Contains(err.Error(), "401")) {
			t.Fatalf("bob's push into alice/ = %v, want 401/403", err)
		}
		if _, err := pushModule(ctx, repoAs(t, host, "alice/pub", ""), "anon", module); err == nil || !strings.Contains(err.Error(), "401") {
			t.Fatalf("anonymous push = %v, want 401", err)
		}
		// Bob can delete nothing of alice's either.
		desc, _ := repoAs(t, host, "alice/pub", "alice").Resolve(ctx, "v1")
		if err := repoAs(t, host, "alice/pub", "bob").Delete(ctx, desc); err == nil {
			t.Fatal("bob deleted alice's manifest")
		}
		if _, err := repoAs(t, host, "alice/pub", "alice").Resolve(ctx, "v1"); err != nil {
			t.Fatalf("alice/pub:v1 gone: %v", err)
		}
		// Bob's own namespace is his.
		if _, err := pushModule(ctx, repoAs(t, host, "bob/mine", "bob"), "v1", module); err != nil {
			t.Fatalf("bob pushing to bob/: %v", err)
		}
	})

	t.Run("anonymous pull of public", func(t *testing.T) {
		resp, _ := get(t, "GET", base+"/v2/alice/pub/manifests/v1", nil, map[string]string{"Accept": ocispec.MediaTypeImageManifest})
		if resp.StatusCode != 200 {
			t.Fatalf("anonymous GET manifest = %d", resp.StatusCode)
		}
		if _, err := repoAs(t, host, "alice/pub", "").Resolve(ctx, "v1"); err != nil {
			t.Fatalf("anonymous oras-go resolve: %v", err)
		}
	})

	t.Run("pulls counted", func(t *testing.T) {
		// A repository of its own: counts arrive off the request path, so
		// another subtest's pulls could land in the middle of this one.
		if _, err := pushModule(ctx, repoAs(t, host, "alice/counted", "alice"), "v1", module); err != nil {
			t.Fatal(err)
		}
		s.Flush()
		pulls := func() int64 {
			t.Helper()
			d, err := s.Index.Get(ctx, "alice/counted", nil)
			if err != nil {
				t.Fatal(err)
			}
			return d.Pulls
		}
		before := pulls()
		accept := map[string]string{"Accept": ocispec.MediaTypeImageManifest}
		for _, r := range []struct {
			method, ref string
			status      int
		}{{"GET", "v1", 200}, {"GET", "v1", 200}, {"HEAD", "v1", 200}, {"GET", "no-such-tag", 404}} {
			if resp, _ := get(t, r.method, base+"/v2/alice/counted/manifests/"+r.ref, nil, accept); resp.StatusCode != r.status {
				t.Fatalf("%s manifest %s = %d, want %d", r.method, r.ref, resp.StatusCode, r.status)
			}
		}
		// Counting is off the request path: wait for it.
		deadline := time.Now().Add(5 * time.Second)
		for pulls() < before+2 && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
		time.Sleep(50 * time.Millisecond) // a wrongly counted HEAD or 404 would land by now
		if got := pulls(); got != before+2 {
			t.Fatalf("pulls = %d after two manifest downloads (one HEAD, one 404 not counted), want %d", got, before+2)
		}
	})

	t.Run("private hidden", func(t *testing.T) {
		resp, _ := get(t, "GET", base+"/v2/alice/secret/manifests/v1", nil, nil)
		if resp.StatusCode != 401 {
			t.Fatalf("anonymous GET private manifest = %d, want 401", resp.StatusCode)
		}
		_, errBob := repoAs(t, host, "alice/secret", "bob").Resolve(ctx, "v1")
		_, errMissing := repoAs(t, host, "alice/nonexistent", "bob").Resolve(ctx, "v1")
		if errBob == nil || errMissing == nil {
			t.Fatalf("bob resolved a private or missing repository: %v / %v", errBob, errMissing)
		}
		if !errors.Is(errBob, errdef.ErrNotFound) || !errors.Is(errMissing, errdef.ErrNotFound) {
			t.Fatalf("private must look like missing to bob: %v / %v", errBob, errMissing)
		}
		if _, err := repoAs(t, host, "alice/secret", "alice").Resolve(ctx, "v1"); err != nil {
			t.Fatalf("alice cannot pull her private repo: %v", err)
		}
		var cat struct{ Repositories []string }
		_, body := get(t, "GET", base+"/v2/_catalog", nil, nil)
		json.Unmarshal([]byte(body), &cat)
		if strings.Contains(body, "alice/secret") || !strings.Contains(body, "alice/pub") {
			t.Fatalf("anonymous catalog = %s", body)
		}
		s.Flush()
		if _, err := s.Index.Get(ctx, "alice/secret", nil); err == nil {
			t.Fatal("the index shows alice/secret to anonymous viewers")
		}
		ns, _ := s.Auth.VisibleNamespaces(ctx, "alice")
		if _, err := s.Index.Get(ctx, "alice/secret", ns); err != nil {
			t.Fatalf("the index hides alice/secret from alice: %v", err)
		}
	})

	t.Run("anonymous mount respects visibility", func(t *testing.T) {
		c := &orasauth.Client{Client: http.DefaultClient, Cache: orasauth.NewCache(),
			Credential: orasauth.StaticCredential(host, orasauth.Credential{Username: "bob", Password: "bob-password"})}
		mount := func(blob []byte) int {
			req, _ := http.NewRequestWithContext(ctx, "POST", base+"/v2/bob/mounted/blobs/uploads/?mount="+digest.FromBytes(blob).String(), nil)
			resp, err := c.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			return resp.StatusCode
		}
		if got := mount(module); got != http.StatusCreated {
			t.Fatalf("mounting a blob of a public repository = %d, want 201", got)
		}
		if got := mount(secretModule); got != http.StatusAccepted {
			t.Fatalf("mounting a blob only alice/secret holds = %d, want 202 (a plain upload)", got)
		}
	})

	t.Run("login rate limited", func(t *testing.T) {
		var last *http.Response
		for range 8 {
			req, _ := http.NewRequest("GET", base+"/token?service=wasmctl-hub", nil)
			req.SetBasicAuth("bob", "not-bobs-password")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			last = resp
		}
		if last.StatusCode != http.StatusTooManyRequests || last.Header.Get("Retry-After") == "" {
			t.Fatalf("8th failed login = %d (Retry-After %q), want 429", last.StatusCode, last.Header.Get("Retry-After"))
		}
	})
}

func TestUploadLimit(t *testing.T) {
	_, host := startHub(t, hub.Config{Uploads: hub.UploadConfig{MaxSize: 1 << 20}})
	ctx := t.Context()
	big := bytes.Repeat([]byte{1}, 2<<20)
	_, err := pushModule(ctx, repoAs(t, host, "alice/big", "alice"), "v1", big)
	if err == nil || !strings.Contains(err.Error(), "413") {
		t.Fatalf("push of 2 MiB with a 1 MiB limit = %v, want 413", err)
	}
	if _, err := pushModule(ctx, repoAs(t, host, "alice/small", "alice"), "v1", module); err != nil {
		t.Fatalf("small push refused: %v", err)
	}
	// Chunked uploads are counted across chunks; the error is an OCI body.
	c := &orasauth.Client{Client: http.DefaultClient, Cache: orasauth.NewCache(),
		Credential: orasauth.StaticCredential(host, orasauth.Credential{Username: "alice", Password: "alice-password"})}
	do := func(method, url string, body []byte, hdr map[string]string) (*http.Response, []byte) {
		req, _ := http.NewRequestWithContext(ctx, method, url, bytes.NewReader(body))
		for k, v := range hdr {
			req.Header.Set(k, v)
		}
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, b
	}
	resp, _ := do("POST", "http://"+host+"/v2/alice/big/blobs/uploads/", nil, nil)
	if resp.StatusCode != 202 {
		t.Fatalf("POST upload = %d", resp.StatusCode)
	}
	loc := "http://" + host + resp.Header.Get("Location")
	half := big[:800<<10]
	resp, _ = do("PATCH", loc, half, map[string]string{"Content-Type": "application/octet-stream", "Content-Range": "0-819199"})
	if resp.StatusCode != 202 {
		t.Fatalf("first chunk = %d", resp.StatusCode)
	}
	loc = "http://" + host + resp.Header.Get("Location")
	resp, body := do("PATCH", loc, half, map[string]string{"Content-Type": "application/octet-stream", "Content-Range": "819200-1638399"})
	if resp.StatusCode != http.StatusRequestEntityTooLarge || !strings.Contains(string(body), `"SIZE_INVALID"`) {
		t.Fatalf("second chunk over the limit = %d %s", resp.StatusCode, body)
	}
}

// TestPostgresBackend runs a hub whose accounts and index live in
// PostgreSQL: push, index, visibility and a second replica sharing the
// database and storage.
func TestPostgresBackend(t *testing.T) {
	dsn := dbtest.PostgresDSN(t)
	storage := t.TempDir()
	cfg := hub.Config{Database: dsn, Storage: hub.StorageConfig{Driver: "filesystem", Parameters: map[string]any{"rootdirectory": storage}}}
	s, host := startHub(t, cfg)
	ctx := t.Context()
	if _, err := pushModule(ctx, repoAs(t, host, "alice/pg", "alice"), "v1", module); err != nil {
		t.Fatal(err)
	}
	s.Flush()
	if d, err := s.Index.Get(ctx, "alice/pg", nil); err != nil || d.LatestTag != "v1" {
		t.Fatalf("index on PostgreSQL: %+v, %v", d, err)
	}
	// A second replica (its own data directory for the signing key, so it
	// must share the key file) sees the same accounts and content.
	keyFile := filepath.Join(t.TempDir(), "key")
	os.WriteFile(keyFile, bytes.Repeat([]byte("k"), 32), 0o600)
	cfg2 := cfg
	cfg2.Data = t.TempDir()
	cfg2.Auth.SigningKeyFile = keyFile
	r2, err := hub.New(ctx, cfg2, hub.Options{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer r2.Close()
	if _, err := r2.Auth.Authenticate(ctx, "", "alice", "alice-password"); err != nil {
		t.Fatalf("replica cannot authenticate alice: %v", err)
	}
	rp, _ := r2.Registry.Repository(ctx, "alice/pg")
	if _, err := rp.Resolve(ctx, "v1"); err != nil {
		t.Fatalf("replica cannot see alice/pg:v1: %v", err)
	}
}
