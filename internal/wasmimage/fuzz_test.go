package wasmimage

import (
	"bytes"
	"encoding/json"
	"testing"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// FuzzRead feeds arbitrary manifests (with real blobs behind them) to Read.
func FuzzRead(f *testing.F) {
	s := mapStore{}
	cfg := s.add(MediaTypeWasmConfig, []byte(`{"abiVersions":["v0.2.1"]}`), "")
	wasm := s.add(MediaTypeWasmLayer, testModule, "plugin.wasm")
	tgz := s.add(MediaTypeOCILayerGzip, tarGz(f, tarFile{"plugin.wasm", testModule}, tarFile{"README.md", []byte("hi")}), "")
	doc := s.add(MediaTypeReadme, []byte("# hi"), "README.md")
	for _, layers := range [][]ocispec.Descriptor{{cfg, wasm}, {doc, tgz}, {wasm}} {
		b, _ := json.Marshal(map[string]any{"schemaVersion": 2, "mediaType": ocispec.MediaTypeImageManifest, "config": cfg, "layers": layers})
		f.Add(b)
	}
	inner, _ := json.Marshal(map[string]any{"schemaVersion": 2, "config": cfg, "layers": []ocispec.Descriptor{cfg, wasm}})
	innerDesc := s.add(ocispec.MediaTypeImageManifest, inner, "")
	idx, _ := json.Marshal(map[string]any{"schemaVersion": 2, "manifests": []ocispec.Descriptor{innerDesc}})
	f.Add(idx)
	f.Fuzz(func(t *testing.T, manifest []byte) {
		st := mapStore{}
		for k, v := range s {
			st[k] = v
		}
		root := st.add("", manifest, "")
		img, err := Read(t.Context(), st, root, ReadOptions{})
		if err != nil {
			return
		}
		if checkMagic(img.Module) != nil {
			t.Fatalf("Read() returned a module without the wasm magic: %q", img.Module)
		}
	})
}

// FuzzExtractArchive feeds arbitrary bytes as a compat layer.
func FuzzExtractArchive(f *testing.F) {
	f.Add(tarGz(f, tarFile{"plugin.wasm", testModule}))
	f.Add(tarGz(f, tarFile{"a/README.md", []byte("x")}, tarFile{"a/plugin.wasm", testModule}))
	f.Add([]byte{0x1f, 0x8b, 8, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		mod, _, err := extractArchive(b, ReadOptions{MaxBlobSize: 1 << 20, MaxMetadataSize: 1 << 16})
		if err == nil && !bytes.HasPrefix(mod, []byte("\x00asm")) {
			t.Fatalf("extractArchive() returned a non-module")
		}
	})
}

// FuzzParseModule feeds arbitrary bytes to the module parser.
func FuzzParseModule(f *testing.F) {
	f.Add(testModule)
	f.Add(tinyModule(nil))
	f.Add([]byte("\x00asm\x01\x00\x00\x00\x02\x05\x01\x01a\x01b"))
	f.Fuzz(func(t *testing.T, b []byte) {
		info, err := ParseModule(b)
		if err == nil && info.Size != len(b) {
			t.Fatalf("Size = %d, want %d", info.Size, len(b))
		}
	})
}

// FuzzParseMetadata feeds arbitrary wasmctl.yaml documents.
func FuzzParseMetadata(f *testing.F) {
	f.Add([]byte("name: demo\nversion: 1.0.0\n"))
	f.Add([]byte("{\"name\":\"x\",\"categories\":[\"a\"]}"))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := ParseMetadata(b)
		if err == nil && m.Validate() != nil {
			t.Fatal("ParseMetadata accepted an invalid manifest")
		}
	})
}
