package types

// VMContext is the filter's per-VM state. Exactly one exists per wasm VM; it
// is registered with proxywasm.SetVMContext from an init function.
type VMContext interface {
	// OnVMStart is called once when the VM starts. vmConfigurationSize is the
	// size of the VM configuration, read with proxywasm.GetVMConfiguration.
	OnVMStart(vmConfigurationSize int) OnVMStartStatus

	// NewPluginContext creates the context of one plugin (root context) in this VM.
	NewPluginContext(contextID uint32) PluginContext
}

// PluginContext is the state of one plugin configuration (a root context).
// Its OnTick, OnQueueReady and HTTP callout callbacks run on it.
type PluginContext interface {
	// OnPluginStart is called after the plugin context is created.
	// pluginConfigurationSize is the size of the configuration, read with
	// proxywasm.GetPluginConfiguration.
	OnPluginStart(pluginConfigurationSize int) OnPluginStartStatus

	// OnPluginDone is called when the host is about to delete the plugin. Return
	// false to finish later with proxywasm.PluginDone.
	OnPluginDone() bool

	// OnQueueReady is called when an item was enqueued on a queue this plugin registered.
	OnQueueReady(queueID uint32)

	// OnTick is called every period set with proxywasm.SetTickPeriodMilliSeconds.
	OnTick()

	// NewTcpContext creates the context of a new TCP connection. Return nil if
	// the plugin does not filter TCP.
	NewTcpContext(contextID uint32) TcpContext

	// NewHttpContext creates the context of a new HTTP stream. Return nil if the
	// plugin does not filter HTTP.
	NewHttpContext(contextID uint32) HttpContext
}

// TcpContext is the state of one TCP connection.
type TcpContext interface {
	// OnNewConnection is called when the connection is accepted.
	OnNewConnection() Action

	// OnDownstreamData is called for data from the client; dataSize is the
	// size of the buffered data, read with proxywasm.GetDownstreamData.
	OnDownstreamData(dataSize int, endOfStream bool) Action

	// OnDownstreamClose is called when the downstream connection closes.
	OnDownstreamClose(peerType PeerType)

	// OnUpstreamData is called for data from the upstream server.
	OnUpstreamData(dataSize int, endOfStream bool) Action

	// OnUpstreamClose is called when the upstream connection closes.
	OnUpstreamClose(peerType PeerType)

	// OnStreamDone is called before the host deletes the context.
	OnStreamDone()
}

// HttpContext is the state of one HTTP stream (request and response).
type HttpContext interface {
	// OnHttpRequestHeaders is called when the request headers arrive.
	OnHttpRequestHeaders(numHeaders int, endOfStream bool) Action

	// OnHttpRequestBody is called for each chunk of the request body; bodySize
	// is the size buffered so far.
	OnHttpRequestBody(bodySize int, endOfStream bool) Action

	// OnHttpRequestTrailers is called when the request trailers arrive.
	OnHttpRequestTrailers(numTrailers int) Action

	// OnHttpResponseHeaders is called when the response headers arrive.
	OnHttpResponseHeaders(numHeaders int, endOfStream bool) Action

	// OnHttpResponseBody is called for each chunk of the response body.
	OnHttpResponseBody(bodySize int, endOfStream bool) Action

	// OnHttpResponseTrailers is called when the response trailers arrive.
	OnHttpResponseTrailers(numTrailers int) Action

	// OnHttpStreamDone is called before the host deletes the context
	// (the access-log phase; headers are read-only here).
	OnHttpStreamDone()
}

type (
	// DefaultVMContext implements VMContext with no-op methods; embed it.
	DefaultVMContext struct{}

	// DefaultPluginContext implements PluginContext with no-op methods; embed it.
	DefaultPluginContext struct{}

	// DefaultTcpContext implements TcpContext with no-op methods; embed it.
	DefaultTcpContext struct{}

	// DefaultHttpContext implements HttpContext with no-op methods; embed it.
	DefaultHttpContext struct{}
)

// OnVMStart implements VMContext.OnVMStart.
func (*DefaultVMContext) OnVMStart(vmConfigurationSize int) OnVMStartStatus { return OnVMStartStatusOK }

// NewPluginContext implements VMContext.NewPluginContext.
func (*DefaultVMContext) NewPluginContext(contextID uint32) PluginContext {
	return &DefaultPluginContext{}
}

// OnQueueReady implements PluginContext.OnQueueReady.
func (*DefaultPluginContext) OnQueueReady(uint32) {}

// OnTick implements PluginContext.OnTick.
func (*DefaultPluginContext) OnTick() {}

// OnPluginStart implements PluginContext.OnPluginStart.
func (*DefaultPluginContext) OnPluginStart(int) OnPluginStartStatus { return OnPluginStartStatusOK }

// OnPluginDone implements PluginContext.OnPluginDone.
func (*DefaultPluginContext) OnPluginDone() bool { return true }

// NewTcpContext implements PluginContext.NewTcpContext.
func (*DefaultPluginContext) NewTcpContext(uint32) TcpContext { return nil }

// NewHttpContext implements PluginContext.NewHttpContext.
func (*DefaultPluginContext) NewHttpContext(uint32) HttpContext { return nil }

// OnDownstreamData implements TcpContext.OnDownstreamData.
func (*DefaultTcpContext) OnDownstreamData(int, bool) Action { return ActionContinue }

// OnDownstreamClose implements TcpContext.OnDownstreamClose.
func (*DefaultTcpContext) OnDownstreamClose(PeerType) {}

// OnNewConnection implements TcpContext.OnNewConnection.
func (*DefaultTcpContext) OnNewConnection() Action { return ActionContinue }

// OnUpstreamData implements TcpContext.OnUpstreamData.
func (*DefaultTcpContext) OnUpstreamData(int, bool) Action { return ActionContinue }

// OnUpstreamClose implements TcpContext.OnUpstreamClose.
func (*DefaultTcpContext) OnUpstreamClose(PeerType) {}

// OnStreamDone implements TcpContext.OnStreamDone.
func (*DefaultTcpContext) OnStreamDone() {}

// OnHttpRequestHeaders implements HttpContext.OnHttpRequestHeaders.
func (*DefaultHttpContext) OnHttpRequestHeaders(int, bool) Action { return ActionContinue }

// OnHttpRequestBody implements HttpContext.OnHttpRequestBody.
func (*DefaultHttpContext) OnHttpRequestBody(int, bool) Action { return ActionContinue }

// OnHttpRequestTrailers implements HttpContext.OnHttpRequestTrailers.
func (*DefaultHttpContext) OnHttpRequestTrailers(int) Action { return ActionContinue }

// OnHttpResponseHeaders implements HttpContext.OnHttpResponseHeaders.
func (*DefaultHttpContext) OnHttpResponseHeaders(int, bool) Action { return ActionContinue }

// OnHttpResponseBody implements HttpContext.OnHttpResponseBody.
func (*DefaultHttpContext) OnHttpResponseBody(int, bool) Action { return ActionContinue }

// OnHttpResponseTrailers implements HttpContext.OnHttpResponseTrailers.
func (*DefaultHttpContext) OnHttpResponseTrailers(int) Action { return ActionContinue }

// OnHttpStreamDone implements HttpContext.OnHttpStreamDone.
func (*DefaultHttpContext) OnHttpStreamDone() {}

var (
	_ VMContext     = &DefaultVMContext{}
	_ PluginContext = &DefaultPluginContext{}
	_ TcpContext    = &DefaultTcpContext{}
	_ HttpContext   = &DefaultHttpContext{}
)
