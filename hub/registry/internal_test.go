package registry

import (
	"strings"
	"testing"
)

func TestParseRoute(t *testing.T) {
	tests := []struct {
		path string
		want route
		ok   bool
	}{
		{"/v2/", route{kind: "base"}, true},
		{"/v2", route{kind: "base"}, true},
		{"/v2/_catalog", route{kind: "catalog"}, true},
		{"/v2/a/b/tags/list", route{kind: "tags", name: "a/b"}, true},
		{"/v2/a/b/blobs/uploads/", route{kind: "uploads", name: "a/b"}, true},
		{"/v2/a/b/blobs/uploads/abc", route{kind: "upload", name: "a/b", ref: "abc"}, true},
		{"/v2/a/blobs/b/blobs/sha256:00", route{kind: "blob", name: "a/blobs/b", ref: "sha256:00"}, true},
		{"/v2/a/manifests/x/manifests/v1", route{kind: "manifest", name: "a/manifests/x", ref: "v1"}, true},
		{"/v2/a/referrers/sha512:00", route{kind: "referrers", name: "a", ref: "sha512:00"}, true},
		{"/v2/a/unknown/x", route{}, false},
		{"/v3/a/tags/list", route{}, false},
	}
	for _, tt := range tests {
		got, ok := parseRoute(tt.path)
		if ok != tt.ok || got != tt.want {
			t.Errorf("parseRoute(%q) = %+v, %v; want %+v, %v", tt.path, got, ok, tt.want, tt.ok)
		}
	}
}

func FuzzParseRoute(f *testing.F) {
	for _, s := range []string{"/v2/a/b/blobs/uploads/x", "/v2/_catalog", "/v2/a/manifests/", "/v2//blobs/x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, p string) {
		rt, ok := parseRoute(p)
		if !ok {
			return
		}
		if !strings.HasPrefix(p, "/v2") {
			t.Fatalf("accepted %q", p)
		}
		if rt.kind != "base" && rt.kind != "catalog" && rt.name == "" {
			t.Fatalf("%q parsed with an empty name: %+v", p, rt)
		}
	})
}

func FuzzParseDigest(f *testing.F) {
	f.Add("sha256:" + strings.Repeat("a", 64))
	f.Add("sha512:" + strings.Repeat("0", 128))
	f.Add("sha256:../../etc")
	f.Fuzz(func(t *testing.T, s string) {
		d, ok := parseDigest(s)
		if !ok {
			return
		}
		// Accepted digests must be safe storage path components.
		if err := d.Validate(); err != nil {
			t.Fatalf("accepted invalid digest %q: %v", s, err)
		}
		if strings.ContainsAny(d.Encoded(), "/.") {
			t.Fatalf("digest %q yields an unsafe path", s)
		}
	})
}

func TestParseByteRange(t *testing.T) {
	tests := []struct {
		h          string
		start, end int64
		ok         bool
	}{
		{"bytes=0-9", 0, 9, true},
		{"bytes=5-", 5, 99, true},
		{"bytes=-10", 90, 99, true},
		{"bytes=90-200", 90, 99, true},
		{"bytes=100-", 0, 0, false},
		{"bytes=5-4", 0, 0, false},
		{"bytes=0-1,3-4", 0, 0, false},
		{"items=0-1", 0, 0, false},
	}
	for _, tt := range tests {
		s, e, ok := parseByteRange(tt.h, 100)
		if ok != tt.ok || (ok && (s != tt.start || e != tt.end)) {
			t.Errorf("parseByteRange(%q) = %d, %d, %v; want %d, %d, %v", tt.h, s, e, ok, tt.start, tt.end, tt.ok)
		}
	}
}

func FuzzParseByteRange(f *testing.F) {
	f.Add("bytes=0-9", int64(10))
	f.Add("bytes=-5", int64(3))
	f.Fuzz(func(t *testing.T, h string, size int64) {
		if size <= 0 {
			return
		}
		s, e, ok := parseByteRange(h, size)
		if ok && (s < 0 || e >= size || s > e) {
			t.Fatalf("parseByteRange(%q, %d) = %d-%d outside the blob", h, size, s, e)
		}
	})
}

func TestCheckContentRange(t *testing.T) {
	tests := []struct {
		h          string
		size, clen int64
		want       bool
	}{
		{"", 10, 5, true},
		{"10-14", 10, 5, true},
		{"bytes 10-14/*", 10, 5, true},
		{"0-4", 10, 5, false},
		{"10-13", 10, 5, false},
		{"10-x", 10, 5, false},
	}
	for _, tt := range tests {
		if got := checkContentRange(tt.h, tt.size, tt.clen); got != tt.want {
			t.Errorf("checkContentRange(%q, %d, %d) = %v", tt.h, tt.size, tt.clen, got)
		}
	}
}
