package author

import (
	"encoding/json"
	"fmt"
	"math"
	"regexp"
	"sort"
	"strings"
)

// ValidateConfig checks a plugin configuration (JSON or YAML already turned
// into JSON) against a filter's JSON schema. It implements the keywords
// filter schemas use: type, properties, required, additionalProperties
// (boolean or schema), items, enum, minimum, maximum, minLength, maxLength,
// minItems, maxItems and pattern; other keywords are ignored. Errors name
// the offending field as a JSON path ($.tokens[0]).
func ValidateConfig(schema, config []byte) error {
	var s map[string]any
	if err := json.Unmarshal(schema, &s); err != nil {
		return fmt.Errorf("the filter's schema.json is not JSON: %w", err)
	}
	var v any
	if err := json.Unmarshal(config, &v); err != nil {
		return fmt.Errorf("the configuration is not JSON: %w", err)
	}
	var errs []string
	validate(s, v, "$", &errs, 0)
	if len(errs) > 0 {
		return fmt.Errorf("the configuration does not match the filter's schema: %s", strings.Join(errs, "; "))
	}
	return nil
}

func typeOf(v any) string {
	switch x := v.(type) {
	case nil:
		return "null"
	case bool:
		return "boolean"
	case float64:
		if x == math.Trunc(x) {
			return "integer"
		}
		return "number"
	case string:
		return "string"
	case []any:
		return "array"
	case map[string]any:
		return "object"
	}
	return "unknown"
}

func validate(s map[string]any, v any, path string, errs *[]string, depth int) {
	if depth > 64 || len(*errs) > 20 {
		return
	}
	fail := func(format string, args ...any) { *errs = append(*errs, path+": "+fmt.Sprintf(format, args...)) }
	got := typeOf(v)
	if t, ok := s["type"]; ok {
		var allowed []string
		switch tt := t.(type) {
		case string:
			allowed = []string{tt}
		case []any:
			for _, x := range tt {
				if xs, ok := x.(string); ok {
					allowed = append(allowed, xs)
				}
			}
		}
		match := false
		for _, a := range allowed {
			if a == got || (a == "number" && got == "integer") {
				match = true
			}
		}
		if len(allowed) > 0 && !match {
			fail("is %s, want %s", got, strings.Join(allowed, " or "))
			return
		}
	}
	if enum, ok := s["enum"].([]any); ok {
		found := false
		for _, e := range enum {
			a, _ := json.Marshal(e)
			b, _ := json.Marshal(v)
			if string(a) == string(b) {
				found = true
			}
		}
		if !found {
			fail("must be one of %v", enum)
		}
	}
	num := func(k string) (float64, bool) { f, ok := s[k].(float64); return f, ok }
	switch x := v.(type) {
	case float64:
		if m, ok := num("minimum"); ok && x < m {
			fail("%v is below the minimum %v", x, m)
		}
		if m, ok := num("maximum"); ok && x > m {
			fail("%v is above the maximum %v", x, m)
		}
	case string:
		n := float64(len([]rune(x)))
		if m, ok := num("minLength"); ok && n < m {
			fail("is shorter than %v characters", m)
		}
		if m, ok := num("maxLength"); ok && n > m {
			fail("is longer than %v characters", m)
		}
		if p, ok := s["pattern"].(string); ok {
			if re, err := regexp.Compile(p); err == nil && !re.MatchString(x) {
				fail("%q does not match the pattern %s", x, p)
			}
		}
	case []any:
		if m, ok := num("minItems"); ok && float64(len(x)) < m {
			fail("has %d items, want at least %v", len(x), m)
		}
		if m, ok := num("maxItems"); ok && float64(len(x)) > m {
			fail("has %d items, want at most %v", len(x), m)
		}
		if items, ok := s["items"].(map[string]any); ok {
			for i, e := range x {
				validate(items, e, fmt.Sprintf("%s[%d]", path, i), errs, depth+1)
			}
		}
	case map[string]any:
		props, _ := s["properties"].(map[string]any)
		if req, ok := s["required"].([]any); ok {
			for _, r := range req {
				if k, ok := r.(string); ok {
					if _, present := x[k]; !present {
						fail("missing the required field %q", k)
					}
				}
			}
		}
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			sub := path + "." + k
			if ps, ok := props[k].(map[string]any); ok {
				validate(ps, x[k], sub, errs, depth+1)
				continue
			}
			switch ap := s["additionalProperties"].(type) {
			case bool:
				if !ap {
					names := make([]string, 0, len(props))
					for n := range props {
						names = append(names, n)
					}
					sort.Strings(names)
					*errs = append(*errs, fmt.Sprintf("%s: unknown field (known: %s)", sub, strings.Join(names, ", ")))
				}
			case map[string]any:
				validate(ap, x[k], sub, errs, depth+1)
			}
		}
	}
}
