package index

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path"
	"strings"
	"time"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"oras.land/oras-go/v2/content"
	"sigs.k8s.io/yaml"
)

// Media types and annotations the index understands. They follow DESIGN.md
// point 6: the wasme/Istio "oci" variant, the "compat" tar+gzip variant with
// plugin.wasm, and a plain single-layer ORAS artifact.
const (
	MediaTypeWasmLayer    = "application/vnd.module.wasm.content.layer.v1+wasm"
	MediaTypeWasmConfig   = "application/vnd.module.wasm.config.v1+json"
	MediaTypeWasm         = "application/wasm"
	MediaTypeMarkdown     = "text/markdown"
	MediaTypeReadme       = "application/vnd.module.wasm.doc.v1+markdown"
	MediaTypeSchema       = "application/vnd.wasmctl.filter.schema.v1+json"
	MediaTypeJSONSchema   = "application/schema+json"
	MediaTypeManifest     = "application/vnd.wasmctl.filter.manifest.v1+yaml"
	mediaTypeDockerV2     = "application/vnd.docker.distribution.manifest.v2+json"
	mediaTypeDockerTarGz  = "application/vnd.docker.image.rootfs.diff.tar.gzip"
	annotationABI         = "module.wasm.runtime/abi_version"
	annotationCategories  = "io.wasmctl.categories"
	annotationDescription = ocispec.AnnotationDescription
)

// Limits on what the indexer reads from storage, so that one hostile push
// cannot exhaust memory.
const (
	maxManifestSize = 4 << 20
	maxWasmSize     = 128 << 20
	maxDocSize      = 1 << 20
)

// errNotFilter means that a manifest is a valid OCI object but carries no wasm
// module (a signature, an SBOM, a container image): it is not indexed.
var errNotFilter = errors.New("manifest carries no wasm module")

// Image is what the index reads from one pushed manifest.
type Image struct {
	// Format is "oci" (wasme 2-layer), "compat" (tar+gzip with plugin.wasm)
	// or "plain" (a raw wasm layer, as `oras push x.wasm` makes).
	Format string
	// MediaType is the manifest's media type.
	MediaType string
	// Size is the manifest plus config plus all layers, in bytes.
	Size int64
	// WasmSize is the size of the wasm module itself.
	WasmSize int64
	// ABIVersions are read from the module's proxy_abi_version_* exports,
	// falling back on the module.wasm.runtime/abi_version annotation.
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
	License     string   `json:"license,omitempty"`
	Source      string   `json:"source,omitempty"`
}

// Inspector reads one manifest (and the blobs it points to) from a
// repository. ReadImage is the built-in implementation; Config.Inspect can
// replace it (for example with internal/wasmimage).
type Inspector func(ctx context.Context, repo content.Fetcher, manifest ocispec.Descriptor) (*Image, error)

// ReadImage inspects the manifest desc in repo and returns what the index
// records about it. It returns an error wrapping errNotFilter when the
// manifest is well formed but carries no wasm module.
func ReadImage(ctx context.Context, repo content.Fetcher, desc ocispec.Descriptor) (*Image, error) {
	if desc.Size > maxManifestSize {
		return nil, fmt.Errorf("manifest %s is %d bytes, over the %d-byte limit", desc.Digest, desc.Size, maxManifestSize)
	}
	raw, err := content.FetchAll(ctx, repo, desc)
	if err != nil {
		return nil, fmt.Errorf("fetch manifest %s: %w", desc.Digest, err)
	}
	var m ocispec.Manifest
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, fmt.Errorf("parse manifest %s: %w", desc.Digest, err)
	}
	mt := desc.MediaType
	if mt == "" {
		mt = m.MediaType
	}
	switch mt {
	case ocispec.MediaTypeImageManifest, mediaTypeDockerV2, "":
	default:
		return nil, fmt.Errorf("%w: media type %s", errNotFilter, mt)
	}
	img := &Image{MediaType: mt, Size: int64(len(raw)) + m.Config.Size}
	for _, l := range m.Layers {
		img.Size += l.Size
	}
	ann := m.Annotations
	if c := ann[ocispec.AnnotationCreated]; c != "" {
		if t, err := time.Parse(time.RFC3339, c); err == nil {
			img.Created = t.UTC()
		}
	}
	md := &img.Metadata
	md.Description = ann[annotationDescription]
	md.License = ann[ocispec.AnnotationLicenses]
	md.Source = ann[ocispec.AnnotationSource]
	if md.Source == "" {
		md.Source = ann[ocispec.AnnotationURL]
	}
	md.Categories = splitList(ann[annotationCategories])

	var wasm []byte
	for i, l := range m.Layers {
		title := strings.ToLower(l.Annotations[ocispec.AnnotationTitle])
		base := path.Base(title)
		switch {
		case l.MediaType == MediaTypeWasmLayer || l.MediaType == MediaTypeWasm ||
			(strings.HasSuffix(base, ".wasm") && !isTarGz(l.MediaType)):
			if wasm, err = fetchLimited(ctx, repo, l, maxWasmSize); err != nil {
				return nil, err
			}
			img.Format = "plain"
			if len(m.Layers) == 2 && l.MediaType == MediaTypeWasmLayer {
				img.Format = "oci"
			}
		case isTarGz(l.MediaType) && i == len(m.Layers)-1 && wasm == nil:
			blob, err := fetchLimited(ctx, repo, l, maxWasmSize)
			if err != nil {
				return nil, err
			}
			files, err := untarGz(blob, maxWasmSize)
			if err != nil {
				return nil, fmt.Errorf("layer %s: %w", l.Digest, err)
			}
			if w, ok := files["plugin.wasm"]; ok {
				wasm, img.Format = w, "compat"
			}
			if r, ok := files["readme.md"]; ok && md.README == "" {
				md.README = string(r)
			}
			if s, ok := files["schema.json"]; ok && md.Schema == "" {
				md.Schema = string(s)
			}
			if y, ok := files["wasmctl.yaml"]; ok {
				mergeManifest(md, y)
			}
		case l.MediaType == MediaTypeManifest || base == "wasmctl.yaml":
			b, err := fetchLimited(ctx, repo, l, maxDocSize)
			if err != nil {
				return nil, err
			}
			mergeManifest(md, b)
		case l.MediaType == MediaTypeReadme || l.MediaType == MediaTypeMarkdown || base == "readme.md":
			b, err := fetchLimited(ctx, repo, l, maxDocSize)
			if err != nil {
				return nil, err
			}
			md.README = string(b)
		case l.MediaType == MediaTypeSchema || l.MediaType == MediaTypeJSONSchema || base == "schema.json":
			b, err := fetchLimited(ctx, repo, l, maxDocSize)
			if err != nil {
				return nil, err
			}
			md.Schema = string(b)
		}
	}
	if wasm == nil {
		return nil, errNotFilter
	}
	img.WasmSize = int64(len(wasm))
	if v, err := ABIVersions(wasm); err == nil && len(v) > 0 {
		img.ABIVersions = v
	} else if err != nil {
		return nil, fmt.Errorf("wasm layer of %s: %w", desc.Digest, err)
	} else {
		img.ABIVersions = splitList(ann[annotationABI])
	}
	return img, nil
}

func isTarGz(mt string) bool {
	return mt == ocispec.MediaTypeImageLayerGzip || mt == mediaTypeDockerTarGz
}

func fetchLimited(ctx context.Context, repo content.Fetcher, d ocispec.Descriptor, limit int64) ([]byte, error) {
	if d.Size > limit {
		return nil, fmt.Errorf("blob %s is %d bytes, over the %d-byte limit", d.Digest, d.Size, limit)
	}
	b, err := content.FetchAll(ctx, repo, d)
	if err != nil {
		return nil, fmt.Errorf("fetch blob %s: %w", d.Digest, err)
	}
	return b, nil
}

// untarGz returns the regular files of a tar+gzip blob, keyed by lower-case
// base name, reading at most limit bytes in total.
func untarGz(blob []byte, limit int64) (map[string][]byte, error) {
	zr, err := gzip.NewReader(bytes.NewReader(blob))
	if err != nil {
		return nil, err
	}
	tr := tar.NewReader(io.LimitReader(zr, limit))
	files := map[string][]byte{}
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return files, nil
		}
		if err != nil {
			return nil, err
		}
		if h.Typeflag != tar.TypeReg {
			continue
		}
		b, err := io.ReadAll(tr)
		if err != nil {
			return nil, err
		}
		files[strings.ToLower(path.Base(h.Name))] = b
	}
}

// splitList splits a comma-separated annotation into trimmed, lower-case,
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

// mergeManifest fills the empty fields of md from a wasmctl.yaml document
// (description, categories, license, source). A malformed document is
// ignored: the annotations still describe the filter.
func mergeManifest(md *Metadata, doc []byte) {
	var m struct {
		Description string   `json:"description"`
		Categories  []string `json:"categories"`
		License     string   `json:"license"`
		Source      string   `json:"source"`
	}
	if yaml.Unmarshal(doc, &m) != nil {
		return
	}
	if md.Description == "" {
		md.Description = m.Description
	}
	if len(md.Categories) == 0 {
		md.Categories = splitList(strings.Join(m.Categories, ","))
	}
	if md.License == "" {
		md.License = m.License
	}
	if md.Source == "" {
		md.Source = m.Source
	}
}
