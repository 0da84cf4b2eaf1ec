package host

import (
	"context"
	"encoding/binary"
	"strconv"
	"time"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
)

// args holds a host call's i32 arguments, truncated from the uint64 stack
// slots (the upper 32 bits are not guaranteed to be zero).
type args [12]uint32

type hostFunc func(ctx context.Context, in *instance, a args) Status

type envFunc struct {
	name    string
	params  int      // number of i32 params (i64 ones are listed in i64At)
	i64At   int      // index of an i64 param, or -1
	results int      // 0 or 1
	fn      hostFunc // nil for the i64 special cases
	raw     api.GoModuleFunc
}

var envFuncs []envFunc

// envSignatures is the set of env imports this host provides.
var envSignatures = map[string]struct{}{}

func instOf(ctx context.Context) *instance {
	in, _ := ctx.Value(instKey{}).(*instance)
	return in
}

func exportEnv(b wazero.HostModuleBuilder) {
	for _, e := range envFuncs {
		e := e
		params := make([]api.ValueType, e.params)
		for i := range params {
			params[i] = api.ValueTypeI32
			if i == e.i64At {
				params[i] = api.ValueTypeI64
			}
		}
		var results []api.ValueType
		if e.results == 1 {
			results = []api.ValueType{api.ValueTypeI32}
		}
		gf := e.raw
		if gf == nil {
			n, f := e.params, e.fn
			gf = func(ctx context.Context, _ api.Module, st []uint64) {
				in := instOf(ctx)
				if in == nil {
					if len(st) > 0 {
						st[0] = uint64(StatusInternalFailure)
					}
					return
				}
				var a args
				for i := 0; i < n; i++ {
					a[i] = uint32(st[i])
				}
				s := f(ctx, in, a)
				if e.results == 1 {
					st[0] = uint64(s)
				}
			}
		}
		b.NewFunctionBuilder().WithGoModuleFunction(gf, params, results).Export(e.name)
	}
}

func def(name string, params int, fn hostFunc) {
	envFuncs = append(envFuncs, envFunc{name: name, params: params, i64At: -1, results: 1, fn: fn})
	envSignatures[name] = struct{}{}
}

func init() {
	def("proxy_log", 3, hLog)
	def("proxy_get_log_level", 1, func(_ context.Context, in *instance, a args) Status {
		return in.wU32(a[0], uint32(in.p.rt.cfg.LogLevel))
	})
	def("proxy_get_current_time_nanoseconds", 1, func(_ context.Context, in *instance, a args) Status {
		return in.wU64(a[0], uint64(time.Now().UnixNano()))
	})
	def("proxy_set_tick_period_milliseconds", 1, func(_ context.Context, in *instance, a args) Status {
		in.setTick(time.Duration(a[0]) * time.Millisecond)
		return StatusOK
	})
	def("proxy_get_configuration", 2, func(ctx context.Context, in *instance, a args) Status {
		cfg := in.p.cfg.PluginConfig
		if in.phase == phaseVMStart {
			cfg = in.p.cfg.VMConfig
		}
		return in.copyOut(ctx, cfg, a[0], a[1])
	})
	def("proxy_get_buffer_bytes", 5, hGetBuffer)
	def("proxy_set_buffer_bytes", 5, hSetBuffer)
	def("proxy_get_buffer_status", 3, func(_ context.Context, in *instance, a args) Status {
		b, ok := in.buffer(a[0])
		if !ok {
			return StatusNotFound
		}
		if s := in.wU32(a[1], uint32(len(*b))); s != StatusOK {
			return s
		}
		return in.wU32(a[2], 0)
	})
	def("proxy_get_header_map_size", 2, func(_ context.Context, in *instance, a args) Status {
		m, st := in.headerMap(a[0])
		if st != StatusOK {
			return st
		}
		return in.wU32(a[1], uint32(len(EncodePairs(*m))))
	})
	def("proxy_get_header_map_pairs", 3, func(ctx context.Context, in *instance, a args) Status {
		m, st := in.headerMap(a[0])
		if st != StatusOK {
			return st
		}
		return in.copyOut(ctx, EncodePairs(*m), a[1], a[2])
	})
	def("proxy_set_header_map_pairs", 3, func(_ context.Context, in *instance, a args) Status {
		m, st := in.headerMap(a[0])
		if st != StatusOK {
			return st
		}
		b, ok := in.read(a[1], a[2])
		if !ok {
			return StatusInvalidMemoryAccess
		}
		p, err := DecodePairs(b)
		if err != nil {
			return StatusBadArgument
		}
		for i := range p {
			p[i][0] = lower(p[i][0])
		}
		*m = p
		return StatusOK
	})
	def("proxy_get_header_map_value", 5, func(ctx context.Context, in *instance, a args) Status {
		m, st := in.headerMap(a[0])
		if st != StatusOK {
			if in.p.mod.ABI == ABI010 && st == StatusNotFound {
				return in.copyOut(ctx, nil, a[3], a[4])
			}
			return st
		}
		k, ok := in.read(a[1], a[2])
		if !ok {
			return StatusInvalidMemoryAccess
		}
		v, found := m.Get(string(k))
		if !found {
			if in.p.mod.ABI == ABI010 {
				return in.copyOut(ctx, nil, a[3], a[4])
			}
			return StatusNotFound
		}
		return in.copyOutString(ctx, v, a[3], a[4])
	})
	def("proxy_add_header_map_value", 5, func(_ context.Context, in *instance, a args) Status {
		return in.mutateHeader(a, func(m *Pairs, k, v string) { m.Add(k, v) })
	})
	def("proxy_replace_header_map_value", 5, func(_ context.Context, in *instance, a args) Status {
		return in.mutateHeader(a, func(m *Pairs, k, v string) { m.Set(k, v) })
	})
	def("proxy_remove_header_map_value", 3, func(_ context.Context, in *instance, a args) Status {
		m, st := in.writableMap(a[0])
		if st != StatusOK {
			return st
		}
		k, ok := in.read(a[1], a[2])
		if !ok {
			return StatusInvalidMemoryAccess
		}
		m.Del(string(k))
		return StatusOK
	})
	def("proxy_continue_stream", 1, func(_ context.Context, in *instance, a args) Status {
		return in.streamSignal(a[0], false)
	})
	def("proxy_close_stream", 1, func(_ context.Context, in *instance, a args) Status {
		return in.streamSignal(a[0], true)
	})
	def("proxy_continue_request", 0, func(_ context.Context, in *instance, a args) Status {
		return in.streamSignal(streamHTTPRequest, false)
	})
	def("proxy_continue_response", 0, func(_ context.Context, in *instance, a args) Status {
		return in.streamSignal(streamHTTPResponse, false)
	})
	def("proxy_clear_route_cache", 0, func(context.Context, *instance, args) Status { return StatusOK })
	def("proxy_send_local_response", 8, hSendLocalResponse)
	def("proxy_get_status", 3, func(ctx context.Context, in *instance, a args) Status {
		code, msg := uint32(0), ""
		switch {
		case in.grpcResp != nil:
			code, msg = in.grpcResp.status, in.grpcResp.message
		case in.callResp != nil:
			code, msg = uint32(in.callResp.status), in.callResp.statusText
		default:
			return StatusNotFound
		}
		if s := in.wU32(a[0], code); s != StatusOK {
			return s
		}
		return in.copyOutString(ctx, msg, a[1], a[2])
	})
	def("proxy_http_call", 10, hHTTPCall)
	def("proxy_grpc_call", 12, hGRPCCall)
	def("proxy_grpc_stream", 9, hGRPCStream)
	def("proxy_grpc_send", 4, hGRPCSend)
	def("proxy_grpc_cancel", 1, func(_ context.Context, in *instance, a args) Status { return in.grpcCancel(a[0], false) })
	def("proxy_grpc_close", 1, func(_ context.Context, in *instance, a args) Status { return in.grpcCancel(a[0], true) })
	def("proxy_set_shared_data", 5, hSetShared)
	def("proxy_get_shared_data", 5, hGetShared)
	def("proxy_register_shared_queue", 3, hRegisterQueue)
	def("proxy_resolve_shared_queue", 5, hResolveQueue)
	def("proxy_enqueue_shared_queue", 3, hEnqueue)
	def("proxy_dequeue_shared_queue", 3, hDequeue)
	def("proxy_define_metric", 4, hDefineMetric)
	envFuncs = append(envFuncs,
		envFunc{name: "proxy_increment_metric", params: 2, i64At: 1, results: 1, raw: metricI64(false)},
		envFunc{name: "proxy_record_metric", params: 2, i64At: 1, results: 1, raw: metricI64(true)},
		envFunc{name: "emscripten_notify_memory_growth", params: 1, i64At: -1, results: 0,
			raw: func(context.Context, api.Module, []uint64) {}},
	)
	envSignatures["proxy_increment_metric"] = struct{}{}
	envSignatures["proxy_record_metric"] = struct{}{}
	envSignatures["emscripten_notify_memory_growth"] = struct{}{}
	def("proxy_get_metric", 2, hGetMetric)
	def("proxy_get_property", 4, hGetProperty)
	def("proxy_set_property", 4, hSetProperty)
	def("proxy_set_effective_context", 1, func(_ context.Context, in *instance, a args) Status {
		c, ok := in.contexts[a[0]]
		if !ok {
			return StatusBadArgument
		}
		in.effective = c
		return StatusOK
	})
	def("proxy_done", 0, func(_ context.Context, in *instance, _ args) Status {
		if in.doneWait == nil {
			return StatusNotFound
		}
		close(in.doneWait)
		in.doneWait = nil
		return StatusOK
	})
	def("proxy_call_foreign_function", 6, hForeign)
}

// --- memory helpers ---

func (in *instance) read(ptr, size uint32) ([]byte, bool) {
	if size == 0 {
		return nil, true
	}
	return in.mem.Read(ptr, size)
}

func (in *instance) wU32(ptr, v uint32) Status {
	if !in.mem.WriteUint32Le(ptr, v) {
		return StatusInvalidMemoryAccess
	}
	return StatusOK
}

func (in *instance) wU64(ptr uint32, v uint64) Status {
	if !in.mem.WriteUint64Le(ptr, v) {
		return StatusInvalidMemoryAccess
	}
	return StatusOK
}

// copyOut allocates len(data) bytes in the guest (one allocation, never of
// size 0), copies data and writes the pointer and size.
func (in *instance) copyOut(ctx context.Context, data []byte, retPtr, retSize uint32) Status {
	// Validate the out-pointers before allocating, so a bad pointer does not
	// leak a guest allocation.
	if _, ok := in.mem.Read(retPtr, 4); !ok {
		return StatusInvalidMemoryAccess
	}
	if _, ok := in.mem.Read(retSize, 4); !ok {
		return StatusInvalidMemoryAccess
	}
	if len(data) == 0 {
		in.mem.WriteUint32Le(retPtr, 0)
		in.mem.WriteUint32Le(retSize, 0)
		return StatusOK
	}
	if uint64(len(data)) > uint64(^uint32(0)) {
		return StatusBadArgument
	}
	p, ok := in.allocate(ctx, uint32(len(data)))
	if !ok {
		return StatusInvalidMemoryAccess
	}
	if !in.mem.Write(p, data) {
		return StatusInvalidMemoryAccess
	}
	if !in.mem.WriteUint32Le(retPtr, p) || !in.mem.WriteUint32Le(retSize, uint32(len(data))) {
		return StatusInvalidMemoryAccess
	}
	return StatusOK
}

func (in *instance) copyOutString(ctx context.Context, s string, retPtr, retSize uint32) Status {
	if len(s) == 0 {
		return in.copyOut(ctx, nil, retPtr, retSize)
	}
	if _, ok := in.mem.Read(retPtr, 4); !ok {
		return StatusInvalidMemoryAccess
	}
	if _, ok := in.mem.Read(retSize, 4); !ok {
		return StatusInvalidMemoryAccess
	}
	p, ok := in.allocate(ctx, uint32(len(s)))
	if !ok {
		return StatusInvalidMemoryAccess
	}
	if !in.mem.WriteString(p, s) || !in.mem.WriteUint32Le(retPtr, p) || !in.mem.WriteUint32Le(retSize, uint32(len(s))) {
		return StatusInvalidMemoryAccess
	}
	return StatusOK
}

// current returns the context host calls act on: the effective context set
// with proxy_set_effective_context, else the callback's own.
func (in *instance) current() *ctxRec {
	if in.effective != nil {
		if _, ok := in.contexts[in.effective.id]; ok {
			return in.effective
		}
	}
	if in.cur != nil {
		return in.cur
	}
	return in.root
}

// --- logging ---

func hLog(_ context.Context, in *instance, a args) Status {
	lvl := LogLevel(a[0])
	if lvl > LogCritical {
		return StatusBadArgument
	}
	msg, ok := in.read(a[1], a[2])
	if !ok {
		return StatusInvalidMemoryAccess
	}
	in.logf(lvl, string(msg))
	return StatusOK
}

// --- buffers ---

func (in *instance) buffer(t uint32) (*[]byte, bool) {
	c := in.current()
	switch t {
	case bufHTTPRequestBody, bufHTTPResponseBody:
		if c == nil || c.http == nil {
			return nil, false
		}
		if t == bufHTTPRequestBody {
			return &c.http.reqBody, true
		}
		return &c.http.respBody, true
	case bufDownstreamData, bufUpstreamData:
		if c == nil || c.tcp == nil {
			return nil, false
		}
		if t == bufDownstreamData {
			return &c.tcp.down, true
		}
		return &c.tcp.up, true
	case bufHTTPCallResponse:
		if in.callResp == nil {
			return nil, false
		}
		return &in.callResp.body, true
	case bufGRPCMessage:
		if in.grpcResp == nil {
			return nil, false
		}
		return &in.grpcResp.message_, true
	case bufVMConfiguration:
		b := in.p.cfg.VMConfig
		return &b, true
	case bufPluginConfig:
		b := in.p.cfg.PluginConfig
		return &b, true
	case bufForeignArguments:
		if in.foreignArgs == nil {
			return nil, false
		}
		return &in.foreignArgs, true
	}
	return nil, false
}

func hGetBuffer(ctx context.Context, in *instance, a args) Status {
	b, ok := in.buffer(a[0])
	if !ok {
		return StatusNotFound
	}
	start, n := uint64(a[1]), uint64(a[2])
	l := uint64(len(*b))
	if start >= l || n == 0 {
		return in.copyOut(ctx, nil, a[3], a[4])
	}
	end := min(start+n, l)
	return in.copyOut(ctx, (*b)[start:end], a[3], a[4])
}

func hSetBuffer(_ context.Context, in *instance, a args) Status {
	if a[0] > bufUpstreamData {
		return StatusBadArgument
	}
	b, ok := in.buffer(a[0])
	if !ok {
		return StatusNotFound
	}
	val, ok := in.read(a[3], a[4])
	if !ok {
		return StatusInvalidMemoryAccess
	}
	l := uint64(len(*b))
	start, size := min(uint64(a[1]), l), uint64(a[2])
	size = min(size, l-start)
	out := make([]byte, 0, l-size+uint64(len(val)))
	out = append(out, (*b)[:start]...)
	out = append(out, val...)
	out = append(out, (*b)[start+size:]...)
	*b = out
	return StatusOK
}

// --- header maps ---

func (in *instance) headerMap(t uint32) (*Pairs, Status) {
	c := in.current()
	switch t {
	case mapRequestHeaders, mapRequestTrailers, mapResponseHeaders, mapResponseTrailers:
		if c == nil || c.http == nil {
			return nil, StatusBadArgument
		}
		s := c.http
		switch t {
		case mapRequestHeaders:
			return &s.reqHeaders, StatusOK
		case mapRequestTrailers:
			return &s.reqTrailers, StatusOK
		case mapResponseHeaders:
			return &s.respHeaders, StatusOK
		default:
			return &s.respTrailers, StatusOK
		}
	case mapGRPCInitialMetadata, mapGRPCTrailingMetadata:
		if in.grpcResp == nil {
			return nil, StatusNotFound
		}
		return &in.grpcResp.md, StatusOK
	case mapCallResponseHeaders:
		if in.callResp == nil {
			return nil, StatusNotFound
		}
		return &in.callResp.headers, StatusOK
	case mapCallResponseTrailers:
		if in.callResp == nil {
			return nil, StatusNotFound
		}
		return &in.callResp.trailers, StatusOK
	}
	return nil, StatusBadArgument
}

func (in *instance) writableMap(t uint32) (*Pairs, Status) {
	if t > mapResponseTrailers {
		return nil, StatusBadArgument
	}
	return in.headerMap(t)
}

func (in *instance) mutateHeader(a args, f func(m *Pairs, k, v string)) Status {
	m, st := in.writableMap(a[0])
	if st != StatusOK {
		return st
	}
	k, ok := in.read(a[1], a[2])
	if !ok {
		return StatusInvalidMemoryAccess
	}
	v, ok := in.read(a[3], a[4])
	if !ok {
		return StatusInvalidMemoryAccess
	}
	f(m, string(k), string(v))
	return StatusOK
}

// --- stream control ---

func (in *instance) streamSignal(t uint32, closeIt bool) Status {
	c := in.current()
	if c == nil {
		return StatusNotFound
	}
	var b *streamBase
	var dir Direction
	switch t {
	case streamHTTPRequest, streamHTTPResponse:
		if c.http == nil {
			return StatusBadArgument
		}
		b, dir = &c.http.streamBase, Direction(t)
	case streamDownstream, streamUpstream:
		if c.tcp == nil {
			return StatusBadArgument
		}
		b, dir = &c.tcp.streamBase, Direction(t-streamDownstream)
	default:
		return StatusUnimplemented
	}
	if closeIt {
		b.closeReq[dir] = true
	} else {
		b.resume[dir] = true
	}
	b.notify()
	return StatusOK
}

func hSendLocalResponse(_ context.Context, in *instance, a args) Status {
	c := in.current()
	if c == nil || c.http == nil {
		return StatusBadArgument
	}
	details, ok1 := in.read(a[1], a[2])
	body, ok2 := in.read(a[3], a[4])
	hb, ok3 := in.read(a[5], a[6])
	if !ok1 || !ok2 || !ok3 {
		return StatusInvalidMemoryAccess
	}
	h, err := DecodePairs(hb)
	if err != nil {
		return StatusBadArgument
	}
	for i := range h {
		h[i][0] = lower(h[i][0])
	}
	code := int(a[0])
	if code < 100 || code > 999 {
		return StatusBadArgument
	}
	s := c.http
	if s.local != nil {
		return StatusOK // first reply wins, as Envoy
	}
	s.local = &LocalReply{Status: code, Details: string(details), Body: append([]byte(nil), body...), Headers: h, GRPCStatus: int32(a[7])}
	in.localSent = true
	s.notify()
	return StatusOK
}

// --- foreign functions ---

func hForeign(ctx context.Context, in *instance, a args) Status {
	name, ok := in.read(a[0], a[1])
	if !ok {
		return StatusInvalidMemoryAccess
	}
	f, ok := in.p.rt.foreign[string(name)]
	if !ok {
		return StatusNotFound
	}
	argb, ok := in.read(a[2], a[3])
	if !ok {
		return StatusInvalidMemoryAccess
	}
	out, err := f(append([]byte(nil), argb...))
	if err != nil {
		in.logf(LogDebug, "foreign function "+strconv.Quote(string(name))+": "+err.Error())
		return StatusBadArgument
	}
	return in.copyOut(ctx, out, a[4], a[5])
}

var _ = binary.LittleEndian
