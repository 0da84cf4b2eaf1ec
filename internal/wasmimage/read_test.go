package wasmimage

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

const readme = "# demo\n\nAdds a header.\n"

func TestRead_Shapes(t *testing.T) {
	tests := []struct {
		name        string
		build       func(t *testing.T, s mapStore) ocispec.Descriptor
		wantVariant Variant
		wantReadme  string
		wantABI     []string
		wantFile    string
	}{
		{
			name: "wasme oci variant",
			build: func(t *testing.T, s mapStore) ocispec.Descriptor {
				cfg := s.add(MediaTypeWasmConfig, []byte(`{"type":"envoy_proxy","abiVersions":["v0.2.1"],"config":{"rootIds":["root"]}}`), "runtime-config.json")
				wasm := s.add(MediaTypeWasmLayer, testModule, "filter.wasm")
				return s.manifest(t, ocispec.MediaTypeImageManifest, cfg, []ocispec.Descriptor{cfg, wasm},
					map[string]string{AnnotationABIVersion: "v0.2.1", AnnotationRuntimeType: "envoy_proxy"})
			},
			wantVariant: VariantOCI,
			wantABI:     []string{"v0.2.1"},
		},
		{
			name: "wasme oci variant with snake_case runtime config",
			build: func(t *testing.T, s mapStore) ocispec.Descriptor {
				cfg := s.add(MediaTypeWasmConfig, []byte(`{"type":"envoy_proxy","abi_version":["v0-4689a303"],"config":{"root_ids":["r"]}}`), "")
				wasm := s.add(MediaTypeWasmLayer, testModule, "")
				return s.manifest(t, "", cfg, []ocispec.Descriptor{cfg, wasm}, nil)
			},
			wantVariant: VariantOCI,
			wantABI:     []string{"v0-4689a303"},
		},
		{
			name: "compat variant, OCI media types",
			build: func(t *testing.T, s mapStore) ocispec.Descriptor {
				cfg := s.add(ocispec.MediaTypeImageConfig, []byte(`{"architecture":"wasm","os":"wasip1"}`), "")
				layer := s.add(MediaTypeOCILayerGzip, tarGz(t,
					tarFile{"runtime-config.json", []byte(`{"abiVersions":["v0.2.0"]}`)},
					tarFile{"./README.md", []byte(readme)},
					tarFile{"plugin.wasm", testModule}), "")
				return s.manifest(t, ocispec.MediaTypeImageManifest, cfg, []ocispec.Descriptor{layer},
					map[string]string{AnnotationVariant: "compat"})
			},
			wantVariant: VariantCompat,
			wantReadme:  readme,
			wantABI:     []string{"v0.2.0"},
		},
		{
			name: "compat variant, Docker media types, plugin.wasm in a subdirectory",
			build: func(t *testing.T, s mapStore) ocispec.Descriptor {
				cfg := s.add("application/vnd.docker.container.image.v1+json", []byte(`{}`), "")
				base := s.add(MediaTypeDockerLayer, tarGz(t, tarFile{"etc/hosts", []byte("x")}), "")
				layer := s.add(MediaTypeDockerLayer, tarGz(t, tarFile{"filters/plugin.wasm", testModule}), "")
				return s.manifest(t, MediaTypeDockerManifest, cfg, []ocispec.Descriptor{base, layer}, nil)
			},
			wantVariant: VariantCompat,
		},
		{
			name: "Higress image: spec.yaml and README layers, plugin.tar.gz last",
			build: func(t *testing.T, s mapStore) ocispec.Descriptor {
				cfg := s.add(ocispec.MediaTypeEmptyJSON, []byte("{}"), "")
				spec := s.add("application/vnd.module.wasm.spec.v1+yaml", []byte("apiVersion: 1.0.0\n"), "spec.yaml")
				doc := s.add("application/vnd.module.wasm.doc.v1+markdown", []byte(readme), "README.md")
				layer := s.add(MediaTypeOCILayerGzip, tarGz(t, tarFile{"plugin.wasm", testModule}), "plugin.tar.gz")
				return s.manifest(t, ocispec.MediaTypeImageManifest, cfg, []ocispec.Descriptor{spec, doc, layer}, nil)
			},
			wantVariant: VariantCompat,
			wantReadme:  readme,
			wantFile:    "spec.yaml",
		},
		{
			name: "plain oras push of plugin.wasm (default layer type, title)",
			build: func(t *testing.T, s mapStore) ocispec.Descriptor {
				cfg := s.add(ocispec.MediaTypeEmptyJSON, []byte("{}"), "")
				doc := s.add(ocispec.MediaTypeImageLayer, []byte(readme), "README.md")
				wasm := s.add(ocispec.MediaTypeImageLayer, testModule, "plugin.wasm")
				m := map[string]any{"schemaVersion": 2, "mediaType": ocispec.MediaTypeImageManifest,
					"artifactType": "application/vnd.unknown.artifact.v1", "config": cfg, "layers": []ocispec.Descriptor{doc, wasm}}
				return s.addJSON(t, ocispec.MediaTypeImageManifest, m)
			},
			wantVariant: VariantArtifact,
			wantReadme:  readme,
		},
		{
			name: "untitled artifact layer of an unknown type, found by the wasm magic",
			build: func(t *testing.T, s mapStore) ocispec.Descriptor {
				cfg := s.add(ocispec.MediaTypeEmptyJSON, []byte("{}"), "")
				junk := s.add("application/octet-stream", []byte("not a module at all"), "")
				wasm := s.add("application/octet-stream", testModule, "")
				return s.manifest(t, ocispec.MediaTypeImageManifest, cfg, []ocispec.Descriptor{junk, wasm}, nil)
			},
			wantVariant: VariantArtifact,
		},
		{
			name: "CNCF wasm artifact (application/wasm layer)",
			build: func(t *testing.T, s mapStore) ocispec.Descriptor {
				cfg := s.add("application/vnd.wasm.config.v0+json", []byte(`{"os":"wasip1"}`), "")
				wasm := s.add(MediaTypeWasm, testModule, "module.wasm")
				return s.manifest(t, ocispec.MediaTypeImageManifest, cfg, []ocispec.Descriptor{wasm}, nil)
			},
			wantVariant: VariantArtifact,
		},
		{
			name: "wasmctl metadata layers before a compat layer",
			build: func(t *testing.T, s mapStore) ocispec.Descriptor {
				cfg := s.add(ocispec.MediaTypeImageConfig, []byte(`{}`), "")
				man := s.add(MediaTypeManifest, []byte("name: demo\nversion: 1.0.0\n"), "wasmctl.yaml")
				doc := s.add(MediaTypeReadme, []byte(readme), "README.md")
				sch := s.add(MediaTypeSchema, []byte(`{"type":"object"}`), "schema.json")
				layer := s.add(MediaTypeOCILayerGzip, tarGz(t, tarFile{"plugin.wasm", testModule}), "plugin.tar.gz")
				return s.manifest(t, ocispec.MediaTypeImageManifest, cfg, []ocispec.Descriptor{man, doc, sch, layer}, nil)
			},
			wantVariant: VariantCompat,
			wantReadme:  readme,
			wantFile:    "schema.json",
		},
		{
			name: "image index: the wasip1 manifest is picked over linux/amd64",
			build: func(t *testing.T, s mapStore) ocispec.Descriptor {
				cfg := s.add(ocispec.MediaTypeImageConfig, []byte(`{}`), "")
				other := s.manifest(t, ocispec.MediaTypeImageManifest, cfg,
					[]ocispec.Descriptor{s.add(MediaTypeOCILayerGzip, tarGz(t, tarFile{"bin/sh", []byte("x")}), "")}, nil)
				other.Platform = &ocispec.Platform{OS: "linux", Architecture: "amd64"}
				wasmM := s.manifest(t, ocispec.MediaTypeImageManifest, cfg,
					[]ocispec.Descriptor{s.add(MediaTypeOCILayerGzip, tarGz(t, tarFile{"plugin.wasm", testModule}), "")}, nil)
				wasmM.Platform = &ocispec.Platform{OS: "wasip1", Architecture: "wasm"}
				return s.addJSON(t, ocispec.MediaTypeImageIndex, map[string]any{"schemaVersion": 2,
					"mediaType": ocispec.MediaTypeImageIndex, "manifests": []ocispec.Descriptor{other, wasmM}})
			},
			wantVariant: VariantCompat,
		},
		{
			name: "Docker manifest list without platforms: the first manifest with a module wins",
			build: func(t *testing.T, s mapStore) ocispec.Descriptor {
				cfg := s.add(ocispec.MediaTypeImageConfig, []byte(`{}`), "")
				empty := s.manifest(t, ocispec.MediaTypeImageManifest, cfg, []ocispec.Descriptor{}, nil)
				wasmM := s.manifest(t, ocispec.MediaTypeImageManifest, cfg, []ocispec.Descriptor{s.add(MediaTypeWasm, testModule, "")}, nil)
				return s.addJSON(t, MediaTypeDockerManifestList, map[string]any{"schemaVersion": 2,
					"mediaType": MediaTypeDockerManifestList, "manifests": []ocispec.Descriptor{empty, wasmM}})
			},
			wantVariant: VariantArtifact,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := mapStore{}
			root := tt.build(t, s)
			img, err := Read(t.Context(), s, root, ReadOptions{})
			if err != nil {
				t.Fatalf("Read() error = %v", err)
			}
			if img.Variant != tt.wantVariant {
				t.Errorf("Variant = %q, want %q", img.Variant, tt.wantVariant)
			}
			if !bytes.Equal(img.Module, testModule) {
				t.Errorf("Module = %d bytes, want the %d byte test module", len(img.Module), len(testModule))
			}
			if string(img.Readme) != tt.wantReadme {
				t.Errorf("Readme = %q, want %q", img.Readme, tt.wantReadme)
			}
			if tt.wantABI != nil {
				if img.RuntimeConfig == nil || strings.Join(img.RuntimeConfig.ABIVersions, ",") != strings.Join(tt.wantABI, ",") {
					t.Errorf("RuntimeConfig = %+v, want ABI versions %v", img.RuntimeConfig, tt.wantABI)
				}
			}
			if tt.wantFile != "" && img.Files[tt.wantFile] == nil {
				t.Errorf("Files lacks %s: %v", tt.wantFile, img.Files)
			}
			if img.Root.Digest != root.Digest {
				t.Errorf("Root = %s, want %s", img.Root.Digest, root.Digest)
			}
			if img.ModuleDigest() == "" {
				t.Error("empty module digest")
			}
		})
	}
}

func TestRead_Refusals(t *testing.T) {
	tests := []struct {
		name    string
		build   func(t *testing.T, s mapStore) ocispec.Descriptor
		opts    ReadOptions
		wantErr string
		noMod   bool
	}{
		{
			name: "no layer holds a module",
			build: func(t *testing.T, s mapStore) ocispec.Descriptor {
				cfg := s.add(ocispec.MediaTypeEmptyJSON, []byte("{}"), "")
				return s.manifest(t, ocispec.MediaTypeImageManifest, cfg,
					[]ocispec.Descriptor{s.add("text/plain", []byte("hello, not wasm"), "notes.txt")}, nil)
			},
			wantErr: "no wasm module",
			noMod:   true,
		},
		{
			name: "compat archive without plugin.wasm",
			build: func(t *testing.T, s mapStore) ocispec.Descriptor {
				cfg := s.add(ocispec.MediaTypeImageConfig, []byte("{}"), "")
				return s.manifest(t, ocispec.MediaTypeImageManifest, cfg,
					[]ocispec.Descriptor{s.add(MediaTypeOCILayerGzip, tarGz(t, tarFile{"filter.wasm", testModule}), "")}, nil)
			},
			wantErr: "plugin.wasm not found",
			noMod:   true,
		},
		{
			name: "wasm layer whose content is not wasm",
			build: func(t *testing.T, s mapStore) ocispec.Descriptor {
				cfg := s.add(MediaTypeWasmConfig, []byte("{}"), "")
				return s.manifest(t, ocispec.MediaTypeImageManifest, cfg,
					[]ocispec.Descriptor{cfg, s.add(MediaTypeWasmLayer, []byte("#!/bin/sh\necho hi\n"), "")}, nil)
			},
			wantErr: "not a wasm module",
		},
		{
			name: "layer content does not match its digest",
			build: func(t *testing.T, s mapStore) ocispec.Descriptor {
				cfg := s.add(MediaTypeWasmConfig, []byte("{}"), "")
				wasm := s.add(MediaTypeWasmLayer, testModule, "")
				tampered := append([]byte{}, testModule...)
				tampered[len(tampered)-1] ^= 0xff
				s[wasm.Digest] = tampered
				return s.manifest(t, ocispec.MediaTypeImageManifest, cfg, []ocispec.Descriptor{cfg, wasm}, nil)
			},
			wantErr: "mismatch",
		},
		{
			name: "module over the size limit",
			build: func(t *testing.T, s mapStore) ocispec.Descriptor {
				cfg := s.add(MediaTypeWasmConfig, []byte("{}"), "")
				return s.manifest(t, ocispec.MediaTypeImageManifest, cfg, []ocispec.Descriptor{cfg, s.add(MediaTypeWasmLayer, testModule, "")}, nil)
			},
			opts:    ReadOptions{MaxBlobSize: 16},
			wantErr: "limit",
		},
		{
			name: "gzip bomb in a compat layer",
			build: func(t *testing.T, s mapStore) ocispec.Descriptor {
				cfg := s.add(ocispec.MediaTypeImageConfig, []byte("{}"), "")
				big := make([]byte, 1<<20)
				return s.manifest(t, ocispec.MediaTypeImageManifest, cfg,
					[]ocispec.Descriptor{s.add(MediaTypeOCILayerGzip, tarGz(t, tarFile{"zeros", big}, tarFile{"plugin.wasm", testModule}), "")}, nil)
			},
			opts:    ReadOptions{MaxBlobSize: 64 << 10},
			wantErr: "uncompressed",
		},
		{
			name: "manifest that is not JSON",
			build: func(t *testing.T, s mapStore) ocispec.Descriptor {
				return s.add(ocispec.MediaTypeImageManifest, []byte("<html>"), "")
			},
			wantErr: "not valid JSON",
		},
		{
			name: "index nested too deep",
			build: func(t *testing.T, s mapStore) ocispec.Descriptor {
				cfg := s.add(ocispec.MediaTypeImageConfig, []byte("{}"), "")
				d := s.manifest(t, ocispec.MediaTypeImageManifest, cfg, []ocispec.Descriptor{s.add(MediaTypeWasm, testModule, "")}, nil)
				for range 4 {
					d = s.addJSON(t, ocispec.MediaTypeImageIndex, map[string]any{"schemaVersion": 2,
						"mediaType": ocispec.MediaTypeImageIndex, "manifests": []ocispec.Descriptor{d}})
				}
				return d
			},
			wantErr: "nested",
		},
		{
			name: "missing blob",
			build: func(t *testing.T, s mapStore) ocispec.Descriptor {
				cfg := s.add(MediaTypeWasmConfig, []byte("{}"), "")
				wasm := s.add(MediaTypeWasmLayer, testModule, "")
				delete(s, wasm.Digest)
				return s.manifest(t, ocispec.MediaTypeImageManifest, cfg, []ocispec.Descriptor{cfg, wasm}, nil)
			},
			wantErr: "not found",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := mapStore{}
			img, err := Read(t.Context(), s, tt.build(t, s), tt.opts)
			if err == nil {
				t.Fatalf("Read() = %v variant, want an error containing %q", img.Variant, tt.wantErr)
			}
			if !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("Read() error = %v, want it to contain %q", err, tt.wantErr)
			}
			if tt.noMod && !errors.Is(err, ErrNoModule) {
				t.Errorf("Read() error = %v, want errors.Is(err, ErrNoModule)", err)
			}
		})
	}
}

func TestParseModule(t *testing.T) {
	info, err := ParseModule(testModule)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(info.ABIVersions, ","); got != "0.2.1" {
		t.Errorf("ABIVersions = %q, want 0.2.1", got)
	}
	if len(info.Imports) != 1 || info.Imports[0] != (Import{Module: "env", Name: "proxy_log", Kind: KindFunc}) {
		t.Errorf("Imports = %+v", info.Imports)
	}
	if !info.HasExport("proxy_on_context_create") || info.HasExport("malloc") {
		t.Errorf("Exports = %+v", info.Exports)
	}
	for _, bad := range [][]byte{nil, []byte("\x00asm"), []byte("\x00asm\x02\x00\x00\x00"), append(append([]byte{}, testModule[:8]...), 7, 0x80)} {
		if _, err := ParseModule(bad); err == nil {
			t.Errorf("ParseModule(%q) succeeded, want an error", bad)
		}
	}
}

func TestParseMetadata(t *testing.T) {
	m, err := ParseMetadata([]byte("name: add-header\nversion: 0.1.0\ncategories: [headers]\nschema: schema.json\n"))
	if err != nil || m.Name != "add-header" || m.Categories[0] != "headers" {
		t.Fatalf("ParseMetadata() = %+v, %v", m, err)
	}
	for _, bad := range []string{"name: Bad Name\n", "name: ok\nversoin: 1\n", "name: ok\ntype: udp\n", "[1,2"} {
		if _, err := ParseMetadata([]byte(bad)); err == nil {
			t.Errorf("ParseMetadata(%q) succeeded, want an error", bad)
		}
	}
}
