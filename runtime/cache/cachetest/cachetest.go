// Package cachetest pushes wasm filter images to a test registry in each shape
// the runtime must read, using oras-go directly so the reader is tested
// against images it did not write.
package cachetest

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"testing"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"oras.land/oras-go/v2"
	"oras.land/oras-go/v2/registry/remote"
)

// Shape is an image layout.
type Shape int

// Shapes of DESIGN.md point 6.
const (
	// OCI is the wasme "oci" variant: a wasm config and a raw wasm content layer.
	OCI Shape = iota
	// Compat is the "compat" variant: a tar+gzip layer holding plugin.wasm.
	Compat
	// Plain is a plain ORAS artifact: empty config, one raw .wasm layer.
	Plain
	// WithReadme is the OCI variant preceded by a README metadata layer.
	WithReadme
)

// Module returns a tiny valid wasm module whose custom section holds tag, so
// each tag has its own digest.
func Module(tag string) []byte {
	name := "wasmctl.test"
	payload := append([]byte{byte(len(name))}, name...)
	payload = append(payload, tag...)
	m := []byte("\x00asm\x01\x00\x00\x00")
	m = append(m, 0) // custom section
	m = appendULEB(m, uint64(len(payload)))
	return append(m, payload...)
}

func appendULEB(b []byte, v uint64) []byte {
	for {
		c := byte(v & 0x7f)
		v >>= 7
		if v != 0 {
			b = append(b, c|0x80)
			continue
		}
		return append(b, c)
	}
}

// Push stores module at ref ("host/repo:tag") over plain HTTP in the given
// shape and returns the manifest descriptor.
func Push(tb testing.TB, ref string, module []byte, shape Shape) ocispec.Descriptor {
	tb.Helper()
	ctx := tb.Context()
	repo, err := remote.NewRepository(ref)
	if err != nil {
		tb.Fatal(err)
	}
	repo.PlainHTTP = true
	push := func(mt string, b []byte, ann map[string]string) ocispec.Descriptor {
		d := ocispec.Descriptor{MediaType: mt, Digest: digest.FromBytes(b), Size: int64(len(b)), Annotations: ann}
		if err := repo.Push(ctx, d, bytes.NewReader(b)); err != nil {
			tb.Fatalf("push blob: %v", err)
		}
		return d
	}
	var opts oras.PackManifestOptions
	artifactType := ""
	version := oras.PackManifestVersion1_1
	switch shape {
	case OCI, WithReadme:
		cfg := push("application/vnd.module.wasm.config.v1+json", []byte(`{}`), nil)
		opts.ConfigDescriptor = &cfg
		if shape == WithReadme {
			opts.Layers = append(opts.Layers, push("text/markdown", []byte("# test filter\n"),
				map[string]string{ocispec.AnnotationTitle: "README.md"}))
		}
		opts.Layers = append(opts.Layers, push("application/vnd.module.wasm.content.layer.v1+wasm", module,
			map[string]string{ocispec.AnnotationTitle: "plugin.wasm"}))
		version = oras.PackManifestVersion1_0
	case Compat:
		var buf bytes.Buffer
		zw := gzip.NewWriter(&buf)
		tw := tar.NewWriter(zw)
		tw.WriteHeader(&tar.Header{Name: "plugin.wasm", Mode: 0o644, Size: int64(len(module)), Typeflag: tar.TypeReg})
		tw.Write(module)
		tw.Close()
		zw.Close()
		cfg := push(ocispec.MediaTypeImageConfig, []byte(`{"architecture":"wasm","os":"wasip1","rootfs":{"type":"layers","diff_ids":[]}}`), nil)
		opts.ConfigDescriptor = &cfg
		opts.Layers = []ocispec.Descriptor{push(ocispec.MediaTypeImageLayerGzip, buf.Bytes(), nil)}
		opts.ManifestAnnotations = map[string]string{"module.wasm.image/variant": "compat"}
		version = oras.PackManifestVersion1_0
	case Plain:
		artifactType = "application/vnd.wasm.content.layer.v1+wasm"
		opts.Layers = []ocispec.Descriptor{push("application/wasm", module,
			map[string]string{ocispec.AnnotationTitle: "filter.wasm"})}
	}
	desc, err := oras.PackManifest(ctx, repo, version, artifactType, opts)
	if err != nil {
		tb.Fatalf("pack manifest: %v", err)
	}
	if err := repo.Tag(ctx, desc, repo.Reference.Reference); err != nil {
		tb.Fatalf("tag: %v", err)
	}
	return desc
}
