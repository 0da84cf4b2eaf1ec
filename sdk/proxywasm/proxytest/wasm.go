package proxytest

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"unsafe"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"

	"github.com/wasmctl/wasmctl/sdk/proxywasm/internal"
	"github.com/wasmctl/wasmctl/sdk/proxywasm/types"
)

// WasmVMContext is a types.VMContext backed by a compiled proxy-wasm module.
// Pass it to EmulatorOption.WithVMContext and the emulator drives the
// module's exports instead of the natively linked filter, so one test body
// checks both. Close it when the test ends.
type WasmVMContext interface {
	types.VMContext
	io.Closer
}

// NewWasmVMContext instantiates wasm (a proxy-wasm module, for example built
// with wasmbuild.ForTest) under wazero and returns a VM context for
// NewHostEmulator. HTTP, TCP and root-only plugins are supported.
//
// Compiled modules are cached per process by sha256 and on disk in
// os.UserCacheDir()/wasmctl/wazero, so only the first test pays the
// compile time of a multi-megabyte Go module; each call instantiates a
// fresh module instance (its own memory and Go runtime).
func NewWasmVMContext(wasm []byte) (WasmVMContext, error) {
	rt, err := sharedRuntime()
	if err != nil {
		return nil, err
	}
	compiled, err := compile(rt, wasm)
	if err != nil {
		return nil, err
	}
	w := &wasmVMContext{}
	w.ctx = context.WithValue(context.Background(), wasmVMKey{}, w)
	cfg := wazero.NewModuleConfig().
		WithName("").
		WithStartFunctions("_initialize", "_start").
		WithStdout(os.Stderr).WithStderr(os.Stderr).
		WithSysWalltime().WithSysNanotime().WithSysNanosleep().
		WithRandSource(rand.Reader)
	mod, err := rt.InstantiateModule(w.ctx, compiled, cfg)
	if err != nil {
		return nil, fmt.Errorf("proxytest: instantiate module: %w", err)
	}
	w.mod = mod
	if mainFn := mod.ExportedFunction("main"); mainFn != nil && mod.ExportedFunction("_initialize") != nil {
		// A reactor built by a C toolchain may export main(argc, argv); Go
		// reactors do not. cpp-host calls it right after _initialize.
		if _, err := mainFn.Call(w.ctx, 0, 0); err != nil {
			return nil, fmt.Errorf("proxytest: main: %w", err)
		}
	}
	w.malloc = mod.ExportedFunction("proxy_on_memory_allocate")
	if w.malloc == nil {
		w.malloc = mod.ExportedFunction("malloc")
	}
	if w.malloc == nil {
		mod.Close(w.ctx)
		return nil, errors.New("proxytest: the module exports neither proxy_on_memory_allocate nor malloc; is it a proxy-wasm module?")
	}
	for i, name := range exportNames {
		w.fns[i] = mod.ExportedFunction(name)
	}
	return w, nil
}

type wasmVMKey struct{}

const (
	exContextCreate = iota
	exVMStart
	exConfigure
	exTick
	exQueueReady
	exForeignFunction
	exNewConnection
	exDownstreamData
	exDownstreamClose
	exUpstreamData
	exUpstreamClose
	exRequestHeaders
	exRequestBody
	exRequestTrailers
	exResponseHeaders
	exResponseBody
	exResponseTrailers
	exHttpCallResponse
	exGrpcInitialMetadata
	exGrpcTrailingMetadata
	exGrpcReceive
	exGrpcClose
	exLog
	exDone
	exDelete
	exCount
)

var exportNames = [exCount]string{
	"proxy_on_context_create", "proxy_on_vm_start", "proxy_on_configure", "proxy_on_tick",
	"proxy_on_queue_ready", "proxy_on_foreign_function", "proxy_on_new_connection",
	"proxy_on_downstream_data", "proxy_on_downstream_connection_close", "proxy_on_upstream_data",
	"proxy_on_upstream_connection_close", "proxy_on_request_headers", "proxy_on_request_body",
	"proxy_on_request_trailers", "proxy_on_response_headers", "proxy_on_response_body",
	"proxy_on_response_trailers", "proxy_on_http_call_response", "proxy_on_grpc_receive_initial_metadata",
	"proxy_on_grpc_receive_trailing_metadata", "proxy_on_grpc_receive", "proxy_on_grpc_close",
	"proxy_on_log", "proxy_on_done", "proxy_on_delete",
}

type wasmVMContext struct {
	ctx    context.Context
	mod    api.Module
	malloc api.Function
	fns    [exCount]api.Function
	host   internal.Host
	emu    *hostEmulator

	stack      [8]uint64
	allocStack [1]uint64
	closeOnce  sync.Once

	// Fault injection for the SDK's own tests: corrupt rewrites every buffer
	// handed to the guest, shortBy over-reports its size.
	corrupt func([]byte) []byte
	shortBy uint32
}

var (
	runtimeOnce sync.Once
	runtimeVal  wazero.Runtime
	runtimeErr  error

	compiledMu sync.Mutex
	compiledBy = map[[32]byte]*compiledEntry{}
)

type compiledEntry struct {
	once sync.Once
	mod  wazero.CompiledModule
	err  error
}

// sharedRuntime returns the process-wide wazero runtime with the WASI and
// proxy-wasm host modules. The host functions find their emulator through
// the context of the export call, so one runtime serves every test.
func sharedRuntime() (wazero.Runtime, error) {
	runtimeOnce.Do(func() {
		ctx := context.Background()
		cfg := wazero.NewRuntimeConfig()
		if os.Getenv("WASMCTL_PROXYTEST_ENGINE") == "interpreter" {
			cfg = wazero.NewRuntimeConfigInterpreter()
		}
		if dir, err := os.UserCacheDir(); err == nil {
			if cache, err := wazero.NewCompilationCacheWithDir(filepath.Join(dir, "wasmctl", "wazero")); err == nil {
				cfg = cfg.WithCompilationCache(cache)
			}
		}
		rt := wazero.NewRuntimeWithConfig(ctx, cfg)
		if _, err := wasi_snapshot_preview1.Instantiate(ctx, rt); err != nil {
			runtimeErr = err
			return
		}
		if err := instantiateEnv(ctx, rt); err != nil {
			runtimeErr = err
			return
		}
		runtimeVal = rt
	})
	return runtimeVal, runtimeErr
}

func compile(rt wazero.Runtime, wasm []byte) (wazero.CompiledModule, error) {
	sum := sha256.Sum256(wasm)
	compiledMu.Lock()
	e, ok := compiledBy[sum]
	if !ok {
		e = &compiledEntry{}
		compiledBy[sum] = e
	}
	compiledMu.Unlock()
	e.once.Do(func() {
		e.mod, e.err = rt.CompileModule(context.Background(), wasm)
		if e.err != nil {
			e.err = fmt.Errorf("proxytest: compile module: %w", e.err)
		}
	})
	return e.mod, e.err
}

// Close implements io.Closer: it closes the module instance.
func (w *wasmVMContext) Close() error {
	var err error
	w.closeOnce.Do(func() { err = w.mod.Close(context.Background()) })
	return err
}

func (w *wasmVMContext) bind(h *hostEmulator) error {
	w.host = h
	w.emu = h
	return nil
}

// call invokes export i with params; a missing export returns ok=false.
// A trap (for example a panic in the filter, already logged at critical
// level by the SDK) is raised as a panic in the test.
func (w *wasmVMContext) call(i int, params ...uint64) (uint64, bool) {
	fn := w.fns[i]
	if fn == nil {
		return 0, false
	}
	stack := w.stack[:]
	copy(stack, params)
	if err := fn.CallWithStack(w.ctx, stack); err != nil {
		panic(fmt.Errorf("proxytest: %s trapped: %w", exportNames[i], err))
	}
	return stack[0], true
}

func b2u(b bool) uint64 {
	if b {
		return 1
	}
	return 0
}

func (w *wasmVMContext) action(i int, params ...uint64) types.Action {
	r, ok := w.call(i, params...)
	if !ok {
		return types.ActionContinue
	}
	return types.Action(uint32(r))
}

func (w *wasmVMContext) boolResult(i int, params ...uint64) bool {
	r, ok := w.call(i, params...)
	return !ok || uint32(r) != 0
}

func (w *wasmVMContext) onContextCreate(id, parent uint32) {
	w.call(exContextCreate, uint64(id), uint64(parent))
}
func (w *wasmVMContext) onVMStart(root uint32, size int) bool {
	return w.boolResult(exVMStart, uint64(root), uint64(size))
}
func (w *wasmVMContext) onConfigure(root uint32, size int) bool {
	return w.boolResult(exConfigure, uint64(root), uint64(size))
}
func (w *wasmVMContext) onTick(root uint32) { w.call(exTick, uint64(root)) }
func (w *wasmVMContext) onQueueReady(root, q uint32) {
	w.call(exQueueReady, uint64(root), uint64(q))
}
func (w *wasmVMContext) onForeignFunction(root, fid uint32, size int) {
	w.call(exForeignFunction, uint64(root), uint64(fid), uint64(size))
}
func (w *wasmVMContext) onNewConnection(id uint32) types.Action {
	return w.action(exNewConnection, uint64(id))
}
func (w *wasmVMContext) onDownstreamData(id uint32, size int, eos bool) types.Action {
	return w.action(exDownstreamData, uint64(id), uint64(size), b2u(eos))
}
func (w *wasmVMContext) onDownstreamClose(id uint32, peer types.PeerType) {
	w.call(exDownstreamClose, uint64(id), uint64(peer))
}
func (w *wasmVMContext) onUpstreamData(id uint32, size int, eos bool) types.Action {
	return w.action(exUpstreamData, uint64(id), uint64(size), b2u(eos))
}
func (w *wasmVMContext) onUpstreamClose(id uint32, peer types.PeerType) {
	w.call(exUpstreamClose, uint64(id), uint64(peer))
}
func (w *wasmVMContext) onRequestHeaders(id uint32, n int, eos bool) types.Action {
	return w.action(exRequestHeaders, uint64(id), uint64(n), b2u(eos))
}
func (w *wasmVMContext) onRequestBody(id uint32, size int, eos bool) types.Action {
	return w.action(exRequestBody, uint64(id), uint64(size), b2u(eos))
}
func (w *wasmVMContext) onRequestTrailers(id uint32, n int) types.Action {
	return w.action(exRequestTrailers, uint64(id), uint64(n))
}
func (w *wasmVMContext) onResponseHeaders(id uint32, n int, eos bool) types.Action {
	return w.action(exResponseHeaders, uint64(id), uint64(n), b2u(eos))
}
func (w *wasmVMContext) onResponseBody(id uint32, size int, eos bool) types.Action {
	return w.action(exResponseBody, uint64(id), uint64(size), b2u(eos))
}
func (w *wasmVMContext) onResponseTrailers(id uint32, n int) types.Action {
	return w.action(exResponseTrailers, uint64(id), uint64(n))
}
func (w *wasmVMContext) onHttpCallResponse(root, id uint32, nh, bs, nt int) {
	w.call(exHttpCallResponse, uint64(root), uint64(id), uint64(nh), uint64(bs), uint64(nt))
}
func (w *wasmVMContext) onGrpcReceiveInitialMetadata(root, id uint32, n int) {
	w.call(exGrpcInitialMetadata, uint64(root), uint64(id), uint64(n))
}
func (w *wasmVMContext) onGrpcReceiveTrailingMetadata(root, id uint32, n int) {
	w.call(exGrpcTrailingMetadata, uint64(root), uint64(id), uint64(n))
}
func (w *wasmVMContext) onGrpcReceive(root, id uint32, size int) {
	w.call(exGrpcReceive, uint64(root), uint64(id), uint64(size))
}
func (w *wasmVMContext) onGrpcClose(root, id, status uint32) {
	w.call(exGrpcClose, uint64(root), uint64(id), uint64(status))
}
func (w *wasmVMContext) onLog(id uint32)       { w.call(exLog, uint64(id)) }
func (w *wasmVMContext) onDone(id uint32) bool { return w.boolResult(exDone, uint64(id)) }
func (w *wasmVMContext) onDelete(id uint32)    { w.call(exDelete, uint64(id)) }

// The types.VMContext methods let a WasmVMContext stand alone, as in the
// original SDK; under NewHostEmulator the emulator drives the exports
// directly instead.

// OnVMStart implements types.VMContext.
func (w *wasmVMContext) OnVMStart(vmConfigurationSize int) types.OnVMStartStatus {
	return types.OnVMStartStatus(w.onVMStart(PluginContextID, vmConfigurationSize))
}

// NewPluginContext implements types.VMContext.
func (w *wasmVMContext) NewPluginContext(contextID uint32) types.PluginContext {
	w.onContextCreate(contextID, 0)
	return &wasmPluginContext{w: w, id: contextID}
}

type wasmPluginContext struct {
	w  *wasmVMContext
	id uint32
}

func (p *wasmPluginContext) OnPluginStart(size int) types.OnPluginStartStatus {
	return types.OnPluginStartStatus(p.w.onConfigure(p.id, size))
}
func (p *wasmPluginContext) OnPluginDone() bool          { return p.w.onDone(p.id) }
func (p *wasmPluginContext) OnQueueReady(queueID uint32) { p.w.onQueueReady(p.id, queueID) }
func (p *wasmPluginContext) OnTick()                     { p.w.onTick(p.id) }

// NewTcpContext returns nil: outside NewHostEmulator the kind of a stream
// context cannot be told apart; NewHttpContext creates it.
func (p *wasmPluginContext) NewTcpContext(uint32) types.TcpContext { return nil }
func (p *wasmPluginContext) NewHttpContext(contextID uint32) types.HttpContext {
	p.w.onContextCreate(contextID, p.id)
	return &wasmHttpContext{w: p.w, id: contextID}
}

type wasmHttpContext struct {
	w  *wasmVMContext
	id uint32
}

func (c *wasmHttpContext) OnHttpRequestHeaders(n int, eos bool) types.Action {
	return c.w.onRequestHeaders(c.id, n, eos)
}
func (c *wasmHttpContext) OnHttpRequestBody(n int, eos bool) types.Action {
	return c.w.onRequestBody(c.id, n, eos)
}
func (c *wasmHttpContext) OnHttpRequestTrailers(n int) types.Action {
	return c.w.onRequestTrailers(c.id, n)
}
func (c *wasmHttpContext) OnHttpResponseHeaders(n int, eos bool) types.Action {
	return c.w.onResponseHeaders(c.id, n, eos)
}
func (c *wasmHttpContext) OnHttpResponseBody(n int, eos bool) types.Action {
	return c.w.onResponseBody(c.id, n, eos)
}
func (c *wasmHttpContext) OnHttpResponseTrailers(n int) types.Action {
	return c.w.onResponseTrailers(c.id, n)
}
func (c *wasmHttpContext) OnHttpStreamDone() { c.w.onLog(c.id); c.w.onDelete(c.id) }

// ---- host side: the env module ----

func vmOf(ctx context.Context) *wasmVMContext {
	w, _ := ctx.Value(wasmVMKey{}).(*wasmVMContext)
	return w
}

// view returns guest memory [ptr, ptr+size) without copying, or ok=false
// when out of bounds. The emulator copies whatever it keeps.
func view(mod api.Module, ptr, size uint32) ([]byte, bool) {
	if size == 0 {
		return nil, true
	}
	return mod.Memory().Read(ptr, size)
}

func viewString(mod api.Module, ptr, size uint32) (string, bool) {
	b, ok := view(mod, ptr, size)
	if !ok || len(b) == 0 {
		return "", ok
	}
	return unsafe.String(&b[0], len(b)), true
}

// writeOut copies data into a fresh guest allocation and stores its address
// and size at ptrPtr and sizePtr. Empty data is written as (0, 0) without
// calling the allocator.
func (w *wasmVMContext) writeOut(ctx context.Context, mod api.Module, data []byte, ptrPtr, sizePtr uint32) internal.Status {
	if w.corrupt != nil {
		data = w.corrupt(data)
	}
	mem := mod.Memory()
	if len(data) == 0 {
		if !mem.WriteUint32Le(ptrPtr, 0) || !mem.WriteUint32Le(sizePtr, 0) {
			return internal.StatusInvalidMemoryAccess
		}
		return internal.StatusOK
	}
	p, st := w.allocOut(ctx, mem, len(data), ptrPtr, sizePtr)
	if st == internal.StatusOK && !mem.Write(p, data) {
		st = internal.StatusInvalidMemoryAccess
	}
	return st
}

// writeOutString is writeOut for a string, without copying it on the host.
func (w *wasmVMContext) writeOutString(ctx context.Context, mod api.Module, s string, ptrPtr, sizePtr uint32) internal.Status {
	if w.corrupt != nil || len(s) == 0 {
		return w.writeOut(ctx, mod, []byte(s), ptrPtr, sizePtr)
	}
	mem := mod.Memory()
	p, st := w.allocOut(ctx, mem, len(s), ptrPtr, sizePtr)
	if st == internal.StatusOK && !mem.WriteString(p, s) {
		st = internal.StatusInvalidMemoryAccess
	}
	return st
}

// allocOut asks the guest's allocator for n bytes and stores the address
// and size at ptrPtr and sizePtr; the caller writes the data at the
// returned address.
func (w *wasmVMContext) allocOut(ctx context.Context, mem api.Memory, n int, ptrPtr, sizePtr uint32) (uint32, internal.Status) {
	w.allocStack[0] = uint64(n)
	if err := w.malloc.CallWithStack(ctx, w.allocStack[:]); err != nil {
		return 0, internal.StatusInternalFailure
	}
	p := uint32(w.allocStack[0])
	if p == 0 || !mem.WriteUint32Le(ptrPtr, p) || !mem.WriteUint32Le(sizePtr, uint32(n)+w.shortBy) {
		return 0, internal.StatusInvalidMemoryAccess
	}
	return p, internal.StatusOK
}

type hostFn struct {
	name   string
	params string // one letter per param: i = i32, I = i64
	fn     hostFnImpl
}

// hostFnImpl implements one host function: s holds its parameters.
type hostFnImpl func(ctx context.Context, w *wasmVMContext, h internal.Host, mod api.Module, s []uint64) internal.Status

func instantiateEnv(ctx context.Context, rt wazero.Runtime) error {
	b := rt.NewHostModuleBuilder("env")
	for _, f := range hostFns {
		f := f
		params := make([]api.ValueType, len(f.params))
		for i, c := range f.params {
			params[i] = api.ValueTypeI32
			if c == 'I' {
				params[i] = api.ValueTypeI64
			}
		}
		b.NewFunctionBuilder().WithGoModuleFunction(api.GoModuleFunc(func(ctx context.Context, mod api.Module, stack []uint64) {
			w := vmOf(ctx)
			if w == nil || w.host == nil {
				stack[0] = uint64(internal.StatusInternalFailure)
				return
			}
			stack[0] = uint64(f.fn(ctx, w, w.host, mod, stack))
		}), params, []api.ValueType{api.ValueTypeI32}).Export(f.name)
	}
	_, err := b.Instantiate(ctx)
	return err
}

func u32(v uint64) uint32 { return uint32(v) }

func writeU32(mod api.Module, ptr uint32, v uint32) internal.Status {
	if !mod.Memory().WriteUint32Le(ptr, v) {
		return internal.StatusInvalidMemoryAccess
	}
	return internal.StatusOK
}

func writeU64(mod api.Module, ptr uint32, v uint64) internal.Status {
	if !mod.Memory().WriteUint64Le(ptr, v) {
		return internal.StatusInvalidMemoryAccess
	}
	return internal.StatusOK
}

func firstErr(sts ...internal.Status) internal.Status {
	for _, s := range sts {
		if s != internal.StatusOK {
			return s
		}
	}
	return internal.StatusOK
}

var errMem = internal.StatusInvalidMemoryAccess
