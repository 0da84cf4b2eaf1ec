package host

import (
	"encoding/binary"
	"errors"
)

// Status is a proxy_status_t value returned by every host function.
type Status uint32

// proxy_status_t values (ABI 0.2.1).
const (
	StatusOK                   Status = 0
	StatusNotFound             Status = 1
	StatusBadArgument          Status = 2
	StatusSerializationFailure Status = 3
	StatusParseFailure         Status = 4
	StatusInvalidMemoryAccess  Status = 6
	StatusEmpty                Status = 7
	StatusCASMismatch          Status = 8
	StatusInternalFailure      Status = 10
	StatusUnimplemented        Status = 12
)

// Action is what a stream callback asked the host to do. Header callbacks
// return Envoy's FilterHeadersStatus (0–4), body callbacks FilterDataStatus
// (0–3); both are normalized by the host (see HTTPStream).
type Action uint32

const (
	// ActionContinue lets the stream go on to the next filter.
	ActionContinue Action = 0
	// ActionPause stops iteration until the filter continues the stream.
	ActionPause Action = 1
)

// Buffer types (proxy_buffer_type_t).
const (
	bufHTTPRequestBody  = 0
	bufHTTPResponseBody = 1
	bufDownstreamData   = 2
	bufUpstreamData     = 3
	bufHTTPCallResponse = 4
	bufGRPCMessage      = 5
	bufVMConfiguration  = 6
	bufPluginConfig     = 7
	bufForeignArguments = 8
)

// Map types (proxy_map_type_t).
const (
	mapRequestHeaders       = 0
	mapRequestTrailers      = 1
	mapResponseHeaders      = 2
	mapResponseTrailers     = 3
	mapGRPCInitialMetadata  = 4
	mapGRPCTrailingMetadata = 5
	mapCallResponseHeaders  = 6
	mapCallResponseTrailers = 7
)

// Stream types (proxy_stream_type_t).
const (
	streamHTTPRequest  = 0
	streamHTTPResponse = 1
	streamDownstream   = 2
	streamUpstream     = 3
)

// Limits taken from proxy-wasm-cpp-host include/proxy-wasm/limits.h.
const (
	maxPairsBytes = 1 << 20
	maxPairs      = 1024
	maxRandom     = 64 << 10
)

// ABIVersion is the proxy-wasm ABI a module declares with its marker export.
type ABIVersion string

// ABI versions this host accepts.
const (
	ABI010  ABIVersion = "0.1.0"
	ABI020  ABIVersion = "0.2.0"
	ABI021  ABIVersion = "0.2.1"
	ABINext ABIVersion = "0.x.x"
)

// Pairs is an ordered header map: lower-case keys, repeated keys allowed, as
// in Envoy's HeaderMap. HTTP/2 pseudo headers (:method, :path, :authority,
// :scheme, :status) are ordinary entries.
type Pairs [][2]string

// Get returns the first value of key (case-insensitive) and whether it exists.
func (p Pairs) Get(key string) (string, bool) {
	for _, kv := range p {
		if equalFold(kv[0], key) {
			return kv[1], true
		}
	}
	return "", false
}

// Values returns every value of key in order.
func (p Pairs) Values(key string) []string {
	var out []string
	for _, kv := range p {
		if equalFold(kv[0], key) {
			out = append(out, kv[1])
		}
	}
	return out
}

// Set replaces every value of key with one value (appended if absent).
func (p *Pairs) Set(key, value string) {
	key = lower(key)
	for i, kv := range *p {
		if kv[0] == key {
			(*p)[i][1] = value
			p.delAfter(key, i+1)
			return
		}
	}
	*p = append(*p, [2]string{key, value})
}

// Add appends a value for key.
func (p *Pairs) Add(key, value string) { *p = append(*p, [2]string{lower(key), value}) }

// Del removes every value of key.
func (p *Pairs) Del(key string) { p.delAfter(lower(key), 0) }

func (p *Pairs) delAfter(key string, from int) {
	out := (*p)[:from]
	for _, kv := range (*p)[from:] {
		if !equalFold(kv[0], key) {
			out = append(out, kv)
		}
	}
	*p = out
}

// Clone returns a copy of p.
func (p Pairs) Clone() Pairs { return append(Pairs(nil), p...) }

func lower(s string) string {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= 'A' && c <= 'Z' {
			b := []byte(s)
			for j := i; j < len(b); j++ {
				if b[j] >= 'A' && b[j] <= 'Z' {
					b[j] += 'a' - 'A'
				}
			}
			return string(b)
		}
	}
	return s
}

func equalFold(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		ca, cb := a[i], b[i]
		if ca >= 'A' && ca <= 'Z' {
			ca += 'a' - 'A'
		}
		if cb >= 'A' && cb <= 'Z' {
			cb += 'a' - 'A'
		}
		if ca != cb {
			return false
		}
	}
	return true
}

// EncodePairs serializes a map the proxy-wasm way: u32 count, (u32 klen,
// u32 vlen) per pair, then key\0value\0 for each pair. An empty map encodes
// as nil (the host then returns ptr=0,size=0).
func EncodePairs(p Pairs) []byte {
	if len(p) == 0 {
		return nil
	}
	size := 4
	for _, kv := range p {
		size += 8 + len(kv[0]) + len(kv[1]) + 2
	}
	b := make([]byte, size)
	binary.LittleEndian.PutUint32(b, uint32(len(p)))
	off := 4
	for _, kv := range p {
		binary.LittleEndian.PutUint32(b[off:], uint32(len(kv[0])))
		binary.LittleEndian.PutUint32(b[off+4:], uint32(len(kv[1])))
		off += 8
	}
	for _, kv := range p {
		off += copy(b[off:], kv[0])
		b[off] = 0
		off++
		off += copy(b[off:], kv[1])
		b[off] = 0
		off++
	}
	return b
}

var errPairs = errors.New("malformed proxy-wasm map")

// DecodePairs parses a serialized map. It accepts an empty input and the
// single-byte empty map, enforces cpp-host's limits (1 MiB, 1024 pairs) and
// never panics on malformed input.
func DecodePairs(b []byte) (Pairs, error) {
	if len(b) == 0 || (len(b) == 1 && b[0] == 0) {
		return nil, nil
	}
	if len(b) > maxPairsBytes {
		return nil, errPairs
	}
	if len(b) < 4 {
		return nil, errPairs
	}
	n := binary.LittleEndian.Uint32(b)
	if n > maxPairs || uint64(n)*8 > uint64(len(b)-4) {
		return nil, errPairs
	}
	sizes := b[4 : 4+8*n]
	data := b[4+8*n:]
	out := make(Pairs, 0, n)
	for i := uint32(0); i < n; i++ {
		kl := uint64(binary.LittleEndian.Uint32(sizes[8*i:]))
		vl := uint64(binary.LittleEndian.Uint32(sizes[8*i+4:]))
		if kl+1+vl+1 > uint64(len(data)) {
			return nil, errPairs
		}
		k := string(data[:kl])
		v := string(data[kl+1 : kl+1+vl])
		data = data[kl+1+vl+1:]
		out = append(out, [2]string{k, v})
	}
	return out, nil
}
