package properties

import (
	"encoding/binary"
	"fmt"
	"math"
	"time"
)

// The decoders below read the encodings of Envoy property values that the
// original SDK's properties package reads. Every one checks lengths and
// returns ErrMalformedProperty instead of panicking on short or corrupt data.

func malformed(what string, b []byte) error {
	return fmt.Errorf("%w: %d bytes are not a valid %s", ErrMalformedProperty, len(b), what)
}

// decodeBool reads one byte; an empty value is false.
func decodeBool(b []byte) (bool, error) {
	switch len(b) {
	case 0:
		return false, nil
	case 1:
		return b[0] != 0, nil
	}
	return false, malformed("bool", b)
}

// decodeUint64 reads a little-endian 8-byte integer.
func decodeUint64(b []byte) (uint64, error) {
	if len(b) != 8 {
		return 0, malformed("uint64", b)
	}
	return binary.LittleEndian.Uint64(b), nil
}

// decodeFloat64 reads a little-endian IEEE 754 double.
func decodeFloat64(b []byte) (float64, error) {
	if len(b) != 8 {
		return 0, malformed("float64", b)
	}
	return math.Float64frombits(binary.LittleEndian.Uint64(b)), nil
}

// decodeTimestamp reads nanoseconds since the Unix epoch as a little-endian
// int64 and returns the time in UTC.
func decodeTimestamp(b []byte) (time.Time, error) {
	if len(b) != 8 {
		return time.Time{}, malformed("timestamp", b)
	}
	return time.Unix(0, int64(binary.LittleEndian.Uint64(b))).UTC(), nil
}

// decodeStringMap reads the proxy-wasm map format: a u32 count, a (key
// length, value length) u32 pair per entry, then each key and value followed
// by a NUL byte. An empty value is the empty map.
func decodeStringMap(b []byte) (map[string]string, error) {
	out := map[string]string{}
	if len(b) == 0 {
		return out, nil
	}
	if len(b) < 4 {
		return nil, malformed("map", b)
	}
	n := uint64(binary.LittleEndian.Uint32(b))
	if n*10 > uint64(len(b)-4) {
		return nil, malformed("map", b)
	}
	sizes, data := b[4:4+8*n], b[4+8*n:]
	for i := uint64(0); i < n; i++ {
		kl := uint64(binary.LittleEndian.Uint32(sizes[8*i:]))
		vl := uint64(binary.LittleEndian.Uint32(sizes[8*i+4:]))
		if kl+vl+2 > uint64(len(data)) {
			return nil, malformed("map", b)
		}
		k := string(data[:kl])
		data = data[kl+1:]
		out[k] = string(data[:vl])
		data = data[vl+1:]
	}
	return out, nil
}

// decodeByteSliceSlice reads a u32 count, a u64 length per item, then the
// items, each followed by two separator bytes.
func decodeByteSliceSlice(b []byte) ([][]byte, error) {
	if len(b) == 0 {
		return [][]byte{}, nil
	}
	if len(b) < 4 {
		return nil, malformed("list", b)
	}
	n := uint64(binary.LittleEndian.Uint32(b))
	if n*8 > uint64(len(b)-4) {
		return nil, malformed("list", b)
	}
	lens, data := b[4:4+8*n], b[4+8*n:]
	out := make([][]byte, n)
	for i := range out {
		l := binary.LittleEndian.Uint64(lens[8*i:])
		if l > uint64(len(data)) {
			return nil, malformed("list", b)
		}
		out[i] = data[:l:l]
		data = data[l:]
		// The separator after the last item may be missing.
		if len(data) >= 2 {
			data = data[2:]
		} else if i < len(out)-1 {
			return nil, malformed("list", b)
		} else {
			data = nil
		}
	}
	return out, nil
}

// decodeStringSlice is decodeByteSliceSlice returning strings.
func decodeStringSlice(b []byte) ([]string, error) {
	items, err := decodeByteSliceSlice(b)
	if err != nil {
		return nil, err
	}
	out := make([]string, len(items))
	for i, it := range items {
		out[i] = string(it)
	}
	return out, nil
}

// decodeProtoStringSlice reads repeated protobuf string fields of at most
// 255 bytes: a tag byte, a length byte, the bytes.
func decodeProtoStringSlice(b []byte) ([]string, error) {
	out := []string{}
	for len(b) > 0 {
		if len(b) < 2 || int(b[1]) > len(b)-2 {
			return nil, malformed("string list", b)
		}
		l := int(b[1])
		out = append(out, string(b[2:2+l]))
		b = b[2+l:]
	}
	return out, nil
}
