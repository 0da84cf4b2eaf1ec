package properties

import (
	"encoding/binary"
	"errors"
	"math"
	"reflect"
	"testing"
	"time"

	"github.com/wasmctl/wasmctl/sdk/proxywasm/proxytest"
	"github.com/wasmctl/wasmctl/sdk/proxywasm/types"
)

// inVM runs f inside OnVMStart of an emulator holding props, where
// proxywasm.GetProperty reaches the emulated host.
func inVM(t *testing.T, props map[string][]byte, paths map[string][]string, f func()) {
	t.Helper()
	ran := false
	opt := proxytest.NewEmulatorOption().WithVMContext(&probe{f: func() { ran = true; f() }})
	for k, v := range props {
		opt = opt.WithProperty(paths[k], v)
	}
	host, reset := proxytest.NewHostEmulator(opt)
	defer reset()
	host.StartVM()
	if !ran {
		t.Fatal("OnVMStart did not run")
	}
}

type probe struct {
	types.DefaultVMContext
	f func()
}

func (p *probe) OnVMStart(int) types.OnVMStartStatus {
	p.f()
	return types.OnVMStartStatusOK
}

func u64(v uint64) []byte { return binary.LittleEndian.AppendUint64(nil, v) }

func strSlice(items ...string) []byte {
	b := binary.LittleEndian.AppendUint32(nil, uint32(len(items)))
	for _, s := range items {
		b = binary.LittleEndian.AppendUint64(b, uint64(len(s)))
	}
	for _, s := range items {
		b = append(append(b, s...), 0, 0)
	}
	return b
}

func strMap(kv ...string) []byte {
	b := binary.LittleEndian.AppendUint32(nil, uint32(len(kv)/2))
	for i := 0; i < len(kv); i += 2 {
		b = binary.LittleEndian.AppendUint32(b, uint32(len(kv[i])))
		b = binary.LittleEndian.AppendUint32(b, uint32(len(kv[i+1])))
	}
	for _, s := range kv {
		b = append(append(b, s...), 0)
	}
	return b
}

func protoStrings(items ...string) []byte {
	var b []byte
	for _, s := range items {
		b = append(append(b, 0x0a, byte(len(s))), s...)
	}
	return b
}

func TestGetters(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 30, 12, 0, 0, 5, time.UTC)
	paths := map[string][]string{
		"path": {"request", "path"}, "port": {"source", "port"}, "mtls": {"connection", "mtls"},
		"headers": {"request", "headers"}, "time": {"request", "time"}, "prom": {"node", "metadata", "ENVOY_PROMETHEUS_PORT"},
		"san": {"node", "metadata", "PILOT_SAN"}, "mode": {"node", "metadata", "INTERCEPTION_MODE"},
		"dir": {"listener_direction"}, "region": {"node", "locality", "region"},
		"features": {"node", "client_features"},
		"ext":      {"node", "extensions"},
		"cfg":      {"node", "cluster_metadata", "filter_metadata", "istio", "config"},
		"svcs":     {"node", "cluster_metadata", "filter_metadata", "istio", "services"},
		"prefixes": {"node", "metadata", "PROXY_CONFIG", "proxyStatsMatcher", "inclusionPrefixes"},
	}
	props := map[string][]byte{
		"path": []byte("/a?b"), "port": u64(8080), "mtls": {1}, "headers": strMap(":method", "GET", "x", "y"),
		"time": u64(uint64(now.UnixNano())), "prom": binary.LittleEndian.AppendUint64(nil, math.Float64bits(15090)),
		"san": strSlice("spiffe://a", "spiffe://b"), "mode": []byte("TPROXY"), "dir": u64(1), "region": []byte("eu"),
		"features": protoStrings("envoy.lb", "envoy.lrs"),
		"ext":      strSlice(string(protoStrings("envoy.wasm", "envoy.filters.http", "type.googleapis.com/x"))),
		"cfg":      []byte("cfg-1"),
		"svcs":     strSlice(string(strMap("host", "h.ns.svc", "name", "h", "namespace", "ns"))),
		"prefixes": strSlice("cluster."),
	}
	inVM(t, props, paths, func() {
		check := func(name string, got, want any, err error) {
			t.Helper()
			if err != nil || !reflect.DeepEqual(got, want) {
				t.Errorf("%s = %#v, %v; want %#v", name, got, err, want)
			}
		}
		v1, err := GetRequestPath()
		check("GetRequestPath", v1, "/a?b", err)
		v2, err := GetDownstreamRemotePort()
		check("GetDownstreamRemotePort", v2, uint64(8080), err)
		v3, err := IsDownstreamConnectionTls()
		check("IsDownstreamConnectionTls", v3, true, err)
		v4, err := GetRequestHeaders()
		check("GetRequestHeaders", v4, map[string]string{":method": "GET", "x": "y"}, err)
		v5, err := GetRequestTime()
		check("GetRequestTime", v5, now, err)
		v6, err := GetNodeMetaEnvoyPrometheusPort()
		check("GetNodeMetaEnvoyPrometheusPort", v6, 15090.0, err)
		v7, err := GetNodeMetaPilotSan()
		check("GetNodeMetaPilotSan", v7, []string{"spiffe://a", "spiffe://b"}, err)
		v8, err := GetNodeMetaInterceptionMode()
		check("GetNodeMetaInterceptionMode", v8, IstioTrafficInterceptionModeTproxy, err)
		v9, err := GetListenerDirection()
		check("GetListenerDirection", v9, EnvoyTrafficDirectionInbound, err)
		v10, err := GetNodeLocality()
		check("GetNodeLocality", v10, EnvoyLocality{Region: "eu"}, err)
		v11, err := GetNodeClientFeatures()
		check("GetNodeClientFeatures", v11, []string{"envoy.lb", "envoy.lrs"}, err)
		v12, err := GetNodeExtensions()
		check("GetNodeExtensions", v12, []EnvoyExtension{{Name: "envoy.wasm", Category: "envoy.filters.http", TypeUrls: []string{"type.googleapis.com/x"}}}, err)
		v13, err := GetClusterMetadata()
		check("GetClusterMetadata", v13, IstioFilterMetadata{Config: "cfg-1", Services: []IstioService{{Host: "h.ns.svc", Name: "h", Namespace: "ns"}}}, err)
		v14, err := GetNodeProxyConfigProxyStatsMatcher()
		check("GetNodeProxyConfigProxyStatsMatcher", v14, IstioProxyStatsMatcher{InclusionPrefixes: []string{"cluster."}}, err)

		if _, err := GetUpstreamAddress(); !errors.Is(err, types.ErrorStatusNotFound) {
			t.Errorf("missing property: err = %v, want ErrorStatusNotFound", err)
		}
		if _, err := GetNodeProxyConfigProxyStatsMatcher(); err != nil {
			t.Errorf("partial matcher: %v", err)
		}
	})
}

func TestMalformedValues(t *testing.T) {
	t.Parallel()
	paths := map[string][]string{"port": {"source", "port"}, "headers": {"request", "headers"}, "mtls": {"connection", "mtls"}}
	props := map[string][]byte{"port": {1, 2, 3}, "headers": {9, 0, 0, 0, 1}, "mtls": {1, 1}}
	inVM(t, props, paths, func() {
		if _, err := GetDownstreamRemotePort(); !errors.Is(err, ErrMalformedProperty) {
			t.Errorf("short uint64: %v", err)
		}
		if _, err := GetRequestHeaders(); !errors.Is(err, ErrMalformedProperty) {
			t.Errorf("corrupt map: %v", err)
		}
		if _, err := IsDownstreamConnectionTls(); !errors.Is(err, ErrMalformedProperty) {
			t.Errorf("2-byte bool: %v", err)
		}
	})
}

// FuzzDecoders feeds arbitrary bytes to every decoder: errors are fine,
// panics are not.
func FuzzDecoders(f *testing.F) {
	f.Add(strMap("a", "b"))
	f.Add(strSlice("x", "yz"))
	f.Add(protoStrings("p", "q"))
	f.Add(u64(7))
	f.Fuzz(func(t *testing.T, b []byte) {
		decodeBool(b)
		decodeUint64(b)
		decodeFloat64(b)
		decodeTimestamp(b)
		decodeStringMap(b)
		decodeStringSlice(b)
		decodeByteSliceSlice(b)
		decodeProtoStringSlice(b)
	})
}
