package main

import (
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"testing"

	"github.com/wasmctl/wasmctl/filters/internal/filtertest"
	"github.com/wasmctl/wasmctl/filters/internal/mixer"
	"github.com/wasmctl/wasmctl/sdk/proxywasm/proxytest"
	"github.com/wasmctl/wasmctl/sdk/proxywasm/types"
)

func TestParseConfigErrors(t *testing.T) {
	tests := []struct{ config, field string }{
		{`{"max_peer_cache_size":0}`, "max_peer_cache_size"},
		{`{"exchange_keys":[]}`, "exchange_keys"},
		{`{"encoding":"istio-struct-base64"}`, "encoding"},
		{`{"direction":"sideways"}`, "direction"},
		{`{"emit":true}`, "emit"},
	}
	for _, tt := range tests {
		_, err := parseConfig([]byte(tt.config))
		var ve *mixer.ValidationError
		if !errors.As(err, &ve) || ve.Field != tt.field {
			t.Errorf("parseConfig(%s) = %v; want an error naming %q", tt.config, err, tt.field)
		}
	}
}

func pairs(kv ...string) []byte {
	n := len(kv) / 2
	b := binary.LittleEndian.AppendUint32(nil, uint32(n))
	for i := 0; i < len(kv); i += 2 {
		b = binary.LittleEndian.AppendUint32(b, uint32(len(kv[i])))
		b = binary.LittleEndian.AppendUint32(b, uint32(len(kv[i+1])))
	}
	for _, s := range kv {
		b = append(append(b, s...), 0)
	}
	return b
}

func TestDeserializePairs(t *testing.T) {
	m, ok := deserializePairs(pairs("app", "reviews", "version", "v1"))
	if !ok || m["app"] != "reviews" || m["version"] != "v1" {
		t.Errorf("%v %v", m, ok)
	}
	for _, bad := range [][]byte{nil, {1, 0, 0, 0}, {255, 255, 255, 255, 0, 0, 0, 0}} {
		if _, ok := deserializePairs(bad); ok {
			t.Errorf("accepted %v", bad)
		}
	}
}

func FuzzDecode(f *testing.F) {
	f.Add(pairs("a", "b"), "eyJXT1JLTE9BRF9OQU1FIjoieCJ9")
	f.Fuzz(func(t *testing.T, b []byte, s string) {
		deserializePairs(b)
		decodePeer(s)
	})
}

func header(md map[string]any) string {
	b, _ := json.Marshal(md)
	return base64.StdEncoding.EncodeToString(b)
}

func outbound() filtertest.Option { return filtertest.Prop("xds.listener_direction", mixer.Int64LE(2)) }
func inbound() filtertest.Option  { return filtertest.Prop("xds.listener_direction", mixer.Int64LE(1)) }

func prop(host proxytest.HostEmulator, name string) (string, bool) {
	v, err := host.GetProperty([]string{name})
	return string(v), err == nil
}

var productpage = map[string]any{"WORKLOAD_NAME": "productpage-v1", "NAMESPACE": "default", "LABELS": map[string]any{"app": "productpage", "version": "v1"}}

func TestPeerMetadata(t *testing.T) {
	filtertest.Run(t, func() types.VMContext { return &vmContext{} }, func(t *testing.T, h *filtertest.Harness) {
		t.Run("outbound request carries our metadata", func(t *testing.T) {
			host := h.Start(t, `{}`, outbound(),
				filtertest.StringProp("node.id", "sidecar~10.0.0.1~productpage-v1-abc.default~default.svc.cluster.local"),
				filtertest.StringProp("node.metadata.WORKLOAD_NAME", "productpage-v1"),
				filtertest.StringProp("node.metadata.NAMESPACE", "default"),
				filtertest.Prop("node.metadata.LABELS", pairs("app", "productpage")))
			id, _ := filtertest.Get(host, "/")
			reqh := host.GetCurrentRequestHeaders(id)
			if v, _ := filtertest.Header(reqh, headerID); v != "sidecar~10.0.0.1~productpage-v1-abc.default~default.svc.cluster.local" {
				t.Errorf("%s = %q", headerID, v)
			}
			md, _ := filtertest.Header(reqh, headerMetadata)
			b, err := base64.StdEncoding.DecodeString(md)
			var m map[string]any
			if err != nil || json.Unmarshal(b, &m) != nil {
				t.Fatalf("%s = %q is not base64 JSON", headerMetadata, md)
			}
			if m["WORKLOAD_NAME"] != "productpage-v1" || m["NAMESPACE"] != "default" || m["LABELS"].(map[string]any)["app"] != "productpage" {
				t.Errorf("metadata %v", m)
			}
		})
		t.Run("inbound request: headers consumed into properties", func(t *testing.T) {
			host := h.Start(t, `{}`, inbound())
			id, _ := filtertest.Get(host, "/", [2]string{headerID, "pp-1"}, [2]string{headerMetadata, header(productpage)})
			reqh := host.GetCurrentRequestHeaders(id)
			for _, k := range []string{headerID, headerMetadata} {
				if _, ok := filtertest.Header(reqh, k); ok {
					t.Errorf("%s was not removed before the upstream", k)
				}
			}
			v, ok := prop(host, "downstream_peer")
			var m map[string]any
			if !ok || json.Unmarshal([]byte(v), &m) != nil || m["WORKLOAD_NAME"] != "productpage-v1" {
				t.Errorf("downstream_peer = %q", v)
			}
			for name, want := range map[string]string{"downstream_peer_id": "pp-1", "source_workload_name": "productpage-v1",
				"source_workload_namespace": "default", "source_labels_app": "productpage", "source_labels_version": "v1"} {
				if got, _ := prop(host, name); got != want {
					t.Errorf("%s = %q, want %q", name, got, want)
				}
			}
			// The attribute resolver of the other filters sees the peer.
			a := mixer.Attr{Attribute: "source.workload.name", Default: "unknown"}
			if got, _ := a.ResolveString(hostSource{host}); got != "productpage-v1" {
				t.Errorf("source.workload.name = %q", got)
			}
		})
		t.Run("inbound without headers", func(t *testing.T) {
			host := h.Start(t, `{}`, inbound())
			if _, a := filtertest.Get(host, "/"); a != types.ActionContinue {
				t.Error("request held")
			}
			if _, ok := prop(host, "downstream_peer"); ok {
				t.Error("downstream_peer set without headers")
			}
			a := mixer.Attr{Attribute: "source.workload.name", Default: "unknown"}
			if got, _ := a.ResolveString(hostSource{host}); got != "unknown" {
				t.Errorf("source.workload.name = %q", got)
			}
		})
		t.Run("corrupted header", func(t *testing.T) {
			host := h.Start(t, `{}`, inbound())
			for _, bad := range []string{"!!!not base64", base64.StdEncoding.EncodeToString([]byte("not json"))} {
				id, a := filtertest.Get(host, "/", [2]string{headerMetadata, bad})
				if a != types.ActionContinue || filtertest.Status(host, id) != 0 {
					t.Error("request not passed through")
				}
			}
			if _, ok := prop(host, "downstream_peer"); ok {
				t.Error("property set from a corrupted header")
			}
			if filtertest.Counter(host, "peer_metadata_invalid_total") != 2 {
				t.Error("invalid counter")
			}
		})
		t.Run("decoded once per peer", func(t *testing.T) {
			host := h.Start(t, `{}`, inbound())
			for range 2 {
				filtertest.Get(host, "/", [2]string{headerID, "pp-1"}, [2]string{headerMetadata, header(productpage)})
			}
			if filtertest.Counter(host, "peer_metadata_cache_hit_total") != 1 || filtertest.Counter(host, "peer_metadata_cache_miss_total") != 1 {
				t.Errorf("hit %d miss %d", filtertest.Counter(host, "peer_metadata_cache_hit_total"), filtertest.Counter(host, "peer_metadata_cache_miss_total"))
			}
		})
		t.Run("responses", func(t *testing.T) {
			host := h.Start(t, `{}`, inbound(), filtertest.StringProp("node.metadata.WORKLOAD_NAME", "reviews-v1"))
			id, _ := filtertest.Get(host, "/")
			host.CallOnResponseHeaders(id, [][2]string{{":status", "200"}}, true)
			if _, ok := filtertest.Header(host.GetCurrentResponseHeaders(id), headerMetadata); !ok {
				t.Error("inbound response lacks our metadata")
			}
			host = h.Start(t, `{}`, outbound())
			id, _ = filtertest.Get(host, "/")
			host.CallOnResponseHeaders(id, [][2]string{{":status", "200"}, {headerID, "rv"}, {headerMetadata, header(map[string]any{"WORKLOAD_NAME": "reviews-v1"})}}, true)
			if got, _ := prop(host, "destination_workload_name"); got != "reviews-v1" {
				t.Errorf("destination_workload_name = %q", got)
			}
			if _, ok := filtertest.Header(host.GetCurrentResponseHeaders(id), headerMetadata); ok {
				t.Error("peer header not removed from the response")
			}
		})
	})
}

// hostSource reads the emulator's properties the way a later filter would.
type hostSource struct{ h proxytest.HostEmulator }

func (s hostSource) Property(path ...string) ([]byte, bool) {
	b, err := s.h.GetProperty(path)
	return b, err == nil
}
func (hostSource) RequestHeader(string) (string, bool)  { return "", false }
func (hostSource) ResponseHeader(string) (string, bool) { return "", false }

func BenchmarkRequest(b *testing.B) {
	filtertest.BenchmarkRequest(b, &vmContext{}, `{}`, []filtertest.Option{inbound()},
		[][2]string{{":method", "GET"}, {":path", "/"}, {headerID, "pp-1"}, {headerMetadata, header(productpage)}})
}
