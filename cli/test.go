package cli

import (
	"errors"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/wasmctl/wasmctl/internal/author"
)

func init() {
	register(func(root *cobra.Command) {
		var opts author.TestOptions
		var output string
		cmd := &cobra.Command{
			Use:   "test [DIR]",
			Short: "Run a filter's Go tests and its declarative cases in the runtime host",
			Long: `Run 'go test ./...' in DIR (default "."), then compile the filter and run
the declarative cases of DIR/tests/*.yaml against the module in the wasmctl
runtime host: each case sends a real HTTP request through the filter to a stub
upstream and checks the status, headers, body, logs and metrics.

A tests/*.yaml file:

  config: {"tokens": ["s3cret"]}          # plugin configuration
  cases:
    - name: a missing token gets a local 401
      request: {method: GET, path: /api, headers: {x-a: b}, body: ""}
      upstream: {status: 200, headers: {}, body: "ok\n"}   # stub's answer
      expect:
        status: 401
        headers: {www-authenticate: Bearer}
        headersAbsent: [server]
        body: "unauthorized\n"            # or bodyContains: unauthorized
        upstreamHeaders: {x-team: a}      # what the upstream received
        logs: ["denied /api"]             # substrings of log lines
        metrics: {requests_total: 1}      # filter metric values

Exit code 1 when a test fails.`,
			Example: `  wasmctl test
  wasmctl test ./myfilter --skip-go --run 401
  wasmctl test -o json`,
			Args: cobra.MaximumNArgs(1),
			RunE: func(cmd *cobra.Command, args []string) error {
				dir := "."
				if len(args) == 1 {
					dir = args[0]
				}
				opts.Out = cmd.ErrOrStderr()
				if output != "json" {
					opts.Out = cmd.OutOrStdout()
				}
				rep, err := author.RunTests(cmd.Context(), dir, opts)
				if err != nil && !errors.Is(err, author.ErrTestsFailed) {
					return err
				}
				rerr := render(cmd, output, rep, func(w io.Writer) {
					passed := 0
					for _, c := range rep.Cases {
						if c.Passed {
							passed++
						}
					}
					fmt.Fprintf(w, "go test: %s; declarative cases: %d/%d passed\n", rep.GoTests, passed, len(rep.Cases))
				})
				if rerr != nil {
					return rerr
				}
				if err != nil {
					return fmt.Errorf("%w: see the failures above", err)
				}
				return nil
			},
		}
		cmd.Flags().BoolVar(&opts.SkipGoTests, "skip-go", false, "skip 'go test ./...'")
		cmd.Flags().StringVar(&opts.Run, "run", "", "run only the cases whose name contains this string")
		outputFlag(cmd.Flags(), &output)
		completeOutput(cmd)
		root.AddCommand(cmd)
	})
}
