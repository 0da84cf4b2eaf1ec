// Package proxywasm is the API a proxy-wasm filter written in Go calls: the
// entry point SetVMContext and wrappers of every host function of ABI
// v0.2.1 (headers, bodies, local replies, HTTP and gRPC callouts, shared
// data and queues, metrics, properties, foreign functions, logging).
//
// The names and signatures are those of
// github.com/tetratelabs/proxy-wasm-go-sdk v0.24.0, so a filter written for
// that SDK moves over by replacing the import path prefix
// github.com/tetratelabs/proxy-wasm-go-sdk with github.com/wasmctl/wasmctl/sdk.
// Unlike that SDK, this one builds with the standard Go toolchain:
//
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o plugin.wasm .
//
// A filter registers its VMContext from init; its main function stays empty.
// The same code also compiles natively, where host calls go to the emulator
// of package proxytest, so filter logic unit-tests with plain go test.
package proxywasm

import (
	"github.com/wasmctl/wasmctl/sdk/proxywasm/internal"
	"github.com/wasmctl/wasmctl/sdk/proxywasm/types"
)

// SetVMContext registers the filter's VMContext. Call it from an init
// function: the host creates plugin contexts through it.
func SetVMContext(ctx types.VMContext) {
	internal.SetVMContext(ctx)
}
