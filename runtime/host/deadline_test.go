package host

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"

	"github.com/wasmctl/wasmctl/internal/sharedtest"
	"github.com/wasmctl/wasmctl/sdk/wasmbuild"
)

// spinWasm is (module (memory 1) (func (export "spin") (loop (br 0)))).
var spinWasm = []byte{
	0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
	0x01, 0x04, 0x01, 0x60, 0x00, 0x00, // type () -> ()
	0x03, 0x02, 0x01, 0x00, // func 0: type 0
	0x05, 0x03, 0x01, 0x00, 0x01, // memory min 1
	0x07, 0x08, 0x01, 0x04, 's', 'p', 'i', 'n', 0x00, 0x00, // export "spin"
	0x0a, 0x09, 0x01, 0x07, 0x00, 0x03, 0x40, 0x0c, 0x00, 0x0b, 0x0b, // loop br 0 end
}

// TestDeadlineStopsASpinningGuestWhileTheGCRuns runs an endless loop in a
// module compiled without wazero's context watching, with the garbage
// collector running concurrently (a spinning native loop that never left
// native code would block its stop-the-world forever), and raises the
// deadline flag: the call must trap.
func TestDeadlineStopsASpinningGuestWhileTheGCRuns(t *testing.T) {
	ctx := t.Context()
	inst, err := instrumentDeadline(spinWasm)
	if err != nil {
		t.Fatal(err)
	}
	wz := wazero.NewRuntime(ctx)
	defer wz.Close(ctx)
	mod, err := wz.Instantiate(ctx, inst)
	if err != nil {
		t.Fatal(err)
	}
	flag, ok := mod.ExportedGlobal(deadlineGlobal).(api.MutableGlobal)
	if !ok {
		t.Fatalf("no mutable %s export", deadlineGlobal)
	}
	var stop atomic.Bool
	go func() {
		for !stop.Load() {
			runtime.GC()
		}
	}()
	defer stop.Store(true)
	time.AfterFunc(100*time.Millisecond, func() { flag.Set(1) })
	start := time.Now()
	_, err = mod.ExportedFunction("spin").Call(ctx)
	if err == nil || !bytes.Contains([]byte(err.Error()), []byte("unreachable")) {
		t.Fatalf("spin returned %v, want the unreachable trap", err)
	}
	if d := time.Since(start); d < 100*time.Millisecond {
		t.Errorf("trapped after %v, before the flag was raised", d)
	}
}

// TestDeadlineInstrumentationOfRealModules rewrites the probe and every
// corpus binary (Rust, C++, TinyGo, AssemblyScript, Zig, Go...) and checks
// the result decodes, exports the flag, keeps every loop and carries the
// preemption point; the probe is compiled too.
func TestDeadlineInstrumentationOfRealModules(t *testing.T) {
	probe, err := wasmbuild.Cached("testdata/probe")
	if err != nil {
		t.Fatal(err)
	}
	mods := map[string][]byte{"probe": probe}
	files, _ := filepath.Glob(filepath.Join(sharedtest.Dir(t), "corpus", "*", "*.wasm"))
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		mods[filepath.Base(filepath.Dir(f))+"/"+filepath.Base(f)] = b
	}
	ctx := context.Background()
	cache := wazero.NewCompilationCache()
	defer cache.Close(ctx)
	wz := wazero.NewRuntimeWithConfig(ctx, wazero.NewRuntimeConfig().WithCompilationCache(cache))
	defer wz.Close(ctx)
	for name, wasm := range mods {
		t.Run(name, func(t *testing.T) {
			inst, err := instrumentDeadline(wasm)
			if errors.Is(err, errUninstrumentable) {
				t.Skipf("not instrumentable (runs with wazero's context watching): %v", err)
			}
			if err != nil {
				t.Fatal(err)
			}
			// The corpus modules are compiled (instrumented) and run by
			// the httpfilter corpus tests; compiling every one here again
			// would only cost time.
			if name == "probe" {
				cm, err := wz.CompileModule(ctx, inst)
				if err != nil {
					t.Fatalf("instrumented module does not compile: %v", err)
				}
				defer cm.Close(ctx)
				if len(cm.ExportedFunctions()) == 0 {
					t.Error("the instrumented module lost its function exports")
				}
			}
			if !bytes.Contains(inst, []byte(deadlineGlobal)) {
				t.Errorf("no %s export", deadlineGlobal)
			}
			loops := countLoops(t, wasm)
			checks := countLoops(t, inst)
			if loops != checks {
				t.Errorf("%d loops before, %d after", loops, checks)
			}
			if loops > 0 && !bytes.Contains(inst, []byte{0x40, 0x00, 0x1a}) {
				t.Error("no memory.grow 0 preemption point in the rewritten code")
			}
		})
	}
}

// countLoops decodes the code section and counts loop instructions.
func countLoops(t *testing.T, wasm []byte) int {
	t.Helper()
	r := &wreader{b: wasm, pos: 8}
	for r.pos < len(wasm) && r.err == nil {
		id := r.byte()
		n := int(r.u32())
		if id != 10 {
			r.skip(n)
			continue
		}
		end := r.pos + n
		loops := 0
		fns := r.leb()
		for i := uint64(0); i < fns && r.err == nil; i++ {
			size := int(r.u32())
			fr := &wreader{b: r.b[r.pos : r.pos+size]}
			r.skip(size)
			nl := fr.leb()
			for j := uint64(0); j < nl; j++ {
				fr.u32()
				skipValType(fr)
			}
			for fr.pos < len(fr.b) && fr.err == nil {
				op := fr.byte()
				if op == 0x03 {
					loops++
					skipBlockType(fr)
					continue
				}
				skipImmediates(fr, op)
			}
			if fr.err != nil {
				t.Fatal(fr.err)
			}
		}
		if r.pos != end {
			t.Fatalf("code section: ended at %d, want %d", r.pos, end)
		}
		return loops
	}
	if r.err != nil {
		t.Fatal(r.err)
	}
	return 0
}
