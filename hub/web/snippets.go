package web

import (
	"fmt"
	"regexp"
	"strings"

	"sigs.k8s.io/yaml"
)

// Snippet is a copy-ready block on the filter page.
type Snippet struct {
	ID, Title, Lang, Text, Note string
}

var k8sName = regexp.MustCompile(`[^a-z0-9-]+`)

// snippets returns how to use one version of a filter: pull with wasmctl or
// oras, deploy with an Istio WasmPlugin, or run in `wasmctl proxy`.
// host is the registry host users pull from; dgst the manifest digest that
// Istio's sha256 field and the runtime pin.
func snippets(host, repo, name, tag, dgst, schema string) []Snippet {
	ref := host + "/" + repo + ":" + tag
	sha := strings.TrimPrefix(dgst, "sha256:")
	resName := strings.Trim(k8sName.ReplaceAllString(strings.ToLower(name), "-"), "-")
	if resName == "" {
		resName = "filter"
	}
	cfg := exampleConfig(schema)

	wp := map[string]any{
		"apiVersion": "extensions.istio.io/v1alpha1",
		"kind":       "WasmPlugin",
		"metadata":   map[string]any{"name": resName, "namespace": "istio-system"},
		"spec": map[string]any{
			"selector":        map[string]any{"matchLabels": map[string]string{"istio": "ingressgateway"}},
			"url":             "oci://" + ref,
			"sha256":          sha,
			"imagePullPolicy": "IfNotPresent",
			"failStrategy":    "FAIL_CLOSE",
		},
	}
	if cfg != nil {
		wp["spec"].(map[string]any)["pluginConfig"] = cfg
	}
	filter := map[string]any{"name": resName, "url": "oci://" + ref, "sha256": sha}
	if cfg != nil {
		filter["pluginConfig"] = cfg
	}
	proxy := map[string]any{
		"listeners": []any{map[string]any{
			"name": "http", "address": "127.0.0.1:8080",
			"routes":  []any{map[string]any{"match": map[string]any{"prefix": "/"}, "cluster": "backend"}},
			"filters": []any{filter},
		}},
		"clusters": []any{map[string]any{"name": "backend", "endpoints": []string{"127.0.0.1:9000"}}},
	}
	return []Snippet{
		{ID: "pull-wasmctl", Title: "wasmctl", Lang: "shell", Text: "wasmctl pull " + ref},
		{ID: "pull-oras", Title: "oras", Lang: "shell", Text: "oras pull " + ref,
			Note: "Writes the image's files (plugin.tar.gz or the .wasm layer) to the current directory."},
		{ID: "istio", Title: "Istio WasmPlugin", Lang: "yaml", Text: mustYAML(wp),
			Note: "sha256 pins the image manifest; Istio verifies it on every pull."},
		{ID: "proxy", Title: "wasmctl proxy", Lang: "yaml", Text: mustYAML(proxy),
			Note: "Save as proxy.yaml and run: wasmctl proxy --config proxy.yaml"},
	}
}

func mustYAML(v any) string {
	b, err := yaml.Marshal(v)
	if err != nil {
		return fmt.Sprintf("# %v", err)
	}
	return string(b)
}
