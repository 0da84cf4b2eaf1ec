package proxytest

import (
	"sync"

	"github.com/wasmctl/wasmctl/sdk/proxywasm/internal"
	"github.com/wasmctl/wasmctl/sdk/proxywasm/types"
)

// dispatchMu serializes callbacks into natively linked filters: while one
// runs, internal's current state (which the filter's package-level
// proxywasm calls use) belongs to its emulator. It is held for one callback
// at a time, never for a whole test.
var dispatchMu sync.Mutex

// nativeGuest runs the plugin linked into the test binary.
type nativeGuest struct {
	state *internal.State
	depth int
}

func (g *nativeGuest) bind(h *hostEmulator) error {
	g.state.Host = h
	return nil
}

// run executes f with this emulator's state installed. Nested runs (a host
// call that calls back into the plugin) reuse the held lock.
func (g *nativeGuest) run(f func()) {
	if g.depth > 0 {
		f()
		return
	}
	dispatchMu.Lock()
	prev := internal.Swap(g.state)
	dispatchGoroutine.Store(goroutineID())
	g.depth++
	defer func() {
		g.depth--
		dispatchGoroutine.Store(0)
		internal.Swap(prev)
		dispatchMu.Unlock()
	}()
	f()
}

func (g *nativeGuest) onContextCreate(id, parent uint32) {
	g.run(func() { internal.ProxyOnContextCreate(id, parent) })
}

func (g *nativeGuest) onVMStart(root uint32, size int) (ok bool) {
	g.run(func() { ok = bool(internal.ProxyOnVMStart(root, size)) })
	return ok
}

func (g *nativeGuest) onConfigure(root uint32, size int) (ok bool) {
	g.run(func() { ok = bool(internal.ProxyOnConfigure(root, size)) })
	return ok
}

func (g *nativeGuest) onTick(root uint32) { g.run(func() { internal.ProxyOnTick(root) }) }

func (g *nativeGuest) onQueueReady(root, queueID uint32) {
	g.run(func() { internal.ProxyOnQueueReady(root, queueID) })
}

func (g *nativeGuest) onForeignFunction(root, functionID uint32, size int) {
	g.run(func() { internal.ProxyOnForeignFunction(root, functionID, size) })
}

func (g *nativeGuest) onNewConnection(id uint32) (a types.Action) {
	g.run(func() { a = internal.ProxyOnNewConnection(id) })
	return a
}

func (g *nativeGuest) onDownstreamData(id uint32, size int, eos bool) (a types.Action) {
	g.run(func() { a = internal.ProxyOnDownstreamData(id, size, eos) })
	return a
}

func (g *nativeGuest) onDownstreamClose(id uint32, peer types.PeerType) {
	g.run(func() { internal.ProxyOnDownstreamConnectionClose(id, peer) })
}

func (g *nativeGuest) onUpstreamData(id uint32, size int, eos bool) (a types.Action) {
	g.run(func() { a = internal.ProxyOnUpstreamData(id, size, eos) })
	return a
}

func (g *nativeGuest) onUpstreamClose(id uint32, peer types.PeerType) {
	g.run(func() { internal.ProxyOnUpstreamConnectionClose(id, peer) })
}

func (g *nativeGuest) onRequestHeaders(id uint32, n int, eos bool) (a types.Action) {
	g.run(func() { a = internal.ProxyOnRequestHeaders(id, n, eos) })
	return a
}

func (g *nativeGuest) onRequestBody(id uint32, size int, eos bool) (a types.Action) {
	g.run(func() { a = internal.ProxyOnRequestBody(id, size, eos) })
	return a
}

func (g *nativeGuest) onRequestTrailers(id uint32, n int) (a types.Action) {
	g.run(func() { a = internal.ProxyOnRequestTrailers(id, n) })
	return a
}

func (g *nativeGuest) onResponseHeaders(id uint32, n int, eos bool) (a types.Action) {
	g.run(func() { a = internal.ProxyOnResponseHeaders(id, n, eos) })
	return a
}

func (g *nativeGuest) onResponseBody(id uint32, size int, eos bool) (a types.Action) {
	g.run(func() { a = internal.ProxyOnResponseBody(id, size, eos) })
	return a
}

func (g *nativeGuest) onResponseTrailers(id uint32, n int) (a types.Action) {
	g.run(func() { a = internal.ProxyOnResponseTrailers(id, n) })
	return a
}

func (g *nativeGuest) onHttpCallResponse(root, id uint32, nh, bs, nt int) {
	g.run(func() { internal.ProxyOnHttpCallResponse(root, id, nh, bs, nt) })
}

func (g *nativeGuest) onGrpcReceiveInitialMetadata(root, id uint32, n int) {
	g.run(func() { internal.ProxyOnGrpcReceiveInitialMetadata(root, id, n) })
}

func (g *nativeGuest) onGrpcReceiveTrailingMetadata(root, id uint32, n int) {
	g.run(func() { internal.ProxyOnGrpcReceiveTrailingMetadata(root, id, n) })
}

func (g *nativeGuest) onGrpcReceive(root, id uint32, size int) {
	g.run(func() { internal.ProxyOnGrpcReceive(root, id, size) })
}

func (g *nativeGuest) onGrpcClose(root, id, status uint32) {
	g.run(func() { internal.ProxyOnGrpcClose(root, id, status) })
}

func (g *nativeGuest) onLog(id uint32) { g.run(func() { internal.ProxyOnLog(id) }) }

func (g *nativeGuest) onDone(id uint32) (ok bool) {
	g.run(func() { ok = internal.ProxyOnDone(id) })
	return ok
}

func (g *nativeGuest) onDelete(id uint32) { g.run(func() { internal.ProxyOnDelete(id) }) }
