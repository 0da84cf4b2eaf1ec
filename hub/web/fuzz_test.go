package web

import (
	"strings"
	"testing"

	"golang.org/x/net/html"
)

// unsafeHTML returns what must never come out of a README, as a browser
// would parse it: script-capable elements, event-handler attributes and
// javascript: or vbscript: URLs.
func unsafeHTML(out string) string {
	z := html.NewTokenizer(strings.NewReader(out))
	for {
		switch z.Next() {
		case html.ErrorToken:
			return ""
		case html.StartTagToken, html.SelfClosingTagToken:
			tok := z.Token()
			switch tok.Data {
			case "script", "style", "iframe", "object", "embed", "form", "svg", "math", "base", "meta", "link":
				return "<" + tok.Data + ">"
			}
			for _, a := range tok.Attr {
				v := strings.ToLower(strings.Map(func(r rune) rune {
					if r <= ' ' {
						return -1
					}
					return r
				}, a.Val))
				if strings.HasPrefix(a.Key, "on") || a.Key == "style" ||
					((a.Key == "href" || a.Key == "src") && (strings.HasPrefix(v, "javascript:") || strings.HasPrefix(v, "vbscript:"))) {
					return a.Key + "=" + a.Val
				}
			}
		}
	}
}

func FuzzRenderMarkdown(f *testing.F) {
	for _, s := range []string{
		"# t\n<script>alert(1)</script>",
		"<img src=x onerror=alert(1)>",
		"[x](javascript:alert(1))",
		"[x](JaVaScRiPt:alert(1))",
		"![i](vbscript:msgbox)",
		"<a href=\"javascript:x\">x</a>",
		"`<script>` in code",
		"<svg/onload=alert(1)>",
		"[a](<javascript:alert(1)>)",
		"<details open ontoggle=alert(1)>",
		"| a | b |\n|:-|-:|\n| 1 | 2 |\n",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, src string) {
		out := string(renderMarkdown(src))
		if m := unsafeHTML(out); m != "" {
			t.Fatalf("renderMarkdown(%q) contains %q:\n%s", src, m, out)
		}
	})
}

func TestRenderMarkdownKeepsFormatting(t *testing.T) {
	out := string(renderMarkdown("# Title\n\n- [x] done\n\n| a | b |\n|---|--:|\n| 1 | 2 |\n\n~~old~~ https://example.com\n\n```go\nx := 1\n```\n"))
	for _, want := range []string{`<h2 id="readme-title">Title</h2>`, `<table>`, `<del>old</del>`, `<th align="right">b</th>`, `checked`,
		`<a href="https://example.com" rel="nofollow noopener ugc">`, `<code class="language-go">x := 1`} {
		if !strings.Contains(out, want) {
			t.Errorf("rendered README lacks %q:\n%s", want, out)
		}
	}
}

func FuzzSchemaFields(f *testing.F) {
	f.Add(`{"type":"object","properties":{"a":{"type":["string","null"],"default":"x","enum":["x","y"]},"b":{"type":"object","properties":{"c":{"type":"array","items":{"type":"integer"}}}}}}`)
	f.Add(`{"properties":{"a":null}}`)
	f.Add(`[]`)
	f.Fuzz(func(t *testing.T, raw string) {
		for _, fl := range schemaFields(raw) {
			if fl.Name == "" && !strings.Contains(raw, `""`) {
				t.Fatalf("empty field name from %q", raw)
			}
		}
		exampleConfig(raw)
	})
}

func TestSchemaFields(t *testing.T) {
	got := schemaFields(`{"type":"object","required":["a"],"properties":{
		"a":{"type":["string","null"],"default":"x","enum":["x","y"],"description":"A"},
		"b":{"type":"object","title":"B","properties":{"c":{"type":"array","items":{"type":"integer"}}}}}}`)
	want := []SchemaField{
		{Name: "a", Type: "string | null", Default: `"x"`, Description: "A", Required: true, Enum: []string{`"x"`, `"y"`}},
		{Name: "b", Type: "object", Description: "B"},
		{Name: "b.c", Type: "integer[]"},
	}
	if len(got) != len(want) {
		t.Fatalf("schemaFields = %+v", got)
	}
	for i := range want {
		if got[i].Name != want[i].Name || got[i].Type != want[i].Type || got[i].Default != want[i].Default ||
			got[i].Required != want[i].Required || got[i].Description != want[i].Description || strings.Join(got[i].Enum, ",") != strings.Join(want[i].Enum, ",") {
			t.Errorf("field %d = %+v, want %+v", i, got[i], want[i])
		}
	}
	if schemaFields("not json") != nil || schemaFields("") != nil {
		t.Error("schemaFields accepted garbage")
	}
}

func TestSafeNext(t *testing.T) {
	for in, want := range map[string]string{
		"": "/", "/settings/tokens": "/settings/tokens", "//evil.example": "/", "https://evil.example": "/",
		"/\\evil.example": "/", "/filters/a/b?x=1": "/filters/a/b?x=1",
	} {
		if got := safeNext(in); got != want {
			t.Errorf("safeNext(%q) = %q, want %q", in, got, want)
		}
	}
}
