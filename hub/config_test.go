package hub_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wasmctl/wasmctl/hub"
)

func TestLoadConfig(t *testing.T) {
	dir := t.TempDir()
	write := func(s string) string {
		p := filepath.Join(dir, "hub.yaml")
		os.WriteFile(p, []byte(s), 0o644)
		return p
	}
	c, err := hub.LoadConfig(write(`
addr: 0.0.0.0:5000
data: /var/lib/hub
database: postgres://hub@db/hub
storage:
  driver: s3
  parameters: {region: eu-west-1, bucket: filters}
auth:
  enabled: false
  signup: true
  tokenTTL: 10m
uploads:
  maxSize: 512MiB
`))
	if err != nil {
		t.Fatal(err)
	}
	if c.Addr != "0.0.0.0:5000" || c.Storage.Driver != "s3" || c.Storage.Parameters["bucket"] != "filters" ||
		c.AuthEnabled() || !c.Auth.Signup || time.Duration(c.Auth.TokenTTL) != 10*time.Minute || c.Uploads.MaxSize != 512<<20 {
		t.Fatalf("config = %+v", c)
	}
	if _, err := hub.LoadConfig(write("adress: typo\n")); err == nil || !strings.Contains(err.Error(), "adress") {
		t.Fatalf("unknown field: %v", err)
	}
	if _, err := hub.LoadConfig(write("uploads: {maxSize: lots}\n")); err == nil {
		t.Fatal("bad size accepted")
	}
}

func TestParseSize(t *testing.T) {
	tests := []struct {
		in   string
		want hub.Size
		ok   bool
	}{
		{"1048576", 1 << 20, true},
		{"512MiB", 512 << 20, true},
		{"2GB", 2e9, true},
		{"64k", 64 << 10, true},
		{"1.5GiB", 3 << 29, true},
		{"-1", 0, false},
		{"MiB", 0, false},
	}
	for _, tt := range tests {
		got, err := hub.ParseSize(tt.in)
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("ParseSize(%q) = %d, %v; want %d", tt.in, got, err, tt.want)
		}
	}
}

func FuzzParseSize(f *testing.F) {
	f.Add("512MiB")
	f.Add("1e3KB")
	f.Fuzz(func(t *testing.T, s string) {
		if z, err := hub.ParseSize(s); err == nil && z < 0 {
			t.Fatalf("ParseSize(%q) = %d", s, z)
		}
	})
}
