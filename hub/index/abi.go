package index

import (
	"errors"
	"fmt"
	"sort"
	"strings"
)

// abiPrefix is the export-name prefix by which a proxy-wasm module declares
// the ABI versions it speaks (for example "proxy_abi_version_0_2_1").
const abiPrefix = "proxy_abi_version_"

// ErrNotWasm is returned by ABIVersions for input that does not start with
// the WebAssembly magic number and version 1.
var ErrNotWasm = errors.New("not a WebAssembly binary module (bad magic or version)")

// ABIVersions reads the export section of a WebAssembly binary module and
// returns the proxy-wasm ABI versions it declares, as dotted versions
// ("0.2.1"), sorted and without duplicates. It reads only section headers and
// the export section, so it is cheap on large modules, and it never panics on
// malformed input: it returns an error naming the offset instead.
func ABIVersions(module []byte) ([]string, error) {
	if len(module) < 8 || string(module[:4]) != "\x00asm" || module[4] != 1 || module[5] != 0 || module[6] != 0 || module[7] != 0 {
		return nil, ErrNotWasm
	}
	r := &wasmReader{b: module, off: 8}
	seen := map[string]bool{}
	for r.off < len(r.b) {
		id, err := r.byte()
		if err != nil {
			return nil, err
		}
		size, err := r.u32()
		if err != nil {
			return nil, err
		}
		end := r.off + int(size)
		if int(size) < 0 || end > len(r.b) || end < r.off {
			return nil, fmt.Errorf("wasm section %d at offset %d: size %d runs past the end of the module", id, r.off, size)
		}
		if id != 7 { // not the export section
			r.off = end
			continue
		}
		sec := &wasmReader{b: r.b[:end], off: r.off}
		n, err := sec.u32()
		if err != nil {
			return nil, err
		}
		for i := uint32(0); i < n; i++ {
			name, err := sec.name()
			if err != nil {
				return nil, err
			}
			if _, err := sec.byte(); err != nil { // export kind
				return nil, err
			}
			if _, err := sec.u32(); err != nil { // index
				return nil, err
			}
			if v, ok := strings.CutPrefix(name, abiPrefix); ok && v != "" {
				seen[strings.ReplaceAll(v, "_", ".")] = true
			}
		}
		r.off = end
	}
	out := make([]string, 0, len(seen))
	for v := range seen {
		out = append(out, v)
	}
	sort.Strings(out)
	return out, nil
}

type wasmReader struct {
	b   []byte
	off int
}

func (r *wasmReader) byte() (byte, error) {
	if r.off >= len(r.b) {
		return 0, fmt.Errorf("wasm: unexpected end of data at offset %d", r.off)
	}
	c := r.b[r.off]
	r.off++
	return c, nil
}

// u32 reads an unsigned LEB128 value of at most 5 bytes.
func (r *wasmReader) u32() (uint32, error) {
	var v uint32
	for shift := 0; shift < 35; shift += 7 {
		c, err := r.byte()
		if err != nil {
			return 0, err
		}
		v |= uint32(c&0x7f) << shift
		if c&0x80 == 0 {
			return v, nil
		}
	}
	return 0, fmt.Errorf("wasm: LEB128 value too long at offset %d", r.off)
}

func (r *wasmReader) name() (string, error) {
	n, err := r.u32()
	if err != nil {
		return "", err
	}
	if int(n) < 0 || r.off+int(n) > len(r.b) || r.off+int(n) < r.off {
		return "", fmt.Errorf("wasm: name of %d bytes at offset %d runs past the section", n, r.off)
	}
	s := string(r.b[r.off : r.off+int(n)])
	r.off += int(n)
	return s, nil
}
