package host

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
)

// The per-callback deadline without a goroutine per guest call.
//
// wazero stops a runaway guest only when the module is compiled with
// RuntimeConfig.WithCloseOnContextDone, and then every call into the guest
// (each proxy-wasm callback and each allocator call a host function makes)
// starts a goroutine that watches the call's context (wazero v1.12,
// callEngine.callWithStack → CloseModuleOnCanceledOrTimeout). On a proxy's
// request path that is about seven goroutines per filter per request.
//
// Instead, Compile rewrites the module: every loop iteration decrements an
// injected counter global, and when it reaches zero (every
// deadlineInterval iterations) resets it, executes memory.grow 0 — a no-op
// that leaves native code for Go, so the goroutine can be preempted (the
// garbage collector's stop-the-world must not wait on a spinning guest,
// which is why wazero's own check also leaves native code) — and traps
// (unreachable) if the exported deadline flag, deadlineGlobal, is set:
//
//	loop ...
//	  global.get $ctr  i32.eqz
//	  if
//	    i32.const N  global.set $ctr
//	    i32.const 0  memory.grow  drop
//	    global.get $deadline  if  unreachable  end
//	  end
//	  global.get $ctr  i32.const 1  i32.sub  global.set $ctr
//	  ...original body...
//
// The runtime's watchdog raises the flag, besides cancelling the
// instance's context, when a callback overruns CallbackTimeout; the guest
// traps within deadlineInterval iterations and the instance is marked dead
// as before. Code without a loop cannot run long: recursion ends in a stack
// overflow trap.
//
// Modules this rewriter cannot decode (an instruction it does not know) are
// compiled as they are, in a second wazero runtime with
// WithCloseOnContextDone: they keep the deadline, with the goroutine cost.

// deadlineGlobal is the export name of the injected stop flag.
const deadlineGlobal = "wasmctl_deadline_exceeded"

// deadlineInterval is how many loop iterations run between two exits to Go.
const deadlineInterval = 1 << 14

var errUninstrumentable = errors.New("module not instrumentable")

type wreader struct {
	b   []byte
	pos int
	err error
}

func (r *wreader) fail(format string, a ...any) {
	if r.err == nil {
		r.err = fmt.Errorf("%w: "+format, append([]any{errUninstrumentable}, a...)...)
	}
}

func (r *wreader) byte() byte {
	if r.err != nil {
		return 0
	}
	if r.pos >= len(r.b) {
		r.fail("unexpected end at %d", r.pos)
		return 0
	}
	c := r.b[r.pos]
	r.pos++
	return c
}

// leb reads an unsigned or signed LEB128 number of at most 10 bytes and
// returns its unsigned value (enough to skip immediates and read counts).
func (r *wreader) leb() uint64 {
	var v uint64
	for i := 0; i < 10; i++ {
		c := r.byte()
		if r.err != nil {
			return 0
		}
		v |= uint64(c&0x7f) << (7 * i)
		if c&0x80 == 0 {
			return v
		}
	}
	r.fail("LEB128 too long at %d", r.pos)
	return 0
}

func (r *wreader) u32() uint32 {
	v := r.leb()
	if v > 0xffffffff {
		r.fail("u32 out of range at %d", r.pos)
	}
	return uint32(v)
}

func (r *wreader) skip(n int) {
	if r.err != nil {
		return
	}
	if n < 0 || r.pos+n > len(r.b) {
		r.fail("unexpected end at %d", r.pos)
		return
	}
	r.pos += n
}

func appendLEB(b []byte, v uint64) []byte {
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

// section ranks in their required order (custom sections excluded).
var sectionRank = map[byte]int{1: 1, 2: 2, 3: 3, 4: 4, 5: 5, 13: 6, 6: 7, 7: 8, 8: 9, 9: 10, 12: 11, 10: 12, 11: 13}

// instrumentDeadline returns wasm with the deadline check at the top of
// every loop and the exported deadlineGlobal. It returns an error wrapping
// errUninstrumentable when it cannot decode the module.
func instrumentDeadline(wasm []byte) ([]byte, error) {
	if len(wasm) < 8 || !bytes.Equal(wasm[:4], []byte("\x00asm")) || !bytes.Equal(wasm[4:8], []byte{1, 0, 0, 0}) {
		return nil, fmt.Errorf("%w: not a wasm 1.0 binary", errUninstrumentable)
	}
	type section struct {
		id   byte
		body []byte
	}
	var secs []section
	r := &wreader{b: wasm, pos: 8}
	for r.pos < len(wasm) && r.err == nil {
		id := r.byte()
		n := int(r.u32())
		start := r.pos
		r.skip(n)
		if r.err != nil {
			break
		}
		secs = append(secs, section{id, wasm[start:r.pos]})
	}
	if r.err != nil {
		return nil, r.err
	}

	// Global index of the new global: imported + defined globals.
	var importedGlobals, definedGlobals uint64
	memories := 0
	for _, s := range secs {
		switch s.id {
		case 2:
			n, mems, err := countImportedGlobals(s.body)
			if err != nil {
				return nil, err
			}
			importedGlobals = n
			memories += mems
		case 5:
			mr := &wreader{b: s.body}
			n := mr.leb()
			for i := uint64(0); i < n && mr.err == nil; i++ {
				flags := mr.byte()
				if flags&4 != 0 {
					mr.fail("64-bit memory")
				}
				mr.leb()
				if flags&1 != 0 {
					mr.leb()
				}
			}
			if mr.err != nil {
				return nil, mr.err
			}
			memories += int(n)
		case 6:
			gr := &wreader{b: s.body}
			definedGlobals = gr.leb()
			if gr.err != nil {
				return nil, gr.err
			}
		case 7:
			if bytes.Contains(s.body, []byte(deadlineGlobal)) {
				return nil, fmt.Errorf("%w: the module already exports %s", errUninstrumentable, deadlineGlobal)
			}
		}
	}
	if memories == 0 {
		return nil, fmt.Errorf("%w: no memory", errUninstrumentable)
	}
	gidx := importedGlobals + definedGlobals // the flag; the counter is gidx+1
	ctr := gidx + 1
	check := appendLEB([]byte{0x23}, ctr) // global.get $ctr
	check = append(check, 0x45, 0x04, 0x40, 0x41)
	check = appendLEB(check, deadlineInterval)          // i32.eqz if i32.const N
	check = appendLEB(append(check, 0x24), ctr)         // global.set $ctr
	check = append(check, 0x41, 0x00, 0x40, 0x00, 0x1a) // i32.const 0 memory.grow 0 drop
	check = appendLEB(append(check, 0x23), gidx)        // global.get $deadline
	check = append(check, 0x04, 0x40, 0x00, 0x0b, 0x0b) // if unreachable end end
	check = appendLEB(append(check, 0x23), ctr)         // global.get $ctr
	check = append(check, 0x41, 0x01, 0x6b, 0x24)       // i32.const 1 i32.sub global.set
	check = appendLEB(check, ctr)

	out := make([]byte, 0, len(wasm)+len(wasm)/16+64)
	out = append(out, wasm[:8]...)
	emit := func(id byte, body []byte) {
		out = append(out, id)
		out = appendLEB(out, uint64(len(body)))
		out = append(out, body...)
	}
	newGlobal := []byte{0x7f, 0x01, 0x41, 0x00, 0x0b}           // flag: mut i32 = 0
	newGlobal = append(newGlobal, 0x7f, 0x01, 0x41, 0x00, 0x0b) // counter: mut i32 = 0
	newExport := appendLEB(nil, uint64(len(deadlineGlobal)))
	newExport = append(newExport, deadlineGlobal...)
	newExport = append(newExport, 0x03)
	newExport = appendLEB(newExport, gidx)
	globalDone, exportDone := false, false
	addGlobal := func(body []byte) {
		var b []byte
		if body == nil {
			b = appendLEB(nil, 2)
		} else {
			gr := &wreader{b: body}
			n := gr.leb()
			b = appendLEB(nil, n+2)
			b = append(b, body[gr.pos:]...)
		}
		emit(6, append(b, newGlobal...))
		globalDone = true
	}
	addExport := func(body []byte) {
		var b []byte
		if body == nil {
			b = appendLEB(nil, 1)
		} else {
			er := &wreader{b: body}
			n := er.leb()
			b = appendLEB(nil, n+1)
			b = append(b, body[er.pos:]...)
		}
		emit(7, append(b, newExport...))
		exportDone = true
	}
	for _, s := range secs {
		if s.id == 0 {
			// Custom sections: debug info and code metadata carry code
			// offsets the rewrite moves; drop them, keep the rest (names).
			cr := &wreader{b: s.body}
			n := int(cr.u32())
			cr.skip(n)
			if cr.err == nil {
				name := string(s.body[cr.pos-n : cr.pos])
				if strings.HasPrefix(name, ".debug") || strings.HasPrefix(name, "metadata.code.") {
					continue
				}
			}
			emit(0, s.body)
			continue
		}
		rank, ok := sectionRank[s.id]
		if !ok {
			return nil, fmt.Errorf("%w: unknown section %d", errUninstrumentable, s.id)
		}
		if !globalDone && rank > sectionRank[6] {
			addGlobal(nil)
		}
		if !exportDone && rank > sectionRank[7] {
			addExport(nil)
		}
		switch s.id {
		case 6:
			addGlobal(s.body)
		case 7:
			addExport(s.body)
		case 10:
			code, err := instrumentCode(s.body, check)
			if err != nil {
				return nil, err
			}
			emit(10, code)
		default:
			emit(s.id, s.body)
		}
	}
	if !globalDone {
		addGlobal(nil)
	}
	if !exportDone {
		addExport(nil)
	}
	return out, nil
}

func countImportedGlobals(body []byte) (globals uint64, memories int, err error) {
	r := &wreader{b: body}
	n := r.leb()
	for i := uint64(0); i < n && r.err == nil; i++ {
		r.skip(int(r.u32())) // module
		r.skip(int(r.u32())) // name
		switch kind := r.byte(); kind {
		case 0: // func
			r.u32()
		case 1: // table: reftype, limits
			r.byte()
			skipLimits(r)
		case 2: // memory
			if r.pos < len(r.b) && r.b[r.pos]&4 != 0 {
				r.fail("64-bit memory")
			}
			skipLimits(r)
			memories++
		case 3: // global: valtype, mut
			r.byte()
			r.byte()
			globals++
		case 4: // tag: attribute, type
			r.byte()
			r.u32()
		default:
			r.fail("unknown import kind %d", kind)
		}
	}
	return globals, memories, r.err
}

func skipLimits(r *wreader) {
	flags := r.byte()
	r.leb()
	if flags&1 != 0 {
		r.leb()
	}
}

func instrumentCode(body []byte, check []byte) ([]byte, error) {
	r := &wreader{b: body}
	n := r.leb()
	out := appendLEB(make([]byte, 0, len(body)+len(body)/16), n)
	var fn []byte
	for i := uint64(0); i < n && r.err == nil; i++ {
		size := int(r.u32())
		start := r.pos
		r.skip(size)
		if r.err != nil {
			break
		}
		var err error
		fn, err = instrumentFunc(fn[:0], body[start:r.pos], check)
		if err != nil {
			return nil, fmt.Errorf("function body %d: %w", i, err)
		}
		out = appendLEB(out, uint64(len(fn)))
		out = append(out, fn...)
	}
	if r.err == nil && r.pos != len(body) {
		r.fail("trailing bytes in the code section")
	}
	return out, r.err
}

func instrumentFunc(out, body []byte, check []byte) ([]byte, error) {
	r := &wreader{b: body}
	nl := r.leb()
	for i := uint64(0); i < nl && r.err == nil; i++ {
		r.u32()
		skipValType(r)
	}
	if r.err != nil {
		return nil, r.err
	}
	out = append(out, body[:r.pos]...)
	copied := r.pos
	for r.pos < len(body) && r.err == nil {
		op := r.byte()
		switch {
		case op == 0x03: // loop blocktype
			skipBlockType(r)
			if r.err != nil {
				break
			}
			out = append(out, body[copied:r.pos]...)
			out = append(out, check...)
			copied = r.pos
		default:
			skipImmediates(r, op)
		}
	}
	if r.err != nil {
		return nil, r.err
	}
	return append(out, body[copied:]...), nil
}

func skipValType(r *wreader) {
	switch t := r.byte(); t {
	case 0x7f, 0x7e, 0x7d, 0x7c, 0x7b, 0x70, 0x6f:
	default:
		r.fail("unsupported value type 0x%x", t)
	}
}

func skipBlockType(r *wreader) {
	if r.pos < len(r.b) {
		switch r.b[r.pos] {
		case 0x40, 0x7f, 0x7e, 0x7d, 0x7c, 0x7b, 0x70, 0x6f:
			r.pos++
			return
		}
	}
	r.leb() // s33 type index
}

func skipMemArg(r *wreader) {
	align := r.u32()
	if align&0x40 != 0 { // multi-memory: memory index follows
		r.u32()
	}
	r.leb() // offset (u32 or u64)
}

// skipImmediates skips the immediates of the instruction op (already read).
func skipImmediates(r *wreader, op byte) {
	switch {
	case op == 0x00, op == 0x01, op == 0x05, op == 0x0b, op == 0x0f, op == 0x0a, op == 0x19,
		op == 0x1a, op == 0x1b, op >= 0x45 && op <= 0xc4, op == 0xd1, op == 0xd3, op == 0xd4:
	case op == 0x02, op == 0x04, op == 0x06: // block, if, try
		skipBlockType(r)
	case op == 0x07, op == 0x08, op == 0x09, op == 0x0c, op == 0x0d, op == 0x10, op == 0x12,
		op == 0x14, op == 0x15, op == 0x18, op >= 0x20 && op <= 0x26, op == 0x3f, op == 0x40,
		op == 0xd2, op == 0xd5, op == 0xd6:
		r.u32()
	case op == 0x0e: // br_table
		n := r.u32()
		for i := uint32(0); i <= n && r.err == nil; i++ {
			r.u32()
		}
	case op == 0x11, op == 0x13: // call_indirect, return_call_indirect
		r.u32()
		r.u32()
	case op == 0x1c: // select t*
		n := r.u32()
		for i := uint32(0); i < n && r.err == nil; i++ {
			skipValType(r)
		}
	case op == 0x1f: // try_table
		skipBlockType(r)
		n := r.u32()
		for i := uint32(0); i < n && r.err == nil; i++ {
			switch k := r.byte(); k {
			case 0, 1:
				r.u32()
				r.u32()
			case 2, 3:
				r.u32()
			default:
				r.fail("unknown catch kind %d", k)
			}
		}
	case op >= 0x28 && op <= 0x3e:
		skipMemArg(r)
	case op == 0x41, op == 0x42, op == 0xd0: // i32/i64.const, ref.null heaptype
		r.leb()
	case op == 0x43:
		r.skip(4)
	case op == 0x44:
		r.skip(8)
	case op == 0xfc:
		switch sub := r.u32(); {
		case sub <= 7:
		case sub == 8, sub == 10, sub == 12, sub == 14:
			r.u32()
			r.u32()
		case sub == 9, sub == 11, sub == 13, sub >= 15 && sub <= 17:
			r.u32()
		default:
			r.fail("unknown 0xfc %d", sub)
		}
	case op == 0xfd:
		switch sub := r.u32(); {
		case sub <= 11, sub == 92, sub == 93:
			skipMemArg(r)
		case sub == 12, sub == 13:
			r.skip(16)
		case sub >= 21 && sub <= 34:
			r.skip(1)
		case sub >= 84 && sub <= 91:
			skipMemArg(r)
			r.skip(1)
		case sub <= 0x113:
		default:
			r.fail("unknown 0xfd %d", sub)
		}
	case op == 0xfe:
		switch sub := r.u32(); {
		case sub == 3:
			r.skip(1)
		case sub <= 2, sub >= 0x10 && sub <= 0x4e:
			skipMemArg(r)
		default:
			r.fail("unknown 0xfe %d", sub)
		}
	default:
		r.fail("unknown opcode 0x%x at %d", op, r.pos-1)
	}
}
