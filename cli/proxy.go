package cli

import (
	"net/http"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/wasmctl/wasmctl/runtime/admin"
	"github.com/wasmctl/wasmctl/runtime/proxy"
)

func init() {
	register(func(root *cobra.Command) {
		var (
			o    proxy.RunOptions
			logs logFlags
		)
		cmd := &cobra.Command{
			Use:   "proxy --config runtime.yaml",
			Short: "Run the bundled proxy with proxy-wasm filters pulled by URL",
			Long: `Run the bundled HTTP (HTTP/1.1 and h2c) and TCP proxy configured by a YAML file:
listeners, routes (path prefix, host, header match), clusters (static endpoints,
round robin, timeouts, health checks) and an ordered proxy-wasm filter chain per
listener, each filter given by the fields of Istio's WasmPlugin (url, sha256,
imagePullPolicy, pluginConfig, pluginName, vmConfig.env, failStrategy, phase,
priority).

Filters are pulled from oci:// (the default), file://, http:// or https:// URLs
into a content-addressed cache, so a restart with a warm cache needs no network.
The file is watched: a change is built completely (fetch, verify, compile,
start) before it replaces the running configuration, with no failed request;
an invalid file is reported with file, line and field and ignored.

The admin endpoint (admin.address or --admin) serves /ready,
/stats/prometheus, /config_dump and /plugins. SIGHUP reloads the file;
SIGINT or SIGTERM drains in-flight requests and exits. See runtime/README.md
for the file format.`,
			Example: `  # Run with the example configuration, registries on localhost over HTTP
  wasmctl proxy --config runtime/examples/runtime.yaml --plain-http

  # JSON logs, admin endpoint on another port, cache in /var/cache/wasmctl
  wasmctl proxy --config /etc/wasmctl/runtime.yaml --log-format json \
    --admin 127.0.0.1:9902 --cache-dir /var/cache/wasmctl`,
			Args: cobra.NoArgs,
			RunE: func(cmd *cobra.Command, _ []string) error {
				if o.ConfigPath == "" {
					return UsageErrorf("--config is required: the proxy's YAML file (see runtime/README.md)")
				}
				var err error
				if o.Logger, err = logs.logger(cmd.ErrOrStderr()); err != nil {
					return err
				}
				o.Admin = func(s *proxy.Server) http.Handler { return admin.Handler(s) }
				ctx, stop := signal.NotifyContext(cmd.Context(), syscall.SIGINT, syscall.SIGTERM)
				defer stop()
				return proxy.Run(ctx, o)
			},
		}
		f := cmd.Flags()
		f.StringVarP(&o.ConfigPath, "config", "c", "", "the proxy's YAML configuration file (watched for changes)")
		f.BoolVar(&o.PlainHTTP, "plain-http", false, "reach OCI registries over plain HTTP (localhost registries)")
		f.StringVar(&o.CacheDir, "cache-dir", "", "module and compiled-code cache (default: cache.dir, else "+proxy.DefaultCacheDir()+")")
		f.StringVar(&o.AdminAddress, "admin", "", "admin endpoint address host:port (default: admin.address)")
		logs.add(f)
		root.AddCommand(cmd)
	})
}
