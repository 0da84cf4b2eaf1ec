package index_test

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/wasmctl/wasmctl/hub/db"
	"github.com/wasmctl/wasmctl/hub/db/dbtest"
	"github.com/wasmctl/wasmctl/hub/index"
	"github.com/wasmctl/wasmctl/hub/index/indextest"
)

var benchIndex struct {
	once sync.Once
	ix   *index.Index
	err  error
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
		benchIndex.ix, benchIndex.err = indextest.Seed(context.Background(), d, 10000)
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
	ix, err := indextest.Seed(b.Context(), d, 10000)
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
