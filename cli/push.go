package cli

import (
	"fmt"
	"io"

	"github.com/spf13/cobra"
)

func init() {
	register(func(root *cobra.Command) {
		var f registryFlags
		var output, variant string
		cmd := &cobra.Command{
			Use:   "push SOURCE [DESTINATION]",
			Short: "Push a filter image to an OCI registry",
			Long: `Push a filter image to a registry. SOURCE is an image in the local store (as
tagged by 'wasmctl build' or 'wasmctl tag'), a built project directory, or a
.wasm file (packed on the fly). DESTINATION is HOST/REPOSITORY[:TAG]; without
it, SOURCE must be such a reference tagged in the local store.

The image is what Istio's WasmPlugin fetcher reads (the "compat" variant: a
last tar+gzip layer holding plugin.wasm) with the README, the config schema
and wasmctl.yaml as leading layers. Credentials come from the Docker config
file (wasmctl login, docker login and oras login share them).`,
			Example: `  wasmctl build -t localhost:5000/filters/myfilter:0.1.0
  wasmctl push localhost:5000/filters/myfilter:0.1.0

  wasmctl push myfilter:0.1.0 ghcr.io/acme/myfilter:0.1.0
  wasmctl push ./plugin.wasm registry.example.com/filters/plugin:1.0 -u me -p "$TOKEN"`,
			Args: func(cmd *cobra.Command, args []string) error {
				if len(args) < 1 || len(args) > 2 {
					return UsageErrorf("push takes SOURCE [DESTINATION], e.g. wasmctl push myfilter:0.1.0 localhost:5000/filters/myfilter:0.1.0")
				}
				return nil
			},
			ValidArgsFunction: completeStoreRefs,
			RunE: func(cmd *cobra.Command, args []string) error {
				e, err := f.env(cmd, output != "json")
				if err != nil {
					return err
				}
				if e.Variant, err = parseVariant(variant); err != nil {
					return err
				}
				dst := ""
				if len(args) == 2 {
					dst = args[1]
				}
				res, err := e.Push(cmd.Context(), args[0], dst)
				if err != nil {
					return err
				}
				return render(cmd, output, res, func(w io.Writer) {
					fmt.Fprintf(w, "Pushed %s\nDigest: %s\nSize:   %s\n", res.Ref, res.Digest, humanBytes(res.Size))
				})
			},
		}
		f.add(cmd.Flags(), true)
		variantFlag(cmd, &variant)
		outputFlag(cmd.Flags(), &output)
		completeOutput(cmd)
		root.AddCommand(cmd)
	})
}
