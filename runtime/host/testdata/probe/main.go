// Command probe is the host's fault and benchmark test filter (built with
// sdk/wasmbuild by the tests; never shipped).
//
// With an empty plugin configuration it adds the response header
// "x-probe: ok" to every response, and misbehaves on request when asked by
// the request header "x-fault": "loop" spins forever, "oom" allocates until
// the VM's memory limit is hit, "panic" panics.
//
// With the configuration "bench OP N" each proxy_on_request_headers runs
// OP N times: "noop" (nothing), "get-header" (proxy_get_header_map_value of
// "x-bench"), "add-header" (proxy_add_header_map_value), "get-property"
// (proxy_get_property of request.path).
package main

import (
	"strconv"
	"strings"

	"github.com/wasmctl/wasmctl/sdk/proxywasm"
	"github.com/wasmctl/wasmctl/sdk/proxywasm/types"
)

func main() {}

func init() { proxywasm.SetVMContext(&vm{}) }

type vm struct{ types.DefaultVMContext }

func (*vm) NewPluginContext(uint32) types.PluginContext { return &plugin{} }

type plugin struct {
	types.DefaultPluginContext
	op string
	n  int
}

func (p *plugin) OnPluginStart(int) types.OnPluginStartStatus {
	cfg, _ := proxywasm.GetPluginConfiguration()
	f := strings.Fields(string(cfg))
	if len(f) == 3 && f[0] == "bench" {
		n, err := strconv.Atoi(f[2])
		if err != nil {
			proxywasm.LogCriticalf("probe: bad bench count %q", f[2])
			return types.OnPluginStartStatusFailed
		}
		p.op, p.n = f[1], n
	}
	return types.OnPluginStartStatusOK
}

func (p *plugin) NewHttpContext(uint32) types.HttpContext { return &stream{p: p} }

type stream struct {
	types.DefaultHttpContext
	p *plugin
}

// hoard keeps the memory bomb's allocations reachable.
var hoard [][]byte

var pathProp = []string{"request", "path"}

func (s *stream) OnHttpRequestHeaders(int, bool) types.Action {
	if s.p.op != "" {
		s.bench()
		return types.ActionContinue
	}
	v, _ := proxywasm.GetHttpRequestHeader("x-fault")
	switch v {
	case "loop":
		proxywasm.LogWarn("probe: spinning forever")
		for i := 0; ; i++ {
			if i < 0 {
				break
			}
		}
	case "oom":
		proxywasm.LogWarn("probe: allocating until the memory limit")
		for {
			b := make([]byte, 1<<20)
			b[0] = 1
			hoard = append(hoard, b)
		}
	case "panic":
		panic("probe: asked to panic")
	}
	return types.ActionContinue
}

func (s *stream) bench() {
	n := s.p.n
	switch s.p.op {
	case "get-header":
		for range n {
			proxywasm.GetHttpRequestHeader("x-bench")
		}
	case "add-header":
		for range n {
			proxywasm.AddHttpRequestHeader("x-added", "v")
		}
	case "get-property":
		for range n {
			proxywasm.GetProperty(pathProp)
		}
	}
}

func (s *stream) OnHttpResponseHeaders(int, bool) types.Action {
	proxywasm.AddHttpResponseHeader("x-probe", "ok")
	return types.ActionContinue
}
