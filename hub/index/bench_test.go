package index_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"oras.land/oras-go/v2/content"

	"github.com/wasmctl/wasmctl/hub/db"
	"github.com/wasmctl/wasmctl/hub/db/dbtest"
	"github.com/wasmctl/wasmctl/hub/index"
)

var words = strings.Fields(`rate limit jwt auth header cors cache compress gzip waf firewall log metrics trace
	retry timeout circuit breaker canary route rewrite redirect token oauth oidc basic ip allow deny geo bot
	captcha quota billing tenant grpc json transcoder lua wasm filter proxy envoy istio mesh edge gateway`)

var benchIndex struct {
	once sync.Once
	ix   *index.Index
	err  error
}

// seed fills an index with n filters whose names, descriptions and
// categories are drawn from words, through the same ManifestPushed path as
// real pushes (the image is described by a synthetic Inspector so that the
// benchmark measures the index, not blob reads).
func seed(ctx context.Context, d *db.DB, n int) (*index.Index, error) {
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

// BenchmarkSearch measures search latency over 10 000 filters on SQLite and
// reports p50/p99 per query shape. "list-recent" (no text) is the baseline.
//
//	go test -run '^$' -bench Search -benchtime 200x ./hub/index/
func BenchmarkSearch(b *testing.B) {
	benchIndex.once.Do(func() {
		d, err := db.Open(context.Background(), "", b.TempDir())
		if err != nil {
			benchIndex.err = err
			return
		}
		benchIndex.ix, benchIndex.err = seed(context.Background(), d, 10000)
	})
	if benchIndex.err != nil {
		b.Fatal(benchIndex.err)
	}
	searchBench(b, benchIndex.ix)
}

// BenchmarkSearchPostgres is BenchmarkSearch on PostgreSQL (skipped when it
// is not installed).
func BenchmarkSearchPostgres(b *testing.B) {
	d := dbtest.Postgres(b)
	ix, err := seed(b.Context(), d, 10000)
	if err != nil {
		b.Fatal(err)
	}
	searchBench(b, ix)
}

func searchBench(b *testing.B, ix *index.Index) {
	queries := []struct {
		name string
		q    index.Query
	}{
		{"list-recent", index.Query{Sort: index.SortRecent}},
		{"list-popular", index.Query{Sort: index.SortPopular}},
		{"text-one-word", index.Query{Text: "rate"}},
		{"text-two-prefixes", index.Query{Text: "circ brea"}},
		{"text-popular-page-5", index.Query{Text: "filter", Sort: index.SortPopular, Page: 5}},
		{"category", index.Query{Category: "cache"}},
		{"category-text", index.Query{Category: "auth", Text: "token"}},
	}
	for _, tc := range queries { // warm the caches
		ix.Search(b.Context(), tc.q)
	}
	base := 0.0
	for _, tc := range queries {
		b.Run(tc.name, func(b *testing.B) {
			var lat []time.Duration
			for b.Loop() {
				t0 := time.Now()
				r, err := ix.Search(b.Context(), tc.q)
				lat = append(lat, time.Since(t0))
				if err != nil {
					b.Fatal(err)
				}
				if r.Total == 0 {
					b.Fatalf("%+v found nothing", tc.q)
				}
			}
			slices.Sort(lat)
			p50 := float64(lat[len(lat)/2].Microseconds()) / 1000
			b.ReportMetric(p50, "p50-ms")
			b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
			if tc.name == "list-recent" {
				base = p50
			} else if base > 0 {
				b.ReportMetric(p50/base, "x-list")
			}
		})
	}
}
