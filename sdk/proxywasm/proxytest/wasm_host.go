package proxytest

import (
	"context"

	"github.com/tetratelabs/wazero/api"

	"github.com/wasmctl/wasmctl/sdk/proxywasm/internal"
)

type (
	hctx = context.Context
	hvm  = *wasmVMContext
	hh   = internal.Host
	hmod = api.Module
	hst  = internal.Status
)

// outBytes writes a host result buffer to the guest, or passes st through.
func outBytes(ctx hctx, w hvm, mod hmod, b []byte, st hst, ptrPtr, sizePtr uint64) hst {
	if st != internal.StatusOK {
		return st
	}
	return w.writeOut(ctx, mod, b, u32(ptrPtr), u32(sizePtr))
}

// outU32AndBytes writes a u32 result at u32Ptr and a buffer result, or
// passes st through.
func outU32AndBytes(ctx hctx, w hvm, mod hmod, st hst, v uint32, u32Ptr uint64, b []byte, ptrPtr, sizePtr uint64) hst {
	if st != internal.StatusOK {
		return st
	}
	if st := writeU32(mod, u32(u32Ptr), v); st != internal.StatusOK {
		return st
	}
	return w.writeOut(ctx, mod, b, u32(ptrPtr), u32(sizePtr))
}

// mapKeyValue bridges a host function taking a map type, a key and a value.
func mapKeyValue(call func(h hh, mt internal.MapType, key, value string) hst) hostFnImpl {
	return func(_ hctx, _ hvm, h hh, m hmod, s []uint64) hst {
		k, ok1 := viewString(m, u32(s[1]), u32(s[2]))
		v, ok2 := viewString(m, u32(s[3]), u32(s[4]))
		if !ok1 || !ok2 {
			return errMem
		}
		return call(h, internal.MapType(s[0]), k, v)
	}
}

// hostFns bridges every proxy-wasm host function of ABI v0.2.1 (module env)
// to the emulator's internal.Host implementation.
var hostFns = []hostFn{
	{"proxy_log", "iii", func(_ hctx, _ hvm, h hh, m hmod, s []uint64) hst {
		msg, ok := viewString(m, u32(s[1]), u32(s[2]))
		if !ok {
			return errMem
		}
		return h.ProxyLog(internal.LogLevel(s[0]), msg)
	}},
	{"proxy_get_log_level", "i", func(_ hctx, _ hvm, h hh, m hmod, s []uint64) hst {
		l, st := h.ProxyGetLogLevel()
		return firstErr(st, writeU32(m, u32(s[0]), uint32(l)))
	}},
	{"proxy_get_current_time_nanoseconds", "i", func(_ hctx, _ hvm, h hh, m hmod, s []uint64) hst {
		t, st := h.ProxyGetCurrentTimeNanoseconds()
		return firstErr(st, writeU64(m, u32(s[0]), t))
	}},
	{"proxy_set_tick_period_milliseconds", "i", func(_ hctx, _ hvm, h hh, _ hmod, s []uint64) hst {
		return h.ProxySetTickPeriodMilliseconds(u32(s[0]))
	}},
	{"proxy_get_buffer_bytes", "iiiii", func(ctx hctx, w hvm, h hh, m hmod, s []uint64) hst {
		b, st := h.ProxyGetBufferBytes(internal.BufferType(s[0]), int(u32(s[1])), int(u32(s[2])))
		return outBytes(ctx, w, m, b, st, s[3], s[4])
	}},
	{"proxy_set_buffer_bytes", "iiiii", func(_ hctx, _ hvm, h hh, m hmod, s []uint64) hst {
		data, ok := view(m, u32(s[3]), u32(s[4]))
		if !ok {
			return errMem
		}
		return h.ProxySetBufferBytes(internal.BufferType(s[0]), int(u32(s[1])), int(u32(s[2])), data)
	}},
	{"proxy_get_buffer_status", "iii", func(_ hctx, _ hvm, h hh, m hmod, s []uint64) hst {
		l, f, st := h.ProxyGetBufferStatus(internal.BufferType(s[0]))
		return firstErr(st, writeU32(m, u32(s[1]), l), writeU32(m, u32(s[2]), f))
	}},
	{"proxy_get_header_map_size", "ii", func(_ hctx, _ hvm, h hh, m hmod, s []uint64) hst {
		n, st := h.ProxyGetHeaderMapSize(internal.MapType(s[0]))
		return firstErr(st, writeU32(m, u32(s[1]), n))
	}},
	{"proxy_get_header_map_pairs", "iii", func(ctx hctx, w hvm, h hh, m hmod, s []uint64) hst {
		b, st := h.ProxyGetHeaderMapPairs(internal.MapType(s[0]))
		return outBytes(ctx, w, m, b, st, s[1], s[2])
	}},
	{"proxy_set_header_map_pairs", "iii", func(_ hctx, _ hvm, h hh, m hmod, s []uint64) hst {
		b, ok := view(m, u32(s[1]), u32(s[2]))
		if !ok {
			return errMem
		}
		return h.ProxySetHeaderMapPairs(internal.MapType(s[0]), b)
	}},
	{"proxy_get_header_map_value", "iiiii", func(ctx hctx, w hvm, h hh, m hmod, s []uint64) hst {
		k, ok := viewString(m, u32(s[1]), u32(s[2]))
		if !ok {
			return errMem
		}
		v, st := h.ProxyGetHeaderMapValue(internal.MapType(s[0]), k)
		if st != internal.StatusOK {
			return st
		}
		return w.writeOutString(ctx, m, v, u32(s[3]), u32(s[4]))
	}},
	{"proxy_add_header_map_value", "iiiii", mapKeyValue(hh.ProxyAddHeaderMapValue)},
	{"proxy_replace_header_map_value", "iiiii", mapKeyValue(hh.ProxyReplaceHeaderMapValue)},
	{"proxy_remove_header_map_value", "iii", func(_ hctx, _ hvm, h hh, m hmod, s []uint64) hst {
		k, ok := viewString(m, u32(s[1]), u32(s[2]))
		if !ok {
			return errMem
		}
		return h.ProxyRemoveHeaderMapValue(internal.MapType(s[0]), k)
	}},
	{"proxy_continue_stream", "i", func(_ hctx, _ hvm, h hh, _ hmod, s []uint64) hst {
		return h.ProxyContinueStream(internal.StreamType(s[0]))
	}},
	{"proxy_close_stream", "i", func(_ hctx, _ hvm, h hh, _ hmod, s []uint64) hst {
		return h.ProxyCloseStream(internal.StreamType(s[0]))
	}},
	{"proxy_send_local_response", "iiiiiiii", func(_ hctx, _ hvm, h hh, m hmod, s []uint64) hst {
		details, ok1 := viewString(m, u32(s[1]), u32(s[2]))
		body, ok2 := view(m, u32(s[3]), u32(s[4]))
		headers, ok3 := view(m, u32(s[5]), u32(s[6]))
		if !ok1 || !ok2 || !ok3 {
			return errMem
		}
		return h.ProxySendLocalResponse(u32(s[0]), details, body, headers, int32(u32(s[7])))
	}},
	{"proxy_get_status", "iii", func(ctx hctx, w hvm, h hh, m hmod, s []uint64) hst {
		code, msg, st := h.ProxyGetStatus()
		return outU32AndBytes(ctx, w, m, st, code, s[0], msg, s[1], s[2])
	}},
	{"proxy_http_call", "iiiiiiiiii", func(_ hctx, _ hvm, h hh, m hmod, s []uint64) hst {
		up, ok1 := viewString(m, u32(s[0]), u32(s[1]))
		hs, ok2 := view(m, u32(s[2]), u32(s[3]))
		body, ok3 := view(m, u32(s[4]), u32(s[5]))
		ts, ok4 := view(m, u32(s[6]), u32(s[7]))
		if !ok1 || !ok2 || !ok3 || !ok4 {
			return errMem
		}
		id, st := h.ProxyHttpCall(up, hs, body, ts, u32(s[8]))
		return firstErr(st, writeU32(m, u32(s[9]), id))
	}},
	{"proxy_grpc_call", "iiiiiiiiiiii", func(_ hctx, _ hvm, h hh, m hmod, s []uint64) hst {
		up, ok1 := viewString(m, u32(s[0]), u32(s[1]))
		svc, ok2 := viewString(m, u32(s[2]), u32(s[3]))
		meth, ok3 := viewString(m, u32(s[4]), u32(s[5]))
		md, ok4 := view(m, u32(s[6]), u32(s[7]))
		msg, ok5 := view(m, u32(s[8]), u32(s[9]))
		if !ok1 || !ok2 || !ok3 || !ok4 || !ok5 {
			return errMem
		}
		id, st := h.ProxyGrpcCall(up, svc, meth, md, msg, u32(s[10]))
		return firstErr(st, writeU32(m, u32(s[11]), id))
	}},
	{"proxy_grpc_stream", "iiiiiiiii", func(_ hctx, _ hvm, h hh, m hmod, s []uint64) hst {
		up, ok1 := viewString(m, u32(s[0]), u32(s[1]))
		svc, ok2 := viewString(m, u32(s[2]), u32(s[3]))
		meth, ok3 := viewString(m, u32(s[4]), u32(s[5]))
		md, ok4 := view(m, u32(s[6]), u32(s[7]))
		if !ok1 || !ok2 || !ok3 || !ok4 {
			return errMem
		}
		id, st := h.ProxyGrpcStream(up, svc, meth, md)
		return firstErr(st, writeU32(m, u32(s[8]), id))
	}},
	{"proxy_grpc_send", "iiii", func(_ hctx, _ hvm, h hh, m hmod, s []uint64) hst {
		msg, ok := view(m, u32(s[1]), u32(s[2]))
		if !ok {
			return errMem
		}
		return h.ProxyGrpcSend(u32(s[0]), msg, u32(s[3]) != 0)
	}},
	{"proxy_grpc_cancel", "i", func(_ hctx, _ hvm, h hh, _ hmod, s []uint64) hst {
		return h.ProxyGrpcCancel(u32(s[0]))
	}},
	{"proxy_grpc_close", "i", func(_ hctx, _ hvm, h hh, _ hmod, s []uint64) hst {
		return h.ProxyGrpcClose(u32(s[0]))
	}},
	{"proxy_set_shared_data", "iiiii", func(_ hctx, _ hvm, h hh, m hmod, s []uint64) hst {
		k, ok1 := viewString(m, u32(s[0]), u32(s[1]))
		v, ok2 := view(m, u32(s[2]), u32(s[3]))
		if !ok1 || !ok2 {
			return errMem
		}
		return h.ProxySetSharedData(k, v, u32(s[4]))
	}},
	{"proxy_get_shared_data", "iiiii", func(ctx hctx, w hvm, h hh, m hmod, s []uint64) hst {
		k, ok := viewString(m, u32(s[0]), u32(s[1]))
		if !ok {
			return errMem
		}
		v, cas, st := h.ProxyGetSharedData(k)
		return outU32AndBytes(ctx, w, m, st, cas, s[4], v, s[2], s[3])
	}},
	{"proxy_register_shared_queue", "iii", func(_ hctx, _ hvm, h hh, m hmod, s []uint64) hst {
		name, ok := viewString(m, u32(s[0]), u32(s[1]))
		if !ok {
			return errMem
		}
		id, st := h.ProxyRegisterSharedQueue(name)
		return firstErr(st, writeU32(m, u32(s[2]), id))
	}},
	{"proxy_resolve_shared_queue", "iiiii", func(_ hctx, _ hvm, h hh, m hmod, s []uint64) hst {
		vmID, ok1 := viewString(m, u32(s[0]), u32(s[1]))
		name, ok2 := viewString(m, u32(s[2]), u32(s[3]))
		if !ok1 || !ok2 {
			return errMem
		}
		id, st := h.ProxyResolveSharedQueue(vmID, name)
		return firstErr(st, writeU32(m, u32(s[4]), id))
	}},
	{"proxy_enqueue_shared_queue", "iii", func(_ hctx, _ hvm, h hh, m hmod, s []uint64) hst {
		v, ok := view(m, u32(s[1]), u32(s[2]))
		if !ok {
			return errMem
		}
		return h.ProxyEnqueueSharedQueue(u32(s[0]), v)
	}},
	{"proxy_dequeue_shared_queue", "iii", func(ctx hctx, w hvm, h hh, m hmod, s []uint64) hst {
		v, st := h.ProxyDequeueSharedQueue(u32(s[0]))
		return outBytes(ctx, w, m, v, st, s[1], s[2])
	}},
	{"proxy_define_metric", "iiii", func(_ hctx, _ hvm, h hh, m hmod, s []uint64) hst {
		name, ok := viewString(m, u32(s[1]), u32(s[2]))
		if !ok {
			return errMem
		}
		id, st := h.ProxyDefineMetric(internal.MetricType(s[0]), name)
		return firstErr(st, writeU32(m, u32(s[3]), id))
	}},
	{"proxy_increment_metric", "iI", func(_ hctx, _ hvm, h hh, _ hmod, s []uint64) hst {
		return h.ProxyIncrementMetric(u32(s[0]), int64(s[1]))
	}},
	{"proxy_record_metric", "iI", func(_ hctx, _ hvm, h hh, _ hmod, s []uint64) hst {
		return h.ProxyRecordMetric(u32(s[0]), s[1])
	}},
	{"proxy_get_metric", "ii", func(_ hctx, _ hvm, h hh, m hmod, s []uint64) hst {
		v, st := h.ProxyGetMetric(u32(s[0]))
		return firstErr(st, writeU64(m, u32(s[1]), v))
	}},
	{"proxy_get_property", "iiii", func(ctx hctx, w hvm, h hh, m hmod, s []uint64) hst {
		path, ok := view(m, u32(s[0]), u32(s[1]))
		if !ok {
			return errMem
		}
		v, st := h.ProxyGetProperty(path)
		return outBytes(ctx, w, m, v, st, s[2], s[3])
	}},
	{"proxy_set_property", "iiii", func(_ hctx, _ hvm, h hh, m hmod, s []uint64) hst {
		path, ok1 := view(m, u32(s[0]), u32(s[1]))
		v, ok2 := view(m, u32(s[2]), u32(s[3]))
		if !ok1 || !ok2 {
			return errMem
		}
		return h.ProxySetProperty(path, v)
	}},
	{"proxy_set_effective_context", "i", func(_ hctx, _ hvm, h hh, _ hmod, s []uint64) hst {
		return h.ProxySetEffectiveContext(u32(s[0]))
	}},
	{"proxy_done", "", func(_ hctx, _ hvm, h hh, _ hmod, _ []uint64) hst {
		return h.ProxyDone()
	}},
	{"proxy_call_foreign_function", "iiiiii", func(ctx hctx, w hvm, h hh, m hmod, s []uint64) hst {
		name, ok1 := viewString(m, u32(s[0]), u32(s[1]))
		args, ok2 := view(m, u32(s[2]), u32(s[3]))
		if !ok1 || !ok2 {
			return errMem
		}
		ret, st := h.ProxyCallForeignFunction(name, args)
		return outBytes(ctx, w, m, ret, st, s[4], s[5])
	}},
}
