// Package httpfilter runs an ordered chain of proxy-wasm HTTP plugins
// around a next http.Handler (typically an httputil.ReverseProxy), the way
// Envoy's HTTP connection manager runs its decoder and encoder filters.
//
// Request headers, body chunks and trailers go through the plugins in order
// (proxy_on_request_*), and only then to next; response headers, body chunks
// and trailers go through them in reverse order (proxy_on_response_*) on
// their way to the client. A filter may pause a direction (and resume it
// later with proxy_continue_stream, e.g. after an HTTP callout), rewrite
// headers and bodies, or answer with a local reply, which stops the chain.
// When a plugin's VM is dead its FailStrategy applies: FAIL_OPEN skips it,
// FAIL_CLOSE answers 503.
//
// The request body is buffered in full before next is called (bounded by
// Options.MaxRequestBody); the response streams, chunk by chunk.
package httpfilter

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/wasmctl/wasmctl/runtime/host"
)

// Options tunes the handler. The zero value is usable.
type Options struct {
	// Logger receives stream errors. Default slog.Default().
	Logger *slog.Logger
	// MaxRequestBody bounds the buffered request body; past it the client
	// gets 413. Default 32 MiB.
	MaxRequestBody int64
	// PauseTimeout bounds how long a paused stream waits for its filter to
	// resume it (e.g. a callout). Past it the client gets 504. Default 60s.
	PauseTimeout time.Duration
	// ClusterName and UpstreamAddr feed the xds.cluster_name and
	// upstream.address properties.
	ClusterName  string
	UpstreamAddr string
	// RouteName feeds route_name.
	RouteName string
	// ChunkSize is the size of the request body reads. Default 64 KiB.
	ChunkSize int
}

// Handler is the http.Handler returned by New.
type Handler struct {
	plugins []*host.Plugin
	next    http.Handler
	opt     Options
	log     *slog.Logger
	connID  atomic.Uint64
	// respBody is true when a plugin handles response bodies: the response's
	// Content-Length is then dropped (the body may change size).
	respBody bool
}

// New returns a handler running plugins, in order, around next.
func New(plugins []*host.Plugin, next http.Handler, opt Options) *Handler {
	if opt.Logger == nil {
		opt.Logger = slog.Default()
	}
	if opt.MaxRequestBody <= 0 {
		opt.MaxRequestBody = 32 << 20
	}
	if opt.PauseTimeout <= 0 {
		opt.PauseTimeout = 60 * time.Second
	}
	if opt.ChunkSize <= 0 {
		opt.ChunkSize = 64 << 10
	}
	h := &Handler{plugins: plugins, next: next, opt: opt, log: opt.Logger}
	for _, p := range plugins {
		if p.Module().HasExport("proxy_on_response_body") {
			h.respBody = true
		}
	}
	return h
}

var errAborted = errors.New("httpfilter: stream ended by a filter")

func requestPairs(r *http.Request) host.Pairs {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	path := r.RequestURI
	if path == "" || !strings.HasPrefix(path, "/") {
		path = r.URL.RequestURI()
	}
	// Room for a few headers a filter adds, without growing.
	p := make(host.Pairs, 0, 4+len(r.Header)+4)
	p = append(p, [2]string{":authority", r.Host}, [2]string{":path", path}, [2]string{":method", r.Method}, [2]string{":scheme", scheme})
	for k, vs := range r.Header {
		lk := strings.ToLower(k)
		for _, v := range vs {
			p = append(p, [2]string{lk, v})
		}
	}
	return p
}

func protocol(r *http.Request) string {
	switch r.ProtoMajor {
	case 2:
		return "HTTP/2"
	case 3:
		return "HTTP/3"
	}
	return r.Proto
}

// ServeHTTP implements http.Handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	info := host.StreamInfo{
		Protocol: protocol(r), Scheme: "http", SourceAddr: r.RemoteAddr, TLS: r.TLS,
		ConnectionID: h.connID.Add(1), StartTime: time.Now(),
		UpstreamAddr: h.opt.UpstreamAddr, ClusterName: h.opt.ClusterName, RouteName: h.opt.RouteName,
		FilterState: &host.FilterState{}, // one per stream, shared by the chain
	}
	if r.TLS != nil {
		info.Scheme = "https"
	}
	if a, ok := ctx.Value(http.LocalAddrContextKey).(net.Addr); ok {
		info.DestinationAddr = a.String()
	}
	// The per-request state in as few allocations as possible: one
	// struct, one slice of stream infos, one of streams, one of stages.
	q := &request{}
	streams := make([]*host.HTTPStream, len(h.plugins))
	q.streams = streams
	infos := make([]host.StreamInfo, len(h.plugins))
	defer func() {
		for _, s := range streams {
			if s != nil {
				s.Done()
			}
		}
	}()
	for i, p := range h.plugins {
		infos[i] = info
		s, err := p.NewHTTPStream(&infos[i])
		if err != nil {
			res := p.UnavailableResult(err)
			h.log.Warn("wasm plugin unavailable", "plugin", p.Config().Name, "err", err)
			if res.LocalReply != nil {
				writeLocal(w, res.LocalReply)
				return
			}
			continue
		}
		streams[i] = s
	}
	update := q.update

	// ---- request direction ----
	// Both directions' stages in one allocation.
	allStages := make([]stage, 2*len(streams))
	reqStages, respStages := allStages[:len(streams)], allStages[len(streams):]
	for i, s := range streams {
		if s != nil {
			reqStages[i].o = reqOps{s}
			respStages[len(streams)-1-i].o = respOps{s}
		}
	}
	q.maxBody = h.opt.MaxRequestBody
	reqPipe := &q.reqPipe
	*reqPipe = pipeline{stages: reqStages, sink: q}
	wctx := &q.wctx
	*wctx = waitCtx{parent: ctx, timeout: h.opt.PauseTimeout}
	defer wctx.stop()
	if t := h.runRequest(wctx, r, reqPipe, update); t != nil {
		h.endEarly(w, t, false, update)
		return
	}

	// ---- upstream ----
	out, err := buildUpstream(r, q.upHeaders, q.upBody.Bytes(), q.upTrailers)
	if err != nil {
		writeLocal(w, &host.LocalReply{Status: http.StatusBadRequest, Body: []byte(err.Error() + "\n"), GRPCStatus: -1})
		return
	}

	// ---- response direction (reverse order) ----
	rw := &q.rw
	*rw = respWriter{w: w, h: h, header: make(http.Header, 4), pipe: &q.respPipe}
	q.respPipe = pipeline{stages: respStages, sink: rw}
	func() {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler && rw.term != nil {
					return
				}
				panic(v)
			}
		}()
		h.next.ServeHTTP(rw, out)
	}()
	if rw.term == nil {
		if !rw.headersSeen {
			rw.WriteHeader(http.StatusOK)
		}
		if rw.term == nil {
			if trl := rw.trailers(); len(trl) > 0 {
				rw.term = rw.flushPending()
				if rw.term == nil {
					rw.term = rw.pipe.push(0, event{kind: evTrailers, h: trl, eos: true})
				}
			} else {
				// The last chunk written (if any) carries end_of_stream, as
				// Envoy's last data frame does: one body callback, not two.
				rw.term = rw.pipe.push(0, event{kind: evData, data: rw.pending, eos: true})
				rw.pending, rw.hasPending = nil, false
			}
		}
		if rw.term == nil {
			rw.term = rw.pipe.finish(wctx)
		}
	}
	if rw.term != nil {
		h.endEarly(w, rw.term, rw.sent, update)
		return
	}
	update(func(i *host.StreamInfo) { i.ResponseSize = rw.bytes; i.EndTime = time.Now() })
}

// request is one request's state through the chain, allocated once.
type request struct {
	streams               []*host.HTTPStream
	upHeaders, upTrailers host.Pairs
	upBody                bytes.Buffer
	maxBody               int64
	reqPipe, respPipe     pipeline
	rw                    respWriter
	wctx                  waitCtx
}

// update changes every stream's StreamInfo.
func (q *request) update(f func(*host.StreamInfo)) {
	for _, s := range q.streams {
		if s != nil {
			s.Update(f)
		}
	}
}

// sink receives the request as the last filter passes it on.
func (q *request) sink(ev event) *terminal {
	switch ev.kind {
	case evHeaders:
		q.upHeaders = ev.h
	case evData:
		if int64(q.upBody.Len()+len(ev.data)) > q.maxBody {
			return &terminal{reply: &host.LocalReply{Status: http.StatusRequestEntityTooLarge, Body: []byte("request body too large\n"), GRPCStatus: -1}}
		}
		q.upBody.Write(ev.data)
	case evTrailers:
		q.upTrailers = ev.h
	}
	return nil
}

func (h *Handler) runRequest(ctx *waitCtx, r *http.Request, p *pipeline, update func(func(*host.StreamInfo))) *terminal {
	hasBody := r.Body != nil && r.Body != http.NoBody && (r.ContentLength != 0 || len(r.TransferEncoding) > 0)
	if r.ContentLength == 0 && r.Body != nil && r.Body != http.NoBody && len(r.TransferEncoding) == 0 && r.ProtoMajor >= 2 {
		hasBody = true // HTTP/2 without content-length
	}
	if t := p.push(0, event{kind: evHeaders, h: requestPairs(r), eos: !hasBody}); t != nil {
		return t
	}
	if hasBody {
		buf := make([]byte, h.opt.ChunkSize)
		var n64 int64
		for {
			n, err := io.ReadFull(r.Body, buf)
			n64 += int64(n)
			last := err != nil
			if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) {
				return &terminal{reset: true, err: fmt.Errorf("reading request body: %w", err)}
			}
			var trl host.Pairs
			if last {
				for k, vs := range r.Trailer {
					for _, v := range vs {
						trl = append(trl, [2]string{strings.ToLower(k), v})
					}
				}
			}
			if n > 0 || (last && len(trl) == 0) {
				chunk := append([]byte(nil), buf[:n]...)
				if t := p.push(0, event{kind: evData, data: chunk, eos: last && len(trl) == 0}); t != nil {
					return t
				}
			}
			if last {
				if len(trl) > 0 {
					if t := p.push(0, event{kind: evTrailers, h: trl, eos: true}); t != nil {
						return t
					}
				}
				break
			}
		}
		update(func(i *host.StreamInfo) { i.RequestSize = n64 })
	}
	return p.finish(ctx)
}

// buildUpstream turns the filtered request back into an *http.Request. It
// copies r shallowly (next, typically httputil.ReverseProxy, clones it
// again): the header map is rebuilt from hdr anyway.
func buildUpstream(r *http.Request, hdr host.Pairs, body []byte, trl host.Pairs) (*http.Request, error) {
	out := new(http.Request)
	*out = *r
	if r.URL != nil {
		u := *r.URL
		out.URL = &u
	}
	out.Header = make(http.Header, len(hdr))
	// One backing array for every header value; a repeated key appends.
	vals := make([]string, 0, len(hdr))
	for _, kv := range hdr {
		switch kv[0] {
		case ":method":
			out.Method = kv[1]
		case ":authority":
			out.Host = kv[1]
		case ":path":
			if kv[1] == r.RequestURI && r.RequestURI != "" {
				break // unchanged: the copied URL is already right
			}
			u, err := url.ParseRequestURI(kv[1])
			if err != nil {
				return nil, fmt.Errorf("a filter set an invalid :path %q: %v", kv[1], err)
			}
			out.URL.Path, out.URL.RawPath, out.URL.RawQuery = u.Path, u.RawPath, u.RawQuery
			out.RequestURI = kv[1]
		case ":scheme":
		case "host":
			out.Host = kv[1]
		case "content-length", "transfer-encoding":
		default:
			if !strings.HasPrefix(kv[0], ":") {
				k := http.CanonicalHeaderKey(kv[0])
				if prev, ok := out.Header[k]; ok {
					out.Header[k] = append(prev, kv[1])
				} else {
					vals = append(vals, kv[1])
					out.Header[k] = vals[len(vals)-1 : len(vals) : len(vals)]
				}
			}
		}
	}
	out.ContentLength = int64(len(body))
	if len(body) == 0 {
		out.Body = http.NoBody
		out.GetBody = noBody
	} else {
		out.Body = io.NopCloser(bytes.NewReader(body))
		out.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }
	}
	out.TransferEncoding = nil
	out.Trailer = nil
	if len(trl) > 0 {
		out.Trailer = http.Header{}
		for _, kv := range trl {
			out.Trailer.Add(kv[0], kv[1])
		}
	}
	return out, nil
}

func noBody() (io.ReadCloser, error) { return http.NoBody, nil }

// endEarly writes a local reply (if nothing was sent yet) or aborts.
func (h *Handler) endEarly(w http.ResponseWriter, t *terminal, sent bool, update func(func(*host.StreamInfo))) {
	if t.err != nil {
		h.log.Debug("wasm stream ended early", "err", t.err)
	}
	if sent {
		// Headers already went to the client: all we can do is reset.
		panic(http.ErrAbortHandler)
	}
	reply := t.reply
	if reply == nil {
		if t.err != nil && errors.Is(t.err, context.DeadlineExceeded) {
			reply = &host.LocalReply{Status: http.StatusGatewayTimeout, Body: []byte("wasm filter did not resume the stream in time\n"), GRPCStatus: -1}
		} else {
			panic(http.ErrAbortHandler)
		}
	}
	update(func(i *host.StreamInfo) {
		i.ResponseCode, i.ResponseDetails, i.ResponseSize, i.EndTime = reply.Status, reply.Details, int64(len(reply.Body)), time.Now()
	})
	writeLocal(w, reply)
}

func writeLocal(w http.ResponseWriter, r *host.LocalReply) {
	hdr := w.Header()
	for k := range hdr {
		delete(hdr, k)
	}
	for _, kv := range r.Headers {
		if !strings.HasPrefix(kv[0], ":") {
			hdr.Add(kv[0], kv[1])
		}
	}
	if len(r.Body) > 0 && hdr.Get("Content-Type") == "" {
		hdr.Set("Content-Type", "text/plain")
	}
	if r.GRPCStatus >= 0 {
		hdr.Set("grpc-status", strconv.Itoa(int(r.GRPCStatus)))
	}
	hdr.Set("Content-Length", strconv.Itoa(len(r.Body)))
	w.WriteHeader(r.Status)
	w.Write(r.Body)
}

// respWriter intercepts next's response and pushes it through the filters.
type respWriter struct {
	w           http.ResponseWriter
	h           *Handler
	header      http.Header
	pipe        *pipeline
	headersSeen bool
	sent        bool // headers written to the client
	announced   []string
	term        *terminal
	bytes       int64
	// pending is the last chunk next wrote, not pushed yet: it goes
	// through the filters on the next Write or Flush (end_of_stream
	// false) or when next returns (end_of_stream true). buf backs it.
	pending    []byte
	hasPending bool
	buf        []byte
}

func (rw *respWriter) Header() http.Header { return rw.header }

func (rw *respWriter) WriteHeader(code int) {
	if rw.headersSeen || rw.term != nil {
		return
	}
	if code >= 100 && code < 200 {
		return
	}
	rw.headersSeen = true
	// Room for a few headers a filter adds, without growing.
	p := make(host.Pairs, 1, 1+len(rw.header)+4)
	p[0] = [2]string{":status", strconv.Itoa(code)}
	for k, vs := range rw.header {
		if k == "Trailer" {
			for _, v := range vs {
				for _, t := range strings.Split(v, ",") {
					if t = strings.TrimSpace(t); t != "" {
						rw.announced = append(rw.announced, http.CanonicalHeaderKey(t))
					}
				}
			}
			continue
		}
		if strings.HasPrefix(k, http.TrailerPrefix) {
			continue
		}
		lk := strings.ToLower(k)
		for _, v := range vs {
			p = append(p, [2]string{lk, v})
		}
	}
	rw.term = rw.pipe.push(0, event{kind: evHeaders, h: p})
}

func (rw *respWriter) Write(b []byte) (int, error) {
	if !rw.headersSeen {
		rw.WriteHeader(http.StatusOK)
	}
	if rw.term != nil {
		return 0, errAborted
	}
	if rw.term = rw.flushPending(); rw.term != nil {
		return 0, errAborted
	}
	// The filters and the client writer consume a pushed chunk before
	// push returns (a filter's host buffer copies it), so one buffer
	// serves every chunk of the response.
	rw.buf = append(rw.buf[:0], b...)
	rw.pending, rw.hasPending = rw.buf, true
	return len(b), nil
}

// flushPending pushes the held chunk, with end_of_stream false.
func (rw *respWriter) flushPending() *terminal {
	if !rw.hasPending {
		return nil
	}
	d := rw.pending
	rw.pending, rw.hasPending = nil, false
	return rw.pipe.push(0, event{kind: evData, data: d})
}

// Flush pushes the held chunk through the filters and forwards to the
// client's writer when headers were sent.
func (rw *respWriter) Flush() {
	if rw.term == nil {
		rw.term = rw.flushPending()
	}
	if rw.sent && rw.term == nil {
		if f, ok := rw.w.(http.Flusher); ok {
			f.Flush()
		}
	}
}

func (rw *respWriter) trailers() host.Pairs {
	var p host.Pairs
	for _, k := range rw.announced {
		for _, v := range rw.header[k] {
			p = append(p, [2]string{strings.ToLower(k), v})
		}
	}
	for k, vs := range rw.header {
		if strings.HasPrefix(k, http.TrailerPrefix) {
			for _, v := range vs {
				p = append(p, [2]string{strings.ToLower(strings.TrimPrefix(k, http.TrailerPrefix)), v})
			}
		}
	}
	return p
}

func (rw *respWriter) sink(ev event) *terminal {
	switch ev.kind {
	case evHeaders:
		hdr := rw.w.Header()
		code := http.StatusOK
		for _, kv := range ev.h {
			switch {
			case kv[0] == ":status":
				if n, err := strconv.Atoi(kv[1]); err == nil {
					code = n
				}
			case strings.HasPrefix(kv[0], ":"):
			case kv[0] == "content-length" && rw.h.respBody:
			default:
				hdr.Add(kv[0], kv[1])
			}
		}
		rw.sent = true
		rw.w.WriteHeader(code)
	case evData:
		if len(ev.data) > 0 {
			n, err := rw.w.Write(ev.data)
			rw.bytes += int64(n)
			if err != nil {
				return &terminal{reset: true, err: err}
			}
		}
	case evTrailers:
		for _, kv := range ev.h {
			rw.w.Header().Add(http.TrailerPrefix+kv[0], kv[1])
		}
	}
	return nil
}
