package cli

import (
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/wasmctl/wasmctl/internal/author"
)

func init() {
	register(func(root *cobra.Command) {
		var opts author.BuildOptions
		var output, store, variant string
		cmd := &cobra.Command{
			Use:   "build [DIR]",
			Short: "Compile a filter project, validate it and pack its image",
			Long: `Compile the filter project in DIR (default ".") with the standard Go
toolchain (GOOS=wasip1 GOARCH=wasm, -buildmode=c-shared, -trimpath, stripped),
optionally optimize it with wasm-opt (--wasm-opt), and validate the module: it must
export a proxy_abi_version_* marker, memory, _initialize and
proxy_on_context_create, and import only functions the runtime host provides.

Then it writes DIR/<name>.wasm and an OCI image (Istio WasmPlugin compatible,
with README, schema and wasmctl.yaml inside) into the local image store, tagged
<name>:<version> and with every -t. Nothing is written if any step fails.`,
			Example: `  wasmctl build
  wasmctl build ./myfilter -t localhost:5000/filters/myfilter:0.1.0
  wasmctl build --wasm-opt -o json`,
			Args: cobra.MaximumNArgs(1),
			RunE: func(cmd *cobra.Command, args []string) error {
				dir := "."
				if len(args) == 1 {
					dir = args[0]
				}
				st, err := author.OpenStore(cmd.Context(), store)
				if err != nil {
					return err
				}
				opts.Store = st
				if opts.Variant, err = parseVariant(variant); err != nil {
					return err
				}
				if output != "json" {
					opts.Log = cmd.ErrOrStderr()
				}
				res, err := author.Build(cmd.Context(), dir, opts)
				if err != nil {
					return err
				}
				return render(cmd, output, res, func(w io.Writer) {
					fmt.Fprintf(w, "Built %s (%s, ABI %v, wasm-opt: %v) in %s\n", res.Wasm, humanBytes(int64(res.Size)), res.ABIVersions, res.Optimized, res.Duration.Round(1e6))
					fmt.Fprintf(w, "module %s\nimage  %s\n", res.ModuleDigest, res.ImageDigest)
					for _, t := range res.Tags {
						fmt.Fprintf(w, "tagged %s\n", t)
					}
					fmt.Fprintf(w, "\nNext: wasmctl test, or wasmctl push %s HOST/REPO:TAG\n", res.Tags[0])
				})
			},
		}
		cmd.Flags().StringArrayVarP(&opts.Tags, "tag", "t", nil, "also tag the image in the store with this reference (repeatable)")
		cmd.Flags().StringVar(&opts.Output, "wasm", "", "where to write the module (default DIR/<name>.wasm)")
		cmd.Flags().BoolVar(&opts.Optimize, "wasm-opt", false, "run wasm-opt -O2 (binaryen) when installed; slow on Go modules, small gain")
		cmd.Flags().BoolVar(&opts.Debug, "debug", false, "keep symbols and DWARF")
		variantFlag(cmd, &variant)
		storeFlag(cmd.Flags(), &store)
		outputFlag(cmd.Flags(), &output)
		completeOutput(cmd)
		root.AddCommand(cmd)
	})
}
