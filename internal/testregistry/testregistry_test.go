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
