package admin_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/wasmctl/wasmctl/runtime/admin"
	"github.com/wasmctl/wasmctl/runtime/config"
	"github.com/wasmctl/wasmctl/runtime/proxy"
)

func TestAdminEndpoints(t *testing.T) {
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") }))
	defer up.Close()
	s := proxy.New(proxy.Options{Logger: slog.New(slog.DiscardHandler)})
	adm := httptest.NewServer(admin.Handler(s))
	defer adm.Close()
	get := func(path string) (int, string) {
		resp, err := http.Get(adm.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, body := get("/ready"); code != 503 || !strings.Contains(body, "no configuration") {
		t.Fatalf("/ready before Apply = %d %q", code, body)
	}
	cfg, err := config.Parse("a.yaml", []byte(fmt.Sprintf(`
listeners: [{name: web, address: 127.0.0.1:0, routes: [{name: all, cluster: up}]}]
clusters: [{name: up, endpoints: [%s]}]
`, strings.TrimPrefix(up.URL, "http://"))))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Apply(t.Context(), cfg); err != nil {
		t.Fatal(err)
	}
	defer s.Shutdown(context.Background())
	for range 3 {
		resp, err := http.Get("http://" + s.Addr("web") + "/")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	if code, _ := get("/ready"); code != 200 {
		t.Fatalf("/ready after Apply = %d", code)
	}
	_, metrics := get("/stats/prometheus")
	for _, want := range []string{
		`wasmctl_proxy_requests_total{class="2xx",listener="web"} 3`,
		`wasmctl_proxy_route_requests_total{class="2xx",cluster="up",listener="web",route="all"} 3`,
		`wasmctl_proxy_endpoint_healthy{cluster="up",endpoint="` + strings.TrimPrefix(up.URL, "http://") + `"} 1`,
		`wasmctl_proxy_reloads_total{result="success"} 1`,
		`wasmctl_proxy_config_generation 1`,
	} {
		if !strings.Contains(metrics, want) {
			t.Errorf("/stats/prometheus lacks %s", want)
		}
	}
	_, dump := get("/config_dump")
	var d proxy.ConfigDump
	if err := json.Unmarshal([]byte(dump), &d); err != nil || d.Generation != 1 || d.Config.Listeners[0].Name != "web" {
		t.Fatalf("/config_dump = %s (%v)", dump, err)
	}
	if code, body := get("/plugins"); code != 200 || strings.TrimSpace(body) != "[]" {
		t.Fatalf("/plugins without filters = %d %s", code, body)
	}
}
