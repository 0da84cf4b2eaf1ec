package testregistry

import (
	"io"
	"net/http"
	"strings"
	"testing"
)

func TestRegistryAnswersV2(t *testing.T) {
	r := Start(t)
	resp, err := http.Get(r.URL + "/v2/")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /v2/ = %d %s", resp.StatusCode, body)
	}
	if got := resp.Header.Get("Docker-Distribution-Api-Version"); got != "registry/2.0" {
		t.Fatalf("api version header %q", got)
	}
	if !strings.HasPrefix(r.Ref("x/y:1"), "127.0.0.1:") {
		t.Fatalf("bad ref %q", r.Ref("x/y:1"))
	}
}

func TestCatalogListsPushedRepositories(t *testing.T) {
	r := Start(t)
	// An empty registry answers with an empty list, not an error.
	resp, err := http.Get(r.URL + "/v2/_catalog")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), `"repositories"`) {
		t.Fatalf("GET /v2/_catalog = %d %s", resp.StatusCode, body)
	}
	// Push a manifest with an empty config blob, then the catalog must list its repository.
	cfg := []byte("{}")
	const cfgDigest = "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"
	start, err := http.Post(r.URL+"/v2/team/filter/blobs/uploads/", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	start.Body.Close()
	loc := start.Header.Get("Location")
	if start.StatusCode != http.StatusAccepted || loc == "" {
		t.Fatalf("upload start = %d, Location %q", start.StatusCode, loc)
	}
	sep := "?"
	if strings.Contains(loc, "?") {
		sep = "&"
	}
	if !strings.HasPrefix(loc, "http") {
		loc = r.URL + loc
	}
	blobReq, _ := http.NewRequest(http.MethodPut, loc+sep+"digest="+cfgDigest, strings.NewReader(string(cfg)))
	up, err := http.DefaultClient.Do(blobReq)
	if err != nil {
		t.Fatal(err)
	}
	up.Body.Close()
	if up.StatusCode != http.StatusCreated {
		t.Fatalf("blob upload = %d", up.StatusCode)
	}
	manifest := `{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.empty.v1+json","digest":"` + cfgDigest + `","size":2},"layers":[]}`
	req, _ := http.NewRequest(http.MethodPut, r.URL+"/v2/team/filter/manifests/v1", strings.NewReader(manifest))
	req.Header.Set("Content-Type", "application/vnd.oci.image.manifest.v1+json")
	put, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	put.Body.Close()
	if put.StatusCode != http.StatusCreated {
		t.Fatalf("manifest put = %d", put.StatusCode)
	}
	resp, err = http.Get(r.URL + "/v2/_catalog")
	if err != nil {
		t.Fatal(err)
	}
	body, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(body), "team/filter") {
		t.Fatalf("catalog does not list team/filter: %s", body)
	}
}
