// Command shared_data keeps a counter in the host's shared data, updated by
// every request with compare-and-swap.
//
// On VM start it stores initialValue under sharedDataKey as an 8-byte
// little-endian integer. Every request reads the value and its CAS token,
// writes value+1 with that token and retries when another writer got there
// first (types.ErrorStatusCasMismatch).
package main

import (
	"encoding/binary"
	"errors"

	"github.com/wasmctl/wasmctl/sdk/proxywasm"
	"github.com/wasmctl/wasmctl/sdk/proxywasm/types"
)

const (
	sharedDataKey        = "shared_data_key"
	initialValue  uint64 = 10000000
	// maxAttempts bounds the CAS retries of one request.
	maxAttempts = 16
)

func main() {}

func init() { proxywasm.SetVMContext(&vmContext{}) }

type vmContext struct {
	types.DefaultVMContext
}

// OnVMStart implements types.VMContext.
func (*vmContext) OnVMStart(int) types.OnVMStartStatus {
	buf := binary.LittleEndian.AppendUint64(nil, initialValue)
	if err := proxywasm.SetSharedData(sharedDataKey, buf, 0); err != nil {
		proxywasm.LogWarnf("error setting the initial shared data: %v", err)
	}
	return types.OnVMStartStatusOK
}

// NewPluginContext implements types.VMContext.
func (*vmContext) NewPluginContext(uint32) types.PluginContext { return &pluginContext{} }

type pluginContext struct {
	types.DefaultPluginContext
}

// NewHttpContext implements types.PluginContext.
func (*pluginContext) NewHttpContext(uint32) types.HttpContext { return &httpContext{} }

type httpContext struct {
	types.DefaultHttpContext
}

// OnHttpRequestHeaders implements types.HttpContext.
func (*httpContext) OnHttpRequestHeaders(int, bool) types.Action {
	for range maxAttempts {
		err := incrementData()
		if err == nil {
			return types.ActionContinue
		}
		if !errors.Is(err, types.ErrorStatusCasMismatch) {
			proxywasm.LogCriticalf("error incrementing the shared data: %v", err)
			return types.ActionContinue
		}
		proxywasm.LogInfo("cas mismatch, retrying")
	}
	proxywasm.LogCriticalf("gave up incrementing the shared data after %d attempts", maxAttempts)
	return types.ActionContinue
}

// incrementData adds one to the shared counter.
func incrementData() error {
	value, cas, err := proxywasm.GetSharedData(sharedDataKey)
	if err != nil {
		return err
	}
	if len(value) != 8 {
		return errors.New("shared data is not an 8-byte integer")
	}
	next := binary.LittleEndian.Uint64(value) + 1
	if err := proxywasm.SetSharedData(sharedDataKey, binary.LittleEndian.AppendUint64(nil, next), cas); err != nil {
		return err
	}
	proxywasm.LogInfof("shared value: %d", next)
	return nil
}
