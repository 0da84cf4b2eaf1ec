package index_test

import (
	"bytes"
	"context"
	"net/http"
	"testing"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/wasmctl/wasmctl/hub/db/dbtest"
	"github.com/wasmctl/wasmctl/hub/index"
	"github.com/wasmctl/wasmctl/hub/index/indextest"
	"github.com/wasmctl/wasmctl/internal/testregistry"
)

// TestFailedPushLeavesIndexConsistent checks that what an interrupted or
// broken push leaves in storage never shows in the index: a push killed
// after its blobs (no manifest), a push killed mid-upload, and a manifest
// whose wasm layer is not wasm.
func TestFailedPushLeavesIndexConsistent(t *testing.T) {
	ctx := t.Context()
	reg := testregistry.Start(t)
	ix := open(t, dbtest.SQLite(t), index.Options{})
	src := indextest.Source(t, reg.Host, reg.Dir)
	source := index.SourceFuncs{RepositoriesFunc: src.Repositories,
		RepositoryFunc: func(ctx2 context.Context, name string) (index.Repository, error) { return src.Repository(ctx2, name) }}

	wasm := indextest.Module("proxy_abi_version_0_2_1")
	d1 := indextest.Push(t, reg.Host, "acme/waf", "v1", indextest.Image{Wasm: wasm, README: "# WAF v1"})
	repo := indextest.Repository(t, reg.Host, "acme/waf")
	if err := ix.ManifestPushed(ctx, repo, "acme/waf", "v1", d1); err != nil {
		t.Fatal(err)
	}

	// 1. Killed after the blobs: the new module's archive is in storage, no manifest.
	blob := indextest.TarGz(map[string][]byte{"plugin.wasm": indextest.Module("proxy_abi_version_0_2_0", "x")})
	bd := ocispec.Descriptor{MediaType: ocispec.MediaTypeImageLayerGzip, Digest: digest.FromBytes(blob), Size: int64(len(blob))}
	if err := repo.Push(ctx, bd, bytes.NewReader(blob)); err != nil {
		t.Fatal(err)
	}
	// 2. Killed mid-upload: a session opened and half a chunk sent.
	resp, err := http.Post(reg.URL+"/v2/acme/waf/blobs/uploads/", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	loc := resp.Header.Get("Location")
	if resp.StatusCode != http.StatusAccepted || loc == "" {
		t.Fatalf("start upload: %s", resp.Status)
	}
	req, _ := http.NewRequestWithContext(ctx, http.MethodPatch, reg.URL+loc, bytes.NewReader(blob[:len(blob)/2]))
	if loc[0] != '/' {
		req, _ = http.NewRequestWithContext(ctx, http.MethodPatch, loc, bytes.NewReader(blob[:len(blob)/2]))
	}
	req.Header.Set("Content-Type", "application/octet-stream")
	if resp, err := http.DefaultClient.Do(req); err != nil {
		t.Fatal(err)
	} else {
		resp.Body.Close()
	}
	// 3. A manifest whose "wasm" layer is a text file: indexing fails, nothing is written.
	bad := indextest.Push(t, reg.Host, "acme/waf", "v2", indextest.Image{Variant: indextest.Plain, Wasm: []byte("not wasm at all")})
	if err := ix.ManifestPushed(ctx, repo, "acme/waf", "v2", bad); err == nil {
		t.Fatal("indexing a manifest whose wasm layer is not wasm succeeded")
	}

	check := func(when string) {
		t.Helper()
		det, err := ix.Get(ctx, "acme/waf", nil)
		if err != nil {
			t.Fatalf("%s: %v", when, err)
		}
		if det.Tags != 1 || det.LatestTag != "v1" || det.Digest != d1.Digest.String() || det.README != "# WAF v1" {
			t.Fatalf("%s: index shows %+v", when, det)
		}
		if r, err := ix.Search(ctx, index.Query{}); err != nil || r.Total != 1 {
			t.Fatalf("%s: search = %+v, %v", when, r, err)
		}
	}
	check("after the failed pushes")
	st, err := ix.Reindex(ctx, source, nil)
	if err != nil {
		t.Fatal(err)
	}
	if st.Unchanged != 1 || st.Indexed != 0 {
		t.Fatalf("Reindex = %+v; want v1 unchanged and the broken v2 skipped", st)
	}
	check("after reindex")
}
