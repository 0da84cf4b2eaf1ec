package main

import (
	"errors"
	"strings"
	"testing"

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
		{`{}`, "attributes"},
		{`{"attributes":[{"output_attribute":"x","match":[]}]}`, "attributes[0].match"},
		{`{"attributes":[{"output_attribute":"x y","match":[{"value":"v"}]}]}`, "attributes[0].output_attribute"},
		{`{"attributes":[{"output_attribute":"x","match":[{"value":"v","condition":{"attr":{"attribute":"request.path"},"regex":"(("}}]}]}`, "attributes[0].match[0].condition.regex"},
		{`{"attributes":[{"output_attribute":"x","output_header":"x-op","match":[{"value":"v"}]}]}`, "attributes[0].output_header"},
		{`{"attributes":[{"output_attribute":"x","phase":"LATER","match":[{"value":"v"}]}]}`, "attributes[0].phase"},
	}
	for _, tt := range tests {
		_, err := parseConfig([]byte(tt.config))
		var ve *mixer.ValidationError
		if !errors.As(err, &ve) || ve.Field != tt.field {
			t.Errorf("parseConfig(%s) = %v; want an error naming %q", tt.config, err, tt.field)
		}
	}
}

const operations = `{"attributes":[{"output_attribute":"istio_operationId","phase":"ON_REQUEST","output_header":"x-istio-operation","match":[
	{"value":"ListBooks","condition":{"all":[{"attr":{"attribute":"request.url_path"},"exact":"/books"},{"attr":{"attribute":"request.method"},"exact":"GET"}]}},
	{"value":"GetBook","condition":{"all":[{"attr":{"attribute":"request.url_path"},"regex":"^/shelves/[[:alnum:]]*/books/[[:alnum:]]*$"},{"attr":{"attribute":"request.method"},"exact":"GET"}]}},
	{"value":"CreateBook","condition":{"all":[{"attr":{"attribute":"request.url_path"},"exact":"/books"},{"attr":{"attribute":"request.method"},"exact":"PUT"}]}}]}]}`

const responseClass = `{"attributes":[{"output_attribute":"istio_responseClass","match":[
	{"value":"404","condition":{"attr":{"attribute":"response.code"},"range":[404,404]}},
	{"value":"429","condition":{"attr":{"attribute":"response.code"},"range":[429,429]}},
	{"value":"503","condition":{"attr":{"attribute":"response.code"},"range":[503,503]}},
	{"value":"2xx","condition":{"attr":{"attribute":"response.code"},"range":[200,299]}},
	{"value":"3xx","condition":{"attr":{"attribute":"response.code"},"range":[300,399]}},
	{"value":"4xx","condition":{"attr":{"attribute":"response.code"},"range":[400,499]}},
	{"value":"5xx","condition":{"attr":{"attribute":"response.code"},"range":[500,599]}}]}]}`

func property(host proxytest.HostEmulator, name string) (string, bool) {
	v, err := host.GetProperty([]string{name})
	return string(v), err == nil
}

func TestAttributeGen(t *testing.T) {
	filtertest.Run(t, func() types.VMContext { return &vmContext{} }, func(t *testing.T, h *filtertest.Harness) {
		t.Run("operations", func(t *testing.T) {
			for _, tc := range []struct {
				method, path, want string
			}{
				{"GET", "/books", "ListBooks"},
				{"GET", "/books?page=2", "ListBooks"},
				{"POST", "/books", ""},
				{"PUT", "/books", "CreateBook"},
				{"GET", "/shelves/a101/books/b1122", "GetBook"},
				{"GET", "/shelves/-----/books/b1122", ""},
			} {
				t.Run(tc.method+tc.path, func(t *testing.T) {
					host := h.Start(t, operations)
					id, _ := filtertest.Request(host, [2]string{":method", tc.method}, [2]string{":path", tc.path})
					got, ok := property(host, "istio_operationId")
					if got != tc.want || ok != (tc.want != "") {
						t.Errorf("istio_operationId = %q (set %v), want %q", got, ok, tc.want)
					}
					hv, _ := filtertest.Header(host.GetCurrentRequestHeaders(id), "x-istio-operation")
					if hv != tc.want {
						t.Errorf("x-istio-operation = %q", hv)
					}
				})
			}
		})
		t.Run("response class", func(t *testing.T) {
			for code, want := range map[string]string{"207": "2xx", "404": "404", "429": "429", "503": "503", "502": "5xx", "301": "3xx", "403": "4xx"} {
				t.Run(code, func(t *testing.T) {
					host := h.Start(t, responseClass)
					id, _ := filtertest.Get(host, "/")
					if _, ok := property(host, "istio_responseClass"); ok {
						t.Fatal("AFTER_RESPONSE attribute written on request")
					}
					host.CallOnResponseHeaders(id, [][2]string{{":status", code}}, true)
					host.CompleteHttpContext(id)
					if got, _ := property(host, "istio_responseClass"); got != want {
						t.Errorf("%s → %q, want %q", code, got, want)
					}
				})
			}
		})
		t.Run("invalid regex fails the plugin and counts", func(t *testing.T) {
			host, st := h.NewHost(t, `{"attributes":[{"output_attribute":"x","match":[{"value":"v","condition":{"attr":{"attribute":"request.url_path"},"regex":"(("}}]}]}`)
			if st != types.OnPluginStartStatusFailed {
				t.Fatalf("start = %v", st)
			}
			if filtertest.Counter(host, "attributegen_config_error_total") != 1 {
				t.Error("attributegen_config_error_total != 1")
			}
			if !strings.Contains(strings.Join(host.GetCriticalLogs(), "\n"), "attributes[0].match[0].condition.regex") {
				t.Errorf("logs %q", host.GetCriticalLogs())
			}
		})
		t.Run("missing input attribute", func(t *testing.T) {
			host := h.Start(t, `{"attributes":[{"output_attribute":"grpc_class","match":[{"value":"ok","condition":{"attr":{"attribute":"response.grpc_status"},"range":[0,0]}}]}]}`)
			id, _ := filtertest.Get(host, "/")
			host.CompleteHttpContext(id)
			if _, ok := property(host, "grpc_class"); ok {
				t.Error("attribute written from a missing input")
			}
		})
		t.Run("empty condition is the default", func(t *testing.T) {
			host := h.Start(t, `{"attributes":[{"output_attribute":"tier","phase":"ON_REQUEST","match":[{"value":"gold","condition":{"attr":{"header":"x-tier"},"exact":"gold"}},{"value":"standard"}]}]}`)
			filtertest.Get(host, "/")
			if got, _ := property(host, "tier"); got != "standard" {
				t.Errorf("tier = %q", got)
			}
		})
	})
}

func BenchmarkRequest(b *testing.B) {
	filtertest.BenchmarkRequest(b, &vmContext{}, operations, nil, [][2]string{{":method", "GET"}, {":path", "/books"}})
}
