package host

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

const (
	defaultCalloutTimeout = 30 * time.Second
	maxCalloutBody        = 16 << 20
)

type calloutResult struct {
	status     int
	statusText string
	headers    Pairs
	trailers   Pairs
	body       []byte
}

type grpcEvent struct {
	md       Pairs
	message_ []byte
	status   uint32
	message  string
}

type pendingCall struct {
	cancel context.CancelFunc
	stream grpc.ClientStream
	mu     sync.Mutex // guards stream sends
}

func (in *instance) newCall(cancel context.CancelFunc) uint32 {
	in.nextCall++
	if in.nextCall == 0 {
		in.nextCall = 1
	}
	in.calls[in.nextCall] = &pendingCall{cancel: cancel}
	return in.nextCall
}

func hHTTPCall(ctx context.Context, in *instance, a args) Status {
	up, ok1 := in.read(a[0], a[1])
	hb, ok2 := in.read(a[2], a[3])
	body, ok3 := in.read(a[4], a[5])
	tb, ok4 := in.read(a[6], a[7])
	if !ok1 || !ok2 || !ok3 || !ok4 {
		return StatusInvalidMemoryAccess
	}
	if _, ok := in.mem.Read(a[9], 4); !ok {
		return StatusInvalidMemoryAccess
	}
	base, ok := in.resolveCluster(string(up))
	if !ok {
		in.logf(LogDebug, "proxy_http_call: unknown cluster "+string(up))
		return StatusBadArgument
	}
	hdrs, err := DecodePairs(hb)
	if err != nil {
		return StatusBadArgument
	}
	trailers, err := DecodePairs(tb)
	if err != nil {
		return StatusBadArgument
	}
	method, okm := hdrs.Get(":method")
	path, okp := hdrs.Get(":path")
	authority, oka := hdrs.Get(":authority")
	if !okm || !okp || !oka {
		return StatusBadArgument
	}
	u, err := url.Parse(strings.TrimRight(base, "/") + path)
	if err != nil {
		return StatusBadArgument
	}
	timeout := time.Duration(a[8]) * time.Millisecond
	if timeout <= 0 {
		timeout = defaultCalloutTimeout
	}
	cctx, cancel := context.WithTimeout(context.Background(), timeout)
	req, err := http.NewRequestWithContext(cctx, method, u.String(), bytes.NewReader(append([]byte(nil), body...)))
	if err != nil {
		cancel()
		return StatusBadArgument
	}
	req.Host = authority
	for _, kv := range hdrs {
		if !strings.HasPrefix(kv[0], ":") && !strings.EqualFold(kv[0], "content-length") {
			req.Header.Add(kv[0], kv[1])
		}
	}
	if len(trailers) > 0 {
		req.Trailer = http.Header{}
		for _, kv := range trailers {
			req.Trailer.Add(kv[0], kv[1])
		}
	}
	id := in.newCall(cancel)
	in.wU32(a[9], id)
	in.p.rt.metrics.hostCounter(in.p.cfg.Name, "http_callouts")
	go func() {
		defer cancel()
		res := &calloutResult{}
		resp, err := in.p.rt.client.Do(req)
		if err == nil {
			res.body, err = io.ReadAll(io.LimitReader(resp.Body, maxCalloutBody))
			resp.Body.Close()
			res.status = resp.StatusCode
			res.statusText = http.StatusText(resp.StatusCode)
			res.headers = Pairs{{":status", itoa(resp.StatusCode)}}
			for k, vs := range resp.Header {
				for _, v := range vs {
					res.headers.Add(k, v)
				}
			}
			for k, vs := range resp.Trailer {
				for _, v := range vs {
					res.trailers.Add(k, v)
				}
			}
		}
		if err != nil {
			in.logf(LogDebug, "proxy_http_call to "+string(up)+" failed: "+err.Error())
			in.p.rt.metrics.hostCounter(in.p.cfg.Name, "http_callout_failures")
			res = nil
		}
		in.deliverHTTPCall(id, res)
	}()
	return StatusOK
}

func itoa(n int) string {
	var b [20]byte
	i := len(b)
	neg := n < 0
	if neg {
		n = -n
	}
	for {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
		if n == 0 {
			break
		}
	}
	if neg {
		i--
		b[i] = '-'
	}
	return string(b[i:])
}

// deliverHTTPCall runs proxy_on_http_call_response on the root context. A nil
// result (failure or timeout) is reported with zero headers, as Envoy does.
func (in *instance) deliverHTTPCall(id uint32, res *calloutResult) {
	in.mu.Lock()
	defer in.mu.Unlock()
	if in.dead.Load() {
		return
	}
	if _, ok := in.calls[id]; !ok {
		return
	}
	delete(in.calls, id)
	if res == nil {
		res = &calloutResult{status: 503, statusText: "callout failed"}
	}
	in.callResp = res
	in.call(in.f.httpCallResp, in.root, uint64(in.root.id), uint64(id), uint64(len(res.headers)), uint64(len(res.body)), uint64(len(res.trailers)))
	in.callResp = nil
}

func (in *instance) resolveCluster(name string) (string, bool) {
	c := in.p.rt.cfg.Clusters
	if c == nil {
		return "", false
	}
	return c.ResolveCluster(name)
}

// --- gRPC ---

type rawCodec struct{}

func (rawCodec) Marshal(v any) ([]byte, error) {
	b, ok := v.(*[]byte)
	if !ok {
		return nil, errors.New("rawCodec: want *[]byte")
	}
	return *b, nil
}

func (rawCodec) Unmarshal(data []byte, v any) error {
	b, ok := v.(*[]byte)
	if !ok {
		return errors.New("rawCodec: want *[]byte")
	}
	*b = append((*b)[:0], data...)
	return nil
}

func (rawCodec) Name() string { return "proto" }

func (r *Runtime) grpcConn(base string) (*grpc.ClientConn, error) {
	r.grpcMu.Lock()
	defer r.grpcMu.Unlock()
	if c, ok := r.grpcConns[base]; ok {
		return c, nil
	}
	target := base
	if u, err := url.Parse(base); err == nil && u.Host != "" {
		target = u.Host
	}
	c, err := grpc.NewClient("passthrough:///"+target, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return nil, err
	}
	if r.grpcConns == nil {
		r.grpcConns = map[string]*grpc.ClientConn{}
	}
	r.grpcConns[base] = c
	return c, nil
}

type grpcArgs struct {
	conn    *grpc.ClientConn
	method  string
	md      metadata.MD
	upstrem string
}

func (in *instance) grpcSetup(a args) (*grpcArgs, Status) {
	up, ok1 := in.read(a[0], a[1])
	svc, ok2 := in.read(a[2], a[3])
	meth, ok3 := in.read(a[4], a[5])
	mdb, ok4 := in.read(a[6], a[7])
	if !ok1 || !ok2 || !ok3 || !ok4 {
		return nil, StatusInvalidMemoryAccess
	}
	base, ok := in.resolveCluster(string(up))
	if !ok {
		return nil, StatusParseFailure
	}
	md, err := DecodePairs(mdb)
	if err != nil {
		return nil, StatusBadArgument
	}
	conn, err := in.p.rt.grpcConn(base)
	if err != nil {
		return nil, StatusParseFailure
	}
	out := metadata.MD{}
	for _, kv := range md {
		out.Append(kv[0], kv[1])
	}
	return &grpcArgs{conn: conn, method: "/" + string(svc) + "/" + string(meth), md: out, upstrem: string(up)}, StatusOK
}

func mdPairs(md metadata.MD) Pairs {
	var p Pairs
	for k, vs := range md {
		for _, v := range vs {
			p = append(p, [2]string{k, v})
		}
	}
	return p
}

func hGRPCCall(_ context.Context, in *instance, a args) Status {
	g, st := in.grpcSetup(a)
	if st != StatusOK {
		return st
	}
	msg, ok := in.read(a[8], a[9])
	if !ok {
		return StatusInvalidMemoryAccess
	}
	if _, ok := in.mem.Read(a[11], 4); !ok {
		return StatusInvalidMemoryAccess
	}
	timeout := time.Duration(a[10]) * time.Millisecond
	if timeout <= 0 {
		timeout = defaultCalloutTimeout
	}
	cctx, cancel := context.WithTimeout(metadata.NewOutgoingContext(context.Background(), g.md), timeout)
	id := in.newCall(cancel)
	in.wU32(a[11], id)
	req := append([]byte(nil), msg...)
	in.p.rt.metrics.hostCounter(in.p.cfg.Name, "grpc_callouts")
	go func() {
		defer cancel()
		var resp []byte
		var hdr, trl metadata.MD
		err := g.conn.Invoke(cctx, g.method, &req, &resp, grpc.ForceCodec(rawCodec{}), grpc.Header(&hdr), grpc.Trailer(&trl))
		in.deliverGRPCUnary(id, hdr, resp, trl, err)
	}()
	return StatusOK
}

func (in *instance) grpcLocked(id uint32, last bool) bool {
	if in.dead.Load() {
		return false
	}
	if _, ok := in.calls[id]; !ok {
		return false
	}
	if last {
		delete(in.calls, id)
	}
	return true
}

func (in *instance) deliverGRPCUnary(id uint32, hdr metadata.MD, resp []byte, trl metadata.MD, err error) {
	in.mu.Lock()
	defer in.mu.Unlock()
	if !in.grpcLocked(id, false) {
		return
	}
	root := uint64(in.root.id)
	if len(hdr) > 0 {
		in.grpcResp = &grpcEvent{md: mdPairs(hdr)}
		in.call(in.f.grpcInitMD, in.root, root, uint64(id), uint64(len(in.grpcResp.md)))
	}
	if err == nil {
		in.grpcResp = &grpcEvent{message_: resp}
		in.call(in.f.grpcReceive, in.root, root, uint64(id), uint64(len(resp)))
	}
	if len(trl) > 0 {
		in.grpcResp = &grpcEvent{md: mdPairs(trl)}
		in.call(in.f.grpcTrailMD, in.root, root, uint64(id), uint64(len(in.grpcResp.md)))
	}
	delete(in.calls, id)
	if err != nil {
		s := status.Convert(err)
		in.grpcResp = &grpcEvent{status: uint32(s.Code()), message: s.Message()}
		in.call(in.f.grpcClose, in.root, root, uint64(id), uint64(s.Code()))
	}
	in.grpcResp = nil
}

func hGRPCStream(_ context.Context, in *instance, a args) Status {
	g, st := in.grpcSetup(a)
	if st != StatusOK {
		return st
	}
	if _, ok := in.mem.Read(a[8], 4); !ok {
		return StatusInvalidMemoryAccess
	}
	cctx, cancel := context.WithCancel(metadata.NewOutgoingContext(context.Background(), g.md))
	cs, err := g.conn.NewStream(cctx, &grpc.StreamDesc{ClientStreams: true, ServerStreams: true}, g.method, grpc.ForceCodec(rawCodec{}))
	if err != nil {
		cancel()
		return StatusInternalFailure
	}
	id := in.newCall(cancel)
	in.calls[id].stream = cs
	in.wU32(a[8], id)
	go in.grpcStreamLoop(id, cs)
	return StatusOK
}

func (in *instance) grpcStreamLoop(id uint32, cs grpc.ClientStream) {
	if hdr, err := cs.Header(); err == nil && len(hdr) > 0 {
		in.mu.Lock()
		if in.grpcLocked(id, false) {
			in.grpcResp = &grpcEvent{md: mdPairs(hdr)}
			in.call(in.f.grpcInitMD, in.root, uint64(in.root.id), uint64(id), uint64(len(in.grpcResp.md)))
			in.grpcResp = nil
		}
		in.mu.Unlock()
	}
	for {
		var msg []byte
		err := cs.RecvMsg(&msg)
		in.mu.Lock()
		if !in.grpcLocked(id, false) {
			in.mu.Unlock()
			return
		}
		root := uint64(in.root.id)
		if err == nil {
			in.grpcResp = &grpcEvent{message_: msg}
			in.call(in.f.grpcReceive, in.root, root, uint64(id), uint64(len(msg)))
			in.grpcResp = nil
			in.mu.Unlock()
			continue
		}
		if trl := cs.Trailer(); len(trl) > 0 {
			in.grpcResp = &grpcEvent{md: mdPairs(trl)}
			in.call(in.f.grpcTrailMD, in.root, root, uint64(id), uint64(len(in.grpcResp.md)))
		}
		code, text := codes.OK, ""
		if !errors.Is(err, io.EOF) {
			s := status.Convert(err)
			code, text = s.Code(), s.Message()
		}
		delete(in.calls, id)
		in.grpcResp = &grpcEvent{status: uint32(code), message: text}
		in.call(in.f.grpcClose, in.root, root, uint64(id), uint64(code))
		in.grpcResp = nil
		in.mu.Unlock()
		return
	}
}

func hGRPCSend(_ context.Context, in *instance, a args) Status {
	c, ok := in.calls[a[0]]
	if !ok || c.stream == nil {
		return StatusNotFound
	}
	msg, ok := in.read(a[1], a[2])
	if !ok {
		return StatusInvalidMemoryAccess
	}
	b := append([]byte(nil), msg...)
	if err := c.stream.SendMsg(&b); err != nil {
		return StatusInternalFailure
	}
	if a[3] != 0 {
		c.stream.CloseSend()
	}
	return StatusOK
}

// grpcCancel: cancel aborts without a callback; close half-closes a stream
// (the server's end then arrives as proxy_on_grpc_close) or cancels a call.
func (in *instance) grpcCancel(id uint32, closeIt bool) Status {
	c, ok := in.calls[id]
	if !ok {
		return StatusNotFound
	}
	if closeIt && c.stream != nil {
		c.stream.CloseSend()
		return StatusOK
	}
	c.cancel()
	delete(in.calls, id)
	return StatusOK
}
