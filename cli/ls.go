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
			Use:     "ls [HOST | HOST/REPOSITORY]",
			Aliases: []string{"list"},
			Short:   "List images in the local store, repositories of a registry, or tags of a repository",
			Example: `  wasmctl ls                               # the local image store
  wasmctl ls localhost:5000                # repositories (the registry's catalog)
  wasmctl ls localhost:5000/filters/myfilter -o json   # tags`,
			Args: cobra.MaximumNArgs(1),
			RunE: func(cmd *cobra.Command, args []string) error {
				e, err := f.env(cmd, false)
				if err != nil {
					return err
				}
				target := ""
				if len(args) == 1 {
					target = args[0]
				}
				names, entries, err := e.List(cmd.Context(), target)
				if err != nil {
					return err
				}
				if target == "" {
					return render(cmd, output, entries, func(w io.Writer) {
						if len(entries) == 0 {
							fmt.Fprintf(w, "The local store %s is empty: build an image with 'wasmctl build'.\n", e.Store.Dir)
							return
						}
						for _, en := range entries {
							fmt.Fprintf(w, "%-50s %s  %s\n", en.Ref, en.Digest[:19], humanBytes(en.Size))
						}
					})
				}
				if names == nil {
					names = []string{}
				}
				return render(cmd, output, names, func(w io.Writer) {
					for _, n := range names {
						fmt.Fprintln(w, n)
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
