package indextest

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"oras.land/oras-go/v2/content"

	"github.com/wasmctl/wasmctl/hub/db"
	"github.com/wasmctl/wasmctl/hub/index"
)

var words = strings.Fields(`rate limit jwt auth header cors cache compress gzip waf firewall log metrics trace
	retry timeout circuit breaker canary route rewrite redirect token oauth oidc basic ip allow deny geo bot
	captcha quota billing tenant grpc json transcoder lua wasm filter proxy envoy istio mesh edge gateway`)

// Seed fills an index with n filters whose names, descriptions and
// categories are drawn from words, through the same ManifestPushed path as
// real pushes (the image is described by a synthetic Inspector so that the
// benchmark measures the index, not blob reads).
func Seed(ctx context.Context, d *db.DB, n int) (*index.Index, error) {
	r := rand.New(rand.NewPCG(1, 2))
	pick := func(k int) []string {
		out := make([]string, k)
		for i := range out {
			out[i] = words[r.IntN(len(words))]
		}
		return out
	}
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	i := 0
	ix, err := index.Open(ctx, d, index.Options{
		Now: func() time.Time { return start.Add(time.Duration(i) * time.Minute) },
		Inspect: func(ctx context.Context, _ content.ReadOnlyStorage, desc ocispec.Descriptor) (*index.Image, error) {
			return &index.Image{Format: "compat", MediaType: desc.MediaType, Size: 2 << 20, WasmSize: 2<<20 - 300,
				ABIVersions: []string{"0.2.1"}, Metadata: index.Metadata{
					Description: "A filter that does " + strings.Join(pick(8), " ") + ".",
					README:      "# Filter\n\n" + strings.Join(pick(60), " "),
					Categories:  pick(2), License: "Apache-2.0"}}, nil
		},
	})
	if err != nil {
		return nil, err
	}
	for i = 0; i < n; i++ {
		name := fmt.Sprintf("ns%03d/%s-%s-%d", i%300, words[r.IntN(len(words))], words[r.IntN(len(words))], i)
		desc := ocispec.Descriptor{MediaType: ocispec.MediaTypeImageManifest, Digest: digest.FromString(name), Size: 900}
		if err := ix.ManifestPushed(ctx, nil, name, "v1.0.0", desc); err != nil {
			return nil, err
		}
		if i%7 == 0 {
			for range i % 50 {
				ix.RecordPull(ctx, name)
			}
		}
	}
	return ix, nil
}
