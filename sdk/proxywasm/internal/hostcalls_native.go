//go:build !wasip1

package internal

import "os"

// The host calls of native builds go to the Host of the current state, or,
// for a call made outside any callback (a test calling proxywasm functions
// directly), to the Host AmbientHost names.

func host() Host {
	if f := AmbientHost; f != nil {
		if h, ok := f(); ok {
			return h
		}
	}
	return current.Host
}

// ProxyLog forwards to the current Host.
func ProxyLog(level LogLevel, msg string) Status {
	h := host()
	if h == nil {
		os.Stderr.WriteString("[" + level.String() + "] " + msg + "\n")
		return StatusOK
	}
	return h.ProxyLog(level, msg)
}

// ProxyGetLogLevel forwards to the current Host.
func ProxyGetLogLevel() (LogLevel, Status) {
	h := host()
	if h == nil {
		return 0, StatusInternalFailure
	}
	return h.ProxyGetLogLevel()
}

// ProxyGetCurrentTimeNanoseconds forwards to the current Host.
func ProxyGetCurrentTimeNanoseconds() (uint64, Status) {
	h := host()
	if h == nil {
		return 0, StatusInternalFailure
	}
	return h.ProxyGetCurrentTimeNanoseconds()
}

// ProxySetTickPeriodMilliseconds forwards to the current Host.
func ProxySetTickPeriodMilliseconds(ms uint32) Status {
	h := host()
	if h == nil {
		return StatusInternalFailure
	}
	return h.ProxySetTickPeriodMilliseconds(ms)
}

// ProxyGetBufferBytes forwards to the current Host.
func ProxyGetBufferBytes(bt BufferType, start, maxSize int) ([]byte, Status) {
	h := host()
	if h == nil {
		return nil, StatusInternalFailure
	}
	return h.ProxyGetBufferBytes(bt, start, maxSize)
}

// ProxySetBufferBytes forwards to the current Host.
func ProxySetBufferBytes(bt BufferType, start, maxSize int, data []byte) Status {
	h := host()
	if h == nil {
		return StatusInternalFailure
	}
	return h.ProxySetBufferBytes(bt, start, maxSize, data)
}

// ProxyGetBufferStatus forwards to the current Host.
func ProxyGetBufferStatus(bt BufferType) (length, flags uint32, st Status) {
	h := host()
	if h == nil {
		return 0, 0, StatusInternalFailure
	}
	return h.ProxyGetBufferStatus(bt)
}

// ProxyGetHeaderMapSize forwards to the current Host.
func ProxyGetHeaderMapSize(mt MapType) (uint32, Status) {
	h := host()
	if h == nil {
		return 0, StatusInternalFailure
	}
	return h.ProxyGetHeaderMapSize(mt)
}

// ProxyGetHeaderMapPairs forwards to the current Host.
func ProxyGetHeaderMapPairs(mt MapType) ([]byte, Status) {
	h := host()
	if h == nil {
		return nil, StatusInternalFailure
	}
	return h.ProxyGetHeaderMapPairs(mt)
}

// ProxySetHeaderMapPairs forwards to the current Host.
func ProxySetHeaderMapPairs(mt MapType, serialized []byte) Status {
	h := host()
	if h == nil {
		return StatusInternalFailure
	}
	return h.ProxySetHeaderMapPairs(mt, serialized)
}

// ProxyGetHeaderMapValue forwards to the current Host.
func ProxyGetHeaderMapValue(mt MapType, key string) (string, Status) {
	h := host()
	if h == nil {
		return "", StatusInternalFailure
	}
	return h.ProxyGetHeaderMapValue(mt, key)
}

// ProxyAddHeaderMapValue forwards to the current Host.
func ProxyAddHeaderMapValue(mt MapType, key, value string) Status {
	h := host()
	if h == nil {
		return StatusInternalFailure
	}
	return h.ProxyAddHeaderMapValue(mt, key, value)
}

// ProxyReplaceHeaderMapValue forwards to the current Host.
func ProxyReplaceHeaderMapValue(mt MapType, key, value string) Status {
	h := host()
	if h == nil {
		return StatusInternalFailure
	}
	return h.ProxyReplaceHeaderMapValue(mt, key, value)
}

// ProxyRemoveHeaderMapValue forwards to the current Host.
func ProxyRemoveHeaderMapValue(mt MapType, key string) Status {
	h := host()
	if h == nil {
		return StatusInternalFailure
	}
	return h.ProxyRemoveHeaderMapValue(mt, key)
}

// ProxyContinueStream forwards to the current Host.
func ProxyContinueStream(st StreamType) Status {
	h := host()
	if h == nil {
		return StatusInternalFailure
	}
	return h.ProxyContinueStream(st)
}

// ProxyCloseStream forwards to the current Host.
func ProxyCloseStream(st StreamType) Status {
	h := host()
	if h == nil {
		return StatusInternalFailure
	}
	return h.ProxyCloseStream(st)
}

// ProxySendLocalResponse forwards to the current Host.
func ProxySendLocalResponse(statusCode uint32, details string, body, serializedHeaders []byte, grpcStatus int32) Status {
	h := host()
	if h == nil {
		return StatusInternalFailure
	}
	return h.ProxySendLocalResponse(statusCode, details, body, serializedHeaders, grpcStatus)
}

// ProxyGetStatus forwards to the current Host.
func ProxyGetStatus() (code uint32, msg []byte, st Status) {
	h := host()
	if h == nil {
		return 0, nil, StatusInternalFailure
	}
	return h.ProxyGetStatus()
}

// ProxyHttpCall forwards to the current Host.
func ProxyHttpCall(upstream string, serializedHeaders, body, serializedTrailers []byte, timeoutMs uint32) (uint32, Status) {
	h := host()
	if h == nil {
		return 0, StatusInternalFailure
	}
	return h.ProxyHttpCall(upstream, serializedHeaders, body, serializedTrailers, timeoutMs)
}

// ProxyGrpcCall forwards to the current Host.
func ProxyGrpcCall(upstream, service, method string, serializedMetadata, message []byte, timeoutMs uint32) (uint32, Status) {
	h := host()
	if h == nil {
		return 0, StatusInternalFailure
	}
	return h.ProxyGrpcCall(upstream, service, method, serializedMetadata, message, timeoutMs)
}

// ProxyGrpcStream forwards to the current Host.
func ProxyGrpcStream(upstream, service, method string, serializedMetadata []byte) (uint32, Status) {
	h := host()
	if h == nil {
		return 0, StatusInternalFailure
	}
	return h.ProxyGrpcStream(upstream, service, method, serializedMetadata)
}

// ProxyGrpcSend forwards to the current Host.
func ProxyGrpcSend(streamID uint32, message []byte, endStream bool) Status {
	h := host()
	if h == nil {
		return StatusInternalFailure
	}
	return h.ProxyGrpcSend(streamID, message, endStream)
}

// ProxyGrpcCancel forwards to the current Host.
func ProxyGrpcCancel(id uint32) Status {
	h := host()
	if h == nil {
		return StatusInternalFailure
	}
	return h.ProxyGrpcCancel(id)
}

// ProxyGrpcClose forwards to the current Host.
func ProxyGrpcClose(id uint32) Status {
	h := host()
	if h == nil {
		return StatusInternalFailure
	}
	return h.ProxyGrpcClose(id)
}

// ProxySetSharedData forwards to the current Host.
func ProxySetSharedData(key string, value []byte, cas uint32) Status {
	h := host()
	if h == nil {
		return StatusInternalFailure
	}
	return h.ProxySetSharedData(key, value, cas)
}

// ProxyGetSharedData forwards to the current Host.
func ProxyGetSharedData(key string) ([]byte, uint32, Status) {
	h := host()
	if h == nil {
		return nil, 0, StatusInternalFailure
	}
	return h.ProxyGetSharedData(key)
}

// ProxyRegisterSharedQueue forwards to the current Host.
func ProxyRegisterSharedQueue(name string) (uint32, Status) {
	h := host()
	if h == nil {
		return 0, StatusInternalFailure
	}
	return h.ProxyRegisterSharedQueue(name)
}

// ProxyResolveSharedQueue forwards to the current Host.
func ProxyResolveSharedQueue(vmID, name string) (uint32, Status) {
	h := host()
	if h == nil {
		return 0, StatusInternalFailure
	}
	return h.ProxyResolveSharedQueue(vmID, name)
}

// ProxyEnqueueSharedQueue forwards to the current Host.
func ProxyEnqueueSharedQueue(queueID uint32, value []byte) Status {
	h := host()
	if h == nil {
		return StatusInternalFailure
	}
	return h.ProxyEnqueueSharedQueue(queueID, value)
}

// ProxyDequeueSharedQueue forwards to the current Host.
func ProxyDequeueSharedQueue(queueID uint32) ([]byte, Status) {
	h := host()
	if h == nil {
		return nil, StatusInternalFailure
	}
	return h.ProxyDequeueSharedQueue(queueID)
}

// ProxyDefineMetric forwards to the current Host.
func ProxyDefineMetric(mt MetricType, name string) (uint32, Status) {
	h := host()
	if h == nil {
		return 0, StatusInternalFailure
	}
	return h.ProxyDefineMetric(mt, name)
}

// ProxyIncrementMetric forwards to the current Host.
func ProxyIncrementMetric(metricID uint32, delta int64) Status {
	h := host()
	if h == nil {
		return StatusInternalFailure
	}
	return h.ProxyIncrementMetric(metricID, delta)
}

// ProxyRecordMetric forwards to the current Host.
func ProxyRecordMetric(metricID uint32, value uint64) Status {
	h := host()
	if h == nil {
		return StatusInternalFailure
	}
	return h.ProxyRecordMetric(metricID, value)
}

// ProxyGetMetric forwards to the current Host.
func ProxyGetMetric(metricID uint32) (uint64, Status) {
	h := host()
	if h == nil {
		return 0, StatusInternalFailure
	}
	return h.ProxyGetMetric(metricID)
}

// ProxyGetProperty forwards to the current Host.
func ProxyGetProperty(path []byte) ([]byte, Status) {
	h := host()
	if h == nil {
		return nil, StatusInternalFailure
	}
	return h.ProxyGetProperty(path)
}

// ProxySetProperty forwards to the current Host.
func ProxySetProperty(path, value []byte) Status {
	h := host()
	if h == nil {
		return StatusInternalFailure
	}
	return h.ProxySetProperty(path, value)
}

// ProxySetEffectiveContext forwards to the current Host.
func ProxySetEffectiveContext(contextID uint32) Status {
	h := host()
	if h == nil {
		return StatusInternalFailure
	}
	return h.ProxySetEffectiveContext(contextID)
}

// ProxyDone forwards to the current Host.
func ProxyDone() Status {
	h := host()
	if h == nil {
		return StatusInternalFailure
	}
	return h.ProxyDone()
}

// ProxyCallForeignFunction forwards to the current Host.
func ProxyCallForeignFunction(name string, args []byte) ([]byte, Status) {
	h := host()
	if h == nil {
		return nil, StatusInternalFailure
	}
	return h.ProxyCallForeignFunction(name, args)
}

// PropertyPath serializes path for ProxyGetProperty/ProxySetProperty. The
// native build allocates: emulators may run in parallel goroutines.
func PropertyPath(path []string) []byte { return SerializePropertyPath(path) }
