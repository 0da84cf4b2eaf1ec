package main

import (
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/wasmctl/wasmctl/filters/internal/mixer"
)

// Level is an output level.
type Level int

// The output levels, in order.
const (
	LevelInfo Level = iota
	LevelWarning
	LevelError
)

var levelNames = map[string]Level{"INFO": LevelInfo, "WARNING": LevelWarning, "ERROR": LevelError}

func (l Level) lower() string {
	switch l {
	case LevelWarning:
		return "warn"
	case LevelError:
		return "error"
	}
	return "info"
}

// mapSeverity maps an instance severity to a level: custom mappings first,
// then Mixer's defaults by prefix, unknown severities are INFO.
func mapSeverity(sev string, custom map[string]string) Level {
	if l, ok := custom[sev]; ok {
		return levelNames[l]
	}
	s := strings.ToLower(sev)
	switch {
	case strings.HasPrefix(s, "warn"):
		return LevelWarning
	case strings.HasPrefix(s, "err"), strings.HasPrefix(s, "fatal"), strings.HasPrefix(s, "crit"):
		return LevelError
	}
	return LevelInfo
}

// field is one resolved variable.
type field struct {
	name string
	v    mixer.Value
}

// appendJSONString appends s as a JSON string.
func appendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				b = append(b, '\\', c)
			case c < 0x20:
				switch c {
				case '\n':
					b = append(b, '\\', 'n')
				case '\r':
					b = append(b, '\\', 'r')
				case '\t':
					b = append(b, '\\', 't')
				default:
					b = append(b, `\u00`...)
					b = append(b, "0123456789abcdef"[c>>4], "0123456789abcdef"[c&0xf])
				}
			default:
				b = append(b, c)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, `\ufffd`...)
		} else {
			b = append(b, s[i:i+size]...)
		}
		i += size
	}
	return append(b, '"')
}

func appendJSONValue(b []byte, v mixer.Value) []byte {
	switch v.Kind {
	case mixer.KindInt:
		return strconv.AppendInt(b, v.I, 10)
	case mixer.KindBool:
		return strconv.AppendBool(b, v.I != 0)
	}
	return appendJSONString(b, v.String())
}

// formatJSON renders {"level":…,"time":…,"instance":…,<fields sorted>}.
func formatJSON(b []byte, level Level, ts, instance string, fields []field) []byte {
	b = append(b, `{"level":"`...)
	b = append(b, level.lower()...)
	b = append(b, `","time":`...)
	b = appendJSONString(b, ts)
	b = append(b, `,"instance":`...)
	b = appendJSONString(b, instance)
	for _, f := range fields {
		b = append(b, ',')
		b = appendJSONString(b, f.name)
		b = append(b, ':')
		b = appendJSONValue(b, f.v)
	}
	return append(b, '}')
}

// formatConsole renders "<time>\t<level>\t<instance>\tk=v k2=v2" with
// fields sorted; values with spaces, quotes or '=' (or empty) are quoted.
func formatConsole(b []byte, level Level, ts, instance string, fields []field) []byte {
	b = append(b, ts...)
	b = append(b, '\t')
	b = append(b, level.lower()...)
	b = append(b, '\t')
	b = append(b, instance...)
	b = append(b, '\t')
	for i, f := range fields {
		if i > 0 {
			b = append(b, ' ')
		}
		b = append(b, f.name...)
		b = append(b, '=')
		s := f.v.String()
		if s == "" || strings.ContainsAny(s, " \t\n\"=") {
			b = strconv.AppendQuote(b, s)
		} else {
			b = append(b, s...)
		}
	}
	return b
}

func sortFields(fs []field) { sort.Slice(fs, func(i, j int) bool { return fs[i].name < fs[j].name }) }
