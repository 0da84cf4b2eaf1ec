// Command filter is the SDK's test filter (package internal/testfilter)
// as a wasm module. It also exports testfilter_mallocs, the guest's
// runtime.MemStats.Mallocs, for the allocation test.
package main

import (
	"runtime"

	"github.com/wasmctl/wasmctl/sdk/proxywasm"
	"github.com/wasmctl/wasmctl/sdk/proxywasm/internal/testfilter"
)

func main() {}

func init() { proxywasm.SetVMContext(testfilter.New()) }

var ms runtime.MemStats

//go:wasmexport testfilter_mallocs
func mallocs() uint64 {
	runtime.ReadMemStats(&ms)
	return ms.Mallocs
}
