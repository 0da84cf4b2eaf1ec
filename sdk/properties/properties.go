// Package properties reads Envoy and Istio host properties with typed
// getters (GetRequestPath, GetNodeMetaLabels, GetUpstreamAddress, …), the
// same API as github.com/tetratelabs/proxy-wasm-go-sdk/properties v0.24.0.
// Each getter calls proxywasm.GetProperty and decodes the value the way
// Envoy encodes it: strings raw, integers as 8-byte little-endian, maps in
// the proxy-wasm map format. Errors from the host (for example
// types.ErrorStatusNotFound) are returned unchanged; a value that does not
// decode yields an error wrapping ErrMalformedProperty, never a panic.
package properties

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/wasmctl/wasmctl/sdk/proxywasm"
)

// ErrMalformedProperty is wrapped by the errors of values that do not
// decode as the getter's type.
var ErrMalformedProperty = errors.New("malformed property value")

func get[T any](path []string, decode func([]byte) (T, error)) (T, error) {
	b, err := proxywasm.GetProperty(path)
	if err != nil {
		var zero T
		return zero, err
	}
	v, err := decode(b)
	if err != nil {
		var zero T
		return zero, fmt.Errorf("property %s: %w", strings.Join(path, "."), err)
	}
	return v, nil
}

func getString(path []string) (string, error) {
	return get(path, func(b []byte) (string, error) { return string(b), nil })
}

func getUint64(path []string) (uint64, error)   { return get(path, decodeUint64) }
func getBool(path []string) (bool, error)       { return get(path, decodeBool) }
func getFloat64(path []string) (float64, error) { return get(path, decodeFloat64) }

func getStringMap(path []string) (map[string]string, error) { return get(path, decodeStringMap) }

func getStringSlice(path []string) ([]string, error) { return get(path, decodeStringSlice) }

func getProtoStringSlice(path []string) ([]string, error) { return get(path, decodeProtoStringSlice) }

func getTimestamp(path []string) (time.Time, error) {
	t, err := get(path, decodeTimestamp)
	if err != nil {
		return time.Now().UTC(), err
	}
	return t, nil
}

func getTrafficDirection(path []string) (EnvoyTrafficDirection, error) {
	v, err := getUint64(path)
	if err != nil {
		return EnvoyTrafficDirectionUnspecified, err
	}
	return EnvoyTrafficDirection(int(v)), nil
}

func getInterceptionMode(path []string) (IstioTrafficInterceptionMode, error) {
	s, err := getString(path)
	if err != nil {
		return IstioTrafficInterceptionModeRedirect, err
	}
	return ParseIstioTrafficInterceptionMode(s)
}

// getIstioFilterMetadata reads the "config" string and the "services" list
// under path. As in the original SDK, a missing config yields empty
// metadata without an error.
func getIstioFilterMetadata(path []string) (IstioFilterMetadata, error) {
	sub := func(s string) []string { return append(append([]string(nil), path...), s) }
	config, err := getString(sub("config"))
	if err != nil {
		return IstioFilterMetadata{}, nil
	}
	md := IstioFilterMetadata{Config: config}
	services, err := get(sub("services"), decodeByteSliceSlice)
	if err != nil {
		return md, nil
	}
	for _, raw := range services {
		if len(raw) == 0 {
			continue
		}
		m, err := decodeStringMap(raw)
		if err != nil {
			return md, fmt.Errorf("property %s: %w", strings.Join(sub("services"), "."), err)
		}
		md.Services = append(md.Services, IstioService{Host: m["host"], Name: m["name"], Namespace: m["namespace"]})
	}
	return md, nil
}

// GetNodeLocality returns the node's locality (node.locality.region, zone
// and subzone). It fails only if none of the three can be read.
func GetNodeLocality() (EnvoyLocality, error) {
	var loc EnvoyLocality
	var errs []error
	for _, f := range []struct {
		key string
		dst *string
	}{{"region", &loc.Region}, {"zone", &loc.Zone}, {"subzone", &loc.Subzone}} {
		v, err := getString([]string{"node", "locality", f.key})
		if err != nil {
			errs = append(errs, fmt.Errorf("node.locality.%s: %w", f.key, err))
			continue
		}
		*f.dst = v
	}
	if len(errs) == 3 {
		return loc, errors.Join(errs...)
	}
	return loc, nil
}

// GetNodeExtensions returns the extensions the node advertises
// (node.extensions): name, category and type URLs of each.
func GetNodeExtensions() ([]EnvoyExtension, error) {
	raws, err := get([]string{"node", "extensions"}, decodeByteSliceSlice)
	if err != nil {
		return []EnvoyExtension{}, err
	}
	out := make([]EnvoyExtension, 0, len(raws))
	for _, raw := range raws {
		if raw == nil {
			continue
		}
		fields, err := decodeProtoStringSlice(raw)
		if err != nil {
			return out, fmt.Errorf("property node.extensions: %w", err)
		}
		var ext EnvoyExtension
		if len(fields) > 0 {
			ext.Name = fields[0]
		}
		if len(fields) > 1 {
			ext.Category = fields[1]
		}
		if len(fields) > 2 {
			ext.TypeUrls = append([]string{}, fields[2:]...)
		}
		out = append(out, ext)
	}
	return out, nil
}

// GetNodeProxyConfigProxyStatsMatcher returns Istio's proxyStatsMatcher from
// the node's PROXY_CONFIG metadata. It fails only if none of its three lists
// can be read.
func GetNodeProxyConfigProxyStatsMatcher() (IstioProxyStatsMatcher, error) {
	var m IstioProxyStatsMatcher
	failed := 0
	for _, f := range []struct {
		key string
		dst *[]string
	}{{"inclusionPrefixes", &m.InclusionPrefixes}, {"inclusionRegexps", &m.InclusionRegexps}, {"inclusionSuffixes", &m.InclusionSuffixes}} {
		v, err := getStringSlice([]string{"node", "metadata", "PROXY_CONFIG", "proxyStatsMatcher", f.key})
		if err != nil {
			failed++
			continue
		}
		*f.dst = v
	}
	if failed == 3 {
		return IstioProxyStatsMatcher{}, errors.New("failed to fetch any components of IstioProxyStatsMatcher")
	}
	return m, nil
}
