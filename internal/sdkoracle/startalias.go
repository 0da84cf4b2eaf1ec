// Package sdkoracle holds the independent oracle for the SDK examples: its
// test runs every example under github.com/tetratelabs/proxy-wasm-go-sdk
// v0.24.0, both natively against that SDK's own host emulator and as the
// .wasm our SDK builds, driven by that SDK's proxytest.NewWasmVMContext.
// See README.md.
package sdkoracle

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
)

// AliasStart returns a copy of the wasm module with one more export, named
// "_start", for the function exported as "_initialize".
//
// proxy-wasm-go-sdk v0.24.0's NewWasmVMContext instantiates modules with
// wazero's default start functions, which call "_start" only: it was written
// for TinyGo commands. Go's -buildmode=c-shared reactors export
// "_initialize" instead, and every later export traps until it has run.
// The alias makes the old wrapper initialize the Go runtime; nothing else in
// the module changes.
func AliasStart(wasm []byte) ([]byte, error) {
	if len(wasm) < 8 || !bytes.Equal(wasm[:4], []byte("\x00asm")) || binary.LittleEndian.Uint32(wasm[4:8]) != 1 {
		return nil, errors.New("not a version 1 binary wasm module")
	}
	pos := 8
	for pos < len(wasm) {
		id := wasm[pos]
		size, n, err := uleb(wasm[pos+1:])
		if err != nil {
			return nil, fmt.Errorf("section at offset %d: %w", pos, err)
		}
		start := pos + 1 + n
		end := start + int(size)
		if end > len(wasm) || end < start {
			return nil, fmt.Errorf("section %d at offset %d overruns the module", id, pos)
		}
		if id != 7 {
			pos = end
			continue
		}
		body, err := addStartExport(wasm[start:end])
		if err != nil {
			return nil, err
		}
		out := make([]byte, 0, len(wasm)+16)
		out = append(out, wasm[:pos]...)
		out = append(out, 7)
		out = appendULEB(out, uint32(len(body)))
		out = append(out, body...)
		return append(out, wasm[end:]...), nil
	}
	return nil, errors.New("module has no export section")
}

// addStartExport rewrites an export section body with the "_start" alias.
func addStartExport(sec []byte) ([]byte, error) {
	count, n, err := uleb(sec)
	if err != nil {
		return nil, err
	}
	p := n
	initIndex := int64(-1)
	for i := uint32(0); i < count; i++ {
		l, n, err := uleb(sec[p:])
		if err != nil {
			return nil, err
		}
		p += n
		if p+int(l)+1 > len(sec) {
			return nil, fmt.Errorf("export %d overruns the section", i)
		}
		name := string(sec[p : p+int(l)])
		p += int(l)
		kind := sec[p]
		p++
		idx, n, err := uleb(sec[p:])
		if err != nil {
			return nil, err
		}
		p += n
		if name == "_start" {
			return nil, errors.New("module already exports _start")
		}
		if name == "_initialize" && kind == 0 {
			initIndex = int64(idx)
		}
	}
	if p != len(sec) {
		return nil, fmt.Errorf("export section has %d trailing bytes", len(sec)-p)
	}
	if initIndex < 0 {
		return nil, errors.New("module does not export the function _initialize")
	}
	out := appendULEB(nil, count+1)
	out = append(out, sec[n0(sec):]...)
	out = appendULEB(out, uint32(len("_start")))
	out = append(out, "_start"...)
	out = append(out, 0)
	return appendULEB(out, uint32(initIndex)), nil
}

// n0 is the length of the export count at the start of an export section.
func n0(sec []byte) int {
	_, n, _ := uleb(sec)
	return n
}

// uleb decodes an unsigned LEB128 u32 and returns it with its length.
func uleb(b []byte) (uint32, int, error) {
	var v uint32
	for i := 0; i < 5; i++ {
		if i >= len(b) {
			return 0, 0, errors.New("truncated LEB128")
		}
		c := b[i]
		if i == 4 && c > 0x0f {
			return 0, 0, errors.New("LEB128 overflows u32")
		}
		v |= uint32(c&0x7f) << (7 * i)
		if c&0x80 == 0 {
			return v, i + 1, nil
		}
	}
	return 0, 0, errors.New("LEB128 longer than 5 bytes")
}

func appendULEB(b []byte, v uint32) []byte {
	for {
		c := byte(v & 0x7f)
		v >>= 7
		if v != 0 {
			b = append(b, c|0x80)
			continue
		}
		return append(b, c)
	}
}
