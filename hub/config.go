// Package hub is the wasm filter hub in one http.Handler: the OCI
// distribution API (hub/registry) behind the hub's access rules (hub/auth)
// at /v2/, the registry token endpoint at /token, the JSON API (hub/api) at
// /api/v1/ and the web UI (hub/web) everywhere else, all sharing one
// database (hub/db) and the filter index (hub/index) that every push and
// delete updates.
package hub

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"sigs.k8s.io/yaml"
)

// Config is the hub's configuration, read from YAML by [LoadConfig].
//
//	addr: 127.0.0.1:5000
//	data: /var/lib/wasmctl-hub          # default ./hub-data
//	baseURL: https://hub.example.com    # external URL, for token realms behind proxies
//	database: ""                        # "" = SQLite DATA/hub.db; or postgres://user:pw@host/db
//	storage:
//	  driver: filesystem                # or s3, inmemory, … (distribution storage drivers)
//	  parameters: {}                    # filesystem: rootdirectory (default DATA/registry)
//	auth:
//	  enabled: true
//	  signup: false
//	  defaultPrivate: false
//	  tokenTTL: 5m
//	  signingKeyFile: ""                # default DATA/signing.key, created if absent
//	uploads:
//	  maxSize: 512MiB                   # larger blobs get 413; 0 = unlimited
type Config struct {
	Addr     string        `json:"addr,omitempty"`
	Data     string        `json:"data,omitempty"`
	BaseURL  string        `json:"baseURL,omitempty"`
	Database string        `json:"database,omitempty"`
	Storage  StorageConfig `json:"storage,omitempty"`
	Auth     AuthConfig    `json:"auth,omitempty"`
	Uploads  UploadConfig  `json:"uploads,omitempty"`
}

// StorageConfig selects the registry's storage driver.
type StorageConfig struct {
	Driver     string         `json:"driver,omitempty"`
	Parameters map[string]any `json:"parameters,omitempty"`
}

// AuthConfig tunes accounts and access control.
type AuthConfig struct {
	// Enabled defaults to true; false lets anyone push anywhere (local
	// throwaway hubs only).
	Enabled        *bool    `json:"enabled,omitempty"`
	Signup         bool     `json:"signup,omitempty"`
	DefaultPrivate bool     `json:"defaultPrivate,omitempty"`
	TokenTTL       Duration `json:"tokenTTL,omitempty"`
	SigningKeyFile string   `json:"signingKeyFile,omitempty"`
}

// UploadConfig limits uploads.
type UploadConfig struct {
	MaxSize Size `json:"maxSize,omitempty"`
}

// Duration is a time.Duration written as "5m" in YAML.
type Duration time.Duration

// UnmarshalJSON accepts "90s", "5m" or a number of seconds.
func (d *Duration) UnmarshalJSON(b []byte) error {
	s := strings.Trim(string(b), `"`)
	if n, err := strconv.ParseFloat(s, 64); err == nil {
		*d = Duration(n * float64(time.Second))
		return nil
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("invalid duration %q (use e.g. 90s, 5m, 1h)", s)
	}
	*d = Duration(v)
	return nil
}

// Size is a byte count written as "512MiB", "2GB" or a plain number.
type Size int64

// ParseSize parses "512MiB", "2GB", "1048576", "64k".
func ParseSize(s string) (Size, error) {
	s = strings.TrimSpace(s)
	units := []struct {
		suffix string
		mult   int64
	}{{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"TiB", 1 << 40},
		{"KB", 1e3}, {"MB", 1e6}, {"GB", 1e9}, {"TB", 1e12},
		{"k", 1 << 10}, {"K", 1 << 10}, {"M", 1 << 20}, {"G", 1 << 30}, {"B", 1}}
	mult := int64(1)
	for _, u := range units {
		if rest, ok := strings.CutSuffix(s, u.suffix); ok {
			s, mult = strings.TrimSpace(rest), u.mult
			break
		}
	}
	n, err := strconv.ParseFloat(s, 64)
	if err != nil || !(n >= 0) || n*float64(mult) >= math.MaxInt64 {
		return 0, fmt.Errorf("invalid size %q (use e.g. 512MiB, 2GB or a number of bytes)", s)
	}
	return Size(n * float64(mult)), nil
}

// UnmarshalJSON accepts a number or a string such as "512MiB".
func (z *Size) UnmarshalJSON(b []byte) error {
	v, err := ParseSize(strings.Trim(string(b), `"`))
	if err != nil {
		return err
	}
	*z = v
	return nil
}

// LoadConfig reads a YAML configuration file. Unknown fields are errors,
// so typos do not pass silently.
func LoadConfig(path string) (Config, error) {
	var c Config
	b, err := os.ReadFile(path)
	if err != nil {
		return c, fmt.Errorf("hub: read config: %w", err)
	}
	if err := yaml.UnmarshalStrict(b, &c); err != nil {
		return c, fmt.Errorf("hub: config %s: %w", path, err)
	}
	return c, nil
}

// withDefaults fills in the defaults documented on [Config].
func (c Config) withDefaults() Config {
	if c.Addr == "" {
		c.Addr = "127.0.0.1:5000"
	}
	if c.Data == "" {
		c.Data = "hub-data"
	}
	if abs, err := filepath.Abs(c.Data); err == nil {
		c.Data = abs
	}
	if c.Storage.Driver == "" {
		c.Storage.Driver = "filesystem"
	}
	if c.Storage.Parameters == nil {
		c.Storage.Parameters = map[string]any{}
	}
	if c.Storage.Driver == "filesystem" && c.Storage.Parameters["rootdirectory"] == nil {
		c.Storage.Parameters["rootdirectory"] = filepath.Join(c.Data, "registry")
	}
	return c
}

// AuthEnabled reports whether access control is on (the default).
func (c Config) AuthEnabled() bool { return c.Auth.Enabled == nil || *c.Auth.Enabled }
