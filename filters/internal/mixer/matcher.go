package mixer

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"regexp"
	"strings"
)

// MatcherConfig is the JSON form of a Matcher, the replacement for Mixer
// rule `match` expressions: {"all":[…]}, {"any":[…]}, {"not":…}, or a leaf
// {"attr":Attr, <one test>} where the test is exact, prefix, suffix, regex
// (RE2, unanchored like Mixer's `matches`), in (a list of strings), cidr (a
// list of IPs or CIDRs), present (true/false) or range ([lo, hi], inclusive,
// integers). The empty object is always true.
type MatcherConfig struct {
	All     []MatcherConfig `json:"all,omitempty"`
	Any     []MatcherConfig `json:"any,omitempty"`
	Not     *MatcherConfig  `json:"not,omitempty"`
	Attr    *Attr           `json:"attr,omitempty"`
	Exact   *string         `json:"exact,omitempty"`
	Prefix  *string         `json:"prefix,omitempty"`
	Suffix  *string         `json:"suffix,omitempty"`
	Regex   *string         `json:"regex,omitempty"`
	In      []string        `json:"in,omitempty"`
	CIDR    []string        `json:"cidr,omitempty"`
	Present *bool           `json:"present,omitempty"`
	Range   []json.Number   `json:"range,omitempty"`
}

// Matcher is a compiled MatcherConfig. The nil Matcher matches everything.
type Matcher struct {
	op       int
	children []*Matcher
	attr     *Attr
	str      string
	set      map[string]struct{}
	re       *regexp.Regexp
	prefixes []netip.Prefix
	present  bool
	lo, hi   int64
}

const (
	opTrue = iota
	opAll
	opAny
	opNot
	opExact
	opPrefix
	opSuffix
	opRegex
	opIn
	opCIDR
	opPresent
	opRange
)

// CompileMatcher checks and compiles a matcher. field is its path in the
// configuration, used in error messages ("match.all[1].regex").
func CompileMatcher(c *MatcherConfig, field string) (*Matcher, error) {
	if c == nil {
		return nil, nil
	}
	fail := func(sub, format string, args ...any) error {
		f := field
		if sub != "" {
			f += "." + sub
		}
		return &ValidationError{Field: f, Reason: fmt.Sprintf(format, args...)}
	}
	var groups int
	for _, set := range []bool{c.All != nil, c.Any != nil, c.Not != nil, c.Attr != nil} {
		if set {
			groups++
		}
	}
	tests := 0
	for _, set := range []bool{c.Exact != nil, c.Prefix != nil, c.Suffix != nil, c.Regex != nil, c.In != nil,
		c.CIDR != nil, c.Present != nil, c.Range != nil} {
		if set {
			tests++
		}
	}
	if groups > 1 {
		return nil, fail("", "set only one of all, any, not, attr")
	}
	if c.Attr == nil && tests > 0 {
		return nil, fail("", "a test (exact, prefix, suffix, regex, in, cidr, present, range) needs an attr")
	}
	m := &Matcher{}
	switch {
	case c.All != nil || c.Any != nil:
		list, name := c.All, "all"
		m.op = opAll
		if c.Any != nil {
			list, name, m.op = c.Any, "any", opAny
		}
		for i := range list {
			ch, err := CompileMatcher(&list[i], fmt.Sprintf("%s.%s[%d]", field, name, i))
			if err != nil {
				return nil, err
			}
			m.children = append(m.children, ch)
		}
	case c.Not != nil:
		m.op = opNot
		ch, err := CompileMatcher(c.Not, field+".not")
		if err != nil {
			return nil, err
		}
		m.children = []*Matcher{ch}
	case c.Attr != nil:
		if err := c.Attr.Check(field + ".attr"); err != nil {
			return nil, err
		}
		if tests != 1 {
			return nil, fail("", "an attr needs exactly one test: exact, prefix, suffix, regex, in, cidr, present or range")
		}
		m.attr = c.Attr
		switch {
		case c.Exact != nil:
			m.op, m.str = opExact, *c.Exact
		case c.Prefix != nil:
			m.op, m.str = opPrefix, *c.Prefix
		case c.Suffix != nil:
			m.op, m.str = opSuffix, *c.Suffix
		case c.Regex != nil:
			re, err := regexp.Compile(*c.Regex)
			if err != nil {
				return nil, fail("regex", "invalid regular expression %q: %v", *c.Regex, err)
			}
			m.op, m.re = opRegex, re
		case c.In != nil:
			m.op, m.set = opIn, map[string]struct{}{}
			for _, s := range c.In {
				m.set[s] = struct{}{}
			}
		case c.CIDR != nil:
			m.op = opCIDR
			for i, s := range c.CIDR {
				p, err := ParsePrefix(s)
				if err != nil {
					return nil, fail(fmt.Sprintf("cidr[%d]", i), "%v", err)
				}
				m.prefixes = append(m.prefixes, p)
			}
		case c.Present != nil:
			m.op, m.present = opPresent, *c.Present
		case c.Range != nil:
			if len(c.Range) != 2 {
				return nil, fail("range", "must be [lo, hi]")
			}
			lo, err1 := c.Range[0].Int64()
			hi, err2 := c.Range[1].Int64()
			if err1 != nil || err2 != nil || lo > hi {
				return nil, fail("range", "must be two integers [lo, hi] with lo <= hi")
			}
			m.op, m.lo, m.hi = opRange, lo, hi
		}
	default:
		m.op = opTrue
	}
	return m, nil
}

// Match evaluates the matcher. A leaf whose attribute is absent is false
// (except present:false), so a condition on a missing input never matches.
func (m *Matcher) Match(src Source) bool {
	if m == nil {
		return true
	}
	switch m.op {
	case opTrue:
		return true
	case opAll:
		for _, c := range m.children {
			if !c.Match(src) {
				return false
			}
		}
		return true
	case opAny:
		for _, c := range m.children {
			if c.Match(src) {
				return true
			}
		}
		return false
	case opNot:
		return !m.children[0].Match(src)
	}
	v, ok := m.attr.Resolve(src)
	if m.op == opPresent {
		return ok == m.present
	}
	if !ok {
		return false
	}
	switch m.op {
	case opRange:
		i, ok := v.Int()
		return ok && i >= m.lo && i <= m.hi
	case opCIDR:
		ip, ok := HostIP(v.String())
		if !ok {
			return false
		}
		a := netip.MustParseAddr(ip)
		for _, p := range m.prefixes {
			if p.Contains(a) {
				return true
			}
		}
		return false
	}
	s := v.String()
	switch m.op {
	case opExact:
		return s == m.str
	case opPrefix:
		return strings.HasPrefix(s, m.str)
	case opSuffix:
		return strings.HasSuffix(s, m.str)
	case opRegex:
		return m.re.MatchString(s)
	case opIn:
		_, ok := m.set[s]
		return ok
	}
	return false
}
