// Package testfilter is the filter the SDK's own tests run natively and,
// built from proxytest/testdata/filter, as wasm. It exercises every host
// function through the public proxywasm API. The request path selects the
// behaviour; the plugin configuration selects the context kinds:
// "root-only" creates no stream contexts, "bench" installs the benchmark
// context (read one header, add one).
package testfilter

import (
	"encoding/binary"
	"strconv"
	"strings"

	"github.com/wasmctl/wasmctl/sdk/proxywasm"
	"github.com/wasmctl/wasmctl/sdk/proxywasm/types"
)

// New returns the filter's VM context.
func New() types.VMContext { return &vmContext{} }

type vmContext struct{ types.DefaultVMContext }

func (*vmContext) OnVMStart(size int) types.OnVMStartStatus {
	if size > 0 {
		cfg, err := proxywasm.GetVMConfiguration()
		if err != nil {
			proxywasm.LogErrorf("vm config: %v", err)
			return types.OnVMStartStatusFailed
		}
		proxywasm.LogInfof("vm config: %s", cfg)
		if string(cfg) == "fail" {
			return types.OnVMStartStatusFailed
		}
	}
	return types.OnVMStartStatusOK
}

func (*vmContext) NewPluginContext(id uint32) types.PluginContext {
	return &pluginContext{id: id, requests: proxywasm.DefineCounterMetric("testfilter_requests")}
}

type pluginContext struct {
	types.DefaultPluginContext
	id       uint32
	mode     string
	queueID  uint32
	requests proxywasm.MetricCounter
	paused   []uint32
}

func (p *pluginContext) OnPluginStart(size int) types.OnPluginStartStatus {
	if size > 0 {
		cfg, err := proxywasm.GetPluginConfiguration()
		if err != nil {
			proxywasm.LogErrorf("plugin config: %v", err)
			return types.OnPluginStartStatusFailed
		}
		p.mode = string(cfg)
	}
	if p.mode == "reject" {
		return types.OnPluginStartStatusFailed
	}
	id, err := proxywasm.RegisterSharedQueue("testfilter")
	if err != nil {
		proxywasm.LogErrorf("register queue: %v", err)
		return types.OnPluginStartStatusFailed
	}
	p.queueID = id
	if err := proxywasm.SetTickPeriodMilliSeconds(100); err != nil {
		return types.OnPluginStartStatusFailed
	}
	proxywasm.LogInfof("plugin started: mode=%q queue=%d", p.mode, id)
	return types.OnPluginStartStatusOK
}

func (p *pluginContext) OnTick() {
	g := proxywasm.DefineGaugeMetric("testfilter_ticks")
	g.Add(1)
	proxywasm.LogInfof("tick %d", g.Value())
	// Resume streams paused with /pause from the root context.
	for _, id := range p.paused {
		if err := proxywasm.SetEffectiveContext(id); err != nil {
			proxywasm.LogErrorf("set effective context %d: %v", id, err)
			continue
		}
		_ = proxywasm.AddHttpRequestHeader("x-resumed-by", "tick")
		_ = proxywasm.ResumeHttpRequest()
	}
	p.paused = nil
}

func (p *pluginContext) OnQueueReady(queueID uint32) {
	for {
		item, err := proxywasm.DequeueSharedQueue(queueID)
		if err != nil {
			if err != types.ErrorStatusEmpty {
				proxywasm.LogErrorf("dequeue: %v", err)
			}
			return
		}
		proxywasm.LogInfof("dequeued: %s", item)
	}
}

func (p *pluginContext) OnPluginDone() bool { return p.mode != "linger" }

// OnForeignFunction implements proxywasm.ForeignFunctionHandler.
func (p *pluginContext) OnForeignFunction(functionID uint32, size int) {
	args, err := proxywasm.GetForeignFunctionArguments()
	proxywasm.LogInfof("foreign function %d called with %q (%d bytes, err=%v)", functionID, args, size, err)
}

func (p *pluginContext) NewHttpContext(id uint32) types.HttpContext {
	switch p.mode {
	case "root-only", "tcp":
		return nil
	case "bench":
		return &benchContext{requests: p.requests}
	}
	return &httpContext{id: id, root: p}
}

func (p *pluginContext) NewTcpContext(id uint32) types.TcpContext {
	if p.mode != "tcp" {
		return nil
	}
	return &tcpContext{}
}

type benchContext struct {
	types.DefaultHttpContext
	requests proxywasm.MetricCounter
}

// OnHttpRequestTrailers is a no-op for 0 trailers; for 1 it runs the SDK
// calls that must not allocate in the guest: replace and remove a header,
// log a constant message, increment a counter, resume.
func (c *benchContext) OnHttpRequestTrailers(n int) types.Action {
	if n == 0 {
		return types.ActionContinue
	}
	if proxywasm.ReplaceHttpRequestHeader("x-replaced", "constant") != nil ||
		proxywasm.RemoveHttpRequestHeader("x-removed") != nil ||
		proxywasm.AddHttpRequestTrailer("x-trailer", "constant") != nil {
		return types.ActionPause
	}
	proxywasm.LogDebug("constant message")
	c.requests.Increment(1)
	_ = proxywasm.ResumeHttpRequest()
	return types.ActionContinue
}

// OnHttpResponseHeaders reads the property bench.property: only the
// value's bytes may be allocated.
func (*benchContext) OnHttpResponseHeaders(int, bool) types.Action {
	if v, err := proxywasm.GetProperty([]string{"bench", "property"}); err != nil || string(v) != "value" {
		return types.ActionPause
	}
	return types.ActionContinue
}

func (*benchContext) OnHttpRequestHeaders(int, bool) types.Action {
	v, err := proxywasm.GetHttpRequestHeader("x-read")
	if err != nil {
		return types.ActionPause
	}
	if err := proxywasm.AddHttpRequestHeader("x-added", v); err != nil {
		return types.ActionPause
	}
	return types.ActionContinue
}

type httpContext struct {
	types.DefaultHttpContext
	id   uint32
	root *pluginContext
	path string
}

func (c *httpContext) OnHttpRequestHeaders(numHeaders int, endOfStream bool) types.Action {
	c.root.requests.Increment(1)
	path, err := proxywasm.GetHttpRequestHeader(":path")
	if err != nil {
		proxywasm.LogErrorf(":path: %v", err)
		return types.ActionContinue
	}
	c.path = path
	if v, err := proxywasm.GetHttpRequestHeader("x-read"); err == nil {
		_ = proxywasm.AddHttpRequestHeader("x-added", v)
	}
	switch path {
	case "/headers":
		hs, err := proxywasm.GetHttpRequestHeaders()
		if err != nil {
			proxywasm.LogErrorf("headers: %v", err)
		}
		proxywasm.LogInfof("%d headers (callback said %d), eos=%v", len(hs), numHeaders, endOfStream)
		_ = proxywasm.RemoveHttpRequestHeader("x-remove")
		_ = proxywasm.ReplaceHttpRequestHeader("x-replace", "new")
		hs, _ = proxywasm.GetHttpRequestHeaders()
		hs = append(hs, [2]string{"x-all", strconv.Itoa(len(hs))})
		_ = proxywasm.ReplaceHttpRequestHeaders(hs)
	case "/local":
		if err := proxywasm.SendHttpResponse(403, [][2]string{{"x-reason", "denied"}}, []byte("forbidden"), -1); err != nil {
			proxywasm.LogErrorf("local response: %v", err)
		}
		return types.ActionPause
	case "/callout":
		_, err := proxywasm.DispatchHttpCall("cluster_a", [][2]string{{":method", "GET"}, {":path", "/auth"}, {":authority", "a"}},
			[]byte("ping"), nil, 500, func(numHeaders, bodySize, numTrailers int) {
				body, _ := proxywasm.GetHttpCallResponseBody(0, bodySize)
				hs, _ := proxywasm.GetHttpCallResponseHeaders()
				st := ""
				for _, h := range hs {
					if h[0] == ":status" {
						st = h[1]
					}
				}
				proxywasm.LogInfof("callout response: status=%s headers=%d body=%q", st, len(hs), body)
				_ = proxywasm.AddHttpRequestHeader("x-callout", string(body))
				_ = proxywasm.ResumeHttpRequest()
			})
		if err != nil {
			proxywasm.LogErrorf("callout: %v", err)
			return types.ActionContinue
		}
		return types.ActionPause
	case "/grpc":
		_, err := proxywasm.DispatchGrpcCall("cluster_g", "pkg.Svc", "Get", [][2]string{{"k", "v"}}, []byte("req"), 500, proxywasm.GrpcCallbacks{
			OnMessage: func(size int) {
				msg, _ := proxywasm.GetGrpcReceiveMessage(0, size)
				proxywasm.LogInfof("grpc message: %q", msg)
				_ = proxywasm.ResumeHttpRequest()
			},
			OnClose: func(code uint32) {
				_, msg, _ := proxywasm.GetStatus()
				proxywasm.LogInfof("grpc closed: %d %s", code, msg)
				_ = proxywasm.SendHttpResponse(503, nil, nil, int32(code))
			},
		})
		if err != nil {
			proxywasm.LogErrorf("grpc: %v", err)
			return types.ActionContinue
		}
		return types.ActionPause
	case "/grpc-stream":
		id, err := proxywasm.OpenGrpcStream("cluster_g", "pkg.Svc", "Watch", nil, proxywasm.GrpcCallbacks{
			OnInitialMetadata: func(n int) {
				md, _ := proxywasm.GetGrpcReceiveInitialMetadata()
				proxywasm.LogInfof("stream initial metadata: %v", md)
			},
			OnMessage: func(size int) {
				msg, _ := proxywasm.GetGrpcReceiveMessage(0, size)
				proxywasm.LogInfof("stream message: %q", msg)
			},
			OnTrailingMetadata: func(n int) {
				md, _ := proxywasm.GetGrpcReceiveTrailingMetadata()
				proxywasm.LogInfof("stream trailing metadata: %v", md)
			},
			OnClose: func(code uint32) { proxywasm.LogInfof("stream closed: %d", code) },
		})
		if err != nil {
			proxywasm.LogErrorf("grpc stream: %v", err)
			return types.ActionContinue
		}
		_ = proxywasm.SendGrpcStreamMessage(id, []byte("one"), false)
		_ = proxywasm.SendGrpcStreamMessage(id, []byte("two"), true)
	case "/shared":
		for {
			v, cas, err := proxywasm.GetSharedData("counter")
			n := uint64(0)
			if err == nil && len(v) == 8 {
				n = binary.LittleEndian.Uint64(v)
			} else if err != nil && err != types.ErrorStatusNotFound {
				proxywasm.LogErrorf("get shared: %v", err)
				break
			}
			buf := make([]byte, 8)
			binary.LittleEndian.PutUint64(buf, n+1)
			if err := proxywasm.SetSharedData("counter", buf, cas); err == types.ErrorStatusCasMismatch {
				continue
			} else if err != nil {
				proxywasm.LogErrorf("set shared: %v", err)
			}
			proxywasm.LogInfof("shared counter: %d", n+1)
			break
		}
	case "/queue":
		id, err := proxywasm.ResolveSharedQueue("", "testfilter")
		if err != nil {
			proxywasm.LogErrorf("resolve: %v", err)
			break
		}
		_ = proxywasm.EnqueueSharedQueue(id, []byte("hello from "+strconv.Itoa(int(c.id))))
		if _, err := proxywasm.ResolveSharedQueue("", "nope"); err != types.ErrorStatusNotFound {
			proxywasm.LogErrorf("resolve unknown queue: %v", err)
		}
	case "/metrics":
		h := proxywasm.DefineHistogramMetric("testfilter_sizes")
		h.Record(42)
		g := proxywasm.DefineGaugeMetric("testfilter_gauge")
		g.Add(10)
		g.Add(-3)
		proxywasm.LogInfof("metrics: requests=%d gauge=%d hist=%d", c.root.requests.Value(), g.Value(), h.Value())
	case "/property":
		v, err := proxywasm.GetProperty([]string{"node", "id"})
		proxywasm.LogInfof("node.id=%s err=%v", v, err)
		if _, err := proxywasm.GetProperty([]string{"missing"}); err != types.ErrorStatusNotFound {
			proxywasm.LogErrorf("missing property: %v", err)
		}
		m, err := proxywasm.GetPropertyMap([]string{"node", "metadata"})
		proxywasm.LogInfof("node.metadata=%v err=%v", m, err)
		_ = proxywasm.SetProperty([]string{"filter", "seen"}, []byte("yes"))
	case "/foreign":
		ret, err := proxywasm.CallForeignFunction("reverse", []byte("abc"))
		proxywasm.LogInfof("foreign: %s %v", ret, err)
		if _, err := proxywasm.CallForeignFunction("unknown", nil); err != types.ErrorStatusNotFound {
			proxywasm.LogErrorf("unknown foreign function: %v", err)
		}
	case "/pause":
		c.root.paused = append(c.root.paused, c.id)
		return types.ActionPause
	case "/panic":
		var m map[string]int
		m["boom"]++ // nil map write: a runtime panic inside the callback
	case "/loglevel":
		l, err := proxywasm.GetLogLevel()
		t, err2 := proxywasm.GetCurrentTimeNanoseconds()
		proxywasm.LogInfof("log level %d %v, time>0 %v %v", l, err, t > 0, err2)
	case "/close":
		_ = proxywasm.CloseHttpRequest()
	}
	return types.ActionContinue
}

func (c *httpContext) OnHttpRequestBody(bodySize int, endOfStream bool) types.Action {
	if !endOfStream {
		return types.ActionPause // buffer the whole body
	}
	body, err := proxywasm.GetHttpRequestBody(0, bodySize)
	if err != nil {
		proxywasm.LogErrorf("body: %v", err)
		return types.ActionContinue
	}
	_ = proxywasm.ReplaceHttpRequestBody([]byte(strings.ToUpper(string(body))))
	_ = proxywasm.AppendHttpRequestBody([]byte("!"))
	_ = proxywasm.PrependHttpRequestBody([]byte("<"))
	return types.ActionContinue
}

func (c *httpContext) OnHttpRequestTrailers(int) types.Action {
	_ = proxywasm.AddHttpRequestTrailer("x-trailer", "t")
	return types.ActionContinue
}

func (c *httpContext) OnHttpResponseHeaders(int, bool) types.Action {
	_ = proxywasm.ReplaceHttpResponseHeader("x-path", c.path)
	_ = proxywasm.RemoveHttpResponseHeader("server")
	return types.ActionContinue
}

func (c *httpContext) OnHttpResponseBody(bodySize int, endOfStream bool) types.Action {
	if !endOfStream {
		return types.ActionContinue
	}
	_ = proxywasm.AppendHttpResponseBody([]byte(" (filtered)"))
	return types.ActionContinue
}

func (c *httpContext) OnHttpResponseTrailers(int) types.Action {
	v, _ := proxywasm.GetHttpResponseTrailer("grpc-status")
	_ = proxywasm.ReplaceHttpResponseTrailer("x-grpc-status-seen", v)
	return types.ActionContinue
}

func (c *httpContext) OnHttpStreamDone() { proxywasm.LogInfof("stream %d done: %s", c.id, c.path) }

type tcpContext struct{ types.DefaultTcpContext }

func (*tcpContext) OnNewConnection() types.Action {
	proxywasm.LogInfo("new connection")
	return types.ActionContinue
}

func (*tcpContext) OnDownstreamData(size int, eos bool) types.Action {
	data, err := proxywasm.GetDownstreamData(0, size)
	if err != nil {
		return types.ActionContinue
	}
	if !strings.Contains(string(data), "\n") {
		return types.ActionPause // wait for a full line
	}
	_ = proxywasm.PrependDownstreamData([]byte(">"))
	_ = proxywasm.AppendDownstreamData([]byte("<"))
	return types.ActionContinue
}

func (*tcpContext) OnUpstreamData(size int, eos bool) types.Action {
	data, err := proxywasm.GetUpstreamData(0, size)
	if err != nil {
		return types.ActionContinue
	}
	_ = proxywasm.ReplaceUpstreamData([]byte(strings.ToUpper(string(data))))
	return types.ActionContinue
}

func (*tcpContext) OnDownstreamClose(types.PeerType) { proxywasm.LogInfo("downstream closed") }
func (*tcpContext) OnUpstreamClose(types.PeerType)   { proxywasm.LogInfo("upstream closed") }
func (*tcpContext) OnStreamDone()                    { proxywasm.LogInfo("connection done") }
