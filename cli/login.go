package cli

import (
	"bufio"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/wasmctl/wasmctl/internal/author"
)

func init() {
	register(func(root *cobra.Command) {
		var f registryFlags
		var stdin bool
		cmd := &cobra.Command{
			Use:   "login HOST",
			Short: "Log in to a registry (credentials are saved in the Docker config file)",
			Long: `Check a user name and password (or token) against the registry HOST and save
them in the Docker config file ($DOCKER_CONFIG/config.json or
~/.docker/config.json), where docker, oras and crane find them too.`,
			Example: `  wasmctl login ghcr.io -u me --password-stdin < token.txt
  wasmctl login localhost:5000 -u admin -p secret`,
			Args: func(cmd *cobra.Command, args []string) error {
				if len(args) != 1 {
					return UsageErrorf("login takes the registry host: wasmctl login HOST -u USER --password-stdin")
				}
				return nil
			},
			RunE: func(cmd *cobra.Command, args []string) error {
				if stdin {
					line, err := bufio.NewReader(cmd.InOrStdin()).ReadString('\n')
					if err != nil && line == "" {
						return UsageErrorf("--password-stdin: no password on standard input")
					}
					f.password = strings.TrimRight(line, "\r\n")
				}
				if f.username == "" || f.password == "" {
					return UsageErrorf("login needs -u USER and a password (-p or --password-stdin)")
				}
				if err := author.Login(cmd.Context(), args[0], f.username, f.password, author.RemoteOptions{PlainHTTP: f.plainHTTP}); err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "Login to %s succeeded.\n", args[0])
				return nil
			},
		}
		f.add(cmd.Flags(), false)
		cmd.Flags().BoolVar(&stdin, "password-stdin", false, "read the password from standard input")
		root.AddCommand(cmd)

		root.AddCommand(&cobra.Command{
			Use:     "logout HOST",
			Short:   "Remove a registry's credentials from the Docker config file",
			Example: `  wasmctl logout ghcr.io`,
			Args: func(cmd *cobra.Command, args []string) error {
				if len(args) != 1 {
					return UsageErrorf("logout takes the registry host: wasmctl logout HOST")
				}
				return nil
			},
			RunE: func(cmd *cobra.Command, args []string) error {
				if err := author.Logout(cmd.Context(), args[0]); err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "Removed the credentials of %s.\n", args[0])
				return nil
			},
		})
	})
}
