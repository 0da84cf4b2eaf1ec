package cli

import (
	"encoding/json"
	"fmt"
	"runtime"
	"runtime/debug"

	"github.com/spf13/cobra"
)

// Version is the wasmctl release; it is set at link time with
// -ldflags "-X github.com/wasmctl/wasmctl/cli.Version=v1.2.3".
var Version = "dev"

// VersionInfo describes the running binary.
type VersionInfo struct {
	Version   string `json:"version"`
	GoVersion string `json:"goVersion"`
	Platform  string `json:"platform"`
	Commit    string `json:"commit,omitempty"`
}

// CurrentVersion reports the version of this binary.
func CurrentVersion() VersionInfo {
	v := VersionInfo{Version: Version, GoVersion: runtime.Version(), Platform: runtime.GOOS + "/" + runtime.GOARCH}
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" {
				v.Commit = s.Value
			}
		}
	}
	return v
}

func init() {
	register(func(root *cobra.Command) {
		var output string
		cmd := &cobra.Command{
			Use:   "version",
			Short: "Print the wasmctl version",
			Example: `  wasmctl version
  wasmctl version -o json`,
			Args: cobra.NoArgs,
			RunE: func(cmd *cobra.Command, _ []string) error {
				v := CurrentVersion()
				switch output {
				case "json":
					enc := json.NewEncoder(cmd.OutOrStdout())
					enc.SetIndent("", "  ")
					return enc.Encode(v)
				case "", "text":
					fmt.Fprintf(cmd.OutOrStdout(), "wasmctl %s (%s, %s)\n", v.Version, v.GoVersion, v.Platform)
					return nil
				default:
					return UsageErrorf("unknown output format %q: use -o text or -o json", output)
				}
			},
		}
		cmd.Flags().StringVarP(&output, "output", "o", "text", "output format: text or json")
		root.AddCommand(cmd)
	})
}
