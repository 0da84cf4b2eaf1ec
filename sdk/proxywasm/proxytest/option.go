package proxytest

import (
	"github.com/wasmctl/wasmctl/sdk/proxywasm/internal"
	"github.com/wasmctl/wasmctl/sdk/proxywasm/types"
)

// EmulatorOption configures NewHostEmulator.
type EmulatorOption struct {
	pluginConfiguration []byte
	vmConfiguration     []byte
	vmContext           types.VMContext
	properties          map[string][]byte
	logLevel            types.LogLevel
	vmID                string
	store               *store
}

// NewEmulatorOption returns options with a types.DefaultVMContext.
func NewEmulatorOption() *EmulatorOption {
	return &EmulatorOption{vmContext: &types.DefaultVMContext{}}
}

// WithVMContext sets the VM context under test: the filter's own
// types.VMContext (native run) or a WasmVMContext (run of the compiled module).
func (o *EmulatorOption) WithVMContext(context types.VMContext) *EmulatorOption {
	o.vmContext = context
	return o
}

// WithPluginConfiguration sets the plugin configuration.
func (o *EmulatorOption) WithPluginConfiguration(data []byte) *EmulatorOption {
	o.pluginConfiguration = data
	return o
}

// WithVMConfiguration sets the VM configuration.
func (o *EmulatorOption) WithVMConfiguration(data []byte) *EmulatorOption {
	o.vmConfiguration = data
	return o
}

// WithProperty sets a property. If the property already exists, it is overwritten.
func (o *EmulatorOption) WithProperty(path []string, value []byte) *EmulatorOption {
	if o.properties == nil {
		o.properties = map[string][]byte{}
	}
	o.properties[string(internal.SerializePropertyPath(path))] = value
	return o
}

// WithLogLevel sets the level proxywasm.GetLogLevel reports (default trace).
// Logs below it are still recorded. This option is an addition to the
// original API.
func (o *EmulatorOption) WithLogLevel(level types.LogLevel) *EmulatorOption {
	o.logLevel = level
	return o
}

// WithVMID sets the VM id that proxywasm.ResolveSharedQueue matches (default
// empty). This option is an addition to the original API.
func (o *EmulatorOption) WithVMID(id string) *EmulatorOption {
	o.vmID = id
	return o
}

// WithSharedStoreOf makes the new emulator share shared data and shared
// queues with host, as VMs of one Envoy process do: a queue registered by a
// plugin of one emulator resolves (by VM id and name) in the other, and an
// item enqueued there wakes the registering plugin's OnQueueReady after the
// enqueuing callback returns. Give each emulator its VM id with WithVMID.
// host must come from NewHostEmulator. This option is an addition to the
// original API.
func (o *EmulatorOption) WithSharedStoreOf(host HostEmulator) *EmulatorOption {
	if h, ok := host.(*hostEmulator); ok {
		o.store = h.store
	}
	return o
}
