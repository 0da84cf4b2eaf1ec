package author

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/opencontainers/go-digest"
	"oras.land/oras-go/v2/content/memory"

	"github.com/wasmctl/wasmctl/internal/wasmimage"
	"github.com/wasmctl/wasmctl/runtime/host"
	"github.com/wasmctl/wasmctl/sdk/wasmbuild"
)

// ManifestFile is the project's manifest file name.
const ManifestFile = "wasmctl.yaml"

// Project is a filter project directory and its manifest.
type Project struct {
	Dir      string
	Metadata *wasmimage.Metadata
	// Manifest, Readme and Schema are the raw files (nil when absent).
	Manifest, Readme, Schema []byte
}

// LoadProject reads dir's wasmctl.yaml (required) and the README and
// schema it points to.
func LoadProject(dir string) (*Project, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	raw, err := os.ReadFile(filepath.Join(abs, ManifestFile))
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("%s has no %s: run wasmctl in a project made by `wasmctl init`, or add a %s with at least `name: myfilter`", dir, ManifestFile, ManifestFile)
	}
	if err != nil {
		return nil, err
	}
	md, err := wasmimage.ParseMetadata(raw)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Join(dir, ManifestFile), err)
	}
	p := &Project{Dir: abs, Metadata: md, Manifest: raw}
	read := func(rel, def, what string) ([]byte, error) {
		explicit := rel != ""
		if !explicit {
			rel = def
		}
		b, err := os.ReadFile(filepath.Join(abs, filepath.FromSlash(cleanRel(rel))))
		if errors.Is(err, os.ErrNotExist) && !explicit {
			return nil, nil
		}
		if err != nil {
			return nil, fmt.Errorf("%s names the %s %q: %w", ManifestFile, what, rel, err)
		}
		return b, nil
	}
	if p.Readme, err = read(md.Readme, "README.md", "readme"); err != nil {
		return nil, err
	}
	if p.Schema, err = read(md.Schema, "schema.json", "schema"); err != nil {
		return nil, err
	}
	return p, nil
}

// Ref is the project's default image tag, name:version.
func (p *Project) Ref() string {
	v := p.Metadata.Version
	if v == "" {
		v = "latest"
	}
	return p.Metadata.Name + ":" + v
}

// BuildOptions tunes Build.
type BuildOptions struct {
	// Output is the .wasm path; default DIR/<name>.wasm.
	Output string
	// Tags are extra store tags besides name:version.
	Tags []string
	// Store is the image store; nil opens the default one.
	Store *Store
	// Optimize runs wasm-opt -O2 when it is installed. It is off by default:
	// on a Go module it takes ~30s and saves well under 1% (cli/README.md).
	Optimize bool
	// Debug keeps DWARF and symbols.
	Debug bool
	// Variant is the image shape: wasmimage.VariantCompat (default, with the
	// metadata layers) or wasmimage.VariantOCI (wasme's two layers; the
	// metadata then travels as annotations only).
	Variant wasmimage.Variant
	// Log receives progress lines; nil discards them.
	Log io.Writer
}

// BuildResult describes a build.
type BuildResult struct {
	Name         string        `json:"name"`
	Wasm         string        `json:"wasm"`
	Size         int           `json:"size"`
	ModuleDigest string        `json:"moduleDigest"`
	ImageDigest  string        `json:"imageDigest"`
	Tags         []string      `json:"tags"`
	ABIVersions  []string      `json:"abiVersions"`
	Optimized    bool          `json:"optimized"`
	Store        string        `json:"store"`
	Duration     time.Duration `json:"duration"`
}

// Build compiles the project in dir, optimizes the module with wasm-opt when
// asked and installed, validates it (see Validate), then writes DIR/<name>.wasm and
// the image into the store. Nothing is written unless every step succeeds.
func Build(ctx context.Context, dir string, opts BuildOptions) (*BuildResult, error) {
	start := time.Now()
	logf := func(format string, args ...any) {
		if opts.Log != nil {
			fmt.Fprintf(opts.Log, format+"\n", args...)
		}
	}
	p, err := LoadProject(dir)
	if err != nil {
		return nil, err
	}
	out := opts.Output
	if out == "" {
		out = filepath.Join(p.Dir, p.Metadata.Name+".wasm")
	}
	tmpDir, err := os.MkdirTemp("", "wasmctl-build-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmpDir)
	logf("compiling %s (GOOS=wasip1 GOARCH=wasm, c-shared)", p.Dir)
	built, err := wasmbuild.Build(ctx, p.Dir, wasmbuild.Options{Output: filepath.Join(tmpDir, "module.wasm"), Debug: opts.Debug})
	if err != nil {
		return nil, err
	}
	wasm, err := os.ReadFile(built)
	if err != nil {
		return nil, err
	}
	optimized := false
	if opts.Optimize {
		if opt, err := optimize(ctx, built, filepath.Join(tmpDir, "opt.wasm")); err == nil {
			logf("wasm-opt: %d -> %d bytes", len(wasm), len(opt))
			wasm, optimized = opt, true
		} else if errors.Is(err, exec.ErrNotFound) {
			logf("wasm-opt is not installed (binaryen); keeping the unoptimized module")
		} else {
			logf("wasm-opt failed, keeping the unoptimized module: %v", err)
		}
	}
	info, err := Validate(ctx, wasm)
	if err != nil {
		return nil, err
	}
	mem := memory.New()
	desc, err := wasmimage.Pack(ctx, mem, wasm, wasmimage.PackOptions{Variant: opts.Variant, Readme: p.Readme, Schema: p.Schema, ManifestFile: p.Manifest})
	if err != nil {
		return nil, err
	}
	store := opts.Store
	if store == nil {
		if store, err = OpenStore(ctx, ""); err != nil {
			return nil, err
		}
	}
	// Everything is ready: write the module (atomically), then the image.
	if err := writeFileAtomic(out, wasm); err != nil {
		return nil, err
	}
	tags := append([]string{p.Ref()}, opts.Tags...)
	if err := store.Add(ctx, mem, desc, tags...); err != nil {
		return nil, err
	}
	return &BuildResult{
		Name: p.Metadata.Name, Wasm: out, Size: len(wasm), ModuleDigest: digestOf(wasm), ImageDigest: desc.Digest.String(),
		Tags: tags, ABIVersions: info.ABIVersions, Optimized: optimized, Store: store.Dir, Duration: time.Since(start),
	}, nil
}

// optimize runs wasm-opt when it is on PATH.
func optimize(ctx context.Context, in, out string) ([]byte, error) {
	bin, err := exec.LookPath("wasm-opt")
	if err != nil {
		return nil, err
	}
	cmd := exec.CommandContext(ctx, bin, "-O2", "--all-features", "--strip-debug", in, "-o", out)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("%v: %s", err, strings.TrimSpace(stderr.String()))
	}
	return os.ReadFile(out)
}

// ValidationError says why a module cannot run as a proxy-wasm filter.
type ValidationError struct{ Reason string }

func (e *ValidationError) Error() string { return "invalid proxy-wasm module: " + e.Reason }

// Validate checks that wasm is a proxy-wasm module this project's runtime
// host (and Envoy) can load: it exports an ABI version marker, linear memory,
// an entry point (_initialize or _start) and proxy_on_context_create, and
// every import is a function the runtime host provides (checked by compiling
// it in the real host).
func Validate(ctx context.Context, wasm []byte) (*wasmimage.ModuleInfo, error) {
	info, err := wasmimage.ParseModule(wasm)
	if err != nil {
		return nil, &ValidationError{err.Error()}
	}
	if len(info.ABIVersions) == 0 {
		return nil, &ValidationError{"it exports no proxy_abi_version_* marker, so no proxy-wasm host will load it; import the SDK (github.com/wasmctl/wasmctl/sdk/proxywasm) and call proxywasm.SetVMContext in init"}
	}
	var missing []string
	if !info.HasExport("memory") {
		missing = append(missing, "memory")
	}
	if !info.HasExport("_initialize") && !info.HasExport("_start") {
		missing = append(missing, "_initialize (build with -buildmode=c-shared)")
	}
	if !info.HasExport("proxy_on_context_create") {
		missing = append(missing, "proxy_on_context_create")
	}
	if len(missing) > 0 {
		return nil, &ValidationError{"missing exports: " + strings.Join(missing, ", ")}
	}
	rt, err := host.NewRuntime(ctx, host.Config{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		return nil, err
	}
	defer rt.Close(ctx)
	if _, err := rt.Compile(ctx, wasm); err != nil {
		return nil, &ValidationError{err.Error()}
	}
	return info, nil
}

func writeFileAtomic(path string, b []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	if _, err := f.Write(b); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Chmod(f.Name(), 0o644); err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}

func digestOf(b []byte) string { return digest.FromBytes(b).String() }
