package main

import (
	"errors"
	"testing"
	"time"

	"github.com/wasmctl/wasmctl/filters/internal/filtertest"
	"github.com/wasmctl/wasmctl/filters/internal/mixer"
	"github.com/wasmctl/wasmctl/sdk/proxywasm/proxytest"
	"github.com/wasmctl/wasmctl/sdk/proxywasm/types"
)

func TestSchemaDefsInSync(t *testing.T) {
	if err := mixer.CheckSchemaDefs(schemaJSON); err != nil {
		t.Fatal(err)
	}
}

func TestParseConfigErrors(t *testing.T) {
	tests := []struct{ config, field string }{
		{`{"metrics":[]}`, "metrics"},
		{`{"metrics":[{"name":"bad-name"}]}`, "metrics[0].name"},
		{`{"metrics":[{"name":"m","kind":"SUMMARY"}]}`, "metrics[0].kind"},
		{`{"metrics":[{"name":"m","label_names":["zone"]}]}`, "metrics[0].label_names[0]"},
		{`{"metrics":[{"name":"m","value":{"attribute":"request.duration","unit":"h"}}]}`, "metrics[0].value.unit"},
		{`{"tag_encoding":"statsd"}`, "tag_encoding"},
		{`{"exclude":{"attr":{"header":"x"},"regex":"(("}}`, "exclude.regex"},
	}
	for _, tt := range tests {
		_, err := parseConfig([]byte(tt.config))
		var ve *mixer.ValidationError
		if !errors.As(err, &ve) || ve.Field != tt.field {
			t.Errorf("parseConfig(%s) = %v; want an error naming %q", tt.config, err, tt.field)
		}
	}
}

func TestSeriesName(t *testing.T) {
	if got := seriesName("istio", "istio_requests_total", []string{"a", "b"}, []string{"1", "x"}); got != "istio_requests_total;.;a=.=1;.;b=.=x" {
		t.Errorf("istio = %q", got)
	}
	if got := seriesName("flat", "istio_requests_total", []string{"a", "b"}, []string{"1", "x"}); got != `istio_requests_total{a="1",b="x"}` {
		t.Errorf("flat = %q", got)
	}
	if got := sanitize(`a"b;c=d e`); got != "a_b_c_d_e" {
		t.Errorf("sanitize = %q", got)
	}
}

// serve runs one request/response and completes the stream.
func serve(host proxytest.HostEmulator, ua, status string) {
	id := host.InitializeHttpContext()
	host.CallOnRequestHeaders(id, [][2]string{{":method", "GET"}, {":path", "/"}, {":authority", "reviews"}, {"user-agent", ua}}, true)
	host.CallOnResponseHeaders(id, [][2]string{{":status", status}}, true)
	host.CompleteHttpContext(id)
}

const simple = `{"tag_encoding":"flat","metrics":[
	{"name":"requests_total","label_names":["reporter","source_workload","response_code"]},
	{"name":"request_duration_milliseconds","kind":"DISTRIBUTION","value":{"attribute":"request.duration","unit":"ms"},"label_names":["response_code"]}]}`

func TestPrometheus(t *testing.T) {
	filtertest.Run(t, func() types.VMContext { return &vmContext{} }, func(t *testing.T, h *filtertest.Harness) {
		t.Run("requests by response code", func(t *testing.T) {
			host := h.Start(t, simple)
			for range 3 {
				serve(host, "curl", "200")
			}
			serve(host, "curl", "404")
			ok := `istio_requests_total{reporter="destination",source_workload="unknown",response_code="200"}`
			nf := `istio_requests_total{reporter="destination",source_workload="unknown",response_code="404"}`
			if v, err := host.GetCounterMetric(ok); err != nil || v != 3 {
				t.Errorf("%s = %d, %v; want 3", ok, v, err)
			}
			if v, err := host.GetCounterMetric(nf); err != nil || v != 1 {
				t.Errorf("%s = %d, %v; want 1", nf, v, err)
			}
		})
		t.Run("duration distribution", func(t *testing.T) {
			host := h.Start(t, simple, filtertest.Prop("request.duration", mixer.Int64LE(int64(3*time.Millisecond))))
			name := `istio_request_duration_milliseconds{response_code="200"}`
			serve(host, "curl", "200")
			if v, err := host.GetHistogramMetric(name); err != nil || v != 3 {
				t.Errorf("after 3ms: %d, %v", v, err)
			}
			host.SetProperty([]string{"request", "duration"}, mixer.Int64LE(int64(40*time.Millisecond)))
			serve(host, "curl", "200")
			if v, err := host.GetHistogramMetric(name); err != nil || v != 40 {
				t.Errorf("after 40ms: last sample %d, %v", v, err)
			}
		})
		t.Run("workload from node metadata when outbound", func(t *testing.T) {
			host := h.Start(t, simple, filtertest.Prop("xds.listener_direction", mixer.Int64LE(2)),
				filtertest.StringProp("node.metadata.WORKLOAD_NAME", "productpage-v1"))
			serve(host, "curl", "200")
			name := `istio_requests_total{reporter="source",source_workload="productpage-v1",response_code="200"}`
			if v, err := host.GetCounterMetric(name); err != nil || v != 1 {
				t.Errorf("%s = %d, %v", name, v, err)
			}
		})
		t.Run("probes are excluded", func(t *testing.T) {
			host := h.Start(t, simple)
			serve(host, "kube-probe/1.18", "200")
			serve(host, "Prometheus/2.0", "200")
			name := `istio_requests_total{reporter="destination",source_workload="unknown",response_code="200"}`
			if v, err := host.GetCounterMetric(name); err == nil && v != 0 {
				t.Errorf("probe counted: %d", v)
			}
			serve(host, "curl", "200")
			if v, _ := host.GetCounterMetric(name); v != 1 {
				t.Errorf("after a real request: %d", v)
			}
		})
		t.Run("istio encoding and default metrics", func(t *testing.T) {
			host := h.Start(t, `{}`)
			serve(host, "curl", "200")
			name := "istio_requests_total;.;reporter=.=destination;.;source_workload=.=unknown;.;source_workload_namespace=.=unknown" +
				";.;source_principal=.=unknown;.;source_app=.=unknown;.;source_version=.=unknown;.;destination_workload=.=unknown" +
				";.;destination_workload_namespace=.=unknown;.;destination_principal=.=unknown;.;destination_app=.=unknown" +
				";.;destination_version=.=unknown;.;destination_service=.=reviews;.;destination_service_name=.=reviews" +
				";.;destination_service_namespace=.=unknown;.;request_protocol=.=http;.;response_code=.=200;.;response_flags=.=-" +
				";.;connection_security_policy=.=none"
			if v, err := host.GetCounterMetric(name); err != nil || v != 1 {
				t.Errorf("%s = %d, %v", name, v, err)
			}
		})
	})
}

// TestDefineOncePerSeries checks natively that define_metric runs once per
// series: 4 requests in 2 series define 2 metrics.
func TestDefineOncePerSeries(t *testing.T) {
	vm := &vmContext{}
	opt := proxytest.NewEmulatorOption().WithVMContext(vm).WithPluginConfiguration([]byte(
		`{"metrics":[{"name":"requests_total","label_names":["response_code"]}]}`))
	host, release := proxytest.NewHostEmulator(opt)
	defer release()
	host.StartVM()
	if host.StartPlugin() != types.OnPluginStartStatusOK {
		t.Fatal("start failed")
	}
	for _, st := range []string{"200", "200", "200", "404"} {
		serve(host, "curl", st)
	}
	if n := len(vm.last.series); n != 2 {
		t.Errorf("defined %d series, want 2", n)
	}
}

func BenchmarkRequest(b *testing.B) {
	filtertest.BenchmarkRequest(b, &vmContext{}, `{}`, nil,
		[][2]string{{":method", "GET"}, {":path", "/books"}, {":authority", "reviews"}, {"user-agent", "curl"}})
}
