package host

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
)

type instKey struct{}

// fn is an exported callback looked up once per instance (perf.md §7).
type fn struct {
	f     api.Function
	arity int
	// results is the export's result count, read once: Definition() is
	// not free on the per-request path.
	results int
	stack   []uint64
}

func (f *fn) ok() bool { return f != nil && f.f != nil }

type funcs struct {
	alloc                                           *fn
	contextCreate, vmStart, configure, validate     *fn
	tick, queueReady, foreign, done, log, delete    *fn
	newConn, downData, upData, downClose, upClose   *fn
	reqHeaders, reqBody, reqTrailers                *fn
	respHeaders, respBody, respTrailers             *fn
	httpCallResp                                    *fn
	grpcInitMD, grpcTrailMD, grpcReceive, grpcClose *fn
}

// ctxRec is one proxy-wasm context inside an instance.
type ctxRec struct {
	id       uint32
	root     bool
	http     *HTTPStream
	tcp      *TCPStream
	ownState *FilterState // proxy_set_property when the stream has no shared FilterState
}

type phase int

const (
	phaseNone phase = iota
	phaseVMStart
	phaseConfigure
	phaseOther
)

// instance is one VM: a wazero module instance plus its proxy-wasm state.
type instance struct {
	p    *Plugin
	slot int
	gen  int

	ctx    context.Context
	cancel context.CancelFunc
	mod    api.Module
	mem    api.Memory
	f      funcs

	// mu serializes every call into the guest. All fields below are guarded
	// by it (host functions run while it is held).
	mu        sync.Mutex
	callStart atomic.Int64
	dead      atomic.Bool
	deathErr  error
	streams   atomic.Int32
	// memBytes is the linear memory size after the last top-level call.
	memBytes atomic.Uint64
	// deadline is the module's injected stop flag (deadline.go), nil for
	// a module run with wazero's context-done watching instead.
	deadline atomic.Pointer[api.MutableGlobal]

	root      *ctxRec
	nextID    uint32
	contexts  map[uint32]*ctxRec
	cur       *ctxRec
	effective *ctxRec
	phase     phase

	// per-callback inputs
	callResp    *calloutResult
	grpcResp    *grpcEvent
	foreignArgs []byte

	tickPeriod time.Duration
	tickStop   chan struct{}

	calls     map[uint32]*pendingCall
	nextCall  uint32
	localSent bool // send_local_response during the current callback
	doneWait  chan struct{}
}

var errDead = errors.New("instance is dead")

func (p *Plugin) newInstance(ctx context.Context, slot, gen int) (*instance, error) {
	r := p.rt
	in := &instance{p: p, slot: slot, gen: gen, nextID: 1, contexts: map[uint32]*ctxRec{}, calls: map[uint32]*pendingCall{}}
	base, cancel := context.WithCancel(context.Background())
	in.ctx = context.WithValue(base, instKey{}, in)
	in.cancel = cancel

	mc := wazero.NewModuleConfig().
		WithName("").
		WithStartFunctions().
		WithStdout(logWriter{emit: in.logf, lvl: LogInfo}).
		WithStderr(logWriter{emit: in.logf, lvl: LogError}).
		WithSysWalltime().
		WithSysNanotime().
		WithNanosleep(func(int64) {}).
		WithRandSource(rand.Reader)
	for k, v := range p.cfg.Env {
		mc = mc.WithEnv(k, v)
	}
	r.watch(in)
	mod, err := p.mod.wz.InstantiateModule(in.ctx, p.mod.compiled, mc)
	if err != nil {
		in.kill(err)
		return nil, fmt.Errorf("instantiate: %w", err)
	}
	in.mod = mod
	if p.mod.deadline {
		g, ok := mod.ExportedGlobal(deadlineGlobal).(api.MutableGlobal)
		if !ok {
			err := errors.New("the instrumented module lacks its deadline global")
			in.kill(err)
			return nil, fmt.Errorf("instantiate: %w", err)
		}
		in.deadline.Store(&g)
	}
	in.mem = mod.Memory()
	if in.mem == nil {
		in.kill(errors.New("no memory export"))
		return nil, errors.New("instantiate: the module exports no memory")
	}
	in.lookup()
	if !in.f.alloc.ok() {
		in.kill(errors.New("no allocator"))
		return nil, errors.New("instantiate: the module exports neither proxy_on_memory_allocate nor malloc")
	}
	if err := in.start(); err != nil {
		return nil, err
	}
	return in, nil
}

func (in *instance) lookup() {
	get := func(name string) *fn {
		f := in.mod.ExportedFunction(name)
		if f == nil {
			return nil
		}
		n := len(f.Definition().ParamTypes())
		nr := len(f.Definition().ResultTypes())
		return &fn{f: f, arity: n, results: nr, stack: make([]uint64, max(n, nr, 1))}
	}
	f := &in.f
	f.alloc = get("proxy_on_memory_allocate")
	if !f.alloc.ok() {
		f.alloc = get("malloc")
	}
	f.contextCreate = get("proxy_on_context_create")
	f.vmStart = get("proxy_on_vm_start")
	f.configure = get("proxy_on_configure")
	f.validate = get("proxy_validate_configuration")
	f.tick = get("proxy_on_tick")
	f.queueReady = get("proxy_on_queue_ready")
	f.foreign = get("proxy_on_foreign_function")
	f.done = get("proxy_on_done")
	f.log = get("proxy_on_log")
	f.delete = get("proxy_on_delete")
	f.newConn = get("proxy_on_new_connection")
	f.downData = get("proxy_on_downstream_data")
	f.upData = get("proxy_on_upstream_data")
	f.downClose = get("proxy_on_downstream_connection_close")
	f.upClose = get("proxy_on_upstream_connection_close")
	f.reqHeaders = get("proxy_on_request_headers")
	f.reqBody = get("proxy_on_request_body")
	f.reqTrailers = get("proxy_on_request_trailers")
	f.respHeaders = get("proxy_on_response_headers")
	f.respBody = get("proxy_on_response_body")
	f.respTrailers = get("proxy_on_response_trailers")
	f.httpCallResp = get("proxy_on_http_call_response")
	f.grpcInitMD = get("proxy_on_grpc_receive_initial_metadata")
	f.grpcTrailMD = get("proxy_on_grpc_receive_trailing_metadata")
	f.grpcReceive = get("proxy_on_grpc_receive")
	f.grpcClose = get("proxy_on_grpc_close")
}

// StartError says which step of starting a plugin instance failed.
type StartError struct {
	Plugin string
	Step   string // instantiate, _initialize, _start, proxy_on_context_create, proxy_on_vm_start, proxy_on_configure
	Err    error
}

func (e *StartError) Error() string {
	return fmt.Sprintf("plugin %q: %s failed: %v", e.Plugin, e.Step, e.Err)
}

func (e *StartError) Unwrap() error { return e.Err }

func (in *instance) start() error {
	in.mu.Lock()
	defer in.mu.Unlock()
	stepErr := func(step string, err error) error {
		in.kill(err)
		return &StartError{Plugin: in.p.cfg.Name, Step: step, Err: err}
	}
	if f := in.mod.ExportedFunction("_initialize"); f != nil {
		if _, err := in.rawCall(f); err != nil {
			return stepErr("_initialize", err)
		}
		for _, name := range []string{"main", "__main_void"} {
			if m := in.mod.ExportedFunction(name); m != nil {
				var args []uint64
				if len(m.Definition().ParamTypes()) == 2 {
					args = []uint64{0, 0}
				} else if len(m.Definition().ParamTypes()) != 0 {
					continue
				}
				if _, err := in.rawCall(m, args...); err != nil {
					return stepErr(name, err)
				}
				break
			}
		}
	} else if f := in.mod.ExportedFunction("_start"); f != nil {
		if _, err := in.rawCall(f); err != nil {
			return stepErr("_start", err)
		}
	}
	in.root = in.newContext(true)
	if _, err := in.call(in.f.contextCreate, in.root, uint64(in.root.id), 0); err != nil {
		return stepErr("proxy_on_context_create", err)
	}
	in.phase = phaseVMStart
	if in.f.vmStart.ok() {
		ok, err := in.call(in.f.vmStart, in.root, uint64(in.root.id), uint64(len(in.p.cfg.VMConfig)))
		if err != nil {
			return stepErr("proxy_on_vm_start", err)
		}
		if uint32(ok) == 0 {
			return stepErr("proxy_on_vm_start", errors.New("the plugin returned false (VM config rejected)"))
		}
	}
	in.phase = phaseConfigure
	if in.f.configure.ok() {
		ok, err := in.call(in.f.configure, in.root, uint64(in.root.id), uint64(len(in.p.cfg.PluginConfig)))
		if err != nil {
			return stepErr("proxy_on_configure", err)
		}
		if uint32(ok) == 0 {
			return stepErr("proxy_on_configure", errors.New("the plugin returned false (plugin config rejected)"))
		}
	}
	in.phase = phaseOther
	in.memBytes.Store(uint64(in.mem.Size()))
	return nil
}

func (in *instance) newContext(root bool) *ctxRec {
	return in.initContext(&ctxRec{}, root)
}

// initContext registers c (possibly embedded in a stream, which saves an
// allocation per stream) as a new context.
func (in *instance) initContext(c *ctxRec, root bool) *ctxRec {
	*c = ctxRec{id: in.nextID, root: root}
	in.nextID++
	in.contexts[c.id] = c
	return c
}

// rawCall calls a function with the watchdog armed. mu must be held.
func (in *instance) rawCall(f api.Function, args ...uint64) ([]uint64, error) {
	if in.dead.Load() {
		return nil, in.deadErr()
	}
	in.callStart.Store(time.Now().UnixNano())
	res, err := f.Call(in.ctx, args...)
	in.callStart.Store(0)
	if err != nil {
		in.kill(err)
		return nil, in.deadErr()
	}
	return res, nil
}

// call invokes an exported callback on context c. A nil or absent callback
// returns 0, nil. mu must be held. Arguments beyond the export's arity are
// dropped (0.1.0 2-arg header callbacks); missing ones are zero.
func (in *instance) call(f *fn, c *ctxRec, args ...uint64) (uint64, error) {
	if !f.ok() {
		if in.dead.Load() {
			return 0, in.deadErr()
		}
		return 0, nil
	}
	if in.dead.Load() {
		return 0, in.deadErr()
	}
	prevCur, prevEff := in.cur, in.effective
	in.cur, in.effective = c, nil
	st := f.stack
	for i := 0; i < f.arity; i++ {
		if i < len(args) {
			st[i] = uint64(uint32(args[i]))
		} else {
			st[i] = 0
		}
	}
	top := in.callStart.Load() == 0
	if top {
		in.callStart.Store(time.Now().UnixNano())
	}
	err := f.f.CallWithStack(in.ctx, st)
	if top {
		in.callStart.Store(0)
		if err == nil {
			in.memBytes.Store(uint64(in.mem.Size()))
		}
	}
	in.cur, in.effective = prevCur, prevEff
	if err != nil {
		in.kill(err)
		return 0, in.deadErr()
	}
	if f.results == 0 {
		return 0, nil
	}
	return st[0], nil
}

// interrupt stops the instance's running callback, if any: it cancels the
// instance's context (modules run with wazero's context-done watching stop
// on it) and raises the injected deadline flag (instrumented modules trap
// at their next loop iteration).
func (in *instance) interrupt() {
	in.cancel()
	if g := in.deadline.Load(); g != nil {
		(*g).Set(1)
	}
}

func (in *instance) deadErr() error {
	if in.deathErr != nil {
		return in.deathErr
	}
	return errDead
}

// kill marks the instance dead, closes its module and schedules a rebuild.
// It is idempotent.
func (in *instance) kill(err error) {
	if in.dead.Swap(true) {
		return
	}
	if in.ctx.Err() != nil && !errors.Is(err, context.Canceled) {
		err = fmt.Errorf("callback exceeded %s: %w", in.p.rt.cfg.CallbackTimeout, err)
	}
	in.deathErr = fmt.Errorf("plugin %q instance %d: %w", in.p.cfg.Name, in.slot, err)
	in.cancel()
	in.p.rt.unwatch(in)
	if in.tickStop != nil {
		close(in.tickStop)
		in.tickStop = nil
	}
	go func() {
		if in.mod != nil {
			in.mod.Close(context.Background())
		}
	}()
	in.p.instanceDied(in, in.deathErr)
}

// allocate copies data into guest memory through the guest allocator and
// returns the guest pointer. Never called with len 0.
func (in *instance) allocate(ctx context.Context, size uint32) (uint32, bool) {
	if size == 0 {
		return 0, true
	}
	a := in.f.alloc
	a.stack[0] = uint64(size)
	if err := a.f.CallWithStack(ctx, a.stack); err != nil {
		// The caller's callback will fail with the same error.
		panic(err)
	}
	p := uint32(a.stack[0])
	return p, p != 0
}

// logf emits a plugin log line.
func (in *instance) logf(lvl LogLevel, msg string) {
	in.p.emitLog(lvl, msg)
}

// ensure the instance's streams and root context are torn down.
func (in *instance) lockedTick() {
	in.mu.Lock()
	defer in.mu.Unlock()
	if in.dead.Load() || in.root == nil {
		return
	}
	in.call(in.f.tick, in.root, uint64(in.root.id))
}

func (in *instance) setTick(d time.Duration) {
	if in.tickStop != nil {
		close(in.tickStop)
		in.tickStop = nil
	}
	in.tickPeriod = d
	if d <= 0 || !in.f.tick.ok() {
		return
	}
	stop := make(chan struct{})
	in.tickStop = stop
	go func() {
		t := time.NewTicker(d)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-t.C:
				if in.dead.Load() {
					return
				}
				in.lockedTick()
			}
		}
	}()
}
