// Command addheader is the proxy's test and benchmark filter: it adds the
// response header named by its plugin configuration, the string
// "NAME: VALUE", to every response, and nothing else. It avoids
// encoding/json to stay small (fast to compile).
package main

import (
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
	header, value string
}

func (p *plugin) OnPluginStart(int) types.OnPluginStartStatus {
	data, err := proxywasm.GetPluginConfiguration()
	name, value, ok := strings.Cut(string(data), ":")
	if err != nil || !ok || strings.TrimSpace(name) == "" {
		proxywasm.LogCriticalf("addheader needs a configuration \"NAME: VALUE\", got %q", data)
		return types.OnPluginStartStatusFailed
	}
	p.header, p.value = strings.TrimSpace(name), strings.TrimSpace(value)
	return types.OnPluginStartStatusOK
}

func (p *plugin) NewHttpContext(uint32) types.HttpContext { return &stream{p: p} }

type stream struct {
	types.DefaultHttpContext
	p *plugin
}

func (s *stream) OnHttpResponseHeaders(int, bool) types.Action {
	if err := proxywasm.AddHttpResponseHeader(s.p.header, s.p.value); err != nil {
		proxywasm.LogErrorf("addheader: %v", err)
	}
	return types.ActionContinue
}
