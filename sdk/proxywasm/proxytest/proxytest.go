// Package proxytest is a native proxy-wasm host emulator for unit tests of
// filters. It has the API of github.com/tetratelabs/proxy-wasm-go-sdk
// v0.24.0's proxytest, covers every host function of ABI v0.2.1 (HTTP and
// TCP streams, HTTP and gRPC callouts, shared data with CAS, queues,
// metrics, properties, effective context, foreign functions), and runs the
// same test body against the compiled module with NewWasmVMContext.
//
// Each HostEmulator owns its VM state, so tests may call t.Parallel: the
// only shared lock is held for the duration of a single callback into a
// natively linked filter (its package-level proxywasm calls need to find
// their emulator).
package proxytest

import (
	"fmt"
	"strings"
	"sync"

	"github.com/wasmctl/wasmctl/sdk/proxywasm/internal"
	"github.com/wasmctl/wasmctl/sdk/proxywasm/types"
)

// HostEmulator implements the host side of proxy-wasm. Its Call*/Start*/
// Initialize*/Complete* methods invoke the plugin; its Get* methods return
// the host's state after those calls.
type HostEmulator interface {
	// StartVM executes types.VMContext.OnVMStart in the plugin.
	StartVM() types.OnVMStartStatus
	// StartPlugin executes types.PluginContext.OnPluginStart in the plugin.
	StartPlugin() types.OnPluginStartStatus
	// FinishVM executes types.PluginContext.OnPluginDone in the plugin.
	FinishVM() bool
	// GetCalloutAttributesFromContext returns the HTTP callouts dispatched
	// from the given context.
	GetCalloutAttributesFromContext(contextID uint32) []HttpCalloutAttribute
	// CallOnHttpCallResponse delivers the response of HTTP callout calloutID.
	CallOnHttpCallResponse(calloutID uint32, headers [][2]string, trailers [][2]string, body []byte)
	// GetCounterMetric returns the value of a counter.
	GetCounterMetric(name string) (uint64, error)
	// GetGaugeMetric returns the value of a gauge.
	GetGaugeMetric(name string) (uint64, error)
	// GetHistogramMetric returns the last value recorded in a histogram.
	GetHistogramMetric(name string) (uint64, error)
	// GetTraceLogs returns the trace logs collected so far.
	GetTraceLogs() []string
	// GetDebugLogs returns the debug logs collected so far.
	GetDebugLogs() []string
	// GetInfoLogs returns the info logs collected so far.
	GetInfoLogs() []string
	// GetWarnLogs returns the warn logs collected so far.
	GetWarnLogs() []string
	// GetErrorLogs returns the error logs collected so far.
	GetErrorLogs() []string
	// GetCriticalLogs returns the critical logs collected so far (including
	// the message and stack of a panic in a callback).
	GetCriticalLogs() []string
	// GetTickPeriod returns the tick period the plugin set.
	GetTickPeriod() uint32
	// Tick executes types.PluginContext.OnTick in the plugin.
	Tick()
	// GetQueueSize returns the number of items in a shared queue.
	GetQueueSize(queueID uint32) int
	// RegisterForeignFunction registers a function the plugin can call with
	// proxywasm.CallForeignFunction.
	RegisterForeignFunction(name string, f func([]byte) []byte)

	// InitializeConnection creates a TCP context and executes
	// types.TcpContext.OnNewConnection in the plugin.
	InitializeConnection() (contextID uint32, action types.Action)
	// CallOnUpstreamData executes types.TcpContext.OnUpstreamData.
	CallOnUpstreamData(contextID uint32, data []byte) types.Action
	// CallOnDownstreamData executes types.TcpContext.OnDownstreamData.
	CallOnDownstreamData(contextID uint32, data []byte) types.Action
	// CloseUpstreamConnection executes types.TcpContext.OnUpstreamClose.
	CloseUpstreamConnection(contextID uint32)
	// CloseDownstreamConnection executes types.TcpContext.OnDownstreamClose.
	CloseDownstreamConnection(contextID uint32)
	// CompleteConnection executes types.TcpContext.OnStreamDone and deletes the context.
	CompleteConnection(contextID uint32)

	// InitializeHttpContext creates an HTTP context in the plugin.
	InitializeHttpContext() (contextID uint32)
	// CallOnResponseHeaders executes types.HttpContext.OnHttpResponseHeaders
	// with headers visible to proxywasm.GetHttpResponseHeaders.
	CallOnResponseHeaders(contextID uint32, headers [][2]string, endOfStream bool) types.Action
	// CallOnResponseBody executes types.HttpContext.OnHttpResponseBody. Bodies
	// of calls answered with ActionPause are buffered, as Envoy does.
	CallOnResponseBody(contextID uint32, body []byte, endOfStream bool) types.Action
	// CallOnResponseTrailers executes types.HttpContext.OnHttpResponseTrailers.
	CallOnResponseTrailers(contextID uint32, trailers [][2]string) types.Action
	// CallOnRequestHeaders executes types.HttpContext.OnHttpRequestHeaders
	// with headers visible to proxywasm.GetHttpRequestHeaders.
	CallOnRequestHeaders(contextID uint32, headers [][2]string, endOfStream bool) types.Action
	// CallOnRequestTrailers executes types.HttpContext.OnHttpRequestTrailers.
	CallOnRequestTrailers(contextID uint32, trailers [][2]string) types.Action
	// CallOnRequestBody executes types.HttpContext.OnHttpRequestBody.
	CallOnRequestBody(contextID uint32, body []byte, endOfStream bool) types.Action
	// CompleteHttpContext executes types.HttpContext.OnHttpStreamDone and deletes the context.
	CompleteHttpContext(contextID uint32)
	// GetCurrentHttpStreamAction returns the action of the stream: the
	// result of the last callback, or Continue after a resume.
	GetCurrentHttpStreamAction(contextID uint32) types.Action
	// GetCurrentRequestHeaders returns the request headers as the plugin left them.
	GetCurrentRequestHeaders(contextID uint32) [][2]string
	// GetCurrentResponseHeaders returns the response headers as the plugin left them.
	GetCurrentResponseHeaders(contextID uint32) [][2]string
	// GetCurrentRequestBody returns the request body as the plugin left it.
	GetCurrentRequestBody(contextID uint32) []byte
	// GetCurrentResponseBody returns the response body as the plugin left it.
	GetCurrentResponseBody(contextID uint32) []byte
	// GetSentLocalResponse returns the local response sent with
	// proxywasm.SendHttpResponse on the stream, or nil.
	GetSentLocalResponse(contextID uint32) *LocalHttpResponse
	// GetProperty returns a property from the host.
	GetProperty(path []string) ([]byte, error)
	// SetProperty sets a property on the host.
	SetProperty(path []string, data []byte) error

	// The methods below are additions to the original API.

	// GetCurrentRequestTrailers returns the request trailers as the plugin left them.
	GetCurrentRequestTrailers(contextID uint32) [][2]string
	// GetCurrentResponseTrailers returns the response trailers as the plugin left them.
	GetCurrentResponseTrailers(contextID uint32) [][2]string
	// GetPropertyMap returns a property whose value is a serialized map.
	GetPropertyMap(path []string) ([][2]string, error)
	// GetSharedData returns a shared data entry and its CAS token.
	GetSharedData(key string) (value []byte, cas uint32, ok bool)
	// GetCurrentDownstreamData returns the downstream data buffered on a TCP
	// stream (after the plugin's modifications), or the data last let
	// through when the plugin continued.
	GetCurrentDownstreamData(contextID uint32) []byte
	// GetCurrentUpstreamData is GetCurrentDownstreamData for upstream data.
	GetCurrentUpstreamData(contextID uint32) []byte
	// GetClosedStreams returns the stream closes the plugin requested on a
	// context ("request", "response", "downstream", "upstream").
	GetClosedStreams(contextID uint32) []string
	// GetGrpcCalls returns the gRPC calls and streams dispatched from a context.
	GetGrpcCalls(contextID uint32) []GrpcCallAttribute
	// CallOnGrpcReceiveInitialMetadata delivers initial metadata of a gRPC call.
	CallOnGrpcReceiveInitialMetadata(callID uint32, metadata [][2]string)
	// CallOnGrpcReceive delivers a response message of a gRPC call or stream.
	CallOnGrpcReceive(callID uint32, message []byte)
	// CallOnGrpcReceiveTrailingMetadata delivers trailing metadata.
	CallOnGrpcReceiveTrailingMetadata(callID uint32, metadata [][2]string)
	// CallOnGrpcClose ends a gRPC call with a status code and message.
	CallOnGrpcClose(callID uint32, statusCode uint32, message string)
	// CallOnForeignFunction invokes the plugin's OnForeignFunction with args.
	CallOnForeignFunction(functionID uint32, args []byte)
	// IsPluginDone reports whether the plugin called proxywasm.PluginDone.
	IsPluginDone() bool
}

// PluginContextID is the id of the emulator's plugin (root) context. Stream
// context ids start at PluginContextID+1, counted per emulator.
const PluginContextID uint32 = 1

type (
	// HttpCalloutAttribute describes an HTTP callout made with proxywasm.DispatchHttpCall.
	HttpCalloutAttribute struct {
		CalloutID uint32
		Upstream  string
		Headers   [][2]string
		Trailers  [][2]string
		Body      []byte
	}

	// LocalHttpResponse is a local reply sent with proxywasm.SendHttpResponse.
	LocalHttpResponse struct {
		StatusCode       uint32
		StatusCodeDetail string
		Data             []byte
		Headers          [][2]string
		GRPCStatus       int32
	}

	// GrpcCallAttribute describes a gRPC call (Stream false) or stream made by
	// the plugin, with the messages it sent on a stream.
	GrpcCallAttribute struct {
		CallID          uint32
		Upstream        string
		Service         string
		Method          string
		InitialMetadata [][2]string
		Message         []byte
		TimeoutMs       uint32
		Stream          bool
		Sent            [][]byte
		EndStream       bool
		Cancelled       bool
		Closed          bool
	}
)

// guest is the plugin side of the ABI: the callbacks. nativeGuest calls the
// SDK linked into the test binary; wasmGuest calls the exports of a module.
type guest interface {
	bind(h *hostEmulator) error
	onContextCreate(id, parent uint32)
	onVMStart(root uint32, size int) bool
	onConfigure(root uint32, size int) bool
	onTick(root uint32)
	onQueueReady(root, queueID uint32)
	onForeignFunction(root, functionID uint32, size int)
	onNewConnection(id uint32) types.Action
	onDownstreamData(id uint32, size int, eos bool) types.Action
	onDownstreamClose(id uint32, peer types.PeerType)
	onUpstreamData(id uint32, size int, eos bool) types.Action
	onUpstreamClose(id uint32, peer types.PeerType)
	onRequestHeaders(id uint32, n int, eos bool) types.Action
	onRequestBody(id uint32, size int, eos bool) types.Action
	onRequestTrailers(id uint32, n int) types.Action
	onResponseHeaders(id uint32, n int, eos bool) types.Action
	onResponseBody(id uint32, size int, eos bool) types.Action
	onResponseTrailers(id uint32, n int) types.Action
	onHttpCallResponse(root, id uint32, nh, bs, nt int)
	onGrpcReceiveInitialMetadata(root, id uint32, n int)
	onGrpcReceiveTrailingMetadata(root, id uint32, n int)
	onGrpcReceive(root, id uint32, size int)
	onGrpcClose(root, id, status uint32)
	onLog(id uint32)
	onDone(id uint32) bool
	onDelete(id uint32)
}

type hostEmulator struct {
	guest guest

	nextContextID uint32
	// active is the context host calls act on: the callback's context, or
	// the one set with proxy_set_effective_context.
	active uint32
	depth  int
	// pending holds host events raised inside a callback (queue ready),
	// delivered after the outermost callback returns, as Envoy posts them.
	pending []func()

	logs       [internal.LogLevelMax][]string
	logLevel   types.LogLevel
	tickPeriod uint32
	vmID       string

	foreignFunctions map[string]func([]byte) []byte
	foreignArgs      []byte

	// store holds shared data and shared queues; emulators created with
	// EmulatorOption.WithSharedStoreOf share one.
	store *store

	nextCalloutID       uint32
	calloutsByContext   map[uint32][]HttpCalloutAttribute
	calloutToContext    map[uint32]uint32
	activeCallout       *calloutResponse
	statusCode          uint32
	statusMessage       string
	nextGrpcID          uint32
	grpcCalls           map[uint32]*GrpcCallAttribute
	grpcByContext       map[uint32][]uint32
	grpcToContext       map[uint32]uint32
	grpcMetadata        [][2]string
	grpcMessage         []byte
	closedStreams       map[uint32][]string
	pluginDoneRequested bool
	pluginDone          bool

	metricIDToType  map[uint32]internal.MetricType
	metricNameToID  map[string]uint32
	metricIDToValue map[uint32]uint64

	pluginConfiguration, vmConfiguration []byte
	properties                           map[string][]byte

	httpStreams map[uint32]*httpStreamState
	tcpStreams  map[uint32]*tcpStreamState

	quiet bool // do not echo plugin logs (benchmarks)
}

type calloutResponse struct {
	headers, trailers [][2]string
	body              []byte
}

// store is what the VMs of one host share: shared data and shared queues.
// Its lock is held for one host call at a time.
type store struct {
	mu         sync.Mutex
	sharedData map[string]*sharedData
	nextCas    uint32
	queues     map[uint32][][]byte
	queueIDs   map[queueKey]uint32
	queueOwner map[uint32]queueOwner
}

func newStore() *store {
	return &store{
		sharedData: map[string]*sharedData{},
		queues:     map[uint32][][]byte{},
		queueIDs:   map[queueKey]uint32{},
		queueOwner: map[uint32]queueOwner{},
	}
}

// queueKey names a queue as Envoy does: the registering VM's id and the name.
type queueKey struct{ vmID, name string }

// queueOwner is the plugin whose OnQueueReady a queue's items wake.
type queueOwner struct {
	host *hostEmulator
	root uint32
}

type sharedData struct {
	data []byte
	cas  uint32
}

// NewHostEmulator returns an emulator running the plugin of opt and creates
// its plugin context (id PluginContextID). Call StartVM and StartPlugin
// next. reset releases the emulator's state; the emulator must not be used
// after it.
func NewHostEmulator(opt *EmulatorOption) (host HostEmulator, reset func()) {
	h := &hostEmulator{
		nextContextID:     PluginContextID + 1,
		logLevel:          opt.logLevel,
		vmID:              opt.vmID,
		foreignFunctions:  map[string]func([]byte) []byte{},
		store:             opt.store,
		calloutsByContext: map[uint32][]HttpCalloutAttribute{},
		calloutToContext:  map[uint32]uint32{},
		grpcCalls:         map[uint32]*GrpcCallAttribute{},
		grpcByContext:     map[uint32][]uint32{},
		grpcToContext:     map[uint32]uint32{},
		closedStreams:     map[uint32][]string{},
		metricIDToType:    map[uint32]internal.MetricType{},
		metricNameToID:    map[string]uint32{},
		metricIDToValue:   map[uint32]uint64{},
		properties:        map[string][]byte{},
		httpStreams:       map[uint32]*httpStreamState{},
		tcpStreams:        map[uint32]*tcpStreamState{},

		pluginConfiguration: opt.pluginConfiguration,
		vmConfiguration:     opt.vmConfiguration,
	}
	if h.store == nil {
		h.store = newStore()
	}
	for k, v := range opt.properties {
		h.properties[k] = v
	}
	vm := opt.vmContext
	if vm == nil {
		vm = &types.DefaultVMContext{}
	}
	if w, ok := vm.(*wasmVMContext); ok {
		h.guest = w
	} else {
		h.guest = &nativeGuest{state: internal.NewState(vm)}
	}
	if err := h.guest.bind(h); err != nil {
		panic(fmt.Sprintf("proxytest: %v", err))
	}
	h.dispatch(PluginContextID, func() { h.guest.onContextCreate(PluginContextID, 0) })
	removeAmbient := addAmbient(h)
	return h, func() {
		removeAmbient()
		if n, ok := h.guest.(*nativeGuest); ok {
			n.state = internal.NewState(&types.DefaultVMContext{})
		}
	}
}

// dispatch runs one callback with contextID as the active context, then,
// when it is the outermost one, delivers the events it raised.
func (h *hostEmulator) dispatch(contextID uint32, f func()) {
	prev := h.active
	h.active = contextID
	h.depth++
	func() {
		defer func() {
			h.depth--
			h.active = prev
		}()
		f()
	}()
	if h.depth == 0 {
		for len(h.pending) > 0 {
			ev := h.pending[0]
			h.pending = h.pending[1:]
			ev()
		}
	}
}

func (h *hostEmulator) newContextID() uint32 {
	id := h.nextContextID
	h.nextContextID++
	return id
}

func cloneWithLowerCaseMapKeys(m [][2]string) [][2]string {
	r := make([][2]string, len(m))
	for i, e := range m {
		r[i] = [2]string{strings.ToLower(e[0]), e[1]}
	}
	return r
}

func deserializeLowerCase(b []byte) ([][2]string, internal.Status) {
	m, err := internal.DeserializeMap(b)
	if err != nil {
		return nil, internal.StatusBadArgument
	}
	out := make([][2]string, len(m))
	for i, e := range m {
		// Copy: the map aliases guest memory or a caller's buffer.
		out[i] = [2]string{strings.Clone(strings.ToLower(e[0])), strings.Clone(e[1])}
	}
	return out, internal.StatusOK
}

// StartVM implements HostEmulator.
func (h *hostEmulator) StartVM() (st types.OnVMStartStatus) {
	h.dispatch(PluginContextID, func() {
		st = types.OnVMStartStatus(h.guest.onVMStart(PluginContextID, len(h.vmConfiguration)))
	})
	return st
}

// StartPlugin implements HostEmulator.
func (h *hostEmulator) StartPlugin() (st types.OnPluginStartStatus) {
	h.dispatch(PluginContextID, func() {
		st = types.OnPluginStartStatus(h.guest.onConfigure(PluginContextID, len(h.pluginConfiguration)))
	})
	return st
}

// FinishVM implements HostEmulator.
func (h *hostEmulator) FinishVM() (done bool) {
	h.dispatch(PluginContextID, func() { done = h.guest.onDone(PluginContextID) })
	h.pluginDoneRequested = !done
	return done
}

// IsPluginDone implements HostEmulator.
func (h *hostEmulator) IsPluginDone() bool { return h.pluginDone }

// Tick implements HostEmulator.
func (h *hostEmulator) Tick() {
	h.dispatch(PluginContextID, func() { h.guest.onTick(PluginContextID) })
}

// GetTickPeriod implements HostEmulator.
func (h *hostEmulator) GetTickPeriod() uint32 { return h.tickPeriod }

// GetQueueSize implements HostEmulator.
func (h *hostEmulator) GetQueueSize(queueID uint32) int {
	h.store.mu.Lock()
	defer h.store.mu.Unlock()
	return len(h.store.queues[queueID])
}

// RegisterForeignFunction implements HostEmulator.
func (h *hostEmulator) RegisterForeignFunction(name string, f func([]byte) []byte) {
	h.foreignFunctions[name] = f
}

// CallOnForeignFunction implements HostEmulator.
func (h *hostEmulator) CallOnForeignFunction(functionID uint32, args []byte) {
	h.foreignArgs = args
	defer func() { h.foreignArgs = nil }()
	h.dispatch(PluginContextID, func() { h.guest.onForeignFunction(PluginContextID, functionID, len(args)) })
}

// GetCalloutAttributesFromContext implements HostEmulator.
func (h *hostEmulator) GetCalloutAttributesFromContext(contextID uint32) []HttpCalloutAttribute {
	return h.calloutsByContext[contextID]
}

// CallOnHttpCallResponse implements HostEmulator.
func (h *hostEmulator) CallOnHttpCallResponse(calloutID uint32, headers, trailers [][2]string, body []byte) {
	h.activeCallout = &calloutResponse{
		headers:  cloneWithLowerCaseMapKeys(headers),
		trailers: cloneWithLowerCaseMapKeys(trailers),
		body:     body,
	}
	h.statusCode, h.statusMessage = 0, ""
	if len(headers) == 0 {
		h.statusCode, h.statusMessage = 14, "callout failed" // UNAVAILABLE
	}
	defer func() {
		h.activeCallout = nil
		delete(h.calloutToContext, calloutID)
	}()
	h.dispatch(PluginContextID, func() {
		h.guest.onHttpCallResponse(PluginContextID, calloutID, len(headers), len(body), len(trailers))
	})
}

// GetGrpcCalls implements HostEmulator.
func (h *hostEmulator) GetGrpcCalls(contextID uint32) []GrpcCallAttribute {
	var out []GrpcCallAttribute
	for _, id := range h.grpcByContext[contextID] {
		out = append(out, *h.grpcCalls[id])
	}
	return out
}

// CallOnGrpcReceiveInitialMetadata implements HostEmulator.
func (h *hostEmulator) CallOnGrpcReceiveInitialMetadata(callID uint32, metadata [][2]string) {
	h.grpcMetadata = cloneWithLowerCaseMapKeys(metadata)
	defer func() { h.grpcMetadata = nil }()
	h.dispatch(PluginContextID, func() { h.guest.onGrpcReceiveInitialMetadata(PluginContextID, callID, len(metadata)) })
}

// CallOnGrpcReceive implements HostEmulator.
func (h *hostEmulator) CallOnGrpcReceive(callID uint32, message []byte) {
	h.grpcMessage = message
	defer func() { h.grpcMessage = nil }()
	h.dispatch(PluginContextID, func() { h.guest.onGrpcReceive(PluginContextID, callID, len(message)) })
}

// CallOnGrpcReceiveTrailingMetadata implements HostEmulator.
func (h *hostEmulator) CallOnGrpcReceiveTrailingMetadata(callID uint32, metadata [][2]string) {
	h.grpcMetadata = cloneWithLowerCaseMapKeys(metadata)
	defer func() { h.grpcMetadata = nil }()
	h.dispatch(PluginContextID, func() { h.guest.onGrpcReceiveTrailingMetadata(PluginContextID, callID, len(metadata)) })
}

// CallOnGrpcClose implements HostEmulator.
func (h *hostEmulator) CallOnGrpcClose(callID uint32, statusCode uint32, message string) {
	h.statusCode, h.statusMessage = statusCode, message
	h.dispatch(PluginContextID, func() { h.guest.onGrpcClose(PluginContextID, callID, statusCode) })
}

// GetTraceLogs implements HostEmulator.
func (h *hostEmulator) GetTraceLogs() []string { return h.logs[internal.LogLevelTrace] }

// GetDebugLogs implements HostEmulator.
func (h *hostEmulator) GetDebugLogs() []string { return h.logs[internal.LogLevelDebug] }

// GetInfoLogs implements HostEmulator.
func (h *hostEmulator) GetInfoLogs() []string { return h.logs[internal.LogLevelInfo] }

// GetWarnLogs implements HostEmulator.
func (h *hostEmulator) GetWarnLogs() []string { return h.logs[internal.LogLevelWarn] }

// GetErrorLogs implements HostEmulator.
func (h *hostEmulator) GetErrorLogs() []string { return h.logs[internal.LogLevelError] }

// GetCriticalLogs implements HostEmulator.
func (h *hostEmulator) GetCriticalLogs() []string { return h.logs[internal.LogLevelCritical] }

func (h *hostEmulator) metric(name string, t internal.MetricType) (uint64, error) {
	id, ok := h.metricNameToID[name]
	if !ok {
		return 0, fmt.Errorf("%s not found", name)
	}
	if mt := h.metricIDToType[id]; mt != t {
		return 0, fmt.Errorf("%s is not %v metric type but %v", name, t, mt)
	}
	return h.metricIDToValue[id], nil
}

// GetCounterMetric implements HostEmulator.
func (h *hostEmulator) GetCounterMetric(name string) (uint64, error) {
	return h.metric(name, internal.MetricTypeCounter)
}

// GetGaugeMetric implements HostEmulator.
func (h *hostEmulator) GetGaugeMetric(name string) (uint64, error) {
	return h.metric(name, internal.MetricTypeGauge)
}

// GetHistogramMetric implements HostEmulator.
func (h *hostEmulator) GetHistogramMetric(name string) (uint64, error) {
	return h.metric(name, internal.MetricTypeHistogram)
}

// GetProperty implements HostEmulator.
func (h *hostEmulator) GetProperty(path []string) ([]byte, error) {
	if len(path) == 0 {
		return nil, internal.StatusToError(internal.StatusBadArgument)
	}
	v, ok := h.properties[string(internal.SerializePropertyPath(path))]
	if !ok {
		return nil, internal.StatusToError(internal.StatusNotFound)
	}
	return v, nil
}

// GetPropertyMap implements HostEmulator.
func (h *hostEmulator) GetPropertyMap(path []string) ([][2]string, error) {
	b, err := h.GetProperty(path)
	if err != nil {
		return nil, err
	}
	m, err := internal.DeserializeMap(b)
	if err != nil {
		return nil, err
	}
	return m, nil
}

// SetProperty implements HostEmulator.
func (h *hostEmulator) SetProperty(path []string, data []byte) error {
	if len(path) == 0 || len(data) == 0 {
		return internal.StatusToError(internal.StatusBadArgument)
	}
	h.properties[string(internal.SerializePropertyPath(path))] = data
	return nil
}

// GetSharedData implements HostEmulator.
func (h *hostEmulator) GetSharedData(key string) ([]byte, uint32, bool) {
	h.store.mu.Lock()
	defer h.store.mu.Unlock()
	d, ok := h.store.sharedData[key]
	if !ok {
		return nil, 0, false
	}
	return d.data, d.cas, true
}

// GetClosedStreams implements HostEmulator.
func (h *hostEmulator) GetClosedStreams(contextID uint32) []string { return h.closedStreams[contextID] }
