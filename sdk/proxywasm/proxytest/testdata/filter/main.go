// Command filter is the SDK's test filter (package internal/testfilter)
// as a wasm module. It also exports testfilter_mallocs, the guest's
// runtime.MemStats.Mallocs, for the allocation test, and
// testfilter_host_call (one proxy_get_log_level host call, the cheapest
// host function) for the benchmark's cost breakdown.
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

//go:wasmexport testfilter_host_call
func hostCall() { _, _ = proxywasm.GetLogLevel() }
