package main

import (
	"bufio"
	"crypto/sha1"
	"encoding/hex"
	"fmt"
	"net/netip"
	"regexp"
	"strings"

	"github.com/wasmctl/wasmctl/filters/internal/mixer"
)

// entryType is how list entries match a value.
type entryType string

const (
	typeStrings     entryType = "STRINGS"
	typeCaseInsens  entryType = "CASE_INSENSITIVE_STRINGS"
	typeIPAddresses entryType = "IP_ADDRESSES"
	typeRegex       entryType = "REGEX"
)

// list is a compiled list of entries of one type.
type list struct {
	typ      entryType
	set      map[string]struct{}
	prefixes []netip.Prefix
	re       *regexp.Regexp
}

// compileList compiles entries. field names the configuration field in
// errors (for overrides) or is empty for a fetched list.
func compileList(typ entryType, entries []string, field string) (*list, error) {
	l := &list{typ: typ}
	where := func(i int) string {
		if field == "" {
			return fmt.Sprintf("entry %d", i+1)
		}
		return fmt.Sprintf("%s[%d]", field, i)
	}
	switch typ {
	case typeIPAddresses:
		for i, e := range entries {
			p, err := mixer.ParsePrefix(e)
			if err != nil {
				return nil, &mixer.ValidationError{Field: where(i), Reason: err.Error()}
			}
			l.prefixes = append(l.prefixes, p)
		}
	case typeRegex:
		var parts []string
		for i, e := range entries {
			if _, err := regexp.Compile(e); err != nil {
				return nil, &mixer.ValidationError{Field: where(i), Reason: fmt.Sprintf("invalid regular expression %q: %v", e, err)}
			}
			parts = append(parts, "(?:"+e+")")
		}
		if len(parts) > 0 {
			l.re = regexp.MustCompile(strings.Join(parts, "|"))
		}
	default:
		l.set = make(map[string]struct{}, len(entries))
		for _, e := range entries {
			if typ == typeCaseInsens {
				e = strings.ToUpper(e)
			}
			l.set[e] = struct{}{}
		}
	}
	return l, nil
}

// merge returns a list with the entries of both (same type).
func merge(a, b *list) *list {
	if a == nil {
		return b
	}
	if b == nil {
		return a
	}
	out := &list{typ: a.typ, prefixes: append(append([]netip.Prefix{}, a.prefixes...), b.prefixes...)}
	if a.set != nil || b.set != nil {
		out.set = make(map[string]struct{}, len(a.set)+len(b.set))
		for k := range a.set {
			out.set[k] = struct{}{}
		}
		for k := range b.set {
			out.set[k] = struct{}{}
		}
	}
	switch {
	case a.re != nil && b.re != nil:
		out.re = regexp.MustCompile(a.re.String() + "|" + b.re.String())
	case a.re != nil:
		out.re = a.re
	default:
		out.re = b.re
	}
	return out
}

// errInvalidIP is the verdict for a value that is not an IP address.
var errInvalidIP = fmt.Errorf("not a valid IP address")

// contains reports whether v matches an entry. For IP lists, a value that
// is not an IP address (an optional port is ignored) is errInvalidIP.
func (l *list) contains(v string) (bool, error) {
	switch l.typ {
	case typeIPAddresses:
		ip, ok := mixer.HostIP(v)
		if !ok {
			return false, errInvalidIP
		}
		a := netip.MustParseAddr(ip)
		for _, p := range l.prefixes {
			if p.Contains(a) {
				return true, nil
			}
		}
		return false, nil
	case typeRegex:
		return l.re != nil && l.re.MatchString(v), nil
	case typeCaseInsens:
		_, ok := l.set[strings.ToUpper(v)]
		return ok, nil
	}
	_, ok := l.set[v]
	return ok, nil
}

// parseBody splits a fetched list into entries: one per line, blank lines
// and lines starting with '#' skipped. For IP lists the body may also be
// Mixer's YAML form, a top-level "whitelist:" key with a sequence of
// "- entry" items.
func parseBody(typ entryType, body []byte) []string {
	var out []string
	yaml := false
	sc := bufio.NewScanner(strings.NewReader(string(body)))
	sc.Buffer(make([]byte, 0, 64*1024), 1<<20)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if typ == typeIPAddresses && (line == "whitelist:" || line == "blacklist:") {
			yaml = true
			continue
		}
		if yaml {
			item, ok := strings.CutPrefix(line, "-")
			if !ok {
				continue
			}
			line = strings.Trim(strings.TrimSpace(item), `"'`)
		}
		out = append(out, line)
	}
	return out
}

// digest is the SHA-1 Mixer compared to detect an unchanged list.
func digest(body []byte) string {
	s := sha1.Sum(body)
	return hex.EncodeToString(s[:])
}
