package sdkoracle

import (
	"context"
	"testing"

	"github.com/tetratelabs/wazero"
)

// reactor is (module (global (mut i32) 0) (func $init (global.set 0 (i32.const 7)))
// (func $get (result i32) (global.get 0)) (export "_initialize" (func $init)) (export "get" (func $get))).
var reactor = []byte("\x00asm\x01\x00\x00\x00" +
	"\x01\x08\x02\x60\x00\x00\x60\x00\x01\x7f" + // types: () -> (), () -> i32
	"\x03\x03\x02\x00\x01" + // functions
	"\x06\x06\x01\x7f\x01\x41\x00\x0b" + // global (mut i32) = 0
	"\x07\x15\x02\x0b_initialize\x00\x00\x03get\x00\x01" + // exports
	"\x0a\x0d\x02\x06\x00\x41\x07\x24\x00\x0b\x04\x00\x23\x00\x0b") // code

func TestAliasStart(t *testing.T) {
	ctx := t.Context()
	r := wazero.NewRuntime(ctx)
	defer r.Close(context.Background())

	get := func(t *testing.T, wasm []byte) uint64 {
		t.Helper()
		m, err := r.Instantiate(ctx, wasm) // default start functions: _start only
		if err != nil {
			t.Fatal(err)
		}
		defer m.Close(ctx)
		res, err := m.ExportedFunction("get").Call(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return res[0]
	}
	if got := get(t, reactor); got != 0 {
		t.Fatalf("without the alias the reactor was initialized (%d); the test module is wrong", got)
	}
	aliased, err := AliasStart(reactor)
	if err != nil {
		t.Fatal(err)
	}
	if got := get(t, aliased); got != 7 {
		t.Fatalf("with the alias get() = %d, want 7: _initialize did not run as _start", got)
	}
	if _, err := AliasStart(aliased); err == nil {
		t.Error("aliasing twice succeeded, want an error (module already exports _start)")
	}
	for _, bad := range [][]byte{nil, reactor[:20], reactor[:len(reactor)-30]} {
		if _, err := AliasStart(bad); err == nil {
			t.Errorf("AliasStart(%q) succeeded, want an error", bad)
		}
	}
}

func FuzzAliasStart(f *testing.F) {
	f.Add(reactor)
	f.Fuzz(func(t *testing.T, b []byte) {
		_, _ = AliasStart(b) // must not panic
	})
}
