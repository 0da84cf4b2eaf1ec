// Command gen regenerates internal/sdkbundle/sdk.tar.gz from the SDK module
// in ../../sdk. Run it with `go generate ./internal/sdkbundle`; with
// -rev REV it bundles the SDK as committed at that git revision instead of
// the working tree (what a clean clone, and so CI, sees).
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"

	"github.com/wasmctl/wasmctl/internal/sdkbundle"
)

func main() {
	rev := flag.String("rev", "", "bundle the SDK at this git revision (default: the working tree)")
	flag.Parse()
	if err := run(*rev); err != nil {
		fmt.Fprintln(os.Stderr, "sdkbundle:", err)
		os.Exit(1)
	}
}

func run(rev string) error {
	sdkDir := "../../sdk"
	if rev != "" {
		tmp, err := os.MkdirTemp("", "sdkbundle-rev-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(tmp)
		cmd := exec.Command("sh", "-c", fmt.Sprintf("git -C ../.. archive %q sdk | tar -x -C %q", rev, tmp))
		cmd.Stderr = os.Stderr
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("git archive %s: %w", rev, err)
		}
		sdkDir = filepath.Join(tmp, "sdk")
	}
	files, err := sdkbundle.Generate(context.Background(), sdkDir)
	if err != nil {
		return err
	}
	b, err := sdkbundle.Pack(files)
	if err != nil {
		return err
	}
	if err := os.WriteFile("sdk.tar.gz", b, 0o644); err != nil {
		return err
	}
	fmt.Printf("sdk.tar.gz: %d files, %d bytes\n", len(files), len(b))
	return nil
}
