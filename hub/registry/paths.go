package registry

import (
	"crypto/sha256"
	"crypto/sha512"
	"hash"
	"path"
	"regexp"
	"strings"

	"github.com/opencontainers/go-digest"
)

const root = "/oci"

// supported digest algorithms and their hex lengths.
var algorithms = map[string]int{"sha256": 64, "sha512": 128}

var hexRE = regexp.MustCompile(`^[a-f0-9]+$`)

// parseDigest validates a digest string. ok is false for malformed digests
// and unsupported algorithms.
func parseDigest(s string) (digest.Digest, bool) {
	alg, hex, found := strings.Cut(s, ":")
	n, known := algorithms[alg]
	if !found || !known || len(hex) != n || !hexRE.MatchString(hex) {
		return "", false
	}
	return digest.Digest(s), true
}

func newHash(alg string) hash.Hash {
	if alg == "sha512" {
		return sha512.New()
	}
	return sha256.New()
}

func blobDataPath(d digest.Digest) string {
	h := d.Encoded()
	return path.Join(root, "blobs", d.Algorithm().String(), h[:2], h, "data")
}

func repoPath(name string, parts ...string) string {
	return path.Join(append([]string{root, "repositories", name}, parts...)...)
}

func blobLinkPath(name string, d digest.Digest) string {
	return repoPath(name, "_blobs", d.Algorithm().String(), d.Encoded())
}

func manifestLinkPath(name string, d digest.Digest) string {
	return repoPath(name, "_manifests", d.Algorithm().String(), d.Encoded())
}

func tagPath(name, tag string) string { return repoPath(name, "_tags", tag) }

func referrersDir(name string, subject digest.Digest) string {
	return repoPath(name, "_referrers", subject.Algorithm().String(), subject.Encoded())
}

func referrerPath(name string, subject, ref digest.Digest) string {
	return path.Join(referrersDir(name, subject), ref.Algorithm().String()+"-"+ref.Encoded())
}

func uploadDir(name, id string) string { return repoPath(name, "_uploads", id) }

// tempRE matches the temporary files the filesystem driver's PutContent
// leaves behind when killed mid-write ("<name>.<uuid>.tmp").
var tempRE = regexp.MustCompile(`\.[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\.tmp$`)
