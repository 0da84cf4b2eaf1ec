package proxytest

import (
	"log"

	"github.com/wasmctl/wasmctl/sdk/proxywasm/types"
)

type httpStreamState struct {
	requestHeaders, responseHeaders   [][2]string
	requestTrailers, responseTrailers [][2]string

	// requestBodyBuffer and responseBodyBuffer keep the body read so far
	// while the plugin pauses (buffers), as Envoy does; they are cleared
	// when the plugin continues.
	requestBodyBuffer, responseBodyBuffer []byte
	// requestBody and responseBody are what the plugin sees and modifies.
	requestBody, responseBody []byte

	action            types.Action
	sentLocalResponse *LocalHttpResponse
}

func (h *hostEmulator) httpStream(contextID uint32) *httpStreamState {
	s, ok := h.httpStreams[contextID]
	if !ok {
		log.Panicf("proxytest: invalid HTTP context id %d; create one with InitializeHttpContext", contextID)
	}
	return s
}

// InitializeHttpContext implements HostEmulator.
func (h *hostEmulator) InitializeHttpContext() (contextID uint32) {
	contextID = h.newContextID()
	h.httpStreams[contextID] = &httpStreamState{action: types.ActionContinue}
	h.dispatch(contextID, func() { h.guest.onContextCreate(contextID, PluginContextID) })
	return contextID
}

// CallOnRequestHeaders implements HostEmulator.
func (h *hostEmulator) CallOnRequestHeaders(contextID uint32, headers [][2]string, endOfStream bool) types.Action {
	s := h.httpStream(contextID)
	s.requestHeaders = cloneWithLowerCaseMapKeys(headers)
	h.dispatch(contextID, func() { s.action = h.guest.onRequestHeaders(contextID, len(headers), endOfStream) })
	return s.action
}

// CallOnResponseHeaders implements HostEmulator.
func (h *hostEmulator) CallOnResponseHeaders(contextID uint32, headers [][2]string, endOfStream bool) types.Action {
	s := h.httpStream(contextID)
	s.responseHeaders = cloneWithLowerCaseMapKeys(headers)
	h.dispatch(contextID, func() { s.action = h.guest.onResponseHeaders(contextID, len(headers), endOfStream) })
	return s.action
}

// CallOnRequestTrailers implements HostEmulator.
func (h *hostEmulator) CallOnRequestTrailers(contextID uint32, trailers [][2]string) types.Action {
	s := h.httpStream(contextID)
	s.requestTrailers = cloneWithLowerCaseMapKeys(trailers)
	h.dispatch(contextID, func() { s.action = h.guest.onRequestTrailers(contextID, len(trailers)) })
	return s.action
}

// CallOnResponseTrailers implements HostEmulator.
func (h *hostEmulator) CallOnResponseTrailers(contextID uint32, trailers [][2]string) types.Action {
	s := h.httpStream(contextID)
	s.responseTrailers = cloneWithLowerCaseMapKeys(trailers)
	h.dispatch(contextID, func() { s.action = h.guest.onResponseTrailers(contextID, len(trailers)) })
	return s.action
}

// CallOnRequestBody implements HostEmulator.
func (h *hostEmulator) CallOnRequestBody(contextID uint32, body []byte, endOfStream bool) types.Action {
	s := h.httpStream(contextID)
	s.requestBody = append(append([]byte(nil), s.requestBodyBuffer...), body...)
	h.dispatch(contextID, func() { s.action = h.guest.onRequestBody(contextID, len(s.requestBody), endOfStream) })
	if s.action == types.ActionPause {
		s.requestBodyBuffer = s.requestBody
	} else {
		s.requestBodyBuffer = nil
	}
	return s.action
}

// CallOnResponseBody implements HostEmulator.
func (h *hostEmulator) CallOnResponseBody(contextID uint32, body []byte, endOfStream bool) types.Action {
	s := h.httpStream(contextID)
	s.responseBody = append(append([]byte(nil), s.responseBodyBuffer...), body...)
	h.dispatch(contextID, func() { s.action = h.guest.onResponseBody(contextID, len(s.responseBody), endOfStream) })
	if s.action == types.ActionPause {
		s.responseBodyBuffer = s.responseBody
	} else {
		s.responseBodyBuffer = nil
	}
	return s.action
}

// CompleteHttpContext implements HostEmulator.
func (h *hostEmulator) CompleteHttpContext(contextID uint32) {
	h.dispatch(contextID, func() {
		h.guest.onDone(contextID)
		h.guest.onLog(contextID)
		h.guest.onDelete(contextID)
	})
}

// GetCurrentHttpStreamAction implements HostEmulator.
func (h *hostEmulator) GetCurrentHttpStreamAction(contextID uint32) types.Action {
	return h.httpStream(contextID).action
}

// GetCurrentRequestHeaders implements HostEmulator.
func (h *hostEmulator) GetCurrentRequestHeaders(contextID uint32) [][2]string {
	return h.httpStream(contextID).requestHeaders
}

// GetCurrentResponseHeaders implements HostEmulator.
func (h *hostEmulator) GetCurrentResponseHeaders(contextID uint32) [][2]string {
	return h.httpStream(contextID).responseHeaders
}

// GetCurrentRequestTrailers implements HostEmulator.
func (h *hostEmulator) GetCurrentRequestTrailers(contextID uint32) [][2]string {
	return h.httpStream(contextID).requestTrailers
}

// GetCurrentResponseTrailers implements HostEmulator.
func (h *hostEmulator) GetCurrentResponseTrailers(contextID uint32) [][2]string {
	return h.httpStream(contextID).responseTrailers
}

// GetCurrentRequestBody implements HostEmulator.
func (h *hostEmulator) GetCurrentRequestBody(contextID uint32) []byte {
	return h.httpStream(contextID).requestBody
}

// GetCurrentResponseBody implements HostEmulator.
func (h *hostEmulator) GetCurrentResponseBody(contextID uint32) []byte {
	return h.httpStream(contextID).responseBody
}

// GetSentLocalResponse implements HostEmulator.
func (h *hostEmulator) GetSentLocalResponse(contextID uint32) *LocalHttpResponse {
	s, ok := h.httpStreams[contextID]
	if !ok {
		return nil
	}
	return s.sentLocalResponse
}
