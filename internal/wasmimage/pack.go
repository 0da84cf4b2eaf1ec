package wasmimage

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/opencontainers/go-digest"
	specs "github.com/opencontainers/image-spec/specs-go"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"oras.land/oras-go/v2/content"
	"oras.land/oras-go/v2/errdef"
)

// PackOptions says what goes into an image besides the module.
type PackOptions struct {
	// Variant is VariantCompat (the default) or VariantOCI.
	Variant Variant
	// Readme, Schema and ManifestFile are the README, the configuration's
	// JSON schema and the wasmctl.yaml manifest; each is optional.
	Readme, Schema, ManifestFile []byte
	// Annotations are added to the manifest's annotations (and win over the
	// ones Pack derives from the module and wasmctl.yaml).
	Annotations map[string]string
}

// Pack writes module and its metadata to dst as a filter image and returns
// the manifest's descriptor; tag it with dst's Tag (oras.Tag) afterwards.
// Blobs that dst already holds are not pushed again. The module must be a
// wasm binary exporting a proxy_abi_version_* marker.
func Pack(ctx context.Context, dst content.Pusher, module []byte, opts PackOptions) (ocispec.Descriptor, error) {
	info, err := ParseModule(module)
	if err != nil {
		return ocispec.Descriptor{}, fmt.Errorf("not a wasm module: %w", err)
	}
	if len(info.ABIVersions) == 0 {
		return ocispec.Descriptor{}, errors.New("the module exports no proxy_abi_version_* marker, so no proxy-wasm host will load it; build it with the proxy-wasm SDK (wasmctl build) or export proxy_abi_version_0_2_1")
	}
	annotations := map[string]string{}
	abis := make([]string, len(info.ABIVersions))
	for i, v := range info.ABIVersions {
		abis[i] = "v" + v
	}
	annotations[AnnotationABIVersion] = strings.Join(abis, ",")
	annotations[AnnotationRuntimeType] = "envoy_proxy"
	if opts.ManifestFile != nil {
		m, err := ParseMetadata(opts.ManifestFile)
		if err != nil {
			return ocispec.Descriptor{}, err
		}
		set := func(k, v string) {
			if v != "" {
				annotations[k] = v
			}
		}
		set(ocispec.AnnotationTitle, m.Name)
		set(ocispec.AnnotationDescription, m.Description)
		set(ocispec.AnnotationVersion, m.Version)
		set(ocispec.AnnotationLicenses, m.License)
		set(ocispec.AnnotationSource, m.Source)
		set(AnnotationCategories, strings.Join(m.Categories, ","))
		set(AnnotationKeywords, strings.Join(m.Keywords, ","))
	}

	var config ocispec.Descriptor
	var layers []ocispec.Descriptor
	switch opts.Variant {
	case "", VariantCompat:
		annotations[AnnotationVariant] = string(VariantCompat)
		var diffIDs []digest.Digest
		for _, f := range []struct {
			data      []byte
			mediaType string
			title     string
		}{
			{opts.ManifestFile, MediaTypeManifest, FileManifest},
			{opts.Readme, MediaTypeReadme, FileReadme},
			{opts.Schema, MediaTypeSchema, FileSchema},
		} {
			if f.data == nil {
				continue
			}
			d, err := pushBlob(ctx, dst, f.mediaType, f.data, f.title)
			if err != nil {
				return ocispec.Descriptor{}, err
			}
			layers = append(layers, d)
			diffIDs = append(diffIDs, d.Digest)
		}
		tarball, err := archive(module)
		if err != nil {
			return ocispec.Descriptor{}, err
		}
		gz, err := gzipBytes(tarball)
		if err != nil {
			return ocispec.Descriptor{}, err
		}
		d, err := pushBlob(ctx, dst, MediaTypeOCILayerGzip, gz, FileArchive)
		if err != nil {
			return ocispec.Descriptor{}, err
		}
		layers = append(layers, d)
		diffIDs = append(diffIDs, digest.FromBytes(tarball))
		cfg, err := json.Marshal(ocispec.Image{
			Platform: ocispec.Platform{Architecture: "wasm", OS: "wasip1"},
			RootFS:   ocispec.RootFS{Type: "layers", DiffIDs: diffIDs},
		})
		if err != nil {
			return ocispec.Descriptor{}, err
		}
		if config, err = pushBlob(ctx, dst, ocispec.MediaTypeImageConfig, cfg, ""); err != nil {
			return ocispec.Descriptor{}, err
		}
	case VariantOCI:
		rc := RuntimeConfig{Type: "envoy_proxy", ABIVersions: abis}
		cfg, err := json.Marshal(rc)
		if err != nil {
			return ocispec.Descriptor{}, err
		}
		if config, err = pushBlob(ctx, dst, MediaTypeWasmConfig, cfg, FileRuntimeConfig); err != nil {
			return ocispec.Descriptor{}, err
		}
		wasm, err := pushBlob(ctx, dst, MediaTypeWasmLayer, module, FileModule)
		if err != nil {
			return ocispec.Descriptor{}, err
		}
		layers = []ocispec.Descriptor{config, wasm}
	default:
		return ocispec.Descriptor{}, fmt.Errorf("unknown image variant %q: use %q or %q", opts.Variant, VariantCompat, VariantOCI)
	}
	for k, v := range opts.Annotations {
		annotations[k] = v
	}
	manifest, err := json.Marshal(ocispec.Manifest{
		Versioned:   specs.Versioned{SchemaVersion: 2},
		MediaType:   ocispec.MediaTypeImageManifest,
		Config:      config,
		Layers:      layers,
		Annotations: annotations,
	})
	if err != nil {
		return ocispec.Descriptor{}, err
	}
	return pushBlob(ctx, dst, ocispec.MediaTypeImageManifest, manifest, "")
}

func pushBlob(ctx context.Context, dst content.Pusher, mediaType string, b []byte, title string) (ocispec.Descriptor, error) {
	d := content.NewDescriptorFromBytes(mediaType, b)
	if title != "" {
		d.Annotations = map[string]string{ocispec.AnnotationTitle: title}
	}
	if s, ok := dst.(content.ReadOnlyStorage); ok {
		if ok, err := s.Exists(ctx, d); err == nil && ok {
			return d, nil
		}
	}
	if err := dst.Push(ctx, d, bytes.NewReader(b)); err != nil && !errors.Is(err, errdef.ErrAlreadyExists) {
		return ocispec.Descriptor{}, fmt.Errorf("push %s %s: %w", mediaType, d.Digest, err)
	}
	return d, nil
}

// archive returns a deterministic tar holding plugin.wasm.
func archive(module []byte) ([]byte, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	if err := tw.WriteHeader(&tar.Header{Name: FileModule, Mode: 0o644, Size: int64(len(module)), Typeflag: tar.TypeReg}); err != nil {
		return nil, err
	}
	if _, err := tw.Write(module); err != nil {
		return nil, err
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func gzipBytes(b []byte) ([]byte, error) {
	var buf bytes.Buffer
	gz, err := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	if err != nil {
		return nil, err
	}
	if _, err := gz.Write(b); err != nil {
		return nil, err
	}
	if err := gz.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
