package httpfilter_test

import (
	"fmt"

	"github.com/wasmctl/wasmctl/runtime/httpfilter"
)

// ReadModule checks a filter path before anything is compiled, and says
// how to fix it.
func ExampleReadModule() {
	_, err := httpfilter.ReadModule("testdata/missing.wasm")
	fmt.Println(err)
	_, err = httpfilter.ReadModule("example_test.go")
	fmt.Println(err)
	// Output:
	// filter testdata/missing.wasm does not exist: check the path, or build it with `wasmctl build`
	// filter example_test.go is not a WebAssembly module (it starts with "package ", not "\x00asm"): pass the .wasm file that `wasmctl build` or your SDK's build wrote
}
