package mixer

import (
	"encoding/json"
	"testing"
)

func FuzzSchemaValidate(f *testing.F) {
	s, err := CompileSchema([]byte(testSchema))
	if err != nil {
		f.Fatal(err)
	}
	for _, seed := range []string{`{"name":"x"}`, `{"items":[{"k":"a"}],"name":"y","code":3}`, `[1,2]`, `{"nets":["1.2.3.4/8"]}`, `nul`} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, doc []byte) {
		err := s.Validate(doc)
		if err != nil {
			if _, ok := err.(*ValidationError); !ok {
				t.Fatalf("non-ValidationError %T: %v", err, err)
			}
		}
	})
}

func FuzzCompileSchema(f *testing.F) {
	f.Add([]byte(testSchema))
	f.Add(DefsJSON)
	f.Fuzz(func(t *testing.T, doc []byte) {
		s, err := CompileSchema(doc)
		if err == nil {
			_ = s.Validate([]byte(`{"name":"x","a":[1,{"b":null}]}`))
		}
	})
}

func FuzzParseDuration(f *testing.F) {
	for _, s := range []string{"1s", "1.5s", "0", "-1s", "500ms", "9999999999h"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := ParseDuration(s)
		if err == nil && d < 0 {
			t.Fatalf("negative duration %v from %q", d, s)
		}
	})
}

func FuzzParsePrefix(f *testing.F) {
	for _, s := range []string{"10.0.0.0/8", "1.2.3.4", "::1", "::ffff:1.2.3.4", "x/1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := ParsePrefix(s)
		if err == nil && !p.IsValid() {
			t.Fatalf("invalid prefix from %q", s)
		}
	})
}

func FuzzAttrAndMatcher(f *testing.F) {
	f.Add(`{"attr":{"attribute":"request.headers[x]"},"exact":"a"}`, "x", "a")
	f.Add(`{"any":[{"attr":{"attribute":"source.ip"},"cidr":["10.0.0.0/8"]}]}`, ":path", "/")
	f.Add(`{"attr":{"property":["response","code"],"type":"int"},"range":[1,2]}`, "y", "z")
	f.Fuzz(func(t *testing.T, js, hk, hv string) {
		var c MatcherConfig
		if json.Unmarshal([]byte(js), &c) != nil {
			return
		}
		m, err := CompileMatcher(&c, "m")
		if err != nil {
			return
		}
		s := src()
		s.Request[hk] = hv
		s.Props[hk] = []byte(hv)
		m.Match(s)
	})
}
