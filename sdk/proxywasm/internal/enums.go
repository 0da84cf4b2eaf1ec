// Package internal is the proxy-wasm ABI v0.2.1 glue of the SDK: the host
// function imports (wasip1) or their routing to an emulated host (native
// builds), the callback exports, the per-VM context state and the map and
// property-path serialization. Nothing here is public API.
package internal

import (
	"strconv"

	"github.com/wasmctl/wasmctl/sdk/proxywasm/types"
)

// Status is proxy_status_t.
type Status uint32

// The proxy_status_t values of ABI v0.2.1.
const (
	StatusOK                   Status = 0
	StatusNotFound             Status = 1
	StatusBadArgument          Status = 2
	StatusSerializationFailure Status = 3
	StatusParseFailure         Status = 4
	StatusInvalidMemoryAccess  Status = 6
	StatusEmpty                Status = 7
	StatusCasMismatch          Status = 8
	StatusInternalFailure      Status = 10
	StatusUnimplemented        Status = 12
)

// StatusToError maps a host status to the SDK's error values.
func StatusToError(st Status) error {
	switch st {
	case StatusOK:
		return nil
	case StatusNotFound:
		return types.ErrorStatusNotFound
	case StatusBadArgument:
		return types.ErrorStatusBadArgument
	case StatusEmpty:
		return types.ErrorStatusEmpty
	case StatusCasMismatch:
		return types.ErrorStatusCasMismatch
	case StatusUnimplemented:
		return types.ErrorUnimplemented
	}
	return types.ErrorInternalFailure
}

// LogLevel is proxy_log_level_t.
type LogLevel uint32

// The proxy_log_level_t values.
const (
	LogLevelTrace    LogLevel = 0
	LogLevelDebug    LogLevel = 1
	LogLevelInfo     LogLevel = 2
	LogLevelWarn     LogLevel = 3
	LogLevelError    LogLevel = 4
	LogLevelCritical LogLevel = 5
	LogLevelMax      LogLevel = 6
)

func (l LogLevel) String() string {
	switch l {
	case LogLevelTrace:
		return "trace"
	case LogLevelDebug:
		return "debug"
	case LogLevelInfo:
		return "info"
	case LogLevelWarn:
		return "warn"
	case LogLevelError:
		return "error"
	case LogLevelCritical:
		return "critical"
	}
	return "level(" + strconv.Itoa(int(l)) + ")"
}

// BufferType is proxy_buffer_type_t.
type BufferType uint32

// The proxy_buffer_type_t values.
const (
	BufferTypeHttpRequestBody         BufferType = 0
	BufferTypeHttpResponseBody        BufferType = 1
	BufferTypeDownstreamData          BufferType = 2
	BufferTypeUpstreamData            BufferType = 3
	BufferTypeHttpCallResponseBody    BufferType = 4
	BufferTypeGrpcReceiveBuffer       BufferType = 5
	BufferTypeVMConfiguration         BufferType = 6
	BufferTypePluginConfiguration     BufferType = 7
	BufferTypeForeignFunctionArgument BufferType = 8
)

// MapType is proxy_map_type_t.
type MapType uint32

// The proxy_map_type_t values.
const (
	MapTypeHttpRequestHeaders          MapType = 0
	MapTypeHttpRequestTrailers         MapType = 1
	MapTypeHttpResponseHeaders         MapType = 2
	MapTypeHttpResponseTrailers        MapType = 3
	MapTypeGrpcReceiveInitialMetadata  MapType = 4
	MapTypeGrpcReceiveTrailingMetadata MapType = 5
	MapTypeHttpCallResponseHeaders     MapType = 6
	MapTypeHttpCallResponseTrailers    MapType = 7
)

// StreamType is proxy_stream_type_t.
type StreamType uint32

// The proxy_stream_type_t values.
const (
	StreamTypeRequest    StreamType = 0
	StreamTypeResponse   StreamType = 1
	StreamTypeDownstream StreamType = 2
	StreamTypeUpstream   StreamType = 3
)

// MetricType is proxy_metric_type_t.
type MetricType uint32

// The proxy_metric_type_t values.
const (
	MetricTypeCounter   MetricType = 0
	MetricTypeGauge     MetricType = 1
	MetricTypeHistogram MetricType = 2
)

func (m MetricType) String() string {
	switch m {
	case MetricTypeCounter:
		return "counter"
	case MetricTypeGauge:
		return "gauge"
	case MetricTypeHistogram:
		return "histogram"
	}
	return "metric(" + strconv.Itoa(int(m)) + ")"
}
