//go:build wasip1

package internal

import "github.com/wasmctl/wasmctl/sdk/proxywasm/types"

// The proxy-wasm ABI v0.2.1 exports of a wasm build. Every callback of the
// spec is exported; each is a thin conversion to the shared Proxy* function.

//go:wasmexport proxy_abi_version_0_2_1
func proxyABIVersion021() {}

//go:wasmexport proxy_on_memory_allocate
func proxyOnMemoryAllocate(size uint32) *byte { return allocate(size) }

//go:wasmexport proxy_on_context_create
func proxyOnContextCreate(contextID, parentContextID uint32) {
	ProxyOnContextCreate(contextID, parentContextID)
}

//go:wasmexport proxy_on_vm_start
func proxyOnVMStart(rootContextID, vmConfigurationSize uint32) bool {
	return bool(ProxyOnVMStart(rootContextID, int(vmConfigurationSize)))
}

//go:wasmexport proxy_on_configure
func proxyOnConfigure(rootContextID, pluginConfigurationSize uint32) bool {
	return bool(ProxyOnConfigure(rootContextID, int(pluginConfigurationSize)))
}

//go:wasmexport proxy_on_tick
func proxyOnTick(rootContextID uint32) { ProxyOnTick(rootContextID) }

//go:wasmexport proxy_on_queue_ready
func proxyOnQueueReady(rootContextID, queueID uint32) { ProxyOnQueueReady(rootContextID, queueID) }

//go:wasmexport proxy_on_foreign_function
func proxyOnForeignFunction(rootContextID, functionID, argumentsSize uint32) {
	ProxyOnForeignFunction(rootContextID, functionID, int(argumentsSize))
}

//go:wasmexport proxy_on_new_connection
func proxyOnNewConnection(contextID uint32) uint32 {
	return uint32(ProxyOnNewConnection(contextID))
}

//go:wasmexport proxy_on_downstream_data
func proxyOnDownstreamData(contextID, dataSize uint32, endOfStream bool) uint32 {
	return uint32(ProxyOnDownstreamData(contextID, int(dataSize), endOfStream))
}

//go:wasmexport proxy_on_downstream_connection_close
func proxyOnDownstreamConnectionClose(contextID, peerType uint32) {
	ProxyOnDownstreamConnectionClose(contextID, types.PeerType(peerType))
}

//go:wasmexport proxy_on_upstream_data
func proxyOnUpstreamData(contextID, dataSize uint32, endOfStream bool) uint32 {
	return uint32(ProxyOnUpstreamData(contextID, int(dataSize), endOfStream))
}

//go:wasmexport proxy_on_upstream_connection_close
func proxyOnUpstreamConnectionClose(contextID, peerType uint32) {
	ProxyOnUpstreamConnectionClose(contextID, types.PeerType(peerType))
}

//go:wasmexport proxy_on_request_headers
func proxyOnRequestHeaders(contextID, numHeaders uint32, endOfStream bool) uint32 {
	return uint32(ProxyOnRequestHeaders(contextID, int(numHeaders), endOfStream))
}

//go:wasmexport proxy_on_request_body
func proxyOnRequestBody(contextID, bodySize uint32, endOfStream bool) uint32 {
	return uint32(ProxyOnRequestBody(contextID, int(bodySize), endOfStream))
}

//go:wasmexport proxy_on_request_trailers
func proxyOnRequestTrailers(contextID, numTrailers uint32) uint32 {
	return uint32(ProxyOnRequestTrailers(contextID, int(numTrailers)))
}

//go:wasmexport proxy_on_response_headers
func proxyOnResponseHeaders(contextID, numHeaders uint32, endOfStream bool) uint32 {
	return uint32(ProxyOnResponseHeaders(contextID, int(numHeaders), endOfStream))
}

//go:wasmexport proxy_on_response_body
func proxyOnResponseBody(contextID, bodySize uint32, endOfStream bool) uint32 {
	return uint32(ProxyOnResponseBody(contextID, int(bodySize), endOfStream))
}

//go:wasmexport proxy_on_response_trailers
func proxyOnResponseTrailers(contextID, numTrailers uint32) uint32 {
	return uint32(ProxyOnResponseTrailers(contextID, int(numTrailers)))
}

//go:wasmexport proxy_on_http_call_response
func proxyOnHttpCallResponse(rootContextID, calloutID, numHeaders, bodySize, numTrailers uint32) {
	ProxyOnHttpCallResponse(rootContextID, calloutID, int(numHeaders), int(bodySize), int(numTrailers))
}

//go:wasmexport proxy_on_grpc_receive_initial_metadata
func proxyOnGrpcReceiveInitialMetadata(rootContextID, callID, numElements uint32) {
	ProxyOnGrpcReceiveInitialMetadata(rootContextID, callID, int(numElements))
}

//go:wasmexport proxy_on_grpc_receive_trailing_metadata
func proxyOnGrpcReceiveTrailingMetadata(rootContextID, callID, numElements uint32) {
	ProxyOnGrpcReceiveTrailingMetadata(rootContextID, callID, int(numElements))
}

//go:wasmexport proxy_on_grpc_receive
func proxyOnGrpcReceive(rootContextID, callID, messageSize uint32) {
	ProxyOnGrpcReceive(rootContextID, callID, int(messageSize))
}

//go:wasmexport proxy_on_grpc_close
func proxyOnGrpcClose(rootContextID, callID, statusCode uint32) {
	ProxyOnGrpcClose(rootContextID, callID, statusCode)
}

//go:wasmexport proxy_on_log
func proxyOnLog(contextID uint32) { ProxyOnLog(contextID) }

//go:wasmexport proxy_on_done
func proxyOnDone(contextID uint32) bool { return ProxyOnDone(contextID) }

//go:wasmexport proxy_on_delete
func proxyOnDelete(contextID uint32) { ProxyOnDelete(contextID) }
