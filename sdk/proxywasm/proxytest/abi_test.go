package proxytest

import (
	"os"
	"regexp"
	"slices"
	"testing"

	"github.com/wasmctl/wasmctl/sdk/wasmbuild"
)

// The proxy-wasm ABI v0.2.1 (proxy-wasm/spec abi-versions/v0.2.1), as listed
// in shared/research/abi.md §1.2 and §1.3. The v0.1.0-only host functions
// (proxy_get_configuration, proxy_continue_request, proxy_continue_response,
// proxy_clear_route_cache) are deliberately absent: the SDK speaks v0.2.1.
var (
	specHostFunctions = []string{
		"proxy_log", "proxy_get_log_level", "proxy_get_current_time_nanoseconds",
		"proxy_set_tick_period_milliseconds", "proxy_get_buffer_bytes", "proxy_set_buffer_bytes",
		"proxy_get_buffer_status", "proxy_get_header_map_size", "proxy_get_header_map_pairs",
		"proxy_set_header_map_pairs", "proxy_get_header_map_value", "proxy_add_header_map_value",
		"proxy_replace_header_map_value", "proxy_remove_header_map_value", "proxy_continue_stream",
		"proxy_close_stream", "proxy_send_local_response", "proxy_get_status", "proxy_http_call",
		"proxy_grpc_call", "proxy_grpc_stream", "proxy_grpc_send", "proxy_grpc_cancel", "proxy_grpc_close",
		"proxy_set_shared_data", "proxy_get_shared_data", "proxy_register_shared_queue",
		"proxy_resolve_shared_queue", "proxy_enqueue_shared_queue", "proxy_dequeue_shared_queue",
		"proxy_define_metric", "proxy_increment_metric", "proxy_record_metric", "proxy_get_metric",
		"proxy_get_property", "proxy_set_property", "proxy_set_effective_context", "proxy_done",
		"proxy_call_foreign_function",
	}
	specExports = []string{
		"proxy_abi_version_0_2_1", "_initialize", "proxy_on_memory_allocate",
		"proxy_on_context_create", "proxy_on_vm_start", "proxy_on_configure", "proxy_on_tick",
		"proxy_on_queue_ready", "proxy_on_foreign_function", "proxy_on_new_connection",
		"proxy_on_downstream_data", "proxy_on_downstream_connection_close", "proxy_on_upstream_data",
		"proxy_on_upstream_connection_close", "proxy_on_request_headers", "proxy_on_request_body",
		"proxy_on_request_trailers", "proxy_on_response_headers", "proxy_on_response_body",
		"proxy_on_response_trailers", "proxy_on_http_call_response", "proxy_on_grpc_receive_initial_metadata",
		"proxy_on_grpc_receive_trailing_metadata", "proxy_on_grpc_receive", "proxy_on_grpc_close",
		"proxy_on_log", "proxy_on_done", "proxy_on_delete",
	}
)

// TestABICoverage checks the SDK against the spec's lists: the guest
// declares an import for every v0.2.1 host function (and no other proxy_*
// import), proxytest's wazero bridge provides every one of them, and a
// compiled module exports every callback.
func TestABICoverage(t *testing.T) {
	t.Parallel()
	want := slices.Sorted(slices.Values(specHostFunctions))

	src, err := os.ReadFile("../internal/hostcalls_wasip1.go")
	if err != nil {
		t.Fatal(err)
	}
	var imported []string
	for _, m := range regexp.MustCompile(`(?m)^//go:wasmimport env (\S+)$`).FindAllSubmatch(src, -1) {
		imported = append(imported, string(m[1]))
	}
	slices.Sort(imported)
	if !slices.Equal(imported, want) {
		t.Errorf("guest imports\n%q\nwant the v0.2.1 host functions\n%q", imported, want)
	}

	var bridged []string
	for _, f := range hostFns {
		bridged = append(bridged, f.name)
	}
	slices.Sort(bridged)
	if !slices.Equal(bridged, want) {
		t.Errorf("proxytest bridges\n%q\nwant the v0.2.1 host functions\n%q", bridged, want)
	}

	rt, err := sharedRuntime()
	if err != nil {
		t.Fatal(err)
	}
	compiled, err := compile(rt, wasmbuild.ForTest(t, "testdata/filter"))
	if err != nil {
		t.Fatal(err)
	}
	exports := compiled.ExportedFunctions()
	for _, name := range specExports {
		if _, ok := exports[name]; !ok {
			t.Errorf("the compiled module does not export %s", name)
		}
	}
}
