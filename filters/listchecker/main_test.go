package main

import (
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
		{`{}`, "value"},
		{`{"value":{}}`, "value"},
		{`{"value":{"header":"x"},"entry_type":"IPS"}`, "entry_type"},
		{`{"value":{"header":"x"},"entry_type":"IP_ADDRESSES","overrides":["10.0.0.0/8","nope"]}`, "overrides[1]"},
		{`{"value":{"header":"x"},"entry_type":"REGEX","overrides":["(("]}`, "overrides[0]"},
		{`{"value":{"header":"x"},"provider":{"cluster":"c"},"refresh_interval":"500ms"}`, "refresh_interval"},
		{`{"value":{"header":"x"},"provider":{"cluster":"c"},"refresh_interval":"60s","ttl":"60s"}`, "ttl"},
		{`{"value":{"header":"x"},"provider":{"cluster":""}}`, "provider.cluster"},
		{`{"value":{"header":"x"},"provider":{"cluster":"c","path":"no-slash"}}`, "provider.path"},
		{`{"value":{"header":"x"},"caching_use_count":-1}`, "caching_use_count"},
	}
	for _, tt := range tests {
		_, err := parseConfig([]byte(tt.config))
		var ve *mixer.ValidationError
		if !errors.As(err, &ve) || ve.Field != tt.field {
			t.Errorf("parseConfig(%s) = %v; want an error naming %q", tt.config, err, tt.field)
		}
	}
}

func TestParseBody(t *testing.T) {
	got := parseBody(typeIPAddresses, []byte("# comment\nwhitelist:\n  - 10.0.0.0/8\n  - \"1.2.3.4\"\n"))
	if strings.Join(got, ",") != "10.0.0.0/8,1.2.3.4" {
		t.Errorf("yaml = %q", got)
	}
	got = parseBody(typeStrings, []byte("a\r\n\n b \n#x\n"))
	if strings.Join(got, ",") != "a,b" {
		t.Errorf("lines = %q", got)
	}
}

func FuzzParseBody(f *testing.F) {
	f.Add([]byte("whitelist:\n- 10.0.0.0/8\n"), uint8(2))
	f.Add([]byte("^/admin\nsecret\n"), uint8(3))
	f.Fuzz(func(t *testing.T, body []byte, typ uint8) {
		types := []entryType{typeStrings, typeCaseInsens, typeIPAddresses, typeRegex}
		et := types[int(typ)%len(types)]
		l, err := compileList(et, parseBody(et, body), "")
		if err == nil {
			l.contains("10.1.2.3")
			l.contains("x")
		}
	})
}

func ns(d time.Duration) []byte { return mixer.Int64LE(int64(d)) }

// request sends GET with the source address set as a property.
func request(host proxytest.HostEmulator, srcAddr string, extra ...[2]string) (uint32, types.Action) {
	if srcAddr != "" {
		host.SetProperty([]string{"source", "address"}, []byte(srcAddr))
	}
	return filtertest.Get(host, "/", extra...)
}

func TestListchecker(t *testing.T) {
	filtertest.Run(t, newVM, func(t *testing.T, h *filtertest.Harness) {
		t.Run("ip whitelist", func(t *testing.T) {
			host := h.Start(t, `{"handler_name":"whitelistip","value":{"attribute":"source.ip","default":"0.0.0.0"},
				"entry_type":"IP_ADDRESSES","overrides":["10.57.0.0/16"]}`)
			if id, a := request(host, "10.57.3.4:5555"); a != types.ActionContinue {
				t.Errorf("10.57.3.4: action %v, local reply %d %q", a, filtertest.Status(host, id), filtertest.Body(host, id))
			}
			id, a := request(host, "10.58.0.1:80")
			if a != types.ActionPause || filtertest.Status(host, id) != 403 ||
				filtertest.Body(host, id) != "PERMISSION_DENIED:whitelistip:10.58.0.1 is not whitelisted" {
				t.Errorf("10.58.0.1: action %v, %d %q", a, filtertest.Status(host, id), filtertest.Body(host, id))
			}
		})
		t.Run("blacklist strings and case", func(t *testing.T) {
			for _, tc := range []struct {
				typ, version string
				want         uint32
			}{
				{"STRINGS", "v3", 403}, {"STRINGS", "v1", 0}, {"STRINGS", "V3", 0},
				{"CASE_INSENSITIVE_STRINGS", "V3", 403}, {"CASE_INSENSITIVE_STRINGS", "v1", 0},
			} {
				t.Run(tc.typ+"/"+tc.version, func(t *testing.T) {
					host := h.Start(t, `{"handler_name":"vers","value":{"header":"x-version"},"entry_type":"`+tc.typ+`","blacklist":true,"overrides":["v3"]}`)
					id, _ := request(host, "", [2]string{"x-version", tc.version})
					if got := filtertest.Status(host, id); got != tc.want {
						t.Errorf("status %d, want %d", got, tc.want)
					}
					if tc.want == 403 {
						if b := filtertest.Body(host, id); b != "PERMISSION_DENIED:vers:"+tc.version+" is blacklisted" {
							t.Errorf("body %q", b)
						}
					}
				})
			}
		})
		t.Run("regex is unanchored", func(t *testing.T) {
			host := h.Start(t, `{"handler_name":"paths","value":{"attribute":"request.url_path"},"entry_type":"REGEX","blacklist":true,"overrides":["^/admin","secret"]}`)
			for path, want := range map[string]uint32{"/x/secret/y": 403, "/public": 0, "/admin/users": 403, "/x/admin": 0, "/public?q=secret": 0} {
				id, _ := filtertest.Get(host, path)
				if got := filtertest.Status(host, id); got != want {
					t.Errorf("%s: status %d, want %d", path, got, want)
				}
			}
		})
		t.Run("not an IP is 400", func(t *testing.T) {
			host := h.Start(t, `{"handler_name":"ips","value":{"header":"x-ip"},"entry_type":"IP_ADDRESSES","overrides":["10.0.0.0/8"]}`)
			id, _ := request(host, "", [2]string{"x-ip", "not-an-ip"})
			if filtertest.Status(host, id) != 400 || filtertest.Body(host, id) != "INVALID_ARGUMENT:ips:not-an-ip is not a valid IP address" {
				t.Errorf("%d %q", filtertest.Status(host, id), filtertest.Body(host, id))
			}
			id, _ = request(host, "")
			if filtertest.Status(host, id) != 400 || !strings.Contains(filtertest.Body(host, id), "absent") {
				t.Errorf("missing value: %d %q", filtertest.Status(host, id), filtertest.Body(host, id))
			}
		})
		t.Run("bare IPv6 entry is a /128 (deliberate fix of Mixer's /32)", func(t *testing.T) {
			host := h.Start(t, `{"value":{"header":"x-ip"},"entry_type":"IP_ADDRESSES","overrides":["2001:db8::1","1.2.3.4"]}`)
			for ip, want := range map[string]uint32{"2001:db8::1": 0, "2001:db8::2": 403, "1.2.3.4": 0, "1.2.3.5": 403} {
				id, _ := request(host, "", [2]string{"x-ip", ip})
				if got := filtertest.Status(host, id); got != want {
					t.Errorf("%s: %d, want %d", ip, got, want)
				}
			}
		})
		t.Run("verdict cache honours caching_use_count", func(t *testing.T) {
			host := h.Start(t, `{"value":{"header":"x-v"},"overrides":["a"],"caching_interval":"10s","caching_use_count":2}`)
			for range 3 {
				if id, _ := request(host, "", [2]string{"x-v", "a"}); filtertest.Status(host, id) != 0 {
					t.Fatal("a denied")
				}
			}
		})
		t.Run("remote provider", func(t *testing.T) {
			testRemote(t, h)
		})
		t.Run("yaml list and unchanged body", func(t *testing.T) {
			host := h.Start(t, `{"handler_name":"y","value":{"attribute":"source.ip"},"entry_type":"IP_ADDRESSES",
				"provider":{"cluster":"lists","path":"/ips.yaml"},"refresh_interval":"10s","ttl":"30s","time_property":["test","now"]}`,
				filtertest.Prop("test.now", ns(time.Hour)))
			respond(t, host, 0, "200", "whitelist:\n- 1.2.3.0/24\n")
			if id, _ := request(host, "1.2.3.9:1"); filtertest.Status(host, id) != 0 {
				t.Errorf("1.2.3.9 denied: %q", filtertest.Body(host, id))
			}
			host.SetProperty([]string{"test", "now"}, ns(time.Hour+10*time.Second))
			host.Tick()
			respond(t, host, 1, "200", "whitelist:\n- 1.2.3.0/24\n")
			meta, _ := decodeMetaFromLogs(host)
			if !strings.Contains(meta, "changed=false") {
				t.Errorf("unchanged body: logs %q", meta)
			}
		})
	})
}

func decodeMetaFromLogs(host proxytest.HostEmulator) (string, bool) {
	logs := host.GetInfoLogs()
	if len(logs) == 0 {
		return "", false
	}
	return logs[len(logs)-1], true
}

// respond answers the n-th callout of the root context.
func respond(t *testing.T, host proxytest.HostEmulator, n int, status, body string) {
	t.Helper()
	calls := host.GetCalloutAttributesFromContext(proxytest.PluginContextID)
	if len(calls) <= n {
		t.Fatalf("want callout #%d, have %d", n, len(calls))
	}
	c := calls[n]
	if c.Upstream != "lists" {
		t.Errorf("callout upstream %q", c.Upstream)
	}
	if m, _ := filtertest.Header(c.Headers, ":method"); m != "GET" {
		t.Errorf("callout method %q", m)
	}
	var headers [][2]string
	if status != "" {
		headers = [][2]string{{":status", status}}
	}
	host.CallOnHttpCallResponse(c.CalloutID, headers, nil, []byte(body))
}

func testRemote(t *testing.T, h *filtertest.Harness) {
	host := h.Start(t, `{"handler_name":"remote","value":{"attribute":"source.ip"},"entry_type":"IP_ADDRESSES",
		"provider":{"cluster":"lists","authority":"lists.local","path":"/ips.txt","timeout_ms":2000},
		"refresh_interval":"60s","ttl":"300s","time_property":["test","now"]}`,
		filtertest.Prop("test.now", ns(time.Hour)))
	if p := host.GetTickPeriod(); p != 60000 {
		t.Errorf("tick period %d, want 60000", p)
	}
	// Before the first fetch completes there is no list: 500.
	id, _ := request(host, "1.2.3.4:1")
	if filtertest.Status(host, id) != 500 || !strings.HasPrefix(filtertest.Body(host, id), "INTERNAL:remote:") {
		t.Errorf("before fetch: %d %q", filtertest.Status(host, id), filtertest.Body(host, id))
	}
	calls := host.GetCalloutAttributesFromContext(proxytest.PluginContextID)
	if len(calls) != 1 {
		t.Fatalf("plugin start made %d callouts, want 1", len(calls))
	}
	if p, _ := filtertest.Header(calls[0].Headers, ":path"); p != "/ips.txt" {
		t.Errorf(":path %q", p)
	}
	if a, _ := filtertest.Header(calls[0].Headers, ":authority"); a != "lists.local" {
		t.Errorf(":authority %q", a)
	}
	respond(t, host, 0, "200", "1.2.3.4\n")
	if id, a := request(host, "1.2.3.4:1"); a != types.ActionContinue {
		t.Errorf("1.2.3.4 after fetch: %d %q", filtertest.Status(host, id), filtertest.Body(host, id))
	}
	if id, _ := request(host, "5.6.7.8:1"); filtertest.Status(host, id) != 403 {
		t.Errorf("5.6.7.8: %d", filtertest.Status(host, id))
	}
	// A tick before the period is over does not fetch.
	host.SetProperty([]string{"test", "now"}, ns(time.Hour+10*time.Second))
	host.Tick()
	if n := len(host.GetCalloutAttributesFromContext(proxytest.PluginContextID)); n != 1 {
		t.Errorf("early tick fetched: %d callouts", n)
	}
	// The next period's fetch fails with 503: the list is kept.
	host.SetProperty([]string{"test", "now"}, ns(time.Hour+60*time.Second))
	host.Tick()
	respond(t, host, 1, "503", "")
	if id, a := request(host, "1.2.3.4:1"); a != types.ActionContinue {
		t.Errorf("after failed refresh: %d %q", filtertest.Status(host, id), filtertest.Body(host, id))
	}
	// A timeout (no headers) is a failure too.
	host.SetProperty([]string{"test", "now"}, ns(time.Hour+120*time.Second))
	host.Tick()
	respond(t, host, 2, "", "")
	if got := filtertest.Counter(host, "listchecker_fetch_errors_total.remote"); got != 2 {
		t.Errorf("fetch errors %d, want 2", got)
	}
	// Past the ttl with no success the list is purged: 500.
	host.SetProperty([]string{"test", "now"}, ns(time.Hour+301*time.Second))
	id, _ = request(host, "1.2.3.4:1")
	if filtertest.Status(host, id) != 500 || !strings.Contains(filtertest.Body(host, id), "expired") {
		t.Errorf("after ttl: %d %q", filtertest.Status(host, id), filtertest.Body(host, id))
	}
	// A new list arrives: a changed body reaches the HTTP contexts.
	host.SetProperty([]string{"test", "now"}, ns(time.Hour+302*time.Second))
	host.Tick()
	calls = host.GetCalloutAttributesFromContext(proxytest.PluginContextID)
	respond(t, host, len(calls)-1, "200", "5.6.7.8\n")
	if id, _ := request(host, "5.6.7.8:1"); filtertest.Status(host, id) != 0 {
		t.Errorf("5.6.7.8 after new list: %d %q", filtertest.Status(host, id), filtertest.Body(host, id))
	}
	if id, _ := request(host, "1.2.3.4:1"); filtertest.Status(host, id) != 403 {
		t.Errorf("1.2.3.4 after new list: %d", filtertest.Status(host, id))
	}
}

func TestFailOpenWhenNoList(t *testing.T) {
	filtertest.Run(t, newVM, func(t *testing.T, h *filtertest.Harness) {
		host := h.Start(t, `{"value":{"attribute":"source.ip"},"entry_type":"IP_ADDRESSES","provider":{"cluster":"lists"},"fail_open_when_no_list":true}`)
		if _, a := request(host, "9.9.9.9:1"); a != types.ActionContinue {
			t.Errorf("fail open: action %v", a)
		}
	})
}

func BenchmarkRequest(b *testing.B) {
	filtertest.BenchmarkRequest(b, &vmContext{}, `{"value":{"attribute":"source.ip"},"entry_type":"IP_ADDRESSES","overrides":["127.0.0.0/8","10.0.0.0/8"]}`,
		[]filtertest.Option{filtertest.StringProp("source.address", "127.0.0.1:5000")}, [][2]string{{":method", "GET"}, {":path", "/"}})
}
