package proxywasm

import (
	"github.com/wasmctl/wasmctl/sdk/proxywasm/internal"
	"github.com/wasmctl/wasmctl/sdk/proxywasm/types"
)

// The functions in this file cover host functions of ABI v0.2.1 that
// tetratelabs/proxy-wasm-go-sdk v0.24.0 did not expose (gRPC, status, log
// level, foreign-function arguments, HTTP stream close). They are additions;
// nothing of the original API changes.

// GetLogLevel returns the host's current log level (proxy_get_log_level),
// so a filter can skip building messages that would be dropped.
func GetLogLevel() (types.LogLevel, error) {
	l, st := internal.ProxyGetLogLevel()
	return types.LogLevel(l), internal.StatusToError(st)
}

// GetCurrentTimeNanoseconds returns the host's wall-clock time in
// nanoseconds since the Unix epoch (proxy_get_current_time_nanoseconds).
// time.Now works as well; it reads the WASI clock.
func GetCurrentTimeNanoseconds() (uint64, error) {
	t, st := internal.ProxyGetCurrentTimeNanoseconds()
	return t, internal.StatusToError(st)
}

// GetStatus returns the status code and message of the last HTTP callout or
// gRPC call (proxy_get_status); call it inside their callbacks.
func GetStatus() (code uint32, message string, err error) {
	c, msg, st := internal.ProxyGetStatus()
	if st != internal.StatusOK {
		return 0, "", internal.StatusToError(st)
	}
	return c, string(msg), nil
}

// CloseHttpRequest closes the HTTP request stream (proxy_close_stream).
func CloseHttpRequest() error {
	return internal.StatusToError(internal.ProxyCloseStream(internal.StreamTypeRequest))
}

// CloseHttpResponse closes the HTTP response stream (proxy_close_stream).
func CloseHttpResponse() error {
	return internal.StatusToError(internal.ProxyCloseStream(internal.StreamTypeResponse))
}

// GetForeignFunctionArguments returns the arguments of a host-initiated
// foreign function call. Call it from OnForeignFunction (see
// ForeignFunctionHandler).
func GetForeignFunctionArguments() ([]byte, error) {
	return getBuffer(internal.BufferTypeForeignFunctionArgument, 0, 1<<31-1)
}

// ForeignFunctionHandler is an optional interface of a types.PluginContext:
// if the plugin context implements it, proxy_on_foreign_function events are
// delivered to OnForeignFunction.
type ForeignFunctionHandler interface {
	OnForeignFunction(functionID uint32, argumentsSize int)
}

var _ internal.ForeignFunctionHandler = ForeignFunctionHandler(nil)

// GrpcCallbacks receive the events of a gRPC call or stream. Any field may be
// nil. For a unary call (DispatchGrpcCall) the host either delivers the
// response message (OnMessage) or ends the call with a non-zero status
// (OnClose); read the message with GetGrpcReceiveMessage and the status text
// with GetStatus.
type GrpcCallbacks struct {
	OnInitialMetadata  func(numElements int)
	OnMessage          func(messageSize int)
	OnTrailingMetadata func(numElements int)
	OnClose            func(statusCode uint32)
}

func (c GrpcCallbacks) internal() internal.GrpcCallbacks {
	return internal.GrpcCallbacks{
		OnInitialMetadata:  c.OnInitialMetadata,
		OnMessage:          c.OnMessage,
		OnTrailingMetadata: c.OnTrailingMetadata,
		OnClose:            c.OnClose,
	}
}

// DispatchGrpcCall makes a unary gRPC call of service/method on cluster
// upstream with a serialized protobuf message (proxy_grpc_call).
func DispatchGrpcCall(upstream, serviceName, methodName string, initialMetadata [][2]string, message []byte,
	timeoutMillisecond uint32, callbacks GrpcCallbacks) (callID uint32, err error) {
	id, st := internal.ProxyGrpcCall(upstream, serviceName, methodName, internal.SerializeMap(initialMetadata), message, timeoutMillisecond)
	if st != internal.StatusOK {
		return 0, internal.StatusToError(st)
	}
	internal.RegisterGrpcCall(id, callbacks.internal(), false)
	return id, nil
}

// OpenGrpcStream opens a gRPC stream of service/method on cluster upstream
// (proxy_grpc_stream). Send with SendGrpcStreamMessage.
func OpenGrpcStream(upstream, serviceName, methodName string, initialMetadata [][2]string,
	callbacks GrpcCallbacks) (streamID uint32, err error) {
	id, st := internal.ProxyGrpcStream(upstream, serviceName, methodName, internal.SerializeMap(initialMetadata))
	if st != internal.StatusOK {
		return 0, internal.StatusToError(st)
	}
	internal.RegisterGrpcCall(id, callbacks.internal(), true)
	return id, nil
}

// SendGrpcStreamMessage sends a message on a gRPC stream; endStream
// half-closes it (proxy_grpc_send).
func SendGrpcStreamMessage(streamID uint32, message []byte, endStream bool) error {
	return internal.StatusToError(internal.ProxyGrpcSend(streamID, message, endStream))
}

// CancelGrpcCall cancels a gRPC call or stream (proxy_grpc_cancel).
func CancelGrpcCall(callID uint32) error {
	return internal.StatusToError(internal.ProxyGrpcCancel(callID))
}

// CloseGrpcStream closes a gRPC stream gracefully (proxy_grpc_close).
func CloseGrpcStream(streamID uint32) error {
	return internal.StatusToError(internal.ProxyGrpcClose(streamID))
}

// GetGrpcReceiveMessage returns up to maxSize bytes from start of the gRPC
// message being delivered to OnMessage.
func GetGrpcReceiveMessage(start, maxSize int) ([]byte, error) {
	return getBuffer(internal.BufferTypeGrpcReceiveBuffer, start, maxSize)
}

// GetGrpcReceiveInitialMetadata returns the initial metadata being delivered
// to OnInitialMetadata.
func GetGrpcReceiveInitialMetadata() ([][2]string, error) {
	return getMap(internal.MapTypeGrpcReceiveInitialMetadata)
}

// GetGrpcReceiveTrailingMetadata returns the trailing metadata being
// delivered to OnTrailingMetadata.
func GetGrpcReceiveTrailingMetadata() ([][2]string, error) {
	return getMap(internal.MapTypeGrpcReceiveTrailingMetadata)
}
