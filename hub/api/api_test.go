package api_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"golang.org/x/crypto/bcrypt"
	"sigs.k8s.io/yaml"

	"github.com/wasmctl/wasmctl/hub/api"
	"github.com/wasmctl/wasmctl/hub/auth"
	"github.com/wasmctl/wasmctl/hub/db/dbtest"
	"github.com/wasmctl/wasmctl/hub/index"
	"github.com/wasmctl/wasmctl/hub/index/indextest"
	"github.com/wasmctl/wasmctl/internal/testregistry"
)

func TestMain(m *testing.M) {
	code := m.Run()
	dbtest.Stop()
	os.Exit(code)
}

type fixture struct {
	url   string
	ix    *index.Index
	token string
}

func setup(t *testing.T) *fixture {
	t.Helper()
	ctx := t.Context()
	d := dbtest.SQLite(t)
	ix, err := index.Open(ctx, d, index.Options{})
	if err != nil {
		t.Fatal(err)
	}
	as, err := auth.New(ctx, d, auth.Config{BcryptCost: bcrypt.MinCost,
		SigningKey: []byte("0123456789abcdef0123456789abcdef"), Limiter: auth.NewLimiter(3, time.Minute)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := as.CreateUser(ctx, "alice", "correct-horse", auth.UserOptions{}); err != nil {
		t.Fatal(err)
	}
	secret, _, err := as.CreateToken(ctx, "alice", "test", time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	reg := testregistry.Start(t)
	for _, p := range []struct{ repo, tag, desc, cats, keywords string }{
		{"alice/rate-limit", "v1", "Token-bucket rate limiting", "traffic", ""},
		{"alice/rate-limit", "v2", "Token-bucket rate limiting", "traffic", ""},
		{"alice/secret-sauce", "v1", "Private rate tweaks", "traffic", ""},
		{"bob/cors", "1.0", "CORS headers", "headers", "cross-origin,preflight"},
	} {
		desc := indextest.Push(t, reg.Host, p.repo, p.tag, indextest.Image{Wasm: indextest.Module("proxy_abi_version_0_2_1"),
			README: "# " + p.repo, Annotations: map[string]string{ocispec.AnnotationDescription: p.desc,
				index.AnnotationCategories: p.cats, index.AnnotationKeywords: p.keywords}})
		if err := ix.ManifestPushed(ctx, indextest.Repository(t, reg.Host, p.repo), p.repo, p.tag, desc); err != nil {
			t.Fatal(err)
		}
	}
	if err := ix.SetPrivate(ctx, "alice/secret-sauce", true); err != nil {
		t.Fatal(err)
	}
	h, err := api.New(api.Config{Index: ix, Auth: as})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle(api.Prefix, h)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return &fixture{url: srv.URL, ix: ix, token: secret}
}

func call(t *testing.T, url, bearer string, out any) int {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if ct := resp.Header.Get("Content-Type"); out != nil && !strings.HasPrefix(ct, "application/json") {
		t.Fatalf("GET %s: Content-Type %q", url, ct)
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			t.Fatalf("GET %s: %v\n%s", url, err, b)
		}
	}
	return resp.StatusCode
}

func TestSearch(t *testing.T) {
	f := setup(t)
	tests := []struct {
		query, bearer string
		want          []string
		total         int
	}{
		{"", "", []string{"bob/cors", "alice/rate-limit"}, 2},
		{"?q=rate", "", []string{"alice/rate-limit"}, 1},
		{"?q=rate&sort=name", f.token, []string{"alice/rate-limit", "alice/secret-sauce"}, 2},
		{"?category=headers", "", []string{"bob/cors"}, 1},
		{"?q=preflight", "", []string{"bob/cors"}, 1},
		{"?namespace=alice&sort=name", "", []string{"alice/rate-limit"}, 1},
		{"?sort=name&per_page=1&page=2", "", []string{"bob/cors"}, 2},
	}
	for _, tt := range tests {
		var res index.Results
		if s := call(t, f.url+"/api/v1/filters"+tt.query, tt.bearer, &res); s != 200 {
			t.Fatalf("%s: status %d", tt.query, s)
		}
		var got []string
		for _, x := range res.Filters {
			got = append(got, x.Repository)
		}
		if strings.Join(got, " ") != strings.Join(tt.want, " ") || res.Total != tt.total {
			t.Errorf("search %q (token %v) = %v total %d, want %v total %d", tt.query, tt.bearer != "", got, res.Total, tt.want, tt.total)
		}
	}
	var e struct{ Error api.Error }
	if s := call(t, f.url+"/api/v1/filters?page=0", "", &e); s != 400 || e.Error.Code != "BAD_REQUEST" {
		t.Fatalf("page=0: %d %+v", s, e)
	}
	if s := call(t, f.url+"/api/v1/filters", "whp_not-a-token", &e); s != 401 || e.Error.Code != "UNAUTHORIZED" {
		t.Fatalf("bad token: %d %+v", s, e)
	}
}

func TestFilterAndVersions(t *testing.T) {
	f := setup(t)
	var d index.Detail
	if s := call(t, f.url+"/api/v1/filters/alice/rate-limit", "", &d); s != 200 {
		t.Fatalf("detail status %d", s)
	}
	if d.LatestTag != "v2" || d.README != "# alice/rate-limit" || len(d.Versions) != 2 || d.ABIVersions[0] != "0.2.1" {
		t.Fatalf("detail = %+v", d)
	}
	var v struct {
		Repository string
		Versions   []index.Version
	}
	if s := call(t, f.url+"/api/v1/filters/alice/rate-limit/versions", "", &v); s != 200 || len(v.Versions) != 2 || v.Versions[0].Tag != "v2" || v.Versions[0].Format != "compat" || v.Versions[0].Size == 0 {
		t.Fatalf("versions = %d %+v", s, v)
	}
	var kw struct{ Keywords, Categories []string }
	if s := call(t, f.url+"/api/v1/filters/bob/cors", "", &kw); s != 200 || strings.Join(kw.Keywords, ",") != "cross-origin,preflight" ||
		strings.Join(kw.Categories, ",") != "headers" {
		t.Fatalf("bob/cors keywords and categories = %d %+v", s, kw)
	}
	var e struct{ Error api.Error }
	for _, p := range []string{"/api/v1/filters/alice/secret-sauce", "/api/v1/filters/alice/secret-sauce/versions", "/api/v1/filters/nobody/none"} {
		if s := call(t, f.url+p, "", &e); s != 404 || e.Error.Code != "NOT_FOUND" {
			t.Errorf("anonymous %s = %d %+v, want 404", p, s, e)
		}
	}
	if s := call(t, f.url+"/api/v1/filters/alice/secret-sauce", f.token, &d); s != 200 || !d.Private {
		t.Fatalf("owner detail of a private filter = %d %+v", s, d)
	}
	var cats struct{ Categories []index.Category }
	if s := call(t, f.url+"/api/v1/categories", "", &cats); s != 200 || !reflect.DeepEqual(cats.Categories, []index.Category{{Name: "headers", Count: 1}, {Name: "traffic", Count: 1}}) {
		t.Fatalf("categories = %d %+v", s, cats)
	}
	if s := call(t, f.url+"/api/v1/nope", "", &e); s != 404 {
		t.Fatalf("unknown endpoint = %d", s)
	}
}

// TestOpenAPIDocumentsEveryRoute keeps openapi.yaml in step with the mux.
func TestOpenAPIDocumentsEveryRoute(t *testing.T) {
	f := setup(t)
	resp, err := http.Get(f.url + "/api/v1/openapi.yaml")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var doc struct {
		Paths map[string]any `json:"paths"`
	}
	if err := yaml.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"/filters", "/filters/{namespace}/{name}", "/filters/{namespace}/{name}/versions", "/categories"} {
		if doc.Paths[p] == nil {
			t.Errorf("openapi.yaml does not document %s", p)
		}
	}
}

func TestAPIRateLimitsBadCredentials(t *testing.T) {
	f := setup(t)
	for range 3 {
		call(t, f.url+"/api/v1/filters", "whp_wrong", nil)
	}
	if s := call(t, f.url+"/api/v1/filters", f.token, nil); s != http.StatusTooManyRequests {
		t.Fatalf("after 3 failures a good token got %d, want 429", s)
	}
}
