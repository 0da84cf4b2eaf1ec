package wasmimage_test

import (
	"context"
	"fmt"

	"oras.land/oras-go/v2/content/memory"

	"github.com/wasmctl/wasmctl/internal/wasmimage"
)

// Pack a module with its metadata into a store, then read it back as any
// consumer (the runtime's cache, the hub's indexer, `wasmctl pull`) does.
func Example() {
	ctx := context.Background()
	module := []byte("\x00asm\x01\x00\x00\x00" +
		"\x01\x04\x01\x60\x00\x00\x03\x02\x01\x00" +
		"\x07\x1b\x01\x17proxy_abi_version_0_2_1\x00\x00" +
		"\x0a\x04\x01\x02\x00\x0b")
	store := memory.New() // or oci.New(dir), or remote.NewRepository(ref)
	desc, err := wasmimage.Pack(ctx, store, module, wasmimage.PackOptions{
		Readme:       []byte("# add-header\n"),
		ManifestFile: []byte("name: add-header\nversion: 1.0.0\n"),
	})
	if err != nil {
		panic(err)
	}
	img, err := wasmimage.Read(ctx, store, desc, wasmimage.ReadOptions{})
	if err != nil {
		panic(err)
	}
	info, _ := wasmimage.ParseModule(img.Module)
	fmt.Println(img.Variant, len(img.Manifest.Layers), "layers")
	fmt.Println(img.Metadata.Name, img.Metadata.Version, info.ABIVersions)
	fmt.Printf("%s", img.Readme)
	// Output:
	// compat 3 layers
	// add-header 1.0.0 [0.2.1]
	// # add-header
}
