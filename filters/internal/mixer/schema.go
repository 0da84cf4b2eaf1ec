package mixer

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"net/netip"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// Schema is a compiled JSON Schema in the subset the reference filters use:
// type, properties, required, additionalProperties, items, enum, const,
// minimum, maximum, exclusiveMinimum, exclusiveMaximum, minLength, maxLength,
// minItems, maxItems, minProperties, pattern, oneOf, anyOf, allOf, $ref to
// "#/$defs/<name>", and the formats "duration", "regex" and "ip-or-cidr".
// Annotations (title, description, default, examples, $schema, $id,
// $comment) are accepted and ignored. Any other keyword is an error at
// compile time, so a schema never silently promises a check it doesn't run.
type Schema struct {
	root *node
}

type node struct {
	types       []string
	properties  map[string]*node
	propOrder   []string
	required    []string
	addlBool    *bool
	addlSchema  *node
	items       *node
	enum        []any
	constVal    any
	hasConst    bool
	minimum     *float64
	maximum     *float64
	exclMin     *float64
	exclMax     *float64
	minLength   *int
	maxLength   *int
	minItems    *int
	maxItems    *int
	minProps    *int
	pattern     *regexp.Regexp
	patternSrc  string
	format      string
	oneOf       []*node
	anyOf       []*node
	allOf       []*node
	ref         string
	resolvedRef *node
}

var annotationKeys = map[string]bool{
	"title": true, "description": true, "default": true, "examples": true,
	"$schema": true, "$id": true, "$comment": true, "$defs": true, "definitions": true,
	"deprecated": true, "readOnly": true, "writeOnly": true,
}

// CompileSchema parses a JSON Schema document.
func CompileSchema(doc []byte) (*Schema, error) {
	var raw map[string]any
	dec := json.NewDecoder(bytes.NewReader(doc))
	dec.UseNumber()
	if err := dec.Decode(&raw); err != nil {
		return nil, fmt.Errorf("schema: %w", err)
	}
	c := &compiler{defs: map[string]*node{}}
	if defs, ok := raw["$defs"].(map[string]any); ok {
		// Two passes so definitions may refer to each other in any order.
		for name := range defs {
			c.defs[name] = &node{}
		}
		for name, d := range defs {
			m, ok := d.(map[string]any)
			if !ok {
				return nil, fmt.Errorf("schema: $defs.%s must be an object", name)
			}
			n, err := c.compile(m, "$defs."+name)
			if err != nil {
				return nil, err
			}
			*c.defs[name] = *n
		}
	}
	root, err := c.compile(raw, "")
	if err != nil {
		return nil, err
	}
	if err := c.resolve(root, map[*node]bool{}); err != nil {
		return nil, err
	}
	for _, d := range c.defs {
		if err := c.resolve(d, map[*node]bool{}); err != nil {
			return nil, err
		}
	}
	return &Schema{root: root}, nil
}

// MustCompileSchema is CompileSchema for embedded schemas; it panics on a
// malformed schema, which a unit test of every filter catches.
func MustCompileSchema(doc []byte) *Schema {
	s, err := CompileSchema(doc)
	if err != nil {
		panic(err)
	}
	return s
}

type compiler struct {
	defs map[string]*node
}

func (c *compiler) resolve(n *node, seen map[*node]bool) error {
	if n == nil || seen[n] {
		return nil
	}
	seen[n] = true
	if n.ref != "" {
		name, ok := strings.CutPrefix(n.ref, "#/$defs/")
		if !ok || c.defs[name] == nil {
			return fmt.Errorf("schema: unresolvable $ref %q (only #/$defs/<name> is supported)", n.ref)
		}
		n.resolvedRef = c.defs[name]
	}
	for _, p := range n.properties {
		if err := c.resolve(p, seen); err != nil {
			return err
		}
	}
	for _, list := range [][]*node{n.oneOf, n.anyOf, n.allOf, {n.items, n.addlSchema}} {
		for _, x := range list {
			if err := c.resolve(x, seen); err != nil {
				return err
			}
		}
	}
	return nil
}

func num(v any) (float64, bool) {
	switch x := v.(type) {
	case json.Number:
		f, err := x.Float64()
		return f, err == nil
	case float64:
		return x, true
	}
	return 0, false
}

func (c *compiler) compile(m map[string]any, at string) (*node, error) {
	n := &node{}
	bad := func(key string) error {
		return fmt.Errorf("schema: %s: bad value for %q", orRoot(at), key)
	}
	for key, v := range m {
		switch key {
		case "type":
			switch x := v.(type) {
			case string:
				n.types = []string{x}
			case []any:
				for _, t := range x {
					s, ok := t.(string)
					if !ok {
						return nil, bad(key)
					}
					n.types = append(n.types, s)
				}
			default:
				return nil, bad(key)
			}
			for _, t := range n.types {
				switch t {
				case "object", "array", "string", "number", "integer", "boolean", "null":
				default:
					return nil, fmt.Errorf("schema: %s: unknown type %q", orRoot(at), t)
				}
			}
		case "properties":
			props, ok := v.(map[string]any)
			if !ok {
				return nil, bad(key)
			}
			n.properties = map[string]*node{}
			for name, p := range props {
				pm, ok := p.(map[string]any)
				if !ok {
					return nil, bad(key)
				}
				child, err := c.compile(pm, join(at, name))
				if err != nil {
					return nil, err
				}
				n.properties[name] = child
				n.propOrder = append(n.propOrder, name)
			}
			sort.Strings(n.propOrder)
		case "required":
			list, ok := v.([]any)
			if !ok {
				return nil, bad(key)
			}
			for _, r := range list {
				s, ok := r.(string)
				if !ok {
					return nil, bad(key)
				}
				n.required = append(n.required, s)
			}
		case "additionalProperties":
			switch x := v.(type) {
			case bool:
				n.addlBool = &x
			case map[string]any:
				child, err := c.compile(x, join(at, "*"))
				if err != nil {
					return nil, err
				}
				n.addlSchema = child
			default:
				return nil, bad(key)
			}
		case "items":
			x, ok := v.(map[string]any)
			if !ok {
				return nil, bad(key)
			}
			child, err := c.compile(x, at+"[]")
			if err != nil {
				return nil, err
			}
			n.items = child
		case "enum":
			list, ok := v.([]any)
			if !ok {
				return nil, bad(key)
			}
			n.enum = list
		case "const":
			n.constVal, n.hasConst = v, true
		case "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum":
			f, ok := num(v)
			if !ok {
				return nil, bad(key)
			}
			switch key {
			case "minimum":
				n.minimum = &f
			case "maximum":
				n.maximum = &f
			case "exclusiveMinimum":
				n.exclMin = &f
			default:
				n.exclMax = &f
			}
		case "minLength", "maxLength", "minItems", "maxItems", "minProperties":
			f, ok := num(v)
			if !ok || f < 0 || f != math.Trunc(f) {
				return nil, bad(key)
			}
			i := int(f)
			switch key {
			case "minLength":
				n.minLength = &i
			case "maxLength":
				n.maxLength = &i
			case "minItems":
				n.minItems = &i
			case "maxItems":
				n.maxItems = &i
			default:
				n.minProps = &i
			}
		case "pattern":
			s, ok := v.(string)
			if !ok {
				return nil, bad(key)
			}
			re, err := regexp.Compile(s)
			if err != nil {
				return nil, fmt.Errorf("schema: %s: pattern: %v", orRoot(at), err)
			}
			n.pattern, n.patternSrc = re, s
		case "format":
			s, ok := v.(string)
			if !ok {
				return nil, bad(key)
			}
			switch s {
			case "duration", "regex", "ip-or-cidr":
			default:
				return nil, fmt.Errorf("schema: %s: unsupported format %q", orRoot(at), s)
			}
			n.format = s
		case "oneOf", "anyOf", "allOf":
			list, ok := v.([]any)
			if !ok || len(list) == 0 {
				return nil, bad(key)
			}
			var out []*node
			for i, x := range list {
				xm, ok := x.(map[string]any)
				if !ok {
					return nil, bad(key)
				}
				child, err := c.compile(xm, fmt.Sprintf("%s/%s/%d", orRoot(at), key, i))
				if err != nil {
					return nil, err
				}
				out = append(out, child)
			}
			switch key {
			case "oneOf":
				n.oneOf = out
			case "anyOf":
				n.anyOf = out
			default:
				n.allOf = out
			}
		case "$ref":
			s, ok := v.(string)
			if !ok {
				return nil, bad(key)
			}
			n.ref = s
		default:
			if !annotationKeys[key] {
				return nil, fmt.Errorf("schema: %s: unsupported keyword %q", orRoot(at), key)
			}
		}
	}
	return n, nil
}

func orRoot(at string) string {
	if at == "" {
		return "(root)"
	}
	return at
}

func join(at, name string) string {
	if at == "" {
		return name
	}
	return at + "." + name
}

// ValidationError is a configuration that does not satisfy the schema.
// Field is the path of the offending value ("quotas[0].max_amount"; empty for
// the document itself) and Reason says what is wrong with it.
type ValidationError struct {
	Field  string
	Reason string
}

func (e *ValidationError) Error() string {
	if e.Field == "" {
		return "invalid configuration: " + e.Reason
	}
	return "invalid configuration: field \"" + e.Field + "\": " + e.Reason
}

// Validate checks a JSON document against the schema. It returns the first
// violation found, in a deterministic order (properties sorted by name).
func (s *Schema) Validate(doc []byte) error {
	var v any
	dec := json.NewDecoder(bytes.NewReader(doc))
	dec.UseNumber()
	if err := dec.Decode(&v); err != nil {
		return &ValidationError{Reason: "not valid JSON: " + err.Error()}
	}
	if dec.More() {
		return &ValidationError{Reason: "not valid JSON: trailing data after the top-level value"}
	}
	return s.root.validate(v, "")
}

func typeOf(v any) string {
	switch x := v.(type) {
	case nil:
		return "null"
	case bool:
		return "boolean"
	case string:
		return "string"
	case json.Number:
		if _, err := strconv.ParseInt(string(x), 10, 64); err == nil {
			return "integer"
		}
		if f, err := x.Float64(); err == nil && f == math.Trunc(f) && !strings.ContainsAny(string(x), ".eE") {
			return "integer"
		}
		return "number"
	case []any:
		return "array"
	case map[string]any:
		return "object"
	}
	return "unknown"
}

func typeMatches(want, got string) bool {
	return want == got || (want == "number" && got == "integer")
}

func equalJSON(a, b any) bool {
	an, aok := num(a)
	bn, bok := num(b)
	if aok && bok {
		return an == bn
	}
	ab, _ := json.Marshal(a)
	bb, _ := json.Marshal(b)
	return bytes.Equal(ab, bb)
}

func describe(v any) string {
	b, _ := json.Marshal(v)
	if len(b) > 60 {
		return string(b[:57]) + "..."
	}
	return string(b)
}

func (n *node) validate(v any, at string) error {
	fail := func(format string, args ...any) error {
		return &ValidationError{Field: at, Reason: fmt.Sprintf(format, args...)}
	}
	if n.resolvedRef != nil {
		if err := n.resolvedRef.validate(v, at); err != nil {
			return err
		}
	}
	got := typeOf(v)
	if len(n.types) > 0 {
		ok := false
		for _, t := range n.types {
			if typeMatches(t, got) {
				ok = true
				break
			}
		}
		if !ok {
			return fail("must be %s, got %s %s", strings.Join(n.types, " or "), got, describe(v))
		}
	}
	if n.enum != nil {
		ok := false
		for _, e := range n.enum {
			if equalJSON(e, v) {
				ok = true
				break
			}
		}
		if !ok {
			var names []string
			for _, e := range n.enum {
				names = append(names, describe(e))
			}
			return fail("must be one of %s, got %s", strings.Join(names, ", "), describe(v))
		}
	}
	if n.hasConst && !equalJSON(n.constVal, v) {
		return fail("must be %s", describe(n.constVal))
	}
	if f, ok := num(v); ok {
		if n.minimum != nil && f < *n.minimum {
			return fail("must be >= %v, got %v", *n.minimum, v)
		}
		if n.maximum != nil && f > *n.maximum {
			return fail("must be <= %v, got %v", *n.maximum, v)
		}
		if n.exclMin != nil && f <= *n.exclMin {
			return fail("must be > %v, got %v", *n.exclMin, v)
		}
		if n.exclMax != nil && f >= *n.exclMax {
			return fail("must be < %v, got %v", *n.exclMax, v)
		}
	}
	if s, ok := v.(string); ok {
		runes := len([]rune(s))
		if n.minLength != nil && runes < *n.minLength {
			if *n.minLength == 1 {
				return fail("must not be empty")
			}
			return fail("must be at least %d characters long", *n.minLength)
		}
		if n.maxLength != nil && runes > *n.maxLength {
			return fail("must be at most %d characters long", *n.maxLength)
		}
		if n.pattern != nil && !n.pattern.MatchString(s) {
			return fail("must match the pattern %s, got %s", n.patternSrc, describe(s))
		}
		switch n.format {
		case "duration":
			if _, err := ParseDuration(s); err != nil {
				return fail("%v", err)
			}
		case "regex":
			if _, err := regexp.Compile(s); err != nil {
				return fail("invalid regular expression %s: %v", describe(s), err)
			}
		case "ip-or-cidr":
			if _, err := ParsePrefix(s); err != nil {
				return fail("%v", err)
			}
		}
	}
	if list, ok := v.([]any); ok {
		if n.minItems != nil && len(list) < *n.minItems {
			if *n.minItems == 1 {
				return fail("must have at least one element")
			}
			return fail("must have at least %d elements", *n.minItems)
		}
		if n.maxItems != nil && len(list) > *n.maxItems {
			return fail("must have at most %d elements", *n.maxItems)
		}
		if n.items != nil {
			for i, x := range list {
				if err := n.items.validate(x, fmt.Sprintf("%s[%d]", at, i)); err != nil {
					return err
				}
			}
		}
	}
	if obj, ok := v.(map[string]any); ok {
		if n.minProps != nil && len(obj) < *n.minProps {
			if *n.minProps == 1 {
				return fail("must not be empty")
			}
			return fail("must have at least %d entries", *n.minProps)
		}
		for _, r := range n.required {
			if _, ok := obj[r]; !ok {
				return &ValidationError{Field: join(at, r), Reason: "is required"}
			}
		}
		keys := make([]string, 0, len(obj))
		for k := range obj {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			if p, ok := n.properties[k]; ok {
				if err := p.validate(obj[k], join(at, k)); err != nil {
					return err
				}
				continue
			}
			if n.addlSchema != nil {
				if err := n.addlSchema.validate(obj[k], join(at, k)); err != nil {
					return err
				}
				continue
			}
			if n.addlBool != nil && !*n.addlBool {
				known := strings.Join(n.propOrder, ", ")
				return &ValidationError{Field: join(at, k), Reason: "unknown field (known fields: " + known + ")"}
			}
		}
	}
	for _, sub := range n.allOf {
		if err := sub.validate(v, at); err != nil {
			return err
		}
	}
	if len(n.anyOf) > 0 {
		var first error
		ok := false
		for _, sub := range n.anyOf {
			err := sub.validate(v, at)
			if err == nil {
				ok = true
				break
			}
			if first == nil {
				first = err
			}
		}
		if !ok {
			return bestError(first, n.anyOf, v, at)
		}
	}
	if len(n.oneOf) > 0 {
		matched := 0
		var first error
		for _, sub := range n.oneOf {
			err := sub.validate(v, at)
			if err == nil {
				matched++
			} else if first == nil {
				first = err
			}
		}
		switch {
		case matched == 0:
			return bestError(first, n.oneOf, v, at)
		case matched > 1:
			return fail("matches more than one of the allowed forms; set exactly one of them")
		}
	}
	return nil
}

// bestError picks the most useful message when no alternative matched: the
// error of the alternative that got furthest (deepest field path), which is
// usually the one the author meant.
func bestError(first error, alts []*node, v any, at string) error {
	best := first
	bestDepth := -1
	for _, sub := range alts {
		err := sub.validate(v, at)
		ve, ok := err.(*ValidationError)
		if !ok {
			continue
		}
		if d := strings.Count(ve.Field, ".") + strings.Count(ve.Field, "["); ve.Field != at && d > bestDepth {
			best, bestDepth = err, d
		}
	}
	if bestDepth < 0 {
		return &ValidationError{Field: at, Reason: "does not match any of the allowed forms: " + first.(*ValidationError).Reason}
	}
	return best
}

// ParsePrefix parses a list entry of type IP_ADDRESSES: a CIDR ("10.0.0.0/8"),
// or a bare address, which becomes a single-host prefix (/32 for IPv4 as in
// Mixer, /128 for IPv6 where Mixer's blanket "/32" was a bug).
func ParsePrefix(s string) (netip.Prefix, error) {
	s = strings.TrimSpace(s)
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return netip.Prefix{}, fmt.Errorf("%q is not a valid IP address or CIDR", s)
		}
		return p.Masked(), nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("%q is not a valid IP address or CIDR", s)
	}
	a = a.Unmap()
	return netip.PrefixFrom(a, a.BitLen()), nil
}

// DecodeConfig validates data against schema and then decodes it into v
// with encoding/json. An empty configuration is treated as "{}".
func DecodeConfig(schema *Schema, data []byte, v any) error {
	if len(bytes.TrimSpace(data)) == 0 {
		data = []byte("{}")
	}
	if err := schema.Validate(data); err != nil {
		return err
	}
	if err := json.Unmarshal(data, v); err != nil {
		return &ValidationError{Reason: err.Error()}
	}
	return nil
}
