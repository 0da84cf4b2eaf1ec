// Package templates holds the filter projects `wasmctl init` scaffolds. Each
// directory is one template: template.yaml (description, categories, filter
// type), main.go.tmpl, main_test.go.tmpl, schema.json and tests/*.yaml.tmpl.
// _common holds the files every project gets (README, wasmctl.yaml,
// .gitignore). Files ending in .tmpl are Go text/templates, with [[ ]] as
// delimiters (Go code is full of {{), rendered with
// [Data]; the suffix is dropped.
package templates

import (
	"embed"
	"io/fs"
)

//go:embed all:_common http-headers auth rate-limit access-log metrics tcp
var files embed.FS

// FS returns the embedded templates.
func FS() fs.FS { return files }

// Data is what the .tmpl files are rendered with.
type Data struct {
	// Name is the project (and filter) name.
	Name string
	// Module is the Go module path of the project.
	Module string
	// Template is the template's name.
	Template string
	// Description and Categories come from the template's template.yaml.
	Description string
	Categories  []string
	// Type is "http" or "tcp".
	Type string
}
