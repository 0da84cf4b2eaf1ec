package e2e

import (
	"testing"
	"time"

	"github.com/wasmctl/wasmctl/runtime/host"
)

// BenchmarkFilterCallbacks measures a filter's own time in the runtime,
// without HTTP: one stream per iteration driven directly through
// runtime/host (request headers, response headers, end of stream), against
// the same stream through a filter that does nothing in the same run
// (denier with a match that never holds). "µs-added/op" is the filter's
// time in the VM per request.
//
//	go test -run '^$' -bench BenchmarkFilterCallbacks -benchtime 3000x ./filters/e2e
func BenchmarkFilterCallbacks(b *testing.B) {
	req := host.Pairs{{":method", "GET"}, {":path", "/books"}, {":authority", "reviews.default.svc"}, {":scheme", "http"},
		{"user-agent", "bench"}, {"x-user", "productpage"}}
	resp := host.Pairs{{":status", "200"}, {"content-length", "16"}}
	run := func(b *testing.B, p *host.Plugin) float64 {
		start := time.Now()
		for b.Loop() {
			s, err := p.NewHTTPStream(&host.StreamInfo{Protocol: "HTTP/1.1", Scheme: "http", SourceAddr: "127.0.0.1:40000",
				DestinationAddr: "127.0.0.1:8080", StartTime: time.Now()})
			if err != nil {
				b.Fatal(err)
			}
			if r := s.OnRequestHeaders(req, true); r.LocalReply != nil {
				b.Fatalf("local reply %d %s", r.LocalReply.Status, r.LocalReply.Body)
			}
			s.OnResponseHeaders(resp, false)
			s.OnResponseBody([]byte("ok from upstream"), true)
			s.Done()
		}
		return float64(time.Since(start).Nanoseconds()) / float64(b.N)
	}
	var base float64
	b.Run("noop", func(b *testing.B) {
		base = run(b, plugin(b, "denier", `{"match":{"attr":{"header":"x-never"},"present":true}}`, 1, nil))
	})
	for _, bc := range benchCases {
		if bc.filter == "extauthz" || bc.filter == "redisquota" {
			continue // they pause on a callout; BenchmarkFilters covers them
		}
		b.Run(bc.filter, func(b *testing.B) {
			ns := run(b, plugin(b, bc.filter, bc.config, 1, nil))
			b.ReportMetric((ns-base)/1e3, "µs-added/op")
		})
	}
}
