package web

import (
	"bytes"
	"encoding/json"
	"html/template"
	"sort"
	"strings"

	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/ast"
	"github.com/yuin/goldmark/extension"
	"github.com/yuin/goldmark/parser"
	"github.com/yuin/goldmark/text"
	"github.com/yuin/goldmark/util"
)

// md renders README markdown: GitHub-flavoured (tables, strikethrough,
// autolinks, task lists), headings with ids, and NO raw HTML: goldmark's
// default (safe) renderer replaces raw HTML with a comment and drops
// javascript:, vbscript: and data: (non-image) link targets. Links get
// rel="nofollow noopener ugc". Headings move one level down (a README's
// "# Title" becomes an h2) so that the page keeps a single h1.
var md = goldmark.New(
	// GFM, with table alignment as align attributes: the CSP forbids
	// inline style attributes.
	goldmark.WithExtensions(extension.Linkify, extension.Strikethrough, extension.TaskList,
		extension.NewTable(extension.WithTableCellAlignMethod(extension.TableCellAlignAttribute))),
	goldmark.WithParserOptions(parser.WithAutoHeadingID(),
		parser.WithASTTransformers(util.Prioritized(linkRel{}, 100))),
)

type linkRel struct{}

func (linkRel) Transform(doc *ast.Document, _ text.Reader, _ parser.Context) {
	ast.Walk(doc, func(n ast.Node, entering bool) (ast.WalkStatus, error) {
		if !entering {
			return ast.WalkContinue, nil
		}
		switch n.Kind() {
		case ast.KindLink, ast.KindAutoLink:
			n.SetAttributeString("rel", []byte("nofollow noopener ugc"))
		case ast.KindHeading:
			h := n.(*ast.Heading)
			h.Level = min(h.Level+1, 6)
		}
		return ast.WalkContinue, nil
	})
}

// prefixedIDs gives README headings ids starting with "readme-", so that a
// README can never collide with (or shadow) the page's own ids.
type prefixedIDs struct{ parser.IDs }

func (p prefixedIDs) Generate(value []byte, kind ast.NodeKind) []byte {
	return append([]byte("readme-"), p.IDs.Generate(value, kind)...)
}

// renderMarkdown returns the README as safe HTML.
func renderMarkdown(src string) template.HTML {
	var buf bytes.Buffer
	ctx := parser.NewContext(parser.WithIDs(prefixedIDs{parser.NewContext().IDs()}))
	if err := md.Convert([]byte(src), &buf, parser.WithContext(ctx)); err != nil {
		return template.HTML("<pre>" + template.HTMLEscapeString(src) + "</pre>")
	}
	// The renderer escapes text and omits raw HTML, so its output is safe.
	return template.HTML(buf.String())
}

// SchemaField is one row of the configuration table.
type SchemaField struct {
	Name, Type, Default, Description string
	Required                         bool
	Enum                             []string
}

type jsonSchema struct {
	Type        any                    `json:"type"`
	Description string                 `json:"description"`
	Title       string                 `json:"title"`
	Default     any                    `json:"default"`
	Enum        []any                  `json:"enum"`
	Required    []string               `json:"required"`
	Properties  map[string]*jsonSchema `json:"properties"`
	Items       *jsonSchema            `json:"items"`
	Examples    []any                  `json:"examples"`
}

// schemaFields flattens a JSON schema's properties (nested objects as
// dotted names, up to four levels) into table rows. It returns nil for a
// schema it cannot parse; the raw schema is still shown.
func schemaFields(raw string) []SchemaField {
	var s jsonSchema
	if raw == "" || json.Unmarshal([]byte(raw), &s) != nil {
		return nil
	}
	var out []SchemaField
	var walk func(prefix string, s *jsonSchema, depth int)
	walk = func(prefix string, s *jsonSchema, depth int) {
		names := make([]string, 0, len(s.Properties))
		for n := range s.Properties {
			names = append(names, n)
		}
		sort.Strings(names)
		req := map[string]bool{}
		for _, r := range s.Required {
			req[r] = true
		}
		for _, n := range names {
			p := s.Properties[n]
			if p == nil {
				continue
			}
			f := SchemaField{Name: prefix + n, Type: typeName(p), Description: cmpOr(p.Description, p.Title), Required: req[n]}
			if p.Default != nil {
				b, _ := json.Marshal(p.Default)
				f.Default = string(b)
			}
			for _, e := range p.Enum {
				b, _ := json.Marshal(e)
				f.Enum = append(f.Enum, string(b))
			}
			out = append(out, f)
			if len(p.Properties) > 0 && depth < 4 {
				walk(f.Name+".", p, depth+1)
			}
		}
	}
	walk("", &s, 0)
	return out
}

func typeName(s *jsonSchema) string {
	var t string
	switch v := s.Type.(type) {
	case string:
		t = v
	case []any:
		var parts []string
		for _, p := range v {
			if ps, ok := p.(string); ok {
				parts = append(parts, ps)
			}
		}
		t = strings.Join(parts, " | ")
	}
	if t == "array" && s.Items != nil {
		if it := typeName(s.Items); it != "" {
			t = it + "[]"
		}
	}
	return t
}

// exampleConfig builds a pluginConfig example from the schema: defaults,
// else first examples, else first enum values, for the snippets.
func exampleConfig(raw string) map[string]any {
	var s jsonSchema
	if raw == "" || json.Unmarshal([]byte(raw), &s) != nil {
		return nil
	}
	var build func(s *jsonSchema, depth int) map[string]any
	build = func(s *jsonSchema, depth int) map[string]any {
		out := map[string]any{}
		for n, p := range s.Properties {
			switch {
			case p == nil:
			case p.Default != nil:
				out[n] = p.Default
			case len(p.Examples) > 0:
				out[n] = p.Examples[0]
			case len(p.Enum) > 0:
				out[n] = p.Enum[0]
			case len(p.Properties) > 0 && depth < 4:
				if m := build(p, depth+1); len(m) > 0 {
					out[n] = m
				}
			}
		}
		return out
	}
	m := build(&s, 0)
	if len(m) == 0 {
		return nil
	}
	return m
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}
