package main

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/wasmctl/wasmctl/filters/internal/filtertest"
	"github.com/wasmctl/wasmctl/filters/internal/mixer"
	"github.com/wasmctl/wasmctl/sdk/proxywasm/proxytest"
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
		{`{"output_level":"DEBUG"}`, "output_level"},
		{`{"severity_levels":{"x":"LOUD"}}`, "severity_levels.x"},
		{`{"sink":"queue"}`, "batch"},
		{`{"sink":"file"}`, "sink"},
		{`{"sink":"queue","batch":{"cluster":"c","max_entries":0}}`, "batch.max_entries"},
		{`{"variables":{"a":{"attribute":"request.headers[]"}}}`, "variables.a.attribute"},
		{`{"extra_variables":{"b":{}}}`, "extra_variables.b"},
		{`{"filter":{"attr":{"header":"x"},"regex":"(("}}`, "filter.regex"},
	}
	for _, tt := range tests {
		_, err := parseConfig([]byte(tt.config))
		var ve *mixer.ValidationError
		if !errors.As(err, &ve) || ve.Field != tt.field {
			t.Errorf("parseConfig(%s) = %v; want an error naming %q", tt.config, err, tt.field)
		}
	}
}

func TestSeverity(t *testing.T) {
	for sev, want := range map[string]Level{"Info": LevelInfo, "informational": LevelInfo, "WARNING": LevelWarning, "warn": LevelWarning,
		"err": LevelError, "ERROR": LevelError, "fatal": LevelError, "whatever": LevelInfo} {
		if got := mapSeverity(sev, nil); got != want {
			t.Errorf("%s = %v, want %v", sev, got, want)
		}
	}
	if mapSeverity("loud", map[string]string{"loud": "ERROR"}) != LevelError {
		t.Error("custom mapping ignored")
	}
}

func TestJSONEscaping(t *testing.T) {
	b := formatJSON(nil, LevelInfo, "t", "i", []field{{"a", mixer.StringValue("q\"\\\n\x01\xff é")}, {"n", mixer.IntValue(-3)}})
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("%s: %v", b, err)
	}
	if m["a"] != "q\"\\\n\x01\ufffd é" || m["n"] != -3.0 {
		t.Errorf("%v", m)
	}
}

// run sends one request through the filter and completes the stream.
func run(host proxytest.HostEmulator, reqHeaders [][2]string, respHeaders [][2]string) uint32 {
	id := host.InitializeHttpContext()
	host.CallOnRequestHeaders(id, reqHeaders, true)
	if respHeaders != nil {
		host.CallOnResponseHeaders(id, respHeaders, false)
		host.CallOnResponseBody(id, []byte("hello world!"), true)
	}
	host.CompleteHttpContext(id)
	return id
}

func entries(t *testing.T, lines []string) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, l := range lines {
		if !strings.HasPrefix(l, "{") {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("log line is not JSON: %q: %v", l, err)
		}
		out = append(out, m)
	}
	return out
}

var getFoo = [][2]string{{":method", "GET"}, {":path", "/foo?x=1"}, {":authority", "reviews:9080"}, {"user-agent", "curl/8"}, {"x-request-id", "r1"}}

func TestStdio(t *testing.T) {
	filtertest.Run(t, newVM, func(t *testing.T, h *filtertest.Harness) {
		t.Run("json entry with Mixer's variables", func(t *testing.T) {
			host := h.Start(t, `{}`,
				filtertest.Prop("response.size", mixer.Int64LE(12)),
				filtertest.Prop("request.time", mixer.Int64LE(time.Date(2020, 5, 6, 7, 8, 9, 0, time.UTC).UnixNano())),
				filtertest.Prop("request.duration", mixer.Int64LE(int64(12300*time.Microsecond))),
				filtertest.StringProp("source.address", "10.1.2.3:4567"))
			run(host, getFoo, [][2]string{{":status", "200"}})
			logs := host.GetInfoLogs()
			es := entries(t, logs)
			if len(es) != 1 {
				t.Fatalf("want 1 entry, got %d: %q", len(es), logs)
			}
			e := es[0]
			want := map[string]any{"level": "info", "instance": "accesslog.logentry.istio-system", "method": "GET", "url": "/foo?x=1",
				"responseCode": 200.0, "responseSize": 12.0, "protocol": "http", "time": "2020-05-06T07:08:09Z", "latency": "12.3ms",
				"sourceIp": "10.1.2.3", "httpAuthority": "reviews:9080", "userAgent": "curl/8", "requestId": "r1",
				"destinationServiceHost": "reviews", "reporter": "destination", "connection_security_policy": "none",
				"responseTimestamp": "2020-05-06T07:08:09.0123Z"}
			for k, v := range want {
				if e[k] != v {
					t.Errorf("%s = %#v, want %#v", k, e[k], v)
				}
			}
			// level, time and instance come first, then the variables sorted.
			line := logs[len(logs)-1]
			if !strings.HasPrefix(line, `{"level":"info","time":"2020-05-06T07:08:09Z","instance":"accesslog.logentry.istio-system","apiClaims":""`) {
				t.Errorf("field order: %s", line)
			}
		})
		t.Run("defaults for missing attributes", func(t *testing.T) {
			host := h.Start(t, `{}`)
			run(host, [][2]string{{":method", "GET"}, {":path", "/"}}, nil) // reset before any response
			es := entries(t, host.GetInfoLogs())
			if len(es) != 1 {
				t.Fatalf("%d entries", len(es))
			}
			for k, v := range map[string]any{"sourceWorkload": "", "xForwardedFor": "0.0.0.0", "responseCode": 0.0, "responseFlags": "-",
				"permissiveResponseCode": "none", "latency": "0ms", "sourceIp": "0.0.0.0"} {
				if es[0][k] != v {
					t.Errorf("%s = %#v, want %#v", k, es[0][k], v)
				}
			}
		})
		t.Run("output level filters severities", func(t *testing.T) {
			host := h.Start(t, `{"output_level":"ERROR"}`)
			run(host, getFoo, [][2]string{{":status", "200"}})
			if n := len(filtertest.Logs(host)); n != 0 {
				t.Errorf("Info entry logged with output_level ERROR: %q", filtertest.Logs(host))
			}
			host = h.Start(t, `{"output_level":"ERROR","severity":"err"}`)
			run(host, getFoo, [][2]string{{":status", "500"}})
			es := entries(t, host.GetErrorLogs())
			if len(es) != 1 || es[0]["level"] != "error" || es[0]["responseCode"] != 500.0 {
				t.Errorf("error entry: %v", es)
			}
		})
		t.Run("console format", func(t *testing.T) {
			host := h.Start(t, `{"output_as_json":false,"instance_name":"al","variables":{"method":{"attribute":"request.method"},
				"agent":{"attribute":"request.useragent"},"code":{"attribute":"response.code","default":0},"empty":{"literal":""}}}`,
				filtertest.Prop("request.time", mixer.Int64LE(0)))
			run(host, getFoo, [][2]string{{":status", "204"}})
			logs := host.GetInfoLogs()
			if len(logs) != 1 {
				t.Fatalf("logs %q", logs)
			}
			if want := "\tinfo\tal\tagent=curl/8 code=204 empty=\"\" method=GET"; !strings.HasSuffix(logs[0], want) {
				t.Errorf("console line %q, want suffix %q", logs[0], want)
			}
		})
		t.Run("userAgent comes from request.useragent", func(t *testing.T) {
			host := h.Start(t, `{}`, filtertest.StringProp("request.useragent", "from-property"), filtertest.StringProp("request.user_agent", "wrong"))
			run(host, [][2]string{{":method", "GET"}, {":path", "/"}}, [][2]string{{":status", "200"}})
			es := entries(t, host.GetInfoLogs())
			if len(es) != 1 || es[0]["userAgent"] != "from-property" {
				t.Errorf("userAgent = %v", es)
			}
		})
		t.Run("filter", func(t *testing.T) {
			host := h.Start(t, `{"filter":{"not":{"attr":{"attribute":"request.useragent"},"prefix":"kube-probe"}}}`)
			run(host, [][2]string{{":method", "GET"}, {":path", "/healthz"}, {"user-agent", "kube-probe/1.18"}}, [][2]string{{":status", "200"}})
			run(host, getFoo, [][2]string{{":status", "200"}})
			if es := entries(t, host.GetInfoLogs()); len(es) != 1 || es[0]["url"] != "/foo?x=1" {
				t.Errorf("entries %v", es)
			}
		})
		t.Run("queue sink batches and flushes", func(t *testing.T) {
			host := h.Start(t, `{"sink":"queue","batch":{"cluster":"log-collector","authority":"logs","path":"/ingest","max_entries":2,"flush_interval":"10s"}}`)
			if host.GetTickPeriod() != 10000 {
				t.Errorf("tick period %d", host.GetTickPeriod())
			}
			for range 3 {
				run(host, getFoo, [][2]string{{":status", "200"}})
			}
			calls := host.GetCalloutAttributesFromContext(proxytest.PluginContextID)
			if len(calls) != 1 {
				t.Fatalf("%d flushes after 3 entries with max 2, want 1", len(calls))
			}
			check := func(c proxytest.HttpCalloutAttribute, n int) {
				t.Helper()
				if c.Upstream != "log-collector" {
					t.Errorf("upstream %q", c.Upstream)
				}
				if p, _ := filtertest.Header(c.Headers, ":path"); p != "/ingest" {
					t.Errorf(":path %q", p)
				}
				if m, _ := filtertest.Header(c.Headers, ":method"); m != "POST" {
					t.Errorf(":method %q", m)
				}
				lines := strings.Split(strings.TrimSuffix(string(c.Body), "\n"), "\n")
				if len(lines) != n {
					t.Errorf("flush has %d entries, want %d: %q", len(lines), n, c.Body)
				}
				entries(t, lines)
			}
			check(calls[0], 2)
			host.CallOnHttpCallResponse(calls[0].CalloutID, [][2]string{{":status", "200"}}, nil, nil)
			host.Tick()
			calls = host.GetCalloutAttributesFromContext(proxytest.PluginContextID)
			if len(calls) != 2 {
				t.Fatalf("%d flushes after tick, want 2", len(calls))
			}
			check(calls[1], 1)
			host.CallOnHttpCallResponse(calls[1].CalloutID, [][2]string{{":status", "503"}}, nil, nil)
			if filtertest.Counter(host, "stdio_dropped_entries_total") != 1 || filtertest.Counter(host, "stdio_flush_errors_total") != 1 {
				t.Errorf("failed flush not counted")
			}
			host.Tick()
			if n := len(host.GetCalloutAttributesFromContext(proxytest.PluginContextID)); n != 2 {
				t.Errorf("empty tick flushed: %d callouts", n)
			}
		})
	})
}

func BenchmarkRequest(b *testing.B) {
	filtertest.BenchmarkRequest(b, &vmContext{}, `{}`, nil, getFoo)
}
