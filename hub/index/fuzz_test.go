package index_test

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/wasmctl/wasmctl/hub/db"
	"github.com/wasmctl/wasmctl/hub/index"
	"github.com/wasmctl/wasmctl/hub/index/indextest"
)

var fuzzIndex struct {
	once sync.Once
	ix   *index.Index
	err  error
}

// FuzzSearchText checks that no user text can break the full-text query
// (FTS5 syntax errors, injection): every search either succeeds or the test
// fails.
func FuzzSearchText(f *testing.F) {
	for _, s := range []string{"rate", `"`, `rate" OR name:*`, "NEAR(a b)", "a AND", "-x", "*", "^a", "ünïcödé ﬁlter",
		"a:b", "(", "\xff\xfe", "'; DROP TABLE index_filters; --", "col:rate", "rate*", "\x00", "a\u00a0b"} {
		f.Add(s, "")
		f.Add(s, "popular")
	}
	fuzzIndex.once.Do(func() {
		d, err := db.Open(context.Background(), "", f.TempDir())
		if err != nil {
			fuzzIndex.err = err
			return
		}
		fuzzIndex.ix, fuzzIndex.err = indextest.Seed(context.Background(), d, 200)
	})
	if fuzzIndex.err != nil {
		f.Fatal(fuzzIndex.err)
	}
	f.Fuzz(func(t *testing.T, text, sort string) {
		res, err := fuzzIndex.ix.Search(context.Background(), index.Query{Text: text, Category: text, Namespace: text, Sort: index.ParseSort(sort)})
		if err != nil {
			t.Fatalf("Search(%q): %v", text, err)
		}
		if res.Total < len(res.Filters) {
			t.Fatalf("Search(%q): total %d < %d results", text, res.Total, len(res.Filters))
		}
	})
}

// TestHostileSearchText runs the fuzz seeds on both engines (the PostgreSQL
// tsquery is built differently from the FTS5 expression).
func TestHostileSearchText(t *testing.T) {
	texts := []string{`"`, `rate" OR name:*`, "NEAR(a b)", "a AND", "-x", "*", "^a", "ünïcödé ﬁlter", "a:b", "(", "!", "a & b | c",
		"'; DROP TABLE index_filters; --", "rate*", "\x00", "\xff", "a\u00a0b", "x:* & y", "<->", "ǅemal", "١٢٣"}
	databases(t, func(t *testing.T, d *db.DB) {
		ix, err := indextest.Seed(t.Context(), d, 30)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range texts {
			if _, err := ix.Search(t.Context(), index.Query{Text: s, Category: s, Namespace: s}); err != nil {
				t.Errorf("Search(%q): %v", s, err)
			}
			if _, err := ix.Get(t.Context(), "ns001/"+s, nil); !errors.Is(err, index.ErrNotFound) {
				t.Errorf("Get(%q) error = %v, want ErrNotFound", s, err)
			}
		}
	})
}
