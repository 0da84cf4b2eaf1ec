package mixer

import (
	"errors"
	"math"
	"time"

	"github.com/wasmctl/wasmctl/sdk/proxywasm"
	"github.com/wasmctl/wasmctl/sdk/proxywasm/types"
)

// HostSource reads properties and the current stream's headers through the
// SDK. The zero value is ready to use inside any HTTP callback. With Static
// set, properties that cannot change during a plugin's life (the node and
// its metadata, the listener direction, the plugin's names) are read from
// the host once and then served from that cache.
type HostSource struct {
	Static *StaticProperties
}

// StaticProperties caches a plugin context's unchanging properties. Keep
// one per plugin context (not per process: native tests run many emulators
// in one process).
type StaticProperties struct {
	m   map[string]propEntry
	key []byte
}

// isStatic reports whether a property path names configuration that is
// fixed for a plugin's life.
func isStatic(path []string) bool {
	switch path[0] {
	case "node", "listener_direction", "plugin_name", "plugin_root_id", "plugin_vm_id":
		return true
	case "xds":
		return len(path) > 1 && (path[1] == "node" || path[1] == "listener_direction")
	}
	return false
}

// Property implements Source with proxy_get_property.
func (h HostSource) Property(path ...string) ([]byte, bool) {
	if len(path) == 0 {
		return nil, false
	}
	if s := h.Static; s != nil && isStatic(path) {
		s.key = s.key[:0]
		for _, seg := range path {
			s.key = append(s.key, seg...)
			s.key = append(s.key, 0)
		}
		if e, ok := s.m[string(s.key)]; ok {
			return e.v, e.ok
		}
		b, err := proxywasm.GetProperty(path)
		if s.m == nil {
			s.m = map[string]propEntry{}
		}
		s.m[string(s.key)] = propEntry{b, err == nil}
		return b, err == nil
	}
	b, err := proxywasm.GetProperty(path)
	return b, err == nil
}

// RequestHeader implements Source with proxy_get_header_map_value.
func (HostSource) RequestHeader(name string) (string, bool) {
	v, err := proxywasm.GetHttpRequestHeader(name)
	return v, err == nil
}

// ResponseHeader implements Source with proxy_get_header_map_value.
func (HostSource) ResponseHeader(name string) (string, bool) {
	v, err := proxywasm.GetHttpResponseHeader(name)
	return v, err == nil
}

// LoadPluginConfig reads the plugin configuration, validates it against
// schema and decodes it into v.
func LoadPluginConfig(schema *Schema, v any) error {
	data, err := proxywasm.GetPluginConfiguration()
	if err != nil && err != types.ErrorStatusNotFound {
		data = nil
	}
	return DecodeConfig(schema, data, v)
}

// HandlerName returns configured when set, else the plugin_name property,
// else fallback: the "<handler>" part of Mixer denial bodies.
func HandlerName(configured, fallback string) string {
	if configured != "" {
		return configured
	}
	if b, err := proxywasm.GetProperty([]string{"plugin_name"}); err == nil && len(b) > 0 {
		return string(b)
	}
	return fallback
}

// Clock returns the current time in Unix nanoseconds. With a property path
// configured (the filters' "time_property" option, for deterministic tests
// and replays) it reads that property, an int64 in nanoseconds; otherwise,
// or when the property is absent, it uses the wall clock.
func Clock(property []string) int64 {
	if len(property) > 0 {
		if b, err := proxywasm.GetProperty(property); err == nil {
			if v, ok := Decode(b, "int"); ok {
				return v.I
			}
		}
	}
	return time.Now().UnixNano()
}

// Deny sends Mixer's local reply for a failed check: the HTTP status mapped
// from code and the body "<CODE>:<handler>:<message>". It returns
// ActionPause, which the caller returns from the callback.
func Deny(code Code, handler, message string, headers [][2]string) types.Action {
	body := Body(code, handler, message)
	if err := proxywasm.SendHttpResponse(code.HTTPStatus(), headers, []byte(body), -1); err != nil {
		proxywasm.LogErrorf("%s: send local response: %v", handler, err)
	}
	return types.ActionPause
}

// ErrCasRetries is returned by UpdateSharedData when the compare-and-swap
// kept failing because other VMs wrote the key concurrently.
var ErrCasRetries = errors.New("shared data: too many CAS conflicts")

// casRetries bounds UpdateSharedData's loop.
const casRetries = 32

// createOnlyCas is the cas UpdateSharedData passes when it creates a key.
// Envoy (and the runtime host, and the SDK emulator) create a missing key
// whatever cas is given, but refuse a non-zero cas that differs from an
// existing key's. Hosts hand out cas values counting up from 1, so no live key
// holds this one in practice: the write creates the key only if it is still
// absent, and a VM that lost the race to create it retries on the winner's
// value instead of overwriting it.
const createOnlyCas = math.MaxUint32

// UpdateSharedData applies update to a shared-data key with a
// get → modify → set-with-CAS loop, retrying on a CAS mismatch, so that
// concurrent VM instances never lose an update. A missing key is first
// created holding initial, with a create-only write (see createOnlyCas), so
// racing creators never overwrite each other's updates.
// update receives the current value and returns the new value, or
// write=false to leave the key alone. It returns what update returned last.
func UpdateSharedData(key string, initial []byte, update func(old []byte) (value []byte, write bool)) ([]byte, error) {
	for range casRetries {
		old, cas, err := proxywasm.GetSharedData(key)
		if errors.Is(err, types.ErrorStatusNotFound) {
			err := proxywasm.SetSharedData(key, initial, createOnlyCas)
			if err != nil && !errors.Is(err, types.ErrorStatusCasMismatch) {
				return nil, err
			}
			continue // created, or another VM created it first: read it
		}
		if err != nil {
			return nil, err
		}
		v, write := update(old)
		if !write {
			return v, nil
		}
		err = proxywasm.SetSharedData(key, v, cas)
		if err == nil {
			return v, nil
		}
		if !errors.Is(err, types.ErrorStatusCasMismatch) {
			return nil, err
		}
	}
	return nil, ErrCasRetries
}
