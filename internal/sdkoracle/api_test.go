package sdkoracle

import (
	"bytes"
	"go/ast"
	"go/parser"
	"go/printer"
	"go/token"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/wasmctl/wasmctl/internal/sharedtest"
)

// TestAPIMatchesOriginal compares the exported API of our SDK with
// proxy-wasm-go-sdk v0.24.0, package by package, from the source: every
// exported function, method (including interface methods), type, struct
// field, constant and variable of the original must exist in ours, and
// functions and methods must have the same parameter and result types.
// Additions on our side are allowed.
func TestAPIMatchesOriginal(t *testing.T) {
	t.Parallel()
	out, err := exec.CommandContext(t.Context(), "go", "list", "-m", "-f", "{{.Dir}}", "github.com/tetratelabs/proxy-wasm-go-sdk").Output()
	if err != nil || len(bytes.TrimSpace(out)) == 0 {
		t.Fatalf("locating proxy-wasm-go-sdk v0.24.0 in the module cache: %v (run go mod download)", err)
	}
	original := string(bytes.TrimSpace(out))
	ours := filepath.Join(sharedtest.RepoRoot(t), "sdk")
	for _, pkg := range []string{"proxywasm", "proxywasm/types", "proxywasm/proxytest", "properties"} {
		t.Run(pkg, func(t *testing.T) {
			want := exportedAPI(t, filepath.Join(original, pkg))
			got := exportedAPI(t, filepath.Join(ours, pkg))
			if len(want) == 0 {
				t.Fatalf("no exported API found in the original %s", pkg)
			}
			keys := make([]string, 0, len(want))
			for k := range want {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			t.Logf("%d exported declarations of the original compared", len(keys))
			for _, k := range keys {
				g, ok := got[k]
				switch {
				case !ok:
					t.Errorf("missing: %s %s", k, want[k])
				case g != want[k]:
					t.Errorf("%s: ours is %s, the original's is %s", k, g, want[k])
				}
			}
		})
	}
}

// exportedAPI maps "func F", "method T.M", "type T", "field T.F", "const C"
// and "var V" of the package in dir to the declaration's type (functions
// without parameter names). Build tags are ignored: every non-test file
// counts.
func exportedAPI(t *testing.T, dir string) map[string]string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	api := map[string]string{}
	str := func(e ast.Expr) string {
		var b bytes.Buffer
		if err := printer.Fprint(&b, fset, e); err != nil {
			t.Fatal(err)
		}
		return b.String()
	}
	fields := func(l *ast.FieldList) string {
		if l == nil {
			return ""
		}
		var parts []string
		for _, f := range l.List {
			n := max(len(f.Names), 1)
			for range n {
				parts = append(parts, str(f.Type))
			}
		}
		return strings.Join(parts, ", ")
	}
	sig := func(ft *ast.FuncType) string {
		return "func(" + fields(ft.Params) + ") (" + fields(ft.Results) + ")"
	}
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() || !strings.HasSuffix(name, ".go") || strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, filepath.Join(dir, name), nil, parser.SkipObjectResolution)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range f.Decls {
			switch d := d.(type) {
			case *ast.FuncDecl:
				if !d.Name.IsExported() {
					continue
				}
				if d.Recv == nil {
					api["func "+d.Name.Name] = sig(d.Type)
					continue
				}
				recv := d.Recv.List[0].Type
				if s, ok := recv.(*ast.StarExpr); ok {
					recv = s.X
				}
				if id, ok := recv.(*ast.Ident); ok && id.IsExported() {
					api["method "+id.Name+"."+d.Name.Name] = sig(d.Type)
				}
			case *ast.GenDecl:
				for _, s := range d.Specs {
					switch s := s.(type) {
					case *ast.TypeSpec:
						if !s.Name.IsExported() {
							continue
						}
						api["type "+s.Name.Name] = ""
						switch tt := s.Type.(type) {
						case *ast.InterfaceType:
							for _, m := range tt.Methods.List {
								if ft, ok := m.Type.(*ast.FuncType); ok && len(m.Names) == 1 && m.Names[0].IsExported() {
									api["method "+s.Name.Name+"."+m.Names[0].Name] = sig(ft)
								}
							}
						case *ast.StructType:
							for _, fl := range tt.Fields.List {
								for _, n := range fl.Names {
									if n.IsExported() {
										api["field "+s.Name.Name+"."+n.Name] = str(fl.Type)
									}
								}
							}
						}
					case *ast.ValueSpec:
						for _, n := range s.Names {
							if n.IsExported() {
								api[strings.ToLower(d.Tok.String())+" "+n.Name] = ""
							}
						}
					}
				}
			}
		}
	}
	return api
}
