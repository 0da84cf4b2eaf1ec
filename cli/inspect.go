package cli

import (
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/spf13/cobra"
)

func init() {
	register(func(root *cobra.Command) {
		var f registryFlags
		var output string
		cmd := &cobra.Command{
			Use:   "inspect (FILE.wasm | IMAGE)",
			Short: "Show a module's ABI versions, imports, exports, size and an image's annotations and schema",
			Example: `  wasmctl inspect myfilter.wasm
  wasmctl inspect myfilter:0.1.0
  wasmctl inspect localhost:5000/filters/myfilter:0.1.0 -o json`,
			Args: func(cmd *cobra.Command, args []string) error {
				if len(args) != 1 {
					return UsageErrorf("inspect takes one .wasm file or image reference")
				}
				return nil
			},
			ValidArgsFunction: completeStoreRefs,
			RunE: func(cmd *cobra.Command, args []string) error {
				e, err := f.env(cmd, false)
				if err != nil {
					return err
				}
				res, err := e.Inspect(cmd.Context(), args[0])
				if err != nil {
					return err
				}
				return render(cmd, output, res, func(w io.Writer) {
					fmt.Fprintf(w, "Reference:   %s (%s)\n", res.Ref, res.Source)
					if res.Digest != "" {
						fmt.Fprintf(w, "Image:       %s (%s variant)\n", res.Digest, res.Variant)
					}
					fmt.Fprintf(w, "Module:      %s, %s\n", res.ModuleDigest, humanBytes(int64(res.Module.Size)))
					abi := strings.Join(res.Module.ABIVersions, ", ")
					if abi == "" {
						abi = "none (not a proxy-wasm module)"
					}
					fmt.Fprintf(w, "ABI:         %s\n", abi)
					if m := res.Metadata; m != nil {
						fmt.Fprintf(w, "Filter:      %s %s (%s) %s\n", m.Name, m.Version, m.Type, m.Description)
					}
					if len(res.Annotations) > 0 {
						fmt.Fprintln(w, "Annotations:")
						keys := make([]string, 0, len(res.Annotations))
						for k := range res.Annotations {
							keys = append(keys, k)
						}
						sort.Strings(keys)
						for _, k := range keys {
							fmt.Fprintf(w, "  %s: %s\n", k, res.Annotations[k])
						}
					}
					for _, l := range res.Layers {
						fmt.Fprintf(w, "Layer:       %-50s %10s  %s\n", l.MediaType, humanBytes(l.Size), l.Title)
					}
					fmt.Fprintf(w, "Imports (%d):\n", len(res.Module.Imports))
					for _, i := range res.Module.Imports {
						fmt.Fprintf(w, "  %s.%s (%s)\n", i.Module, i.Name, i.Kind)
					}
					fmt.Fprintf(w, "Exports (%d):\n", len(res.Module.Exports))
					for _, x := range res.Module.Exports {
						fmt.Fprintf(w, "  %s (%s)\n", x.Name, x.Kind)
					}
					if res.Schema != nil {
						fmt.Fprintf(w, "Config schema:\n%s\n", res.Schema)
					}
				})
			},
		}
		f.add(cmd.Flags(), true)
		outputFlag(cmd.Flags(), &output)
		completeOutput(cmd)
		root.AddCommand(cmd)
	})
}
