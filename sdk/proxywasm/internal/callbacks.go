package internal

import (
	"fmt"
	"runtime/debug"

	"github.com/wasmctl/wasmctl/sdk/proxywasm/types"
)

// catch is deferred by every callback. A panic in user code is logged at
// critical level with its message and stack through proxy_log, then raised
// again so the VM traps (a Go runtime that panicked must not be reused).
func catch(callback string) {
	if r := recover(); r != nil {
		msg := fmt.Sprintf("panic in %s: %v\n%s", callback, r, debug.Stack())
		ProxyLog(LogLevelCritical, msg)
		panic(r)
	}
}

// http returns the HTTP context contextID and, if there is one, makes it
// the active context for the callback about to run.
func (s *State) http(contextID uint32) (types.HttpContext, bool) {
	if contextID == s.lastHTTPID && s.lastHTTP != nil {
		s.activeContextID = contextID
		return s.lastHTTP, true
	}
	ctx, ok := s.httpContexts[contextID]
	if ok {
		s.activeContextID = contextID
		s.lastHTTPID, s.lastHTTP = contextID, ctx
	}
	return ctx, ok
}

// tcp is http for TCP contexts.
func (s *State) tcp(contextID uint32) (types.TcpContext, bool) {
	ctx, ok := s.tcpContexts[contextID]
	if ok {
		s.activeContextID = contextID
	}
	return ctx, ok
}

// plugin is http for plugin contexts.
func (s *State) plugin(contextID uint32) (*pluginState, bool) {
	root, ok := s.pluginContexts[contextID]
	if ok {
		s.activeContextID = contextID
	}
	return root, ok
}

// ProxyOnContextCreate implements proxy_on_context_create.
func ProxyOnContextCreate(contextID, pluginContextID uint32) {
	defer catch("proxy_on_context_create")
	s := current
	if pluginContextID == 0 {
		s.createPluginContext(contextID)
		return
	}
	s.createStreamContext(contextID, pluginContextID)
}

// ProxyOnVMStart implements proxy_on_vm_start.
func ProxyOnVMStart(pluginContextID uint32, vmConfigurationSize int) types.OnVMStartStatus {
	defer catch("proxy_on_vm_start")
	s := current
	s.activeContextID = pluginContextID
	return s.vmContext.OnVMStart(vmConfigurationSize)
}

// ProxyOnConfigure implements proxy_on_configure.
func ProxyOnConfigure(pluginContextID uint32, pluginConfigurationSize int) types.OnPluginStartStatus {
	defer catch("proxy_on_configure")
	root, ok := current.plugin(pluginContextID)
	if !ok {
		return types.OnPluginStartStatusFailed
	}
	return root.context.OnPluginStart(pluginConfigurationSize)
}

// ProxyOnTick implements proxy_on_tick.
func ProxyOnTick(pluginContextID uint32) {
	defer catch("proxy_on_tick")
	if root, ok := current.plugin(pluginContextID); ok {
		root.context.OnTick()
	}
}

// ProxyOnQueueReady implements proxy_on_queue_ready.
func ProxyOnQueueReady(pluginContextID, queueID uint32) {
	defer catch("proxy_on_queue_ready")
	if root, ok := current.plugin(pluginContextID); ok {
		root.context.OnQueueReady(queueID)
	}
}

// ForeignFunctionHandler is implemented by a PluginContext that wants
// proxy_on_foreign_function events (the host calling into the plugin).
type ForeignFunctionHandler interface {
	OnForeignFunction(functionID uint32, argumentsSize int)
}

// ProxyOnForeignFunction implements proxy_on_foreign_function.
func ProxyOnForeignFunction(pluginContextID, functionID uint32, argumentsSize int) {
	defer catch("proxy_on_foreign_function")
	s := current
	if root, ok := s.pluginContexts[pluginContextID]; ok {
		if h, ok := root.context.(ForeignFunctionHandler); ok {
			s.activeContextID = pluginContextID
			h.OnForeignFunction(functionID, argumentsSize)
		}
	}
}

// ProxyOnNewConnection implements proxy_on_new_connection.
func ProxyOnNewConnection(contextID uint32) types.Action {
	defer catch("proxy_on_new_connection")
	if ctx, ok := current.tcp(contextID); ok {
		return ctx.OnNewConnection()
	}
	return types.ActionContinue
}

// ProxyOnDownstreamData implements proxy_on_downstream_data.
func ProxyOnDownstreamData(contextID uint32, dataSize int, endOfStream bool) types.Action {
	defer catch("proxy_on_downstream_data")
	if ctx, ok := current.tcp(contextID); ok {
		return ctx.OnDownstreamData(dataSize, endOfStream)
	}
	return types.ActionContinue
}

// ProxyOnDownstreamConnectionClose implements proxy_on_downstream_connection_close.
func ProxyOnDownstreamConnectionClose(contextID uint32, peerType types.PeerType) {
	defer catch("proxy_on_downstream_connection_close")
	if ctx, ok := current.tcp(contextID); ok {
		ctx.OnDownstreamClose(peerType)
	}
}

// ProxyOnUpstreamData implements proxy_on_upstream_data.
func ProxyOnUpstreamData(contextID uint32, dataSize int, endOfStream bool) types.Action {
	defer catch("proxy_on_upstream_data")
	if ctx, ok := current.tcp(contextID); ok {
		return ctx.OnUpstreamData(dataSize, endOfStream)
	}
	return types.ActionContinue
}

// ProxyOnUpstreamConnectionClose implements proxy_on_upstream_connection_close.
func ProxyOnUpstreamConnectionClose(contextID uint32, peerType types.PeerType) {
	defer catch("proxy_on_upstream_connection_close")
	if ctx, ok := current.tcp(contextID); ok {
		ctx.OnUpstreamClose(peerType)
	}
}

// ProxyOnRequestHeaders implements proxy_on_request_headers.
func ProxyOnRequestHeaders(contextID uint32, numHeaders int, endOfStream bool) types.Action {
	defer catch("proxy_on_request_headers")
	if ctx, ok := current.http(contextID); ok {
		return ctx.OnHttpRequestHeaders(numHeaders, endOfStream)
	}
	return types.ActionContinue
}

// ProxyOnRequestBody implements proxy_on_request_body.
func ProxyOnRequestBody(contextID uint32, bodySize int, endOfStream bool) types.Action {
	defer catch("proxy_on_request_body")
	if ctx, ok := current.http(contextID); ok {
		return ctx.OnHttpRequestBody(bodySize, endOfStream)
	}
	return types.ActionContinue
}

// ProxyOnRequestTrailers implements proxy_on_request_trailers.
func ProxyOnRequestTrailers(contextID uint32, numTrailers int) types.Action {
	defer catch("proxy_on_request_trailers")
	if ctx, ok := current.http(contextID); ok {
		return ctx.OnHttpRequestTrailers(numTrailers)
	}
	return types.ActionContinue
}

// ProxyOnResponseHeaders implements proxy_on_response_headers.
func ProxyOnResponseHeaders(contextID uint32, numHeaders int, endOfStream bool) types.Action {
	defer catch("proxy_on_response_headers")
	if ctx, ok := current.http(contextID); ok {
		return ctx.OnHttpResponseHeaders(numHeaders, endOfStream)
	}
	return types.ActionContinue
}

// ProxyOnResponseBody implements proxy_on_response_body.
func ProxyOnResponseBody(contextID uint32, bodySize int, endOfStream bool) types.Action {
	defer catch("proxy_on_response_body")
	if ctx, ok := current.http(contextID); ok {
		return ctx.OnHttpResponseBody(bodySize, endOfStream)
	}
	return types.ActionContinue
}

// ProxyOnResponseTrailers implements proxy_on_response_trailers.
func ProxyOnResponseTrailers(contextID uint32, numTrailers int) types.Action {
	defer catch("proxy_on_response_trailers")
	if ctx, ok := current.http(contextID); ok {
		return ctx.OnHttpResponseTrailers(numTrailers)
	}
	return types.ActionContinue
}

// ProxyOnHttpCallResponse implements proxy_on_http_call_response. The
// callback runs with the calling stream as the effective context; it is
// dropped if that stream was deleted before the response arrived.
func ProxyOnHttpCallResponse(pluginContextID, calloutID uint32, numHeaders, bodySize, numTrailers int) {
	defer catch("proxy_on_http_call_response")
	s := current
	root, ok := s.pluginContexts[pluginContextID]
	if !ok {
		return
	}
	cb, ok := root.httpCallbacks[calloutID]
	if !ok {
		return
	}
	delete(root.httpCallbacks, calloutID)
	s.activeContextID = cb.callerContextID
	if _, alive := s.contextIDToRootID[cb.callerContextID]; !alive {
		return
	}
	if cb.callerContextID != pluginContextID {
		ProxySetEffectiveContext(cb.callerContextID)
	}
	cb.callback(numHeaders, bodySize, numTrailers)
}

func (s *State) grpcCall(pluginContextID, callID uint32) *GrpcCallbacks {
	root, ok := s.pluginContexts[pluginContextID]
	if !ok {
		return nil
	}
	cbs := root.grpcCalls[callID]
	if cbs == nil {
		return nil
	}
	s.activeContextID = cbs.callerContextID
	if _, alive := s.contextIDToRootID[cbs.callerContextID]; !alive {
		delete(root.grpcCalls, callID)
		return nil
	}
	if cbs.callerContextID != pluginContextID {
		ProxySetEffectiveContext(cbs.callerContextID)
	}
	return cbs
}

// ProxyOnGrpcReceiveInitialMetadata implements proxy_on_grpc_receive_initial_metadata.
func ProxyOnGrpcReceiveInitialMetadata(pluginContextID, callID uint32, numElements int) {
	defer catch("proxy_on_grpc_receive_initial_metadata")
	if cbs := current.grpcCall(pluginContextID, callID); cbs != nil && cbs.OnInitialMetadata != nil {
		cbs.OnInitialMetadata(numElements)
	}
}

// ProxyOnGrpcReceiveTrailingMetadata implements proxy_on_grpc_receive_trailing_metadata.
func ProxyOnGrpcReceiveTrailingMetadata(pluginContextID, callID uint32, numElements int) {
	defer catch("proxy_on_grpc_receive_trailing_metadata")
	if cbs := current.grpcCall(pluginContextID, callID); cbs != nil && cbs.OnTrailingMetadata != nil {
		cbs.OnTrailingMetadata(numElements)
	}
}

// ProxyOnGrpcReceive implements proxy_on_grpc_receive. For a unary call the
// message is the response and the call is over.
func ProxyOnGrpcReceive(pluginContextID, callID uint32, messageSize int) {
	defer catch("proxy_on_grpc_receive")
	s := current
	cbs := s.grpcCall(pluginContextID, callID)
	if cbs == nil {
		return
	}
	if !cbs.stream {
		delete(s.pluginContexts[pluginContextID].grpcCalls, callID)
	}
	if cbs.OnMessage != nil {
		cbs.OnMessage(messageSize)
	}
}

// ProxyOnGrpcClose implements proxy_on_grpc_close.
func ProxyOnGrpcClose(pluginContextID, callID, statusCode uint32) {
	defer catch("proxy_on_grpc_close")
	s := current
	cbs := s.grpcCall(pluginContextID, callID)
	if cbs == nil {
		return
	}
	delete(s.pluginContexts[pluginContextID].grpcCalls, callID)
	if cbs.OnClose != nil {
		cbs.OnClose(statusCode)
	}
}

// ProxyOnLog implements proxy_on_log: the stream-done callback.
func ProxyOnLog(contextID uint32) {
	defer catch("proxy_on_log")
	if ctx, ok := current.tcp(contextID); ok {
		ctx.OnStreamDone()
	} else if ctx, ok := current.http(contextID); ok {
		ctx.OnHttpStreamDone()
	}
}

// ProxyOnDone implements proxy_on_done. Only plugin contexts may answer false.
func ProxyOnDone(contextID uint32) bool {
	defer catch("proxy_on_done")
	if root, ok := current.plugin(contextID); ok {
		return root.context.OnPluginDone()
	}
	return true
}

// ProxyOnDelete implements proxy_on_delete: the context's state is dropped.
func ProxyOnDelete(contextID uint32) {
	defer catch("proxy_on_delete")
	s := current
	delete(s.contextIDToRootID, contextID)
	delete(s.tcpContexts, contextID)
	delete(s.httpContexts, contextID)
	if s.lastHTTPID == contextID {
		s.lastHTTPID, s.lastHTTP = 0, nil
	}
	delete(s.pluginContexts, contextID)
}
