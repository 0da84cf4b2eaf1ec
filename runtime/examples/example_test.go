package examples

import (
	"testing"

	"github.com/wasmctl/wasmctl/runtime/config"
)

// TestExampleConfigIsValid keeps the documented example in sync with the
// parser.
func TestExampleConfigIsValid(t *testing.T) {
	c, err := config.Load("runtime.yaml")
	if err != nil {
		t.Fatal(err)
	}
	fs := c.Listeners[0].SortedFilters()
	if fs[0].Name != "local-auth" || fs[1].Name != "add-header" {
		t.Fatalf("AUTHN must run before STATS: %s, %s", fs[0].Name, fs[1].Name)
	}
	if got := string(fs[1].ConfigBytes()); got != `{"header":"x-wasm","value":"hello"}` {
		t.Fatalf("pluginConfig = %s", got)
	}
}
