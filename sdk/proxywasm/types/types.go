// Package types holds the interfaces a filter implements (VMContext,
// PluginContext, HttpContext, TcpContext), the Default* structs to embed, and
// the enums and error values shared by the proxywasm API. Names and
// signatures are those of github.com/tetratelabs/proxy-wasm-go-sdk v0.24.0.
package types

import "errors"

// Action tells the host whether to continue processing a stream after a
// callback returns.
type Action uint32

const (
	// ActionContinue lets the host pass the data on to the next filter.
	ActionContinue Action = 0
	// ActionPause stops the stream until the filter resumes it, for example
	// with proxywasm.ResumeHttpRequest after an HTTP callout returns.
	ActionPause Action = 1
)

// PeerType says which side closed a TCP connection.
type PeerType uint32

const (
	// PeerTypeUnknown means the host does not know which peer closed.
	PeerTypeUnknown PeerType = 0
	// PeerTypeLocal means the connection was closed locally.
	PeerTypeLocal PeerType = 1
	// PeerTypeRemote means the remote peer closed the connection.
	PeerTypeRemote PeerType = 2
)

// OnVMStartStatus is the result of VMContext.OnVMStart.
type OnVMStartStatus bool

const (
	// OnVMStartStatusOK means the VM started and may be used.
	OnVMStartStatusOK OnVMStartStatus = true
	// OnVMStartStatusFailed tells the host not to use this VM.
	OnVMStartStatusFailed OnVMStartStatus = false
)

// OnPluginStartStatus is the result of PluginContext.OnPluginStart.
type OnPluginStartStatus bool

const (
	// OnPluginStartStatusOK means the plugin accepted its configuration.
	OnPluginStartStatusOK OnPluginStartStatus = true
	// OnPluginStartStatusFailed tells the host the configuration was rejected.
	OnPluginStartStatusFailed OnPluginStartStatus = false
)

// Errors returned by the proxywasm functions when the host answers with a
// status other than OK.
var (
	// ErrorStatusNotFound means the requested item (header, property, key,
	// queue, buffer) does not exist.
	ErrorStatusNotFound = errors.New("error status returned by host: not found")
	// ErrorStatusBadArgument means the host rejected an argument.
	ErrorStatusBadArgument = errors.New("error status returned by host: bad argument")
	// ErrorStatusEmpty means a shared queue has no item.
	ErrorStatusEmpty = errors.New("error status returned by host: empty")
	// ErrorStatusCasMismatch means SetSharedData lost a compare-and-swap race;
	// read the value again and retry.
	ErrorStatusCasMismatch = errors.New("error status returned by host: cas mismatch")
	// ErrorInternalFailure means the host failed, or returned data the SDK could
	// not parse.
	ErrorInternalFailure = errors.New("error status returned by host: internal failure")
	// ErrorUnimplemented means the host does not implement the call.
	ErrorUnimplemented = errors.New("error status returned by host: unimplemented")
)

// LogLevel is the host's log level (proxy_log_level_t), returned by
// proxywasm.GetLogLevel. This type is an addition to the original SDK's API.
type LogLevel uint32

// The log levels of ABI v0.2.1.
const (
	LogLevelTrace    LogLevel = 0
	LogLevelDebug    LogLevel = 1
	LogLevelInfo     LogLevel = 2
	LogLevelWarn     LogLevel = 3
	LogLevelError    LogLevel = 4
	LogLevelCritical LogLevel = 5
)
