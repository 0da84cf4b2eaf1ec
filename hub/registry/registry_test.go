package registry_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"oras.land/oras-go/v2"
	"oras.land/oras-go/v2/content"
	"oras.land/oras-go/v2/errdef"
	"oras.land/oras-go/v2/registry/remote"

	"github.com/wasmctl/wasmctl/hub/registry"
)

// recorder is a Listener that keeps events.
type recorder struct {
	mu     sync.Mutex
	events []registry.Event
}

func (r *recorder) OnEvent(_ context.Context, ev registry.Event) {
	r.mu.Lock()
	r.events = append(r.events, ev)
	r.mu.Unlock()
}

func (r *recorder) take() []registry.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	ev := r.events
	r.events = nil
	return ev
}

// drivers are the storage drivers every test runs on.
func drivers(t *testing.T) map[string]registry.Config {
	return map[string]registry.Config{
		"filesystem": {Driver: "filesystem", Parameters: map[string]any{"rootdirectory": t.TempDir()}},
		"inmemory":   {Driver: "inmemory"},
	}
}

func serve(t *testing.T, cfg registry.Config) (*registry.Registry, string) {
	t.Helper()
	r, err := registry.New(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(r)
	t.Cleanup(srv.Close)
	return r, srv.Listener.Addr().String()
}

func client(t *testing.T, host, repo string) *remote.Repository {
	t.Helper()
	r, err := remote.NewRepository(host + "/" + repo)
	if err != nil {
		t.Fatal(err)
	}
	r.PlainHTTP = true
	return r
}

func push(t *testing.T, repo oras.Target, tag string, payload []byte, subject *ocispec.Descriptor, artifactType string) ocispec.Descriptor {
	t.Helper()
	ctx := context.Background()
	layer, err := oras.PushBytes(ctx, repo, "application/vnd.module.wasm.content.layer.v1+wasm", payload)
	if err != nil {
		t.Fatal(err)
	}
	desc, err := oras.PackManifest(ctx, repo, oras.PackManifestVersion1_1, artifactType,
		oras.PackManifestOptions{Layers: []ocispec.Descriptor{layer}, Subject: subject})
	if err != nil {
		t.Fatal(err)
	}
	if tag != "" {
		if err := repo.Tag(ctx, desc, tag); err != nil {
			t.Fatal(err)
		}
	}
	return desc
}

func TestPushPullEventsAndContent(t *testing.T) {
	for name, cfg := range drivers(t) {
		t.Run(name, func(t *testing.T) {
			rec := &recorder{}
			cfg.Listener = rec
			reg, host := serve(t, cfg)
			ctx := t.Context()
			c := client(t, host, "alice/f")
			desc := push(t, c, "v1", []byte("\x00asm\x01\x00\x00\x00"), nil, "application/vnd.example")
			evs := rec.take()
			var tagged []registry.Event
			for _, ev := range evs {
				if ev.Action == registry.ActionPush && ev.Tag == "v1" {
					tagged = append(tagged, ev)
				}
			}
			if len(tagged) != 1 || tagged[0].Descriptor.Digest != desc.Digest || tagged[0].Repository != "alice/f" || len(tagged[0].Manifest) == 0 {
				t.Fatalf("push events = %+v", evs)
			}
			if tagged[0].Descriptor.ArtifactType != "application/vnd.example" {
				t.Fatalf("artifact type = %q", tagged[0].Descriptor.ArtifactType)
			}

			// The read API sees what was pushed.
			var repos []string
			reg.Repositories(ctx, "", func(r []string) error { repos = append(repos, r...); return nil })
			if !slices.Equal(repos, []string{"alice/f"}) {
				t.Fatalf("Repositories = %v", repos)
			}
			rp, _ := reg.Repository(ctx, "alice/f")
			got, err := rp.Resolve(ctx, "v1")
			if err != nil || got.Digest != desc.Digest {
				t.Fatalf("Resolve = %v, %v", got, err)
			}
			b, err := content.FetchAll(ctx, rp, got)
			if err != nil || !json.Valid(b) {
				t.Fatalf("Fetch manifest: %v", err)
			}
			var tags []string
			rp.Tags(ctx, "", func(tt []string) error { tags = append(tags, tt...); return nil })
			if !slices.Equal(tags, []string{"v1"}) {
				t.Fatalf("Tags = %v", tags)
			}
			if _, err := rp.Resolve(ctx, "nope"); !errors.Is(err, errdef.ErrNotFound) {
				t.Fatalf("Resolve(missing) = %v, want ErrNotFound", err)
			}
			ms, _ := rp.Manifests(ctx)
			if len(ms) != 1 {
				t.Fatalf("Manifests = %v", ms)
			}

			// Untag, then delete by digest.
			c.Tag(ctx, desc, "v2")
			rec.take()
			req, _ := http.NewRequest("DELETE", "http://"+host+"/v2/alice/f/manifests/v2", nil)
			resp, _ := http.DefaultClient.Do(req)
			if resp.StatusCode != 202 {
				t.Fatalf("DELETE tag = %d", resp.StatusCode)
			}
			if ev := rec.take(); len(ev) != 1 || ev[0].Action != registry.ActionUntag || ev[0].Tag != "v2" {
				t.Fatalf("untag events = %+v", ev)
			}
			if err := c.Delete(ctx, desc); err != nil {
				t.Fatal(err)
			}
			if ev := rec.take(); len(ev) != 1 || ev[0].Action != registry.ActionDelete || !slices.Equal(ev[0].Tags, []string{"v1"}) {
				t.Fatalf("delete events = %+v", ev)
			}
			if _, err := c.Resolve(ctx, "v1"); err == nil {
				t.Fatal("tag v1 survived the delete of its manifest")
			}
		})
	}
}

func TestReferrers(t *testing.T) {
	_, host := serve(t, registry.Config{Driver: "inmemory"})
	ctx := t.Context()
	c := client(t, host, "alice/f")
	subject := push(t, c, "v1", []byte("module"), nil, "application/vnd.example")
	sig := push(t, c, "", []byte("signature"), &subject, "application/vnd.example.sig")
	push(t, c, "", []byte("sbom"), &subject, "application/vnd.example.sbom")
	var all []ocispec.Descriptor
	if err := c.Referrers(ctx, subject, "", func(r []ocispec.Descriptor) error { all = append(all, r...); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(all) != 2 {
		t.Fatalf("referrers = %+v", all)
	}
	var sigs []ocispec.Descriptor
	c.Referrers(ctx, subject, "application/vnd.example.sig", func(r []ocispec.Descriptor) error { sigs = append(sigs, r...); return nil })
	if len(sigs) != 1 || sigs[0].Digest != sig.Digest {
		t.Fatalf("filtered referrers = %+v", sigs)
	}
	if err := c.Delete(ctx, sig); err != nil {
		t.Fatal(err)
	}
	all = nil
	c.Referrers(ctx, subject, "", func(r []ocispec.Descriptor) error { all = append(all, r...); return nil })
	if len(all) != 1 {
		t.Fatalf("referrers after deleting one = %+v", all)
	}
}

func TestRefusals(t *testing.T) {
	_, host := serve(t, registry.Config{Driver: "inmemory", MaxUploadSize: 1000})
	base := "http://" + host
	do := func(method, path, ct string, body []byte) (int, string) {
		req, _ := http.NewRequest(method, base+path, bytes.NewReader(body))
		if ct != "" {
			req.Header.Set("Content-Type", ct)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	missing := digest.FromString("never pushed")
	manifest := `{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.empty.v1+json","digest":"` + missing.String() + `","size":12},"layers":[]}`
	big := bytes.Repeat([]byte("x"), 2000)
	tests := []struct {
		name, method, path, ct string
		body                   []byte
		status                 int
		code                   string
	}{
		{"bad name", "GET", "/v2/Bad_Name/tags/list", "", nil, 400, "NAME_INVALID"},
		{"bad digest", "GET", "/v2/a/b/blobs/sha256:xyz", "", nil, 400, "DIGEST_INVALID"},
		{"unknown algorithm", "GET", "/v2/a/b/blobs/md5:d41d8cd98f00b204e9800998ecf8427e", "", nil, 400, "DIGEST_INVALID"},
		{"missing blob", "GET", "/v2/a/b/blobs/" + missing.String(), "", nil, 404, "BLOB_UNKNOWN"},
		{"unknown repository", "GET", "/v2/a/b/tags/list", "", nil, 404, "NAME_UNKNOWN"},
		{"manifest with missing blob", "PUT", "/v2/a/b/manifests/v1", ocispec.MediaTypeImageManifest, []byte(manifest), 400, "MANIFEST_BLOB_UNKNOWN"},
		{"not JSON", "PUT", "/v2/a/b/manifests/v1", ocispec.MediaTypeImageManifest, []byte("{"), 400, "MANIFEST_INVALID"},
		{"digest mismatch", "PUT", "/v2/a/b/manifests/" + missing.String(), ocispec.MediaTypeImageManifest, []byte(manifest), 400, "DIGEST_INVALID"},
		{"oversized monolithic blob", "POST", "/v2/a/b/blobs/uploads/?digest=" + digest.FromBytes(big).String(), "application/octet-stream", big, 413, "SIZE_INVALID"},
		{"unknown upload", "PATCH", "/v2/a/b/blobs/uploads/0123456789abcdef0123456789abcdef", "application/octet-stream", []byte("x"), 404, "BLOB_UPLOAD_UNKNOWN"},
		{"no such endpoint", "GET", "/v2/a/b/nothing/here", "", nil, 404, "NOT_FOUND"},
	}
	for _, tt := range tests {
		status, body := do(tt.method, tt.path, tt.ct, tt.body)
		var eb struct{ Errors []struct{ Code string } }
		json.Unmarshal([]byte(body), &eb)
		if status != tt.status || len(eb.Errors) == 0 || eb.Errors[0].Code != tt.code {
			t.Errorf("%s: %s %s = %d %s; want %d %s", tt.name, tt.method, tt.path, status, strings.TrimSpace(body), tt.status, tt.code)
		}
	}
}

// TestS3DriverLinked checks that the S3 driver is selectable by name: with
// no bucket it fails on its own parameters, not as an unknown driver.
func TestS3DriverLinked(t *testing.T) {
	_, err := registry.New(t.Context(), registry.Config{Driver: "s3", Parameters: map[string]any{"region": "us-east-1"}})
	if err == nil || !strings.Contains(err.Error(), "bucket") {
		t.Fatalf("s3 driver without a bucket: %v", err)
	}
	_, err = registry.New(t.Context(), registry.Config{Driver: "nosuchdriver"})
	if err == nil {
		t.Fatal("unknown driver accepted")
	}
}

func TestPurgeUploads(t *testing.T) {
	reg, host := serve(t, registry.Config{Driver: "inmemory", UploadTTL: time.Nanosecond})
	resp, err := http.Post("http://"+host+"/v2/alice/f/blobs/uploads/", "", nil)
	if err != nil || resp.StatusCode != 202 {
		t.Fatalf("start upload: %v %v", resp, err)
	}
	resp.Body.Close()
	loc := "http://" + host + resp.Header.Get("Location")
	time.Sleep(time.Millisecond)
	if n, err := reg.PurgeUploads(t.Context()); err != nil || n != 1 {
		t.Fatalf("PurgeUploads = %d, %v; want 1", n, err)
	}
	resp, err = http.Get(loc)
	if err != nil || resp.StatusCode != 404 {
		t.Fatalf("status of a purged upload = %v %v, want 404", resp, err)
	}
	resp.Body.Close()
}
