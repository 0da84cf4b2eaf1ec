package internal

import (
	"github.com/wasmctl/wasmctl/sdk/proxywasm/types"
)

// State is the SDK's per-VM bookkeeping: the user's contexts by id and the
// pending callouts. A wasm module has exactly one; the native emulator in
// proxytest owns one per emulator and swaps it in around each callback.
type State struct {
	// Host receives the host calls in native builds. It is unused in wasm.
	Host Host

	vmContext         types.VMContext
	pluginContexts    map[uint32]*pluginState
	httpContexts      map[uint32]types.HttpContext
	tcpContexts       map[uint32]types.TcpContext
	contextIDToRootID map[uint32]uint32
	activeContextID   uint32

	// lastHTTP caches the HTTP context of the last HTTP callback: a host
	// calls a stream's callbacks one after another.
	lastHTTPID uint32
	lastHTTP   types.HttpContext
}

type pluginState struct {
	context       types.PluginContext
	httpCallbacks map[uint32]httpCallback
	grpcCalls     map[uint32]*GrpcCallbacks
}

type httpCallback struct {
	callback        func(numHeaders, bodySize, numTrailers int)
	callerContextID uint32
}

// GrpcCallbacks receive the events of one gRPC call or stream. Any field may
// be nil. For a unary call the host sends either a message (success) or a
// close with a non-zero status (failure).
type GrpcCallbacks struct {
	// OnInitialMetadata is called when the response's initial metadata arrives.
	OnInitialMetadata func(numElements int)
	// OnMessage is called for each response message; read it with
	// proxywasm.GetGrpcReceiveMessage.
	OnMessage func(messageSize int)
	// OnTrailingMetadata is called when the trailing metadata arrives.
	OnTrailingMetadata func(numElements int)
	// OnClose is called when the call ends; statusCode is the gRPC status.
	OnClose func(statusCode uint32)

	callerContextID uint32
	stream          bool
}

// NewState returns an empty state whose VM context is vm.
func NewState(vm types.VMContext) *State {
	return &State{
		vmContext:         vm,
		pluginContexts:    map[uint32]*pluginState{},
		httpContexts:      map[uint32]types.HttpContext{},
		tcpContexts:       map[uint32]types.TcpContext{},
		contextIDToRootID: map[uint32]uint32{},
	}
}

// current is the state host calls and callbacks act on. In wasm it never
// changes; natively proxytest swaps it under its dispatch lock.
var current = NewState(&types.DefaultVMContext{})

// AmbientHost, when set (proxytest sets it), is asked first by every host
// call of a native build: ok=false means the call comes from the callback
// that is running (use the current state's Host); ok=true gives the Host
// for a call made outside any callback, nil if there is none. Wasm builds
// never use it.
var AmbientHost func() (h Host, ok bool)

// SetVMContext sets the VM context of the current state.
func SetVMContext(vm types.VMContext) { current.vmContext = vm }

// Swap makes s the current state and returns the previous one.
func Swap(s *State) *State {
	prev := current
	current = s
	return prev
}

// ActiveContextID is the id of the context whose callback is running.
func ActiveContextID() uint32 { return current.activeContextID }

// RegisterHttpCallout remembers the callback of an HTTP callout made from the active context.
func RegisterHttpCallout(calloutID uint32, cb func(numHeaders, bodySize, numTrailers int)) {
	s := current
	root := s.pluginContexts[s.contextIDToRootID[s.activeContextID]]
	if root == nil {
		return
	}
	root.httpCallbacks[calloutID] = httpCallback{callback: cb, callerContextID: s.activeContextID}
}

// RegisterGrpcCall remembers the callbacks of a gRPC call or stream made from the active context.
func RegisterGrpcCall(id uint32, cbs GrpcCallbacks, stream bool) {
	s := current
	root := s.pluginContexts[s.contextIDToRootID[s.activeContextID]]
	if root == nil {
		return
	}
	cbs.callerContextID = s.activeContextID
	cbs.stream = stream
	root.grpcCalls[id] = &cbs
}

func (s *State) createPluginContext(contextID uint32) {
	ctx := s.vmContext.NewPluginContext(contextID)
	s.pluginContexts[contextID] = &pluginState{
		context:       ctx,
		httpCallbacks: map[uint32]httpCallback{},
		grpcCalls:     map[uint32]*GrpcCallbacks{},
	}
	s.contextIDToRootID[contextID] = contextID
}

// createStreamContext asks the plugin for an HTTP context, then a TCP
// context. A plugin that returns neither (a root-only plugin) gets no stream
// context: the stream's callbacks are then answered with ActionContinue.
func (s *State) createStreamContext(contextID, pluginContextID uint32) {
	root, ok := s.pluginContexts[pluginContextID]
	if !ok || root.context == nil {
		return
	}
	if s.lastHTTPID == contextID {
		s.lastHTTPID, s.lastHTTP = 0, nil
	}
	if ctx := root.context.NewHttpContext(contextID); ctx != nil {
		s.contextIDToRootID[contextID] = pluginContextID
		s.httpContexts[contextID] = ctx
		return
	}
	if ctx := root.context.NewTcpContext(contextID); ctx != nil {
		s.contextIDToRootID[contextID] = pluginContextID
		s.tcpContexts[contextID] = ctx
	}
}
