package wasmimage

import ocispec "github.com/opencontainers/image-spec/specs-go/v1"

// Media types of the wasm image shapes.
const (
	// MediaTypeWasmConfig is the runtime config of the wasme "oci" variant.
	MediaTypeWasmConfig = "application/vnd.module.wasm.config.v1+json"
	// MediaTypeWasmLayer is the raw module layer of the wasme "oci" variant.
	MediaTypeWasmLayer = "application/vnd.module.wasm.content.layer.v1+wasm"
	// MediaTypeCNCFWasmLayer is the module layer of the CNCF wasm OCI artifact layout.
	MediaTypeCNCFWasmLayer = "application/vnd.wasm.content.layer.v1+wasm"
	// MediaTypeWasm is the IANA media type of a wasm module.
	MediaTypeWasm = "application/wasm"
	// MediaTypeOCILayerGzip is the compat variant's layer (tar+gzip holding plugin.wasm).
	MediaTypeOCILayerGzip = ocispec.MediaTypeImageLayerGzip
	// MediaTypeDockerLayer is the compat variant's layer in Docker images.
	MediaTypeDockerLayer = "application/vnd.docker.image.rootfs.diff.tar.gzip"
	// MediaTypeDockerManifest is a Docker image manifest (schema 2).
	MediaTypeDockerManifest = "application/vnd.docker.distribution.manifest.v2+json"
	// MediaTypeDockerManifestList is a Docker manifest list.
	MediaTypeDockerManifestList = "application/vnd.docker.distribution.manifest.list.v2+json"

	// MediaTypeReadme is a README layer (the media type Higress uses too).
	MediaTypeReadme = "application/vnd.module.wasm.doc.v1+markdown"
	// MediaTypeSchema is a JSON schema of the filter's configuration.
	MediaTypeSchema = "application/vnd.wasmctl.filter.schema.v1+json"
	// MediaTypeManifest is the wasmctl.yaml filter manifest.
	MediaTypeManifest = "application/vnd.wasmctl.filter.manifest.v1+yaml"
)

// Annotations read and written on manifests.
const (
	AnnotationVariant     = "module.wasm.image/variant"
	AnnotationABIVersion  = "module.wasm.runtime/abi_version"
	AnnotationRuntimeType = "module.wasm.runtime/type"
	AnnotationTitle       = ocispec.AnnotationTitle
	// AnnotationCategories and AnnotationKeywords carry wasmctl.yaml's
	// categories and keywords, comma-separated, so that every image variant
	// (the two-layer "oci" one has no room for the manifest file) keeps them.
	AnnotationCategories = "io.wasmctl.categories"
	AnnotationKeywords   = "io.wasmctl.keywords"
)

// File names inside a compat archive and in layer titles.
const (
	FileModule        = "plugin.wasm"
	FileRuntimeConfig = "runtime-config.json"
	FileReadme        = "README.md"
	FileSchema        = "schema.json"
	FileManifest      = "wasmctl.yaml"
	FileArchive       = "plugin.tar.gz"
)

// Variant names the shape an image was found in.
type Variant string

// The shapes Read recognises.
const (
	VariantOCI      Variant = "oci"      // wasme two-layer image with raw wasm layer
	VariantCompat   Variant = "compat"   // last layer tar+gzip holding plugin.wasm
	VariantArtifact Variant = "artifact" // plain artifact with a raw wasm layer
)
