package internal

// Host is the host side of the ABI as seen by native (non-wasm) builds: each
// method mirrors one proxy_* host function with Go types instead of guest
// pointers. Map arguments and results stay in the serialized map format so
// that native runs exercise the same (de)serialization as wasm. The
// proxytest emulator implements it.
type Host interface {
	ProxyLog(level LogLevel, msg string) Status
	ProxyGetLogLevel() (LogLevel, Status)
	ProxyGetCurrentTimeNanoseconds() (uint64, Status)
	ProxySetTickPeriodMilliseconds(ms uint32) Status
	ProxyGetBufferBytes(bt BufferType, start, maxSize int) ([]byte, Status)
	ProxySetBufferBytes(bt BufferType, start, maxSize int, data []byte) Status
	ProxyGetBufferStatus(bt BufferType) (length, flags uint32, st Status)
	ProxyGetHeaderMapSize(mt MapType) (uint32, Status)
	ProxyGetHeaderMapPairs(mt MapType) ([]byte, Status)
	ProxySetHeaderMapPairs(mt MapType, serialized []byte) Status
	ProxyGetHeaderMapValue(mt MapType, key string) (string, Status)
	ProxyAddHeaderMapValue(mt MapType, key, value string) Status
	ProxyReplaceHeaderMapValue(mt MapType, key, value string) Status
	ProxyRemoveHeaderMapValue(mt MapType, key string) Status
	ProxyContinueStream(st StreamType) Status
	ProxyCloseStream(st StreamType) Status
	ProxySendLocalResponse(statusCode uint32, details string, body, serializedHeaders []byte, grpcStatus int32) Status
	ProxyGetStatus() (code uint32, msg []byte, st Status)
	ProxyHttpCall(upstream string, serializedHeaders, body, serializedTrailers []byte, timeoutMs uint32) (uint32, Status)
	ProxyGrpcCall(upstream, service, method string, serializedMetadata, message []byte, timeoutMs uint32) (uint32, Status)
	ProxyGrpcStream(upstream, service, method string, serializedMetadata []byte) (uint32, Status)
	ProxyGrpcSend(streamID uint32, message []byte, endStream bool) Status
	ProxyGrpcCancel(id uint32) Status
	ProxyGrpcClose(id uint32) Status
	ProxySetSharedData(key string, value []byte, cas uint32) Status
	ProxyGetSharedData(key string) ([]byte, uint32, Status)
	ProxyRegisterSharedQueue(name string) (uint32, Status)
	ProxyResolveSharedQueue(vmID, name string) (uint32, Status)
	ProxyEnqueueSharedQueue(queueID uint32, value []byte) Status
	ProxyDequeueSharedQueue(queueID uint32) ([]byte, Status)
	ProxyDefineMetric(mt MetricType, name string) (uint32, Status)
	ProxyIncrementMetric(metricID uint32, delta int64) Status
	ProxyRecordMetric(metricID uint32, value uint64) Status
	ProxyGetMetric(metricID uint32) (uint64, Status)
	ProxyGetProperty(path []byte) ([]byte, Status)
	ProxySetProperty(path, value []byte) Status
	ProxySetEffectiveContext(contextID uint32) Status
	ProxyDone() Status
	ProxyCallForeignFunction(name string, args []byte) ([]byte, Status)
}
