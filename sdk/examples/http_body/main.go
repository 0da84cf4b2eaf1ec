// Command http_body reads and rewrites HTTP bodies.
//
// With the plugin configuration "echo" it answers every request with a 200
// local response whose body is the request body. Otherwise it requires a
// content-length header (400 "content must be provided" if absent), removes
// it because the body size changes, waits for the end of the body and then
// appends, prepends or replaces (header "buffer-operation", default replace)
// a marker text in the request body, or in the response body when the
// request carries "buffer-replace-at: response".
package main

import (
	"errors"

	"github.com/wasmctl/wasmctl/sdk/proxywasm"
	"github.com/wasmctl/wasmctl/sdk/proxywasm/types"
)

func main() {}

func init() { proxywasm.SetVMContext(&vmContext{}) }

type vmContext struct {
	types.DefaultVMContext
}

// NewPluginContext implements types.VMContext.
func (*vmContext) NewPluginContext(contextID uint32) types.PluginContext {
	return &pluginContext{}
}

type pluginContext struct {
	types.DefaultPluginContext
	echo bool
}

// OnPluginStart implements types.PluginContext.
func (p *pluginContext) OnPluginStart(int) types.OnPluginStartStatus {
	data, err := proxywasm.GetPluginConfiguration()
	if err != nil && !errors.Is(err, types.ErrorStatusNotFound) {
		proxywasm.LogCriticalf("error reading plugin configuration: %v", err)
		return types.OnPluginStartStatusFailed
	}
	switch string(data) {
	case "":
	case "echo":
		p.echo = true
	default:
		proxywasm.LogCriticalf("invalid plugin configuration %q: want \"echo\" or nothing", data)
		return types.OnPluginStartStatusFailed
	}
	return types.OnPluginStartStatusOK
}

// NewHttpContext implements types.PluginContext.
func (p *pluginContext) NewHttpContext(contextID uint32) types.HttpContext {
	if p.echo {
		return &echoBodyContext{}
	}
	return &setBodyContext{}
}

// echoBodyContext answers with the request body.
type echoBodyContext struct {
	types.DefaultHttpContext
	total int
}

// OnHttpRequestBody implements types.HttpContext.
func (ctx *echoBodyContext) OnHttpRequestBody(bodySize int, endOfStream bool) types.Action {
	ctx.total = bodySize
	if !endOfStream {
		// Wait until the whole body is buffered.
		return types.ActionPause
	}
	body, err := proxywasm.GetHttpRequestBody(0, ctx.total)
	if err != nil && !errors.Is(err, types.ErrorStatusNotFound) {
		proxywasm.LogErrorf("failed to get request body: %v", err)
		return types.ActionContinue
	}
	if err := proxywasm.SendHttpResponse(200, nil, body, -1); err != nil {
		proxywasm.LogErrorf("failed to send the echo response: %v", err)
	}
	return types.ActionPause
}

// setBodyContext rewrites the request or the response body.
type setBodyContext struct {
	types.DefaultHttpContext
	modifyResponse  bool
	bufferOperation string
}

// OnHttpRequestHeaders implements types.HttpContext.
func (ctx *setBodyContext) OnHttpRequestHeaders(int, bool) types.Action {
	if at, _ := proxywasm.GetHttpRequestHeader("buffer-replace-at"); at == "response" {
		ctx.modifyResponse = true
	}
	if _, err := proxywasm.GetHttpRequestHeader("content-length"); err != nil {
		if err := proxywasm.SendHttpResponse(400, nil, []byte("content must be provided"), -1); err != nil {
			proxywasm.LogErrorf("failed to send the 400 response: %v", err)
		}
		return types.ActionPause
	}
	// The body size changes below, so the original length would be wrong.
	if !ctx.modifyResponse {
		if err := proxywasm.RemoveHttpRequestHeader("content-length"); err != nil {
			proxywasm.LogErrorf("failed to remove content-length: %v", err)
		}
	}
	ctx.bufferOperation = "replace"
	if op, err := proxywasm.GetHttpRequestHeader("buffer-operation"); err == nil {
		switch op {
		case "append", "prepend", "replace":
			ctx.bufferOperation = op
		}
	}
	return types.ActionContinue
}

// OnHttpRequestBody implements types.HttpContext.
func (ctx *setBodyContext) OnHttpRequestBody(bodySize int, endOfStream bool) types.Action {
	if ctx.modifyResponse {
		return types.ActionContinue
	}
	if !endOfStream {
		return types.ActionPause
	}
	original, err := proxywasm.GetHttpRequestBody(0, bodySize)
	if err != nil {
		proxywasm.LogErrorf("failed to get request body: %v", err)
		return types.ActionContinue
	}
	proxywasm.LogInfof("original request body: %s", original)
	ctx.rewrite(proxywasm.AppendHttpRequestBody, proxywasm.PrependHttpRequestBody, proxywasm.ReplaceHttpRequestBody)
	return types.ActionContinue
}

// OnHttpResponseHeaders implements types.HttpContext.
func (ctx *setBodyContext) OnHttpResponseHeaders(int, bool) types.Action {
	if ctx.modifyResponse {
		if err := proxywasm.RemoveHttpResponseHeader("content-length"); err != nil {
			proxywasm.LogErrorf("failed to remove content-length: %v", err)
		}
	}
	return types.ActionContinue
}

// OnHttpResponseBody implements types.HttpContext.
func (ctx *setBodyContext) OnHttpResponseBody(bodySize int, endOfStream bool) types.Action {
	if !ctx.modifyResponse {
		return types.ActionContinue
	}
	if !endOfStream {
		return types.ActionPause
	}
	original, err := proxywasm.GetHttpResponseBody(0, bodySize)
	if err != nil {
		proxywasm.LogErrorf("failed to get response body: %v", err)
		return types.ActionContinue
	}
	proxywasm.LogInfof("original response body: %s", original)
	ctx.rewrite(proxywasm.AppendHttpResponseBody, proxywasm.PrependHttpResponseBody, proxywasm.ReplaceHttpResponseBody)
	return types.ActionContinue
}

func (ctx *setBodyContext) rewrite(appendBody, prependBody, replaceBody func([]byte) error) {
	var err error
	switch ctx.bufferOperation {
	case "append":
		err = appendBody([]byte("[this is appended body]"))
	case "prepend":
		err = prependBody([]byte("[this is prepended body]"))
	default:
		err = replaceBody([]byte("[this is replaced body]"))
	}
	if err != nil {
		proxywasm.LogErrorf("failed to %s the body: %v", ctx.bufferOperation, err)
	}
}
