package main

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/wasmctl/wasmctl/filters/internal/filtertest"
	"github.com/wasmctl/wasmctl/filters/internal/mixer"
	"github.com/wasmctl/wasmctl/sdk/proxywasm/proxytest"
	"github.com/wasmctl/wasmctl/sdk/proxywasm/types"
)

func newVM() types.VMContext { return &vmContext{} }

var base = time.Hour // a whole number of seconds, so fixed windows align

func at(host proxytest.HostEmulator, d time.Duration) {
	host.SetProperty([]string{"test", "now"}, mixer.Int64LE(int64(base+d)))
}

func clock() filtertest.Option { return filtertest.Prop("test.now", mixer.Int64LE(int64(base))) }

func TestSchemaDefsInSync(t *testing.T) {
	if err := mixer.CheckSchemaDefs(schemaJSON); err != nil {
		t.Fatal(err)
	}
}

func TestParseConfigErrors(t *testing.T) {
	tests := []struct{ config, field string }{
		{`{}`, "quotas"},
		{`{"quotas":[]}`, "quotas"},
		{`{"quotas":[{"name":"q"}]}`, "quotas[0].max_amount"},
		{`{"quotas":[{"name":"q","max_amount":-1}]}`, "quotas[0].max_amount"},
		{`{"quotas":[{"name":"q","max_amount":1,"valid_duration":"x"}]}`, "quotas[0].valid_duration"},
		{`{"quotas":[{"name":"q","max_amount":1},{"name":"q","max_amount":2}]}`, "quotas[1].name"},
		{`{"quotas":[{"name":"q","max_amount":1,"overrides":[{"dimensions":{"zone":"a"},"max_amount":1}]}]}`, "quotas[0].overrides[0].dimensions.zone"},
		{`{"quotas":[{"name":"q","max_amount":1,"overrides":[{"dimensions":{},"max_amount":1}]}]}`, "quotas[0].overrides[0].dimensions"},
		{`{"quotas":[{"name":"q","max_amount":1}],"charge":0}`, "charge"},
		{`{"quotas":[{"name":"q","max_amount":1}],"algorithm":"LEAKY"}`, "algorithm"},
		{`{"quotas":[{"name":"q","max_amount":1}],"dimensions":{"s":{"header":"a","attribute":"b"}}}`, "dimensions.s"},
	}
	for _, tt := range tests {
		_, err := parseConfig([]byte(tt.config))
		var ve *mixer.ValidationError
		if !errors.As(err, &ve) || ve.Field != tt.field {
			t.Errorf("parseConfig(%s) = %v; want an error naming %q", tt.config, err, tt.field)
		}
	}
}

func TestCounterEncoding(t *testing.T) {
	for _, c := range []counter{
		{kind: 'R', slots: []slot{{10, 2}, {11, 1}}},
		{kind: 'F', end: 5e9, count: 3},
		{kind: 'C', count: 7},
	} {
		got := decodeCounter(c.encode(), c.kind)
		if string(got.encode()) != string(c.encode()) {
			t.Errorf("round trip %q -> %q", c.encode(), got.encode())
		}
	}
	if c := decodeCounter([]byte("F 1 2"), 'R'); len(c.slots) != 0 {
		t.Error("state of another algorithm was reused")
	}
	if got := windowSlots(int64(1500 * time.Millisecond)); got != 20 {
		t.Errorf("1.5s window = %d slots, want 20 (rounded up to 2s)", got)
	}
}

func FuzzDecodeCounter(f *testing.F) {
	f.Add([]byte("R 1:2 3:4"), byte('R'))
	f.Add([]byte("F 100 2"), byte('F'))
	f.Add([]byte("C 1"), byte('C'))
	f.Fuzz(func(t *testing.T, b []byte, kind byte) {
		c := decodeCounter(b, kind)
		c.used(1e9, 1e9)
		c.add(1e9, 1)
		_ = c.encode()
	})
}

// hit sends a request with the given x-forwarded-for and returns the
// local reply status (0 when the request went upstream).
func hit(t *testing.T, host proxytest.HostEmulator, xff string, extra ...[2]string) uint32 {
	t.Helper()
	h := append([][2]string{{"x-forwarded-for", xff}}, extra...)
	id, action := filtertest.Get(host, "/", h...)
	st := filtertest.Status(host, id)
	if (st == 0) != (action == types.ActionContinue) {
		t.Fatalf("action %v with local reply %d", action, st)
	}
	return st
}

const bookinfo = `{"handler_name":"quotahandler","time_property":["test","now"],
	"quotas":[{"name":"requestcountquota","max_amount":500,"valid_duration":"1s","overrides":[
		{"dimensions":{"destination":"reviews"},"max_amount":1,"valid_duration":"5s"},
		{"dimensions":{"destination":"productpage","source":"10.28.11.20"},"max_amount":500,"valid_duration":"1s"},
		{"dimensions":{"destination":"productpage"},"max_amount":2,"valid_duration":"5s"}]}],
	"dimensions":{"source":{"header":"x-forwarded-for","default":"unknown"},
		"destination":{"first_of":[{"header":"x-destination"},{"node_metadata":"LABELS.app"},{"attribute":"destination.service.name"}],"default":"unknown"}}}`

func TestMemquota(t *testing.T) {
	filtertest.Run(t, newVM, func(t *testing.T, h *filtertest.Harness) {
		t.Run("3 per second", func(t *testing.T) {
			host := h.Start(t, `{"time_property":["test","now"],"quotas":[{"name":"requestcountquota","max_amount":3,"valid_duration":"1s"}]}`, clock())
			for i := range 3 {
				if st := hit(t, host, "a"); st != 0 {
					t.Fatalf("request %d: %d", i+1, st)
				}
			}
			id, _ := filtertest.Get(host, "/")
			if filtertest.Status(host, id) != 429 || filtertest.Body(host, id) != "RESOURCE_EXHAUSTED:Quota is exhausted for: requestcountquota" {
				t.Errorf("4th: %d %q", filtertest.Status(host, id), filtertest.Body(host, id))
			}
			at(host, 1100*time.Millisecond)
			if st := hit(t, host, "a"); st != 0 {
				t.Errorf("after 1.1s: %d", st)
			}
			if filtertest.Counter(host, "memquota_denied_total.memquota") != 1 || filtertest.Counter(host, "memquota_allowed_total.memquota") != 4 {
				t.Errorf("counters allowed=%d denied=%d", filtertest.Counter(host, "memquota_allowed_total.memquota"), filtertest.Counter(host, "memquota_denied_total.memquota"))
			}
		})
		t.Run("bookinfo overrides", func(t *testing.T) {
			host := h.Start(t, bookinfo, clock())
			dest := func(d string) [2]string { return [2]string{"x-destination", d} }
			if st := hit(t, host, "1.1.1.1", dest("reviews")); st != 0 {
				t.Errorf("reviews 1st: %d", st)
			}
			at(host, 4*time.Second)
			if st := hit(t, host, "1.1.1.1", dest("reviews")); st != 429 {
				t.Errorf("reviews 2nd within 5s: %d, want 429", st)
			}
			for i := range 10 {
				if st := hit(t, host, "1.1.1.1", dest("ratings")); st != 0 {
					t.Fatalf("ratings %d: %d (default is 500/s)", i, st)
				}
			}
			// productpage: 2 per 5s, except from 10.28.11.20 (500/s).
			hit(t, host, "9.9.9.9", dest("productpage"))
			hit(t, host, "9.9.9.9", dest("productpage"))
			if st := hit(t, host, "9.9.9.9", dest("productpage")); st != 429 {
				t.Errorf("productpage 3rd: %d, want 429", st)
			}
			for range 5 {
				if st := hit(t, host, "10.28.11.20", dest("productpage")); st != 0 {
					t.Errorf("productpage from 10.28.11.20: %d", st)
				}
			}
		})
		t.Run("dimensions are independent buckets", func(t *testing.T) {
			host := h.Start(t, `{"time_property":["test","now"],"quotas":[{"name":"q","max_amount":2,"valid_duration":"10s"}],
				"dimensions":{"source":{"header":"x-forwarded-for","default":"unknown"}}}`, clock())
			hit(t, host, "A")
			hit(t, host, "A")
			if st := hit(t, host, "A"); st != 429 {
				t.Errorf("A exhausted: %d", st)
			}
			if st := hit(t, host, "B"); st != 0 {
				t.Errorf("B: %d", st)
			}
		})
		for _, tc := range []struct {
			alg                string
			at105, at185, at19 uint32
		}{
			{"FIXED_WINDOW", 0, 0, 0},
			{"ROLLING_WINDOW", 429, 429, 0},
		} {
			t.Run("window "+tc.alg, func(t *testing.T) {
				host := h.Start(t, `{"time_property":["test","now"],"algorithm":"`+tc.alg+`","quotas":[{"name":"q","max_amount":2,"valid_duration":"1s"}]}`, clock())
				at(host, 900*time.Millisecond)
				hit(t, host, "x")
				at(host, 950*time.Millisecond)
				if st := hit(t, host, "x"); st != 0 {
					t.Fatalf("2nd grant: %d", st)
				}
				at(host, 1050*time.Millisecond)
				if st := hit(t, host, "x"); st != tc.at105 {
					t.Errorf("t=1.05: %d, want %d", st, tc.at105)
				}
				if tc.alg == "ROLLING_WINDOW" {
					at(host, 1850*time.Millisecond)
					if st := hit(t, host, "x"); st != tc.at185 {
						t.Errorf("t=1.85: %d, want %d", st, tc.at185)
					}
					at(host, 1900*time.Millisecond)
					if st := hit(t, host, "x"); st != tc.at19 {
						t.Errorf("t=1.9: %d, want %d", st, tc.at19)
					}
				}
			})
		}
		t.Run("1.5s window behaves as 2s", func(t *testing.T) {
			host := h.Start(t, `{"time_property":["test","now"],"quotas":[{"name":"q","max_amount":1,"valid_duration":"1.5s"}]}`, clock())
			hit(t, host, "x")
			at(host, 1600*time.Millisecond)
			if st := hit(t, host, "x"); st != 429 {
				t.Errorf("t=1.6: %d, want 429", st)
			}
			at(host, 2000*time.Millisecond)
			if st := hit(t, host, "x"); st != 0 {
				t.Errorf("t=2.0: %d, want 200", st)
			}
		})
		t.Run("concurrency quota releases at stream end", func(t *testing.T) {
			host := h.Start(t, `{"quotas":[{"name":"inflight","max_amount":1}],"rate_limit_headers":true}`)
			a, action := filtertest.Get(host, "/")
			if action != types.ActionContinue {
				t.Fatal("first request denied")
			}
			b, _ := filtertest.Get(host, "/")
			r := host.GetSentLocalResponse(b)
			if r == nil || r.StatusCode != 429 {
				t.Fatalf("second concurrent request: %+v", r)
			}
			if v, _ := filtertest.Header(r.Headers, "x-ratelimit-remaining"); v != "0" {
				t.Errorf("x-ratelimit-remaining on 429 = %q", v)
			}
			host.CallOnResponseHeaders(a, [][2]string{{":status", "200"}}, true)
			if v, _ := filtertest.Header(host.GetCurrentResponseHeaders(a), "x-ratelimit-limit"); v != "1" {
				t.Errorf("x-ratelimit-limit = %q", v)
			}
			host.CompleteHttpContext(a)
			if _, action := filtertest.Get(host, "/"); action != types.ActionContinue {
				t.Error("after release: denied")
			}
		})
		t.Run("best effort grants the remainder", func(t *testing.T) {
			host := h.Start(t, `{"time_property":["test","now"],"charge":2,"best_effort":true,"quotas":[{"name":"q","max_amount":3,"valid_duration":"10s"}]}`, clock())
			hit(t, host, "x")
			if st := hit(t, host, "x"); st != 0 {
				t.Errorf("best effort with 1 left: %d", st)
			}
			if st := hit(t, host, "x"); st != 429 {
				t.Errorf("nothing left: %d", st)
			}
		})
		t.Run("max 0 denies everything", func(t *testing.T) {
			host := h.Start(t, `{"quotas":[{"name":"closed","max_amount":0,"valid_duration":"1s"}]}`)
			if st := hit(t, host, "x"); st != 429 {
				t.Errorf("%d", st)
			}
		})
	})
}

// TestGrantsExactlyMax issues interleaved requests from many streams and
// checks the total number of grants equals max_amount.
func TestGrantsExactlyMax(t *testing.T) {
	filtertest.Run(t, newVM, func(t *testing.T, h *filtertest.Harness) {
		host := h.Start(t, `{"time_property":["test","now"],"quotas":[{"name":"q","max_amount":37,"valid_duration":"60s"}]}`, clock())
		granted := 0
		for i := range 100 {
			at(host, time.Duration(i)*10*time.Millisecond)
			if hit(t, host, fmt.Sprint(i)) == 0 {
				granted++
			}
		}
		if granted != 37 {
			t.Errorf("granted %d, want 37", granted)
		}
	})
}

func BenchmarkRequest(b *testing.B) {
	filtertest.BenchmarkRequest(b, &vmContext{}, `{"quotas":[{"name":"q","max_amount":1000000000,"valid_duration":"1s"}],"dimensions":{"source":{"header":"x-forwarded-for","default":"unknown"}}}`,
		nil, [][2]string{{":method", "GET"}, {":path", "/"}, {"x-forwarded-for", "1.2.3.4"}})
}
