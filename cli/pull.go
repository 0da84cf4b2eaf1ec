package cli

import (
	"fmt"
	"io"

	"github.com/spf13/cobra"
)

func init() {
	register(func(root *cobra.Command) {
		var f registryFlags
		var output, dir string
		var keep bool
		cmd := &cobra.Command{
			Use:   "pull REFERENCE",
			Short: "Pull a filter image and write its .wasm and metadata",
			Long: `Pull HOST/REPOSITORY[:TAG|@DIGEST] and write the module as DIR/<name>.wasm,
with README.md, schema.json and wasmctl.yaml next to it when the image carries
them. Every known shape is read: images pushed by wasmctl, Istio/wasme "oci"
and "compat" images, plain 'oras push' artifacts and image indexes.`,
			Example: `  wasmctl pull localhost:5000/filters/myfilter:0.1.0
  wasmctl pull ghcr.io/acme/authz@sha256:0123... -d ./filters --store`,
			Args: func(cmd *cobra.Command, args []string) error {
				if len(args) != 1 {
					return UsageErrorf("pull takes one reference: wasmctl pull HOST/REPOSITORY:TAG")
				}
				return nil
			},
			RunE: func(cmd *cobra.Command, args []string) error {
				e, err := f.env(cmd, output != "json")
				if err != nil {
					return err
				}
				res, err := e.Pull(cmd.Context(), args[0], dir, keep)
				if err != nil {
					return err
				}
				return render(cmd, output, res, func(w io.Writer) {
					fmt.Fprintf(w, "Pulled %s (%s variant)\nDigest: %s\n", res.Ref, res.Variant, res.Digest)
					for _, p := range res.Files {
						fmt.Fprintf(w, "wrote  %s\n", p)
					}
				})
			},
		}
		f.add(cmd.Flags(), true)
		cmd.Flags().StringVarP(&dir, "dir", "d", ".", "directory to write the files into")
		cmd.Flags().BoolVar(&keep, "keep", false, "also keep the image in the local store under REFERENCE")
		outputFlag(cmd.Flags(), &output)
		completeOutput(cmd)
		root.AddCommand(cmd)
	})
}
