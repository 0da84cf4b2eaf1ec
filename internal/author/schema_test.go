package author

import (
	"io/fs"
	"strings"
	"testing"

	"github.com/wasmctl/wasmctl/templates"
)

func TestValidateConfig(t *testing.T) {
	authSchema, err := fs.ReadFile(templates.FS(), "auth/schema.json")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		config, wantErr string
	}{
		{`{"tokens": ["a"], "allowPaths": ["/healthz"]}`, ""},
		{`{"tokens": []}`, "$.tokens: has 0 items"},
		{`{}`, `missing the required field "tokens"`},
		{`{"tokens": ["a"], "tokenz": 1}`, "$.tokenz: unknown field (known: allowPaths, header, tokens)"},
		{`{"tokens": [""]}`, "$.tokens[0]: is shorter than 1"},
		{`{"tokens": "a"}`, "$.tokens: is string, want array"},
		{`[1]`, "$: is array, want object"},
	}
	for _, tt := range tests {
		err := ValidateConfig(authSchema, []byte(tt.config))
		switch {
		case tt.wantErr == "" && err != nil:
			t.Errorf("ValidateConfig(%s) = %v, want nil", tt.config, err)
		case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
			t.Errorf("ValidateConfig(%s) = %v, want an error containing %q", tt.config, err, tt.wantErr)
		}
	}
	rl, _ := fs.ReadFile(templates.FS(), "rate-limit/schema.json")
	if err := ValidateConfig(rl, []byte(`{"requestsPerWindow": 0.5}`)); err == nil || !strings.Contains(err.Error(), "want integer") {
		t.Errorf("rate-limit with a fraction: %v", err)
	}
	al, _ := fs.ReadFile(templates.FS(), "access-log/schema.json")
	if err := ValidateConfig(al, []byte(`{"format": "xml"}`)); err == nil || !strings.Contains(err.Error(), "one of") {
		t.Errorf("access-log with an unknown format: %v", err)
	}
	m, _ := fs.ReadFile(templates.FS(), "metrics/schema.json")
	if err := ValidateConfig(m, []byte(`{"prefix": "9bad"}`)); err == nil || !strings.Contains(err.Error(), "pattern") {
		t.Errorf("metrics with a bad prefix: %v", err)
	}
}

// FuzzValidateConfig feeds arbitrary schemas and configurations.
func FuzzValidateConfig(f *testing.F) {
	s, _ := fs.ReadFile(templates.FS(), "auth/schema.json")
	f.Add(s, []byte(`{"tokens": ["a"]}`))
	f.Add([]byte(`{"type": ["string", "null"], "items": {"type": "object"}}`), []byte(`[{"a": 1}]`))
	f.Fuzz(func(t *testing.T, schema, config []byte) {
		_ = ValidateConfig(schema, config)
	})
}
