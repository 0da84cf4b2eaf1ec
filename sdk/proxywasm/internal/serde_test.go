package internal

import (
	"bytes"
	"encoding/binary"
	"errors"
	"slices"
	"testing"
)

func TestSerializeMapRoundTrip(t *testing.T) {
	for _, m := range [][][2]string{
		nil,
		{{"a", "b"}},
		{{":path", "/x"}, {"empty", ""}, {"", "no key"}, {"k", "v with \x00 inside"}},
	} {
		got, err := DeserializeMap(SerializeMap(m))
		if err != nil {
			t.Fatalf("%v: %v", m, err)
		}
		if !slices.Equal(got, m) && !(len(got) == 0 && len(m) == 0) {
			t.Errorf("round trip of %q = %q", m, got)
		}
	}
}

func TestSerializeMapLayout(t *testing.T) {
	got := SerializeMap([][2]string{{"ab", "c"}})
	want := []byte{1, 0, 0, 0, 2, 0, 0, 0, 1, 0, 0, 0, 'a', 'b', 0, 'c', 0}
	if !bytes.Equal(got, want) {
		t.Errorf("SerializeMap = %v, want %v", got, want)
	}
}

func TestDeserializeMapMalformed(t *testing.T) {
	valid := SerializeMap([][2]string{{"key", "value"}})
	huge := slices.Clone(valid)
	binary.LittleEndian.PutUint32(huge, 1<<30)
	longKey := slices.Clone(valid)
	binary.LittleEndian.PutUint32(longKey[4:], 1000)
	noNUL := slices.Clone(valid)
	noNUL[len(noNUL)-1] = 'x'
	for name, in := range map[string][]byte{
		"short header":    {1, 0},
		"count overflows": huge,
		"key too long":    longKey,
		"missing NUL":     noNUL,
		"truncated":       valid[:len(valid)-3],
	} {
		t.Run(name, func(t *testing.T) {
			if m, err := DeserializeMap(in); !errors.Is(err, ErrMalformedMap) {
				t.Errorf("DeserializeMap = %q, %v; want ErrMalformedMap", m, err)
			}
		})
	}
	for name, in := range map[string][]byte{"nil": nil, "single zero byte": {0}, "zero count": {0, 0, 0, 0}} {
		if m, err := DeserializeMap(in); err != nil || len(m) != 0 {
			t.Errorf("%s: DeserializeMap = %q, %v; want empty", name, m, err)
		}
	}
}

func TestPropertyPath(t *testing.T) {
	p := []string{"node", "metadata", "NAME"}
	b := SerializePropertyPath(p)
	if string(b) != "node\x00metadata\x00NAME" {
		t.Errorf("SerializePropertyPath = %q", b)
	}
	if got := DeserializePropertyPath(b); !slices.Equal(got, p) {
		t.Errorf("DeserializePropertyPath = %q", got)
	}
}

// FuzzDeserializeMap feeds arbitrary host bytes to the map decoder: it must
// return an error or a map that re-encodes to an equivalent map, never panic.
func FuzzDeserializeMap(f *testing.F) {
	f.Add([]byte{})
	f.Add([]byte{0})
	f.Add(SerializeMap([][2]string{{"a", "b"}, {"c", ""}}))
	f.Add([]byte{0xff, 0xff, 0xff, 0xff, 1, 2, 3})
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := DeserializeMap(b)
		if err != nil {
			return
		}
		again, err := DeserializeMap(SerializeMap(m))
		if err != nil || !slices.Equal(again, m) && len(m) > 0 {
			t.Fatalf("re-encoding %q gave %q, %v", m, again, err)
		}
	})
}

// FuzzPropertyPath checks that any path without NUL bytes round-trips.
func FuzzPropertyPath(f *testing.F) {
	f.Add("node", "id")
	f.Fuzz(func(t *testing.T, a, b string) {
		if a == "" || bytes.IndexByte([]byte(a+b), 0) >= 0 {
			return
		}
		got := DeserializePropertyPath(SerializePropertyPath([]string{a, b}))
		if !slices.Equal(got, []string{a, b}) {
			t.Fatalf("round trip of %q = %q", []string{a, b}, got)
		}
	})
}
