package main

import (
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/wasmctl/wasmctl/filters/internal/filtertest"
	"github.com/wasmctl/wasmctl/filters/internal/mixer"
	"github.com/wasmctl/wasmctl/sdk/proxywasm/proxytest"
	"github.com/wasmctl/wasmctl/sdk/proxywasm/types"
)

func TestSchemaDefsInSync(t *testing.T) {
	if err := mixer.CheckSchemaDefs(schemaJSON); err != nil {
		t.Fatal(err)
	}
}

func TestParseConfigErrors(t *testing.T) {
	tests := []struct{ config, field string }{
		{`{}`, "cluster"},
		{`{"cluster":"opa","timeout_ms":0}`, "timeout_ms"},
		{`{"cluster":"opa","input":"rego"}`, "input"},
		{`{"cluster":"opa","cache":{"valid_for":"1y"}}`, "cache.valid_for"},
		{`{"cluster":"opa","failure_code":42}`, "failure_code"},
		{`{"cluster":"opa","path":"v1/data"}`, "path"},
	}
	for _, tt := range tests {
		_, err := parseConfig([]byte(tt.config))
		var ve *mixer.ValidationError
		if !errors.As(err, &ve) || ve.Field != tt.field {
			t.Errorf("parseConfig(%s) = %v; want an error naming %q", tt.config, err, tt.field)
		}
	}
}

func TestParseResult(t *testing.T) {
	c, _ := parseConfig([]byte(`{"cluster":"opa","allowed_upstream_headers":["x-user-id"]}`))
	for body, want := range map[string]struct{ allow, ok bool }{
		`{"result":true}`: {true, true}, `{"result":false}`: {false, true},
		`{"result":{"allow":true,"headers":{"x-user-id":"7","x-admin":"1"}}}`: {true, true},
		`{"result":{"allow":false}}`:                                          {false, true}, `{"result":"yes"}`: {false, false}, `{}`: {false, false},
		`not json`: {false, false}, `{"result":{"headers":{}}}`: {false, false},
	} {
		v, ok := c.parseResult([]byte(body))
		if v.allow != want.allow || ok != want.ok {
			t.Errorf("%s = %v %v", body, v.allow, ok)
		}
		if body == `{"result":{"allow":true,"headers":{"x-user-id":"7","x-admin":"1"}}}` && (len(v.headers) != 1 || v.headers[0][0] != "x-user-id") {
			t.Errorf("headers not filtered: %v", v.headers)
		}
	}
}

func FuzzParseResult(f *testing.F) {
	c, _ := parseConfig([]byte(`{"cluster":"opa","allowed_upstream_headers":["a"]}`))
	f.Add([]byte(`{"result":{"allow":true,"headers":{"a":"b"}}}`))
	f.Fuzz(func(t *testing.T, b []byte) { c.parseResult(b) })
}

const conf = `{"handler_name":"opa","cluster":"outbound|8181||opa.default.svc.cluster.local","authority":"opa.default.svc",
	"path":"/v1/data/mixerauthz/allow","timeout_ms":500,"include_headers":["authorization"],"cache":{"valid_for":"10s"},
	"allowed_upstream_headers":["x-user-id"],"time_property":["test","now"]`

func now(d time.Duration) filtertest.Option {
	return filtertest.Prop("test.now", mixer.Int64LE(int64(time.Hour+d)))
}

// callout returns the single pending callout of stream id.
func callout(t *testing.T, host proxytest.HostEmulator, id uint32) proxytest.HttpCalloutAttribute {
	t.Helper()
	calls := host.GetCalloutAttributesFromContext(id)
	if len(calls) != 1 {
		t.Fatalf("stream %d made %d callouts, want 1", id, len(calls))
	}
	return calls[0]
}

func ok200(body string) ([][2]string, []byte) { return [][2]string{{":status", "200"}}, []byte(body) }

func TestExtAuthz(t *testing.T) {
	filtertest.Run(t, func() types.VMContext { return &vmContext{} }, func(t *testing.T, h *filtertest.Harness) {
		t.Run("allow GET", func(t *testing.T) {
			host := h.Start(t, conf+`}`, now(0))
			id, action := filtertest.Get(host, "/books?x=1", [2]string{"authorization", "Bearer t"})
			if action != types.ActionPause {
				t.Fatalf("action %v, want Pause during the callout", action)
			}
			c := callout(t, host, id)
			if c.Upstream != "outbound|8181||opa.default.svc.cluster.local" {
				t.Errorf("upstream %q", c.Upstream)
			}
			for k, want := range map[string]string{":method": "POST", ":path": "/v1/data/mixerauthz/allow", ":authority": "opa.default.svc", "content-type": "application/json"} {
				if v, _ := filtertest.Header(c.Headers, k); v != want {
					t.Errorf("callout %s = %q, want %q", k, v, want)
				}
			}
			var in struct {
				Input struct {
					Action struct {
						Method, Path string
						Properties   map[string]string
					}
				}
			}
			if err := json.Unmarshal(c.Body, &in); err != nil {
				t.Fatalf("callout body %q: %v", c.Body, err)
			}
			if in.Input.Action.Method != "GET" || in.Input.Action.Path != "/books" || in.Input.Action.Properties["authorization"] != "Bearer t" {
				t.Errorf("input %s", c.Body)
			}
			hs, body := ok200(`{"result":{"allow":true,"headers":{"x-user-id":"u7","x-evil":"1"}}}`)
			host.CallOnHttpCallResponse(c.CalloutID, hs, nil, body)
			if a := host.GetCurrentHttpStreamAction(id); a != types.ActionContinue {
				t.Errorf("stream not resumed: %v", a)
			}
			reqh := host.GetCurrentRequestHeaders(id)
			if v, _ := filtertest.Header(reqh, "x-user-id"); v != "u7" {
				t.Errorf("x-user-id = %q", v)
			}
			if _, ok := filtertest.Header(reqh, "x-evil"); ok {
				t.Error("a header outside allowed_upstream_headers was copied")
			}
			if filtertest.Counter(host, "extauthz_cache_miss") != 1 || filtertest.Counter(host, "extauthz_allow") != 1 {
				t.Error("counters")
			}
		})
		t.Run("deny POST", func(t *testing.T) {
			host := h.Start(t, conf+`}`, now(0))
			id, _ := filtertest.Request(host, [2]string{":method", "POST"}, [2]string{":path", "/books"})
			hs, body := ok200(`{"result":false}`)
			host.CallOnHttpCallResponse(callout(t, host, id).CalloutID, hs, nil, body)
			if filtertest.Status(host, id) != 403 || filtertest.Body(host, id) != "PERMISSION_DENIED:opa:opa: request was rejected" {
				t.Errorf("%d %q", filtertest.Status(host, id), filtertest.Body(host, id))
			}
			if a := host.GetCurrentHttpStreamAction(id); a == types.ActionContinue {
				t.Error("denied request was resumed upstream")
			}
		})
		t.Run("cache", func(t *testing.T) {
			host := h.Start(t, conf+`}`, now(0))
			id, _ := filtertest.Get(host, "/books")
			hs, body := ok200(`{"result":true}`)
			host.CallOnHttpCallResponse(callout(t, host, id).CalloutID, hs, nil, body)
			for i := range 9 {
				id, action := filtertest.Get(host, "/books")
				if action != types.ActionContinue || len(host.GetCalloutAttributesFromContext(id)) != 0 {
					t.Fatalf("request %d: action %v, callouts %d", i+2, action, len(host.GetCalloutAttributesFromContext(id)))
				}
			}
			if filtertest.Counter(host, "extauthz_cache_hit") != 9 || filtertest.Counter(host, "extauthz_cache_miss") != 1 {
				t.Errorf("hit %d miss %d", filtertest.Counter(host, "extauthz_cache_hit"), filtertest.Counter(host, "extauthz_cache_miss"))
			}
			host.SetProperty([]string{"test", "now"}, mixer.Int64LE(int64(time.Hour+11*time.Second)))
			id, action := filtertest.Get(host, "/books")
			if action != types.ActionPause || len(host.GetCalloutAttributesFromContext(id)) != 1 {
				t.Errorf("after valid_for: action %v, want a new callout", action)
			}
		})
		for _, tc := range []struct {
			name    string
			headers [][2]string
			body    string
		}{
			{"timeout", nil, ""},
			{"status 500", [][2]string{{":status", "500"}}, `{"result":true}`},
			{"invalid JSON", [][2]string{{":status", "200"}}, `{"result":`},
		} {
			t.Run("error "+tc.name, func(t *testing.T) {
				for _, failClose := range []bool{true, false} {
					cfg := conf + `,"fail_close":false}`
					if failClose {
						cfg = conf + `,"fail_close":true}`
					}
					host := h.Start(t, cfg, now(0))
					id, _ := filtertest.Get(host, "/books")
					host.CallOnHttpCallResponse(callout(t, host, id).CalloutID, tc.headers, nil, []byte(tc.body))
					if failClose && filtertest.Status(host, id) != 403 {
						t.Errorf("fail_close: status %d", filtertest.Status(host, id))
					}
					if !failClose && (filtertest.Status(host, id) != 0 || host.GetCurrentHttpStreamAction(id) != types.ActionContinue) {
						t.Errorf("fail open: status %d action %v", filtertest.Status(host, id), host.GetCurrentHttpStreamAction(id))
					}
					if filtertest.Counter(host, "extauthz_error") != 1 {
						t.Errorf("error counter %d", filtertest.Counter(host, "extauthz_error"))
					}
					// Errors are not cached: the next request calls out again.
					id, _ = filtertest.Get(host, "/books")
					if len(host.GetCalloutAttributesFromContext(id)) != 1 {
						t.Error("error verdict was cached")
					}
				}
			})
		}
		t.Run("configurable failure status and istio_ecosystem input", func(t *testing.T) {
			host := h.Start(t, `{"cluster":"opa","input":"istio_ecosystem","failure_code":"INTERNAL"}`,
				filtertest.StringProp("node.metadata.WORKLOAD_NAME", "reviews-v1"), filtertest.Prop("xds.listener_direction", mixer.Int64LE(1)))
			id, _ := filtertest.Get(host, "/x")
			c := callout(t, host, id)
			var in struct{ Input map[string]any }
			if err := json.Unmarshal(c.Body, &in); err != nil || in.Input["request_method"] != "GET" || in.Input["destination_workload"] != "reviews-v1" {
				t.Errorf("input %s (%v)", c.Body, err)
			}
			host.CallOnHttpCallResponse(c.CalloutID, nil, nil, nil)
			if filtertest.Status(host, id) != 500 || filtertest.Body(host, id) != "INTERNAL:extauthz:opa: request was rejected" {
				t.Errorf("%d %q", filtertest.Status(host, id), filtertest.Body(host, id))
			}
		})
	})
}

// BenchmarkRequest measures the cache-hit path (the callout is answered
// once during warm-up).
func BenchmarkRequest(b *testing.B) {
	vm := &vmContext{}
	filtertest.BenchmarkRequest(b, vm, `{"cluster":"opa","cache":{"valid_for":"1h"},"fail_close":false}`, nil,
		[][2]string{{":method", "GET"}, {":path", "/books"}})
}
