package index

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"oras.land/oras-go/v2/content"

	"github.com/wasmctl/wasmctl/internal/wasmimage"
)

// AnnotationCategories is a manifest annotation holding comma-separated
// categories, read when the image carries no wasmctl.yaml (the two-layer
// "oci" variant has room for annotations only).
const AnnotationCategories = wasmimage.AnnotationCategories

// AnnotationKeywords is a manifest annotation holding comma-separated
// keywords: extra search terms that, unlike categories, are not browsable
// facets (for example "ratelimit,token-bucket,throttle").
const AnnotationKeywords = wasmimage.AnnotationKeywords

// errNotFilter means that a manifest is a valid OCI object but carries no wasm
// module (a signature, an SBOM, a container image): it is not indexed.
var errNotFilter = wasmimage.ErrNoModule

// Image is what the index records about one pushed manifest.
type Image struct {
	// Format is the shape the module was found in: "oci" (wasme two-layer),
	// "compat" (tar+gzip holding plugin.wasm) or "artifact" (a plain ORAS
	// artifact with a raw wasm layer).
	Format string
	// MediaType is the media type of the manifest the tag points at.
	MediaType string
	// Size is the manifest plus config plus all layers, in bytes.
	Size int64
	// WasmSize is the size of the wasm module itself.
	WasmSize int64
	// ABIVersions are read from the module's proxy_abi_version_* exports,
	// falling back on the runtime config and the
	// module.wasm.runtime/abi_version annotation.
	ABIVersions []string
	// Created is the org.opencontainers.image.created annotation, if any.
	Created time.Time
	// Metadata is what the publisher wrote about the filter.
	Metadata Metadata
}

// Metadata is the publisher-supplied description of a filter version.
type Metadata struct {
	Description string   `json:"description,omitempty"`
	README      string   `json:"readme,omitempty"`
	Schema      string   `json:"schema,omitempty"`
	Categories  []string `json:"categories,omitempty"`
	Keywords    []string `json:"keywords,omitempty"`
	License     string   `json:"license,omitempty"`
	Source      string   `json:"source,omitempty"`
}

// Inspector reads one manifest (and the blobs it points to) from a
// repository. ReadImage is the default.
type Inspector func(ctx context.Context, repo content.ReadOnlyStorage, manifest ocispec.Descriptor) (*Image, error)

// ReadImage reads the image desc from repo with internal/wasmimage (every
// shape of DESIGN.md point 6, digests and sizes verified, blobs bounded) and
// returns what the index records. It returns an error wrapping
// wasmimage.ErrNoModule when the manifest carries no wasm module.
func ReadImage(ctx context.Context, repo content.ReadOnlyStorage, desc ocispec.Descriptor) (*Image, error) {
	w, err := wasmimage.Read(ctx, repo, desc, wasmimage.ReadOptions{})
	if err != nil {
		return nil, err
	}
	img := &Image{Format: string(w.Variant), MediaType: desc.MediaType, WasmSize: int64(len(w.Module))}
	img.Size = w.Descriptor.Size + w.Manifest.Config.Size
	for _, l := range w.Manifest.Layers {
		img.Size += l.Size
	}
	if w.Root.Digest != w.Descriptor.Digest {
		img.Size += w.Root.Size
	}
	ann := w.Annotations
	if c := ann[ocispec.AnnotationCreated]; c != "" {
		if t, err := time.Parse(time.RFC3339, c); err == nil {
			img.Created = t.UTC()
		}
	}
	abis, err := ABIVersions(w.Module)
	if err != nil {
		return nil, fmt.Errorf("wasm module of %s: %w", desc.Digest, err)
	}
	if len(abis) == 0 && w.RuntimeConfig != nil {
		abis = normaliseABIs(w.RuntimeConfig.ABIVersions)
	}
	if len(abis) == 0 {
		abis = normaliseABIs(splitList(ann[wasmimage.AnnotationABIVersion]))
	}
	img.ABIVersions = abis

	md := &img.Metadata
	md.README = string(w.Readme)
	md.Schema = string(w.Schema)
	md.Description = ann[ocispec.AnnotationDescription]
	md.License = ann[ocispec.AnnotationLicenses]
	md.Source = ann[ocispec.AnnotationSource]
	if md.Source == "" {
		md.Source = ann[ocispec.AnnotationURL]
	}
	md.Categories = splitList(ann[AnnotationCategories])
	md.Keywords = splitList(ann[AnnotationKeywords])
	if m := w.Metadata; m != nil {
		md.Description = cmpOr(md.Description, m.Description)
		md.License = cmpOr(md.License, m.License)
		md.Source = cmpOr(md.Source, m.Source)
		if len(md.Categories) == 0 {
			md.Categories = splitList(strings.Join(m.Categories, ","))
		}
		if len(md.Keywords) == 0 {
			md.Keywords = splitList(strings.Join(m.Keywords, ","))
		}
	}
	return img, nil
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// normaliseABIs turns "v0.2.1", "0_2_1" and "proxy_abi_version_0_2_1" into
// "0.2.1", dropping what does not look like a version.
func normaliseABIs(in []string) []string {
	var out []string
	for _, v := range in {
		v = strings.TrimPrefix(strings.TrimPrefix(strings.ToLower(strings.TrimSpace(v)), abiPrefix), "v")
		v = strings.ReplaceAll(v, "_", ".")
		if v != "" && strings.Count(v, ".") == 2 && strings.Trim(v, "0123456789.") == "" {
			out = append(out, v)
		}
	}
	return out
}

// isNoModule reports whether err means "not a filter".
func isNoModule(err error) bool { return errors.Is(err, errNotFilter) }

// splitList splits a comma-separated list into trimmed, lower-case,
// non-empty items without duplicates.
func splitList(s string) []string {
	var out []string
	seen := map[string]bool{}
	for _, p := range strings.Split(s, ",") {
		p = strings.ToLower(strings.TrimSpace(p))
		if p != "" && !seen[p] {
			seen[p] = true
			out = append(out, p)
		}
	}
	return out
}
