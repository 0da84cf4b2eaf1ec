package author

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"oras.land/oras-go/v2"
	"oras.land/oras-go/v2/content"
	"oras.land/oras-go/v2/content/oci"
	"oras.land/oras-go/v2/errdef"
)

// StoreEnv names the environment variable that overrides the local image
// store's directory.
const StoreEnv = "WASMCTL_STORE"

// DefaultStoreDir is where built and tagged images live: $WASMCTL_STORE, or
// $XDG_DATA_HOME/wasmctl/images, or ~/.local/share/wasmctl/images.
func DefaultStoreDir() string {
	if d := os.Getenv(StoreEnv); d != "" {
		return d
	}
	if d := os.Getenv("XDG_DATA_HOME"); d != "" {
		return filepath.Join(d, "wasmctl", "images")
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return filepath.Join(os.TempDir(), "wasmctl-images")
	}
	return filepath.Join(home, ".local", "share", "wasmctl", "images")
}

// Store is the local image store: an OCI image layout directory (readable by
// oras --oci-layout, crane and skopeo) whose tags are image references such
// as "myfilter:0.1.0" or "registry.example.com/filters/myfilter:0.1.0".
type Store struct {
	Dir string
	oci *oci.Store
}

// OpenStore opens (creating it if needed) the store in dir; "" means
// DefaultStoreDir.
func OpenStore(ctx context.Context, dir string) (*Store, error) {
	if dir == "" {
		dir = DefaultStoreDir()
	}
	s, err := oci.NewWithContext(ctx, dir)
	if err != nil {
		return nil, fmt.Errorf("open the image store %s: %w (set %s or --store to use another directory)", dir, err, StoreEnv)
	}
	s.AutoSaveIndex = false
	return &Store{Dir: dir, oci: s}, nil
}

// Target exposes the store to oras-go.
func (s *Store) Target() oras.GraphTarget { return s.oci }

// Resolve looks up a tag or digest in the store.
func (s *Store) Resolve(ctx context.Context, ref string) (ocispec.Descriptor, bool, error) {
	d, err := s.oci.Resolve(ctx, ref)
	if errors.Is(err, errdef.ErrNotFound) || errors.Is(err, errdef.ErrInvalidReference) {
		return ocispec.Descriptor{}, false, nil
	}
	if err != nil {
		return ocispec.Descriptor{}, false, err
	}
	if d.MediaType != ocispec.MediaTypeImageManifest && d.MediaType != ocispec.MediaTypeImageIndex {
		return ocispec.Descriptor{}, false, nil
	}
	return d, true, nil
}

// Add copies the image desc (and everything it references) from src into
// the store, then tags it with every tag, and saves the index once at the
// end. Blobs are written atomically; a failure before the index is saved
// leaves no new tag behind.
func (s *Store) Add(ctx context.Context, src content.ReadOnlyStorage, desc ocispec.Descriptor, tags ...string) error {
	if err := oras.CopyGraph(ctx, src, s.oci, desc, oras.DefaultCopyGraphOptions); err != nil {
		return fmt.Errorf("write to the image store %s: %w", s.Dir, err)
	}
	for _, t := range tags {
		if err := s.oci.Tag(ctx, desc, t); err != nil {
			return fmt.Errorf("tag %s in the image store: %w", t, err)
		}
	}
	return s.oci.SaveIndex()
}

// Tag tags an image already in the store.
func (s *Store) Tag(ctx context.Context, desc ocispec.Descriptor, tags ...string) error {
	for _, t := range tags {
		if err := s.oci.Tag(ctx, desc, t); err != nil {
			return err
		}
	}
	return s.oci.SaveIndex()
}

// StoreEntry is one tag in the store.
type StoreEntry struct {
	Ref    string `json:"ref"`
	Digest string `json:"digest"`
	Size   int64  `json:"size"`
}

// List returns the store's tags (not the digest aliases), sorted.
func (s *Store) List(ctx context.Context) ([]StoreEntry, error) {
	var refs []string
	err := s.oci.Tags(ctx, "", func(tags []string) error {
		for _, t := range tags {
			if !strings.HasPrefix(t, "sha256:") {
				refs = append(refs, t)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	sort.Strings(refs)
	out := make([]StoreEntry, 0, len(refs))
	for _, r := range refs {
		d, err := s.oci.Resolve(ctx, r)
		if err != nil {
			continue
		}
		out = append(out, StoreEntry{Ref: r, Digest: d.Digest.String(), Size: imageSize(ctx, s.oci, d)})
	}
	return out, nil
}

// imageSize sums the manifest, config and layer sizes (0 when unreadable).
func imageSize(ctx context.Context, f content.Fetcher, d ocispec.Descriptor) int64 {
	succ, err := content.Successors(ctx, f, d)
	if err != nil {
		return 0
	}
	n := d.Size
	for _, s := range succ {
		n += s.Size
	}
	return n
}
