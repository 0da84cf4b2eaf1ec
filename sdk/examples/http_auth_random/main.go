// Command http_auth_random authorizes each request with an HTTP callout.
//
// On the request headers it sends the request headers to the "httpbin"
// cluster with proxywasm.DispatchHttpCall and pauses the request. When the
// callout answers, it hashes the response body with FNV-32a: an even hash
// resumes the request ("access granted"), an odd hash answers 403 "access
// forbidden" with the header "powered-by: proxy-wasm-go-sdk!!".
package main

import (
	"hash/fnv"

	"github.com/wasmctl/wasmctl/sdk/proxywasm"
	"github.com/wasmctl/wasmctl/sdk/proxywasm/types"
)

const (
	clusterName = "httpbin"
	// calloutTimeoutMs is the callout's timeout in milliseconds.
	calloutTimeoutMs = 50000
)

func main() {}

func init() { proxywasm.SetVMContext(&vmContext{}) }

type vmContext struct {
	types.DefaultVMContext
}

// NewPluginContext implements types.VMContext.
func (*vmContext) NewPluginContext(uint32) types.PluginContext { return &pluginContext{} }

type pluginContext struct {
	types.DefaultPluginContext
}

// NewHttpContext implements types.PluginContext.
func (*pluginContext) NewHttpContext(contextID uint32) types.HttpContext {
	return &httpAuthRandom{contextID: contextID}
}

type httpAuthRandom struct {
	types.DefaultHttpContext
	contextID uint32
}

// OnHttpRequestHeaders implements types.HttpContext.
func (ctx *httpAuthRandom) OnHttpRequestHeaders(int, bool) types.Action {
	hs, err := proxywasm.GetHttpRequestHeaders()
	if err != nil {
		proxywasm.LogCriticalf("failed to get request headers: %v", err)
		return types.ActionContinue
	}
	for _, h := range hs {
		proxywasm.LogInfof("request header from: %s: %s", h[0], h[1])
	}
	if _, err := proxywasm.DispatchHttpCall(clusterName, hs, nil, nil, calloutTimeoutMs, httpCallResponseCallback); err != nil {
		proxywasm.LogCriticalf("dispatch httpcall failed: %v", err)
		return types.ActionContinue
	}
	proxywasm.LogInfof("http call dispatched to %s", clusterName)
	return types.ActionPause
}

// httpCallResponseCallback decides on the paused request once the callout
// answered. The SDK has made the request's context effective again.
func httpCallResponseCallback(numHeaders, bodySize, numTrailers int) {
	hs, err := proxywasm.GetHttpCallResponseHeaders()
	if err != nil {
		proxywasm.LogCriticalf("failed to get response headers: %v", err)
		return
	}
	for _, h := range hs {
		proxywasm.LogInfof("response header from %s: %s: %s", clusterName, h[0], h[1])
	}
	b, err := proxywasm.GetHttpCallResponseBody(0, bodySize)
	if err != nil {
		proxywasm.LogCriticalf("failed to get response body: %v", err)
		_ = proxywasm.ResumeHttpRequest()
		return
	}
	h := fnv.New32a()
	_, _ = h.Write(b)
	if h.Sum32()%2 == 0 {
		proxywasm.LogInfo("access granted")
		if err := proxywasm.ResumeHttpRequest(); err != nil {
			proxywasm.LogCriticalf("failed to resume the request: %v", err)
		}
		return
	}
	proxywasm.LogInfo("access forbidden")
	if err := proxywasm.SendHttpResponse(403, [][2]string{{"powered-by", "proxy-wasm-go-sdk!!"}},
		[]byte("access forbidden"), -1); err != nil {
		proxywasm.LogErrorf("failed to send the 403 response: %v", err)
		_ = proxywasm.ResumeHttpRequest()
	}
}
