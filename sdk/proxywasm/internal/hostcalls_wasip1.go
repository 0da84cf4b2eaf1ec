//go:build wasip1

package internal

import "unsafe"

// Host calls of wasm builds. Output values come back through the package
// level variables below rather than locals: a local whose address is passed
// to a wasmimport escapes to the heap, and these calls must not allocate.
// The module is single-threaded and a host call never nests in another
// one, so one set of out-variables is enough. The imports are deliberately
// not //go:noescape (see sdk/README.md, ABI notes).
var (
	retPtr  *byte
	retSize uint32
	retU32  uint32
	retU64  uint64
)

// lastAlloc keeps the buffer most recently handed to the host by
// proxy_on_memory_allocate reachable until the host call that asked for it
// returns and takeBytes claims it.
var lastAlloc []byte

// zeroAlloc is what proxy_on_memory_allocate returns for a size of 0: a
// valid, non-null address that is never read as data.
var zeroAlloc [8]byte

// Small buffers the host asks for (header values, property values, short
// bodies) are carved out of a shared chunk instead of one make each: a Go
// heap allocation costs about as much as the rest of a header read in
// wasm. Each buffer is capped (three-index slice), so appending to a value
// returned to the user never writes into its neighbour. The price: a value
// the filter keeps keeps its whole chunk (at most smallChunk bytes) alive.
const (
	smallChunk = 2048
	smallMax   = 128
)

// small is the unused rest of the current chunk.
var small []byte

func allocate(size uint32) *byte {
	if size == 0 {
		return &zeroAlloc[0]
	}
	var b []byte
	switch {
	case size > smallMax:
		b = make([]byte, size)
	default:
		if int(size) > len(small) {
			small = make([]byte, smallChunk)
		}
		b, small = small[:size:size], small[size:]
	}
	lastAlloc = b
	return &b[0]
}

// takeBytes finishes a host call that returns a buffer: given the call's
// status it returns the buffer the host wrote at (retPtr, retSize) and
// clears the out-variables either way. The buffer must be the one our
// allocator handed out for this call; any other answer (a foreign pointer,
// a size larger than what was allocated) is malformed host data and yields
// StatusInternalFailure instead of a memory fault.
func takeBytes(st Status) ([]byte, Status) {
	p, n := retPtr, retSize
	retPtr, retSize = nil, 0
	a := lastAlloc
	lastAlloc = nil
	if st != StatusOK {
		return nil, st
	}
	if n == 0 {
		return nil, st
	}
	if p == nil || len(a) == 0 || p != &a[0] || int(n) > len(a) {
		return nil, StatusInternalFailure
	}
	return a[:n:n], st
}

// pathScratch holds the serialized property path of the current host call:
// the module is single-threaded and the host copies what it keeps, so one
// buffer serves every call and reading a property allocates only its value.
var pathScratch []byte

// PropertyPath serializes path for proxy_get_property/proxy_set_property.
// The result is valid until the next call.
func PropertyPath(path []string) []byte {
	pathScratch = AppendPropertyPath(pathScratch[:0], path)
	return pathScratch
}

func strPtr(s string) unsafe.Pointer { return unsafe.Pointer(unsafe.StringData(s)) }

func bytesPtr(b []byte) unsafe.Pointer { return unsafe.Pointer(unsafe.SliceData(b)) }

func boolU32(b bool) uint32 {
	if b {
		return 1
	}
	return 0
}

//go:wasmimport env proxy_log
func proxyLog(level uint32, msg unsafe.Pointer, msgSize uint32) uint32

// ProxyLog implements proxy_log.
func ProxyLog(level LogLevel, msg string) Status {
	return Status(proxyLog(uint32(level), strPtr(msg), uint32(len(msg))))
}

//go:wasmimport env proxy_get_log_level
func proxyGetLogLevel(ret *uint32) uint32

// ProxyGetLogLevel implements proxy_get_log_level.
func ProxyGetLogLevel() (LogLevel, Status) {
	st := Status(proxyGetLogLevel(&retU32))
	return LogLevel(retU32), st
}

//go:wasmimport env proxy_get_current_time_nanoseconds
func proxyGetCurrentTimeNanoseconds(ret *uint64) uint32

// ProxyGetCurrentTimeNanoseconds implements proxy_get_current_time_nanoseconds.
func ProxyGetCurrentTimeNanoseconds() (uint64, Status) {
	st := Status(proxyGetCurrentTimeNanoseconds(&retU64))
	return retU64, st
}

//go:wasmimport env proxy_set_tick_period_milliseconds
func proxySetTickPeriodMilliseconds(ms uint32) uint32

// ProxySetTickPeriodMilliseconds implements proxy_set_tick_period_milliseconds.
func ProxySetTickPeriodMilliseconds(ms uint32) Status {
	return Status(proxySetTickPeriodMilliseconds(ms))
}

//go:wasmimport env proxy_get_buffer_bytes
func proxyGetBufferBytes(bt, start, maxSize uint32, retPtrPtr unsafe.Pointer, retSizePtr *uint32) uint32

// ProxyGetBufferBytes implements proxy_get_buffer_bytes.
func ProxyGetBufferBytes(bt BufferType, start, maxSize int) ([]byte, Status) {
	return takeBytes(Status(proxyGetBufferBytes(uint32(bt), clampU32(start), clampU32(maxSize), unsafe.Pointer(&retPtr), &retSize)))
}

func clampU32(n int) uint32 {
	if n < 0 {
		return 0
	}
	if n > 1<<31-1 {
		return 1<<31 - 1
	}
	return uint32(n)
}

//go:wasmimport env proxy_set_buffer_bytes
func proxySetBufferBytes(bt, start, size uint32, data unsafe.Pointer, dataSize uint32) uint32

// ProxySetBufferBytes implements proxy_set_buffer_bytes.
func ProxySetBufferBytes(bt BufferType, start, maxSize int, data []byte) Status {
	return Status(proxySetBufferBytes(uint32(bt), clampU32(start), clampU32(maxSize), bytesPtr(data), uint32(len(data))))
}

//go:wasmimport env proxy_get_buffer_status
func proxyGetBufferStatus(bt uint32, length *uint32, flags *uint32) uint32

// ProxyGetBufferStatus implements proxy_get_buffer_status.
func ProxyGetBufferStatus(bt BufferType) (length, flags uint32, st Status) {
	st = Status(proxyGetBufferStatus(uint32(bt), &retSize, &retU32))
	length, flags = retSize, retU32
	retSize = 0
	return length, flags, st
}

//go:wasmimport env proxy_get_header_map_size
func proxyGetHeaderMapSize(mt uint32, ret *uint32) uint32

// ProxyGetHeaderMapSize implements proxy_get_header_map_size.
func ProxyGetHeaderMapSize(mt MapType) (uint32, Status) {
	st := Status(proxyGetHeaderMapSize(uint32(mt), &retU32))
	return retU32, st
}

//go:wasmimport env proxy_get_header_map_pairs
func proxyGetHeaderMapPairs(mt uint32, retPtrPtr unsafe.Pointer, retSizePtr *uint32) uint32

// ProxyGetHeaderMapPairs implements proxy_get_header_map_pairs.
func ProxyGetHeaderMapPairs(mt MapType) ([]byte, Status) {
	return takeBytes(Status(proxyGetHeaderMapPairs(uint32(mt), unsafe.Pointer(&retPtr), &retSize)))
}

//go:wasmimport env proxy_set_header_map_pairs
func proxySetHeaderMapPairs(mt uint32, data unsafe.Pointer, size uint32) uint32

// ProxySetHeaderMapPairs implements proxy_set_header_map_pairs.
func ProxySetHeaderMapPairs(mt MapType, serialized []byte) Status {
	return Status(proxySetHeaderMapPairs(uint32(mt), bytesPtr(serialized), uint32(len(serialized))))
}

//go:wasmimport env proxy_get_header_map_value
func proxyGetHeaderMapValue(mt uint32, key unsafe.Pointer, keySize uint32, retPtrPtr unsafe.Pointer, retSizePtr *uint32) uint32

// ProxyGetHeaderMapValue implements proxy_get_header_map_value. The only
// allocation is the value's bytes, made by the host through the allocator.
func ProxyGetHeaderMapValue(mt MapType, key string) (string, Status) {
	b, st := takeBytes(Status(proxyGetHeaderMapValue(uint32(mt), strPtr(key), uint32(len(key)), unsafe.Pointer(&retPtr), &retSize)))
	return bytesToString(b), st
}

//go:wasmimport env proxy_add_header_map_value
func proxyAddHeaderMapValue(mt uint32, key unsafe.Pointer, keySize uint32, value unsafe.Pointer, valueSize uint32) uint32

// ProxyAddHeaderMapValue implements proxy_add_header_map_value.
func ProxyAddHeaderMapValue(mt MapType, key, value string) Status {
	return Status(proxyAddHeaderMapValue(uint32(mt), strPtr(key), uint32(len(key)), strPtr(value), uint32(len(value))))
}

//go:wasmimport env proxy_replace_header_map_value
func proxyReplaceHeaderMapValue(mt uint32, key unsafe.Pointer, keySize uint32, value unsafe.Pointer, valueSize uint32) uint32

// ProxyReplaceHeaderMapValue implements proxy_replace_header_map_value.
func ProxyReplaceHeaderMapValue(mt MapType, key, value string) Status {
	return Status(proxyReplaceHeaderMapValue(uint32(mt), strPtr(key), uint32(len(key)), strPtr(value), uint32(len(value))))
}

//go:wasmimport env proxy_remove_header_map_value
func proxyRemoveHeaderMapValue(mt uint32, key unsafe.Pointer, keySize uint32) uint32

// ProxyRemoveHeaderMapValue implements proxy_remove_header_map_value.
func ProxyRemoveHeaderMapValue(mt MapType, key string) Status {
	return Status(proxyRemoveHeaderMapValue(uint32(mt), strPtr(key), uint32(len(key))))
}

//go:wasmimport env proxy_continue_stream
func proxyContinueStream(st uint32) uint32

// ProxyContinueStream implements proxy_continue_stream.
func ProxyContinueStream(st StreamType) Status { return Status(proxyContinueStream(uint32(st))) }

//go:wasmimport env proxy_close_stream
func proxyCloseStream(st uint32) uint32

// ProxyCloseStream implements proxy_close_stream.
func ProxyCloseStream(st StreamType) Status { return Status(proxyCloseStream(uint32(st))) }

//go:wasmimport env proxy_send_local_response
func proxySendLocalResponse(statusCode uint32, details unsafe.Pointer, detailsSize uint32, body unsafe.Pointer, bodySize uint32, headers unsafe.Pointer, headersSize uint32, grpcStatus int32) uint32

// ProxySendLocalResponse implements proxy_send_local_response.
func ProxySendLocalResponse(statusCode uint32, details string, body, serializedHeaders []byte, grpcStatus int32) Status {
	return Status(proxySendLocalResponse(statusCode, strPtr(details), uint32(len(details)), bytesPtr(body), uint32(len(body)),
		bytesPtr(serializedHeaders), uint32(len(serializedHeaders)), grpcStatus))
}

//go:wasmimport env proxy_get_status
func proxyGetStatus(code *uint32, retPtrPtr unsafe.Pointer, retSizePtr *uint32) uint32

// ProxyGetStatus implements proxy_get_status.
func ProxyGetStatus() (code uint32, msg []byte, st Status) {
	st = Status(proxyGetStatus(&retU32, unsafe.Pointer(&retPtr), &retSize))
	code = retU32
	msg, st = takeBytes(st)
	return code, msg, st
}

//go:wasmimport env proxy_http_call
func proxyHttpCall(upstream unsafe.Pointer, upstreamSize uint32, headers unsafe.Pointer, headersSize uint32, body unsafe.Pointer, bodySize uint32, trailers unsafe.Pointer, trailersSize uint32, timeout uint32, calloutID *uint32) uint32

// ProxyHttpCall implements proxy_http_call.
func ProxyHttpCall(upstream string, serializedHeaders, body, serializedTrailers []byte, timeoutMs uint32) (uint32, Status) {
	st := Status(proxyHttpCall(strPtr(upstream), uint32(len(upstream)), bytesPtr(serializedHeaders), uint32(len(serializedHeaders)),
		bytesPtr(body), uint32(len(body)), bytesPtr(serializedTrailers), uint32(len(serializedTrailers)), timeoutMs, &retU32))
	return retU32, st
}

//go:wasmimport env proxy_grpc_call
func proxyGrpcCall(upstream unsafe.Pointer, upstreamSize uint32, service unsafe.Pointer, serviceSize uint32, method unsafe.Pointer, methodSize uint32, md unsafe.Pointer, mdSize uint32, msg unsafe.Pointer, msgSize uint32, timeout uint32, callID *uint32) uint32

// ProxyGrpcCall implements proxy_grpc_call.
func ProxyGrpcCall(upstream, service, method string, serializedMetadata, message []byte, timeoutMs uint32) (uint32, Status) {
	st := Status(proxyGrpcCall(strPtr(upstream), uint32(len(upstream)), strPtr(service), uint32(len(service)), strPtr(method), uint32(len(method)),
		bytesPtr(serializedMetadata), uint32(len(serializedMetadata)), bytesPtr(message), uint32(len(message)), timeoutMs, &retU32))
	return retU32, st
}

//go:wasmimport env proxy_grpc_stream
func proxyGrpcStream(upstream unsafe.Pointer, upstreamSize uint32, service unsafe.Pointer, serviceSize uint32, method unsafe.Pointer, methodSize uint32, md unsafe.Pointer, mdSize uint32, streamID *uint32) uint32

// ProxyGrpcStream implements proxy_grpc_stream.
func ProxyGrpcStream(upstream, service, method string, serializedMetadata []byte) (uint32, Status) {
	st := Status(proxyGrpcStream(strPtr(upstream), uint32(len(upstream)), strPtr(service), uint32(len(service)), strPtr(method), uint32(len(method)),
		bytesPtr(serializedMetadata), uint32(len(serializedMetadata)), &retU32))
	return retU32, st
}

//go:wasmimport env proxy_grpc_send
func proxyGrpcSend(streamID uint32, msg unsafe.Pointer, msgSize uint32, endStream uint32) uint32

// ProxyGrpcSend implements proxy_grpc_send.
func ProxyGrpcSend(streamID uint32, message []byte, endStream bool) Status {
	return Status(proxyGrpcSend(streamID, bytesPtr(message), uint32(len(message)), boolU32(endStream)))
}

//go:wasmimport env proxy_grpc_cancel
func proxyGrpcCancel(id uint32) uint32

// ProxyGrpcCancel implements proxy_grpc_cancel.
func ProxyGrpcCancel(id uint32) Status { return Status(proxyGrpcCancel(id)) }

//go:wasmimport env proxy_grpc_close
func proxyGrpcClose(id uint32) uint32

// ProxyGrpcClose implements proxy_grpc_close.
func ProxyGrpcClose(id uint32) Status { return Status(proxyGrpcClose(id)) }

//go:wasmimport env proxy_set_shared_data
func proxySetSharedData(key unsafe.Pointer, keySize uint32, value unsafe.Pointer, valueSize uint32, cas uint32) uint32

// ProxySetSharedData implements proxy_set_shared_data.
func ProxySetSharedData(key string, value []byte, cas uint32) Status {
	return Status(proxySetSharedData(strPtr(key), uint32(len(key)), bytesPtr(value), uint32(len(value)), cas))
}

//go:wasmimport env proxy_get_shared_data
func proxyGetSharedData(key unsafe.Pointer, keySize uint32, retPtrPtr unsafe.Pointer, retSizePtr *uint32, cas *uint32) uint32

// ProxyGetSharedData implements proxy_get_shared_data.
func ProxyGetSharedData(key string) ([]byte, uint32, Status) {
	retU32 = 0
	st := Status(proxyGetSharedData(strPtr(key), uint32(len(key)), unsafe.Pointer(&retPtr), &retSize, &retU32))
	cas := retU32
	b, st := takeBytes(st)
	if st != StatusOK {
		return nil, 0, st
	}
	return b, cas, st
}

//go:wasmimport env proxy_register_shared_queue
func proxyRegisterSharedQueue(name unsafe.Pointer, nameSize uint32, id *uint32) uint32

// ProxyRegisterSharedQueue implements proxy_register_shared_queue.
func ProxyRegisterSharedQueue(name string) (uint32, Status) {
	st := Status(proxyRegisterSharedQueue(strPtr(name), uint32(len(name)), &retU32))
	return retU32, st
}

//go:wasmimport env proxy_resolve_shared_queue
func proxyResolveSharedQueue(vmID unsafe.Pointer, vmIDSize uint32, name unsafe.Pointer, nameSize uint32, id *uint32) uint32

// ProxyResolveSharedQueue implements proxy_resolve_shared_queue.
func ProxyResolveSharedQueue(vmID, name string) (uint32, Status) {
	st := Status(proxyResolveSharedQueue(strPtr(vmID), uint32(len(vmID)), strPtr(name), uint32(len(name)), &retU32))
	return retU32, st
}

//go:wasmimport env proxy_enqueue_shared_queue
func proxyEnqueueSharedQueue(id uint32, value unsafe.Pointer, valueSize uint32) uint32

// ProxyEnqueueSharedQueue implements proxy_enqueue_shared_queue.
func ProxyEnqueueSharedQueue(queueID uint32, value []byte) Status {
	return Status(proxyEnqueueSharedQueue(queueID, bytesPtr(value), uint32(len(value))))
}

//go:wasmimport env proxy_dequeue_shared_queue
func proxyDequeueSharedQueue(id uint32, retPtrPtr unsafe.Pointer, retSizePtr *uint32) uint32

// ProxyDequeueSharedQueue implements proxy_dequeue_shared_queue.
func ProxyDequeueSharedQueue(queueID uint32) ([]byte, Status) {
	return takeBytes(Status(proxyDequeueSharedQueue(queueID, unsafe.Pointer(&retPtr), &retSize)))
}

//go:wasmimport env proxy_define_metric
func proxyDefineMetric(mt uint32, name unsafe.Pointer, nameSize uint32, id *uint32) uint32

// ProxyDefineMetric implements proxy_define_metric.
func ProxyDefineMetric(mt MetricType, name string) (uint32, Status) {
	st := Status(proxyDefineMetric(uint32(mt), strPtr(name), uint32(len(name)), &retU32))
	return retU32, st
}

//go:wasmimport env proxy_increment_metric
func proxyIncrementMetric(id uint32, delta int64) uint32

// ProxyIncrementMetric implements proxy_increment_metric.
func ProxyIncrementMetric(metricID uint32, delta int64) Status {
	return Status(proxyIncrementMetric(metricID, delta))
}

//go:wasmimport env proxy_record_metric
func proxyRecordMetric(id uint32, value uint64) uint32

// ProxyRecordMetric implements proxy_record_metric.
func ProxyRecordMetric(metricID uint32, value uint64) Status {
	return Status(proxyRecordMetric(metricID, value))
}

//go:wasmimport env proxy_get_metric
func proxyGetMetric(id uint32, ret *uint64) uint32

// ProxyGetMetric implements proxy_get_metric.
func ProxyGetMetric(metricID uint32) (uint64, Status) {
	st := Status(proxyGetMetric(metricID, &retU64))
	return retU64, st
}

//go:wasmimport env proxy_get_property
func proxyGetProperty(path unsafe.Pointer, pathSize uint32, retPtrPtr unsafe.Pointer, retSizePtr *uint32) uint32

// ProxyGetProperty implements proxy_get_property.
func ProxyGetProperty(path []byte) ([]byte, Status) {
	return takeBytes(Status(proxyGetProperty(bytesPtr(path), uint32(len(path)), unsafe.Pointer(&retPtr), &retSize)))
}

//go:wasmimport env proxy_set_property
func proxySetProperty(path unsafe.Pointer, pathSize uint32, value unsafe.Pointer, valueSize uint32) uint32

// ProxySetProperty implements proxy_set_property.
func ProxySetProperty(path, value []byte) Status {
	return Status(proxySetProperty(bytesPtr(path), uint32(len(path)), bytesPtr(value), uint32(len(value))))
}

//go:wasmimport env proxy_set_effective_context
func proxySetEffectiveContext(id uint32) uint32

// ProxySetEffectiveContext implements proxy_set_effective_context.
func ProxySetEffectiveContext(contextID uint32) Status {
	return Status(proxySetEffectiveContext(contextID))
}

//go:wasmimport env proxy_done
func proxyDone() uint32

// ProxyDone implements proxy_done.
func ProxyDone() Status { return Status(proxyDone()) }

//go:wasmimport env proxy_call_foreign_function
func proxyCallForeignFunction(name unsafe.Pointer, nameSize uint32, args unsafe.Pointer, argsSize uint32, retPtrPtr unsafe.Pointer, retSizePtr *uint32) uint32

// ProxyCallForeignFunction implements proxy_call_foreign_function.
func ProxyCallForeignFunction(name string, args []byte) ([]byte, Status) {
	return takeBytes(Status(proxyCallForeignFunction(strPtr(name), uint32(len(name)), bytesPtr(args), uint32(len(args)), unsafe.Pointer(&retPtr), &retSize)))
}
