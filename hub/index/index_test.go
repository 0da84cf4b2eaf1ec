package index_test

import (
	"context"
	"errors"
	"os"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/wasmctl/wasmctl/hub/db"
	"github.com/wasmctl/wasmctl/hub/db/dbtest"
	"github.com/wasmctl/wasmctl/hub/index"
	"github.com/wasmctl/wasmctl/hub/index/indextest"
	"github.com/wasmctl/wasmctl/internal/sharedtest"
	"github.com/wasmctl/wasmctl/internal/testregistry"
)

func TestMain(m *testing.M) {
	code := m.Run()
	dbtest.Stop()
	os.Exit(code)
}

func TestABIVersions(t *testing.T) {
	tests := []struct {
		file string
		want []string
	}{
		{"roastedroot-java/cpp-on_request_headers.wasm", []string{"0.2.1"}},
		{"roastedroot-java/rust-hello_world.wasm", []string{"0.2.1"}},
		{"mosn-go-host/add-req-header-v1.wasm", []string{"0.1.0"}},
		{"roastedroot-java/go-http_headers.wasm", []string{"0.2.0"}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			b, err := os.ReadFile(sharedtest.Corpus(t, tt.file))
			if err != nil {
				t.Fatal(err)
			}
			got, err := index.ABIVersions(b)
			if err != nil || !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("ABIVersions = %v, %v; want %v", got, err, tt.want)
			}
			// Every truncation is an error or a subset, never a panic.
			for _, n := range []int{0, 4, 8, 9, len(b) / 2, len(b) - 1} {
				index.ABIVersions(b[:n])
			}
		})
	}
	m := indextest.Module("proxy_abi_version_0_2_1", "proxy_abi_version_0_1_0", "proxy_on_vm_start", "proxy_abi_version_0_2_1")
	if got, err := index.ABIVersions(m); err != nil || !reflect.DeepEqual(got, []string{"0.1.0", "0.2.1"}) {
		t.Fatalf("ABIVersions(hand-made) = %v, %v", got, err)
	}
	if _, err := index.ABIVersions([]byte("#!/bin/sh\n")); !errors.Is(err, index.ErrNotWasm) {
		t.Fatalf("ABIVersions(script) error = %v, want ErrNotWasm", err)
	}
}

func FuzzABIVersions(f *testing.F) {
	f.Add(indextest.Module("proxy_abi_version_0_2_1"))
	f.Add([]byte("\x00asm\x01\x00\x00\x00\x07\xff\xff\xff\xff\x0f"))
	f.Fuzz(func(t *testing.T, b []byte) {
		vs, err := index.ABIVersions(b)
		if err == nil && !slices.IsSorted(vs) {
			t.Fatalf("unsorted %v", vs)
		}
	})
}

// databases runs fn against SQLite and, where the PostgreSQL binaries are
// installed, PostgreSQL.
func databases(t *testing.T, fn func(t *testing.T, d *db.DB)) {
	t.Run("sqlite", func(t *testing.T) { fn(t, dbtest.SQLite(t)) })
	t.Run("postgres", func(t *testing.T) { fn(t, dbtest.Postgres(t)) })
}

type clock struct{ t time.Time }

func (c *clock) now() time.Time { c.t = c.t.Add(time.Minute); return c.t }

func open(t *testing.T, d *db.DB, opts index.Options) *index.Index {
	t.Helper()
	if opts.Now == nil {
		c := &clock{t: time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)}
		opts.Now = c.now
	}
	ix, err := index.Open(t.Context(), d, opts)
	if err != nil {
		t.Fatal(err)
	}
	return ix
}

func names(r *index.Results) []string {
	var out []string
	for _, f := range r.Filters {
		out = append(out, f.Repository)
	}
	return out
}

// fixture pushes four filters in three shapes and indexes each push.
func fixture(t *testing.T, ix *index.Index, reg *testregistry.Registry) map[string]ocispec.Descriptor {
	t.Helper()
	abi21 := indextest.Module("proxy_abi_version_0_2_1", "proxy_on_vm_start")
	abi20 := indextest.Module("proxy_abi_version_0_2_0")
	pushes := []struct {
		repo, tag string
		img       indextest.Image
	}{
		{"acme/rate-limit", "v1.0.0", indextest.Image{Variant: indextest.Compat, Wasm: abi20,
			README: "# Rate limit\nOld readme.", Annotations: map[string]string{
				ocispec.AnnotationDescription: "Token-bucket rate limiting per client IP",
				"io.wasmctl.categories":       "traffic, security"}}},
		{"acme/rate-limit", "v1.1.0", indextest.Image{Variant: indextest.Compat, Wasm: abi21,
			README: "# Rate limit\nLimits **requests**.", Schema: `{"type":"object","properties":{"rps":{"type":"integer","description":"requests per second"}}}`,
			Annotations: map[string]string{
				ocispec.AnnotationDescription: "Token-bucket rate limiting per client IP",
				ocispec.AnnotationLicenses:    "Apache-2.0",
				ocispec.AnnotationSource:      "https://example.com/acme/rate-limit",
				"io.wasmctl.categories":       "traffic, security",
				index.AnnotationKeywords:      "Throttle, token-bucket"}}},
		{"acme/jwt-auth", "1.0", indextest.Image{Variant: indextest.OCI, Wasm: abi21, Annotations: map[string]string{
			ocispec.AnnotationDescription: "Verifies JWT bearer tokens", "io.wasmctl.categories": "security,auth"}}},
		{"bob/add-header", "latest", indextest.Image{Variant: indextest.Plain, Wasm: abi20, Annotations: map[string]string{
			ocispec.AnnotationDescription: "Adds a response header", "io.wasmctl.categories": "headers"}}},
	}
	descs := map[string]ocispec.Descriptor{}
	for _, p := range pushes {
		d := indextest.Push(t, reg.Host, p.repo, p.tag, p.img)
		descs[p.repo+":"+p.tag] = d
		if err := ix.ManifestPushed(t.Context(), indextest.Repository(t, reg.Host, p.repo), p.repo, p.tag, d); err != nil {
			t.Fatal(err)
		}
	}
	return descs
}

func TestIndexFollowsPushesAndDeletes(t *testing.T) {
	reg := testregistry.Start(t)
	databases(t, func(t *testing.T, d *db.DB) {
		ctx := t.Context()
		ix := open(t, d, index.Options{})
		descs := fixture(t, ix, reg)

		searches := []struct {
			q    index.Query
			want []string
		}{
			{index.Query{}, []string{"bob/add-header", "acme/jwt-auth", "acme/rate-limit"}},
			{index.Query{Text: "rate"}, []string{"acme/rate-limit"}},
			{index.Query{Text: "TOKEN", Sort: index.SortName}, []string{"acme/jwt-auth", "acme/rate-limit"}},
			{index.Query{Text: "jwt bear"}, []string{"acme/jwt-auth"}},
			{index.Query{Text: "thrott"}, []string{"acme/rate-limit"}}, // a keyword
			{index.Query{Category: "throttle"}, nil},                   // keywords are not categories
			{index.Query{Text: "acme", Sort: index.SortName}, []string{"acme/jwt-auth", "acme/rate-limit"}},
			{index.Query{Category: "security", Sort: index.SortName}, []string{"acme/jwt-auth", "acme/rate-limit"}},
			{index.Query{Namespace: "bob"}, []string{"bob/add-header"}},
			{index.Query{Text: `"); DROP TABLE index_filters; --`}, nil},
			{index.Query{Text: "nothing-matches-this"}, nil},
			{index.Query{Sort: index.SortName, PerPage: 2, Page: 2}, []string{"bob/add-header"}},
		}
		for _, s := range searches {
			r, err := ix.Search(ctx, s.q)
			if err != nil {
				t.Fatalf("Search(%+v): %v", s.q, err)
			}
			if got := names(r); !reflect.DeepEqual(got, s.want) {
				t.Errorf("Search(%+v) = %v, want %v", s.q, got, s.want)
			}
		}

		det, err := ix.Get(ctx, "acme/rate-limit", nil)
		if err != nil {
			t.Fatal(err)
		}
		if det.LatestTag != "v1.1.0" || det.Tags != 2 || !strings.Contains(det.README, "Limits **requests**") ||
			!strings.Contains(det.Schema, "rps") || det.License != "Apache-2.0" || det.Source == "" ||
			!reflect.DeepEqual(det.ABIVersions, []string{"0.2.1"}) || !reflect.DeepEqual(det.Categories, []string{"traffic", "security"}) ||
			!reflect.DeepEqual(det.Keywords, []string{"throttle", "token-bucket"}) {
			t.Fatalf("Get(acme/rate-limit) = %+v", det)
		}
		if len(det.Versions) != 2 || det.Versions[0].Tag != "v1.1.0" || det.Versions[1].Tag != "v1.0.0" ||
			det.Versions[1].ABIVersions[0] != "0.2.0" || det.Versions[0].Format != "compat" ||
			det.Versions[0].Digest != descs["acme/rate-limit:v1.1.0"].Digest.String() || det.Versions[0].Size <= det.Versions[0].WasmSize {
			t.Fatalf("versions = %+v", det.Versions)
		}
		for repo, format := range map[string]string{"acme/jwt-auth": "oci", "bob/add-header": "artifact"} {
			vs, err := ix.Versions(ctx, repo, nil)
			if err != nil || len(vs) != 1 || vs[0].Format != format {
				t.Errorf("Versions(%s) = %+v, %v; want one %s version", repo, vs, err, format)
			}
		}

		cats, err := ix.Categories(ctx, nil)
		if err != nil || len(cats) != 4 || cats[0] != (index.Category{Name: "security", Count: 2}) {
			t.Fatalf("Categories = %v, %v", cats, err)
		}

		// Pulls drive the popular order.
		for range 3 {
			ix.RecordPull(ctx, "bob/add-header")
		}
		ix.RecordPull(ctx, "acme/rate-limit")
		r, _ := ix.Search(ctx, index.Query{Sort: index.SortPopular})
		if got := names(r); !reflect.DeepEqual(got, []string{"bob/add-header", "acme/rate-limit", "acme/jwt-auth"}) || r.Filters[0].Pulls != 3 {
			t.Fatalf("popular = %v", got)
		}

		// Private filters are seen only by their namespace.
		if err := ix.SetPrivate(ctx, "acme/jwt-auth", true); err != nil {
			t.Fatal(err)
		}
		if r, _ := ix.Search(ctx, index.Query{Text: "jwt"}); r.Total != 0 {
			t.Fatalf("anonymous search sees a private filter: %v", names(r))
		}
		if _, err := ix.Get(ctx, "acme/jwt-auth", []string{"bob"}); !errors.Is(err, index.ErrNotFound) {
			t.Fatalf("bob Get(private) error = %v, want ErrNotFound", err)
		}
		if r, _ := ix.Search(ctx, index.Query{Text: "jwt", Viewer: []string{"acme"}}); r.Total != 1 {
			t.Fatalf("owner search = %v", names(r))
		}
		if cats, _ := ix.Categories(ctx, nil); !reflect.DeepEqual(cats, []index.Category{{"headers", 1}, {"security", 1}, {"traffic", 1}}) {
			t.Fatalf("anonymous categories count a private filter: %v", cats)
		}

		// Deleting one tag moves "latest" back; deleting the last removes the filter.
		if err := ix.TagDeleted(ctx, "acme/rate-limit", "v1.1.0"); err != nil {
			t.Fatal(err)
		}
		det, _ = ix.Get(ctx, "acme/rate-limit", nil)
		if det.LatestTag != "v1.0.0" || det.Tags != 1 || det.README != "# Rate limit\nOld readme." || det.Pulls != 1 {
			t.Fatalf("after tag delete: %+v", det)
		}
		if err := ix.ManifestDeleted(ctx, "acme/rate-limit", descs["acme/rate-limit:v1.0.0"].Digest); err != nil {
			t.Fatal(err)
		}
		if _, err := ix.Get(ctx, "acme/rate-limit", nil); !errors.Is(err, index.ErrNotFound) {
			t.Fatalf("deleted filter still there: %v", err)
		}
		if r, _ := ix.Search(ctx, index.Query{Text: "rate"}); r.Total != 0 {
			t.Fatalf("search still finds a deleted filter: %v", names(r))
		}
		if cats, _ := ix.Categories(ctx, []string{"acme"}); len(cats) != 3 {
			t.Fatalf("categories after delete = %v", cats)
		}
	})
}

func TestReindexRebuildsFromStorage(t *testing.T) {
	reg := testregistry.Start(t)
	databases(t, func(t *testing.T, d *db.DB) {
		ctx := t.Context()
		live := open(t, d, index.Options{})
		fixture(t, live, reg)
		live.RecordPull(ctx, "bob/add-header")

		fsrc := indextest.Source(t, reg.Host, reg.Dir)
		src := index.SourceFuncs{RepositoriesFunc: fsrc.Repositories,
			RepositoryFunc: func(ctx context.Context, name string) (index.Repository, error) { return fsrc.Repository(ctx, name) }}

		// A fresh index rebuilt from storage equals the event-driven one.
		fresh := open(t, dbtest.SQLite(t), index.Options{})
		st, err := fresh.Reindex(ctx, src, func(repo, tag string, err error) { t.Errorf("reindex %s:%s: %v", repo, tag, err) })
		if err != nil || st.Indexed != 4 || st.Repositories != 3 {
			t.Fatalf("Reindex = %+v, %v", st, err)
		}
		for _, repo := range []string{"acme/rate-limit", "acme/jwt-auth", "bob/add-header"} {
			a, _ := live.Get(ctx, repo, nil)
			b, err := fresh.Get(ctx, repo, nil)
			if err != nil {
				t.Fatal(err)
			}
			if a.README != b.README || a.Schema != b.Schema || a.Digest != b.Digest || a.Tags != b.Tags ||
				!reflect.DeepEqual(a.ABIVersions, b.ABIVersions) || !reflect.DeepEqual(a.Categories, b.Categories) ||
				!reflect.DeepEqual(a.Keywords, b.Keywords) {
				t.Errorf("%s: live %+v\nreindexed %+v", repo, a, b)
			}
		}

		// Reindexing the live index changes nothing and keeps pull counts.
		st, err = live.Reindex(ctx, src, nil)
		if err != nil || st.Unchanged != 4 || st.Indexed != 0 || st.Removed != 0 {
			t.Fatalf("second Reindex = %+v, %v", st, err)
		}
		if f, _ := live.Get(ctx, "bob/add-header", nil); f.Pulls != 1 {
			t.Fatalf("pulls after reindex = %d, want 1", f.Pulls)
		}

		// A version indexed by an older reader (here: before keywords) is
		// read again, keeping its push date and the pull counts.
		before, _ := live.Get(ctx, "acme/rate-limit", nil)
		for _, q := range []string{`UPDATE index_versions SET reader = 0, keywords = '' WHERE repository = 'acme/rate-limit' AND tag = 'v1.1.0'`,
			`UPDATE index_filters SET keywords = '' WHERE repository = 'acme/rate-limit'`} {
			if _, err := d.ExecContext(ctx, q); err != nil {
				t.Fatal(err)
			}
		}
		st, err = live.Reindex(ctx, src, nil)
		if err != nil || st.Unchanged != 3 || st.Indexed != 1 || st.Removed != 0 {
			t.Fatalf("Reindex after a reader upgrade = %+v, %v", st, err)
		}
		after, _ := live.Get(ctx, "acme/rate-limit", nil)
		if !reflect.DeepEqual(after.Keywords, []string{"throttle", "token-bucket"}) || !after.Updated.Equal(before.Updated) ||
			!after.Versions[0].Pushed.Equal(before.Versions[0].Pushed) || after.Pulls != before.Pulls {
			t.Fatalf("re-read version: before %+v\nafter %+v", before.Filter, after.Filter)
		}

		// A tag deleted behind the index's back is dropped by reindex.
		jwt := indextest.Repository(t, reg.Host, "acme/jwt-auth")
		desc, err := jwt.Resolve(ctx, "1.0")
		if err != nil {
			t.Fatal(err)
		}
		if err := jwt.Delete(ctx, desc); err != nil {
			t.Fatal(err)
		}
		st, err = live.Reindex(ctx, src, nil)
		if err != nil || st.Removed != 1 {
			t.Fatalf("Reindex after delete = %+v, %v", st, err)
		}
		if _, err := live.Get(ctx, "acme/jwt-auth", nil); !errors.Is(err, index.ErrNotFound) {
			t.Fatalf("deleted filter survives reindex: %v", err)
		}
	})
}
