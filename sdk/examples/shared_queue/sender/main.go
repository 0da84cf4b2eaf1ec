// Command sender is the producing half of the shared-queue example.
//
// With the plugin configuration "http" it serializes every request header
// and every response header as a JSON object {"key": K, "value": V} and
// enqueues them on the queues "http_request_headers" and
// "http_response_headers" of the VM "receiver". The queues are resolved on
// first use, so the sender may start before the receiver; while the queue
// does not exist the error is logged and traffic is not affected.
package main

import (
	"encoding/json"

	"github.com/wasmctl/wasmctl/sdk/proxywasm"
	"github.com/wasmctl/wasmctl/sdk/proxywasm/types"
)

const (
	receiverVMID             = "receiver"
	requestHeadersQueueName  = "http_request_headers"
	responseHeadersQueueName = "http_response_headers"
)

func main() {}

func init() { proxywasm.SetVMContext(&vmContext{}) }

type vmContext struct {
	types.DefaultVMContext
}

// NewPluginContext implements types.VMContext.
func (*vmContext) NewPluginContext(uint32) types.PluginContext { return &senderPluginContext{} }

type senderPluginContext struct {
	types.DefaultPluginContext
	queues map[string]uint32 // resolved queue ids by name
}

// OnPluginStart implements types.PluginContext.
func (ctx *senderPluginContext) OnPluginStart(int) types.OnPluginStartStatus {
	data, err := proxywasm.GetPluginConfiguration()
	if err != nil || string(data) != "http" {
		proxywasm.LogCriticalf("the plugin configuration must be \"http\", got %q (error: %v)", data, err)
		return types.OnPluginStartStatusFailed
	}
	ctx.queues = map[string]uint32{}
	return types.OnPluginStartStatusOK
}

// NewHttpContext implements types.PluginContext.
func (ctx *senderPluginContext) NewHttpContext(uint32) types.HttpContext {
	return &senderHttpContext{plugin: ctx}
}

// enqueueHeaders sends each header to the named queue of the receiver VM.
func (ctx *senderPluginContext) enqueueHeaders(queueName string, headers [][2]string) {
	queueID, ok := ctx.queues[queueName]
	if !ok {
		id, err := proxywasm.ResolveSharedQueue(receiverVMID, queueName)
		if err != nil {
			proxywasm.LogErrorf("error resolving queue %s in VM %s: %v", queueName, receiverVMID, err)
			return
		}
		queueID = id
		ctx.queues[queueName] = id
	}
	for _, h := range headers {
		msg, _ := json.Marshal(struct {
			Key   string `json:"key"`
			Value string `json:"value"`
		}{h[0], h[1]}) // cannot fail for two strings
		if err := proxywasm.EnqueueSharedQueue(queueID, msg); err != nil {
			proxywasm.LogErrorf("error queueing to %s: %v", queueName, err)
			// The receiver may have been redeployed: resolve again next time.
			delete(ctx.queues, queueName)
			return
		}
		proxywasm.LogInfof("enqueued data to %s: %s", queueName, msg)
	}
}

type senderHttpContext struct {
	types.DefaultHttpContext
	plugin *senderPluginContext
}

// OnHttpRequestHeaders implements types.HttpContext.
func (ctx *senderHttpContext) OnHttpRequestHeaders(int, bool) types.Action {
	headers, err := proxywasm.GetHttpRequestHeaders()
	if err != nil {
		proxywasm.LogCriticalf("error getting request headers: %v", err)
		return types.ActionContinue
	}
	ctx.plugin.enqueueHeaders(requestHeadersQueueName, headers)
	return types.ActionContinue
}

// OnHttpResponseHeaders implements types.HttpContext.
func (ctx *senderHttpContext) OnHttpResponseHeaders(int, bool) types.Action {
	headers, err := proxywasm.GetHttpResponseHeaders()
	if err != nil {
		proxywasm.LogCriticalf("error getting response headers: %v", err)
		return types.ActionContinue
	}
	ctx.plugin.enqueueHeaders(responseHeadersQueueName, headers)
	return types.ActionContinue
}
