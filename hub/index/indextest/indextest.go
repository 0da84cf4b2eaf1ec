// Package indextest pushes real wasm filter images to a real registry for the
// tests of the hub's index, web UI and API. It writes the shapes of DESIGN.md
// point 6 by hand (not through the code under test), so that the readers are
// checked against an independent writer.
package indextest

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/opencontainers/go-digest"
	specs "github.com/opencontainers/image-spec/specs-go"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"oras.land/oras-go/v2/registry/remote"
)

// Module returns a small valid WebAssembly module that exports one empty
// function per name in exports (for example "proxy_abi_version_0_2_1").
func Module(exports ...string) []byte {
	sec := func(id byte, body []byte) []byte {
		return append(append([]byte{id}, uleb(len(body))...), body...)
	}
	n := len(exports)
	m := []byte("\x00asm\x01\x00\x00\x00")
	m = append(m, sec(1, []byte{1, 0x60, 0, 0})...)
	fn := uleb(n)
	for range exports {
		fn = append(fn, 0)
	}
	m = append(m, sec(3, fn)...)
	ex := uleb(n)
	for i, e := range exports {
		ex = append(ex, uleb(len(e))...)
		ex = append(ex, e...)
		ex = append(ex, 0)
		ex = append(ex, uleb(i)...)
	}
	m = append(m, sec(7, ex)...)
	code := uleb(n)
	for range exports {
		code = append(code, 2, 0, 0x0b)
	}
	return append(m, sec(10, code)...)
}

func uleb(v int) []byte {
	var out []byte
	for {
		c := byte(v & 0x7f)
		v >>= 7
		if v != 0 {
			out = append(out, c|0x80)
			continue
		}
		return append(out, c)
	}
}

// Variant is an image shape.
type Variant string

// The shapes Push writes.
const (
	Compat Variant = "compat" // metadata layers, then tar+gzip holding plugin.wasm (what wasmctl push writes)
	OCI    Variant = "oci"    // wasme's 2-layer image
	Plain  Variant = "plain"  // one raw wasm layer, as `oras push x.wasm` makes
)

// Image describes what to push.
type Image struct {
	Variant     Variant
	Wasm        []byte
	README      string
	Schema      string
	Annotations map[string]string
}

// Push writes img to host/repo:tag (plain HTTP) and returns the manifest
// descriptor.
func Push(tb testing.TB, host, repo, tag string, img Image) ocispec.Descriptor {
	tb.Helper()
	ctx := context.Background()
	r, err := remote.NewRepository(host + "/" + repo)
	if err != nil {
		tb.Fatal(err)
	}
	r.PlainHTTP = true
	push := func(mt string, b []byte, title string) ocispec.Descriptor {
		tb.Helper()
		d := ocispec.Descriptor{MediaType: mt, Digest: digest.FromBytes(b), Size: int64(len(b))}
		if title != "" {
			d.Annotations = map[string]string{ocispec.AnnotationTitle: title}
		}
		if err := r.Push(ctx, d, bytes.NewReader(b)); err != nil {
			tb.Fatalf("push blob %s: %v", title, err)
		}
		return d
	}
	m := ocispec.Manifest{Versioned: specs.Versioned{SchemaVersion: 2}, MediaType: ocispec.MediaTypeImageManifest,
		Annotations: img.Annotations}
	switch img.Variant {
	case OCI:
		cfg := []byte(`{"type":"envoy_proxy","abiVersions":["v0.2.1"]}`)
		m.Config = push("application/vnd.module.wasm.config.v1+json", cfg, "runtime-config.json")
		m.Layers = []ocispec.Descriptor{m.Config, push("application/vnd.module.wasm.content.layer.v1+wasm", img.Wasm, "filter.wasm")}
	case Plain:
		m.ArtifactType = "application/vnd.wasmctl.filter.v1"
		m.Config = ocispec.DescriptorEmptyJSON
		push(ocispec.MediaTypeEmptyJSON, []byte("{}"), "")
		m.Layers = []ocispec.Descriptor{push("application/wasm", img.Wasm, "filter.wasm")}
	default:
		cfg := []byte(`{"architecture":"wasm","os":"wasip1","rootfs":{"type":"layers","diff_ids":[]}}`)
		m.Config = push(ocispec.MediaTypeImageConfig, cfg, "")
		if img.README != "" {
			m.Layers = append(m.Layers, push("application/vnd.module.wasm.doc.v1+markdown", []byte(img.README), "README.md"))
		}
		if img.Schema != "" {
			m.Layers = append(m.Layers, push("application/vnd.wasmctl.filter.schema.v1+json", []byte(img.Schema), "schema.json"))
		}
		m.Layers = append(m.Layers, push(ocispec.MediaTypeImageLayerGzip, TarGz(map[string][]byte{"plugin.wasm": img.Wasm}), "plugin.tar.gz"))
	}
	raw, err := json.Marshal(m)
	if err != nil {
		tb.Fatal(err)
	}
	d := ocispec.Descriptor{MediaType: m.MediaType, Digest: digest.FromBytes(raw), Size: int64(len(raw))}
	if err := r.PushReference(ctx, d, bytes.NewReader(raw), tag); err != nil {
		tb.Fatalf("push manifest %s:%s: %v", repo, tag, err)
	}
	return d
}

// TarGz returns a gzip-compressed tar archive of files.
func TarGz(files map[string][]byte) []byte {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	for name, b := range files {
		tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(b)), Typeflag: tar.TypeReg})
		tw.Write(b)
	}
	tw.Close()
	zw.Close()
	return buf.Bytes()
}

// Repository opens host/repo over plain HTTP for reading.
func Repository(tb testing.TB, host, repo string) *remote.Repository {
	tb.Helper()
	r, err := remote.NewRepository(host + "/" + repo)
	if err != nil {
		tb.Fatal(err)
	}
	r.PlainHTTP = true
	return r
}

// Source reads the registry at host over HTTP, listing its repositories from
// its filesystem storage under dir (internal/testregistry leaves the
// /v2/_catalog endpoint at distribution's default of zero entries).
func Source(tb testing.TB, host, dir string) *FSCatalogSource {
	tb.Helper()
	reg, err := remote.NewRegistry(host)
	if err != nil {
		tb.Fatal(err)
	}
	reg.PlainHTTP = true
	return &FSCatalogSource{Registry: reg, Dir: dir}
}

// FSCatalogSource is an index.Source over a remote registry whose repository
// list is read from distribution's filesystem layout.
type FSCatalogSource struct {
	Registry *remote.Registry
	Dir      string
}

// Repositories lists the repositories found under Dir in one page.
func (s *FSCatalogSource) Repositories(ctx context.Context, last string, fn func([]string) error) error {
	root := filepath.Join(s.Dir, "docker", "registry", "v2", "repositories")
	var repos []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if os.IsNotExist(err) {
				return nil
			}
			return err
		}
		if d.IsDir() && d.Name() == "_manifests" {
			rel, _ := filepath.Rel(root, filepath.Dir(p))
			if rel > last {
				repos = append(repos, filepath.ToSlash(rel))
			}
			return filepath.SkipDir
		}
		if d.IsDir() && strings.HasPrefix(d.Name(), "_") {
			return filepath.SkipDir
		}
		return nil
	})
	if err != nil || len(repos) == 0 {
		return err
	}
	sort.Strings(repos)
	return fn(repos)
}

// Repository opens one repository over HTTP.
func (s *FSCatalogSource) Repository(ctx context.Context, name string) (*remote.Repository, error) {
	r, err := s.Registry.Repository(ctx, name)
	if err != nil {
		return nil, err
	}
	return r.(*remote.Repository), nil
}
