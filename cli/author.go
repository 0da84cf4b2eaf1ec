package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/wasmctl/wasmctl/internal/author"
	"github.com/wasmctl/wasmctl/internal/wasmimage"
)

// This file holds what the author's verbs (init, build, test, push, pull,
// tag, ls, inspect, login, logout, deploy) share: the output flag, the image
// store flag and the registry flags.

// outputFlag adds -o/--output (text or json).
func outputFlag(fs *pflag.FlagSet, p *string) {
	fs.StringVarP(p, "output", "o", "text", "output format: text or json")
}

// render writes v as JSON with -o json, or calls text otherwise.
func render(cmd *cobra.Command, output string, v any, text func(w io.Writer)) error {
	switch output {
	case "json":
		enc := json.NewEncoder(cmd.OutOrStdout())
		enc.SetIndent("", "  ")
		return enc.Encode(v)
	case "", "text":
		text(cmd.OutOrStdout())
		return nil
	}
	return UsageErrorf("unknown output format %q: use -o text or -o json", output)
}

// registryFlags are the flags of verbs that talk to registries.
type registryFlags struct {
	plainHTTP bool
	username  string
	password  string
	store     string
}

func (f *registryFlags) add(fs *pflag.FlagSet, withStore bool) {
	fs.BoolVar(&f.plainHTTP, "plain-http", false, "talk plain HTTP to the registry (automatic for localhost and 127.0.0.1)")
	fs.StringVarP(&f.username, "username", "u", "", "registry user name (default: the Docker config file's credentials)")
	fs.StringVarP(&f.password, "password", "p", "", "registry password or token")
	if withStore {
		storeFlag(fs, &f.store)
	}
}

func storeFlag(fs *pflag.FlagSet, p *string) {
	fs.StringVar(p, "store", "", "local image store directory (an OCI layout; default $"+author.StoreEnv+" or ~/.local/share/wasmctl/images)")
}

// env builds the author.Env of a command.
func (f *registryFlags) env(cmd *cobra.Command, progress bool) (*author.Env, error) {
	e := &author.Env{Remote: author.RemoteOptions{PlainHTTP: f.plainHTTP, Username: f.username, Password: f.password, UserAgent: "wasmctl/" + Version}}
	st, err := author.OpenStore(cmd.Context(), f.store)
	if err != nil {
		return nil, err
	}
	e.Store = st
	if progress {
		e.Progress = cmd.ErrOrStderr()
		e.ProgressBars = isTerminal(cmd.ErrOrStderr())
	}
	return e, nil
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// completeStoreRefs completes image references from the local store.
func completeStoreRefs(cmd *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
	st, err := author.OpenStore(cmd.Context(), "")
	if err != nil {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	entries, err := st.List(cmd.Context())
	if err != nil {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	var out []string
	for _, e := range entries {
		out = append(out, e.Ref)
	}
	return out, cobra.ShellCompDirectiveNoFileComp
}

func completeOutput(cmd *cobra.Command) {
	_ = cmd.RegisterFlagCompletionFunc("output", cobra.FixedCompletions([]string{"text", "json"}, cobra.ShellCompDirectiveNoFileComp))
}

func humanBytes(n int64) string {
	switch {
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}

// variantFlag adds --variant (the image shape written when packing).
func variantFlag(cmd *cobra.Command, p *string) {
	cmd.Flags().StringVar(p, "variant", "compat", "image shape: compat (Istio-compatible, with README/schema/wasmctl.yaml layers) or oci (wasme's two layers; metadata as annotations only)")
	_ = cmd.RegisterFlagCompletionFunc("variant", cobra.FixedCompletions([]string{"compat", "oci"}, cobra.ShellCompDirectiveNoFileComp))
}

func parseVariant(v string) (wasmimage.Variant, error) {
	switch v {
	case "", "compat":
		return wasmimage.VariantCompat, nil
	case "oci":
		return wasmimage.VariantOCI, nil
	}
	return "", UsageErrorf("--variant %q: use compat or oci", v)
}
