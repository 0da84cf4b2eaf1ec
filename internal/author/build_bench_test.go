package author

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

// BenchmarkBuild times `wasmctl build` of the http-headers template with a
// cold Go build cache (a fresh GOCACHE: the standard library and the SDK are
// compiled for wasip1 from scratch) and with a warm one, in the same run,
// and reports both and their ratio. Run it with -benchtime=1x:
//
//	go test -run XXX -bench Build -benchtime=1x ./internal/author
func BenchmarkBuild(b *testing.B) {
	b.Setenv("GOPROXY", "off")
	b.Setenv("GOFLAGS", "-mod=vendor")
	b.Setenv("GOWORK", "off")
	dir := filepath.Join(b.TempDir(), "bench")
	if _, err := Init(dir, InitOptions{Template: "http-headers"}); err != nil {
		b.Fatal(err)
	}
	store, err := OpenStore(b.Context(), filepath.Join(b.TempDir(), "store"))
	if err != nil {
		b.Fatal(err)
	}
	build := func() time.Duration {
		start := time.Now()
		if _, err := Build(b.Context(), dir, BuildOptions{Store: store}); err != nil {
			b.Fatal(err)
		}
		return time.Since(start)
	}
	build() // warm the shared cache for the warm runs
	orig := os.Getenv("GOCACHE")
	var cold, warm time.Duration
	b.ResetTimer()
	for range b.N {
		warm += build()
		b.Setenv("GOCACHE", b.TempDir())
		cold += build()
		b.Setenv("GOCACHE", orig)
	}
	b.ReportMetric(cold.Seconds()/float64(b.N), "cold-s/op")
	b.ReportMetric(warm.Seconds()/float64(b.N), "warm-s/op")
	b.ReportMetric(float64(cold)/float64(warm), "cold/warm")
}
