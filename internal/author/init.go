package author

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"text/template"

	"sigs.k8s.io/yaml"

	"github.com/wasmctl/wasmctl/internal/sdkbundle"
	"github.com/wasmctl/wasmctl/templates"
)

// DefaultTemplate is the template init uses when none is named.
const DefaultTemplate = "http-headers"

// TemplateInfo describes one template.
type TemplateInfo struct {
	Name        string   `json:"name"`
	Description string   `json:"description"`
	Categories  []string `json:"categories"`
	Type        string   `json:"type"`
}

// Templates lists the embedded templates, sorted by name.
func Templates() ([]TemplateInfo, error) {
	entries, err := fs.ReadDir(templates.FS(), ".")
	if err != nil {
		return nil, err
	}
	var out []TemplateInfo
	for _, e := range entries {
		if !e.IsDir() || strings.HasPrefix(e.Name(), "_") {
			continue
		}
		b, err := fs.ReadFile(templates.FS(), e.Name()+"/template.yaml")
		if err != nil {
			return nil, err
		}
		ti := TemplateInfo{Name: e.Name()}
		if err := yaml.Unmarshal(b, &ti); err != nil {
			return nil, fmt.Errorf("template %s: %w", e.Name(), err)
		}
		out = append(out, ti)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// InitOptions tunes Init.
type InitOptions struct {
	// Template is the template name; default DefaultTemplate.
	Template string
	// Module is the Go module path; default the project name.
	Module string
	// Force allows writing into an existing, non-empty directory.
	Force bool
}

// InitResult says what Init wrote.
type InitResult struct {
	Dir      string   `json:"dir"`
	Name     string   `json:"name"`
	Template string   `json:"template"`
	Files    []string `json:"files"`
}

var projectNameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,62}$`)

// Init scaffolds a filter project in dir (created; its base name is the
// project name). The project is complete when Init returns: on error nothing
// is left behind.
func Init(dir string, opts InitOptions) (*InitResult, error) {
	if opts.Template == "" {
		opts.Template = DefaultTemplate
	}
	dir = filepath.Clean(dir)
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	name := filepath.Base(abs)
	if !projectNameRE.MatchString(name) {
		return nil, fmt.Errorf("project name %q (the directory's name) must be lowercase letters, digits, '.', '-' or '_', starting with a letter or digit", name)
	}
	tis, err := Templates()
	if err != nil {
		return nil, err
	}
	var ti *TemplateInfo
	var names []string
	for i := range tis {
		names = append(names, tis[i].Name)
		if tis[i].Name == opts.Template {
			ti = &tis[i]
		}
	}
	if ti == nil {
		return nil, fmt.Errorf("unknown template %q: choose one of %s (wasmctl init --list)", opts.Template, strings.Join(names, ", "))
	}
	if entries, err := os.ReadDir(abs); err == nil && len(entries) > 0 && !opts.Force {
		return nil, fmt.Errorf("%s already exists and is not empty: choose another name, or pass --force to write into it", dir)
	}
	module := opts.Module
	if module == "" {
		module = name
	}
	data := templates.Data{Name: name, Module: module, Template: ti.Name, Description: ti.Description, Categories: ti.Categories, Type: ti.Type}
	if data.Type == "" {
		data.Type = "http"
	}

	files := map[string][]byte{}
	for _, root := range []string{"_common", ti.Name} {
		err := fs.WalkDir(templates.FS(), root, func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			rel := strings.TrimPrefix(p, root+"/")
			if rel == "template.yaml" {
				return nil
			}
			b, err := fs.ReadFile(templates.FS(), p)
			if err != nil {
				return err
			}
			if strings.HasSuffix(rel, ".tmpl") {
				rel = strings.TrimSuffix(rel, ".tmpl")
				t, err := template.New(p).Delims("[[", "]]").Option("missingkey=error").Parse(string(b))
				if err != nil {
					return fmt.Errorf("template %s: %w", p, err)
				}
				var buf bytes.Buffer
				if err := t.Execute(&buf, data); err != nil {
					return fmt.Errorf("template %s: %w", p, err)
				}
				b = buf.Bytes()
			}
			if rel == "gitignore" {
				rel = ".gitignore"
			}
			files[rel] = b
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	gomod, err := sdkbundle.GoMod(module)
	if err != nil {
		return nil, err
	}
	files["go.mod"] = gomod

	// Write into a sibling temporary directory, then move it into place.
	parent := filepath.Dir(abs)
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return nil, err
	}
	tmp, err := os.MkdirTemp(parent, "."+name+".init-*")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	var written []string
	for rel, b := range files {
		p := filepath.Join(tmp, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return nil, err
		}
		if err := os.WriteFile(p, b, 0o644); err != nil {
			return nil, err
		}
		written = append(written, rel)
	}
	if err := sdkbundle.WriteVendor(tmp); err != nil {
		return nil, err
	}
	written = append(written, "vendor/")
	sort.Strings(written)
	if err := os.Chmod(tmp, 0o755); err != nil {
		return nil, err
	}
	if _, err := os.Stat(abs); errors.Is(err, fs.ErrNotExist) {
		if err := os.Rename(tmp, abs); err != nil {
			return nil, err
		}
	} else {
		// --force into an existing directory: move the files one by one.
		for _, rel := range written {
			rel = strings.TrimSuffix(rel, "/")
			dst := filepath.Join(abs, filepath.FromSlash(rel))
			if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
				return nil, err
			}
			os.RemoveAll(dst)
			if err := os.Rename(filepath.Join(tmp, filepath.FromSlash(rel)), dst); err != nil {
				return nil, err
			}
		}
	}
	return &InitResult{Dir: dir, Name: name, Template: ti.Name, Files: written}, nil
}

// cleanRel keeps a path inside a project.
func cleanRel(p string) string { return strings.TrimPrefix(path.Clean("/"+p), "/") }
