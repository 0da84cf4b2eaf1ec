// Package wasmimage reads and writes proxy-wasm filters stored as OCI images.
//
// # Reading
//
// [Read] takes any oras-go store ([content.ReadOnlyStorage]: a remote
// repository, an OCI image layout, a memory store) and a manifest descriptor,
// and returns the wasm module with its metadata as an [Image]. [ReadRef]
// resolves a tag or digest on an [oras.ReadOnlyTarget] first. Every blob is
// fetched through [content.ReadAll], so sizes and digests are verified, and
// every blob is bounded by [ReadOptions.MaxBlobSize] (also after gunzip).
//
// Read accepts every shape a proxy-wasm filter image is found in:
//
//   - the "oci" variant written by wasme and WebAssembly Hub: config
//     [MediaTypeWasmConfig] (runtime-config.json) and exactly two layers, the
//     runtime config again and the raw module as [MediaTypeWasmLayer];
//   - the "compat" variant (OCI or Docker media types): the last layer is a
//     tar+gzip archive holding a file named plugin.wasm (and optionally
//     runtime-config.json, README.md, schema.json, wasmctl.yaml);
//   - a plain ORAS artifact: any manifest with a layer whose content is a wasm
//     module (recognised by media type, by a ".wasm" title, or by the
//     "\x00asm" magic when the layer is small enough to sniff);
//   - an image index or Docker manifest list: the wasm manifest is picked
//     (platform wasip1/wasm first, then the first manifest that holds a module);
//   - extra metadata anywhere: layers titled or typed as a README, a config
//     schema or a wasmctl.yaml manifest, the same files inside the compat
//     archive, and manifest annotations.
//
// [Image.Variant] says which shape was found.
//
// # Writing
//
// [Pack] is what `wasmctl build` and `wasmctl push` write. It produces the
// compat variant with the metadata as leading layers, which Istio's WasmPlugin
// fetcher (go-containerregistry, last layer tar+gzip holding plugin.wasm)
// reads unchanged:
//
//	config: application/vnd.oci.image.config.v1+json  (os wasip1, architecture wasm)
//	layers: wasmctl.yaml  application/vnd.wasmctl.filter.manifest.v1+yaml   (when present)
//	        README.md     application/vnd.module.wasm.doc.v1+markdown       (when present)
//	        schema.json   application/vnd.wasmctl.filter.schema.v1+json     (when present)
//	        plugin.tar.gz application/vnd.oci.image.layer.v1.tar+gzip       (plugin.wasm, last)
//	annotations: module.wasm.image/variant=compat, module.wasm.runtime/abi_version,
//	             org.opencontainers.image.{title,description,version,licenses,source}
//
// The archive is deterministic (zero timestamps), so the same inputs always
// give the same manifest digest. [PackOptions.Variant] = [VariantOCI] writes
// wasme's two-layer shape instead (metadata then travels only as annotations).
//
// # Modules
//
// [ParseModule] reads a module's imports, exports and proxy-wasm ABI version
// markers without compiling it; it is what `wasmctl build` validates and what
// `wasmctl inspect` prints.
package wasmimage
