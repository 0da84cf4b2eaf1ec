// Package filtertest runs a reference filter's tests twice, natively against
// the SDK's host emulator and against the filter compiled to wasm, and holds
// the small helpers those tests share. It is imported by tests only.
package filtertest

import (
	"strings"
	"testing"

	"github.com/wasmctl/wasmctl/sdk/proxywasm/proxytest"
	"github.com/wasmctl/wasmctl/sdk/proxywasm/types"
	"github.com/wasmctl/wasmctl/sdk/wasmbuild"
)

// Mode says how the filter under test runs.
type Mode string

// The two modes of the double run.
const (
	Native Mode = "native"
	Wasm   Mode = "wasm"
)

// Harness creates emulators for one mode.
type Harness struct {
	Mode Mode
	vm   func() types.VMContext
}

// Run calls body once with a native harness (vm is the filter's own
// VMContext) and once with a harness running the package in the current
// directory compiled to wasm. The module is built once per test process.
func Run(t *testing.T, native func() types.VMContext, body func(t *testing.T, h *Harness)) {
	t.Helper()
	t.Run(string(Native), func(t *testing.T) {
		body(t, &Harness{Mode: Native, vm: native})
	})
	t.Run(string(Wasm), func(t *testing.T) {
		wasm := wasmbuild.ForTest(t, ".")
		body(t, &Harness{Mode: Wasm, vm: func() types.VMContext {
			vm, err := proxytest.NewWasmVMContext(wasm)
			if err != nil {
				t.Fatalf("NewWasmVMContext: %v", err)
			}
			t.Cleanup(func() { vm.Close() })
			return vm
		}})
	})
}

// Option adds to the emulator options.
type Option func(*proxytest.EmulatorOption)

// Prop sets a property (path segments joined with ".") to a raw value.
func Prop(path string, value []byte) Option {
	return func(o *proxytest.EmulatorOption) { o.WithProperty(strings.Split(path, "."), value) }
}

// StringProp sets a string property.
func StringProp(path, value string) Option { return Prop(path, []byte(value)) }

// NewHost returns an emulator with config as plugin configuration, after
// starting the VM and the plugin, and the plugin start status.
func (h *Harness) NewHost(t *testing.T, config string, opts ...Option) (proxytest.HostEmulator, types.OnPluginStartStatus) {
	t.Helper()
	o := proxytest.NewEmulatorOption().WithVMContext(h.vm()).WithPluginConfiguration([]byte(config))
	for _, f := range opts {
		f(o)
	}
	host, release := proxytest.NewHostEmulator(o)
	t.Cleanup(release)
	if st := host.StartVM(); st != types.OnVMStartStatusOK {
		t.Fatalf("StartVM = %v", st)
	}
	return host, host.StartPlugin()
}

// Start is NewHost that fails the test unless the plugin starts.
func (h *Harness) Start(t *testing.T, config string, opts ...Option) proxytest.HostEmulator {
	t.Helper()
	host, st := h.NewHost(t, config, opts...)
	if st != types.OnPluginStartStatusOK {
		t.Fatalf("plugin failed to start with config %s; logs: %v", config, Logs(host))
	}
	return host
}

// Logs returns every log line the filter wrote, all levels.
func Logs(host proxytest.HostEmulator) []string {
	var out []string
	for _, l := range [][]string{host.GetTraceLogs(), host.GetDebugLogs(), host.GetInfoLogs(), host.GetWarnLogs(),
		host.GetErrorLogs(), host.GetCriticalLogs()} {
		out = append(out, l...)
	}
	return out
}

// Request runs request headers through a new HTTP stream and returns the
// stream id and the action.
func Request(host proxytest.HostEmulator, headers ...[2]string) (uint32, types.Action) {
	id := host.InitializeHttpContext()
	return id, host.CallOnRequestHeaders(id, headers, true)
}

// Get is Request with :method GET, :path path and :authority example.com
// plus extra headers.
func Get(host proxytest.HostEmulator, path string, extra ...[2]string) (uint32, types.Action) {
	h := append([][2]string{{":method", "GET"}, {":path", path}, {":authority", "example.com"}}, extra...)
	return Request(host, h...)
}

// Status returns the local reply's status code, or 0 when none was sent.
func Status(host proxytest.HostEmulator, id uint32) uint32 {
	if r := host.GetSentLocalResponse(id); r != nil {
		return r.StatusCode
	}
	return 0
}

// Body returns the local reply's body ("" when none was sent).
func Body(host proxytest.HostEmulator, id uint32) string {
	if r := host.GetSentLocalResponse(id); r != nil {
		return string(r.Data)
	}
	return ""
}

// Header returns a header's value from a header list.
func Header(headers [][2]string, name string) (string, bool) {
	for _, h := range headers {
		if strings.EqualFold(h[0], name) {
			return h[1], true
		}
	}
	return "", false
}

// Counter returns a counter's value, 0 when it was never defined.
func Counter(host proxytest.HostEmulator, name string) uint64 {
	v, err := host.GetCounterMetric(name)
	if err != nil {
		return 0
	}
	return v
}
