package proxy_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/wasmctl/wasmctl/runtime/config"
	"github.com/wasmctl/wasmctl/runtime/proxy"
)

func ExampleServer_Apply() {
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "hello from the app, path %s", r.URL.Path)
	}))
	defer app.Close()

	cfg, err := config.Parse("runtime.yaml", []byte(`
listeners:
- name: web
  address: 127.0.0.1:0
  routes: [{match: {prefix: /api}, cluster: app}]
clusters:
- {name: app, endpoints: [`+strings.TrimPrefix(app.URL, "http://")+`]}
`))
	if err != nil {
		panic(err)
	}
	s := proxy.New(proxy.Options{Logger: slog.New(slog.DiscardHandler)})
	if err := s.Apply(context.Background(), cfg); err != nil {
		panic(err)
	}
	defer s.Shutdown(context.Background())

	for _, path := range []string{"/api/users", "/other"} {
		req, _ := http.NewRequest("GET", "http://"+s.Addr("web")+path, nil)
		req.Host = "shop.example.com"
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			panic(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		fmt.Println(resp.StatusCode, strings.TrimSpace(string(body)))
	}
	// Output:
	// 200 hello from the app, path /api/users
	// 404 no route matches shop.example.com/other on listener web
}
