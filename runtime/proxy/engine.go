package proxy

import (
	"context"
	"net"
	"net/http"
	"time"

	"github.com/wasmctl/wasmctl/runtime/cache"
	"github.com/wasmctl/wasmctl/runtime/config"
)

// Engine builds proxy-wasm plugins and runs HTTP filter chains made of them.
// The proxy needs nothing else from a wasm host; NewWasmEngine adapts
// runtime/host and runtime/httpfilter to it.
//
// Implementations must be safe for concurrent use.
type Engine interface {
	// NewPlugin builds a plugin completely: compile (from cache when
	// possible), instantiate its VMs, proxy_on_vm_start and
	// proxy_on_configure. It returns only when the plugin can serve, or an
	// error saying which step failed.
	NewPlugin(ctx context.Context, spec PluginSpec) (Plugin, error)
	// HTTPChain returns a handler that runs plugins in order around next.
	HTTPChain(plugins []Plugin, next http.Handler) (http.Handler, error)
}

// TCPEngine is implemented by engines that also run network (TCP) filters.
type TCPEngine interface {
	// TCPChain returns a function that runs plugins on one downstream
	// connection and proxies it to upstream (host:port); it returns when
	// the connection is done, and closes down.
	TCPChain(plugins []Plugin, cluster string, connectTimeout time.Duration) (TCPHandler, error)
}

// TCPHandler handles one downstream connection of a TCP listener.
type TCPHandler func(ctx context.Context, down net.Conn, upstream string)

// Plugin is a started filter.
type Plugin interface {
	// Status reports the plugin's health for /plugins.
	Status() PluginStatus
	// Close stops the plugin after its streams are done: on_done,
	// on_delete, then the VMs close.
	Close(ctx context.Context) error
}

// PluginSpec is everything needed to build one filter of a listener.
type PluginSpec struct {
	// Listener is the name of the listener whose chain holds the filter.
	Listener string
	// Filter is the filter's configuration.
	Filter config.Filter
	// Module is the fetched, verified module.
	Module *cache.Module
	// PluginConfig is what proxy_on_configure reads.
	PluginConfig []byte
	// Env is the VM's environment (vmConfig.env resolved).
	Env map[string]string
}

// PluginStatus is an engine's view of a plugin.
type PluginStatus struct {
	// State is running, degraded (some VMs down), down or closed.
	State string `json:"state"`
	// Instances is the pool size; Live the VMs currently usable.
	Instances int `json:"instances"`
	Live      int `json:"live"`
	// Crashes counts VM deaths (traps, proc_exit, deadlines, memory limits).
	Crashes uint64 `json:"crashes"`
	// LastError is the most recent VM failure.
	LastError   string    `json:"lastError,omitempty"`
	LastErrorAt time.Time `json:"lastErrorAt,omitzero"`
	// Detail is engine specific (e.g. the host's full status).
	Detail any `json:"detail,omitempty"`
}

// PluginFuncs adapts plain functions to Plugin; nil funcs do nothing.
type PluginFuncs struct {
	StatusFunc func() PluginStatus
	CloseFunc  func(ctx context.Context) error
}

// Status implements Plugin.
func (f PluginFuncs) Status() PluginStatus {
	if f.StatusFunc == nil {
		return PluginStatus{State: "running"}
	}
	return f.StatusFunc()
}

// Close implements Plugin.
func (f PluginFuncs) Close(ctx context.Context) error {
	if f.CloseFunc == nil {
		return nil
	}
	return f.CloseFunc(ctx)
}
