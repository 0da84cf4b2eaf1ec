// Package testregistry starts a real OCI distribution registry (the CNCF
// distribution/v3 code, unmodified) on 127.0.0.1 for tests of everything that
// pushes or pulls: the CLI, the runtime's image cache and the hub's indexer.
// It is test support, shared so that no package mocks a registry.
package testregistry

import (
	"context"
	"net"
	"net/http"
	"strings"
	"testing"

	"github.com/distribution/distribution/v3/configuration"
	"github.com/distribution/distribution/v3/registry/handlers"
	_ "github.com/distribution/distribution/v3/registry/storage/driver/filesystem" // storage driver
	"github.com/sirupsen/logrus"
)

// Registry is a running registry.
type Registry struct {
	// Host is "127.0.0.1:PORT", ready for image references ("HOST/repo:tag").
	Host string
	// URL is "http://127.0.0.1:PORT".
	URL string
	// Dir is the registry's storage root on disk.
	Dir    string
	server *http.Server
}

// Start runs a registry with filesystem storage in a temporary directory and
// deletes enabled. It stops when the test ends.
func Start(tb testing.TB) *Registry {
	tb.Helper()
	logrus.SetLevel(logrus.WarnLevel)
	dir := tb.TempDir()
	cfg := &configuration.Configuration{}
	cfg.Storage = configuration.Storage{
		"filesystem": configuration.Parameters{"rootdirectory": dir},
		"delete":     configuration.Parameters{"enabled": true},
	}
	cfg.Log.Level = "error"
	cfg.Log.AccessLog.Disabled = true
	cfg.Catalog.MaxEntries = 1000 // distribution's default of 0 makes /v2/_catalog always empty
	ctx, cancel := context.WithCancel(context.Background())
	app := handlers.NewApp(ctx, cfg)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		cancel()
		tb.Fatalf("testregistry: listen: %v", err)
	}
	srv := &http.Server{Handler: app}
	go srv.Serve(ln)
	r := &Registry{Host: ln.Addr().String(), URL: "http://" + ln.Addr().String(), Dir: dir, server: srv}
	tb.Cleanup(func() {
		srv.Close()
		cancel()
	})
	return r
}

// Ref returns a reference to repo (and tag or "@digest" suffix) on this registry.
func (r *Registry) Ref(repoAndTag string) string {
	return r.Host + "/" + strings.TrimPrefix(repoAndTag, "/")
}
