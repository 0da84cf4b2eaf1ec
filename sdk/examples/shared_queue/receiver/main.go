// Command receiver is the consuming half of the shared-queue example.
//
// Its plugin configuration is the name of a queue, which it registers in its
// own VM at plugin start. Whenever the host signals that the queue has data
// (OnQueueReady), it dequeues every item and logs it. Deploy it in the VM
// with vm_id "receiver" so that the sender can resolve the queue.
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
	return &receiverPluginContext{contextID: contextID}
}

type receiverPluginContext struct {
	types.DefaultPluginContext
	contextID uint32
	queueName string
}

// OnPluginStart implements types.PluginContext.
func (ctx *receiverPluginContext) OnPluginStart(int) types.OnPluginStartStatus {
	data, err := proxywasm.GetPluginConfiguration()
	if err != nil || len(data) == 0 {
		proxywasm.LogCriticalf("the plugin configuration must name the queue to register (error: %v)", err)
		return types.OnPluginStartStatusFailed
	}
	ctx.queueName = string(data)
	queueID, err := proxywasm.RegisterSharedQueue(ctx.queueName)
	if err != nil {
		proxywasm.LogCriticalf("failed to register queue %q: %v", ctx.queueName, err)
		return types.OnPluginStartStatusFailed
	}
	proxywasm.LogInfof("queue %q registered as queueID=%d by contextID=%d", ctx.queueName, queueID, ctx.contextID)
	return types.OnPluginStartStatusOK
}

// OnQueueReady implements types.PluginContext.
func (ctx *receiverPluginContext) OnQueueReady(queueID uint32) {
	for {
		data, err := proxywasm.DequeueSharedQueue(queueID)
		switch {
		case errors.Is(err, types.ErrorStatusEmpty):
			return
		case err != nil:
			proxywasm.LogCriticalf("error retrieving data from queue %d: %v", queueID, err)
			return
		}
		proxywasm.LogInfof("(contextID=%d) dequeued data from %s(queueID=%d): %s", ctx.contextID, ctx.queueName, queueID, data)
	}
}
