package main

import "encoding/binary"

// deserializePairs decodes the proxy-wasm map encoding (a u32 count, then
// u32 key and value sizes per pair, then each key and value NUL-terminated),
// which hosts use for map-valued properties such as node metadata LABELS.
func deserializePairs(b []byte) (map[string]any, bool) {
	if len(b) < 4 {
		return nil, false
	}
	n := int(binary.LittleEndian.Uint32(b))
	if n < 0 || n > len(b)/8 {
		return nil, false
	}
	sizes := b[4:]
	if len(sizes) < 8*n {
		return nil, false
	}
	data := sizes[8*n:]
	out := make(map[string]any, n)
	for i := range n {
		kl := int(binary.LittleEndian.Uint32(sizes[8*i:]))
		vl := int(binary.LittleEndian.Uint32(sizes[8*i+4:]))
		if kl < 0 || vl < 0 || len(data) < kl+1+vl+1 {
			return nil, false
		}
		k := string(data[:kl])
		data = data[kl+1:]
		out[k] = string(data[:vl])
		data = data[vl+1:]
	}
	return out, true
}
