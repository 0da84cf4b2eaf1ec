package e2e

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/wasmctl/wasmctl/filters/internal/mixer"
	"github.com/wasmctl/wasmctl/internal/wasmimage"
)

var filterNames = []string{"denier", "listchecker", "memquota", "stdio", "prometheus", "rbac", "extauthz", "redisquota", "attributegen", "peer-metadata"}

// TestManifests checks what `wasmctl build` packs for each filter: a valid
// wasmctl.yaml named after its folder, pointing at a README and at a schema
// that compiles and accepts the empty-or-minimal configuration documented.
func TestManifests(t *testing.T) {
	for _, name := range filterNames {
		t.Run(name, func(t *testing.T) {
			b, err := os.ReadFile(filepath.Join("..", name, "wasmctl.yaml"))
			if err != nil {
				t.Fatal(err)
			}
			m, err := wasmimage.ParseMetadata(b)
			if err != nil {
				t.Fatal(err)
			}
			if m.Name != name || m.Description == "" || m.Version == "" {
				t.Errorf("manifest %+v", m)
			}
			if _, err := os.Stat(filepath.Join("..", name, m.Readme)); err != nil {
				t.Errorf("readme: %v", err)
			}
			schema, err := os.ReadFile(filepath.Join("..", name, m.Schema))
			if err != nil {
				t.Fatal(err)
			}
			if _, err := mixer.CompileSchema(schema); err != nil {
				t.Errorf("schema: %v", err)
			}
		})
	}
}
