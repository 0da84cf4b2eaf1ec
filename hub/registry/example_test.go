package registry_test

import (
	"context"
	"fmt"
	"net/http/httptest"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"oras.land/oras-go/v2"
	"oras.land/oras-go/v2/registry/remote"

	"github.com/wasmctl/wasmctl/hub/registry"
)

// A registry on the in-memory driver, served over HTTP, with a listener
// that hears about pushes; oras-go pushes a tagged artifact to it.
func ExampleNew() {
	ctx := context.Background()
	reg, err := registry.New(ctx, registry.Config{
		Driver: "inmemory",
		Listener: registry.ListenerFunc(func(_ context.Context, ev registry.Event) {
			if ev.Tag != "" {
				fmt.Printf("%s %s:%s\n", ev.Action, ev.Repository, ev.Tag)
			}
		}),
	})
	if err != nil {
		panic(err)
	}
	srv := httptest.NewServer(reg)
	defer srv.Close()

	repo, _ := remote.NewRepository(srv.Listener.Addr().String() + "/alice/hello")
	repo.PlainHTTP = true
	desc, _ := oras.PushBytes(ctx, repo, "application/vnd.module.wasm.content.layer.v1+wasm", []byte("\x00asm\x01\x00\x00\x00"))
	man, _ := oras.PackManifest(ctx, repo, oras.PackManifestVersion1_1, "application/vnd.example",
		oras.PackManifestOptions{Layers: []ocispec.Descriptor{desc}})
	repo.Tag(ctx, man, "v1")

	r, _ := reg.Repository(ctx, "alice/hello")
	r.Tags(ctx, "", func(tags []string) error { fmt.Println("tags:", tags); return nil })
	// Output:
	// push alice/hello:v1
	// tags: [v1]
}
