package main

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/wasmctl/wasmctl/filters/internal/filtertest"
	"github.com/wasmctl/wasmctl/filters/internal/mixer"
	"github.com/wasmctl/wasmctl/filters/redisquota/quotaservice"
	"github.com/wasmctl/wasmctl/sdk/proxywasm/proxytest"
	"github.com/wasmctl/wasmctl/sdk/proxywasm/types"
)

func TestSchemaDefsInSync(t *testing.T) {
	if err := mixer.CheckSchemaDefs(schemaJSON); err != nil {
		t.Fatal(err)
	}
}

func TestParseConfigErrors(t *testing.T) {
	q := `"service":{"cluster":"quota"},"quotas":`
	tests := []struct{ config, field string }{
		{`{"quotas":[]}`, "service"},
		{`{` + q + `[]}`, "quotas"},
		{`{` + q + `[{"name":"q","max_amount":0,"valid_duration":"1s"}]}`, "quotas[0].max_amount"},
		{`{` + q + `[{"name":"q","max_amount":1,"valid_duration":"0s"}]}`, "quotas[0].valid_duration"},
		{`{` + q + `[{"name":"q","max_amount":1,"valid_duration":"1s","rate_limit_algorithm":"ROLLING_WINDOW"}]}`, "quotas[0].bucket_duration"},
		{`{` + q + `[{"name":"q","max_amount":1,"valid_duration":"1s","rate_limit_algorithm":"ROLLING_WINDOW","bucket_duration":"2s"}]}`, "quotas[0].bucket_duration"},
		{`{` + q + `[{"name":"q","max_amount":1,"valid_duration":"1s","overrides":[{"dimensions":{"x":"y"},"max_amount":1}]}]}`, "quotas[0].overrides[0].dimensions.x"},
		{`{` + q + `[{"name":"q","max_amount":1,"valid_duration":"1s","overrides":[{"dimensions":{},"max_amount":1}]}]}`, "quotas[0].overrides[0].dimensions"},
	}
	for _, tt := range tests {
		_, err := parseConfig([]byte(tt.config))
		var ve *mixer.ValidationError
		if !errors.As(err, &ve) || ve.Field != tt.field {
			t.Errorf("parseConfig(%s) = %v; want an error naming %q", tt.config, err, tt.field)
		}
	}
}

const conf = `{"handler_name":"redisquota","service":{"cluster":"quota-svc","authority":"quota","path":"/allocate","timeout_ms":200},
	"quotas":[{"name":"requestcount","max_amount":50,"valid_duration":"60s","overrides":[{"dimensions":{"destination":"ratings","source":"reviews"},"max_amount":12}]}],
	"dimensions":{"source":{"header":"x-source","default":"unknown"},"destination":{"header":"x-destination","default":"unknown"}}`

// answer answers every callout of stream id from the in-process quota
// service, as the quota-svc cluster would.
func answer(t *testing.T, host proxytest.HostEmulator, svc *quotaservice.Service, id uint32) {
	t.Helper()
	for _, c := range host.GetCalloutAttributesFromContext(id) {
		if c.Upstream != "quota-svc" {
			t.Fatalf("upstream %q", c.Upstream)
		}
		if p, _ := filtertest.Header(c.Headers, ":path"); p != "/allocate" {
			t.Fatalf(":path %q", p)
		}
		var r quotaservice.Request
		if err := json.Unmarshal(c.Body, &r); err != nil {
			t.Fatalf("callout body %q: %v", c.Body, err)
		}
		body, _ := json.Marshal(svc.Allocate(r))
		host.CallOnHttpCallResponse(c.CalloutID, [][2]string{{":status", "200"}}, nil, body)
	}
}

// send runs one request against the quota service and returns the local
// reply status (0 when the request was resumed upstream).
func send(t *testing.T, host proxytest.HostEmulator, svc *quotaservice.Service, headers ...[2]string) uint32 {
	t.Helper()
	id, action := filtertest.Get(host, "/", headers...)
	if action != types.ActionPause {
		t.Fatalf("action %v, want Pause during the quota callout", action)
	}
	answer(t, host, svc, id)
	st := filtertest.Status(host, id)
	if st == 0 && host.GetCurrentHttpStreamAction(id) != types.ActionContinue {
		t.Fatalf("neither resumed nor answered")
	}
	return st
}

func TestRedisQuota(t *testing.T) {
	filtertest.Run(t, func() types.VMContext { return &vmContext{} }, func(t *testing.T, h *filtertest.Harness) {
		t.Run("50 per 60s", func(t *testing.T) {
			host, svc := h.Start(t, conf+`}`), quotaservice.New()
			for i := range 50 {
				if st := send(t, host, svc); st != 0 {
					t.Fatalf("request %d: %d", i+1, st)
				}
			}
			id, _ := filtertest.Get(host, "/")
			answer(t, host, svc, id)
			if filtertest.Status(host, id) != 429 || filtertest.Body(host, id) != "RESOURCE_EXHAUSTED:redisquota:redisquota: Resource exhausted" {
				t.Errorf("51st: %d %q", filtertest.Status(host, id), filtertest.Body(host, id))
			}
		})
		t.Run("override", func(t *testing.T) {
			host, svc := h.Start(t, conf+`}`), quotaservice.New()
			ratings := [][2]string{{"x-source", "reviews"}, {"x-destination", "ratings"}}
			details := [][2]string{{"x-source", "reviews"}, {"x-destination", "details"}}
			n := 0
			for range 20 {
				if send(t, host, svc, ratings...) == 0 {
					n++
				}
			}
			if n != 12 {
				t.Errorf("reviews→ratings granted %d, want 12", n)
			}
			n = 0
			for range 55 {
				if send(t, host, svc, details...) == 0 {
					n++
				}
			}
			if n != 50 {
				t.Errorf("reviews→details granted %d, want 50", n)
			}
		})
		t.Run("service down", func(t *testing.T) {
			for deny, want := range map[bool]uint32{false: 0, true: 503} {
				cfg := conf + `,"failure_mode_deny":false}`
				if deny {
					cfg = conf + `,"failure_mode_deny":true}`
				}
				host := h.Start(t, cfg)
				id, _ := filtertest.Get(host, "/")
				for _, c := range host.GetCalloutAttributesFromContext(id) {
					host.CallOnHttpCallResponse(c.CalloutID, nil, nil, nil) // timeout
				}
				if got := filtertest.Status(host, id); got != want {
					t.Errorf("failure_mode_deny=%v: %d, want %d", deny, got, want)
				}
				if deny && filtertest.Body(host, id) != "UNAVAILABLE:redisquota:redisquota: Service Unavailable" {
					t.Errorf("body %q", filtertest.Body(host, id))
				}
				if !deny && host.GetCurrentHttpStreamAction(id) != types.ActionContinue {
					t.Error("not resumed")
				}
			}
		})
		t.Run("malformed reply", func(t *testing.T) {
			host := h.Start(t, conf+`}`)
			id, _ := filtertest.Get(host, "/")
			c := host.GetCalloutAttributesFromContext(id)[0]
			host.CallOnHttpCallResponse(c.CalloutID, [][2]string{{":status", "200"}}, nil, []byte(`{"granted":1}`))
			if filtertest.Status(host, id) != 500 || filtertest.Body(host, id) != "INTERNAL:redisquota:redisquota: Internal Error" {
				t.Errorf("%d %q", filtertest.Status(host, id), filtertest.Body(host, id))
			}
		})
		t.Run("windows", func(t *testing.T) {
			for _, tc := range []struct {
				alg, extra string
				want       int
			}{
				{"FIXED_WINDOW", "", 10},
				{"ROLLING_WINDOW", `,"bucket_duration":"1s"`, 10},
			} {
				host := h.Start(t, `{"service":{"cluster":"quota-svc"},"quotas":[{"name":"q","max_amount":5,"valid_duration":"60s","rate_limit_algorithm":"`+tc.alg+`"`+tc.extra+`}]}`)
				svc := quotaservice.New()
				now := time.Unix(1000, 0)
				svc.Now = func() time.Time { return now }
				n := 0
				for range 7 { // at the end of the first window…
					if send(t, host, svc) == 0 {
						n++
					}
				}
				now = now.Add(60*time.Second + 100*time.Millisecond) // …and right after it
				for range 7 {
					if send(t, host, svc) == 0 {
						n++
					}
				}
				now = now.Add(30 * time.Second)
				for range 7 {
					if send(t, host, svc) == 0 {
						n++
					}
				}
				// Fixed: 5 + 5 within 100ms (2×max across the boundary), then
				// nothing until that second window expires. Rolling: the first 5
				// slide out after 60s, so 5 more; never more than 5 in any 60s.
				if n != tc.want {
					t.Errorf("%s: %d grants", tc.alg, n)
				}
			}
		})
		t.Run("dedup by x-request-id", func(t *testing.T) {
			host, svc := h.Start(t, `{"service":{"cluster":"quota-svc"},"quotas":[{"name":"q","max_amount":2,"valid_duration":"60s"}]}`), quotaservice.New()
			for range 3 {
				if st := send(t, host, svc, [2]string{"x-request-id", "retry-1"}); st != 0 {
					t.Fatalf("retry of an admitted request: %d", st)
				}
			}
			if st := send(t, host, svc, [2]string{"x-request-id", "other"}); st != 0 {
				t.Errorf("second distinct request: %d (the retries were counted more than once)", st)
			}
			if st := send(t, host, svc, [2]string{"x-request-id", "third"}); st != 429 {
				t.Errorf("third distinct request: %d, want 429", st)
			}
		})
		t.Run("request body", func(t *testing.T) {
			host := h.Start(t, conf+`}`)
			id, _ := filtertest.Get(host, "/", [2]string{"x-source", "reviews"}, [2]string{"x-destination", "ratings"}, [2]string{"x-request-id", "abc"})
			c := host.GetCalloutAttributesFromContext(id)[0]
			var r quotaservice.Request
			json.Unmarshal(c.Body, &r)
			if !strings.HasPrefix(r.Key, "requestcount;destination=ratings;source=reviews#") || r.MaxAmount != 12 || r.WindowNs != int64(time.Minute) ||
				r.Algorithm != "FIXED_WINDOW" || r.Amount != 1 || r.DedupID != "abc" {
				t.Errorf("request %+v", r)
			}
		})
	})
}

// BenchmarkRequest measures the dispatch path (the callout stays pending).
func BenchmarkRequest(b *testing.B) {
	filtertest.BenchmarkRequest(b, &vmContext{}, `{"service":{"cluster":"quota"},"quotas":[{"name":"q","max_amount":1000000000,"valid_duration":"60s"}]}`, nil,
		[][2]string{{":method", "GET"}, {":path", "/"}, {"x-request-id", "r"}})
}
