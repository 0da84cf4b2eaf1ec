package author

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"

	"google.golang.org/protobuf/types/known/structpb"
	"google.golang.org/protobuf/types/known/wrapperspb"
	extv1alpha1 "istio.io/api/extensions/v1alpha1"
	typev1beta1 "istio.io/api/type/v1beta1"
	"sigs.k8s.io/yaml"

	"github.com/wasmctl/wasmctl/internal/wasmimage"
	"github.com/wasmctl/wasmctl/runtime/config"
)

// DeployOptions are the WasmPlugin fields `wasmctl deploy` sets.
type DeployOptions struct {
	Name       string            // metadata.name (required)
	Namespace  string            // metadata.namespace (optional)
	Selector   map[string]string // spec.selector.matchLabels
	Phase      string            // AUTHN, AUTHZ, STATS or "" (end of chain)
	Priority   *int32
	Config     []byte // plugin configuration, JSON or YAML object
	FailOpen   bool
	PluginName string
}

// DeployResult is the rendered WasmPlugin and the matching `wasmctl proxy`
// filter entry.
type DeployResult struct {
	Ref            string         `json:"ref"`
	Digest         string         `json:"digest"`
	URL            string         `json:"url"`
	WasmPlugin     map[string]any `json:"wasmPlugin"`
	ProxyFilter    config.Filter  `json:"proxyFilter"`
	WasmPluginYAML string         `json:"-"`
	ProxyYAML      string         `json:"-"`
}

var k8sNameRE = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`)

// Deploy resolves ref in its registry to a digest, reads the image (to learn
// the filter type, check it holds a module and validate the configuration
// against the image's schema.json), and renders an Istio
// WasmPlugin pinned by sha256 plus the `wasmctl proxy` filter entry.
func (e *Env) Deploy(ctx context.Context, ref string, opts DeployOptions) (*DeployResult, error) {
	if opts.Name == "" || len(opts.Name) > 253 || !k8sNameRE.MatchString(opts.Name) {
		return nil, fmt.Errorf("--name %q must be a Kubernetes resource name (lowercase letters, digits, '-', '.')", opts.Name)
	}
	repo, r, err := e.Remote.Repository(ref)
	if err != nil {
		return nil, err
	}
	if r.Reference == "" {
		r.Reference = "latest"
	}
	img, err := wasmimage.ReadRef(ctx, repo, r.Reference, wasmimage.ReadOptions{})
	if err != nil {
		return nil, explainRemote(err, ref)
	}
	dgst := img.Root.Digest
	url := fmt.Sprintf("oci://%s/%s@%s", r.Registry, r.Repository, dgst)

	wp := &extv1alpha1.WasmPlugin{
		Url:             url,
		Sha256:          dgst.Encoded(),
		ImagePullPolicy: extv1alpha1.PullPolicy_IfNotPresent,
		PluginName:      opts.PluginName,
		FailStrategy:    extv1alpha1.FailStrategy_FAIL_CLOSE,
		Type:            extv1alpha1.PluginType_HTTP,
	}
	if img.Metadata != nil && img.Metadata.Type == "tcp" {
		wp.Type = extv1alpha1.PluginType_NETWORK
	}
	if opts.FailOpen {
		wp.FailStrategy = extv1alpha1.FailStrategy_FAIL_OPEN
	}
	if len(opts.Selector) > 0 {
		wp.Selector = &typev1beta1.WorkloadSelector{MatchLabels: opts.Selector}
	}
	switch strings.ToUpper(opts.Phase) {
	case "":
	case "AUTHN":
		wp.Phase = extv1alpha1.PluginPhase_AUTHN
	case "AUTHZ":
		wp.Phase = extv1alpha1.PluginPhase_AUTHZ
	case "STATS":
		wp.Phase = extv1alpha1.PluginPhase_STATS
	default:
		return nil, fmt.Errorf("--phase %q must be AUTHN, AUTHZ or STATS (or empty: end of the chain)", opts.Phase)
	}
	if opts.Priority != nil {
		wp.Priority = wrapperspb.Int32(*opts.Priority)
	}
	var pluginConfig map[string]any
	if len(opts.Config) > 0 {
		if err := yaml.Unmarshal(opts.Config, &pluginConfig); err != nil || pluginConfig == nil {
			return nil, fmt.Errorf("--config must hold a JSON or YAML object (the plugin configuration): %v", err)
		}
		if wp.PluginConfig, err = structpb.NewStruct(pluginConfig); err != nil {
			return nil, fmt.Errorf("--config: %w", err)
		}
		if img.Schema != nil {
			cfgJSON, err := json.Marshal(pluginConfig)
			if err != nil {
				return nil, err
			}
			if err := ValidateConfig(img.Schema, cfgJSON); err != nil {
				return nil, fmt.Errorf("--config: %w (the schema travels in the image; see it with `wasmctl inspect %s`)", err, ref)
			}
		}
	}
	spec, err := wp.MarshalJSON()
	if err != nil {
		return nil, err
	}
	// Validate: the spec must round-trip through Istio's own types, and the
	// sha256 must match the url's digest (Istio's CEL rule).
	var check extv1alpha1.WasmPlugin
	if err := check.UnmarshalJSON(spec); err != nil {
		return nil, fmt.Errorf("rendered WasmPlugin does not parse as istio.io/api extensions/v1alpha1: %w", err)
	}
	if !regexp.MustCompile(`^[a-f0-9]{64}$`).MatchString(check.Sha256) || !strings.HasSuffix(check.Url, "@sha256:"+check.Sha256) {
		return nil, fmt.Errorf("rendered WasmPlugin has an inconsistent sha256 %q for url %q", check.Sha256, check.Url)
	}
	var specMap map[string]any
	if err := json.Unmarshal(spec, &specMap); err != nil {
		return nil, err
	}
	meta := map[string]any{"name": opts.Name}
	if opts.Namespace != "" {
		meta["namespace"] = opts.Namespace
	}
	obj := map[string]any{"apiVersion": "extensions.istio.io/v1alpha1", "kind": "WasmPlugin", "metadata": meta, "spec": specMap}
	wpYAML, err := yaml.Marshal(obj)
	if err != nil {
		return nil, err
	}

	filter := config.Filter{
		Name: opts.Name, URL: url, SHA256: dgst.Encoded(), ImagePullPolicy: config.PullIfNotPresent,
		PluginName: opts.PluginName, Phase: strings.ToUpper(opts.Phase), FailStrategy: config.FailClose,
	}
	if opts.FailOpen {
		filter.FailStrategy = config.FailOpen
	}
	if opts.Priority != nil {
		filter.Priority = *opts.Priority
	}
	if pluginConfig != nil {
		filter.PluginConfig = pluginConfig
	}
	proxyYAML, err := proxySnippet(filter, img.Metadata)
	if err != nil {
		return nil, err
	}
	return &DeployResult{Ref: ref, Digest: dgst.String(), URL: url, WasmPlugin: obj, ProxyFilter: filter,
		WasmPluginYAML: string(wpYAML), ProxyYAML: proxyYAML}, nil
}

// proxySnippet renders the filter entry and checks it with the runtime's
// own config parser inside a minimal listener.
func proxySnippet(f config.Filter, md *wasmimage.Metadata) (string, error) {
	fb, err := json.Marshal(f)
	if err != nil {
		return "", err
	}
	var fm map[string]any
	if err := json.Unmarshal(fb, &fm); err != nil {
		return "", err
	}
	protocol := config.ProtocolHTTP
	if md != nil && md.Type == "tcp" {
		protocol = config.ProtocolTCP
	}
	listener := map[string]any{"name": "main", "address": "127.0.0.1:10000", "protocol": protocol, "filters": []any{fm}}
	if protocol == config.ProtocolTCP {
		listener["cluster"] = "upstream"
	} else {
		listener["routes"] = []any{map[string]any{"match": map[string]any{"prefix": "/"}, "cluster": "upstream"}}
	}
	full := map[string]any{
		"listeners": []any{listener},
		"clusters":  []any{map[string]any{"name": "upstream", "endpoints": []string{"127.0.0.1:8080"}}},
	}
	b, err := yaml.Marshal(full)
	if err != nil {
		return "", err
	}
	if _, err := config.Parse("wasmctl-deploy.yaml", b); err != nil {
		return "", fmt.Errorf("rendered proxy config is invalid: %w", err)
	}
	return string(b), nil
}

// ParseSelector parses "k=v" pairs.
func ParseSelector(pairs []string) (map[string]string, error) {
	if len(pairs) == 0 {
		return nil, nil
	}
	out := map[string]string{}
	for _, p := range pairs {
		for _, kv := range strings.Split(p, ",") {
			k, v, ok := strings.Cut(kv, "=")
			if !ok || k == "" {
				return nil, fmt.Errorf("--selector %q: write it as key=value", kv)
			}
			out[k] = v
		}
	}
	return out, nil
}
