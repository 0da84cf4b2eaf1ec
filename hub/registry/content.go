package registry

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path"
	"sort"
	"strings"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"oras.land/oras-go/v2/errdef"
)

// ErrNotFound is returned by the read API for missing repositories,
// manifests, tags and blobs. It is oras-go's errdef.ErrNotFound, so callers
// written for oras-go targets recognise it.
var ErrNotFound = errdef.ErrNotFound

// listRepositories walks the storage for repositories (directories holding
// manifests, or any content when withUploads is set), sorted.
func (r *Registry) listRepositories(ctx context.Context, withUploads bool) ([]string, error) {
	var out []string
	var walk func(dir, name string) error
	walk = func(dir, name string) error {
		children, err := r.d.List(ctx, dir)
		if isNotFound(err) {
			return nil
		}
		if err != nil {
			return err
		}
		isRepo := false
		for _, c := range children {
			base := path.Base(c)
			if strings.HasPrefix(base, "_") {
				if base == "_manifests" || (withUploads && (base == "_uploads" || base == "_blobs")) {
					isRepo = true
				}
				continue
			}
			child := base
			if name != "" {
				child = name + "/" + base
			}
			if err := walk(c, child); err != nil {
				return err
			}
		}
		if isRepo && name != "" {
			out = append(out, name)
		}
		return nil
	}
	if err := walk(path.Join(root, "repositories"), ""); err != nil {
		return nil, err
	}
	sort.Strings(out)
	return out, nil
}

// Repositories calls fn with pages of at most 100 repository names that
// hold manifests, in lexical order after last. It is the walk
// `wasmctl hub reindex` uses.
func (r *Registry) Repositories(ctx context.Context, last string, fn func(repos []string) error) error {
	all, err := r.listRepositories(ctx, false)
	if err != nil {
		return err
	}
	return pagesAfter(all, last, 100, fn)
}

// pagesAfter calls fn with the names of sorted list all that come after
// last, in pages of at most size.
func pagesAfter(all []string, last string, size int, fn func([]string) error) error {
	i := sort.SearchStrings(all, last)
	if last != "" && i < len(all) && all[i] == last {
		i++
	}
	all = all[i:]
	for len(all) > 0 {
		n := min(size, len(all))
		if err := fn(all[:n]); err != nil {
			return err
		}
		all = all[n:]
	}
	return nil
}

// Repository returns read access to repository name, shaped like oras-go's
// content.ReadOnlyStorage plus Resolve and Tags.
func (r *Registry) Repository(ctx context.Context, name string) (*Repository, error) {
	if !ValidRepository(name) {
		return nil, fmt.Errorf("registry: invalid repository name %q", name)
	}
	return &Repository{r: r, name: name}, nil
}

// Repository is read access to one repository's stored content.
type Repository struct {
	r    *Registry
	name string
}

// Name returns the repository name.
func (rp *Repository) Name() string { return rp.name }

// Resolve returns the descriptor of the manifest a tag or digest names.
func (rp *Repository) Resolve(ctx context.Context, reference string) (ocispec.Descriptor, error) {
	l, err := rp.r.resolve(ctx, rp.name, reference)
	if isNotFound(err) || errors.Is(err, errBadReference) {
		return ocispec.Descriptor{}, fmt.Errorf("%s:%s: %w", rp.name, reference, ErrNotFound)
	}
	if err != nil {
		return ocispec.Descriptor{}, err
	}
	return l.Descriptor, nil
}

// Tags calls fn with the repository's tags after last, in lexical order,
// in pages of at most 1000.
func (rp *Repository) Tags(ctx context.Context, last string, fn func(tags []string) error) error {
	all, err := rp.r.tags(ctx, rp.name)
	if isNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	return pagesAfter(all, last, 1000, fn)
}

// Fetch opens the content (manifest or blob) that desc describes.
func (rp *Repository) Fetch(ctx context.Context, desc ocispec.Descriptor) (io.ReadCloser, error) {
	if _, ok := parseDigest(desc.Digest.String()); !ok {
		return nil, fmt.Errorf("%s@%s: %w", rp.name, desc.Digest, ErrNotFound)
	}
	if _, err := rp.r.blobSize(ctx, rp.name, desc.Digest); err != nil {
		if isNotFound(err) {
			return nil, fmt.Errorf("%s@%s: %w", rp.name, desc.Digest, ErrNotFound)
		}
		return nil, err
	}
	return rp.r.d.Reader(ctx, blobDataPath(desc.Digest), 0)
}

// Exists reports whether the repository holds desc's content.
func (rp *Repository) Exists(ctx context.Context, desc ocispec.Descriptor) (bool, error) {
	if _, ok := parseDigest(desc.Digest.String()); !ok {
		return false, nil
	}
	_, err := rp.r.blobSize(ctx, rp.name, desc.Digest)
	if isNotFound(err) {
		return false, nil
	}
	return err == nil, err
}

// Referrers lists the manifests whose subject is d, optionally only those
// of artifactType.
func (rp *Repository) Referrers(ctx context.Context, d digest.Digest, artifactType string) ([]ocispec.Descriptor, error) {
	return rp.r.referrers(ctx, rp.name, d, artifactType)
}

// Manifests lists every manifest the repository holds, tagged or not.
func (rp *Repository) Manifests(ctx context.Context) ([]ocispec.Descriptor, error) {
	var out []ocispec.Descriptor
	for alg := range algorithms {
		paths, err := rp.r.d.List(ctx, repoPath(rp.name, "_manifests", alg))
		if isNotFound(err) {
			continue
		}
		if err != nil {
			return nil, err
		}
		for _, p := range paths {
			if tempRE.MatchString(p) {
				continue
			}
			l, err := rp.r.resolve(ctx, rp.name, alg+":"+path.Base(p))
			if err != nil {
				continue
			}
			out = append(out, l.Descriptor)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Digest < out[j].Digest })
	return out, nil
}
