package sharedtest

import (
	"os"
	"path/filepath"
	"testing"
)

func TestRepoRootHoldsGoWork(t *testing.T) {
	root := RepoRoot(t)
	if _, err := os.Stat(filepath.Join(root, "go.work")); err != nil {
		t.Fatalf("RepoRoot %s has no go.work", root)
	}
}

func TestCorpusIndex(t *testing.T) {
	p := Corpus(t, "INDEX.md")
	if fi, err := os.Stat(p); err != nil || fi.Size() == 0 {
		t.Fatalf("corpus index unreadable: %v", err)
	}
}
