// Package cli implements the wasmctl command line. Each verb lives in its own
// file and stays thin: it parses flags, calls one library function and renders
// the result. Errors say what went wrong and what to do next.
package cli

import (
	"errors"
	"fmt"
	"io"

	"github.com/spf13/cobra"
)

// Exit codes shared by every command.
const (
	ExitOK    = 0 // success
	ExitError = 1 // the command ran and failed
	ExitUsage = 2 // bad flags or arguments
)

// usageError marks an error caused by how the command was called.
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

// UsageErrorf returns an error that makes wasmctl exit with ExitUsage.
func UsageErrorf(format string, args ...any) error {
	return usageError{fmt.Errorf(format, args...)}
}

// registrars add subcommands to the root command. Each verb file appends its
// constructor in an init function, so verbs stay independent of each other.
var registrars []func(root *cobra.Command)

// register adds a subcommand constructor; call it from an init function.
func register(f func(root *cobra.Command)) { registrars = append(registrars, f) }

// NewRootCommand builds the wasmctl command tree.
func NewRootCommand(stdin io.Reader, stdout, stderr io.Writer) *cobra.Command {
	root := &cobra.Command{
		Use:   "wasmctl",
		Short: "Build, test, publish, run and deploy proxy-wasm filters written in Go",
		Long: `wasmctl is a toolchain for proxy-wasm filters (Envoy, Istio) written in Go.

It scaffolds filter projects, builds them with the standard Go toolchain,
tests them against a real proxy-wasm host, publishes them to OCI registries,
runs them in a bundled proxy and generates Istio WasmPlugin resources.`,
		Example: `  # Start a filter project, build it and run it in front of a local service
  wasmctl init myfilter --template http-headers
  cd myfilter && wasmctl build
  wasmctl run myfilter.wasm --upstream http://127.0.0.1:8080`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetIn(stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return usageError{fmt.Errorf("%w\nRun '%s --help' for usage.", err, c.CommandPath())}
	})
	for _, r := range registrars {
		r(root)
	}
	return root
}

// Main runs wasmctl with args and returns the process exit code.
func Main(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	root := NewRootCommand(stdin, stdout, stderr)
	root.SetArgs(args)
	if err := root.Execute(); err != nil {
		fmt.Fprintf(stderr, "Error: %v\n", err)
		var ue usageError
		if errors.As(err, &ue) {
			return ExitUsage
		}
		return ExitError
	}
	return ExitOK
}
