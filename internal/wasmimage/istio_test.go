package wasmimage_test

import (
	"archive/tar"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"path"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"oras.land/oras-go/v2"
	"oras.land/oras-go/v2/content/memory"
	orasremote "oras.land/oras-go/v2/registry/remote"

	"github.com/wasmctl/wasmctl/internal/testregistry"
	"github.com/wasmctl/wasmctl/internal/wasmimage"
)

// istioFetch reads an image the way Istio's WasmPlugin image fetcher
// (istio/istio pkg/wasm/imagefetcher.go) does: go-containerregistry's
// remote.Get and desc.Image(), then, in order, the Docker compat rule (last
// layer Docker tar.gz holding plugin.wasm), the OCI compat rule (last layer
// OCI tar+gzip holding plugin.wasm) and the oci-variant rule (exactly two
// layers, one of type application/vnd.module.wasm.content.layer.v1+wasm,
// read raw with Compressed()). It returns the module and the digest Istio
// compares with the WasmPlugin's sha256 field.
func istioFetch(t *testing.T, ref string) ([]byte, string, error) {
	t.Helper()
	r, err := name.ParseReference(ref, name.Insecure)
	if err != nil {
		return nil, "", err
	}
	desc, err := remote.Get(r, remote.WithContext(t.Context()))
	if err != nil {
		return nil, "", fmt.Errorf("could not fetch manifest: %w", err)
	}
	img, err := desc.Image()
	if err != nil {
		return nil, "", fmt.Errorf("could not fetch image: %w", err)
	}
	d, err := img.Digest()
	if err != nil {
		return nil, "", err
	}
	m, err := img.Manifest()
	if err != nil {
		return nil, "", err
	}
	layers, err := img.Layers()
	if err != nil {
		return nil, "", err
	}
	lastTarGz := func(want types.MediaType) ([]byte, error) {
		if len(layers) == 0 {
			return nil, errors.New("number of layers must be greater than zero")
		}
		l := layers[len(layers)-1]
		mt, err := l.MediaType()
		if err != nil {
			return nil, err
		}
		if mt != want {
			return nil, fmt.Errorf("invalid media type %s (expect %s)", mt, want)
		}
		rc, err := l.Compressed()
		if err != nil {
			return nil, err
		}
		defer rc.Close()
		gz, err := gzip.NewReader(rc)
		if err != nil {
			return nil, err
		}
		tr := tar.NewReader(gz)
		for {
			h, err := tr.Next()
			if err != nil {
				return nil, fmt.Errorf("plugin.wasm not found in the archive: %w", err)
			}
			if path.Base(h.Name) == "plugin.wasm" {
				return io.ReadAll(tr)
			}
		}
	}
	if m.MediaType == types.DockerManifestSchema2 {
		b, err := lastTarGz(types.DockerLayer)
		return b, d.Hex, err
	}
	if b, errCompat := lastTarGz(types.OCILayer); errCompat == nil {
		return b, d.Hex, nil
	}
	if len(layers) != 2 {
		return nil, "", fmt.Errorf("number of layers must be 2 but got %d", len(layers))
	}
	var wasm v1.Layer
	for _, l := range layers {
		if mt, _ := l.MediaType(); mt == "application/vnd.module.wasm.content.layer.v1+wasm" {
			wasm = l
		}
	}
	if wasm == nil {
		return nil, "", errors.New("could not find the wasm layer")
	}
	rc, err := wasm.Compressed()
	if err != nil {
		return nil, "", err
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	return b, d.Hex, err
}

// TestPack_ReadByIstioFetcher pushes what `wasmctl push` writes to a real
// registry and reads it back as Istio's WasmPlugin fetcher does.
func TestPack_ReadByIstioFetcher(t *testing.T) {
	reg := testregistry.Start(t)
	module := istioTestModule()
	for _, variant := range []wasmimage.Variant{wasmimage.VariantCompat, wasmimage.VariantOCI} {
		t.Run(string(variant), func(t *testing.T) {
			store := memory.New()
			desc, err := wasmimage.Pack(t.Context(), store, module, wasmimage.PackOptions{
				Variant: variant, Readme: []byte("# demo\n"), Schema: []byte(`{"type":"object"}`),
				ManifestFile: []byte("name: demo\nversion: 0.1.0\n"),
			})
			if err != nil {
				t.Fatal(err)
			}
			if err := store.Tag(t.Context(), desc, "v1"); err != nil {
				t.Fatal(err)
			}
			repo, err := orasremote.NewRepository(reg.Ref("filters/demo-" + string(variant)))
			if err != nil {
				t.Fatal(err)
			}
			repo.PlainHTTP = true
			if _, err := oras.Copy(t.Context(), store, "v1", repo, "v1", oras.DefaultCopyOptions); err != nil {
				t.Fatalf("push: %v", err)
			}
			got, sha, err := istioFetch(t, reg.Ref("filters/demo-"+string(variant)+":v1"))
			if err != nil {
				t.Fatalf("Istio's fetcher cannot read the pushed image: %v", err)
			}
			if string(got) != string(module) {
				t.Errorf("Istio's fetcher read %d bytes, want the %d byte module", len(got), len(module))
			}
			if sha != desc.Digest.Encoded() {
				t.Errorf("Istio's digest = %s, want the manifest digest %s (what WasmPlugin.sha256 pins)", sha, desc.Digest.Encoded())
			}
			// And our own reader reads the pushed image from the registry.
			img, err := wasmimage.ReadRef(t.Context(), repo, "v1", wasmimage.ReadOptions{})
			if err != nil || img.Variant != variant {
				t.Fatalf("ReadRef() = %v, %v; want variant %s", img, err, variant)
			}
		})
	}
}

// istioTestModule is a minimal proxy-wasm module: it exports the ABI marker.
func istioTestModule() []byte {
	return []byte("\x00asm\x01\x00\x00\x00" +
		"\x01\x04\x01\x60\x00\x00" + // type: () -> ()
		"\x03\x02\x01\x00" + // one function
		"\x07\x1b\x01\x17proxy_abi_version_0_2_1\x00\x00" +
		"\x0a\x04\x01\x02\x00\x0b")
}
