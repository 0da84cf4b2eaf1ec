package wasmimage

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"testing"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"oras.land/oras-go/v2/errdef"
)

// mapStore is a content.ReadOnlyStorage that serves whatever bytes it holds
// under a digest without checking them, so tests can corrupt content.
type mapStore map[digest.Digest][]byte

func (s mapStore) Fetch(_ context.Context, d ocispec.Descriptor) (io.ReadCloser, error) {
	b, ok := s[d.Digest]
	if !ok {
		return nil, fmt.Errorf("%s: %w", d.Digest, errdef.ErrNotFound)
	}
	return io.NopCloser(bytes.NewReader(b)), nil
}

func (s mapStore) Exists(_ context.Context, d ocispec.Descriptor) (bool, error) {
	_, ok := s[d.Digest]
	return ok, nil
}

// add stores b and returns its descriptor with an optional title.
func (s mapStore) add(mediaType string, b []byte, title string) ocispec.Descriptor {
	d := ocispec.Descriptor{MediaType: mediaType, Digest: digest.FromBytes(b), Size: int64(len(b))}
	if title != "" {
		d.Annotations = map[string]string{AnnotationTitle: title}
	}
	s[d.Digest] = b
	return d
}

// addJSON stores v as JSON.
func (s mapStore) addJSON(t testing.TB, mediaType string, v any) ocispec.Descriptor {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return s.add(mediaType, b, "")
}

// section appends a wasm section.
func section(id byte, body []byte) []byte {
	return append(append([]byte{id}, uleb(uint64(len(body)))...), body...)
}

func uleb(v uint64) []byte {
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

func wname(s string) []byte { return append(uleb(uint64(len(s))), s...) }

// tinyModule is a valid wasm module importing env.proxy_log and exporting
// one function per name (all the same empty function of type () -> ()).
func tinyModule(imports []string, exports ...string) []byte {
	m := []byte("\x00asm\x01\x00\x00\x00")
	m = append(m, section(1, []byte{1, 0x60, 0, 0})...)
	if len(imports) > 0 {
		body := uleb(uint64(len(imports)))
		for _, imp := range imports {
			body = append(body, wname("env")...)
			body = append(body, wname(imp)...)
			body = append(body, 0, 0)
		}
		m = append(m, section(2, body)...)
	}
	m = append(m, section(3, []byte{1, 0})...)
	body := uleb(uint64(len(exports)))
	for _, e := range exports {
		body = append(body, wname(e)...)
		body = append(body, 0)
		body = append(body, uleb(uint64(len(imports)))...)
	}
	m = append(m, section(7, body)...)
	m = append(m, section(10, []byte{1, 2, 0, 0x0b})...)
	return m
}

var testModule = tinyModule([]string{"proxy_log"}, "proxy_abi_version_0_2_1", "proxy_on_context_create")

type tarFile struct {
	name string
	data []byte
}

func tarGz(t testing.TB, files ...tarFile) []byte {
	t.Helper()
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	for _, f := range files {
		if err := tw.WriteHeader(&tar.Header{Name: f.name, Mode: 0o644, Size: int64(len(f.data)), Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write(f.data); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := gz.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// manifest stores an OCI image manifest and returns its descriptor.
func (s mapStore) manifest(t testing.TB, mediaType string, config ocispec.Descriptor, layers []ocispec.Descriptor, annotations map[string]string) ocispec.Descriptor {
	t.Helper()
	m := map[string]any{"schemaVersion": 2, "mediaType": mediaType, "config": config, "layers": layers}
	if annotations != nil {
		m["annotations"] = annotations
	}
	return s.addJSON(t, mediaType, m)
}
