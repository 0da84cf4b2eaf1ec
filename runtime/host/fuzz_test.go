package host

import (
	"bytes"
	"context"
	"encoding/binary"
	"io"
	"log/slog"
	"slices"
	"sync"
	"testing"

	"github.com/tetratelabs/wazero/api"
)

// This file fuzzes the host side of the ABI from a guest: a tiny module,
// assembled here, exports call_<name> for every env host function (same
// signature, it just forwards its arguments), and an allocator that
// returns whatever the fuzzer stored at address 0. The fuzzer picks the
// function, the context (root or an HTTP stream), the arguments (random
// pointers and sizes), the allocator's answer and the bytes in guest memory
// (maps, property paths, buffers). A host function must answer with a
// status; a Go panic or trap in the host would kill the instance, which
// the fuzz target reports as a failure.

// wasmModule assembles the fuzz guest.
func fuzzGuest() []byte {
	type sig struct{ params, results string }
	var types []sig
	typeIdx := func(s sig) int {
		if i := slices.Index(types, s); i >= 0 {
			return i
		}
		types = append(types, s)
		return len(types) - 1
	}
	const i32, i64 = 0x7f, 0x7e
	sigOf := func(e envFunc) sig {
		var p, r []byte
		for i := range e.params {
			if i == e.i64At {
				p = append(p, i64)
			} else {
				p = append(p, i32)
			}
		}
		if e.results == 1 {
			r = []byte{i32}
		}
		return sig{string(p), string(r)}
	}
	uleb := func(b []byte, v uint32) []byte {
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
	name := func(b []byte, s string) []byte { return append(uleb(b, uint32(len(s))), s...) }
	section := func(out []byte, id byte, body []byte) []byte {
		out = append(out, id)
		out = uleb(out, uint32(len(body)))
		return append(out, body...)
	}

	var imports, funcs, exports, code []byte
	n := uint32(len(envFuncs))
	imports = uleb(imports, n)
	for _, e := range envFuncs {
		imports = name(imports, "env")
		imports = name(imports, e.name)
		imports = append(imports, 0x00)
		imports = uleb(imports, uint32(typeIdx(sigOf(e))))
	}
	// Defined functions: allocator, ABI marker, then one wrapper per import.
	allocT := typeIdx(sig{string([]byte{i32}), string([]byte{i32})})
	voidT := typeIdx(sig{})
	funcs = uleb(funcs, n+2)
	funcs = uleb(funcs, uint32(allocT))
	funcs = uleb(funcs, uint32(voidT))
	for _, e := range envFuncs {
		funcs = uleb(funcs, uint32(typeIdx(sigOf(e))))
	}
	exports = uleb(exports, n+3)
	exports = name(exports, "memory")
	exports = append(exports, 0x02, 0x00)
	exports = name(exports, "proxy_on_memory_allocate")
	exports = append(exports, 0x00)
	exports = uleb(exports, n)
	exports = name(exports, "proxy_abi_version_0_2_1")
	exports = append(exports, 0x00)
	exports = uleb(exports, n+1)
	for i, e := range envFuncs {
		exports = name(exports, "call_"+e.name)
		exports = append(exports, 0x00)
		exports = uleb(exports, n+2+uint32(i))
	}
	body := func(b []byte, ins []byte) []byte {
		f := append([]byte{0x00}, ins...) // no locals
		f = append(f, 0x0b)
		return append(uleb(b, uint32(len(f))), f...)
	}
	code = uleb(code, n+2)
	code = body(code, []byte{0x41, 0x00, 0x28, 0x02, 0x00}) // i32.load (i32.const 0)
	code = body(code, nil)
	for i, e := range envFuncs {
		var ins []byte
		for j := range e.params {
			ins = append(ins, 0x20)
			ins = uleb(ins, uint32(j))
		}
		ins = append(ins, 0x10)
		ins = uleb(ins, uint32(i))
		code = body(code, ins)
	}
	var typesSec []byte
	typesSec = uleb(typesSec, uint32(len(types)))
	for _, t := range types {
		typesSec = append(typesSec, 0x60)
		typesSec = name(typesSec, t.params)
		typesSec = name(typesSec, t.results)
	}
	mem := []byte{0x01, 0x01, 0x02, 0x02} // one memory, min 2 max 2 pages

	out := []byte("\x00asm\x01\x00\x00\x00")
	out = section(out, 1, typesSec)
	out = section(out, 2, imports)
	out = section(out, 3, funcs)
	out = section(out, 5, mem)
	out = section(out, 7, exports)
	out = section(out, 10, code)
	return out
}

var fuzzEnv struct {
	once sync.Once
	rt   *Runtime
	p    *Plugin
	err  error
}

// fuzzPlugin starts the fuzz guest once per process.
func fuzzPlugin(tb testing.TB) *Plugin {
	tb.Helper()
	e := &fuzzEnv
	e.once.Do(func() {
		ctx := context.Background()
		e.rt, e.err = NewRuntime(ctx, Config{Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Clusters: StaticClusters{"c": "http://127.0.0.1:1"}})
		if e.err != nil {
			return
		}
		var m *Module
		if m, e.err = e.rt.Compile(ctx, fuzzGuest()); e.err != nil {
			return
		}
		e.p, e.err = e.rt.NewPlugin(ctx, m, PluginConfig{Name: "fuzz", RootID: "fuzz", VMID: "fuzz", PoolSize: 1,
			PluginConfig: []byte("cfg"), Properties: map[string]any{"node": map[string]any{"id": "n1", "meta": map[string]string{"k": "v"}}}})
	})
	if e.err != nil {
		tb.Fatal(e.err)
	}
	return e.p
}

const (
	fuzzData  = 1024 // where the fuzzer's bytes go in guest memory
	fuzzData2 = 4096 // a second copy
	fuzzAlloc = 8192 // a valid allocation address
)

func fuzzSeeds(f *testing.F) {
	pairs := EncodePairs(Pairs{{":path", "/x"}, {"k", "v"}})
	path := []byte("request\x00path")
	for i := range envFuncs {
		w := uint16(i)
		for _, mem := range [][]byte{pairs, path, []byte("x-key"), nil} {
			L := uint32(len(mem))
			for _, a := range [][]uint32{
				{0, fuzzData, L, 16, 20, 24, 28, 32, 36, 40, 44, 48},
				{fuzzData, L, 16, 20, 24, 28, 32, 36, 40, 44, 48, 52},
				{fuzzData, L, fuzzData2, L, 16, 20, 24, 28, 32, 36, 40, 44},
				{0, fuzzData, L, fuzzData2, L, 16, 20, 24, 28, 32, 36, 40},
				{0, 0, 1 << 20, 16, 20, 0, 0, 0, 0, 0, 0, 0},
			} {
				argb := make([]byte, 4*len(a))
				for j, v := range a {
					binary.LittleEndian.PutUint32(argb[4*j:], v)
				}
				f.Add(w, i%2 == 0, uint32(fuzzAlloc), argb, mem)
			}
		}
		f.Add(w, true, uint32(0), bytes.Repeat([]byte{0xff}, 48), []byte{0xff, 0xff, 0xff, 0x7f})
		f.Add(w, false, uint32(0xfffffff0), bytes.Repeat([]byte{0x10, 0, 0, 0}, 12), pairs)
	}
}

// FuzzHostFunctions calls every host function from a guest with fuzzed
// pointers, sizes, allocator results and memory contents. None may panic
// or trap: the instance must stay alive.
func FuzzHostFunctions(f *testing.F) {
	fuzzSeeds(f)
	f.Fuzz(func(t *testing.T, which uint16, onStream bool, allocRet uint32, argb, mem []byte) {
		p := fuzzPlugin(t)
		e := envFuncs[int(which)%len(envFuncs)]
		if e.name == "proxy_set_tick_period_milliseconds" || e.name == "proxy_done" {
			// Ticks would keep a goroutine calling the guest; proxy_done only
			// matters while closing. Both take no pointers.
			return
		}
		var a [12]uint64
		for i := range a {
			if len(argb) >= 4*(i+1) {
				a[i] = uint64(binary.LittleEndian.Uint32(argb[4*i:]))
			}
		}
		if len(mem) > 3000 {
			mem = mem[:3000]
		}
		fuzzCall(t, p, e, onStream, allocRet, a[:e.params], mem, nil)
	})
}

// fuzzCall calls e through the guest's call_<name> export on the root
// context or a new HTTP stream, after storing allocRet at address 0 and mem
// at fuzzData and fuzzData2. check, if set, runs under the instance lock
// with the status and the guest memory. A dead instance fails the test.
func fuzzCall(t *testing.T, p *Plugin, e envFunc, onStream bool, allocRet uint32, a []uint64, mem []byte, check func(Status, api.Memory)) {
	t.Helper()
	in := p.slots[0]
	if in == nil || in.dead.Load() {
		t.Fatalf("fuzz instance dead before the call: %v", in.deadErr())
	}
	var s *HTTPStream
	if onStream {
		var err error
		if s, err = p.NewHTTPStream(nil); err != nil {
			t.Fatal(err)
		}
		defer s.Done()
		s.OnRequestHeaders(Pairs{{":path", "/fuzz"}, {":method", "GET"}, {":authority", "h"}, {"x-key", "v"}}, false)
		s.OnRequestBody([]byte("body bytes"), true)
	}
	in.mu.Lock()
	defer in.mu.Unlock()
	m := in.mem
	m.WriteUint32Le(0, allocRet)
	m.Write(fuzzData, mem)
	m.Write(fuzzData2, mem)
	fe := in.mod.ExportedFunction("call_" + e.name)
	if fe == nil {
		t.Fatalf("guest lacks call_%s", e.name)
	}
	f := &fn{f: fe, arity: e.params, results: len(fe.Definition().ResultTypes()), stack: make([]uint64, max(e.params, 1))}
	rec := in.root
	if s != nil {
		rec = s.rec
	}
	st, err := in.call(f, rec, a...)
	if err != nil {
		t.Fatalf("%s%v killed the instance: %v", e.name, a, err)
	}
	if check != nil {
		check(Status(st), m)
	}
}

func envFuncNamed(t *testing.T, name string) envFunc {
	t.Helper()
	for _, e := range envFuncs {
		if e.name == name {
			return e
		}
	}
	t.Fatalf("no host function %s", name)
	return envFunc{}
}

// TestFuzzGuestReachesHost shows the fuzz harness really drives host
// functions: valid arguments get OK and the expected bytes in guest memory,
// bad pointers get INVALID_MEMORY_ACCESS, and the instance survives both.
func TestFuzzGuestReachesHost(t *testing.T) {
	p := fuzzPlugin(t)
	read := func(m api.Memory) string {
		ptr, _ := m.ReadUint32Le(16)
		n, _ := m.ReadUint32Le(20)
		b, _ := m.Read(ptr, n)
		return string(b)
	}
	tests := []struct {
		fn       string
		stream   bool
		args     []uint64
		mem      string
		want     Status
		wantData string
	}{
		{"proxy_get_property", false, []uint64{fuzzData, 11, 16, 20}, "plugin_name", StatusOK, "fuzz"},
		{"proxy_get_property", false, []uint64{fuzzData, 7, 16, 20}, "node\x00id", StatusOK, "n1"},
		{"proxy_get_header_map_value", true, []uint64{0, fuzzData, 5, 16, 20}, "x-key", StatusOK, "v"},
		{"proxy_get_header_map_value", true, []uint64{0, fuzzData, 5, 0xfffffff0, 20}, "x-key", StatusInvalidMemoryAccess, ""},
		{"proxy_get_header_map_value", true, []uint64{0, 0xffffff00, 500, 16, 20}, "", StatusInvalidMemoryAccess, ""},
		{"proxy_get_buffer_bytes", true, []uint64{0, 0, 4, 16, 20}, "", StatusOK, "body"},
	}
	for _, tc := range tests {
		t.Run(tc.fn, func(t *testing.T) {
			mem := []byte(tc.mem)
			fuzzCall(t, p, envFuncNamed(t, tc.fn), tc.stream, fuzzAlloc, tc.args, mem, func(st Status, m api.Memory) {
				if st != tc.want {
					t.Errorf("status %v, want %v", st, tc.want)
				}
				if tc.wantData != "" {
					if got := read(m); got != tc.wantData {
						t.Errorf("returned %q, want %q", got, tc.wantData)
					}
				}
			})
		})
	}
}

// FuzzDecodePairs checks the map deserializer: it never panics, and what it
// accepts re-encodes to an equal map.
func FuzzDecodePairs(f *testing.F) {
	f.Add([]byte{})
	f.Add([]byte{0})
	f.Add(EncodePairs(Pairs{{"a", "b"}, {":path", "/"}}))
	f.Add(EncodePairs(Pairs{{"", ""}}))
	f.Add([]byte{0xff, 0xff, 0xff, 0xff, 1, 0, 0, 0})
	f.Add([]byte{1, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := DecodePairs(b)
		if err != nil {
			return
		}
		q, err := DecodePairs(EncodePairs(p))
		if err != nil || !slices.Equal(p, q) {
			t.Fatalf("round trip of %q: %q, %v", p, q, err)
		}
	})
}
