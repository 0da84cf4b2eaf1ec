package web_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/wasmctl/wasmctl/hub/api"
	"github.com/wasmctl/wasmctl/hub/auth"
	"github.com/wasmctl/wasmctl/hub/db"
	"github.com/wasmctl/wasmctl/hub/index"
	"github.com/wasmctl/wasmctl/hub/index/indextest"
	"github.com/wasmctl/wasmctl/hub/web"
)

var bigHub struct {
	once sync.Once
	url  string
	repo string
	err  error
}

// BenchmarkPages measures whole-page latency over HTTP (index query,
// template rendering, headers) with 10 000 filters in a SQLite index, and the
// JSON API for the same search. Each sub-benchmark reports p50/p99 in ms.
//
//	go test -run '^$' -bench Pages -benchtime 100x ./hub/web/
func BenchmarkPages(b *testing.B) {
	bigHub.once.Do(func() {
		ctx := context.Background()
		dir, err := os.MkdirTemp("", "hub-web-bench")
		if err != nil {
			bigHub.err = err
			return
		}
		d, err := db.Open(ctx, "", dir)
		if err != nil {
			bigHub.err = err
			return
		}
		ix, err := indextest.Seed(ctx, d, 10000)
		if err != nil {
			bigHub.err = err
			return
		}
		as, err := auth.New(ctx, d, auth.Config{BcryptCost: bcrypt.MinCost, SigningKey: []byte("0123456789abcdef0123456789abcdef")})
		if err != nil {
			bigHub.err = err
			return
		}
		ui, _ := web.New(web.Config{Index: ix, Auth: as, RegistryHost: "hub.example"})
		a, _ := api.New(api.Config{Index: ix, Auth: as})
		mux := http.NewServeMux()
		mux.Handle(api.Prefix, a)
		mux.Handle("/", ui)
		bigHub.url = httptest.NewServer(mux).URL
		res, err := ix.Search(ctx, index.Query{Text: "rate", Sort: index.SortPopular})
		if err != nil || len(res.Filters) == 0 {
			bigHub.err = err
			return
		}
		bigHub.repo = res.Filters[0].Repository
	})
	if bigHub.err != nil {
		b.Fatal(bigHub.err)
	}
	for _, tc := range []struct{ name, path string }{
		{"api-search", "/api/v1/filters?q=rate"},
		{"explore", "/"},
		{"explore-search", "/?q=rate"},
		{"explore-popular-page-3", "/?q=circ+brea&sort=popular&page=3"},
		{"explore-category", "/?category=cache"},
		{"filter-page", "/filters/" + bigHub.repo},
		{"namespace", "/namespaces/ns007"},
	} {
		b.Run(tc.name, func(b *testing.B) {
			var lat []time.Duration
			for b.Loop() {
				t0 := time.Now()
				resp, err := http.Get(bigHub.url + tc.path)
				if err != nil {
					b.Fatal(err)
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				lat = append(lat, time.Since(t0))
				if resp.StatusCode != http.StatusOK {
					b.Fatalf("GET %s = %s", tc.path, resp.Status)
				}
			}
			slices.Sort(lat)
			b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
			b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
		})
	}
}
