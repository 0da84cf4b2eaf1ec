package proxytest

import (
	"log"
	"strings"
	"time"
	"unsafe"

	"github.com/wasmctl/wasmctl/sdk/proxywasm/internal"
	"github.com/wasmctl/wasmctl/sdk/proxywasm/types"
)

// The internal.Host implementation: every host function of ABI v0.2.1.
var _ internal.Host = (*hostEmulator)(nil)

func (h *hostEmulator) ProxyLog(level internal.LogLevel, msg string) internal.Status {
	if level >= internal.LogLevelMax {
		return internal.StatusBadArgument
	}
	msg = strings.Clone(msg)
	if !h.quiet {
		log.Printf("proxy_%s_log: %s", level, msg)
	}
	h.logs[level] = append(h.logs[level], msg)
	return internal.StatusOK
}

func (h *hostEmulator) ProxyGetLogLevel() (internal.LogLevel, internal.Status) {
	return internal.LogLevel(h.logLevel), internal.StatusOK
}

func (h *hostEmulator) ProxyGetCurrentTimeNanoseconds() (uint64, internal.Status) {
	return uint64(time.Now().UnixNano()), internal.StatusOK
}

func (h *hostEmulator) ProxySetTickPeriodMilliseconds(ms uint32) internal.Status {
	h.tickPeriod = ms
	return internal.StatusOK
}

// buffer returns a pointer to the buffer bt of the active context, or nil
// if that buffer is not available there.
func (h *hostEmulator) buffer(bt internal.BufferType) *[]byte {
	switch bt {
	case internal.BufferTypeHttpRequestBody:
		if s := h.httpStreams[h.active]; s != nil {
			return &s.requestBody
		}
	case internal.BufferTypeHttpResponseBody:
		if s := h.httpStreams[h.active]; s != nil {
			return &s.responseBody
		}
	case internal.BufferTypeDownstreamData:
		if s := h.tcpStreams[h.active]; s != nil {
			return &s.downstream
		}
	case internal.BufferTypeUpstreamData:
		if s := h.tcpStreams[h.active]; s != nil {
			return &s.upstream
		}
	case internal.BufferTypeHttpCallResponseBody:
		if h.activeCallout != nil {
			return &h.activeCallout.body
		}
	case internal.BufferTypeGrpcReceiveBuffer:
		return &h.grpcMessage
	case internal.BufferTypeVMConfiguration:
		return &h.vmConfiguration
	case internal.BufferTypePluginConfiguration:
		return &h.pluginConfiguration
	case internal.BufferTypeForeignFunctionArgument:
		return &h.foreignArgs
	}
	return nil
}

func (h *hostEmulator) ProxyGetBufferBytes(bt internal.BufferType, start, maxSize int) ([]byte, internal.Status) {
	p := h.buffer(bt)
	if p == nil {
		return nil, internal.StatusNotFound
	}
	buf := *p
	if len(buf) == 0 {
		return nil, internal.StatusOK
	}
	if start < 0 || start >= len(buf) || maxSize < 0 {
		log.Printf("start index out of range: %d (start) >= %d ", start, len(buf))
		return nil, internal.StatusBadArgument
	}
	end := len(buf)
	if maxSize < end-start {
		end = start + maxSize
	}
	return append([]byte(nil), buf[start:end]...), internal.StatusOK
}

// ProxySetBufferBytes replaces [start, start+size) of the buffer, clamped
// to its length: (0, 0) prepends, start >= len appends, (0, >= len) replaces.
func (h *hostEmulator) ProxySetBufferBytes(bt internal.BufferType, start, size int, data []byte) internal.Status {
	switch bt {
	case internal.BufferTypeHttpRequestBody, internal.BufferTypeHttpResponseBody,
		internal.BufferTypeDownstreamData, internal.BufferTypeUpstreamData:
	default:
		return internal.StatusBadArgument
	}
	p := h.buffer(bt)
	if p == nil {
		return internal.StatusNotFound
	}
	buf := *p
	if start < 0 || size < 0 {
		return internal.StatusBadArgument
	}
	if start > len(buf) {
		start = len(buf)
	}
	end := start + size
	if end > len(buf) || end < start {
		end = len(buf)
	}
	out := make([]byte, 0, len(buf)-(end-start)+len(data))
	out = append(out, buf[:start]...)
	out = append(out, data...)
	out = append(out, buf[end:]...)
	*p = out
	return internal.StatusOK
}

func (h *hostEmulator) ProxyGetBufferStatus(bt internal.BufferType) (uint32, uint32, internal.Status) {
	p := h.buffer(bt)
	if p == nil {
		return 0, 0, internal.StatusNotFound
	}
	return uint32(len(*p)), 0, internal.StatusOK
}

// headerMap returns the map mt of the active context, or nil.
func (h *hostEmulator) headerMap(mt internal.MapType) *[][2]string {
	switch mt {
	case internal.MapTypeHttpRequestHeaders, internal.MapTypeHttpRequestTrailers,
		internal.MapTypeHttpResponseHeaders, internal.MapTypeHttpResponseTrailers:
		s := h.httpStreams[h.active]
		if s == nil {
			return nil
		}
		switch mt {
		case internal.MapTypeHttpRequestHeaders:
			return &s.requestHeaders
		case internal.MapTypeHttpRequestTrailers:
			return &s.requestTrailers
		case internal.MapTypeHttpResponseHeaders:
			return &s.responseHeaders
		default:
			return &s.responseTrailers
		}
	case internal.MapTypeHttpCallResponseHeaders:
		if h.activeCallout != nil {
			return &h.activeCallout.headers
		}
	case internal.MapTypeHttpCallResponseTrailers:
		if h.activeCallout != nil {
			return &h.activeCallout.trailers
		}
	case internal.MapTypeGrpcReceiveInitialMetadata, internal.MapTypeGrpcReceiveTrailingMetadata:
		return &h.grpcMetadata
	}
	return nil
}

func (h *hostEmulator) ProxyGetHeaderMapSize(mt internal.MapType) (uint32, internal.Status) {
	m := h.headerMap(mt)
	if m == nil {
		return 0, internal.StatusBadArgument
	}
	return uint32(len(internal.SerializeMap(*m))), internal.StatusOK
}

func (h *hostEmulator) ProxyGetHeaderMapPairs(mt internal.MapType) ([]byte, internal.Status) {
	m := h.headerMap(mt)
	if m == nil {
		return nil, internal.StatusBadArgument
	}
	if len(*m) == 0 {
		return nil, internal.StatusOK
	}
	return internal.SerializeMap(*m), internal.StatusOK
}

func (h *hostEmulator) ProxySetHeaderMapPairs(mt internal.MapType, serialized []byte) internal.Status {
	m := h.headerMap(mt)
	if m == nil {
		return internal.StatusBadArgument
	}
	pairs, st := deserializeLowerCase(serialized)
	if st != internal.StatusOK {
		return st
	}
	*m = pairs
	return internal.StatusOK
}

// ProxyGetHeaderMapValue looks the key up case-insensitively. As the
// original emulator does, a value that is empty after trimming spaces counts
// as absent.
func (h *hostEmulator) ProxyGetHeaderMapValue(mt internal.MapType, key string) (string, internal.Status) {
	m := h.headerMap(mt)
	if m == nil {
		return "", internal.StatusBadArgument
	}
	for _, e := range *m {
		if strings.EqualFold(e[0], key) {
			v := strings.TrimSpace(e[1])
			if v == "" {
				return "", internal.StatusNotFound
			}
			return v, internal.StatusOK
		}
	}
	return "", internal.StatusNotFound
}

// appendHeader appends a copy of (key, value) to m. One copy holds both
// strings; the arguments may point into guest memory.
func appendHeader(m *[][2]string, key, value string) {
	buf := make([]byte, 0, len(key)+len(value))
	buf = append(append(buf, key...), value...)
	kv := unsafe.String(unsafe.SliceData(buf), len(buf)) // buf is never written again
	*m = append(*m, [2]string{kv[:len(key)], kv[len(key):]})
}

// ProxyAddHeaderMapValue appends value to an existing key's value (as the
// original emulator does) or adds the key.
func (h *hostEmulator) ProxyAddHeaderMapValue(mt internal.MapType, key, value string) internal.Status {
	m := h.headerMap(mt)
	if m == nil {
		return internal.StatusBadArgument
	}
	key = strings.ToLower(key)
	for i, e := range *m {
		if e[0] == key {
			if e[1] == "" {
				// "" + value would be value itself, which may point
				// into guest memory.
				(*m)[i][1] = strings.Clone(value)
			} else {
				(*m)[i][1] = e[1] + value
			}
			return internal.StatusOK
		}
	}
	appendHeader(m, key, value)
	return internal.StatusOK
}

func (h *hostEmulator) ProxyReplaceHeaderMapValue(mt internal.MapType, key, value string) internal.Status {
	m := h.headerMap(mt)
	if m == nil {
		return internal.StatusBadArgument
	}
	key = strings.ToLower(key)
	for i, e := range *m {
		if e[0] == key {
			(*m)[i][1] = strings.Clone(value)
			return internal.StatusOK
		}
	}
	appendHeader(m, key, value)
	return internal.StatusOK
}

func (h *hostEmulator) ProxyRemoveHeaderMapValue(mt internal.MapType, key string) internal.Status {
	m := h.headerMap(mt)
	if m == nil {
		return internal.StatusBadArgument
	}
	key = strings.ToLower(key)
	out := (*m)[:0]
	for _, e := range *m {
		if e[0] != key {
			out = append(out, e)
		}
	}
	*m = out
	return internal.StatusOK
}

func (h *hostEmulator) ProxyContinueStream(st internal.StreamType) internal.Status {
	switch st {
	case internal.StreamTypeRequest, internal.StreamTypeResponse:
		s := h.httpStreams[h.active]
		if s == nil {
			return internal.StatusNotFound
		}
		s.action = types.ActionContinue
	case internal.StreamTypeDownstream, internal.StreamTypeUpstream:
		s := h.tcpStreams[h.active]
		if s == nil {
			return internal.StatusNotFound
		}
		s.action = types.ActionContinue
	default:
		return internal.StatusBadArgument
	}
	return internal.StatusOK
}

var streamNames = [...]string{"request", "response", "downstream", "upstream"}

func (h *hostEmulator) ProxyCloseStream(st internal.StreamType) internal.Status {
	if int(st) >= len(streamNames) {
		return internal.StatusBadArgument
	}
	if h.httpStreams[h.active] == nil && h.tcpStreams[h.active] == nil {
		return internal.StatusNotFound
	}
	h.closedStreams[h.active] = append(h.closedStreams[h.active], streamNames[st])
	return internal.StatusOK
}

func (h *hostEmulator) ProxySendLocalResponse(statusCode uint32, details string, body, serializedHeaders []byte, grpcStatus int32) internal.Status {
	s := h.httpStreams[h.active]
	if s == nil {
		return internal.StatusNotFound
	}
	hs, st := deserializeLowerCase(serializedHeaders)
	if st != internal.StatusOK {
		return st
	}
	s.sentLocalResponse = &LocalHttpResponse{
		StatusCode:       statusCode,
		StatusCodeDetail: strings.Clone(details),
		Data:             append([]byte(nil), body...),
		Headers:          hs,
		GRPCStatus:       grpcStatus,
	}
	return internal.StatusOK
}

func (h *hostEmulator) ProxyGetStatus() (uint32, []byte, internal.Status) {
	return h.statusCode, []byte(h.statusMessage), internal.StatusOK
}

func (h *hostEmulator) ProxyHttpCall(upstream string, serializedHeaders, body, serializedTrailers []byte, timeoutMs uint32) (uint32, internal.Status) {
	headers, st := deserializeLowerCase(serializedHeaders)
	if st != internal.StatusOK {
		return 0, st
	}
	trailers, st := deserializeLowerCase(serializedTrailers)
	if st != internal.StatusOK {
		return 0, st
	}
	upstream = strings.Clone(upstream)
	log.Printf("[http callout to %s] timeout: %d", upstream, timeoutMs)
	log.Printf("[http callout to %s] headers: %v", upstream, headers)
	log.Printf("[http callout to %s] body: %s", upstream, body)
	log.Printf("[http callout to %s] trailers: %v", upstream, trailers)
	id := h.nextCalloutID
	h.nextCalloutID++
	h.calloutToContext[id] = h.active
	h.calloutsByContext[h.active] = append(h.calloutsByContext[h.active], HttpCalloutAttribute{
		CalloutID: id,
		Upstream:  upstream,
		Headers:   headers,
		Trailers:  trailers,
		Body:      append([]byte(nil), body...),
	})
	return id, internal.StatusOK
}

func (h *hostEmulator) newGrpc(a *GrpcCallAttribute) uint32 {
	h.nextGrpcID++
	a.CallID = h.nextGrpcID
	h.grpcCalls[a.CallID] = a
	h.grpcToContext[a.CallID] = h.active
	h.grpcByContext[h.active] = append(h.grpcByContext[h.active], a.CallID)
	return a.CallID
}

func (h *hostEmulator) ProxyGrpcCall(upstream, service, method string, serializedMetadata, message []byte, timeoutMs uint32) (uint32, internal.Status) {
	md, st := deserializeLowerCase(serializedMetadata)
	if st != internal.StatusOK {
		return 0, st
	}
	return h.newGrpc(&GrpcCallAttribute{
		Upstream: strings.Clone(upstream), Service: strings.Clone(service), Method: strings.Clone(method),
		InitialMetadata: md, Message: append([]byte(nil), message...), TimeoutMs: timeoutMs,
	}), internal.StatusOK
}

func (h *hostEmulator) ProxyGrpcStream(upstream, service, method string, serializedMetadata []byte) (uint32, internal.Status) {
	md, st := deserializeLowerCase(serializedMetadata)
	if st != internal.StatusOK {
		return 0, st
	}
	return h.newGrpc(&GrpcCallAttribute{
		Upstream: strings.Clone(upstream), Service: strings.Clone(service), Method: strings.Clone(method),
		InitialMetadata: md, Stream: true,
	}), internal.StatusOK
}

func (h *hostEmulator) ProxyGrpcSend(streamID uint32, message []byte, endStream bool) internal.Status {
	a := h.grpcCalls[streamID]
	if a == nil || !a.Stream {
		return internal.StatusNotFound
	}
	a.Sent = append(a.Sent, append([]byte(nil), message...))
	a.EndStream = a.EndStream || endStream
	return internal.StatusOK
}

func (h *hostEmulator) ProxyGrpcCancel(id uint32) internal.Status {
	a := h.grpcCalls[id]
	if a == nil {
		return internal.StatusNotFound
	}
	a.Cancelled = true
	return internal.StatusOK
}

func (h *hostEmulator) ProxyGrpcClose(id uint32) internal.Status {
	a := h.grpcCalls[id]
	if a == nil {
		return internal.StatusNotFound
	}
	a.Closed = true
	return internal.StatusOK
}

// ProxySetSharedData follows Envoy: cas 0 writes unconditionally, any other
// cas must equal the entry's current token.
func (h *hostEmulator) ProxySetSharedData(key string, value []byte, cas uint32) internal.Status {
	st := h.store
	st.mu.Lock()
	defer st.mu.Unlock()
	d, ok := st.sharedData[key]
	if ok && cas != 0 && cas != d.cas {
		return internal.StatusCasMismatch
	}
	if !ok {
		d = &sharedData{}
		st.sharedData[strings.Clone(key)] = d
	}
	st.nextCas++
	d.cas = st.nextCas
	d.data = append([]byte(nil), value...)
	return internal.StatusOK
}

func (h *hostEmulator) ProxyGetSharedData(key string) ([]byte, uint32, internal.Status) {
	st := h.store
	st.mu.Lock()
	defer st.mu.Unlock()
	d, ok := st.sharedData[key]
	if !ok {
		return nil, 0, internal.StatusNotFound
	}
	return append([]byte(nil), d.data...), d.cas, internal.StatusOK
}

// ProxyRegisterSharedQueue registers name in this emulator's VM (its VM id)
// and makes the calling plugin the queue's owner, which OnQueueReady reaches.
func (h *hostEmulator) ProxyRegisterSharedQueue(name string) (uint32, internal.Status) {
	st := h.store
	st.mu.Lock()
	defer st.mu.Unlock()
	key := queueKey{vmID: h.vmID, name: name}
	id, ok := st.queueIDs[key]
	if !ok {
		id = uint32(len(st.queueIDs))
		key.name = strings.Clone(name)
		st.queueIDs[key] = id
		st.queues[id] = [][]byte{}
	}
	if root := h.rootOf(h.active); root != 0 {
		st.queueOwner[id] = queueOwner{host: h, root: root}
	}
	return id, internal.StatusOK
}

// ProxyResolveSharedQueue finds a queue registered by the VM vmID (this
// emulator's own VM when vmID is empty).
func (h *hostEmulator) ProxyResolveSharedQueue(vmID, name string) (uint32, internal.Status) {
	if vmID == "" {
		vmID = h.vmID
	}
	st := h.store
	st.mu.Lock()
	defer st.mu.Unlock()
	id, ok := st.queueIDs[queueKey{vmID: vmID, name: name}]
	if !ok {
		return 0, internal.StatusNotFound
	}
	return id, internal.StatusOK
}

// ProxyEnqueueSharedQueue appends value and, after the calling callback
// returns, calls OnQueueReady of the queue's owner (which may be a plugin
// of another emulator sharing this one's store).
func (h *hostEmulator) ProxyEnqueueSharedQueue(queueID uint32, value []byte) internal.Status {
	st := h.store
	st.mu.Lock()
	defer st.mu.Unlock()
	q, ok := st.queues[queueID]
	if !ok {
		return internal.StatusNotFound
	}
	st.queues[queueID] = append(q, append([]byte(nil), value...))
	owner, ok := st.queueOwner[queueID]
	if !ok {
		owner = queueOwner{host: h, root: PluginContextID}
	}
	h.pending = append(h.pending, func() {
		o := owner.host
		o.dispatch(owner.root, func() { o.guest.onQueueReady(owner.root, queueID) })
	})
	return internal.StatusOK
}

func (h *hostEmulator) ProxyDequeueSharedQueue(queueID uint32) ([]byte, internal.Status) {
	st := h.store
	st.mu.Lock()
	defer st.mu.Unlock()
	q, ok := st.queues[queueID]
	if !ok {
		return nil, internal.StatusNotFound
	}
	if len(q) == 0 {
		return nil, internal.StatusEmpty
	}
	st.queues[queueID] = q[1:]
	return q[0], internal.StatusOK
}

func (h *hostEmulator) ProxyDefineMetric(mt internal.MetricType, name string) (uint32, internal.Status) {
	if mt > internal.MetricTypeHistogram {
		return 0, internal.StatusBadArgument
	}
	id, ok := h.metricNameToID[name]
	if !ok {
		id = uint32(len(h.metricNameToID))
		h.metricNameToID[strings.Clone(name)] = id
		h.metricIDToValue[id] = 0
		h.metricIDToType[id] = mt
	}
	return id, internal.StatusOK
}

func (h *hostEmulator) ProxyIncrementMetric(id uint32, delta int64) internal.Status {
	v, ok := h.metricIDToValue[id]
	if !ok {
		return internal.StatusNotFound
	}
	if h.metricIDToType[id] == internal.MetricTypeCounter && delta < 0 {
		return internal.StatusBadArgument
	}
	h.metricIDToValue[id] = v + uint64(delta)
	return internal.StatusOK
}

func (h *hostEmulator) ProxyRecordMetric(id uint32, value uint64) internal.Status {
	if _, ok := h.metricIDToValue[id]; !ok {
		return internal.StatusNotFound
	}
	h.metricIDToValue[id] = value
	return internal.StatusOK
}

func (h *hostEmulator) ProxyGetMetric(id uint32) (uint64, internal.Status) {
	v, ok := h.metricIDToValue[id]
	if !ok {
		return 0, internal.StatusNotFound
	}
	return v, internal.StatusOK
}

func (h *hostEmulator) ProxyGetProperty(path []byte) ([]byte, internal.Status) {
	v, ok := h.properties[string(path)]
	if !ok {
		return nil, internal.StatusNotFound
	}
	return append([]byte(nil), v...), internal.StatusOK
}

func (h *hostEmulator) ProxySetProperty(path, value []byte) internal.Status {
	h.properties[string(path)] = append([]byte(nil), value...)
	return internal.StatusOK
}

func (h *hostEmulator) rootOf(id uint32) uint32 {
	if id == PluginContextID {
		return id
	}
	if _, ok := h.httpStreams[id]; ok {
		return PluginContextID
	}
	if _, ok := h.tcpStreams[id]; ok {
		return PluginContextID
	}
	return 0
}

func (h *hostEmulator) ProxySetEffectiveContext(id uint32) internal.Status {
	if h.rootOf(id) == 0 {
		return internal.StatusBadArgument
	}
	h.active = id
	return internal.StatusOK
}

func (h *hostEmulator) ProxyDone() internal.Status {
	if !h.pluginDoneRequested {
		return internal.StatusNotFound
	}
	h.pluginDoneRequested = false
	h.pluginDone = true
	return internal.StatusOK
}

func (h *hostEmulator) ProxyCallForeignFunction(name string, args []byte) ([]byte, internal.Status) {
	f, ok := h.foreignFunctions[name]
	if !ok {
		log.Printf("[foreign call] %s is not registered; use HostEmulator.RegisterForeignFunction", name)
		return nil, internal.StatusNotFound
	}
	log.Printf("[foreign call] funcname: %s", name)
	log.Printf("[foreign call] param: %s", args)
	return f(append([]byte(nil), args...)), internal.StatusOK
}
