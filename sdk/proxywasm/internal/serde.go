package internal

import (
	"encoding/binary"
	"errors"
	"strings"
	"unsafe"
)

// ErrMalformedMap is returned when the host hands over map bytes that do not
// follow the proxy-wasm serialization (see DeserializeMap).
var ErrMalformedMap = errors.New("proxy-wasm: malformed map data from host")

// SerializeMap encodes pairs in the proxy-wasm map format: a little-endian
// u32 count, then a (key length, value length) u32 pair per entry, then each
// key and value followed by a NUL byte.
func SerializeMap(ms [][2]string) []byte {
	size := 4
	for _, m := range ms {
		size += 8 + len(m[0]) + 1 + len(m[1]) + 1
	}
	ret := make([]byte, size)
	binary.LittleEndian.PutUint32(ret, uint32(len(ms)))
	base := 4
	for _, m := range ms {
		binary.LittleEndian.PutUint32(ret[base:], uint32(len(m[0])))
		binary.LittleEndian.PutUint32(ret[base+4:], uint32(len(m[1])))
		base += 8
	}
	for _, m := range ms {
		base += copy(ret[base:], m[0])
		base++ // NUL
		base += copy(ret[base:], m[1])
		base++ // NUL
	}
	return ret
}

// DeserializeMap decodes the proxy-wasm map format. An empty input or a
// single zero byte is the empty map. The returned strings alias bs, which the
// caller must not modify afterwards. Malformed input (short header, sizes
// that overflow the buffer, missing NUL terminators) yields ErrMalformedMap.
func DeserializeMap(bs []byte) ([][2]string, error) {
	if len(bs) == 0 || (len(bs) == 1 && bs[0] == 0) {
		return nil, nil
	}
	if len(bs) < 4 {
		return nil, ErrMalformedMap
	}
	n := binary.LittleEndian.Uint32(bs)
	// Each entry needs at least 8 header bytes and two NULs.
	if uint64(n)*10 > uint64(len(bs)-4) {
		return nil, ErrMalformedMap
	}
	ret := make([][2]string, n)
	sizes := bs[4 : 4+8*int(n)]
	data := bs[4+8*int(n):]
	for i := range ret {
		kl := uint64(binary.LittleEndian.Uint32(sizes[8*i:]))
		vl := uint64(binary.LittleEndian.Uint32(sizes[8*i+4:]))
		if kl+vl+2 > uint64(len(data)) {
			return nil, ErrMalformedMap
		}
		k := data[:kl]
		if data[kl] != 0 {
			return nil, ErrMalformedMap
		}
		data = data[kl+1:]
		v := data[:vl]
		if data[vl] != 0 {
			return nil, ErrMalformedMap
		}
		data = data[vl+1:]
		ret[i] = [2]string{bytesToString(k), bytesToString(v)}
	}
	return ret, nil
}

// SerializePropertyPath joins path segments with NUL bytes, the property
// path encoding of proxy_get_property.
func SerializePropertyPath(path []string) []byte {
	if len(path) == 0 {
		return nil
	}
	return AppendPropertyPath(nil, path)
}

// AppendPropertyPath appends the serialized path to dst.
func AppendPropertyPath(dst []byte, path []string) []byte {
	for i, seg := range path {
		if i > 0 {
			dst = append(dst, 0)
		}
		dst = append(dst, seg...)
	}
	return dst
}

// DeserializePropertyPath splits a NUL-joined property path.
func DeserializePropertyPath(b []byte) []string {
	if len(b) == 0 {
		return nil
	}
	return strings.Split(string(b), "\x00")
}

func bytesToString(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(&b[0], len(b))
}
