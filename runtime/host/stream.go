package host

import (
	"context"
	"crypto/tls"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"
)

// StreamInfo describes the connection and request a stream belongs to; it
// feeds proxy_get_property (source.*, destination.*, connection.*,
// request.*, response.*, upstream.*). The adapter fills it.
type StreamInfo struct {
	Protocol        string // "HTTP/1.1", "HTTP/2"
	Scheme          string // "http" or "https"
	SourceAddr      string // "ip:port" of the downstream peer
	DestinationAddr string // "ip:port" the downstream connected to
	ConnectionID    uint64
	TLS             *tls.ConnectionState
	UpstreamAddr    string // "host:port" of the upstream, when known
	ClusterName     string
	RouteName       string
	StartTime       time.Time

	// Filled as the stream progresses.
	ResponseCode    int
	ResponseDetails string
	RequestSize     int64 // body bytes received from downstream
	ResponseSize    int64 // body bytes sent downstream
	EndTime         time.Time
	// Metadata is dynamic metadata, served under "metadata".
	Metadata map[string]any
	// FilterState, when set, is the stream's filter state shared by every
	// filter of the chain, as in Envoy: what one plugin writes with
	// proxy_set_property, a later plugin reads with proxy_get_property.
	// Adapters give all the StreamInfos of one stream the same FilterState;
	// without one, a plugin's writes are visible to that plugin only.
	FilterState *FilterState
}

// FilterState is the per-stream key/value store behind proxy_set_property.
// Keys are "wasm." followed by the property path joined with dots. It is safe
// for concurrent use.
type FilterState struct {
	mu sync.Mutex
	m  map[string][]byte
}

// Set stores a copy of value under key.
func (f *FilterState) Set(key string, value []byte) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.m == nil {
		f.m = map[string][]byte{}
	}
	f.m[key] = append([]byte(nil), value...)
}

// Get returns the value stored under key.
func (f *FilterState) Get(key string) ([]byte, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	v, ok := f.m[key]
	return v, ok
}

// lookup returns the value stored for a property path ("wasm." + the path
// joined with dots). It builds the key only when something is stored, and a
// nil FilterState holds nothing.
func (f *FilterState) lookup(path []string) ([]byte, bool) {
	if f == nil {
		return nil, false
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.m) == 0 {
		return nil, false
	}
	v, ok := f.m["wasm."+strings.Join(path, ".")]
	return v, ok
}

// copyInto adds every entry to dst; a nil FilterState adds nothing.
func (f *FilterState) copyInto(dst map[string]any) {
	if f == nil {
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	for k, v := range f.m {
		dst[k] = v
	}
}

// LocalReply is a response produced by a filter with proxy_send_local_response
// (or by the host's fail strategy).
type LocalReply struct {
	Status     int
	Details    string
	Body       []byte
	Headers    Pairs
	GRPCStatus int32 // -1: none
}

// Result is the outcome of one stream callback.
type Result struct {
	// Continue is true when iteration goes on to the next filter.
	Continue bool
	// LocalReply, when set, ends the stream with that response; the
	// filter chain stops.
	LocalReply *LocalReply
	// Close asks the adapter to reset the stream (proxy_close_stream, or a
	// FAIL_CLOSE TCP stream).
	Close bool
	// Err is the VM failure that produced this result, if any.
	Err error
}

// Direction selects the request (decode) or response (encode) side of an
// HTTP stream; for TCP, downstream or upstream data.
type Direction int

// Directions.
const (
	Request    Direction = 0
	Response   Direction = 1
	Downstream Direction = 0
	Upstream   Direction = 1
)

type streamBase struct {
	p    *Plugin
	in   *instance
	rec  *ctxRec
	info *StreamInfo

	// guarded by in.mu
	resume   [2]bool
	closeReq [2]bool
	local    *LocalReply
	bypass   bool
	failed   error
	finished bool
	wake     chan struct{}
}

func (s *streamBase) notify() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

func (p *Plugin) newStream(info *StreamInfo) (streamBase, error) {
	in, err := p.acquire()
	if err != nil {
		return streamBase{}, err
	}
	if info == nil {
		info = &StreamInfo{}
	}
	if info.StartTime.IsZero() {
		info.StartTime = time.Now()
	}
	return streamBase{p: p, in: in, info: info, wake: make(chan struct{}, 1)}, nil
}

// failResult applies the fail strategy. in.mu held.
func (s *streamBase) failResult(err error, tcp bool) Result {
	if s.failed == nil {
		s.failed = err
		s.p.rt.metrics.hostCounter(s.p.cfg.Name, "failed_streams")
	}
	if s.p.cfg.FailStrategy == FailOpen {
		s.bypass = true
		return Result{Continue: true, Err: err}
	}
	if tcp {
		return Result{Close: true, Err: err}
	}
	return Result{LocalReply: &LocalReply{Status: 503, Details: "wasm_fail_stream", Body: []byte("wasm filter " + s.p.cfg.Name + " failed\n"), GRPCStatus: -1}, Err: err}
}

// invoke runs one stream callback; mapStop turns the guest's return value
// into Continue or not.
func (s *streamBase) invoke(f *fn, tcp bool, args ...uint64) Result {
	in := s.in
	if s.bypass || s.finished {
		return Result{Continue: true}
	}
	if s.failed != nil {
		return s.failResult(s.failed, tcp)
	}
	if in.dead.Load() {
		return s.failResult(in.deadErr(), tcp)
	}
	if s.local != nil {
		return Result{LocalReply: s.local}
	}
	if !f.ok() {
		return Result{Continue: true}
	}
	in.localSent = false
	ret, err := in.call(f, s.rec, args...)
	if err != nil {
		return s.failResult(err, tcp)
	}
	if s.local != nil {
		// send_local_response stops iteration whatever the callback returned.
		return Result{LocalReply: s.local}
	}
	// Envoy: headers 0 Continue, 2 ContinueAndEndStream; 1,3,4(+) stop.
	// Data: 0 Continue; 1,2,3(+) stop. Trailers and TCP: 0 continue.
	r := uint32(ret)
	if f == in.f.reqHeaders || f == in.f.respHeaders {
		return Result{Continue: r == 0 || r == 2}
	}
	return Result{Continue: r == 0}
}

// wait blocks until dir is resumed, a local reply or close is requested, the
// VM dies, or ctx ends.
func (s *streamBase) wait(ctx context.Context, dir Direction, tcp bool) Result {
	for {
		s.in.mu.Lock()
		switch {
		case s.bypass:
			s.in.mu.Unlock()
			return Result{Continue: true}
		case s.local != nil:
			r := Result{LocalReply: s.local}
			s.in.mu.Unlock()
			return r
		case s.closeReq[dir] || s.closeReq[1-dir]:
			s.in.mu.Unlock()
			return Result{Close: true}
		case s.resume[dir]:
			s.resume[dir] = false
			s.in.mu.Unlock()
			return Result{Continue: true}
		case s.failed != nil || s.in.dead.Load():
			err := s.failed
			if err == nil {
				err = s.in.deadErr()
			}
			r := s.failResult(err, tcp)
			s.in.mu.Unlock()
			return r
		}
		s.in.mu.Unlock()
		select {
		case <-s.wake:
		case <-ctx.Done():
			return Result{Err: fmt.Errorf("waiting for filter %q to resume: %w", s.p.cfg.Name, ctx.Err()), Close: true}
		}
	}
}

// poll reports a pending resume (or local reply) for dir without blocking.
func (s *streamBase) poll(dir Direction, tcp bool) (Result, bool) {
	s.in.mu.Lock()
	defer s.in.mu.Unlock()
	switch {
	case s.bypass:
		return Result{Continue: true}, true
	case s.local != nil:
		return Result{LocalReply: s.local}, true
	case s.closeReq[0] || s.closeReq[1]:
		return Result{Close: true}, true
	case s.resume[dir]:
		s.resume[dir] = false
		return Result{Continue: true}, true
	case s.in.dead.Load():
		return s.failResult(s.in.deadErr(), tcp), true
	}
	return Result{}, false
}

// finish runs on_done, on_log and on_delete and releases the instance.
func (s *streamBase) finish() {
	in := s.in
	in.mu.Lock()
	if s.finished {
		in.mu.Unlock()
		return
	}
	s.finished = true
	if s.info.EndTime.IsZero() {
		s.info.EndTime = time.Now()
	}
	if !in.dead.Load() && s.rec != nil {
		id := uint64(s.rec.id)
		in.call(in.f.done, s.rec, id)
		in.call(in.f.log, s.rec, id)
		in.call(in.f.delete, s.rec, id)
	}
	if s.rec != nil {
		delete(in.contexts, s.rec.id)
	}
	in.mu.Unlock()
	s.p.release(in)
}

// HTTPStream is one HTTP request/response through one plugin, bound to one
// VM instance for its life. Its methods must be called from one goroutine
// (the adapter's); callouts and ticks may touch it concurrently through the
// VM, which the host serializes.
type HTTPStream struct {
	streamBase
	recStore                  ctxRec
	reqHeaders, reqTrailers   Pairs
	respHeaders, respTrailers Pairs
	reqBody, respBody         []byte
}

// NewHTTPStream binds a new stream to the least busy live VM and runs
// proxy_on_context_create. With no live VM it returns ErrUnavailable (the
// caller applies FailStrategy; see FailOpen and UnavailableResult).
func (p *Plugin) NewHTTPStream(info *StreamInfo) (*HTTPStream, error) {
	b, err := p.newStream(info)
	if err != nil {
		return nil, err
	}
	s := &HTTPStream{streamBase: b}
	in := s.in
	in.mu.Lock()
	defer in.mu.Unlock()
	s.rec = in.initContext(&s.recStore, false)
	s.rec.http = s
	if _, err := in.call(in.f.contextCreate, s.rec, uint64(s.rec.id), uint64(in.root.id)); err != nil {
		s.failResult(err, false)
	}
	return s, nil
}

// UnavailableResult is what a stream gets when the plugin has no live VM:
// FAIL_OPEN skips the filter, FAIL_CLOSE answers 503.
func (p *Plugin) UnavailableResult(err error) Result {
	if p.cfg.FailStrategy == FailOpen {
		return Result{Continue: true, Err: err}
	}
	return Result{LocalReply: &LocalReply{Status: 503, Details: "wasm_fail_stream", Body: []byte("wasm filter " + p.cfg.Name + " unavailable\n"), GRPCStatus: -1}, Err: err}
}

// Plugin returns the plugin the stream runs.
func (s *HTTPStream) Plugin() *Plugin { return s.p }

func (s *HTTPStream) lock()   { s.in.mu.Lock() }
func (s *HTTPStream) unlock() { s.in.mu.Unlock() }

// OnRequestHeaders sets the request headers (pseudo headers included) and
// calls proxy_on_request_headers.
func (s *HTTPStream) OnRequestHeaders(h Pairs, endOfStream bool) Result {
	s.lock()
	defer s.unlock()
	s.reqHeaders = h
	return s.invoke(s.in.f.reqHeaders, false, uint64(s.rec.id), uint64(len(h)), b2u(endOfStream))
}

// OnRequestBody appends chunk to the buffered request body and calls
// proxy_on_request_body with the buffered size.
func (s *HTTPStream) OnRequestBody(chunk []byte, endOfStream bool) Result {
	s.lock()
	defer s.unlock()
	s.reqBody = append(s.reqBody, chunk...)
	return s.invoke(s.in.f.reqBody, false, uint64(s.rec.id), uint64(len(s.reqBody)), b2u(endOfStream))
}

// OnRequestHeadersTake is OnRequestHeaders followed, when the filter
// continues, by RequestHeaders, under one acquisition of the VM lock.
func (s *HTTPStream) OnRequestHeadersTake(h Pairs, endOfStream bool) (Result, Pairs) {
	s.lock()
	defer s.unlock()
	s.reqHeaders = h
	r := s.invoke(s.in.f.reqHeaders, false, uint64(s.rec.id), uint64(len(h)), b2u(endOfStream))
	if !r.Continue {
		return r, nil
	}
	return r, s.reqHeaders.Clone()
}

// OnRequestBodyTake is OnRequestBody followed, when the filter continues,
// by TakeRequestBody, under one acquisition of the VM lock.
func (s *HTTPStream) OnRequestBodyTake(chunk []byte, endOfStream bool) (Result, []byte) {
	s.lock()
	defer s.unlock()
	s.reqBody = append(s.reqBody, chunk...)
	r := s.invoke(s.in.f.reqBody, false, uint64(s.rec.id), uint64(len(s.reqBody)), b2u(endOfStream))
	if !r.Continue {
		return r, nil
	}
	b := s.reqBody
	s.reqBody = nil
	return r, b
}

// BufferRequestBody appends chunk without calling the filter (while its
// headers callback holds iteration).
func (s *HTTPStream) BufferRequestBody(chunk []byte) {
	s.lock()
	s.reqBody = append(s.reqBody, chunk...)
	s.unlock()
}

// OnRequestTrailers sets the request trailers and calls proxy_on_request_trailers.
func (s *HTTPStream) OnRequestTrailers(t Pairs) Result {
	s.lock()
	defer s.unlock()
	s.reqTrailers = t
	return s.invoke(s.in.f.reqTrailers, false, uint64(s.rec.id), uint64(len(t)))
}

// OnResponseHeaders sets the response headers (":status" included) and
// calls proxy_on_response_headers.
func (s *HTTPStream) OnResponseHeaders(h Pairs, endOfStream bool) Result {
	s.lock()
	defer s.unlock()
	return s.onResponseHeaders(h, endOfStream)
}

// onResponseHeaders is OnResponseHeaders with the VM lock held.
func (s *HTTPStream) onResponseHeaders(h Pairs, endOfStream bool) Result {
	s.respHeaders = h
	if st, ok := h.Get(":status"); ok {
		if code, err := strconv.Atoi(strings.TrimSpace(st)); err == nil {
			s.info.ResponseCode = code
		}
	}
	return s.invoke(s.in.f.respHeaders, false, uint64(s.rec.id), uint64(len(h)), b2u(endOfStream))
}

// OnResponseBody appends chunk to the buffered response body and calls
// proxy_on_response_body with the buffered size.
func (s *HTTPStream) OnResponseBody(chunk []byte, endOfStream bool) Result {
	s.lock()
	defer s.unlock()
	s.respBody = append(s.respBody, chunk...)
	return s.invoke(s.in.f.respBody, false, uint64(s.rec.id), uint64(len(s.respBody)), b2u(endOfStream))
}

// OnResponseHeadersTake is OnResponseHeaders followed, when the filter
// continues, by ResponseHeaders, under one acquisition of the VM lock.
func (s *HTTPStream) OnResponseHeadersTake(h Pairs, endOfStream bool) (Result, Pairs) {
	s.lock()
	defer s.unlock()
	r := s.onResponseHeaders(h, endOfStream)
	if !r.Continue {
		return r, nil
	}
	return r, s.respHeaders.Clone()
}

// OnResponseBodyTake is OnResponseBody followed, when the filter continues,
// by TakeResponseBody, under one acquisition of the VM lock.
func (s *HTTPStream) OnResponseBodyTake(chunk []byte, endOfStream bool) (Result, []byte) {
	s.lock()
	defer s.unlock()
	s.respBody = append(s.respBody, chunk...)
	r := s.invoke(s.in.f.respBody, false, uint64(s.rec.id), uint64(len(s.respBody)), b2u(endOfStream))
	if !r.Continue {
		return r, nil
	}
	b := s.respBody
	s.respBody = nil
	return r, b
}

// BufferResponseBody appends chunk without calling the filter.
func (s *HTTPStream) BufferResponseBody(chunk []byte) {
	s.lock()
	s.respBody = append(s.respBody, chunk...)
	s.unlock()
}

// OnResponseTrailers sets the response trailers and calls proxy_on_response_trailers.
func (s *HTTPStream) OnResponseTrailers(t Pairs) Result {
	s.lock()
	defer s.unlock()
	s.respTrailers = t
	return s.invoke(s.in.f.respTrailers, false, uint64(s.rec.id), uint64(len(t)))
}

// RequestHeaders returns a copy of the request headers as the filter left them.
func (s *HTTPStream) RequestHeaders() Pairs { s.lock(); defer s.unlock(); return s.reqHeaders.Clone() }

// RequestTrailers returns a copy of the request trailers.
func (s *HTTPStream) RequestTrailers() Pairs {
	s.lock()
	defer s.unlock()
	return s.reqTrailers.Clone()
}

// ResponseHeaders returns a copy of the response headers.
func (s *HTTPStream) ResponseHeaders() Pairs {
	s.lock()
	defer s.unlock()
	return s.respHeaders.Clone()
}

// ResponseTrailers returns a copy of the response trailers.
func (s *HTTPStream) ResponseTrailers() Pairs {
	s.lock()
	defer s.unlock()
	return s.respTrailers.Clone()
}

// TakeRequestBody returns the buffered request body and empties the buffer.
func (s *HTTPStream) TakeRequestBody() []byte {
	s.lock()
	defer s.unlock()
	b := s.reqBody
	s.reqBody = nil
	return b
}

// TakeResponseBody returns the buffered response body and empties the buffer.
func (s *HTTPStream) TakeResponseBody() []byte {
	s.lock()
	defer s.unlock()
	b := s.respBody
	s.respBody = nil
	return b
}

// Wait blocks while direction dir is paused by the filter, until it calls
// proxy_continue_stream (or 0.1.0 proxy_continue_request/response), sends a
// local reply, closes the stream, its VM dies, or ctx ends.
func (s *HTTPStream) Wait(ctx context.Context, dir Direction) Result { return s.wait(ctx, dir, false) }

// Poll is Wait without blocking; ok is false when nothing happened.
func (s *HTTPStream) Poll(dir Direction) (r Result, ok bool) { return s.poll(dir, false) }

// Update changes the StreamInfo under the VM lock (response code, sizes...).
func (s *HTTPStream) Update(f func(*StreamInfo)) { s.lock(); f(s.info); s.unlock() }

// Done ends the stream: proxy_on_done, proxy_on_log, proxy_on_delete, then
// releases the VM. Call it exactly once, after the response completed.
func (s *HTTPStream) Done() { s.finish() }

// TCPStream is one TCP connection through one network-filter plugin.
type TCPStream struct {
	streamBase
	down, up []byte
}

// NewTCPStream binds a new connection to a live VM and runs
// proxy_on_context_create.
func (p *Plugin) NewTCPStream(info *StreamInfo) (*TCPStream, error) {
	b, err := p.newStream(info)
	if err != nil {
		return nil, err
	}
	s := &TCPStream{streamBase: b}
	in := s.in
	in.mu.Lock()
	defer in.mu.Unlock()
	s.rec = in.newContext(false)
	s.rec.tcp = s
	if _, err := in.call(in.f.contextCreate, s.rec, uint64(s.rec.id), uint64(in.root.id)); err != nil {
		s.failResult(err, true)
	}
	return s, nil
}

// OnNewConnection calls proxy_on_new_connection.
func (s *TCPStream) OnNewConnection() Result {
	s.in.mu.Lock()
	defer s.in.mu.Unlock()
	return s.invoke(s.in.f.newConn, true, uint64(s.rec.id))
}

// OnDownstreamData buffers chunk and calls proxy_on_downstream_data.
func (s *TCPStream) OnDownstreamData(chunk []byte, endOfStream bool) Result {
	s.in.mu.Lock()
	defer s.in.mu.Unlock()
	s.down = append(s.down, chunk...)
	return s.invoke(s.in.f.downData, true, uint64(s.rec.id), uint64(len(s.down)), b2u(endOfStream))
}

// OnUpstreamData buffers chunk and calls proxy_on_upstream_data.
func (s *TCPStream) OnUpstreamData(chunk []byte, endOfStream bool) Result {
	s.in.mu.Lock()
	defer s.in.mu.Unlock()
	s.up = append(s.up, chunk...)
	return s.invoke(s.in.f.upData, true, uint64(s.rec.id), uint64(len(s.up)), b2u(endOfStream))
}

// PeerType says who closed a connection.
type PeerType uint32

// Peer types.
const (
	PeerUnknown PeerType = 0
	PeerLocal   PeerType = 1
	PeerRemote  PeerType = 2
)

// OnDownstreamClose calls proxy_on_downstream_connection_close.
func (s *TCPStream) OnDownstreamClose(peer PeerType) {
	s.in.mu.Lock()
	defer s.in.mu.Unlock()
	s.invoke(s.in.f.downClose, true, uint64(s.rec.id), uint64(peer))
}

// OnUpstreamClose calls proxy_on_upstream_connection_close.
func (s *TCPStream) OnUpstreamClose(peer PeerType) {
	s.in.mu.Lock()
	defer s.in.mu.Unlock()
	s.invoke(s.in.f.upClose, true, uint64(s.rec.id), uint64(peer))
}

// TakeDownstreamData returns the buffered downstream bytes and empties the buffer.
func (s *TCPStream) TakeDownstreamData() []byte {
	s.in.mu.Lock()
	defer s.in.mu.Unlock()
	b := s.down
	s.down = nil
	return b
}

// TakeUpstreamData returns the buffered upstream bytes and empties the buffer.
func (s *TCPStream) TakeUpstreamData() []byte {
	s.in.mu.Lock()
	defer s.in.mu.Unlock()
	b := s.up
	s.up = nil
	return b
}

// Wait blocks while dir is paused (see HTTPStream.Wait).
func (s *TCPStream) Wait(ctx context.Context, dir Direction) Result { return s.wait(ctx, dir, true) }

// Poll is Wait without blocking.
func (s *TCPStream) Poll(dir Direction) (Result, bool) { return s.poll(dir, true) }

// Update changes the StreamInfo under the VM lock.
func (s *TCPStream) Update(f func(*StreamInfo)) { s.in.mu.Lock(); f(s.info); s.in.mu.Unlock() }

// Done ends the connection: proxy_on_done, proxy_on_log, proxy_on_delete.
func (s *TCPStream) Done() { s.finish() }

func b2u(b bool) uint64 {
	if b {
		return 1
	}
	return 0
}
