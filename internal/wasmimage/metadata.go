package wasmimage

import (
	"encoding/json"
	"fmt"
	"regexp"

	"sigs.k8s.io/yaml"
)

// Metadata is a filter's wasmctl.yaml manifest: what the hub shows and what
// `wasmctl build` copies into image annotations.
type Metadata struct {
	// Name is the filter's short name (lowercase letters, digits, '-', '_', '.').
	Name string `json:"name"`
	// Description is one sentence saying what the filter does.
	Description string `json:"description,omitempty"`
	// Version is the filter's version; `wasmctl build` tags the image with it.
	Version string `json:"version,omitempty"`
	// Categories are free-form labels (auth, security, observability, ...).
	Categories []string `json:"categories,omitempty"`
	// Keywords are search terms that are not categories (rate-limit, jwt, ...).
	Keywords []string `json:"keywords,omitempty"`
	// License is an SPDX license identifier.
	License string `json:"license,omitempty"`
	// Source is the URL of the filter's source code.
	Source string `json:"source,omitempty"`
	// Schema is the path of the configuration's JSON schema, relative to the manifest.
	Schema string `json:"schema,omitempty"`
	// Readme is the path of the README, relative to the manifest.
	Readme string `json:"readme,omitempty"`
	// Type is "http" (the default) or "tcp".
	Type string `json:"type,omitempty"`
}

var nameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,127}$`)

// ParseMetadata parses a wasmctl.yaml document (YAML or JSON). Unknown fields
// are refused so that typos are caught at build time.
func ParseMetadata(b []byte) (*Metadata, error) {
	var m Metadata
	if err := yaml.UnmarshalStrict(b, &m); err != nil {
		return nil, fmt.Errorf("wasmctl.yaml: %w", err)
	}
	if err := m.Validate(); err != nil {
		return nil, err
	}
	return &m, nil
}

// Validate checks the fields that tools rely on.
func (m *Metadata) Validate() error {
	if !nameRE.MatchString(m.Name) {
		return fmt.Errorf("wasmctl.yaml: name %q must be 1-128 lowercase letters, digits, '.', '-' or '_'", m.Name)
	}
	switch m.Type {
	case "", "http", "tcp":
	default:
		return fmt.Errorf("wasmctl.yaml: type %q must be http or tcp", m.Type)
	}
	return nil
}

// Marshal renders the manifest as YAML.
func (m *Metadata) Marshal() ([]byte, error) { return yaml.Marshal(m) }

// RuntimeConfig is the runtime-config.json of the wasme image spec.
type RuntimeConfig struct {
	Type        string   `json:"type,omitempty"`
	ABIVersions []string `json:"abiVersions,omitempty"`
	Config      struct {
		RootIDs []string `json:"rootIds,omitempty"`
	} `json:"config,omitempty"`
}

// parseRuntimeConfig accepts the camelCase form wasme writes and the
// snake_case form of the spec's example.
func parseRuntimeConfig(b []byte) (*RuntimeConfig, error) {
	var rc RuntimeConfig
	if err := json.Unmarshal(b, &rc); err != nil {
		return nil, fmt.Errorf("runtime config: %w", err)
	}
	var snake struct {
		ABIVersions []string `json:"abi_versions"`
		ABIVersion  []string `json:"abi_version"`
		Config      struct {
			RootIDs []string `json:"root_ids"`
		} `json:"config"`
	}
	if json.Unmarshal(b, &snake) == nil {
		if len(rc.ABIVersions) == 0 {
			rc.ABIVersions = append(snake.ABIVersions, snake.ABIVersion...)
		}
		if len(rc.Config.RootIDs) == 0 {
			rc.Config.RootIDs = snake.Config.RootIDs
		}
	}
	return &rc, nil
}
