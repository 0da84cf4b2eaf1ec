package cli

import (
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/wasmctl/wasmctl/internal/author"
)

func init() {
	register(func(root *cobra.Command) {
		var opts author.InitOptions
		var output string
		var list bool
		cmd := &cobra.Command{
			Use:   "init NAME",
			Short: "Scaffold a filter project from a template",
			Long: `Scaffold a proxy-wasm filter project in the directory NAME.

The project holds main.go (the filter), main_test.go (tests that run natively
and as compiled wasm), tests/*.yaml (declarative cases for 'wasmctl test'),
README.md, schema.json (the configuration's JSON schema) and wasmctl.yaml (the
manifest). The wasmctl SDK is vendored in vendor/, so the project builds and
tests offline with nothing but Go installed.`,
			Example: `  # List the templates
  wasmctl init --list

  # An HTTP filter that answers 401 without a valid token
  wasmctl init myauth --template auth
  cd myauth && go test ./... && wasmctl build`,
			Args: func(cmd *cobra.Command, args []string) error {
				if list {
					return nil
				}
				if len(args) != 1 {
					return UsageErrorf("init takes the project directory: wasmctl init NAME [--template T] (see --list)")
				}
				return nil
			},
			RunE: func(cmd *cobra.Command, args []string) error {
				if list {
					tis, err := author.Templates()
					if err != nil {
						return err
					}
					return render(cmd, output, tis, func(w io.Writer) {
						for _, t := range tis {
							fmt.Fprintf(w, "%-13s %-5s %s\n", t.Name, t.Type, t.Description)
						}
					})
				}
				res, err := author.Init(args[0], opts)
				if err != nil {
					if strings.Contains(err.Error(), "unknown template") {
						return UsageErrorf("%v", err)
					}
					return err
				}
				return render(cmd, output, res, func(w io.Writer) {
					fmt.Fprintf(w, "Created %s from the %s template.\n\nNext:\n  cd %s\n  go test ./...     # native + wasm unit tests\n  wasmctl build     # compile, validate, pack the image\n  wasmctl test      # go test + tests/*.yaml in the runtime host\n", res.Dir, res.Template, res.Dir)
				})
			},
		}
		cmd.Flags().StringVarP(&opts.Template, "template", "t", author.DefaultTemplate, "template to scaffold (see --list)")
		cmd.Flags().StringVar(&opts.Module, "module", "", "Go module path (default: NAME)")
		cmd.Flags().BoolVar(&opts.Force, "force", false, "write into an existing non-empty directory")
		cmd.Flags().BoolVar(&list, "list", false, "list the templates and exit")
		outputFlag(cmd.Flags(), &output)
		completeOutput(cmd)
		_ = cmd.RegisterFlagCompletionFunc("template", func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
			tis, _ := author.Templates()
			var names []string
			for _, t := range tis {
				names = append(names, t.Name+"\t"+t.Description)
			}
			return names, cobra.ShellCompDirectiveNoFileComp
		})
		root.AddCommand(cmd)
	})
}
