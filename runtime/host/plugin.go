package host

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// FailStrategy is what happens to a stream whose VM is dead.
type FailStrategy int

const (
	// FailClose answers the stream with a 503 local reply (TCP: closes it).
	FailClose FailStrategy = iota
	// FailOpen skips the filter for that stream.
	FailOpen
)

func (f FailStrategy) String() string {
	if f == FailOpen {
		return "FAIL_OPEN"
	}
	return "FAIL_CLOSE"
}

// PluginConfig configures one plugin (Envoy's PluginConfig + VmConfig).
type PluginConfig struct {
	// Name identifies the plugin in logs, metrics and status (plugin_name).
	Name string
	// RootID is the root context id the guest sees (plugin_root_id).
	RootID string
	// VMID scopes shared data and queues (plugin_vm_id).
	VMID string
	// VMConfig is given to proxy_on_vm_start (buffer VM_CONFIGURATION).
	VMConfig []byte
	// PluginConfig is given to proxy_on_configure (buffer PLUGIN_CONFIGURATION).
	PluginConfig []byte
	// Env is the guest's WASI environment; the host's own is never passed.
	Env map[string]string
	// FailStrategy applies to the streams of a crashed VM.
	FailStrategy FailStrategy
	// PoolSize is the number of VM instances. Default min(GOMAXPROCS, 4).
	PoolSize int
	// Properties are static attributes served by proxy_get_property, as a
	// tree: keys are path segments, leaves are string, []byte, bool,
	// int/int64, uint64, float64, time.Duration, time.Time or a nested
	// map[string]any / map[string]string. Typical roots: "node",
	// "cluster_name", "cluster_metadata", "route_metadata",
	// "listener_direction", "xds".
	Properties map[string]any
}

// InstanceState is the state of a VM slot.
type InstanceState string

// Instance states.
const (
	StateStarting   InstanceState = "starting"
	StateRunning    InstanceState = "running"
	StateCrashed    InstanceState = "crashed"
	StateRebuilding InstanceState = "rebuilding"
	StateClosed     InstanceState = "closed"
)

// PluginStatus is a snapshot for an admin endpoint.
type PluginStatus struct {
	Name         string     `json:"name"`
	RootID       string     `json:"root_id"`
	VMID         string     `json:"vm_id"`
	Digest       string     `json:"digest"`
	ABI          ABIVersion `json:"abi"`
	State        string     `json:"state"` // running, degraded (some VMs down), down, closed
	FailStrategy string     `json:"fail_strategy"`
	Instances    int        `json:"instances"`
	Live         int        `json:"live"`
	Streams      int        `json:"streams"`
	Crashes      uint64     `json:"crashes"`
	// MemoryBytes is the linear memory of the live VMs, in bytes, as of
	// their last callback.
	MemoryBytes uint64          `json:"memory_bytes"`
	Rebuilds    uint64          `json:"rebuilds"`
	LastError   string          `json:"last_error,omitempty"`
	LastErrorAt time.Time       `json:"last_error_at,omitzero"`
	Started     time.Time       `json:"started"`
	Slots       []InstanceState `json:"slots"`
}

// Plugin is a started filter: a pool of VM instances.
type Plugin struct {
	rt  *Runtime
	mod *Module
	cfg PluginConfig
	log *slog.Logger

	started time.Time
	closed  atomic.Bool
	active  sync.WaitGroup
	rr      atomic.Uint32

	mu          sync.Mutex
	slots       []*instance
	slotState   []InstanceState
	consecutive []int
	crashes     atomic.Uint64
	rebuilds    atomic.Uint64
	lastErr     error
	lastErrAt   time.Time
	closeCh     chan struct{}
}

// Module returns the compiled module the plugin runs.
func (p *Plugin) Module() *Module { return p.mod }

// Config returns the plugin's configuration.
func (p *Plugin) Config() PluginConfig { return p.cfg }

// NewPlugin starts a plugin: it instantiates PoolSize VMs and runs, in each,
// _initialize (+main) or _start, proxy_on_context_create for the root
// context, proxy_on_vm_start and proxy_on_configure. It returns only once
// every VM is ready, or a *StartError naming the step that failed.
func (r *Runtime) NewPlugin(ctx context.Context, m *Module, cfg PluginConfig) (*Plugin, error) {
	if m == nil {
		return nil, errors.New("host: NewPlugin: nil module (call Runtime.Compile first)")
	}
	if cfg.PoolSize <= 0 {
		cfg.PoolSize = min(runtime.GOMAXPROCS(0), 4)
	}
	if cfg.Name == "" {
		cfg.Name = cfg.RootID
	}
	p := &Plugin{
		rt: r, mod: m, cfg: cfg, started: time.Now(),
		slots:       make([]*instance, cfg.PoolSize),
		slotState:   make([]InstanceState, cfg.PoolSize),
		consecutive: make([]int, cfg.PoolSize),
		closeCh:     make(chan struct{}),
		log:         r.log.With("plugin", cfg.Name),
	}
	for i := range p.slots {
		p.slotState[i] = StateStarting
		in, err := p.newInstance(ctx, i, 0)
		if err != nil {
			for _, o := range p.slots[:i] {
				o.shutdown()
			}
			var se *StartError
			if !errors.As(err, &se) {
				err = &StartError{Plugin: cfg.Name, Step: "instantiate", Err: err}
			}
			return nil, err
		}
		p.slots[i] = in
		p.slotState[i] = StateRunning
	}
	r.plugMu.Lock()
	r.plugins[p] = struct{}{}
	r.plugMu.Unlock()
	return p, nil
}

func (p *Plugin) emitLog(lvl LogLevel, msg string) {
	if lvl < p.rt.cfg.LogLevel {
		return
	}
	p.log.Log(context.Background(), lvl.slog(), msg, "source", "wasm")
}

// ErrUnavailable means no live VM can take a new stream (all crashed and
// rebuilding, or the plugin is closed). Apply the FailStrategy.
var ErrUnavailable = errors.New("plugin unavailable: no live VM instance")

// acquire picks the live instance with the fewest streams.
func (p *Plugin) acquire() (*instance, error) {
	if p.closed.Load() {
		return nil, fmt.Errorf("plugin %q is closed: %w", p.cfg.Name, ErrUnavailable)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	var best *instance
	n := len(p.slots)
	start := int(p.rr.Add(1))
	for k := 0; k < n; k++ {
		in := p.slots[(start+k)%n]
		if in == nil || in.dead.Load() {
			continue
		}
		if best == nil || in.streams.Load() < best.streams.Load() {
			best = in
		}
	}
	if best == nil {
		return nil, fmt.Errorf("plugin %q: %w (last error: %v)", p.cfg.Name, ErrUnavailable, p.lastErr)
	}
	best.streams.Add(1)
	p.active.Add(1)
	return best, nil
}

func (p *Plugin) release(in *instance) {
	in.streams.Add(-1)
	p.active.Done()
}

// instanceDied is called once per dead instance (with in.mu possibly held).
func (p *Plugin) instanceDied(in *instance, err error) {
	p.mu.Lock()
	p.lastErr, p.lastErrAt = err, time.Now()
	if p.slots[in.slot] != in || p.closed.Load() {
		// Not serving yet (a failed start or rebuild, reported by its
		// caller) or closing: not a crash.
		p.mu.Unlock()
		return
	}
	p.crashes.Add(1)
	p.rt.metrics.hostCounter(p.cfg.Name, "crashes")
	p.log.Error("wasm VM crashed", "slot", in.slot, "err", err)
	p.slotState[in.slot] = StateCrashed
	p.consecutive[in.slot]++
	attempt := p.consecutive[in.slot]
	p.mu.Unlock()
	// Fail the streams bound to this instance that are waiting for an event.
	for _, c := range in.contextsSnapshot() {
		if c.http != nil {
			c.http.notify()
		}
		if c.tcp != nil {
			c.tcp.notify()
		}
	}
	go p.rebuild(in.slot, in.gen+1, attempt)
}

func (in *instance) contextsSnapshot() []*ctxRec {
	// contexts is only mutated under mu; instanceDied may run under mu (from a
	// callback) or without (instantiate). Copying is safe in both cases
	// because a dead instance receives no further callbacks.
	out := make([]*ctxRec, 0, len(in.contexts))
	for _, c := range in.contexts {
		out = append(out, c)
	}
	return out
}

func (p *Plugin) backoff(attempt int) time.Duration {
	d := p.rt.cfg.RebuildBackoff
	for i := 1; i < attempt && d < p.rt.cfg.MaxRebuildBackoff; i++ {
		d *= 2
	}
	return min(d, p.rt.cfg.MaxRebuildBackoff)
}

func (p *Plugin) rebuild(slot, gen, attempt int) {
	for {
		select {
		case <-time.After(p.backoff(attempt)):
		case <-p.closeCh:
			return
		}
		p.mu.Lock()
		p.slotState[slot] = StateRebuilding
		p.mu.Unlock()
		in, err := p.newInstance(context.Background(), slot, gen)
		p.mu.Lock()
		if p.closed.Load() {
			p.mu.Unlock()
			if in != nil {
				in.shutdown()
			}
			return
		}
		if err != nil {
			p.lastErr, p.lastErrAt = err, time.Now()
			p.consecutive[slot]++
			attempt = p.consecutive[slot]
			p.slotState[slot] = StateCrashed
			p.mu.Unlock()
			p.log.Error("wasm VM rebuild failed", "slot", slot, "err", err)
			continue
		}
		p.slots[slot] = in
		p.slotState[slot] = StateRunning
		p.rebuilds.Add(1)
		p.mu.Unlock()
		p.log.Info("wasm VM rebuilt", "slot", slot, "attempt", attempt)
		// Reset the consecutive counter once the new VM survived a while.
		go func() {
			select {
			case <-time.After(p.rt.cfg.MaxRebuildBackoff):
			case <-p.closeCh:
				return
			}
			p.mu.Lock()
			if p.slots[slot] == in && !in.dead.Load() {
				p.consecutive[slot] = 0
			}
			p.mu.Unlock()
		}()
		return
	}
}

// Status returns a snapshot of the plugin's health.
func (p *Plugin) Status() PluginStatus {
	p.mu.Lock()
	defer p.mu.Unlock()
	st := PluginStatus{
		Name: p.cfg.Name, RootID: p.cfg.RootID, VMID: p.cfg.VMID, Digest: p.mod.Digest, ABI: p.mod.ABI,
		FailStrategy: p.cfg.FailStrategy.String(), Instances: len(p.slots),
		Crashes: p.crashes.Load(), Rebuilds: p.rebuilds.Load(), Started: p.started,
		Slots: append([]InstanceState(nil), p.slotState...),
	}
	for i, in := range p.slots {
		if in != nil && !in.dead.Load() {
			st.Live++
			st.Streams += int(in.streams.Load())
			st.MemoryBytes += in.memBytes.Load()
		} else if st.Slots[i] == StateRunning {
			st.Slots[i] = StateCrashed
		}
	}
	if p.lastErr != nil {
		st.LastError, st.LastErrorAt = p.lastErr.Error(), p.lastErrAt
	}
	switch {
	case p.closed.Load():
		st.State = "closed"
	case st.Live == st.Instances:
		st.State = "running"
	case st.Live == 0:
		st.State = "down"
	default:
		st.State = "degraded"
	}
	return st
}

// Close stops new streams, waits (bounded by ctx) for open streams to
// finish, then calls proxy_on_done on each root context (waiting for
// proxy_done if it answers false), proxy_on_delete, and closes the VMs.
func (p *Plugin) Close(ctx context.Context) error {
	if p.closed.Swap(true) {
		return nil
	}
	close(p.closeCh)
	drained := make(chan struct{})
	go func() { p.active.Wait(); close(drained) }()
	var err error
	select {
	case <-drained:
	case <-ctx.Done():
		err = fmt.Errorf("plugin %q: streams still open at close: %w", p.cfg.Name, ctx.Err())
	}
	p.mu.Lock()
	slots := append([]*instance(nil), p.slots...)
	for i := range p.slotState {
		p.slotState[i] = StateClosed
	}
	p.mu.Unlock()
	for _, in := range slots {
		if in != nil {
			in.finishRoot(ctx)
			in.shutdown()
		}
	}
	p.rt.plugMu.Lock()
	delete(p.rt.plugins, p)
	p.rt.plugMu.Unlock()
	return err
}

// finishRoot runs proxy_on_done on the root context and honours a false
// answer by waiting (bounded) for proxy_done, then proxy_on_delete.
func (in *instance) finishRoot(ctx context.Context) {
	in.mu.Lock()
	if in.dead.Load() || in.root == nil {
		in.mu.Unlock()
		return
	}
	in.setTick(0)
	done, err := in.call(in.f.done, in.root, uint64(in.root.id))
	wait := in.f.done.ok() && err == nil && uint32(done) == 0
	if wait {
		in.doneWait = make(chan struct{})
	}
	ch := in.doneWait
	in.mu.Unlock()
	if wait {
		t := time.NewTimer(in.p.rt.cfg.CallbackTimeout)
		select {
		case <-ch:
		case <-ctx.Done():
		case <-t.C:
		}
		t.Stop()
	}
	in.mu.Lock()
	in.call(in.f.delete, in.root, uint64(in.root.id))
	in.mu.Unlock()
}

// shutdown closes the VM without counting a crash.
func (in *instance) shutdown() {
	if in.dead.Swap(true) {
		return
	}
	in.deathErr = fmt.Errorf("plugin %q: %w", in.p.cfg.Name, ErrUnavailable)
	in.p.rt.unwatch(in)
	in.mu.Lock()
	if in.tickStop != nil {
		close(in.tickStop)
		in.tickStop = nil
	}
	in.mu.Unlock()
	in.interrupt()
	if in.mod != nil {
		in.mod.Close(context.Background())
	}
}

// --- watchdog: a per-runtime goroutine enforcing CallbackTimeout ---

type watchdog struct {
	mu    sync.Mutex
	set   map[*instance]struct{}
	start sync.Once
}

func (r *Runtime) watch(in *instance) {
	w := &r.wd
	w.mu.Lock()
	if w.set == nil {
		w.set = map[*instance]struct{}{}
	}
	w.set[in] = struct{}{}
	w.mu.Unlock()
	w.start.Do(func() { go r.watchLoop() })
}

func (r *Runtime) unwatch(in *instance) {
	r.wd.mu.Lock()
	delete(r.wd.set, in)
	r.wd.mu.Unlock()
}

func (r *Runtime) watchLoop() {
	period := max(min(r.cfg.CallbackTimeout/10, 50*time.Millisecond), time.Millisecond)
	t := time.NewTicker(period)
	defer t.Stop()
	for {
		select {
		case <-r.done:
			return
		case now := <-t.C:
			limit := now.Add(-r.cfg.CallbackTimeout).UnixNano()
			r.wd.mu.Lock()
			for in := range r.wd.set {
				if s := in.callStart.Load(); s != 0 && s < limit {
					in.interrupt()
				}
			}
			r.wd.mu.Unlock()
		}
	}
}
