package cli

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	extv1alpha1 "istio.io/api/extensions/v1alpha1"
	"sigs.k8s.io/yaml"

	"github.com/wasmctl/wasmctl/internal/author"
	"github.com/wasmctl/wasmctl/internal/testregistry"
	"github.com/wasmctl/wasmctl/internal/wasmimage"
)

// tinyProxyWasm is a minimal valid wasm module that exports the proxy-wasm
// ABI marker: enough for packing, pushing and inspecting.
var tinyProxyWasm = []byte("\x00asm\x01\x00\x00\x00" +
	"\x01\x04\x01\x60\x00\x00" +
	"\x03\x02\x01\x00" +
	"\x07\x1b\x01\x17proxy_abi_version_0_2_1\x00\x00" +
	"\x0a\x04\x01\x02\x00\x0b")

// noMarkerWasm is the same module exporting "_start" instead of the marker.
var noMarkerWasm = []byte("\x00asm\x01\x00\x00\x00" +
	"\x01\x04\x01\x60\x00\x00" +
	"\x03\x02\x01\x00" +
	"\x07\x0a\x01\x06_start\x00\x00" +
	"\x0a\x04\x01\x02\x00\x0b")

// authorEnv isolates the image store and the Docker config of a test.
func authorEnv(t *testing.T) (store string) {
	t.Helper()
	store = filepath.Join(t.TempDir(), "store")
	t.Setenv(author.StoreEnv, store)
	t.Setenv("DOCKER_CONFIG", t.TempDir())
	return store
}

func writeFile(t *testing.T, path string, b []byte) string {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func mustRun(t *testing.T, args ...string) string {
	t.Helper()
	code, out, errOut := run(t, args...)
	if code != ExitOK {
		t.Fatalf("wasmctl %s: exit %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), code, out, errOut)
	}
	return out
}

func TestAuthorCommandsHaveHelpAndExamples(t *testing.T) {
	root := NewRootCommand(strings.NewReader(""), io.Discard, io.Discard)
	for _, name := range []string{"init", "build", "test", "push", "pull", "tag", "ls", "inspect", "login", "logout", "deploy"} {
		cmd, _, err := root.Find([]string{name})
		if err != nil || cmd.Name() != name {
			t.Errorf("command %s is not registered: %v", name, err)
			continue
		}
		if cmd.Short == "" || cmd.Example == "" {
			t.Errorf("%s lacks a short description or examples", name)
		}
	}
	out := mustRun(t, "init", "--help")
	if !strings.Contains(out, "--template") || !strings.Contains(out, "Examples:") {
		t.Errorf("init --help = %s", out)
	}
}

func TestCompletion(t *testing.T) {
	if out := mustRun(t, "completion", "bash"); !strings.Contains(out, "wasmctl") {
		t.Errorf("completion bash printed no script")
	}
	out := mustRun(t, "__complete", "init", "x", "--template", "")
	for _, want := range []string{"http-headers", "auth", "rate-limit", "access-log", "metrics", "tcp"} {
		if !strings.Contains(out, want) {
			t.Errorf("template completion lacks %s:\n%s", want, out)
		}
	}
	if out := mustRun(t, "__complete", "deploy", "r", "--phase", ""); !strings.Contains(out, "AUTHZ") {
		t.Errorf("phase completion = %s", out)
	}
}

func TestUsageErrors(t *testing.T) {
	authorEnv(t)
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"init"}, "wasmctl init NAME"},
		{[]string{"init", filepath.Join(t.TempDir(), "x"), "--template", "nope"}, "choose one of"},
		{[]string{"push"}, "SOURCE [DESTINATION]"},
		{[]string{"deploy", "localhost:1/x:1"}, "--name"},
		{[]string{"login", "localhost:1"}, "-u USER"},
		{[]string{"ls", "-o", "xml"}, "-o json"},
		{[]string{"push", "x.wasm", "localhost:1/a:1", "--variant", "zip"}, "compat or oci"},
	}
	for _, tt := range tests {
		code, _, errOut := run(t, tt.args...)
		if code != ExitUsage || !strings.Contains(errOut, tt.want) {
			t.Errorf("wasmctl %v: exit %d, stderr %q; want exit %d mentioning %q", tt.args, code, errOut, ExitUsage, tt.want)
		}
	}
}

func TestPushPullTagLsInspectDeploy(t *testing.T) {
	store := authorEnv(t)
	reg := testregistry.Start(t)
	dir := t.TempDir()
	wasm := writeFile(t, filepath.Join(dir, "tiny.wasm"), tinyProxyWasm)

	// A .wasm file is packed on the fly and pushed.
	ref := reg.Ref("filters/tiny:1.0")
	var pushed author.PushResult
	if err := json.Unmarshal([]byte(mustRun(t, "push", wasm, ref, "-o", "json")), &pushed); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(pushed.Digest, "sha256:") || pushed.Ref != ref {
		t.Errorf("push result = %+v", pushed)
	}

	// Tag in the registry, then list repositories and tags.
	mustRun(t, "tag", ref, reg.Ref("filters/tiny:stable"))
	var repos, tags []string
	json.Unmarshal([]byte(mustRun(t, "ls", reg.Ref("filters/tiny"), "-o", "json")), &tags)
	if strings.Join(tags, ",") != "1.0,stable" {
		t.Errorf("ls tags = %v, want 1.0 and stable", tags)
	}
	catalog := testregistry.Start(t).Host // an empty registry: the catalog lists only what follows
	mustRun(t, "push", wasm, catalog+"/filters/b:1")
	mustRun(t, "push", wasm, catalog+"/filters/a:1")
	json.Unmarshal([]byte(mustRun(t, "ls", catalog, "-o", "json")), &repos)
	if strings.Join(repos, ",") != "filters/a,filters/b" {
		t.Errorf("ls repositories = %v, want filters/a and filters/b", repos)
	}

	// Pull writes the module; --keep adds the image to the store.
	out := t.TempDir()
	var pulled author.PullResult
	json.Unmarshal([]byte(mustRun(t, "pull", reg.Ref("filters/tiny:stable"), "-d", out, "--keep", "-o", "json")), &pulled)
	if got, err := os.ReadFile(filepath.Join(out, "tiny.wasm")); err != nil || !bytes.Equal(got, tinyProxyWasm) {
		t.Fatalf("pull wrote %v (%v), want tiny.wasm with the module; result %+v", len(got), err, pulled)
	}
	if pulled.Digest != pushed.Digest || pulled.Variant != "compat" {
		t.Errorf("pull = %+v, want digest %s and the compat variant", pulled, pushed.Digest)
	}
	var local []author.StoreEntry
	json.Unmarshal([]byte(mustRun(t, "ls", "-o", "json")), &local)
	if len(local) != 1 || local[0].Digest != pushed.Digest {
		t.Errorf("local store = %+v, want the pulled image", local)
	}
	if _, err := os.Stat(filepath.Join(store, "index.json")); err != nil {
		t.Errorf("the store is not an OCI layout: %v", err)
	}

	// Local tag, then push from the store without a destination.
	ref2 := reg.Ref("filters/tiny2:0.1")
	mustRun(t, "tag", reg.Ref("filters/tiny:stable"), ref2)
	mustRun(t, "push", ref2)

	// The wasme two-layer variant, on request.
	mustRun(t, "push", wasm, reg.Ref("filters/tiny-oci:1"), "--variant", "oci")
	var insOCI author.InspectResult
	json.Unmarshal([]byte(mustRun(t, "inspect", reg.Ref("filters/tiny-oci:1"), "-o", "json")), &insOCI)
	if insOCI.Variant != "oci" || len(insOCI.Layers) != 2 {
		t.Errorf("push --variant oci gave %s with %d layers, want oci with 2", insOCI.Variant, len(insOCI.Layers))
	}

	// Inspect a file and a registry image.
	var ins author.InspectResult
	json.Unmarshal([]byte(mustRun(t, "inspect", ref2, "-o", "json")), &ins)
	if ins.Source != "store" || strings.Join(ins.Module.ABIVersions, ",") != "0.2.1" || ins.Annotations[wasmimage.AnnotationVariant] != "compat" {
		t.Errorf("inspect = %+v", ins)
	}
	if text := mustRun(t, "inspect", wasm); !strings.Contains(text, "proxy_abi_version_0_2_1 (func)") {
		t.Errorf("inspect text lacks the exports:\n%s", text)
	}

	// Deploy: a WasmPlugin pinned by digest that Istio's types accept.
	cfg := writeFile(t, filepath.Join(dir, "cfg.yaml"), []byte("tokens: [a]\n"))
	yml := mustRun(t, "deploy", ref, "--name", "tiny", "-n", "shop", "--selector", "app=web", "--phase", "AUTHN", "--priority", "5", "--config", cfg, "--fail-open")
	docs := strings.SplitN(yml, "\n---\n", 2)
	var obj struct {
		APIVersion string          `json:"apiVersion"`
		Kind       string          `json:"kind"`
		Spec       json.RawMessage `json:"spec"`
	}
	if err := yaml.Unmarshal([]byte(docs[0]), &obj); err != nil {
		t.Fatalf("deploy output is not YAML: %v\n%s", err, yml)
	}
	var wp extv1alpha1.WasmPlugin
	if err := wp.UnmarshalJSON(obj.Spec); err != nil {
		t.Fatalf("spec is not an Istio WasmPlugin: %v", err)
	}
	digest := strings.TrimPrefix(pushed.Digest, "sha256:")
	if obj.Kind != "WasmPlugin" || obj.APIVersion != "extensions.istio.io/v1alpha1" || wp.Sha256 != digest ||
		wp.Url != "oci://"+reg.Host+"/filters/tiny@"+pushed.Digest || wp.Phase != extv1alpha1.PluginPhase_AUTHN ||
		wp.Priority.GetValue() != 5 || wp.FailStrategy != extv1alpha1.FailStrategy_FAIL_OPEN ||
		wp.Selector.GetMatchLabels()["app"] != "web" || wp.PluginConfig.GetFields()["tokens"] == nil {
		t.Errorf("WasmPlugin = %v", &wp)
	}
	if len(docs) != 2 || !strings.Contains(docs[1], "# listeners:") || !strings.Contains(docs[1], "sha256: "+digest) {
		t.Errorf("deploy lacks the proxy config:\n%s", yml)
	}

	// A built project carries its schema; deploy checks --config against it.
	proj := filepath.Join(dir, "tinyp")
	writeFile(t, filepath.Join(proj, "wasmctl.yaml"), []byte("name: tinyp\nversion: 1.0.0\n"))
	writeFile(t, filepath.Join(proj, "schema.json"), []byte(`{"type": "object", "additionalProperties": false, "properties": {"tokens": {"type": "array"}}}`))
	writeFile(t, filepath.Join(proj, "tinyp.wasm"), tinyProxyWasm)
	mustRun(t, "push", proj, reg.Ref("filters/tinyp:1"))
	mustRun(t, "deploy", reg.Ref("filters/tinyp:1"), "--name", "tinyp", "--config", cfg)
	bad := writeFile(t, filepath.Join(dir, "bad.json"), []byte(`{"tokenz": ["a"]}`))
	if code, _, errOut := run(t, "deploy", reg.Ref("filters/tinyp:1"), "--name", "tinyp", "--config", bad); code != ExitError || !strings.Contains(errOut, "$.tokenz: unknown field (known: tokens)") {
		t.Errorf("deploy with a config the schema refuses: exit %d, stderr %q", code, errOut)
	}
}

func TestPushRefusals(t *testing.T) {
	authorEnv(t)
	reg := testregistry.Start(t)
	dir := t.TempDir()

	t.Run("module without the ABI marker", func(t *testing.T) {
		code, _, errOut := run(t, "push", writeFile(t, filepath.Join(dir, "nomarker.wasm"), noMarkerWasm), reg.Ref("x/y:1"))
		if code != ExitError || !strings.Contains(errOut, "proxy_abi_version") {
			t.Errorf("exit %d, stderr %q; want a refusal naming the missing proxy_abi_version marker", code, errOut)
		}
	})

	t.Run("registry refuses the push", func(t *testing.T) {
		// A front that denies uploads, as a registry does for a read-only
		// repository or an account without push rights.
		target, _ := url.Parse(reg.URL)
		proxy := httputil.NewSingleHostReverseProxy(target)
		front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method == http.MethodPost || r.Method == http.MethodPut {
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(http.StatusForbidden)
				io.WriteString(w, `{"errors":[{"code":"DENIED","message":"requested access to the resource is denied"}]}`)
				return
			}
			proxy.ServeHTTP(w, r)
		}))
		defer front.Close()
		host := strings.TrimPrefix(front.URL, "http://")
		code, _, errOut := run(t, "push", writeFile(t, filepath.Join(dir, "ok.wasm"), tinyProxyWasm), host+"/x/y:1")
		if code != ExitError || !strings.Contains(errOut, "denied") || !strings.Contains(errOut, "refused") {
			t.Errorf("exit %d, stderr %q; want the registry's reason and what it means", code, errOut)
		}
	})

	t.Run("unknown image", func(t *testing.T) {
		code, _, errOut := run(t, "pull", reg.Ref("nothing/here:1"), "-d", t.TempDir())
		if code != ExitError || !strings.Contains(errOut, "not found") {
			t.Errorf("exit %d, stderr %q", code, errOut)
		}
	})
}

// TestLoginLogout runs a registry behind basic authentication and checks
// that credentials saved by login (in the Docker config file) are used.
func TestLoginLogout(t *testing.T) {
	authorEnv(t)
	reg := testregistry.Start(t)
	target, _ := url.Parse(reg.URL)
	proxy := httputil.NewSingleHostReverseProxy(target)
	front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if u, p, ok := r.BasicAuth(); !ok || u != "alice" || p != "s3cret" {
			w.Header().Set("WWW-Authenticate", `Basic realm="test"`)
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusUnauthorized)
			io.WriteString(w, `{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}`)
			return
		}
		proxy.ServeHTTP(w, r)
	}))
	defer front.Close()
	host := strings.TrimPrefix(front.URL, "http://")
	wasm := writeFile(t, filepath.Join(t.TempDir(), "tiny.wasm"), tinyProxyWasm)

	if code, _, errOut := run(t, "push", wasm, host+"/a/b:1"); code != ExitError || !strings.Contains(errOut, "wasmctl login") {
		t.Errorf("push without credentials: exit %d, stderr %q; want advice to log in", code, errOut)
	}
	if code, _, errOut := run(t, "login", host, "-u", "alice", "-p", "wrong"); code != ExitError || !strings.Contains(errOut, "login") {
		t.Errorf("login with a wrong password: exit %d, stderr %q", code, errOut)
	}
	var stdout, stderr bytes.Buffer
	if code := Main([]string{"login", host, "-u", "alice", "--password-stdin"}, strings.NewReader("s3cret\n"), &stdout, &stderr); code != ExitOK {
		t.Fatalf("login: exit %d: %s", code, stderr.String())
	}
	cfg, err := os.ReadFile(filepath.Join(os.Getenv("DOCKER_CONFIG"), "config.json"))
	if err != nil || !strings.Contains(string(cfg), host) {
		t.Fatalf("Docker config after login = %s (%v), want an entry for %s", cfg, err, host)
	}
	mustRun(t, "push", wasm, host+"/a/b:1")
	mustRun(t, "logout", host)
	if code, _, _ := run(t, "pull", host+"/a/b:1", "-d", t.TempDir()); code != ExitError {
		t.Errorf("pull after logout succeeded, want an authentication error")
	}
}

// TestInterop_OrasAndCrane: an image pushed by wasmctl is pulled by oras
// and crane; a plain artifact pushed by oras is pulled and inspected by
// wasmctl.
func TestInterop_OrasAndCrane(t *testing.T) {
	oras, crane := findTool("oras"), findTool("crane")
	if oras == "" {
		t.Skip("skipping: oras is not installed (go install oras.land/oras/cmd/oras@latest)")
	}
	if crane == "" {
		t.Skip("skipping: crane is not installed (go install github.com/google/go-containerregistry/cmd/crane@latest)")
	}
	authorEnv(t)
	reg := testregistry.Start(t)
	dir := t.TempDir()
	wasm := writeFile(t, filepath.Join(dir, "tiny.wasm"), tinyProxyWasm)
	ref := reg.Ref("interop/tiny:1")
	mustRun(t, "push", wasm, ref)

	exe := func(name string, args ...string) string {
		t.Helper()
		cmd := exec.CommandContext(t.Context(), name, args...)
		cmd.Dir = dir
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("%s %s: %v\n%s", filepath.Base(name), strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	// oras pulls the layers by title: the compat archive holds plugin.wasm.
	orasOut := filepath.Join(dir, "oras-out")
	exe(oras, "pull", "--plain-http", ref, "-o", orasOut)
	if _, err := os.Stat(filepath.Join(orasOut, wasmimage.FileArchive)); err != nil {
		t.Errorf("oras pull did not write %s: %v", wasmimage.FileArchive, err)
	}
	// crane reads the manifest and copies the image to an OCI layout.
	if m := exe(crane, "manifest", "--insecure", ref); !strings.Contains(m, wasmimage.MediaTypeOCILayerGzip) {
		t.Errorf("crane manifest = %s", m)
	}
	exe(crane, "pull", "--insecure", "--format=oci", ref, filepath.Join(dir, "crane-layout"))
	if _, err := os.Stat(filepath.Join(dir, "crane-layout", "index.json")); err != nil {
		t.Errorf("crane pull wrote no OCI layout: %v", err)
	}

	// A plain artifact pushed by oras (raw .wasm layer) is read by wasmctl.
	writeFile(t, filepath.Join(dir, "plugin.wasm"), tinyProxyWasm)
	writeFile(t, filepath.Join(dir, "README.md"), []byte("# from oras\n"))
	plain := reg.Ref("interop/plain:1")
	exe(oras, "push", "--plain-http", plain, "plugin.wasm", "README.md:text/markdown")
	out := t.TempDir()
	var pulled author.PullResult
	json.Unmarshal([]byte(mustRun(t, "pull", plain, "-d", out, "-o", "json")), &pulled)
	if pulled.Variant != "artifact" {
		t.Errorf("pull of an oras artifact = %+v, want the artifact variant", pulled)
	}
	if b, err := os.ReadFile(filepath.Join(out, "README.md")); err != nil || string(b) != "# from oras\n" {
		t.Errorf("README from the oras artifact = %q, %v", b, err)
	}
	if text := mustRun(t, "inspect", plain); !strings.Contains(text, "artifact variant") || !strings.Contains(text, "0.2.1") {
		t.Errorf("inspect of the oras artifact:\n%s", text)
	}
}
