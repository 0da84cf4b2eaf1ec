package cache

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wasmctl/wasmctl/internal/testregistry"
	"github.com/wasmctl/wasmctl/runtime/cache/cachetest"
)

func open(t *testing.T, dir string) *Cache {
	t.Helper()
	c, err := Open(dir, Options{PlainHTTP: func(string) bool { return true }})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func hexsum(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

func TestPullEveryShapeByTagAndDigest(t *testing.T) {
	reg := testregistry.Start(t)
	c := open(t, t.TempDir())
	shapes := map[string]cachetest.Shape{"oci": cachetest.OCI, "compat": cachetest.Compat, "plain": cachetest.Plain, "readme": cachetest.WithReadme}
	for name, shape := range shapes {
		t.Run(name, func(t *testing.T) {
			mod := cachetest.Module(name)
			desc := cachetest.Push(t, reg.Ref("f/"+name+":v1"), mod, shape)
			for _, u := range []string{
				"oci://" + reg.Ref("f/"+name+":v1"),
				reg.Ref("f/" + name + "@" + desc.Digest.String()), // no scheme means oci
			} {
				m, err := c.Get(t.Context(), Source{URL: u})
				if err != nil {
					t.Fatalf("Get(%s): %v", u, err)
				}
				if !bytes.Equal(m.Bytes, mod) || m.Digest != "sha256:"+hexsum(mod) || m.ImageDigest != desc.Digest.String() {
					t.Fatalf("Get(%s) = %d bytes digest %s image %s; want %d bytes, image %s", u, len(m.Bytes), m.Digest, m.ImageDigest, len(mod), desc.Digest)
				}
				if m.FromCache {
					t.Errorf("first Get(%s) claims a cache hit", u)
				}
			}
		})
	}
}

func TestSHA256Pinning(t *testing.T) {
	reg := testregistry.Start(t)
	mod := cachetest.Module("pin")
	desc := cachetest.Push(t, reg.Ref("f/pin:v1"), mod, cachetest.OCI)
	tests := []struct {
		name, sha string
		wantErr   bool
	}{
		{"module digest", hexsum(mod), false},
		{"image digest", desc.Digest.Encoded(), false},
		{"wrong", strings.Repeat("ab", 32), true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := open(t, t.TempDir())
			m, err := c.Get(t.Context(), Source{URL: reg.Ref("f/pin:v1"), SHA256: tc.sha})
			if tc.wantErr {
				if !errors.Is(err, ErrChecksum) {
					t.Fatalf("err = %v, want ErrChecksum", err)
				}
				if ents, _ := os.ReadDir(filepath.Join(c.Dir(), "blobs", "sha256")); len(ents) != 0 {
					t.Fatalf("a refused module was cached: %v", ents)
				}
				if c.Stats().Checksum != 1 {
					t.Errorf("checksum counter = %d", c.Stats().Checksum)
				}
				return
			}
			if err != nil || !bytes.Equal(m.Bytes, mod) {
				t.Fatalf("Get = %v, %v", m, err)
			}
		})
	}
}

// frontRegistry puts a closable HTTP server in front of reg, so a test can
// take "the registry" down.
func frontRegistry(t *testing.T, reg *testregistry.Registry) *httptest.Server {
	u, _ := url.Parse(reg.URL)
	front := httptest.NewServer(httputil.NewSingleHostReverseProxy(u))
	t.Cleanup(front.Close)
	return front
}

func TestWarmCacheNeedsNoNetwork(t *testing.T) {
	reg := testregistry.Start(t)
	front := frontRegistry(t, reg)
	host := strings.TrimPrefix(front.URL, "http://")
	mod := cachetest.Module("warm")
	cachetest.Push(t, reg.Ref("f/warm:v1"), mod, cachetest.Compat)
	dir := t.TempDir()
	if _, err := open(t, dir).Get(t.Context(), Source{URL: host + "/f/warm:v1"}); err != nil {
		t.Fatal(err)
	}
	front.Close() // the registry is down from now on

	c := open(t, dir) // a restart
	m, err := c.Get(t.Context(), Source{URL: host + "/f/warm:v1", PullPolicy: IfNotPresent})
	if err != nil {
		t.Fatalf("warm start with the registry down: %v", err)
	}
	if !m.FromCache || !bytes.Equal(m.Bytes, mod) {
		t.Fatalf("FromCache=%v, %d bytes", m.FromCache, len(m.Bytes))
	}
	m, err = c.Get(t.Context(), Source{URL: host + "/f/warm:v1", PullPolicy: Always})
	if err != nil || !m.Stale || m.FetchErr == nil {
		t.Fatalf("Always with the registry down: stale=%v fetchErr=%v err=%v; want the stale cached copy", m != nil && m.Stale, m != nil && m.FetchErr != nil, err)
	}
	if _, err := c.Get(t.Context(), Source{URL: host + "/f/other:v1"}); err == nil {
		t.Fatal("an uncached image was served with the registry down")
	}
}

func TestCorruptEntryIsRefetched(t *testing.T) {
	reg := testregistry.Start(t)
	mod := cachetest.Module("corrupt")
	cachetest.Push(t, reg.Ref("f/c:v1"), mod, cachetest.Plain)
	c := open(t, t.TempDir())
	m, err := c.Get(t.Context(), Source{URL: reg.Ref("f/c:v1")})
	if err != nil {
		t.Fatal(err)
	}
	bad := bytes.Clone(mod)
	bad[len(bad)-1] ^= 0xff
	if err := os.WriteFile(m.Path, bad, 0o644); err != nil {
		t.Fatal(err)
	}
	m, err = c.Get(t.Context(), Source{URL: reg.Ref("f/c:v1")})
	if err != nil {
		t.Fatal(err)
	}
	if m.FromCache || !bytes.Equal(m.Bytes, mod) {
		t.Fatalf("corrupt entry served: FromCache=%v", m.FromCache)
	}
	if got, _ := os.ReadFile(m.Path); !bytes.Equal(got, mod) {
		t.Fatal("the cache file was not repaired")
	}
	if s := c.Stats(); s.Corrupt != 1 || s.FetchOK != 2 {
		t.Fatalf("stats = %+v", s)
	}
}

func TestPullPolicyAlwaysSeesRetaggedImage(t *testing.T) {
	reg := testregistry.Start(t)
	c := open(t, t.TempDir())
	ref := reg.Ref("f/tag:stable")
	v1, v2 := cachetest.Module("v1"), cachetest.Module("v2")
	cachetest.Push(t, ref, v1, cachetest.OCI)
	if _, err := c.Get(t.Context(), Source{URL: ref}); err != nil {
		t.Fatal(err)
	}
	cachetest.Push(t, ref, v2, cachetest.OCI)
	m, _ := c.Get(t.Context(), Source{URL: ref, PullPolicy: IfNotPresent})
	if !bytes.Equal(m.Bytes, v1) || !m.FromCache {
		t.Fatal("IfNotPresent went to the registry")
	}
	m, err := c.Get(t.Context(), Source{URL: ref, PullPolicy: Always})
	if err != nil || !bytes.Equal(m.Bytes, v2) {
		t.Fatalf("Always did not see the new tag: %v", err)
	}
}

func TestFileAndHTTPURLs(t *testing.T) {
	mod := cachetest.Module("file")
	p := filepath.Join(t.TempDir(), "f.wasm")
	os.WriteFile(p, mod, 0o644)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/f.wasm" {
			http.NotFound(w, r)
			return
		}
		w.Write(mod)
	}))
	defer srv.Close()
	txt := filepath.Join(t.TempDir(), "x.txt")
	os.WriteFile(txt, []byte("not wasm at all"), 0o644)
	c := open(t, t.TempDir())
	tests := []struct {
		name string
		src  Source
		want string // error substring; empty for success
	}{
		{"file", Source{URL: "file://" + p}, ""},
		{"file pinned", Source{URL: "file://" + p, SHA256: hexsum(mod)}, ""},
		{"file wrong pin", Source{URL: "file://" + p, SHA256: strings.Repeat("0", 64)}, "sha256 mismatch"},
		{"file missing", Source{URL: "file:///nonexistent/x.wasm"}, "does not exist"},
		{"not wasm", Source{URL: "file://" + txt}, "not a WebAssembly module"},
		{"http", Source{URL: srv.URL + "/f.wasm", PullPolicy: Always}, ""},
		{"http 404", Source{URL: srv.URL + "/nope.wasm"}, "404"},
		{"bad scheme", Source{URL: "ftp://x/y"}, "unsupported url scheme"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m, err := c.Get(t.Context(), tc.src)
			if tc.want != "" {
				if err == nil || !strings.Contains(err.Error(), tc.want) {
					t.Fatalf("err = %v, want %q", err, tc.want)
				}
				return
			}
			if err != nil || !bytes.Equal(m.Bytes, mod) {
				t.Fatalf("Get = %v", err)
			}
		})
	}
}

func FuzzParseURL(f *testing.F) {
	for _, s := range []string{"oci://r/x:1", "r:5000/x@sha256:00", "file:///a", "https://h/x.wasm", "::", "file://"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		kind, loc, err := parseURL(s)
		if err == nil && (kind == "" || loc == "") {
			t.Fatalf("parseURL(%q) = %q, %q without error", s, kind, loc)
		}
	})
}

func TestDockerConfigCredentials(t *testing.T) {
	reg := testregistry.Start(t)
	mod := cachetest.Module("private")
	cachetest.Push(t, reg.Ref("f/private:v1"), mod, cachetest.OCI)
	u, _ := url.Parse(reg.URL)
	rp := httputil.NewSingleHostReverseProxy(u)
	guarded := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if user, pass, ok := r.BasicAuth(); !ok || user != "alice" || pass != "s3cret" {
			w.Header().Set("WWW-Authenticate", `Basic realm="test"`)
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		rp.ServeHTTP(w, r)
	}))
	defer guarded.Close()
	host := strings.TrimPrefix(guarded.URL, "http://")
	dir := t.TempDir()
	good := filepath.Join(dir, "good.json")
	os.WriteFile(good, []byte(`{"auths":{"`+host+`":{"auth":"YWxpY2U6czNjcmV0"}}}`), 0o600) // alice:s3cret
	none := filepath.Join(dir, "none.json")
	os.WriteFile(none, []byte(`{"auths":{}}`), 0o600)
	for _, tc := range []struct {
		name, cfg string
		ok        bool
	}{{"with credentials", good, true}, {"anonymous", none, false}} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Open(t.TempDir(), Options{PlainHTTP: func(string) bool { return true }, DockerConfig: tc.cfg})
			if err != nil {
				t.Fatal(err)
			}
			m, err := c.Get(t.Context(), Source{URL: host + "/f/private:v1"})
			if tc.ok && (err != nil || !bytes.Equal(m.Bytes, mod)) {
				t.Fatalf("pull with credentials: %v", err)
			}
			if !tc.ok && (err == nil || !strings.Contains(err.Error(), "wasmctl login "+host)) {
				t.Fatalf("anonymous pull of a private image: %v, want an error saying to log in", err)
			}
		})
	}
}

func TestPartialDownloadsAreNeverUsed(t *testing.T) {
	mod := cachetest.Module("partial")
	src := filepath.Join(t.TempDir(), "f.wasm")
	os.WriteFile(src, mod, 0o644)
	dir := t.TempDir()
	c := open(t, dir)
	m, err := c.Get(t.Context(), Source{URL: "file://" + src})
	if err != nil {
		t.Fatal(err)
	}
	// A crash mid-download leaves a part file; a crash between the blob and
	// the ref leaves a ref whose blob is missing.
	part := filepath.Join(dir, "tmp", "part-123")
	os.WriteFile(part, mod[:5], 0o644)
	os.Remove(m.Path)
	c = open(t, dir) // restart
	if _, err := os.Stat(part); !os.IsNotExist(err) {
		t.Fatalf("a partial download survived a restart: %v", err)
	}
	m, err = c.Get(t.Context(), Source{URL: "file://" + src})
	if err != nil || m.FromCache || !bytes.Equal(m.Bytes, mod) {
		t.Fatalf("missing blob: FromCache=%v err=%v; want a fresh fetch", m != nil && m.FromCache, err)
	}
	m, err = c.Get(t.Context(), Source{URL: "file://" + src})
	if err != nil || !m.FromCache {
		t.Fatalf("second Get: FromCache=%v err=%v", m != nil && m.FromCache, err)
	}
}
