package api_test

import (
	"net/http"
	"net/url"
	"testing"

	"github.com/wasmctl/wasmctl/hub/api"
	"github.com/wasmctl/wasmctl/hub/index"
)

// FuzzSearchQuery checks the query-string parser shared by the API and the
// UI: it never panics, and what it accepts is in range.
func FuzzSearchQuery(f *testing.F) {
	for _, s := range []string{"q=rate&page=2&per_page=50&sort=popular", "page=-1", "per_page=99999999999999999999",
		"page=0x10", "q=%00&category=%ff", "sort=drop", "page=1&page=2"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		r := &http.Request{URL: &url.URL{RawQuery: raw}}
		q, err := api.SearchQuery(r)
		if err != nil {
			return
		}
		if q.Page < 0 || q.PerPage < 0 || len(q.Text) > 200 {
			t.Fatalf("SearchQuery(%q) = %+v", raw, q)
		}
		switch q.Sort {
		case index.SortRelevance, index.SortRecent, index.SortPopular, index.SortName:
		default:
			t.Fatalf("SearchQuery(%q) sort %q", raw, q.Sort)
		}
	})
}
