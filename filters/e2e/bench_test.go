package e2e

import (
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/wasmctl/wasmctl/filters/redisquota/quotaservice"
	"github.com/wasmctl/wasmctl/runtime/httpfilter"
)

// benchCases are the filters with a configuration on their allow path (the
// request reaches the upstream), the common case in production.
var benchCases = []struct {
	filter, config string
	headers        []string
}{
	{"denier", `{"status":{"code":7},"match":{"attr":{"header":"x-source-version"},"exact":"v3"}}`, nil},
	{"listchecker", `{"value":{"attribute":"source.ip"},"entry_type":"IP_ADDRESSES","overrides":["127.0.0.0/8","10.0.0.0/8"]}`, nil},
	{"memquota", `{"quotas":[{"name":"q","max_amount":1000000000,"valid_duration":"1s"}],"dimensions":{"source":{"header":"x-forwarded-for","default":"unknown"}}}`, nil},
	{"stdio", `{}`, nil},
	{"prometheus", `{}`, nil},
	{"rbac", `{"subject":{"user":{"header":"x-user"}},"action":{"namespace":{"literal":"default"},"service":{"literal":"reviews.default.svc"}},
		"roles":[{"name":"reader","rules":[{"services":["reviews.*"],"paths":["/books*"],"methods":["GET"]}]}],
		"bindings":[{"role":"reader","subjects":[{"user":"productpage"}]}]}`, []string{"x-user", "productpage"}},
	{"extauthz", `{"cluster":"opa-bench","cache":{"valid_for":"1h"}}`, nil},
	{"redisquota", `{"service":{"cluster":"quota-bench"},"quotas":[{"name":"q","max_amount":1000000000,"valid_duration":"60s"}]}`, nil},
	{"attributegen", `{"attributes":[{"output_attribute":"istio_operationId","phase":"ON_REQUEST","match":[
		{"value":"ListBooks","condition":{"all":[{"attr":{"attribute":"request.url_path"},"exact":"/books"},{"attr":{"attribute":"request.method"},"exact":"GET"}]}}]}]}`, nil},
	{"peer-metadata", `{}`, nil},
}

// BenchmarkFilters measures one HTTP request through the runtime with each
// filter, against the bare proxy (the same httpfilter handler with no
// plugin) in the same run. "x-bare" is the ratio to the bare proxy and
// "µs-added/op" the extra time per request.
//
//	go test -run '^$' -bench BenchmarkFilters -benchtime 2000x ./filters/e2e
func BenchmarkFilters(b *testing.B) {
	callee(b, "opa-bench", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, `{"result":true}`) }))
	callee(b, "quota-bench", quotaservice.New())
	up := newUpstream(b)
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 8}}
	run := func(b *testing.B, url string, headers []string) float64 {
		req, _ := http.NewRequest("GET", url+"/books", nil)
		for i := 0; i+1 < len(headers); i += 2 {
			req.Header.Set(headers[i], headers[i+1])
		}
		for b.Loop() {
			resp, err := client.Do(req)
			if err != nil {
				b.Fatal(err)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 {
				b.Fatalf("status %d", resp.StatusCode)
			}
		}
		return float64(b.Elapsed().Nanoseconds()) / float64(b.N)
	}
	var bare float64
	b.Run("bare", func(b *testing.B) {
		s := httptest.NewServer(httpfilter.New(nil, httpfilter.ReverseProxy(up.URL), httpfilter.Options{}))
		defer s.Close()
		bare = run(b, s.URL, nil)
	})
	for _, bc := range benchCases {
		b.Run(bc.filter, func(b *testing.B) {
			p := plugin(b, bc.filter, bc.config, 1, nil)
			s := front(b, up, p)
			ns := run(b, s.URL, bc.headers)
			if bare > 0 {
				b.ReportMetric(ns/bare, "x-bare")
				b.ReportMetric((ns-bare)/1e3, "µs-added/op")
			}
		})
	}
}
