package author

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestValidate_Refusals(t *testing.T) {
	// The smallest modules that each miss one requirement.
	header := "\x00asm\x01\x00\x00\x00\x01\x04\x01\x60\x00\x00\x03\x02\x01\x00"
	code := "\x0a\x04\x01\x02\x00\x0b"
	export := func(name string) string {
		body := "\x01" + string(rune(len(name))) + name + "\x00\x00"
		return "\x07" + string(rune(len(body))) + body
	}
	tests := []struct {
		name, wasm, want string
	}{
		{"not wasm", "hello", "magic"},
		{"no ABI marker", header + export("_start") + code, "proxy_abi_version"},
		{"marker only", header + export("proxy_abi_version_0_2_1") + code, "missing exports: memory"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Validate(t.Context(), []byte(tt.wasm))
			var ve *ValidationError
			if !errors.As(err, &ve) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Validate() error = %v, want a ValidationError mentioning %q", err, tt.want)
			}
		})
	}
}

func TestParseTestFile(t *testing.T) {
	tf, err := ParseTestFile([]byte("config: {a: 1}\ncases:\n  - name: x\n    request: {path: /p}\n    expect: {status: 200, metrics: {m: 1}}\n"))
	if err != nil || len(tf.Cases) != 1 || tf.Cases[0].Expect.Metrics["m"] != 1 {
		t.Fatalf("ParseTestFile() = %+v, %v", tf, err)
	}
	for _, bad := range []string{"cases: []\n", "cases:\n  - request: {path: /}\n", "cases:\n  - name: x\n    request: {path: p}\n", "cases:\n  - name: x\n    expect: {stauts: 1}\n"} {
		if _, err := ParseTestFile([]byte(bad)); err == nil {
			t.Errorf("ParseTestFile(%q) succeeded, want an error", bad)
		}
	}
}

func TestParseSelector(t *testing.T) {
	got, err := ParseSelector([]string{"app=web,tier=front", "version=v1"})
	if err != nil || len(got) != 3 || got["tier"] != "front" {
		t.Errorf("ParseSelector() = %v, %v", got, err)
	}
	if _, err := ParseSelector([]string{"novalue"}); err == nil {
		t.Error("ParseSelector(novalue) succeeded")
	}
}

func TestInit_Refusals(t *testing.T) {
	dir := t.TempDir()
	if _, err := Init(filepath.Join(dir, "Bad Name"), InitOptions{}); err == nil || !strings.Contains(err.Error(), "lowercase") {
		t.Errorf("Init with a bad name: %v", err)
	}
	existing := filepath.Join(dir, "taken")
	os.MkdirAll(existing, 0o755)
	os.WriteFile(filepath.Join(existing, "keep.txt"), []byte("x"), 0o644)
	if _, err := Init(existing, InitOptions{}); err == nil || !strings.Contains(err.Error(), "--force") {
		t.Errorf("Init into a non-empty directory: %v", err)
	}
	res, err := Init(filepath.Join(dir, "ok"), InitOptions{Template: "tcp"})
	if err != nil {
		t.Fatal(err)
	}
	p, err := LoadProject(res.Dir)
	if err != nil || p.Metadata.Type != "tcp" || p.Schema == nil || p.Readme == nil {
		t.Errorf("LoadProject(init tcp) = %+v, %v", p, err)
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".") {
			t.Errorf("Init left a temporary directory behind: %s", e.Name())
		}
	}
}

// FuzzParseTestFile feeds arbitrary tests/*.yaml documents.
func FuzzParseTestFile(f *testing.F) {
	f.Add([]byte("config: {a: 1}\ncases:\n  - name: x\n    request: {path: /}\n    expect: {status: 200}\n"))
	f.Add([]byte("cases:\n  - name: y\n    upstream: {body: hi}\n    expect: {logs: [a], metrics: {m: 2}}\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		tf, err := ParseTestFile(b)
		if err == nil && (len(tf.Cases) == 0 || tf.Cases[0].Name == "") {
			t.Fatalf("ParseTestFile accepted a file without named cases: %q", b)
		}
	})
}
