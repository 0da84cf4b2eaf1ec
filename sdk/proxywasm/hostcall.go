package proxywasm

import (
	"errors"
	"fmt"
	"math"

	"github.com/wasmctl/wasmctl/sdk/proxywasm/internal"
	"github.com/wasmctl/wasmctl/sdk/proxywasm/types"
)

// GetVMConfiguration returns the VM configuration. Call it in
// types.VMContext.OnVMStart.
func GetVMConfiguration() ([]byte, error) {
	return getBuffer(internal.BufferTypeVMConfiguration, 0, math.MaxInt32)
}

// GetPluginConfiguration returns the plugin configuration. Call it in
// types.PluginContext.OnPluginStart.
func GetPluginConfiguration() ([]byte, error) {
	return getBuffer(internal.BufferTypePluginConfiguration, 0, math.MaxInt32)
}

// SetTickPeriodMilliSeconds makes the host call types.PluginContext.OnTick
// every millSec milliseconds; 0 stops the ticks.
func SetTickPeriodMilliSeconds(millSec uint32) error {
	return internal.StatusToError(internal.ProxySetTickPeriodMilliseconds(millSec))
}

// SetEffectiveContext makes later host calls in this callback act on the
// given context, for example a stream resumed from a plugin's OnTick or
// OnQueueReady.
func SetEffectiveContext(contextID uint32) error {
	return internal.StatusToError(internal.ProxySetEffectiveContext(contextID))
}

// RegisterSharedQueue opens (creating if needed) the shared queue name of
// this VM and binds its OnQueueReady events to the current plugin context.
func RegisterSharedQueue(name string) (queueID uint32, err error) {
	id, st := internal.ProxyRegisterSharedQueue(name)
	return id, internal.StatusToError(st)
}

// ResolveSharedQueue returns the id of queue queueName registered by VM vmID
// (empty for this VM). ErrorStatusNotFound if it does not exist.
func ResolveSharedQueue(vmID, queueName string) (queueID uint32, err error) {
	id, st := internal.ProxyResolveSharedQueue(vmID, queueName)
	return id, internal.StatusToError(st)
}

// EnqueueSharedQueue appends data to a shared queue.
func EnqueueSharedQueue(queueID uint32, data []byte) error {
	return internal.StatusToError(internal.ProxyEnqueueSharedQueue(queueID, data))
}

// DequeueSharedQueue takes the oldest item of a shared queue;
// ErrorStatusEmpty if there is none.
func DequeueSharedQueue(queueID uint32) ([]byte, error) {
	b, st := internal.ProxyDequeueSharedQueue(queueID)
	if st != internal.StatusOK {
		return nil, internal.StatusToError(st)
	}
	return b, nil
}

// PluginDone tells the host that a plugin context that answered false in
// OnPluginDone has finished.
func PluginDone() {
	internal.ProxyDone()
}

// DispatchHttpCall sends an HTTP request to cluster. headers must include
// :method, :path and :authority. callBack runs on the calling context when
// the response arrives (numHeaders == 0 means the call failed); read the
// response there with GetHttpCallResponseHeaders/Body/Trailers.
func DispatchHttpCall(
	cluster string,
	headers [][2]string,
	body []byte,
	trailers [][2]string,
	timeoutMillisecond uint32,
	callBack func(numHeaders, bodySize, numTrailers int),
) (calloutID uint32, err error) {
	id, st := internal.ProxyHttpCall(cluster, internal.SerializeMap(headers), body, internal.SerializeMap(trailers), timeoutMillisecond)
	if st != internal.StatusOK {
		return 0, internal.StatusToError(st)
	}
	internal.RegisterHttpCallout(id, callBack)
	return id, nil
}

// GetHttpCallResponseHeaders returns the headers of the HTTP callout
// response; call it inside the DispatchHttpCall callback.
func GetHttpCallResponseHeaders() ([][2]string, error) {
	return getMap(internal.MapTypeHttpCallResponseHeaders)
}

// GetHttpCallResponseBody returns up to maxSize bytes of the HTTP callout
// response body from start.
func GetHttpCallResponseBody(start, maxSize int) ([]byte, error) {
	return getBuffer(internal.BufferTypeHttpCallResponseBody, start, maxSize)
}

// GetHttpCallResponseTrailers returns the trailers of the HTTP callout response.
func GetHttpCallResponseTrailers() ([][2]string, error) {
	return getMap(internal.MapTypeHttpCallResponseTrailers)
}

// GetDownstreamData returns up to maxSize bytes of buffered downstream data
// from start. Call it in types.TcpContext.OnDownstreamData.
func GetDownstreamData(start, maxSize int) ([]byte, error) {
	return getBuffer(internal.BufferTypeDownstreamData, start, maxSize)
}

// AppendDownstreamData appends data to the downstream data buffer.
func AppendDownstreamData(data []byte) error {
	return appendToBuffer(internal.BufferTypeDownstreamData, data)
}

// PrependDownstreamData prepends data to the downstream data buffer.
func PrependDownstreamData(data []byte) error {
	return prependToBuffer(internal.BufferTypeDownstreamData, data)
}

// ReplaceDownstreamData replaces the downstream data buffer with data.
func ReplaceDownstreamData(data []byte) error {
	return replaceBuffer(internal.BufferTypeDownstreamData, data)
}

// GetUpstreamData returns up to maxSize bytes of buffered upstream data from
// start. Call it in types.TcpContext.OnUpstreamData.
func GetUpstreamData(start, maxSize int) ([]byte, error) {
	return getBuffer(internal.BufferTypeUpstreamData, start, maxSize)
}

// AppendUpstreamData appends data to the upstream data buffer.
func AppendUpstreamData(data []byte) error {
	return appendToBuffer(internal.BufferTypeUpstreamData, data)
}

// PrependUpstreamData prepends data to the upstream data buffer.
func PrependUpstreamData(data []byte) error {
	return prependToBuffer(internal.BufferTypeUpstreamData, data)
}

// ReplaceUpstreamData replaces the upstream data buffer with data.
func ReplaceUpstreamData(data []byte) error {
	return replaceBuffer(internal.BufferTypeUpstreamData, data)
}

// ContinueTcpStream resumes a TCP stream paused with types.ActionPause.
func ContinueTcpStream() error {
	return internal.StatusToError(internal.ProxyContinueStream(internal.StreamTypeDownstream))
}

// CloseDownstream closes the downstream connection.
func CloseDownstream() error {
	return internal.StatusToError(internal.ProxyCloseStream(internal.StreamTypeDownstream))
}

// CloseUpstream closes the upstream connection.
func CloseUpstream() error {
	return internal.StatusToError(internal.ProxyCloseStream(internal.StreamTypeUpstream))
}

// GetHttpRequestHeaders returns all request headers.
func GetHttpRequestHeaders() ([][2]string, error) {
	return getMap(internal.MapTypeHttpRequestHeaders)
}

// ReplaceHttpRequestHeaders replaces all request headers.
func ReplaceHttpRequestHeaders(headers [][2]string) error {
	return setMap(internal.MapTypeHttpRequestHeaders, headers)
}

// GetHttpRequestHeader returns the value of a request header;
// ErrorStatusNotFound if absent. Only the value's bytes are allocated.
func GetHttpRequestHeader(key string) (string, error) {
	return getMapValue(internal.MapTypeHttpRequestHeaders, key)
}

// RemoveHttpRequestHeader removes a request header.
func RemoveHttpRequestHeader(key string) error {
	return removeMapValue(internal.MapTypeHttpRequestHeaders, key)
}

// ReplaceHttpRequestHeader sets a request header, replacing any value.
func ReplaceHttpRequestHeader(key, value string) error {
	return replaceMapValue(internal.MapTypeHttpRequestHeaders, key, value)
}

// AddHttpRequestHeader adds a value to a request header.
func AddHttpRequestHeader(key, value string) error {
	return addMapValue(internal.MapTypeHttpRequestHeaders, key, value)
}

// GetHttpRequestBody returns up to maxSize bytes of the buffered request body
// from start. Call it in types.HttpContext.OnHttpRequestBody.
func GetHttpRequestBody(start, maxSize int) ([]byte, error) {
	return getBuffer(internal.BufferTypeHttpRequestBody, start, maxSize)
}

// AppendHttpRequestBody appends data to the request body.
func AppendHttpRequestBody(data []byte) error {
	return appendToBuffer(internal.BufferTypeHttpRequestBody, data)
}

// PrependHttpRequestBody prepends data to the request body.
func PrependHttpRequestBody(data []byte) error {
	return prependToBuffer(internal.BufferTypeHttpRequestBody, data)
}

// ReplaceHttpRequestBody replaces the request body with data.
func ReplaceHttpRequestBody(data []byte) error {
	return replaceBuffer(internal.BufferTypeHttpRequestBody, data)
}

// GetHttpRequestTrailers returns all request trailers.
func GetHttpRequestTrailers() ([][2]string, error) {
	return getMap(internal.MapTypeHttpRequestTrailers)
}

// ReplaceHttpRequestTrailers replaces all request trailers.
func ReplaceHttpRequestTrailers(trailers [][2]string) error {
	return setMap(internal.MapTypeHttpRequestTrailers, trailers)
}

// GetHttpRequestTrailer returns the value of a request trailer.
func GetHttpRequestTrailer(key string) (string, error) {
	return getMapValue(internal.MapTypeHttpRequestTrailers, key)
}

// RemoveHttpRequestTrailer removes a request trailer.
func RemoveHttpRequestTrailer(key string) error {
	return removeMapValue(internal.MapTypeHttpRequestTrailers, key)
}

// ReplaceHttpRequestTrailer sets a request trailer, replacing any value.
func ReplaceHttpRequestTrailer(key, value string) error {
	return replaceMapValue(internal.MapTypeHttpRequestTrailers, key, value)
}

// AddHttpRequestTrailer adds a value to a request trailer.
func AddHttpRequestTrailer(key, value string) error {
	return addMapValue(internal.MapTypeHttpRequestTrailers, key, value)
}

// ResumeHttpRequest resumes a request paused with types.ActionPause.
func ResumeHttpRequest() error {
	return internal.StatusToError(internal.ProxyContinueStream(internal.StreamTypeRequest))
}

// GetHttpResponseHeaders returns all response headers.
func GetHttpResponseHeaders() ([][2]string, error) {
	return getMap(internal.MapTypeHttpResponseHeaders)
}

// ReplaceHttpResponseHeaders replaces all response headers.
func ReplaceHttpResponseHeaders(headers [][2]string) error {
	return setMap(internal.MapTypeHttpResponseHeaders, headers)
}

// GetHttpResponseHeader returns the value of a response header.
func GetHttpResponseHeader(key string) (string, error) {
	return getMapValue(internal.MapTypeHttpResponseHeaders, key)
}

// RemoveHttpResponseHeader removes a response header.
func RemoveHttpResponseHeader(key string) error {
	return removeMapValue(internal.MapTypeHttpResponseHeaders, key)
}

// ReplaceHttpResponseHeader sets a response header, replacing any value.
func ReplaceHttpResponseHeader(key, value string) error {
	return replaceMapValue(internal.MapTypeHttpResponseHeaders, key, value)
}

// AddHttpResponseHeader adds a value to a response header.
func AddHttpResponseHeader(key, value string) error {
	return addMapValue(internal.MapTypeHttpResponseHeaders, key, value)
}

// GetHttpResponseBody returns up to maxSize bytes of the buffered response
// body from start.
func GetHttpResponseBody(start, maxSize int) ([]byte, error) {
	return getBuffer(internal.BufferTypeHttpResponseBody, start, maxSize)
}

// AppendHttpResponseBody appends data to the response body.
func AppendHttpResponseBody(data []byte) error {
	return appendToBuffer(internal.BufferTypeHttpResponseBody, data)
}

// PrependHttpResponseBody prepends data to the response body.
func PrependHttpResponseBody(data []byte) error {
	return prependToBuffer(internal.BufferTypeHttpResponseBody, data)
}

// ReplaceHttpResponseBody replaces the response body with data.
func ReplaceHttpResponseBody(data []byte) error {
	return replaceBuffer(internal.BufferTypeHttpResponseBody, data)
}

// GetHttpResponseTrailers returns all response trailers.
func GetHttpResponseTrailers() ([][2]string, error) {
	return getMap(internal.MapTypeHttpResponseTrailers)
}

// ReplaceHttpResponseTrailers replaces all response trailers.
func ReplaceHttpResponseTrailers(trailers [][2]string) error {
	return setMap(internal.MapTypeHttpResponseTrailers, trailers)
}

// GetHttpResponseTrailer returns the value of a response trailer.
func GetHttpResponseTrailer(key string) (string, error) {
	return getMapValue(internal.MapTypeHttpResponseTrailers, key)
}

// RemoveHttpResponseTrailer removes a response trailer.
func RemoveHttpResponseTrailer(key string) error {
	return removeMapValue(internal.MapTypeHttpResponseTrailers, key)
}

// ReplaceHttpResponseTrailer sets a response trailer, replacing any value.
func ReplaceHttpResponseTrailer(key, value string) error {
	return replaceMapValue(internal.MapTypeHttpResponseTrailers, key, value)
}

// AddHttpResponseTrailer adds a value to a response trailer.
func AddHttpResponseTrailer(key, value string) error {
	return addMapValue(internal.MapTypeHttpResponseTrailers, key, value)
}

// ResumeHttpResponse resumes a response paused with types.ActionPause.
func ResumeHttpResponse() error {
	return internal.StatusToError(internal.ProxyContinueStream(internal.StreamTypeResponse))
}

// SendHttpResponse sends a local reply to the client instead of forwarding
// the request (or the upstream response). gRPCStatus -1 means none. Return
// types.ActionPause from the current callback afterwards.
func SendHttpResponse(statusCode uint32, headers [][2]string, body []byte, gRPCStatus int32) error {
	return internal.StatusToError(internal.ProxySendLocalResponse(statusCode, "", body, internal.SerializeMap(headers), gRPCStatus))
}

// GetSharedData returns the value of key in the VM-wide shared data and its
// CAS token for SetSharedData.
func GetSharedData(key string) (value []byte, cas uint32, err error) {
	v, c, st := internal.ProxyGetSharedData(key)
	if st != internal.StatusOK {
		return nil, 0, internal.StatusToError(st)
	}
	return v, c, nil
}

// SetSharedData stores data under key. cas 0 writes unconditionally;
// otherwise the write succeeds only if cas is the current token, else
// ErrorStatusCasMismatch.
func SetSharedData(key string, data []byte, cas uint32) error {
	return internal.StatusToError(internal.ProxySetSharedData(key, data, cas))
}

// GetProperty returns the raw value of a host property, for example
// []string{"request", "path"}.
func GetProperty(path []string) ([]byte, error) {
	if len(path) == 0 {
		return nil, errors.New("path must not be empty")
	}
	b, st := internal.ProxyGetProperty(internal.PropertyPath(path))
	if st != internal.StatusOK {
		return nil, internal.StatusToError(st)
	}
	return b, nil
}

// GetPropertyMap returns a property whose value is a serialized map.
func GetPropertyMap(path []string) ([][2]string, error) {
	b, err := GetProperty(path)
	if err != nil {
		return nil, err
	}
	return deserializeMap(b)
}

// SetProperty sets a host property.
func SetProperty(path []string, data []byte) error {
	if len(path) == 0 {
		return errors.New("path must not be empty")
	} else if len(data) == 0 {
		return errors.New("data must not be empty")
	}
	return internal.StatusToError(internal.ProxySetProperty(internal.PropertyPath(path), data))
}

// CallForeignFunction calls a function the host registered under funcName.
func CallForeignFunction(funcName string, param []byte) (ret []byte, err error) {
	b, st := internal.ProxyCallForeignFunction(funcName, param)
	if st != internal.StatusOK {
		return nil, internal.StatusToError(st)
	}
	return b, nil
}

// LogTrace logs msg at trace level.
func LogTrace(msg string) { internal.ProxyLog(internal.LogLevelTrace, msg) }

// LogTracef formats and logs at trace level.
func LogTracef(format string, args ...interface{}) {
	internal.ProxyLog(internal.LogLevelTrace, fmt.Sprintf(format, args...))
}

// LogDebug logs msg at debug level.
func LogDebug(msg string) { internal.ProxyLog(internal.LogLevelDebug, msg) }

// LogDebugf formats and logs at debug level.
func LogDebugf(format string, args ...interface{}) {
	internal.ProxyLog(internal.LogLevelDebug, fmt.Sprintf(format, args...))
}

// LogInfo logs msg at info level.
func LogInfo(msg string) { internal.ProxyLog(internal.LogLevelInfo, msg) }

// LogInfof formats and logs at info level.
func LogInfof(format string, args ...interface{}) {
	internal.ProxyLog(internal.LogLevelInfo, fmt.Sprintf(format, args...))
}

// LogWarn logs msg at warn level.
func LogWarn(msg string) { internal.ProxyLog(internal.LogLevelWarn, msg) }

// LogWarnf formats and logs at warn level.
func LogWarnf(format string, args ...interface{}) {
	internal.ProxyLog(internal.LogLevelWarn, fmt.Sprintf(format, args...))
}

// LogError logs msg at error level.
func LogError(msg string) { internal.ProxyLog(internal.LogLevelError, msg) }

// LogErrorf formats and logs at error level.
func LogErrorf(format string, args ...interface{}) {
	internal.ProxyLog(internal.LogLevelError, fmt.Sprintf(format, args...))
}

// LogCritical logs msg at critical level.
func LogCritical(msg string) { internal.ProxyLog(internal.LogLevelCritical, msg) }

// LogCriticalf formats and logs at critical level.
func LogCriticalf(format string, args ...interface{}) {
	internal.ProxyLog(internal.LogLevelCritical, fmt.Sprintf(format, args...))
}

type (
	// MetricCounter is a counter defined with DefineCounterMetric.
	MetricCounter uint32
	// MetricGauge is a gauge defined with DefineGaugeMetric.
	MetricGauge uint32
	// MetricHistogram is a histogram defined with DefineHistogramMetric.
	MetricHistogram uint32
)

// DefineCounterMetric defines (or looks up) a counter. It panics if the
// host refuses, as the original SDK does.
func DefineCounterMetric(name string) MetricCounter {
	return MetricCounter(defineMetric(internal.MetricTypeCounter, name))
}

// Value returns the counter's current value.
func (m MetricCounter) Value() uint64 { return getMetric(uint32(m)) }

// Increment adds offset to the counter.
func (m MetricCounter) Increment(offset uint64) {
	if err := internal.StatusToError(internal.ProxyIncrementMetric(uint32(m), int64(offset))); err != nil {
		panic(fmt.Sprintf("increment metric %d by %d: %v", uint32(m), offset, err))
	}
}

// DefineGaugeMetric defines (or looks up) a gauge.
func DefineGaugeMetric(name string) MetricGauge {
	return MetricGauge(defineMetric(internal.MetricTypeGauge, name))
}

// Value returns the gauge's current value.
func (m MetricGauge) Value() int64 { return int64(getMetric(uint32(m))) }

// Add adds offset (which may be negative) to the gauge.
func (m MetricGauge) Add(offset int64) {
	if err := internal.StatusToError(internal.ProxyIncrementMetric(uint32(m), offset)); err != nil {
		panic(fmt.Sprintf("add %d to metric %d: %v", offset, uint32(m), err))
	}
}

// DefineHistogramMetric defines (or looks up) a histogram.
func DefineHistogramMetric(name string) MetricHistogram {
	return MetricHistogram(defineMetric(internal.MetricTypeHistogram, name))
}

// Value returns the histogram's current value as the host reports it.
func (m MetricHistogram) Value() uint64 { return getMetric(uint32(m)) }

// Record records value in the histogram.
func (m MetricHistogram) Record(value uint64) {
	if err := internal.StatusToError(internal.ProxyRecordMetric(uint32(m), value)); err != nil {
		panic(fmt.Sprintf("record %d in metric %d: %v", value, uint32(m), err))
	}
}

func defineMetric(t internal.MetricType, name string) uint32 {
	id, st := internal.ProxyDefineMetric(t, name)
	if err := internal.StatusToError(st); err != nil {
		panic(fmt.Sprintf("define %s metric %q: %v", t, name, err))
	}
	return id
}

func getMetric(id uint32) uint64 {
	v, st := internal.ProxyGetMetric(id)
	if err := internal.StatusToError(st); err != nil {
		panic(fmt.Sprintf("get metric %d: %v", id, err))
	}
	return v
}

func setMap(mapType internal.MapType, headers [][2]string) error {
	return internal.StatusToError(internal.ProxySetHeaderMapPairs(mapType, internal.SerializeMap(headers)))
}

func getMapValue(mapType internal.MapType, key string) (string, error) {
	v, st := internal.ProxyGetHeaderMapValue(mapType, key)
	if st != internal.StatusOK {
		return "", internal.StatusToError(st)
	}
	return v, nil
}

func removeMapValue(mapType internal.MapType, key string) error {
	return internal.StatusToError(internal.ProxyRemoveHeaderMapValue(mapType, key))
}

func replaceMapValue(mapType internal.MapType, key, value string) error {
	return internal.StatusToError(internal.ProxyReplaceHeaderMapValue(mapType, key, value))
}

func addMapValue(mapType internal.MapType, key, value string) error {
	return internal.StatusToError(internal.ProxyAddHeaderMapValue(mapType, key, value))
}

// getMap reads a whole map. As in the original SDK, an empty map is
// ErrorStatusNotFound.
func getMap(mapType internal.MapType) ([][2]string, error) {
	b, st := internal.ProxyGetHeaderMapPairs(mapType)
	if st != internal.StatusOK {
		return nil, internal.StatusToError(st)
	} else if len(b) == 0 {
		return nil, types.ErrorStatusNotFound
	}
	return deserializeMap(b)
}

func deserializeMap(b []byte) ([][2]string, error) {
	m, err := internal.DeserializeMap(b)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", types.ErrorInternalFailure, err)
	}
	return m, nil
}

// getBuffer reads a buffer. As in the original SDK, an empty buffer is
// ErrorStatusNotFound.
func getBuffer(bufType internal.BufferType, start, maxSize int) ([]byte, error) {
	b, st := internal.ProxyGetBufferBytes(bufType, start, maxSize)
	if st != internal.StatusOK {
		return nil, internal.StatusToError(st)
	} else if len(b) == 0 {
		return nil, types.ErrorStatusNotFound
	}
	return b, nil
}

func appendToBuffer(bufType internal.BufferType, buffer []byte) error {
	return internal.StatusToError(internal.ProxySetBufferBytes(bufType, math.MaxInt32, 0, buffer))
}

func prependToBuffer(bufType internal.BufferType, buffer []byte) error {
	return internal.StatusToError(internal.ProxySetBufferBytes(bufType, 0, 0, buffer))
}

func replaceBuffer(bufType internal.BufferType, buffer []byte) error {
	return internal.StatusToError(internal.ProxySetBufferBytes(bufType, 0, math.MaxInt32, buffer))
}
