package main

import (
	"errors"
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
		{`{}`, "roles"},
		{`{"roles":[],"bindings":[{"role":"x","subjects":[{"user":"a"}]}]}`, "bindings[0].role"},
		{`{"roles":[{"name":"r","rules":[{}]},{"name":"r","rules":[{}]}],"bindings":[]}`, "roles[1].name"},
		{`{"roles":[{"name":"r","rules":[]}],"bindings":[]}`, "roles[0].rules"},
		{`{"roles":[{"name":"r","rules":[{"constraints":[{"key":"request.headers[]","values":["a"]}]}]}],"bindings":[]}`, "roles[0].rules[0].constraints[0].key"},
		{`{"roles":[{"name":"r","rules":[{}]}],"bindings":[{"role":"r","subjects":[{}]}]}`, "bindings[0].subjects[0]"},
		{`{"roles":[],"bindings":[],"mode":"AUDIT"}`, "mode"},
		{`{"roles":[],"bindings":[],"action":{"service":{}}}`, "action.service"},
	}
	for _, tt := range tests {
		_, err := parseConfig([]byte(tt.config))
		var ve *mixer.ValidationError
		if !errors.As(err, &ve) || ve.Field != tt.field {
			t.Errorf("parseConfig(%s) = %v; want an error naming %q", tt.config, err, tt.field)
		}
	}
}

func TestMatchString(t *testing.T) {
	for _, tc := range []struct {
		p, v string
		want bool
	}{
		{"*", "x", true}, {"abc", "abc", true}, {"abc", "abcd", false}, {"/books*", "/books/1", true},
		{"*/review", "/products/7/review", true}, {"*/review", "/products/7", false}, {"reviews.*", "reviews.default.svc", true},
	} {
		if got := matchString(tc.p, tc.v); got != tc.want {
			t.Errorf("matchString(%q, %q) = %v", tc.p, tc.v, got)
		}
	}
}

const policy = `"roles":[{"name":"reader","rules":[
		{"services":["reviews.*"],"paths":["/books*","*/review"],"methods":["GET","HEAD"]},
		{"services":["ratings.*"],"methods":["GET"],"constraints":[{"key":"request.headers[version]","values":["v1","v2"]}]}]},
		{"name":"nsreader","rules":[{"services":["details.*"],"methods":["GET"]}]}],
	"bindings":[{"role":"reader","subjects":[{"user":"cluster.local/ns/default/sa/productpage"},{"group":"admins"}]},
		{"role":"nsreader","subjects":[{"properties":{"source.namespace":"default"}}]}]`

func productpage() filtertest.Option {
	return filtertest.StringProp("connection.uri_san_peer_certificate", "spiffe://cluster.local/ns/default/sa/productpage")
}

func call(host proxytest.HostEmulator, method, authority, path string, extra ...[2]string) (uint32, types.Action) {
	h := append([][2]string{{":method", method}, {":path", path}, {":authority", authority}}, extra...)
	return filtertest.Request(host, h...)
}

func TestRBAC(t *testing.T) {
	filtertest.Run(t, func() types.VMContext { return &vmContext{} }, func(t *testing.T, h *filtertest.Harness) {
		enforced := `{"handler_name":"rbachandler",` + policy + `}`
		t.Run("allow and deny by method", func(t *testing.T) {
			host := h.Start(t, enforced, productpage())
			if id, a := call(host, "GET", "reviews.default.svc", "/books/1"); a != types.ActionContinue {
				t.Errorf("GET /books/1: %d %q", filtertest.Status(host, id), filtertest.Body(host, id))
			}
			id, a := call(host, "DELETE", "reviews.default.svc", "/books/1")
			if a != types.ActionPause || filtertest.Status(host, id) != 403 || filtertest.Body(host, id) != "PERMISSION_DENIED:rbachandler:RBAC: permission denied." {
				t.Errorf("DELETE: %v %d %q", a, filtertest.Status(host, id), filtertest.Body(host, id))
			}
			if filtertest.Counter(host, "rbac_denied_total") != 1 || filtertest.Counter(host, "rbac_allowed_total") != 1 {
				t.Error("counters")
			}
		})
		t.Run("path suffix rule", func(t *testing.T) {
			host := h.Start(t, enforced, productpage())
			if id, _ := call(host, "GET", "reviews.default.svc", "/products/7/review"); filtertest.Status(host, id) != 0 {
				t.Errorf("/products/7/review: %d", filtertest.Status(host, id))
			}
			if id, _ := call(host, "GET", "reviews.default.svc", "/products/7"); filtertest.Status(host, id) != 403 {
				t.Errorf("/products/7: %d", filtertest.Status(host, id))
			}
		})
		t.Run("header constraint", func(t *testing.T) {
			host := h.Start(t, enforced, productpage())
			if id, _ := call(host, "GET", "ratings.default.svc", "/r", [2]string{"version", "v3"}); filtertest.Status(host, id) != 403 {
				t.Errorf("v3: %d", filtertest.Status(host, id))
			}
			if id, _ := call(host, "GET", "ratings.default.svc", "/r", [2]string{"version", "v1"}); filtertest.Status(host, id) != 0 {
				t.Errorf("v1: %d", filtertest.Status(host, id))
			}
		})
		t.Run("unknown user is denied, group and property subjects", func(t *testing.T) {
			host := h.Start(t, `{"subject":{"groups":{"header":"x-groups"}},`+policy+`}`,
				filtertest.StringProp("connection.uri_san_peer_certificate", "spiffe://cluster.local/ns/other/sa/x"),
				filtertest.StringProp("downstream_peer", `{"NAMESPACE":"default"}`),
				filtertest.StringProp("source_namespace", "default"))
			if id, _ := call(host, "GET", "reviews.default.svc", "/books/1"); filtertest.Status(host, id) != 403 {
				t.Errorf("stranger: %d", filtertest.Status(host, id))
			}
			if id, _ := call(host, "GET", "reviews.default.svc", "/books/1", [2]string{"x-groups", "dev, admins"}); filtertest.Status(host, id) != 0 {
				t.Errorf("admins group: %d", filtertest.Status(host, id))
			}
			// source.namespace of an inbound peer comes from peer-metadata's flat property.
			if id, _ := call(host, "GET", "details.default.svc", "/d"); filtertest.Status(host, id) != 0 {
				t.Errorf("namespace property: %d", filtertest.Status(host, id))
			}
		})
		t.Run("permissive mode", func(t *testing.T) {
			host := h.Start(t, `{"handler_name":"rbachandler","mode":"PERMISSIVE",`+policy+`}`, productpage())
			id, a := call(host, "DELETE", "reviews.default.svc", "/books/1")
			if a != types.ActionContinue || filtertest.Status(host, id) != 0 {
				t.Fatalf("permissive denied: %v %d", a, filtertest.Status(host, id))
			}
			if v, _ := filtertest.Header(host.GetCurrentRequestHeaders(id), "x-rbac-shadow"); v != "denied" {
				t.Errorf("x-rbac-shadow = %q", v)
			}
			if got := filtertest.Counter(host, "rbac_shadow_denied_total"); got != 1 {
				t.Errorf("rbac_shadow_denied_total = %d", got)
			}
			if v, err := host.GetProperty([]string{"rbac_permissive_response_code"}); err != nil || string(v) != "403" {
				t.Errorf("rbac_permissive_response_code = %q, %v", v, err)
			}
			call(host, "GET", "reviews.default.svc", "/books/1")
			if v, _ := host.GetProperty([]string{"rbac_permissive_effective_policy_id"}); string(v) != "reader" {
				t.Errorf("effective policy = %q", v)
			}
		})
		t.Run("missing service", func(t *testing.T) {
			host := h.Start(t, enforced, productpage())
			id, _ := filtertest.Request(host, [2]string{":method", "GET"}, [2]string{":path", "/books/1"})
			if filtertest.Status(host, id) != 403 {
				t.Errorf("fail_close: %d", filtertest.Status(host, id))
			}
			host = h.Start(t, `{"fail_close":false,`+policy+`}`, productpage())
			id, _ = filtertest.Request(host, [2]string{":method", "GET"}, [2]string{":path", "/books/1"})
			if filtertest.Status(host, id) != 0 {
				t.Errorf("fail open: %d", filtertest.Status(host, id))
			}
		})
		t.Run("service from cluster metadata", func(t *testing.T) {
			host := h.Start(t, enforced, productpage(),
				filtertest.StringProp("xds.cluster_metadata.filter_metadata.istio.services.0.host", "reviews.default.svc.cluster.local"),
				filtertest.StringProp("xds.cluster_metadata.filter_metadata.istio.services.0.namespace", "default"))
			if id, _ := call(host, "GET", "somewhere-else", "/books/1"); filtertest.Status(host, id) != 0 {
				t.Errorf("%d", filtertest.Status(host, id))
			}
		})
	})
}

func BenchmarkRequest(b *testing.B) {
	filtertest.BenchmarkRequest(b, &vmContext{}, `{"handler_name":"rbachandler",`+policy+`}`, []filtertest.Option{productpage()},
		[][2]string{{":method", "GET"}, {":path", "/books/1"}, {":authority", "reviews.default.svc"}})
}
