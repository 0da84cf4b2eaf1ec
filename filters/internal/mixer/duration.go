package mixer

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// Duration is a protobuf-JSON duration in configuration: "1s", "1.5s",
// "500ms", "2m", or the bare "0". Negative durations are rejected.
type Duration time.Duration

// ParseDuration parses a protobuf-JSON or Go-style duration string.
func ParseDuration(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if s == "0" {
		return 0, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("invalid duration %q: write it like \"1s\", \"1.5s\" or \"500ms\"", s)
	}
	if d < 0 {
		return 0, fmt.Errorf("invalid duration %q: must not be negative", s)
	}
	return d, nil
}

// UnmarshalJSON accepts a duration string (see ParseDuration).
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("duration must be a string such as \"1s\", got %s", b)
	}
	v, err := ParseDuration(s)
	if err != nil {
		return err
	}
	*d = Duration(v)
	return nil
}

// D returns d as a time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

// Nanos returns d in nanoseconds.
func (d Duration) Nanos() int64 { return int64(d) }

// Callout is an HTTP callout target in configuration (schema $defs.Callout).
type Callout struct {
	Cluster   string `json:"cluster"`
	Authority string `json:"authority"`
	Path      string `json:"path"`
	TimeoutMs int    `json:"timeout_ms"`
}

// PathOr returns Path, or def when it is empty.
func (c *Callout) PathOr(def string) string {
	if c.Path == "" {
		return def
	}
	return c.Path
}

// AuthorityOr returns Authority, or the cluster name when it is empty.
func (c *Callout) AuthorityOr() string {
	if c.Authority == "" {
		return c.Cluster
	}
	return c.Authority
}
