package httpfilter

import (
	"context"
	"time"

	"github.com/wasmctl/wasmctl/runtime/host"
)

type evKind int

const (
	evHeaders evKind = iota
	evData
	evTrailers
)

type event struct {
	kind evKind
	h    host.Pairs
	data []byte
	eos  bool
}

// ops is one direction of one host stream.
type ops interface {
	headers(h host.Pairs, eos bool) host.Result
	body(chunk []byte, eos bool) host.Result
	// headersTake and bodyTake are headers and body followed, when the
	// filter continues, by takeHeaders / takeBody, under one VM lock.
	headersTake(h host.Pairs, eos bool) (host.Result, host.Pairs)
	bodyTake(chunk []byte, eos bool) (host.Result, []byte)
	buffer(chunk []byte)
	trailers(t host.Pairs) host.Result
	takeHeaders() host.Pairs
	takeBody() []byte
	takeTrailers() host.Pairs
	wait(ctx context.Context) host.Result
	poll() (host.Result, bool)
}

type reqOps struct{ s *host.HTTPStream }

func (o reqOps) headers(h host.Pairs, eos bool) host.Result { return o.s.OnRequestHeaders(h, eos) }
func (o reqOps) body(c []byte, eos bool) host.Result        { return o.s.OnRequestBody(c, eos) }
func (o reqOps) headersTake(h host.Pairs, eos bool) (host.Result, host.Pairs) {
	return o.s.OnRequestHeadersTake(h, eos)
}
func (o reqOps) bodyTake(c []byte, eos bool) (host.Result, []byte) {
	return o.s.OnRequestBodyTake(c, eos)
}
func (o reqOps) buffer(c []byte)                      { o.s.BufferRequestBody(c) }
func (o reqOps) trailers(t host.Pairs) host.Result    { return o.s.OnRequestTrailers(t) }
func (o reqOps) takeHeaders() host.Pairs              { return o.s.RequestHeaders() }
func (o reqOps) takeBody() []byte                     { return o.s.TakeRequestBody() }
func (o reqOps) takeTrailers() host.Pairs             { return o.s.RequestTrailers() }
func (o reqOps) wait(ctx context.Context) host.Result { return o.s.Wait(ctx, host.Request) }
func (o reqOps) poll() (host.Result, bool)            { return o.s.Poll(host.Request) }

type respOps struct{ s *host.HTTPStream }

func (o respOps) headers(h host.Pairs, eos bool) host.Result { return o.s.OnResponseHeaders(h, eos) }
func (o respOps) body(c []byte, eos bool) host.Result        { return o.s.OnResponseBody(c, eos) }
func (o respOps) headersTake(h host.Pairs, eos bool) (host.Result, host.Pairs) {
	return o.s.OnResponseHeadersTake(h, eos)
}
func (o respOps) bodyTake(c []byte, eos bool) (host.Result, []byte) {
	return o.s.OnResponseBodyTake(c, eos)
}
func (o respOps) buffer(c []byte)                      { o.s.BufferResponseBody(c) }
func (o respOps) trailers(t host.Pairs) host.Result    { return o.s.OnResponseTrailers(t) }
func (o respOps) takeHeaders() host.Pairs              { return o.s.ResponseHeaders() }
func (o respOps) takeBody() []byte                     { return o.s.TakeResponseBody() }
func (o respOps) takeTrailers() host.Pairs             { return o.s.ResponseTrailers() }
func (o respOps) wait(ctx context.Context) host.Result { return o.s.Wait(ctx, host.Response) }
func (o respOps) poll() (host.Result, bool)            { return o.s.Poll(host.Response) }

// terminal ends a stream early: a local reply, a reset, or a wait error.
type terminal struct {
	reply *host.LocalReply
	reset bool
	err   error
}

func terminalOf(r host.Result) *terminal {
	if r.LocalReply != nil {
		return &terminal{reply: r.LocalReply, err: r.Err}
	}
	if r.Close {
		return &terminal{reset: true, err: r.Err}
	}
	return nil
}

// stage runs one filter in one direction with Envoy's iteration rules: a
// stop on headers holds headers, body and trailers (body callbacks are not
// called) until the filter continues; a stop on data buffers data until a
// later data callback (or the filter) continues.
type stage struct {
	o ops

	held         bool // stopped on headers
	dataHeld     bool // stopped on data
	trailersHeld bool
	buffered     bool // data arrived while held
	hasTrailers  bool
	pendingTrl   host.Pairs
	sawEOS       bool
	headersEOS   bool
	ended        bool

	// scratch backs push's result, reused from event to event: the
	// pipeline consumes it before pushing into this stage again.
	scratch [2]event
}

func (st *stage) needsWait() bool {
	return !st.ended && st.sawEOS && (st.held || st.dataHeld || st.trailersHeld)
}

func (st *stage) push(ev event) ([]event, *terminal) {
	out := st.scratch[:0]
	if st.o == nil {
		return append(out, ev), nil
	}
	if st.held || st.dataHeld || st.trailersHeld {
		if r, ok := st.o.poll(); ok {
			if t := terminalOf(r); t != nil {
				return nil, t
			}
			o, t := st.resume()
			if t != nil {
				return nil, t
			}
			out = append(out, o...)
		}
	}
	switch ev.kind {
	case evHeaders:
		st.sawEOS, st.headersEOS = ev.eos, ev.eos
		r, h := st.o.headersTake(ev.h, ev.eos)
		if t := terminalOf(r); t != nil {
			return nil, t
		}
		if r.Continue {
			out = append(out, event{kind: evHeaders, h: h, eos: ev.eos})
			st.ended = ev.eos
		} else {
			st.held = true
		}
	case evData:
		st.sawEOS = ev.eos
		if st.held {
			st.o.buffer(ev.data)
			st.buffered = true
			return out, nil
		}
		r, b := st.o.bodyTake(ev.data, ev.eos)
		if t := terminalOf(r); t != nil {
			return nil, t
		}
		if r.Continue {
			st.dataHeld = false
			out = append(out, event{kind: evData, data: b, eos: ev.eos})
			st.ended = ev.eos
		} else {
			st.dataHeld = true
		}
	case evTrailers:
		st.sawEOS, st.hasTrailers = true, true
		if st.held {
			st.pendingTrl = ev.h
			return out, nil
		}
		o, t := st.runTrailers(ev.h)
		if t != nil {
			return nil, t
		}
		out = append(out, o...)
	}
	return out, nil
}

func (st *stage) runTrailers(h host.Pairs) ([]event, *terminal) {
	r := st.o.trailers(h)
	if t := terminalOf(r); t != nil {
		return nil, t
	}
	if !r.Continue {
		st.trailersHeld = true
		return nil, nil
	}
	return st.flushWithTrailers(), nil
}

func (st *stage) flushWithTrailers() []event {
	var out []event
	if b := st.o.takeBody(); len(b) > 0 {
		out = append(out, event{kind: evData, data: b})
	}
	st.dataHeld, st.trailersHeld, st.ended = false, false, true
	return append(out, event{kind: evTrailers, h: st.o.takeTrailers(), eos: true})
}

// resume releases what the stage holds after the filter continued.
func (st *stage) resume() ([]event, *terminal) {
	var out []event
	switch {
	case st.held:
		st.held = false
		out = append(out, event{kind: evHeaders, h: st.o.takeHeaders(), eos: st.headersEOS})
		if st.headersEOS {
			st.ended = true
			return out, nil
		}
		if st.buffered {
			eos := st.sawEOS && st.pendingTrl == nil
			r := st.o.body(nil, eos)
			if t := terminalOf(r); t != nil {
				return nil, t
			}
			if !r.Continue {
				st.dataHeld = true
				return out, nil
			}
			out = append(out, event{kind: evData, data: st.o.takeBody(), eos: eos})
			st.ended = eos
		}
		if st.pendingTrl != nil {
			o, t := st.runTrailers(st.pendingTrl)
			if t != nil {
				return nil, t
			}
			out = append(out, o...)
		}
	case st.dataHeld && !st.hasTrailers:
		st.dataHeld = false
		out = append(out, event{kind: evData, data: st.o.takeBody(), eos: st.sawEOS})
		st.ended = st.sawEOS
	case st.dataHeld || st.trailersHeld:
		if st.trailersHeld || !st.sawEOS {
			out = append(out, st.flushWithTrailers()...)
		} else {
			st.dataHeld = false
			out = append(out, event{kind: evData, data: st.o.takeBody()})
		}
	}
	return out, nil
}

func (st *stage) finish(ctx *waitCtx) ([]event, *terminal) {
	if st.o == nil {
		return nil, nil
	}
	var out []event
	for st.needsWait() {
		r := st.o.wait(ctx.get())
		if t := terminalOf(r); t != nil {
			return nil, t
		}
		o, t := st.resume()
		if t != nil {
			return nil, t
		}
		out = append(out, o...)
	}
	return out, nil
}

// pipeline pushes events through stages into a sink.
type pipeline struct {
	stages []stage
	sink   sink
}

// sink receives what the last stage passes on.
type sink interface {
	sink(ev event) *terminal
}

func (p *pipeline) push(i int, ev event) *terminal {
	if i == len(p.stages) {
		return p.sink.sink(ev)
	}
	out, t := p.stages[i].push(ev)
	if t != nil {
		return t
	}
	for _, e := range out {
		if t := p.push(i+1, e); t != nil {
			return t
		}
	}
	return nil
}

// finish waits, stage by stage, for filters that still hold data after the
// end of input.
func (p *pipeline) finish(ctx *waitCtx) *terminal {
	for i := range p.stages {
		out, t := p.stages[i].finish(ctx)
		if t != nil {
			return t
		}
		for _, e := range out {
			if t := p.push(i+1, e); t != nil {
				return t
			}
		}
	}
	return nil
}

// waitCtx is the context paused streams wait under, bounded by
// Options.PauseTimeout. It is made on first use: most requests never wait,
// and a timer per request is measurable on the filter path.
type waitCtx struct {
	parent  context.Context
	timeout time.Duration
	ctx     context.Context
	cancel  context.CancelFunc
}

func (w *waitCtx) get() context.Context {
	if w.ctx == nil {
		w.ctx, w.cancel = context.WithTimeout(w.parent, w.timeout)
	}
	return w.ctx
}

func (w *waitCtx) stop() {
	if w.cancel != nil {
		w.cancel()
	}
}
