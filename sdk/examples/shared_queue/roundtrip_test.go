// Package sharedqueue_test runs the sender and the receiver together: both
// compiled modules under wazero, in emulators that share one host store,
// as VMs of one Envoy process share their queues.
package sharedqueue_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/wasmctl/wasmctl/sdk/proxywasm/proxytest"
	"github.com/wasmctl/wasmctl/sdk/proxywasm/types"
	"github.com/wasmctl/wasmctl/sdk/wasmbuild"
)

// TestRoundTrip: two receiver plugins in the VM "receiver" register the
// request and the response queue; the sender, in another VM, resolves both
// by VM id and name and enqueues every header; each item wakes its
// receiver's OnQueueReady, which dequeues and logs it.
func TestRoundTrip(t *testing.T) {
	t.Parallel()
	receiverWasm := wasmbuild.ForTest(t, "receiver")
	senderWasm := wasmbuild.ForTest(t, "sender")

	start := func(t *testing.T, wasm []byte, opt *proxytest.EmulatorOption) proxytest.HostEmulator {
		t.Helper()
		vm, err := proxytest.NewWasmVMContext(wasm)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { vm.Close() })
		host, reset := proxytest.NewHostEmulator(opt.WithVMContext(vm))
		t.Cleanup(reset)
		host.StartVM()
		if got := host.StartPlugin(); got != types.OnPluginStartStatusOK {
			t.Fatalf("StartPlugin() = %v, want OK; logs: %q", got, host.GetCriticalLogs())
		}
		return host
	}
	requests := start(t, receiverWasm, proxytest.NewEmulatorOption().WithVMID("receiver").
		WithPluginConfiguration([]byte("http_request_headers")))
	responses := start(t, receiverWasm, proxytest.NewEmulatorOption().WithVMID("receiver").
		WithPluginConfiguration([]byte("http_response_headers")).WithSharedStoreOf(requests))
	sender := start(t, senderWasm, proxytest.NewEmulatorOption().WithVMID("sender").
		WithPluginConfiguration([]byte("http")).WithSharedStoreOf(requests))

	id := sender.InitializeHttpContext()
	if got := sender.CallOnRequestHeaders(id, [][2]string{{":path", "/a"}, {"x-user", "ann"}}, true); got != types.ActionContinue {
		t.Errorf("OnHttpRequestHeaders = %v, want Continue", got)
	}
	if got := sender.CallOnResponseHeaders(id, [][2]string{{":status", "200"}}, true); got != types.ActionContinue {
		t.Errorf("OnHttpResponseHeaders = %v, want Continue", got)
	}
	if logs := sender.GetErrorLogs(); len(logs) != 0 {
		t.Errorf("sender error logs = %q, want none (both queues resolve)", logs)
	}

	for _, tc := range []struct {
		name  string
		host  proxytest.HostEmulator
		queue string
		items []string
	}{
		{"requests", requests, "http_request_headers", []string{`{"key":":path","value":"/a"}`, `{"key":"x-user","value":"ann"}`}},
		{"responses", responses, "http_response_headers", []string{`{"key":":status","value":"200"}`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got []string
			for _, l := range tc.host.GetInfoLogs() {
				if _, item, ok := strings.Cut(l, "dequeued data from "+tc.queue); ok {
					got = append(got, item[strings.Index(item, ": ")+2:])
				}
			}
			if fmt.Sprint(got) != fmt.Sprint(tc.items) {
				t.Errorf("%s dequeued %q, want %q (all logs: %q)", tc.name, got, tc.items, tc.host.GetInfoLogs())
			}
			if logs := tc.host.GetCriticalLogs(); len(logs) != 0 {
				t.Errorf("critical logs = %q", logs)
			}
		})
	}
}
