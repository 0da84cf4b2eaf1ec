package index_test

import (
	"context"
	"fmt"
	"log"
	"os"

	"oras.land/oras-go/v2/content/memory"

	"github.com/wasmctl/wasmctl/hub/db"
	"github.com/wasmctl/wasmctl/hub/index"
	"github.com/wasmctl/wasmctl/hub/index/indextest"
	"github.com/wasmctl/wasmctl/internal/wasmimage"
)

// Index a filter image the way `wasmctl push` writes it (with a
// wasmctl.yaml manifest and a README), then search for it.
func Example() {
	ctx := context.Background()
	dir, _ := os.MkdirTemp("", "index-example")
	defer os.RemoveAll(dir)
	d, err := db.Open(ctx, "", dir) // SQLite under dir; "postgres://…" for PostgreSQL
	if err != nil {
		log.Fatal(err)
	}
	defer d.Close()
	ix, err := index.Open(ctx, d, index.Options{})
	if err != nil {
		log.Fatal(err)
	}

	// Any oras-go store works as the source: here a memory store.
	store := memory.New()
	desc, err := wasmimage.Pack(ctx, store, indextest.Module("proxy_abi_version_0_2_1"), wasmimage.PackOptions{
		ManifestFile: []byte("name: rate-limit\ndescription: Token-bucket rate limiting\ncategories: [traffic, security]\nlicense: Apache-2.0\n"),
		Readme:       []byte("# Rate limit\n"),
	})
	if err != nil {
		log.Fatal(err)
	}
	if err := ix.ManifestPushed(ctx, store, "acme/rate-limit", "v1.0.0", desc); err != nil {
		log.Fatal(err)
	}

	res, err := ix.Search(ctx, index.Query{Text: "token buck"})
	if err != nil {
		log.Fatal(err)
	}
	for _, f := range res.Filters {
		fmt.Println(f.Repository, f.LatestTag, f.ABIVersions, f.Categories, f.License)
	}
	// Output:
	// acme/rate-limit v1.0.0 [0.2.1] [traffic security] Apache-2.0
}
