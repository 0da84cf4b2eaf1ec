package cli

import (
	"context"
	"net"
	"net/http"
	"testing"

	"github.com/distribution/distribution/v3/configuration"
	"github.com/distribution/distribution/v3/registry/handlers"
	_ "github.com/distribution/distribution/v3/registry/storage/driver/filesystem" // storage driver
)

// startCatalogRegistry runs a distribution registry like
// internal/testregistry.Start but with the catalog enabled: testregistry
// builds its configuration in code, leaving Catalog.MaxEntries at 0, so its
// /v2/_catalog always answers an empty list. It returns the host:port.
func startCatalogRegistry(t *testing.T) string {
	t.Helper()
	cfg := &configuration.Configuration{}
	cfg.Storage = configuration.Storage{"filesystem": configuration.Parameters{"rootdirectory": t.TempDir()}}
	cfg.Catalog.MaxEntries = 1000
	cfg.Log.Level = "error"
	cfg.Log.AccessLog.Disabled = true
	ctx, cancel := context.WithCancel(context.Background())
	app := handlers.NewApp(ctx, cfg)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	srv := &http.Server{Handler: app}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close(); cancel() })
	return ln.Addr().String()
}
