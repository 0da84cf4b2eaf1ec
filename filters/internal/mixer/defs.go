package mixer

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"reflect"
)

// DefsJSON holds the canonical JSON Schema definitions of the shared
// configuration types (Attr, Matcher, Duration, StatusCode, Callout). Every
// filter's schema.json carries copies under $defs so it stands alone;
// CheckSchemaDefs keeps those copies identical to these.
//
//go:embed defs.json
var DefsJSON []byte

// CheckSchemaDefs reports the first definition in a filter's schema.json
// whose name is one of the shared ones but whose body differs from
// DefsJSON. Filters call it from a unit test.
func CheckSchemaDefs(schema []byte) error {
	var canon map[string]any
	if err := json.Unmarshal(DefsJSON, &canon); err != nil {
		return err
	}
	var doc struct {
		Defs map[string]any `json:"$defs"`
	}
	if err := json.Unmarshal(schema, &doc); err != nil {
		return err
	}
	for name, d := range doc.Defs {
		c, ok := canon[name]
		if !ok {
			continue
		}
		if !reflect.DeepEqual(c, d) {
			return fmt.Errorf("$defs.%s differs from filters/internal/mixer/defs.json; copy it from there", name)
		}
	}
	return nil
}
