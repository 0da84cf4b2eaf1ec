package sdkbundle

import (
	"bytes"
	"context"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
)

// Generate builds the bundle's file map from the SDK module in sdkDir (the
// SDK's dependencies come from the module cache or GOPROXY): it vendors
// every public SDK
// package (and what they import) into a scratch project, then records the
// SDK under SDKVersion instead of the local replace.
func Generate(ctx context.Context, sdkDir string) (map[string][]byte, error) {
	sdkDir, err := filepath.Abs(sdkDir)
	if err != nil {
		return nil, err
	}
	sdkMod, err := os.ReadFile(filepath.Join(sdkDir, "go.mod"))
	if err != nil {
		return nil, fmt.Errorf("read the SDK's go.mod: %w", err)
	}
	goVersion := "1.24"
	if m := regexp.MustCompile(`(?m)^go ([0-9.]+)`).FindSubmatch(sdkMod); m != nil {
		goVersion = string(m[1])
	}
	var pkgs []string
	err = filepath.WalkDir(sdkDir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(sdkDir, p)
		rel = filepath.ToSlash(rel)
		if d.IsDir() {
			base := d.Name()
			if rel != "." && (base == "examples" || base == "testdata" || base == "internal" || strings.HasPrefix(base, ".") || strings.HasPrefix(base, "_")) {
				return filepath.SkipDir
			}
			if _, err := os.Stat(filepath.Join(p, "go.mod")); err == nil && rel != "." {
				return filepath.SkipDir
			}
			return nil
		}
		if strings.HasSuffix(p, ".go") && !strings.HasSuffix(p, "_test.go") {
			pkg := SDKModule
			if dir := filepath.ToSlash(filepath.Dir(rel)); dir != "." {
				pkg += "/" + dir
			}
			if len(pkgs) == 0 || pkgs[len(pkgs)-1] != pkg {
				pkgs = append(pkgs, pkg)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	sort.Strings(pkgs)
	pkgs = compactStrings(pkgs)
	if len(pkgs) == 0 {
		return nil, fmt.Errorf("no Go packages in %s", sdkDir)
	}

	tmp, err := os.MkdirTemp("", "sdkbundle-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	const placeholder = "v0.0.0-00010101000000-000000000000"
	gomod := fmt.Sprintf("module wasmctl.invalid/bundle\n\ngo %s\n\nrequire %s %s\n\nreplace %s => %s\n",
		goVersion, SDKModule, placeholder, SDKModule, sdkDir)
	var imports bytes.Buffer
	imports.WriteString("package bundle\n\nimport (\n")
	for _, p := range pkgs {
		fmt.Fprintf(&imports, "\t_ %q\n", p)
	}
	imports.WriteString(")\n")
	if err := os.WriteFile(filepath.Join(tmp, "go.mod"), []byte(gomod), 0o644); err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(tmp, "bundle.go"), imports.Bytes(), 0o644); err != nil {
		return nil, err
	}
	env := append(os.Environ(), "GOFLAGS=-mod=mod", "GOWORK=off", "GOTOOLCHAIN=local")
	for _, args := range [][]string{{"mod", "tidy"}, {"mod", "vendor"}} {
		cmd := exec.CommandContext(ctx, "go", args...)
		cmd.Dir, cmd.Env = tmp, env
		if out, err := cmd.CombinedOutput(); err != nil {
			return nil, fmt.Errorf("go %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	files := map[string][]byte{}
	err = filepath.WalkDir(filepath.Join(tmp, "vendor"), func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(tmp, p)
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		files[filepath.ToSlash(rel)] = b
		return nil
	})
	if err != nil {
		return nil, err
	}
	// Record the SDK as a normal requirement instead of a local replace.
	mt := string(files["vendor/modules.txt"])
	var out []string
	for _, l := range strings.Split(mt, "\n") {
		switch {
		case strings.HasPrefix(l, "# "+SDKModule+" "+placeholder):
			l = "# " + SDKModule + " " + SDKVersion
		case strings.HasPrefix(l, "# "+SDKModule+" => "):
			continue
		}
		out = append(out, l)
	}
	files["vendor/modules.txt"] = []byte(strings.Join(out, "\n"))
	tidied, err := os.ReadFile(filepath.Join(tmp, "go.mod"))
	if err != nil {
		return nil, err
	}
	var req []string
	inBlock := false
	for _, l := range strings.Split(string(tidied), "\n") {
		t := strings.TrimSpace(l)
		switch {
		case t == "require (":
			inBlock = true
		case inBlock && t == ")":
			inBlock = false
		case inBlock && t != "":
			req = append(req, t)
		case strings.HasPrefix(t, "require ") && !strings.HasSuffix(t, "("):
			req = append(req, strings.TrimPrefix(t, "require "))
		case strings.HasPrefix(t, "go "):
			goVersion = strings.TrimPrefix(t, "go ")
		}
	}
	for i, r := range req {
		req[i] = strings.Replace(r, placeholder, SDKVersion, 1)
	}
	files[requireFile] = []byte(strings.Join(req, "\n") + "\n")
	files[goVersionFile] = []byte(goVersion + "\n")
	return files, nil
}

func compactStrings(s []string) []string {
	out := s[:0]
	for i, v := range s {
		if i == 0 || v != s[i-1] {
			out = append(out, v)
		}
	}
	return out
}
