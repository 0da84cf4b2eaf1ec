package cli

import (
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"

	"github.com/wasmctl/wasmctl/internal/author"
)

func init() {
	register(func(root *cobra.Command) {
		var f registryFlags
		var opts author.DeployOptions
		var output, configFile string
		var selector []string
		var priority int32
		cmd := &cobra.Command{
			Use:   "deploy REFERENCE --name NAME",
			Short: "Print an Istio WasmPlugin pinned by digest, and the matching wasmctl proxy filter",
			Long: `Resolve REFERENCE (HOST/REPOSITORY:TAG) to its digest in the registry and print
an Istio WasmPlugin (extensions.istio.io/v1alpha1) with url oci://...@sha256:...
and sha256 set, ready for 'kubectl apply -f -'. Then it prints the same filter
as a 'wasmctl proxy' configuration. The WasmPlugin is checked against Istio's
own API types (istio.io/api) and the proxy config against the runtime's parser.`,
			Example: `  wasmctl deploy localhost:5000/filters/myauth:0.1.0 --name myauth \
      --selector app=shop --phase AUTHN --priority 10 --config config.json | kubectl apply -f -

  wasmctl deploy ghcr.io/acme/metrics:1.2.0 --name metrics --fail-open -o json`,
			Args: func(cmd *cobra.Command, args []string) error {
				if len(args) != 1 {
					return UsageErrorf("deploy takes one image reference: wasmctl deploy HOST/REPO:TAG --name NAME")
				}
				return nil
			},
			RunE: func(cmd *cobra.Command, args []string) error {
				if opts.Name == "" {
					return UsageErrorf("deploy needs --name (the WasmPlugin's metadata.name)")
				}
				sel, err := author.ParseSelector(selector)
				if err != nil {
					return UsageErrorf("%v", err)
				}
				opts.Selector = sel
				if cmd.Flags().Changed("priority") {
					opts.Priority = &priority
				}
				switch configFile {
				case "":
				case "-":
					if opts.Config, err = io.ReadAll(cmd.InOrStdin()); err != nil {
						return err
					}
				default:
					if opts.Config, err = os.ReadFile(configFile); err != nil {
						return fmt.Errorf("--config: %w", err)
					}
				}
				e, err := f.env(cmd, false)
				if err != nil {
					return err
				}
				res, err := e.Deploy(cmd.Context(), args[0], opts)
				if err != nil {
					return err
				}
				return render(cmd, output, res, func(w io.Writer) {
					fmt.Fprint(w, res.WasmPluginYAML)
					fmt.Fprintf(w, "---\n# wasmctl proxy configuration running the same filter (save it uncommented, then: wasmctl proxy --config FILE):\n")
					for _, line := range splitLines(res.ProxyYAML) {
						fmt.Fprintf(w, "# %s\n", line)
					}
				})
			},
		}
		f.add(cmd.Flags(), true)
		cmd.Flags().StringVar(&opts.Name, "name", "", "the WasmPlugin's name (required)")
		cmd.Flags().StringVarP(&opts.Namespace, "namespace", "n", "", "the WasmPlugin's namespace")
		cmd.Flags().StringArrayVar(&selector, "selector", nil, "workload label selector key=value (repeatable)")
		cmd.Flags().StringVar(&opts.Phase, "phase", "", "AUTHN, AUTHZ or STATS (default: end of the chain)")
		cmd.Flags().Int32Var(&priority, "priority", 0, "ordering within the phase (higher first)")
		cmd.Flags().StringVar(&configFile, "config", "", "plugin configuration file, JSON or YAML ('-' for stdin)")
		cmd.Flags().BoolVar(&opts.FailOpen, "fail-open", false, "skip the filter instead of failing requests when it crashes")
		cmd.Flags().StringVar(&opts.PluginName, "plugin-name", "", "Envoy plugin name (root id)")
		outputFlag(cmd.Flags(), &output)
		completeOutput(cmd)
		_ = cmd.RegisterFlagCompletionFunc("phase", cobra.FixedCompletions([]string{"AUTHN", "AUTHZ", "STATS"}, cobra.ShellCompDirectiveNoFileComp))
		root.AddCommand(cmd)
	})
}

func splitLines(s string) []string {
	var out []string
	start := 0
	for i := 0; i < len(s); i++ {
		if s[i] == '\n' {
			out = append(out, s[start:i])
			start = i + 1
		}
	}
	if start < len(s) {
		out = append(out, s[start:])
	}
	return out
}
