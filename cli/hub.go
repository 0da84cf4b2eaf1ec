package cli

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os/signal"
	"strings"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/wasmctl/wasmctl/hub"
	"github.com/wasmctl/wasmctl/hub/auth"
)

// hubFlags are the flags every hub subcommand shares.
type hubFlags struct {
	config string
	data   string
}

func (f *hubFlags) add(cmd *cobra.Command) {
	cmd.Flags().StringVar(&f.config, "config", "", "hub configuration file (YAML; see hub/README.md)")
	cmd.Flags().StringVar(&f.data, "data", "", "data directory: registry storage, SQLite database, signing key (default ./hub-data)")
}

// load reads the configuration file (if any) and applies the flags over it.
func (f *hubFlags) load() (hub.Config, error) {
	var cfg hub.Config
	if f.config != "" {
		var err error
		if cfg, err = hub.LoadConfig(f.config); err != nil {
			return cfg, err
		}
	}
	if f.data != "" {
		cfg.Data = f.data
	}
	return cfg, nil
}

// open loads the configuration and opens the hub (storage, database,
// accounts, index) without serving it; the caller closes it.
func (f *hubFlags) open(ctx context.Context) (*hub.Server, error) {
	cfg, err := f.load()
	if err != nil {
		return nil, err
	}
	return hub.New(ctx, cfg, hub.Options{Logger: slog.New(slog.DiscardHandler)})
}

func init() {
	register(func(root *cobra.Command) {
		cmd := &cobra.Command{
			Use:   "hub",
			Short: "Run and administer a filter hub (OCI registry, web UI, accounts)",
			Long: `The hub is an OCI registry for wasm filters with a web UI and JSON API to
browse and search them, accounts, namespaces and access tokens, all served on one port.`,
			Example: `  # Create an account, then serve the hub on 127.0.0.1:5000 with data in ./hub-data
  echo "$PASSWORD" | wasmctl hub user add alice --password-stdin
  wasmctl hub serve

  # Publish a filter to it
  wasmctl login 127.0.0.1:5000 -u alice
  wasmctl push 127.0.0.1:5000/alice/myfilter:v1`,
		}
		cmd.AddCommand(hubServeCmd(), hubUserCmd(), hubOrgCmd(), hubRepoCmd(), hubReindexCmd())
		root.AddCommand(cmd)
	})
}

func hubServeCmd() *cobra.Command {
	var f hubFlags
	var addr string
	cmd := &cobra.Command{
		Use:   "serve [--addr 127.0.0.1:5000] [--data DIR] [--config FILE]",
		Short: "Serve the hub: OCI registry at /v2/, token endpoint, JSON API and web UI",
		Long: `Serve the hub on one port until SIGINT or SIGTERM:

  /v2/      the OCI distribution API (push and pull with wasmctl, oras, crane, docker)
  /token    the registry token endpoint (docker login, oras login, wasmctl login)
  /api/v1/  the JSON API
  /         the web UI

Storage, database, authentication, sign-up and the upload limit come from the
configuration file (see hub/README.md); flags override it.`,
		Example: `  wasmctl hub serve
  wasmctl hub serve --addr 0.0.0.0:5000 --data /var/lib/wasmctl-hub
  wasmctl hub serve --config /etc/wasmctl/hub.yaml`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := f.load()
			if err != nil {
				return err
			}
			if addr != "" {
				cfg.Addr = addr
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), syscall.SIGINT, syscall.SIGTERM)
			defer stop()
			logger := slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), nil))
			s, err := hub.New(ctx, cfg, hub.Options{Logger: logger})
			if err != nil {
				return err
			}
			defer s.Close()
			auth := "on"
			if !s.Config.AuthEnabled() {
				auth = "OFF (anyone may push)"
			}
			fmt.Fprintf(cmd.OutOrStdout(), "hub listening on http://%s (data %s, storage %s, auth %s)\n",
				s.Config.Addr, s.Config.Data, s.Config.Storage.Driver, auth)
			return s.ListenAndServe(ctx)
		},
	}
	f.add(cmd)
	cmd.Flags().StringVar(&addr, "addr", "", "address to listen on (default 127.0.0.1:5000)")
	return cmd
}

func hubUserCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "user", Short: "Manage hub accounts"}
	var f hubFlags
	var pwStdin, admin bool
	var email string
	add := &cobra.Command{
		Use:   "add NAME --password-stdin [--data DIR]",
		Short: "Create an account (and its namespace NAME)",
		Example: `  echo "$PASSWORD" | wasmctl hub user add alice --password-stdin
  wasmctl hub user add ci-bot --password-stdin --data /var/lib/wasmctl-hub < secret.txt`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if !pwStdin {
				return UsageErrorf("--password-stdin is required: pipe the password in, so it stays out of shell history")
			}
			pw, err := readPassword(cmd)
			if err != nil {
				return err
			}
			s, err := f.open(cmd.Context())
			if err != nil {
				return err
			}
			defer s.Close()
			u, err := s.Auth.CreateUser(cmd.Context(), args[0], pw, auth.UserOptions{Email: email, Admin: admin})
			if errors.Is(err, auth.ErrInvalidName) || errors.Is(err, auth.ErrWeakPassword) {
				return UsageErrorf("%v", err)
			}
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "created user %s (namespace %s/)\n", u.Name, u.Name)
			return nil
		},
	}
	f.add(add)
	add.Flags().BoolVar(&pwStdin, "password-stdin", false, "read the password from standard input")
	add.Flags().BoolVar(&admin, "admin", false, "make the user a site admin (may push to every namespace)")
	add.Flags().StringVar(&email, "email", "", "e-mail address")

	var lf hubFlags
	var output string
	list := &cobra.Command{
		Use:     "list",
		Short:   "List accounts",
		Example: `  wasmctl hub user list -o json`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			s, err := lf.open(cmd.Context())
			if err != nil {
				return err
			}
			defer s.Close()
			users, err := s.Auth.Users(cmd.Context())
			if err != nil {
				return err
			}
			if output == "json" {
				return json.NewEncoder(cmd.OutOrStdout()).Encode(users)
			}
			for _, u := range users {
				role := ""
				if u.Admin {
					role = " (admin)"
				}
				fmt.Fprintf(cmd.OutOrStdout(), "%s%s\n", u.Name, role)
			}
			return nil
		},
	}
	lf.add(list)
	list.Flags().StringVarP(&output, "output", "o", "text", "output format: text or json")
	cmd.AddCommand(add, list)
	return cmd
}

func hubOrgCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "org", Short: "Manage organisations (shared namespaces)"}
	var f hubFlags
	var owner string
	create := &cobra.Command{
		Use:     "create NAME --owner USER",
		Short:   "Create an organisation owned by USER",
		Example: `  wasmctl hub org create acme --owner alice`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if owner == "" {
				return UsageErrorf("--owner is required")
			}
			s, err := f.open(cmd.Context())
			if err != nil {
				return err
			}
			defer s.Close()
			if err := s.Auth.CreateOrg(cmd.Context(), args[0], owner); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "created organisation %s owned by %s\n", args[0], owner)
			return nil
		},
	}
	f.add(create)
	create.Flags().StringVar(&owner, "owner", "", "first member of the organisation")
	var mf hubFlags
	member := &cobra.Command{
		Use:     "add-member ORG USER",
		Short:   "Let USER push to and see everything in ORG",
		Example: `  wasmctl hub org add-member acme bob`,
		Args:    cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := mf.open(cmd.Context())
			if err != nil {
				return err
			}
			defer s.Close()
			if err := s.Auth.AddMember(cmd.Context(), args[0], args[1]); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s is now a member of %s\n", args[1], args[0])
			return nil
		},
	}
	mf.add(member)
	cmd.AddCommand(create, member)
	return cmd
}

func hubRepoCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "repo", Short: "Administer repositories"}
	for _, v := range []struct {
		use     string
		private bool
		short   string
	}{
		{"private", true, "Make REPO private: visible and pullable by its namespace's owners only"},
		{"public", false, "Make REPO public: anyone may see and pull it"},
	} {
		var f hubFlags
		c := &cobra.Command{
			Use:     v.use + " REPO",
			Short:   v.short,
			Example: "  wasmctl hub repo " + v.use + " alice/myfilter --data /var/lib/wasmctl-hub",
			Args:    cobra.ExactArgs(1),
			RunE: func(cmd *cobra.Command, args []string) error {
				s, err := f.open(cmd.Context())
				if err != nil {
					return err
				}
				defer s.Close()
				if err := s.Auth.SetVisibility(cmd.Context(), args[0], v.private); err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "%s is now %s\n", args[0], v.use)
				return nil
			},
		}
		f.add(c)
		cmd.AddCommand(c)
	}
	return cmd
}

func hubReindexCmd() *cobra.Command {
	var f hubFlags
	var output string
	cmd := &cobra.Command{
		Use:   "reindex [--data DIR] [--config FILE]",
		Short: "Rebuild the filter index from the registry's storage",
		Long: `Walk every repository and tag in the registry's storage, index what the index
lacks or has at another digest, and drop index entries whose tag is gone. Pull
counts are kept. Safe to run while the hub serves.`,
		Example: `  wasmctl hub reindex --data /var/lib/wasmctl-hub`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			s, err := f.open(cmd.Context())
			if err != nil {
				return err
			}
			defer s.Close()
			stats, err := s.Reindex(cmd.Context(), func(repo, tag string, err error) {
				fmt.Fprintf(cmd.ErrOrStderr(), "warning: %s:%s: %v\n", repo, tag, err)
			})
			if err != nil {
				return err
			}
			if output == "json" {
				return json.NewEncoder(cmd.OutOrStdout()).Encode(stats)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "repositories %d, indexed %d, unchanged %d, skipped %d, removed %d\n",
				stats.Repositories, stats.Indexed, stats.Unchanged, stats.Skipped, stats.Removed)
			return nil
		},
	}
	f.add(cmd)
	cmd.Flags().StringVarP(&output, "output", "o", "text", "output format: text or json")
	return cmd
}

func readPassword(cmd *cobra.Command) (string, error) {
	line, err := bufio.NewReader(cmd.InOrStdin()).ReadString('\n')
	if err != nil && line == "" {
		return "", UsageErrorf("no password on standard input (pipe it in: echo \"$PASSWORD\" | wasmctl hub user add NAME --password-stdin)")
	}
	return strings.TrimRight(line, "\r\n"), nil
}
