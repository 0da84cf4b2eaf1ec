package author

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"oras.land/oras-go/v2"
	"oras.land/oras-go/v2/content"
	"oras.land/oras-go/v2/content/memory"
	"oras.land/oras-go/v2/registry/remote/auth"
	"oras.land/oras-go/v2/registry/remote/credentials"

	"github.com/wasmctl/wasmctl/internal/wasmimage"
)

// Source is where push, tag and inspect find an image: a tag or digest in
// the local store, a .wasm file, a project directory, or a registry reference.
type Source struct {
	Kind   string // "store", "file", "project" or "remote"
	Ref    string
	Target oras.ReadOnlyTarget
	Desc   ocispec.Descriptor
}

// Env bundles what the registry verbs need.
type Env struct {
	Store    *Store
	Remote   RemoteOptions
	Progress io.Writer // transfer progress; nil for none
	// ProgressBars redraws a bar per blob on Progress (a terminal).
	ProgressBars bool
	// Variant is the image shape used when a file or project is packed.
	Variant wasmimage.Variant
}

// ResolveSource finds ref: in the local store first, then as a file or
// project directory, then in a registry.
func (e *Env) ResolveSource(ctx context.Context, ref string) (*Source, error) {
	if e.Store != nil {
		if d, ok, err := e.Store.Resolve(ctx, ref); err != nil {
			return nil, err
		} else if ok {
			return &Source{Kind: "store", Ref: ref, Target: e.Store.Target(), Desc: d}, nil
		}
	}
	if st, err := os.Stat(ref); err == nil {
		mem := memory.New()
		var desc ocispec.Descriptor
		kind := "file"
		if st.IsDir() {
			kind = "project"
			p, err := LoadProject(ref)
			if err != nil {
				return nil, err
			}
			wasmPath := filepath.Join(p.Dir, p.Metadata.Name+".wasm")
			wasm, err := os.ReadFile(wasmPath)
			if err != nil {
				return nil, fmt.Errorf("%s is not built yet (%w): run `wasmctl build %s` first", ref, err, ref)
			}
			desc, err = wasmimage.Pack(ctx, mem, wasm, wasmimage.PackOptions{Variant: e.Variant, Readme: p.Readme, Schema: p.Schema, ManifestFile: p.Manifest})
			if err != nil {
				return nil, fmt.Errorf("%s: %w", wasmPath, err)
			}
		} else {
			wasm, err := os.ReadFile(ref)
			if err != nil {
				return nil, err
			}
			desc, err = wasmimage.Pack(ctx, mem, wasm, wasmimage.PackOptions{Variant: e.Variant})
			if err != nil {
				return nil, fmt.Errorf("%s: %w", ref, err)
			}
		}
		return &Source{Kind: kind, Ref: ref, Target: mem, Desc: desc}, nil
	}
	repo, r, err := e.Remote.Repository(ref)
	if err != nil {
		return nil, fmt.Errorf("%q is neither an image in the local store (%s), a file, nor a registry reference: %w", ref, e.storeDir(), err)
	}
	if r.Reference == "" {
		return nil, fmt.Errorf("%s names no tag or digest: add :TAG or @sha256:DIGEST", ref)
	}
	d, err := repo.Resolve(ctx, r.Reference)
	if err != nil {
		return nil, explainRemote(err, ref)
	}
	return &Source{Kind: "remote", Ref: ref, Target: repo, Desc: d}, nil
}

func (e *Env) storeDir() string {
	if e.Store == nil {
		return "no store"
	}
	return e.Store.Dir
}

// PushResult says what was pushed.
type PushResult struct {
	Source string `json:"source"`
	Ref    string `json:"ref"`
	Digest string `json:"digest"`
	Size   int64  `json:"size"`
}

// Push copies the image src (see ResolveSource) to the registry reference
// dst. With dst empty, src must itself be a registry reference tagged in the
// local store (as `wasmctl build -t` makes).
func (e *Env) Push(ctx context.Context, src, dst string) (*PushResult, error) {
	if dst == "" {
		dst = src
	}
	s, err := e.ResolveSource(ctx, src)
	if err != nil {
		return nil, err
	}
	if s.Kind == "remote" && dst == src {
		return nil, fmt.Errorf("%s is not in the local store (%s): build it with `wasmctl build -t %s`, or give a source: wasmctl push SOURCE %s", src, e.storeDir(), src, dst)
	}
	repo, r, err := e.Remote.Repository(dst)
	if err != nil {
		return nil, err
	}
	tag := r.Reference
	if tag == "" {
		tag = "latest"
	}
	opts := oras.DefaultCopyGraphOptions
	e.progress(&opts, "pushed", s.Target)
	if err := oras.CopyGraph(ctx, e.wrap(s.Target), repo, s.Desc, opts); err != nil {
		return nil, explainRemote(err, dst)
	}
	if err := repo.Tag(ctx, s.Desc, tag); err != nil {
		return nil, explainRemote(err, dst)
	}
	return &PushResult{Source: src, Ref: r.Registry + "/" + r.Repository + ":" + tag, Digest: s.Desc.Digest.String(), Size: imageSize(ctx, s.Target, s.Desc)}, nil
}

// PullResult lists what Pull wrote.
type PullResult struct {
	Ref     string   `json:"ref"`
	Digest  string   `json:"digest"`
	Variant string   `json:"variant"`
	Files   []string `json:"files"`
}

// Pull fetches ref from a registry (any wasm image shape) and writes the
// module as DIR/<name>.wasm with README.md, schema.json and wasmctl.yaml
// next to it when the image carries them. With intoStore, the image is
// also added to the local store under ref.
func (e *Env) Pull(ctx context.Context, ref, dir string, intoStore bool) (*PullResult, error) {
	repo, r, err := e.Remote.Repository(ref)
	if err != nil {
		return nil, err
	}
	if r.Reference == "" {
		r.Reference = "latest"
		ref += ":latest"
	}
	desc, err := repo.Resolve(ctx, r.Reference)
	if err != nil {
		return nil, explainRemote(err, ref)
	}
	mem := memory.New()
	opts := oras.DefaultCopyGraphOptions
	e.progress(&opts, "pulled", repo)
	if err := oras.CopyGraph(ctx, e.wrap(repo), mem, desc, opts); err != nil {
		return nil, explainRemote(err, ref)
	}
	img, err := wasmimage.Read(ctx, mem, desc, wasmimage.ReadOptions{})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", ref, err)
	}
	name := moduleName(img, r.Repository)
	files := map[string][]byte{name + ".wasm": img.Module}
	if img.Readme != nil {
		files["README.md"] = img.Readme
	}
	if img.Schema != nil {
		files["schema.json"] = img.Schema
	}
	if img.ManifestFile != nil {
		files[ManifestFile] = img.ManifestFile
	}
	if dir == "" {
		dir = "."
	}
	var written []string
	for n, b := range files {
		p := filepath.Join(dir, n)
		if err := writeFileAtomic(p, b); err != nil {
			return nil, err
		}
		written = append(written, p)
	}
	sort.Strings(written)
	if intoStore && e.Store != nil {
		if err := e.Store.Add(ctx, mem, desc, ref); err != nil {
			return nil, err
		}
	}
	return &PullResult{Ref: ref, Digest: desc.Digest.String(), Variant: string(img.Variant), Files: written}, nil
}

// moduleName picks a file name: wasmctl.yaml's name, the manifest's title,
// the module layer's title when it names a .wasm file, or the repository's
// last path element.
func moduleName(img *wasmimage.Image, repository string) string {
	layerTitle := img.ModuleLayer.Annotations[ocispec.AnnotationTitle]
	if !strings.HasSuffix(layerTitle, ".wasm") || layerTitle == wasmimage.FileModule {
		layerTitle = ""
	}
	for _, n := range []string{nameOf(img), img.Annotations[ocispec.AnnotationTitle], layerTitle, repository[strings.LastIndex(repository, "/")+1:]} {
		n = strings.TrimSuffix(filepath.Base(n), ".wasm")
		if n != "" && n != "." && n != "/" {
			return n
		}
	}
	return "plugin"
}

func nameOf(img *wasmimage.Image) string {
	if img.Metadata != nil {
		return img.Metadata.Name
	}
	return ""
}

// TagResult says what Tag did.
type TagResult struct {
	Source string `json:"source"`
	Ref    string `json:"ref"`
	Digest string `json:"digest"`
	Where  string `json:"where"` // "store" or "registry"
}

// Tag gives the image src a new name dst. A source in the local store is
// tagged there (push it later with `wasmctl push DST`); a registry source is
// tagged in the registry (copied when dst is another repository).
func (e *Env) Tag(ctx context.Context, src, dst string) (*TagResult, error) {
	s, err := e.ResolveSource(ctx, src)
	if err != nil {
		return nil, err
	}
	if s.Kind != "remote" {
		if e.Store == nil {
			return nil, errors.New("no local image store")
		}
		if err := e.Store.Add(ctx, s.Target, s.Desc, dst); err != nil {
			return nil, err
		}
		return &TagResult{Source: src, Ref: dst, Digest: s.Desc.Digest.String(), Where: "store"}, nil
	}
	repo, r, err := e.Remote.Repository(dst)
	if err != nil {
		return nil, err
	}
	if r.Reference == "" {
		return nil, fmt.Errorf("%s names no tag: add :TAG", dst)
	}
	if err := oras.CopyGraph(ctx, s.Target, repo, s.Desc, oras.DefaultCopyGraphOptions); err != nil {
		return nil, explainRemote(err, dst)
	}
	if err := repo.Tag(ctx, s.Desc, r.Reference); err != nil {
		return nil, explainRemote(err, dst)
	}
	return &TagResult{Source: src, Ref: dst, Digest: s.Desc.Digest.String(), Where: "registry"}, nil
}

// List lists the local store (target ""), a registry's repositories (target
// "HOST") or a repository's tags (target "HOST/REPO").
func (e *Env) List(ctx context.Context, target string) ([]string, []StoreEntry, error) {
	if target == "" {
		if e.Store == nil {
			return nil, nil, errors.New("no local image store")
		}
		entries, err := e.Store.List(ctx)
		return nil, entries, err
	}
	target = strings.TrimSuffix(strings.TrimPrefix(target, "oci://"), "/")
	if !strings.Contains(target, "/") {
		reg, err := e.Remote.Registry(target)
		if err != nil {
			return nil, nil, err
		}
		var repos []string
		err = reg.Repositories(ctx, "", func(r []string) error { repos = append(repos, r...); return nil })
		if err != nil {
			return nil, nil, explainRemote(fmt.Errorf("list repositories (the registry must serve /v2/_catalog): %w", err), target)
		}
		sort.Strings(repos)
		return repos, nil, nil
	}
	repo, _, err := e.Remote.Repository(target)
	if err != nil {
		return nil, nil, err
	}
	var tags []string
	if err := repo.Tags(ctx, "", func(t []string) error { tags = append(tags, t...); return nil }); err != nil {
		return nil, nil, explainRemote(err, target)
	}
	sort.Strings(tags)
	return tags, nil, nil
}

// Login checks the credentials against the registry and saves them in the
// Docker config file.
func Login(ctx context.Context, host, username, password string, ro RemoteOptions) error {
	store, err := CredentialStore()
	if err != nil {
		return err
	}
	ro.Username, ro.Password = username, password
	reg, err := ro.Registry(host)
	if err != nil {
		return err
	}
	if err := credentials.Login(ctx, store, reg, credentialOf(username, password)); err != nil {
		return explainRemote(fmt.Errorf("login failed: %w", err), host)
	}
	return nil
}

// Logout removes the registry's credentials from the Docker config file.
func Logout(ctx context.Context, host string) error {
	store, err := CredentialStore()
	if err != nil {
		return err
	}
	return credentials.Logout(ctx, store, host)
}

// progress wires per-blob lines into copy options.
func (e *Env) progress(opts *oras.CopyGraphOptions, verb string, _ content.ReadOnlyStorage) {
	if e.Progress == nil {
		return
	}
	var mu sync.Mutex
	opts.OnCopySkipped = func(_ context.Context, d ocispec.Descriptor) error {
		mu.Lock()
		defer mu.Unlock()
		fmt.Fprintf(e.Progress, "  exists  %-14s %s\n", label(d), humanSize(d.Size))
		return nil
	}
	opts.PostCopy = func(_ context.Context, d ocispec.Descriptor) error {
		mu.Lock()
		defer mu.Unlock()
		clear := ""
		if e.ProgressBars {
			clear = "\r\033[K"
		}
		fmt.Fprintf(e.Progress, "%s  %s  %-14s %s\n", clear, verb, label(d), humanSize(d.Size))
		return nil
	}
}

func label(d ocispec.Descriptor) string {
	if t := d.Annotations[ocispec.AnnotationTitle]; t != "" {
		return t
	}
	switch d.MediaType {
	case ocispec.MediaTypeImageManifest, wasmimage.MediaTypeDockerManifest:
		return "manifest"
	case ocispec.MediaTypeImageConfig, wasmimage.MediaTypeWasmConfig:
		return "config"
	}
	return d.Digest.Encoded()[:12]
}

func humanSize(n int64) string {
	switch {
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}

func (e *Env) wrap(t oras.ReadOnlyTarget) oras.ReadOnlyTarget {
	if !e.ProgressBars {
		return t
	}
	return progressTarget(t, e.Progress)
}

func credentialOf(username, password string) auth.Credential {
	return auth.Credential{Username: username, Password: password}
}
