package wasmimage

import (
	"bytes"
	"strings"
	"testing"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"oras.land/oras-go/v2/content/memory"
)

var testMeta = []byte("name: add-header\ndescription: Adds a header.\nversion: 1.2.3\nlicense: Apache-2.0\nsource: https://example.com/add-header\ncategories: [headers, security]\nkeywords: [cors, rewrite]\n")

func TestPack_RoundTrip(t *testing.T) {
	tests := []struct {
		variant     Variant
		wantLayers  int
		wantReadme  bool
		wantVariant Variant
	}{
		{variant: "", wantLayers: 4, wantReadme: true, wantVariant: VariantCompat},
		{variant: VariantOCI, wantLayers: 2, wantReadme: false, wantVariant: VariantOCI},
	}
	for _, tt := range tests {
		t.Run(string(tt.wantVariant), func(t *testing.T) {
			store := memory.New()
			desc, err := Pack(t.Context(), store, testModule, PackOptions{
				Variant: tt.variant, Readme: []byte(readme), Schema: []byte(`{"type":"object"}`), ManifestFile: testMeta,
				Annotations: map[string]string{"org.example/extra": "yes"},
			})
			if err != nil {
				t.Fatalf("Pack() error = %v", err)
			}
			img, err := Read(t.Context(), store, desc, ReadOptions{})
			if err != nil {
				t.Fatalf("Read(Pack()) error = %v", err)
			}
			if img.Variant != tt.wantVariant || !bytes.Equal(img.Module, testModule) {
				t.Errorf("Read(Pack()) = variant %q, %d byte module; want %q and the test module", img.Variant, len(img.Module), tt.wantVariant)
			}
			if len(img.Manifest.Layers) != tt.wantLayers {
				t.Errorf("layers = %d, want %d", len(img.Manifest.Layers), tt.wantLayers)
			}
			if (string(img.Readme) == readme) != tt.wantReadme {
				t.Errorf("Readme = %q, want present=%v", img.Readme, tt.wantReadme)
			}
			if tt.wantReadme && (img.Metadata == nil || img.Metadata.Version != "1.2.3" || string(img.Schema) != `{"type":"object"}`) {
				t.Errorf("Metadata = %+v, Schema = %q", img.Metadata, img.Schema)
			}
			want := map[string]string{
				AnnotationABIVersion:          "v0.2.1",
				ocispec.AnnotationTitle:       "add-header",
				ocispec.AnnotationVersion:     "1.2.3",
				ocispec.AnnotationLicenses:    "Apache-2.0",
				ocispec.AnnotationDescription: "Adds a header.",
				"org.example/extra":           "yes",
				AnnotationCategories:          "headers,security",
				AnnotationKeywords:            "cors,rewrite",
			}
			for k, v := range want {
				if img.Annotations[k] != v {
					t.Errorf("annotation %s = %q, want %q", k, img.Annotations[k], v)
				}
			}
		})
	}
}

func TestPack_Deterministic(t *testing.T) {
	a, err := Pack(t.Context(), memory.New(), testModule, PackOptions{ManifestFile: testMeta})
	if err != nil {
		t.Fatal(err)
	}
	b, err := Pack(t.Context(), memory.New(), testModule, PackOptions{ManifestFile: testMeta})
	if err != nil {
		t.Fatal(err)
	}
	if a.Digest != b.Digest {
		t.Errorf("two packs of the same inputs differ: %s vs %s", a.Digest, b.Digest)
	}
	// Packing twice into the same store is fine (blobs already exist).
	store := memory.New()
	for range 2 {
		if _, err := Pack(t.Context(), store, testModule, PackOptions{ManifestFile: testMeta}); err != nil {
			t.Fatalf("second Pack into the same store: %v", err)
		}
	}
}

func TestPack_Refusals(t *testing.T) {
	tests := []struct {
		name    string
		module  []byte
		opts    PackOptions
		wantErr string
	}{
		{"not wasm", []byte("MZ\x90\x00 windows exe"), PackOptions{}, "not a wasm module"},
		{"no ABI marker", tinyModule(nil, "_start", "malloc"), PackOptions{}, "proxy_abi_version"},
		{"bad wasmctl.yaml", testModule, PackOptions{ManifestFile: []byte("name: BAD NAME\n")}, "name"},
		{"unknown variant", testModule, PackOptions{Variant: "zip"}, "unknown image variant"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			store := memory.New()
			_, err := Pack(t.Context(), store, tt.module, tt.opts)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("Pack() error = %v, want it to contain %q", err, tt.wantErr)
			}
		})
	}
}
