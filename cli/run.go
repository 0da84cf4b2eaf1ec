package cli

import (
	"fmt"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/wasmctl/wasmctl/runtime/httpfilter"
)

func init() {
	register(func(root *cobra.Command) {
		var (
			o                httpfilter.RunOptions
			config, vmConfig string
			clusters, env    []string
			logs             logFlags
			noCache          bool
		)
		cmd := &cobra.Command{
			Use:   "run FILTER.wasm --upstream URL",
			Short: "Run one local proxy-wasm filter in front of an upstream HTTP service",
			Long: `Run one proxy-wasm filter (a local .wasm file built by wasmctl build or by any
proxy-wasm SDK: Go, TinyGo, Rust, C++, AssemblyScript, Zig) in front of an
upstream HTTP service, the way Envoy runs it: requests go through the filter's
request callbacks, then to the upstream; responses come back through its
response callbacks.

--config is the plugin configuration (proxy_on_configure), --vm-config the VM
configuration (proxy_on_vm_start); both take inline text or @file.
--cluster NAME=URL names the upstreams the filter may call out to
(proxy_http_call, proxy_grpc_call). When the filter's VM crashes, requests get
a 503 unless --fail-open is set, and the VM is rebuilt with backoff.

The listen address is printed once the filter is running. SIGINT or SIGTERM
drains in-flight requests, stops the filter and exits. For several filters,
routes, OCI pulls and hot reload use wasmctl proxy.`,
			Example: `  # Put a filter in front of a local service
  wasmctl run myfilter.wasm --upstream http://127.0.0.1:8080

  # Plugin configuration from a file, callouts to a cluster named httpbin
  wasmctl run auth.wasm --upstream http://127.0.0.1:8080 --listen 127.0.0.1:10000 \
    --config @auth.json --cluster httpbin=http://127.0.0.1:9000

  # A filter that reads its root id, fail open, one environment variable
  wasmctl run add_header.wasm --upstream http://127.0.0.1:8080 --root-id add_header \
    --fail-open --env REGION=eu`,
			Args: func(cmd *cobra.Command, args []string) error {
				if len(args) != 1 {
					return UsageErrorf("run takes exactly one FILTER.wasm argument, got %d\nRun '%s --help' for usage.", len(args), cmd.CommandPath())
				}
				return nil
			},
			RunE: func(cmd *cobra.Command, args []string) error {
				o.WasmPath = args[0]
				if o.Upstream == "" {
					return UsageErrorf("--upstream is required: the base URL requests are forwarded to, e.g. http://127.0.0.1:8080")
				}
				var err error
				if o.PluginConfig, err = runTextOrFile("--config", config); err != nil {
					return err
				}
				if o.VMConfig, err = runTextOrFile("--vm-config", vmConfig); err != nil {
					return err
				}
				if o.Clusters, err = runKeyValues("--cluster", clusters, "NAME=URL"); err != nil {
					return err
				}
				if o.Env, err = runKeyValues("--env", env, "K=V"); err != nil {
					return err
				}
				if o.Logger, err = logs.logger(cmd.ErrOrStderr()); err != nil {
					return err
				}
				if !noCache && o.CacheDir == "" {
					if d, err := os.UserCacheDir(); err == nil {
						o.CacheDir = filepath.Join(d, "wasmctl", "compiled")
					}
				}
				if o.CacheDir != "" {
					if err := os.MkdirAll(o.CacheDir, 0o755); err != nil {
						o.Logger.Warn("compiled-code cache disabled", "dir", o.CacheDir, "err", err)
						o.CacheDir = ""
					}
				}
				out := cmd.OutOrStdout()
				o.Ready = func(a net.Addr) {
					fmt.Fprintf(out, "listening on http://%s → %s (filter %s)\n", a, o.Upstream, o.WasmPath)
				}
				ctx, stop := signal.NotifyContext(cmd.Context(), syscall.SIGINT, syscall.SIGTERM)
				defer stop()
				return httpfilter.Run(ctx, o)
			},
		}
		f := cmd.Flags()
		f.StringVar(&o.Upstream, "upstream", "", "base URL requests are forwarded to (required), e.g. http://127.0.0.1:8080")
		f.StringVar(&o.Listen, "listen", "127.0.0.1:10000", "address to serve on (port 0 picks a free port)")
		f.StringVar(&config, "config", "", "plugin configuration: inline text (JSON...) or @file")
		f.StringVar(&vmConfig, "vm-config", "", "VM configuration: inline text or @file")
		f.StringVar(&o.RootID, "root-id", "", "root context id the filter sees (plugin_root_id)")
		f.StringArrayVar(&clusters, "cluster", nil, "NAME=URL of a cluster the filter may call out to (repeatable)")
		f.BoolVar(&o.FailOpen, "fail-open", false, "skip the filter when its VM crashed (default: answer 503)")
		f.StringArrayVar(&env, "env", nil, "K=V environment variable for the filter (repeatable)")
		f.IntVar(&o.PoolSize, "vms", 0, "number of VM instances (default min(CPUs, 4))")
		f.StringVar(&o.CacheDir, "cache-dir", "", "compiled-code cache directory (default: the user cache dir)")
		f.BoolVar(&noCache, "no-cache", false, "do not keep compiled code on disk")
		logs.add(f)
		root.AddCommand(cmd)
	})
}

// runTextOrFile returns v, or the contents of the file when v is @path.
func runTextOrFile(flag, v string) ([]byte, error) {
	if path, ok := strings.CutPrefix(v, "@"); ok {
		b, err := os.ReadFile(path)
		if err != nil {
			return nil, UsageErrorf("%s %s: %v (give inline text or @ and an existing file)", flag, v, err)
		}
		return b, nil
	}
	if v == "" {
		return nil, nil
	}
	return []byte(v), nil
}

// runKeyValues parses repeated K=V flags.
func runKeyValues(flag string, vs []string, form string) (map[string]string, error) {
	if len(vs) == 0 {
		return nil, nil
	}
	m := make(map[string]string, len(vs))
	for _, v := range vs {
		k, val, ok := strings.Cut(v, "=")
		if !ok || k == "" {
			return nil, UsageErrorf("bad %s %q: use %s", flag, v, form)
		}
		m[k] = val
	}
	return m, nil
}
