package web

import (
	"encoding/json"
	"strings"
	"testing"

	extv1alpha1 "istio.io/api/extensions/v1alpha1"
	"sigs.k8s.io/yaml"

	"github.com/wasmctl/wasmctl/runtime/config"
)

// TestSnippetsAreValid checks that the deploy snippets of a filter page are
// what their consumers accept: the WasmPlugin spec parses with Istio's own
// types (field names, enums, the sha256 pattern), and the wasmctl proxy
// configuration passes the proxy's strict parser.
func TestSnippetsAreValid(t *testing.T) {
	const dgst = "sha256:0326912f7a4f739c4eb21fcef7fb2ce7f8f75e5d99f0b61b2d6c9a1e4a4e0f11"
	schema := `{"type":"object","properties":{"rps":{"type":"integer","default":100},"key":{"type":"string","enum":["ip","header"]}}}`
	byID := map[string]string{}
	for _, s := range snippets("hub.example.com:5000", "acme/rate_limit", "rate_limit", "v1.1.0", dgst, schema) {
		byID[s.ID] = s.Text
	}
	ref := "hub.example.com:5000/acme/rate_limit:v1.1.0"
	if byID["pull-wasmctl"] != "wasmctl pull "+ref || byID["pull-oras"] != "oras pull "+ref {
		t.Fatalf("pull snippets = %q, %q", byID["pull-wasmctl"], byID["pull-oras"])
	}

	var wp struct {
		APIVersion, Kind string
		Metadata         struct{ Name, Namespace string }
		Spec             json.RawMessage
	}
	if err := yaml.Unmarshal([]byte(byID["istio"]), &wp); err != nil {
		t.Fatalf("WasmPlugin snippet is not YAML: %v\n%s", err, byID["istio"])
	}
	var spec extv1alpha1.WasmPlugin
	if err := spec.UnmarshalJSON(wp.Spec); err != nil {
		t.Fatalf("WasmPlugin spec does not parse with istio.io/api: %v\n%s", err, wp.Spec)
	}
	if wp.APIVersion != "extensions.istio.io/v1alpha1" || wp.Kind != "WasmPlugin" || wp.Metadata.Name != "rate-limit" ||
		spec.Url != "oci://"+ref || spec.Sha256 != strings.TrimPrefix(dgst, "sha256:") ||
		spec.FailStrategy != extv1alpha1.FailStrategy_FAIL_CLOSE || spec.ImagePullPolicy != extv1alpha1.PullPolicy_IfNotPresent {
		t.Fatalf("WasmPlugin = %+v, spec %v", wp, &spec)
	}
	if got := spec.PluginConfig.GetFields()["rps"].GetNumberValue(); got != 100 {
		t.Fatalf("pluginConfig.rps = %v, want the schema default 100", got)
	}

	cfg, err := config.Parse("proxy.yaml", []byte(byID["proxy"]))
	if err != nil {
		t.Fatalf("wasmctl proxy snippet refused by runtime/config: %v\n%s", err, byID["proxy"])
	}
	if len(cfg.Listeners) != 1 || len(cfg.Listeners[0].Filters) != 1 || cfg.Listeners[0].Filters[0].URL != "oci://"+ref {
		t.Fatalf("proxy config = %+v", cfg)
	}
}
