package config_test

import (
	"fmt"

	"github.com/wasmctl/wasmctl/runtime/config"
)

func ExampleParse() {
	_, err := config.Parse("runtime.yaml", []byte(`
listeners:
- name: web
  address: 127.0.0.1:8080
  routes: [{cluster: app}]
  filters:
  - name: auth
    url: oci://registry.example.com/filters/auth:v1
    sha256: not-a-digest
clusters:
- {name: app, endpoints: [127.0.0.1:9000]}
`))
	fmt.Println(err)
	// Output:
	// runtime.yaml:9:13: listeners[0].filters[0].sha256: "not-a-digest" is not a sha256: want 64 lowercase hex digits
}
