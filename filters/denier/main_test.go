package main

import (
	"errors"
	"strings"
	"testing"

	"github.com/wasmctl/wasmctl/filters/internal/filtertest"
	"github.com/wasmctl/wasmctl/filters/internal/mixer"
	"github.com/wasmctl/wasmctl/sdk/proxywasm/types"
)

func newVM() types.VMContext { return &vmContext{} }

func TestSchemaDefsInSync(t *testing.T) {
	if err := mixer.CheckSchemaDefs(schemaJSON); err != nil {
		t.Fatal(err)
	}
}

func TestParseConfigErrors(t *testing.T) {
	tests := []struct{ config, field string }{
		{`{"status":{"code":99}}`, "status.code"},
		{`{"status":{"code":"DENIED"}}`, "status.code"},
		{`{"status":{"cod":7}}`, "status.cod"},
		{`{"valid_duration":"soon"}`, "valid_duration"},
		{`{"valid_use_count":-1}`, "valid_use_count"},
		{`{"direct_response":{"code":99}}`, "direct_response.code"},
		{`{"direct_response":{"body":"x"}}`, "direct_response.code"},
		{`{"match":{"attr":{"header":"x"},"regex":"(("}}`, "match.regex"},
		{`{"match":{"attr":{"header":"x"}}}`, "match"},
		{`{"response_headers":[["a"]]}`, "response_headers[0]"},
		{`{"handler":"x"}`, "handler"},
	}
	for _, tt := range tests {
		_, err := parseConfig([]byte(tt.config), func(h string) string { return h })
		var ve *mixer.ValidationError
		if !errors.As(err, &ve) || ve.Field != tt.field {
			t.Errorf("parseConfig(%s) = %v; want an error naming %q", tt.config, err, tt.field)
		}
	}
	if _, err := parseConfig([]byte(`not json`), func(h string) string { return h }); err == nil {
		t.Error("invalid JSON accepted")
	}
}

func TestDenier(t *testing.T) {
	filtertest.Run(t, newVM, func(t *testing.T, h *filtertest.Harness) {
		t.Run("default status is FAILED_PRECONDITION 400 with the plugin name", func(t *testing.T) {
			host := h.Start(t, `{}`, filtertest.StringProp("plugin_name", "deny-all"))
			id, action := filtertest.Get(host, "/")
			if action != types.ActionPause {
				t.Errorf("action = %v, want Pause (upstream not called)", action)
			}
			if got := filtertest.Status(host, id); got != 400 {
				t.Errorf("status = %d, want 400", got)
			}
			if got := filtertest.Body(host, id); got != "FAILED_PRECONDITION:deny-all:" {
				t.Errorf("body = %q", got)
			}
		})
		t.Run("no plugin_name falls back to denier", func(t *testing.T) {
			host := h.Start(t, ``)
			id, _ := filtertest.Get(host, "/")
			if got := filtertest.Body(host, id); got != "FAILED_PRECONDITION:denier:" {
				t.Errorf("body = %q", got)
			}
		})
		t.Run("PERMISSION_DENIED 403 with handler and message", func(t *testing.T) {
			host := h.Start(t, `{"handler_name":"denyreviewsv3handler","status":{"code":7,"message":"Not allowed"}}`)
			id, _ := filtertest.Get(host, "/")
			if got := filtertest.Status(host, id); got != 403 {
				t.Errorf("status = %d, want 403", got)
			}
			if got := filtertest.Body(host, id); got != "PERMISSION_DENIED:denyreviewsv3handler:Not allowed" {
				t.Errorf("body = %q", got)
			}
		})
		t.Run("code table", func(t *testing.T) {
			for code, want := range map[string]uint32{"16": 401, "8": 429, "14": 503, "12": 501, `"UNAVAILABLE"`: 503, "9": 400} {
				t.Run(code, func(t *testing.T) {
					host := h.Start(t, `{"handler_name":"h","status":{"code":`+code+`}}`)
					id, _ := filtertest.Get(host, "/")
					if got := filtertest.Status(host, id); got != want {
						t.Errorf("code %s: status = %d, want %d", code, got, want)
					}
				})
			}
		})
		t.Run("code 99 is rejected naming the field", func(t *testing.T) {
			host, st := h.NewHost(t, `{"status":{"code":99}}`)
			if st != types.OnPluginStartStatusFailed {
				t.Fatalf("start = %v, want failed", st)
			}
			if logs := strings.Join(host.GetCriticalLogs(), "\n"); !strings.Contains(logs, `field "status.code"`) {
				t.Errorf("critical logs %q do not name status.code", logs)
			}
		})
		t.Run("match on source version", func(t *testing.T) {
			host := h.Start(t, `{"handler_name":"denyreviewsv3handler","status":{"code":7,"message":"Not allowed"},
				"match":{"attr":{"first_of":[{"header":"x-source-version"},{"attribute":"source.labels[version]"}]},"exact":"v3"}}`)
			id, action := filtertest.Get(host, "/", [2]string{"x-source-version", "v3"})
			if action != types.ActionPause || filtertest.Status(host, id) != 403 {
				t.Errorf("v3: action %v status %d, want Pause 403", action, filtertest.Status(host, id))
			}
			id, action = filtertest.Get(host, "/", [2]string{"x-source-version", "v2"})
			if action != types.ActionContinue || filtertest.Status(host, id) != 0 {
				t.Errorf("v2: action %v status %d, want Continue and no local reply", action, filtertest.Status(host, id))
			}
			if got := filtertest.Counter(host, "mixer_denier_denied_total.denyreviewsv3handler"); got != 1 {
				t.Errorf("denied counter = %d, want 1", got)
			}
		})
		t.Run("match on node metadata labels (outbound)", func(t *testing.T) {
			host := h.Start(t, `{"handler_name":"h","status":{"code":7},"match":{"attr":{"attribute":"source.labels[version]"},"exact":"v3"}}`,
				filtertest.Prop("xds.listener_direction", mixer.Int64LE(2)),
				filtertest.StringProp("node.metadata.LABELS.version", "v3"))
			id, _ := filtertest.Get(host, "/")
			if filtertest.Status(host, id) != 403 {
				t.Errorf("status = %d, want 403", filtertest.Status(host, id))
			}
		})
		t.Run("direct response", func(t *testing.T) {
			host := h.Start(t, `{"direct_response":{"code":302,"headers":[["location","/login"]]},"response_headers":[["x-denied-by","denier"]]}`)
			id, _ := filtertest.Get(host, "/private")
			r := host.GetSentLocalResponse(id)
			if r == nil || r.StatusCode != 302 {
				t.Fatalf("local response = %+v, want 302", r)
			}
			if loc, _ := filtertest.Header(r.Headers, "location"); loc != "/login" {
				t.Errorf("location = %q", loc)
			}
			if v, _ := filtertest.Header(r.Headers, "x-denied-by"); v != "denier" {
				t.Errorf("x-denied-by = %q", v)
			}
			if len(r.Data) != 0 {
				t.Errorf("body = %q, want none", r.Data)
			}
		})
	})
}

func BenchmarkRequest(b *testing.B) {
	filtertest.BenchmarkRequest(b, &vmContext{}, `{"status":{"code":7},"match":{"attr":{"header":"x-source-version"},"exact":"v3"}}`, nil,
		[][2]string{{":method", "GET"}, {":path", "/"}, {"x-source-version", "v2"}})
}
