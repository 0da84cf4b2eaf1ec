package cli

import (
	"fmt"
	"io"

	"github.com/spf13/cobra"
)

func init() {
	register(func(root *cobra.Command) {
		var f registryFlags
		var output string
		cmd := &cobra.Command{
			Use:   "tag SOURCE TARGET",
			Short: "Give an image another name",
			Long: `Tag SOURCE as TARGET. An image in the local store is tagged in the store
(push it later with 'wasmctl push TARGET'); an image in a registry is tagged in
the registry (copied when TARGET is another repository).`,
			Example: `  wasmctl tag myfilter:0.1.0 localhost:5000/filters/myfilter:0.1.0
  wasmctl tag localhost:5000/filters/myfilter:0.1.0 localhost:5000/filters/myfilter:stable`,
			Args: func(cmd *cobra.Command, args []string) error {
				if len(args) != 2 {
					return UsageErrorf("tag takes SOURCE and TARGET: wasmctl tag myfilter:0.1.0 localhost:5000/filters/myfilter:0.1.0")
				}
				return nil
			},
			ValidArgsFunction: completeStoreRefs,
			RunE: func(cmd *cobra.Command, args []string) error {
				e, err := f.env(cmd, false)
				if err != nil {
					return err
				}
				res, err := e.Tag(cmd.Context(), args[0], args[1])
				if err != nil {
					return err
				}
				return render(cmd, output, res, func(w io.Writer) {
					fmt.Fprintf(w, "Tagged %s as %s in the %s (%s)\n", res.Source, res.Ref, res.Where, res.Digest)
				})
			},
		}
		f.add(cmd.Flags(), true)
		outputFlag(cmd.Flags(), &output)
		completeOutput(cmd)
		root.AddCommand(cmd)
	})
}
