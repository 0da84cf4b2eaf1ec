package wasmimage

import (
	"errors"
	"fmt"
	"sort"
	"strings"
)

// Extern kinds of imports and exports.
const (
	KindFunc   = "func"
	KindTable  = "table"
	KindMemory = "memory"
	KindGlobal = "global"
	KindTag    = "tag"
)

// Import is one import of a module.
type Import struct {
	Module string `json:"module"`
	Name   string `json:"name"`
	Kind   string `json:"kind"`
}

// Export is one export of a module.
type Export struct {
	Name string `json:"name"`
	Kind string `json:"kind"`
}

// ModuleInfo describes a module without compiling it.
type ModuleInfo struct {
	Size    int      `json:"size"`
	Imports []Import `json:"imports"`
	Exports []Export `json:"exports"`
	// ABIVersions are the proxy-wasm ABI markers the module exports, as
	// "0.2.1" (from proxy_abi_version_0_2_1), sorted.
	ABIVersions []string `json:"abiVersions"`
	// CustomSections are the names of the custom sections.
	CustomSections []string `json:"customSections,omitempty"`
}

// ABIMarkerPrefix starts the name of the exported function that declares
// the proxy-wasm ABI version a module was built for.
const ABIMarkerPrefix = "proxy_abi_version_"

// HasExport reports whether the module exports name.
func (m *ModuleInfo) HasExport(name string) bool {
	for _, e := range m.Exports {
		if e.Name == name {
			return true
		}
	}
	return false
}

// ParseModule reads the import, export and custom sections of a wasm binary.
// It checks the section structure but does not validate code.
func ParseModule(b []byte) (*ModuleInfo, error) {
	if err := checkMagic(b); err != nil {
		return nil, err
	}
	info := &ModuleInfo{Size: len(b), Imports: []Import{}, Exports: []Export{}, ABIVersions: []string{}}
	p := &wasmParser{b: b, off: 8}
	for p.off < len(p.b) {
		id := p.byte()
		size := p.u32()
		if p.err != nil {
			break
		}
		if uint64(p.off)+uint64(size) > uint64(len(p.b)) {
			return nil, fmt.Errorf("section %d at offset %d: size %d runs past the end of the module", id, p.off, size)
		}
		sec := &wasmParser{b: p.b[:p.off+int(size)], off: p.off}
		switch id {
		case 0:
			info.CustomSections = append(info.CustomSections, sec.name())
		case 2:
			n := sec.u32()
			for i := uint32(0); i < n && sec.err == nil; i++ {
				imp := Import{Module: sec.name(), Name: sec.name()}
				switch k := sec.byte(); k {
				case 0:
					imp.Kind = KindFunc
					sec.u32()
				case 1:
					imp.Kind = KindTable
					sec.byte()
					sec.limits()
				case 2:
					imp.Kind = KindMemory
					sec.limits()
				case 3:
					imp.Kind = KindGlobal
					sec.byte()
					sec.byte()
				case 4:
					imp.Kind = KindTag
					sec.byte()
					sec.u32()
				default:
					sec.fail(fmt.Errorf("import %q.%q has unknown kind %d", imp.Module, imp.Name, k))
				}
				if sec.err == nil {
					info.Imports = append(info.Imports, imp)
				}
			}
		case 7:
			n := sec.u32()
			for i := uint32(0); i < n && sec.err == nil; i++ {
				e := Export{Name: sec.name()}
				switch k := sec.byte(); k {
				case 0:
					e.Kind = KindFunc
				case 1:
					e.Kind = KindTable
				case 2:
					e.Kind = KindMemory
				case 3:
					e.Kind = KindGlobal
				case 4:
					e.Kind = KindTag
				default:
					sec.fail(fmt.Errorf("export %q has unknown kind %d", e.Name, k))
				}
				sec.u32()
				if sec.err == nil {
					info.Exports = append(info.Exports, e)
					if v, ok := strings.CutPrefix(e.Name, ABIMarkerPrefix); ok && e.Kind == KindFunc {
						info.ABIVersions = append(info.ABIVersions, strings.ReplaceAll(v, "_", "."))
					}
				}
			}
		}
		if sec.err != nil {
			return nil, fmt.Errorf("section %d: %w", id, sec.err)
		}
		p.off += int(size)
	}
	if p.err != nil {
		return nil, p.err
	}
	sort.Strings(info.ABIVersions)
	return info, nil
}

type wasmParser struct {
	b   []byte
	off int
	err error
}

var errTruncated = errors.New("truncated module")

func (p *wasmParser) fail(err error) {
	if p.err == nil {
		p.err = err
	}
}

func (p *wasmParser) byte() byte {
	if p.err != nil {
		return 0
	}
	if p.off >= len(p.b) {
		p.fail(errTruncated)
		return 0
	}
	c := p.b[p.off]
	p.off++
	return c
}

func (p *wasmParser) uleb(maxBits uint) uint64 {
	var v uint64
	for shift := uint(0); ; shift += 7 {
		if shift >= maxBits+7 {
			p.fail(errors.New("LEB128 integer too long"))
			return 0
		}
		c := p.byte()
		if p.err != nil {
			return 0
		}
		v |= uint64(c&0x7f) << shift
		if c&0x80 == 0 {
			return v
		}
	}
}

func (p *wasmParser) u32() uint32 {
	v := p.uleb(32)
	if v > 1<<32-1 {
		p.fail(errors.New("u32 out of range"))
	}
	return uint32(v)
}

func (p *wasmParser) name() string {
	n := p.u32()
	if p.err != nil {
		return ""
	}
	if uint64(p.off)+uint64(n) > uint64(len(p.b)) {
		p.fail(errTruncated)
		return ""
	}
	s := string(p.b[p.off : p.off+int(n)])
	p.off += int(n)
	return s
}

func (p *wasmParser) limits() {
	flags := p.byte()
	p.uleb(64)
	if flags&1 != 0 {
		p.uleb(64)
	}
}
