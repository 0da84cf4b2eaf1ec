package wasmimage

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
	"sort"
	"strings"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"oras.land/oras-go/v2"
	"oras.land/oras-go/v2/content"
	"sigs.k8s.io/yaml"
)

// ErrNoModule means an image was read but none of its shapes holds a wasm module.
var ErrNoModule = errors.New("no wasm module in the image")

// Default limits of ReadOptions.
const (
	DefaultMaxBlobSize     = 256 << 20 // a module (or compat archive, after gunzip)
	DefaultMaxMetadataSize = 4 << 20   // a manifest, config, README, schema or wasmctl.yaml
	maxIndexDepth          = 3
	maxIndexEntries        = 64
)

// ReadOptions bounds what Read fetches. The zero value uses the defaults.
type ReadOptions struct {
	// MaxBlobSize bounds the module and the compat archive (compressed and
	// uncompressed). Default DefaultMaxBlobSize.
	MaxBlobSize int64
	// MaxMetadataSize bounds manifests, configs and metadata files.
	// Default DefaultMaxMetadataSize.
	MaxMetadataSize int64
}

func (o ReadOptions) withDefaults() ReadOptions {
	if o.MaxBlobSize <= 0 {
		o.MaxBlobSize = DefaultMaxBlobSize
	}
	if o.MaxMetadataSize <= 0 {
		o.MaxMetadataSize = DefaultMaxMetadataSize
	}
	return o
}

// Image is a wasm filter read from an OCI store.
type Image struct {
	// Root is the descriptor Read was given (an index, or the manifest itself).
	Root ocispec.Descriptor
	// Descriptor is the image manifest that holds the module; its digest is
	// what Istio's WasmPlugin sha256 field pins.
	Descriptor ocispec.Descriptor
	// Manifest is that image manifest.
	Manifest ocispec.Manifest
	// Variant is the shape the module was found in.
	Variant Variant
	// Module is the wasm module; it starts with the wasm magic and version.
	Module []byte
	// ModuleLayer is the layer the module came from (the archive for compat).
	ModuleLayer ocispec.Descriptor
	// RuntimeConfig is the wasme runtime-config.json, when the image has one.
	RuntimeConfig *RuntimeConfig
	// Readme, Schema and ManifestFile are the README, the configuration's JSON
	// schema and the raw wasmctl.yaml, when the image carries them.
	Readme, Schema, ManifestFile []byte
	// Metadata is ManifestFile parsed, or nil when absent or unparsable.
	Metadata *Metadata
	// Files holds every small non-module file found, by layer title or
	// archive path (README.md, schema.json, spec.yaml, ...).
	Files map[string][]byte
	// Annotations are the image manifest's annotations.
	Annotations map[string]string
}

// ModuleDigest is the sha256 digest of the module bytes.
func (img *Image) ModuleDigest() digest.Digest { return digest.FromBytes(img.Module) }

// ReadRef resolves ref (a tag or a digest) on target and reads the image.
func ReadRef(ctx context.Context, target oras.ReadOnlyTarget, ref string, opts ReadOptions) (*Image, error) {
	desc, err := target.Resolve(ctx, ref)
	if err != nil {
		return nil, fmt.Errorf("resolve %s: %w", ref, err)
	}
	return Read(ctx, target, desc, opts)
}

// Read fetches the manifest desc from src (following an index to its wasm
// manifest) and extracts the module and its metadata. Sizes and digests of
// every blob are verified.
func Read(ctx context.Context, src content.ReadOnlyStorage, desc ocispec.Descriptor, opts ReadOptions) (*Image, error) {
	r := reader{src: src, opts: opts.withDefaults()}
	img, err := r.read(ctx, desc, 0)
	if err != nil {
		return nil, err
	}
	img.Root = desc
	return img, nil
}

type reader struct {
	src  content.ReadOnlyStorage
	opts ReadOptions
}

// manifestDoc covers image manifests, indexes, Docker manifests and lists,
// and the withdrawn OCI artifact manifest (blobs).
type manifestDoc struct {
	SchemaVersion int                  `json:"schemaVersion"`
	MediaType     string               `json:"mediaType,omitempty"`
	ArtifactType  string               `json:"artifactType,omitempty"`
	Config        *ocispec.Descriptor  `json:"config,omitempty"`
	Layers        []ocispec.Descriptor `json:"layers,omitempty"`
	Blobs         []ocispec.Descriptor `json:"blobs,omitempty"`
	Manifests     []ocispec.Descriptor `json:"manifests,omitempty"`
	Subject       *ocispec.Descriptor  `json:"subject,omitempty"`
	Annotations   map[string]string    `json:"annotations,omitempty"`
}

func (r *reader) fetch(ctx context.Context, desc ocispec.Descriptor, limit int64, what string) ([]byte, error) {
	if desc.Size < 0 || desc.Size > limit {
		return nil, fmt.Errorf("%s %s is %d bytes, over the %d byte limit", what, desc.Digest, desc.Size, limit)
	}
	if err := desc.Digest.Validate(); err != nil {
		return nil, fmt.Errorf("%s has an invalid digest %q: %w", what, desc.Digest, err)
	}
	rc, err := r.src.Fetch(ctx, desc)
	if err != nil {
		return nil, fmt.Errorf("fetch %s %s: %w", what, desc.Digest, err)
	}
	defer rc.Close()
	b, err := content.ReadAll(rc, desc)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", what, desc.Digest, err)
	}
	return b, nil
}

func isIndex(mt string) bool {
	return mt == ocispec.MediaTypeImageIndex || mt == MediaTypeDockerManifestList
}

func (r *reader) read(ctx context.Context, desc ocispec.Descriptor, depth int) (*Image, error) {
	raw, err := r.fetch(ctx, desc, r.opts.MaxMetadataSize, "manifest")
	if err != nil {
		return nil, err
	}
	var doc manifestDoc
	if err := json.Unmarshal(raw, &doc); err != nil {
		return nil, fmt.Errorf("manifest %s is not valid JSON: %w", desc.Digest, err)
	}
	mt := desc.MediaType
	if mt == "" {
		mt = doc.MediaType
	}
	if isIndex(mt) || (mt == "" && len(doc.Manifests) > 0) {
		return r.readIndex(ctx, desc, &doc, depth)
	}
	if len(doc.Manifests) > 0 && len(doc.Layers) == 0 && len(doc.Blobs) == 0 {
		return r.readIndex(ctx, desc, &doc, depth)
	}
	return r.readManifest(ctx, desc, &doc)
}

func (r *reader) readIndex(ctx context.Context, desc ocispec.Descriptor, doc *manifestDoc, depth int) (*Image, error) {
	if depth >= maxIndexDepth {
		return nil, fmt.Errorf("index %s: nested more than %d levels deep", desc.Digest, maxIndexDepth)
	}
	cands := make([]ocispec.Descriptor, 0, len(doc.Manifests))
	for _, m := range doc.Manifests {
		if len(cands) == maxIndexEntries {
			break
		}
		cands = append(cands, m)
	}
	rank := func(d ocispec.Descriptor) int {
		switch {
		case d.Platform != nil && (d.Platform.OS == "wasip1" || d.Platform.OS == "wasi" || d.Platform.Architecture == "wasm"):
			return 0
		case strings.Contains(d.ArtifactType, "wasm"):
			return 1
		default:
			return 2
		}
	}
	sort.SliceStable(cands, func(i, j int) bool { return rank(cands[i]) < rank(cands[j]) })
	var errs []error
	for _, c := range cands {
		img, err := r.read(ctx, c, depth+1)
		if err == nil {
			return img, nil
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		errs = append(errs, fmt.Errorf("%s: %w", c.Digest, err))
	}
	if len(errs) == 0 {
		return nil, fmt.Errorf("index %s lists no manifests: %w", desc.Digest, ErrNoModule)
	}
	return nil, fmt.Errorf("index %s: no listed manifest holds a wasm module: %w", desc.Digest, errors.Join(errs...))
}

// metadata kinds of a non-module file.
const (
	kindNone = iota
	kindReadme
	kindSchema
	kindManifest
	kindRuntimeConfig
	kindOther // small file worth keeping (spec.yaml, icons are skipped)
)

func fileKind(mediaType, name string) int {
	base := strings.ToLower(path.Base(name))
	switch {
	case mediaType == MediaTypeReadme || strings.HasPrefix(mediaType, "application/vnd.module.wasm.doc.") ||
		mediaType == "text/markdown" || (strings.HasPrefix(base, "readme") && strings.HasSuffix(base, ".md")):
		return kindReadme
	case mediaType == MediaTypeSchema || mediaType == "application/schema+json" ||
		base == FileSchema || base == "config.schema.json":
		return kindSchema
	case mediaType == MediaTypeManifest || base == FileManifest || base == "wasmctl.yml":
		return kindManifest
	case mediaType == MediaTypeWasmConfig || base == FileRuntimeConfig:
		return kindRuntimeConfig
	case strings.HasSuffix(base, ".yaml") || strings.HasSuffix(base, ".yml") || strings.HasSuffix(base, ".json") ||
		strings.HasSuffix(base, ".md") || strings.HasSuffix(mediaType, "+yaml") || strings.HasSuffix(mediaType, "+json") ||
		strings.HasSuffix(mediaType, "+markdown"):
		return kindOther
	}
	return kindNone
}

func (img *Image) addFile(kind int, name string, b []byte) {
	if img.Files == nil {
		img.Files = map[string][]byte{}
	}
	if name != "" {
		img.Files[name] = b
	}
	switch kind {
	case kindReadme:
		if img.Readme == nil || strings.EqualFold(path.Base(name), FileReadme) {
			img.Readme = b
		}
	case kindSchema:
		img.Schema = b
	case kindManifest:
		img.ManifestFile = b
	case kindRuntimeConfig:
		if rc, err := parseRuntimeConfig(b); err == nil && img.RuntimeConfig == nil {
			img.RuntimeConfig = rc
		}
	}
}

func isGzipLayer(mt string) bool {
	return mt == MediaTypeOCILayerGzip || mt == MediaTypeDockerLayer
}

func isWasmLayerType(mt string) bool {
	return mt == MediaTypeWasmLayer || mt == MediaTypeCNCFWasmLayer || mt == MediaTypeWasm
}

func (r *reader) readManifest(ctx context.Context, desc ocispec.Descriptor, doc *manifestDoc) (*Image, error) {
	layers := doc.Layers
	if len(layers) == 0 {
		layers = doc.Blobs
	}
	img := &Image{Descriptor: desc, Annotations: doc.Annotations}
	img.Manifest = ocispec.Manifest{
		MediaType: doc.MediaType, ArtifactType: doc.ArtifactType, Layers: layers,
		Subject: doc.Subject, Annotations: doc.Annotations,
	}
	img.Manifest.SchemaVersion = doc.SchemaVersion
	if doc.Config != nil {
		img.Manifest.Config = *doc.Config
		if doc.Config.MediaType == MediaTypeWasmConfig && doc.Config.Size > 0 {
			b, err := r.fetch(ctx, *doc.Config, r.opts.MaxMetadataSize, "runtime config")
			if err != nil {
				return nil, err
			}
			img.addFile(kindRuntimeConfig, "", b)
		}
	}
	if desc.MediaType == "" {
		img.Descriptor.MediaType = doc.MediaType
	}

	// Metadata layers: small files recognised by media type or title.
	used := make([]bool, len(layers))
	for i, l := range layers {
		title := l.Annotations[AnnotationTitle]
		kind := fileKind(l.MediaType, title)
		if kind == kindNone || isWasmLayerType(l.MediaType) || isGzipLayer(l.MediaType) || l.Size > r.opts.MaxMetadataSize {
			continue
		}
		if kind == kindRuntimeConfig && img.RuntimeConfig != nil && doc.Config != nil && l.Digest == doc.Config.Digest {
			used[i] = true
			continue
		}
		b, err := r.fetch(ctx, l, r.opts.MaxMetadataSize, "layer")
		if err != nil {
			return nil, err
		}
		used[i] = true
		img.addFile(kind, title, b)
	}

	if err := r.findModule(ctx, img, doc, layers, used); err != nil {
		return nil, err
	}
	if img.ManifestFile != nil {
		var m Metadata
		if yaml.Unmarshal(img.ManifestFile, &m) == nil {
			img.Metadata = &m
		}
	}
	return img, nil
}

func (r *reader) findModule(ctx context.Context, img *Image, doc *manifestDoc, layers []ocispec.Descriptor, used []bool) error {
	// 1. A raw wasm layer by media type (wasme "oci" variant, CNCF layout).
	for _, l := range layers {
		if !isWasmLayerType(l.MediaType) {
			continue
		}
		b, err := r.fetchModule(ctx, l)
		if err != nil {
			return err
		}
		img.Variant = VariantArtifact
		if l.MediaType == MediaTypeWasmLayer && len(layers) == 2 {
			img.Variant = VariantOCI
		}
		img.Module, img.ModuleLayer = b, l
		return nil
	}
	// 2. The compat variant: the last layer is a tar+gzip holding plugin.wasm.
	var compatErr error
	if n := len(layers); n > 0 && isGzipLayer(layers[n-1].MediaType) {
		l := layers[n-1]
		compatErr = r.readArchive(ctx, img, l)
		if compatErr == nil {
			img.Variant, img.ModuleLayer = VariantCompat, l
			return nil
		}
	}
	// 3. A plain artifact: a layer titled *.wasm, or any layer with the wasm magic.
	order := make([]int, 0, len(layers))
	for i, l := range layers {
		if strings.HasSuffix(strings.ToLower(l.Annotations[AnnotationTitle]), ".wasm") {
			order = append([]int{i}, order...)
		} else if !used[i] && !isGzipLayer(l.MediaType) {
			order = append(order, i)
		}
	}
	for _, i := range order {
		l := layers[i]
		if l.Size < 8 || l.Size > r.opts.MaxBlobSize {
			continue
		}
		ok, err := r.sniff(ctx, l)
		if err != nil {
			return err
		}
		if !ok {
			continue
		}
		b, err := r.fetchModule(ctx, l)
		if err != nil {
			return err
		}
		img.Variant, img.Module, img.ModuleLayer = VariantArtifact, b, l
		return nil
	}
	types := make([]string, len(layers))
	for i, l := range layers {
		types[i] = l.MediaType
	}
	err := fmt.Errorf("manifest %s (layers %v): %w; expected a %s layer, a last %s layer holding %s, or a layer whose content is a wasm module",
		img.Descriptor.Digest, types, ErrNoModule, MediaTypeWasmLayer, MediaTypeOCILayerGzip, FileModule)
	if compatErr != nil {
		return fmt.Errorf("%w (compat layer: %w)", err, compatErr)
	}
	return err
}

func checkMagic(b []byte) error {
	if len(b) < 8 || !bytes.Equal(b[:4], []byte("\x00asm")) {
		return errors.New("content is not a wasm module (missing the \\0asm magic)")
	}
	if !bytes.Equal(b[4:8], []byte{1, 0, 0, 0}) {
		return fmt.Errorf("wasm binary version %x is not 1", b[4:8])
	}
	return nil
}

func (r *reader) fetchModule(ctx context.Context, l ocispec.Descriptor) ([]byte, error) {
	b, err := r.fetch(ctx, l, r.opts.MaxBlobSize, "module layer")
	if err != nil {
		return nil, err
	}
	if err := checkMagic(b); err != nil {
		return nil, fmt.Errorf("module layer %s: %w", l.Digest, err)
	}
	return b, nil
}

// sniff reports whether a layer starts with the wasm magic, reading 8 bytes.
func (r *reader) sniff(ctx context.Context, l ocispec.Descriptor) (bool, error) {
	if l.Digest.Validate() != nil {
		return false, nil
	}
	rc, err := r.src.Fetch(ctx, l)
	if err != nil {
		return false, fmt.Errorf("fetch layer %s: %w", l.Digest, err)
	}
	defer rc.Close()
	var head [8]byte
	if _, err := io.ReadFull(rc, head[:]); err != nil {
		return false, nil
	}
	return checkMagic(head[:]) == nil, nil
}

// readArchive extracts plugin.wasm and metadata files from a compat layer.
func (r *reader) readArchive(ctx context.Context, img *Image, l ocispec.Descriptor) error {
	b, err := r.fetch(ctx, l, r.opts.MaxBlobSize, "compat layer")
	if err != nil {
		return err
	}
	mod, files, err := extractArchive(b, r.opts)
	if err != nil {
		return err
	}
	for _, f := range files {
		img.addFile(fileKind("", f.name), f.name, f.data)
	}
	img.Module = mod
	return nil
}

type archiveFile struct {
	name string
	data []byte
}

// extractArchive reads a tar+gzip archive and returns the content of the
// first file whose base name is plugin.wasm (as Istio does) and the small
// metadata files next to it.
func extractArchive(b []byte, opts ReadOptions) ([]byte, []archiveFile, error) {
	opts = opts.withDefaults()
	gz, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		return nil, nil, fmt.Errorf("layer is not gzip: %w", err)
	}
	defer gz.Close()
	budget := &io.LimitedReader{R: gz, N: opts.MaxBlobSize + 1}
	tr := tar.NewReader(budget)
	var mod []byte
	var files []archiveFile
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			if budget.N <= 0 {
				return nil, nil, fmt.Errorf("archive is larger than %d bytes uncompressed", opts.MaxBlobSize)
			}
			return nil, nil, fmt.Errorf("layer is not a tar archive: %w", err)
		}
		if h.Typeflag != tar.TypeReg && h.Typeflag != tar.TypeRegA {
			continue
		}
		name := strings.TrimPrefix(path.Clean("/"+h.Name), "/")
		if path.Base(name) == FileModule && mod == nil {
			if h.Size > opts.MaxBlobSize {
				return nil, nil, fmt.Errorf("%s is %d bytes, over the %d byte limit", FileModule, h.Size, opts.MaxBlobSize)
			}
			data, err := io.ReadAll(io.LimitReader(tr, h.Size))
			if err != nil || int64(len(data)) != h.Size {
				return nil, nil, fmt.Errorf("read %s: truncated archive", FileModule)
			}
			if err := checkMagic(data); err != nil {
				return nil, nil, fmt.Errorf("%s: %w", FileModule, err)
			}
			mod = data
			continue
		}
		if fileKind("", name) == kindNone || h.Size > opts.MaxMetadataSize {
			continue
		}
		data, err := io.ReadAll(io.LimitReader(tr, h.Size))
		if err != nil || int64(len(data)) != h.Size {
			return nil, nil, fmt.Errorf("read %s: truncated archive", name)
		}
		files = append(files, archiveFile{name, data})
	}
	if mod == nil {
		return nil, nil, fmt.Errorf("%s not found in the archive", FileModule)
	}
	return mod, files, nil
}
