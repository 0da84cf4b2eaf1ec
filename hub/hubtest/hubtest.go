// Package hubtest serves a whole hub on 127.0.0.1 for tests.
package hubtest

import (
	"context"
	"log/slog"
	"net"
	"testing"

	"golang.org/x/crypto/bcrypt"

	"github.com/wasmctl/wasmctl/hub"
)

// Serve runs a hub with cfg (data in a fresh temporary directory unless
// cfg.Data is set; cheapest bcrypt cost; no logging) on a free port of
// 127.0.0.1 until the test ends, and returns it with its host:port.
func Serve(tb testing.TB, cfg hub.Config) (*hub.Server, string) {
	tb.Helper()
	if cfg.Data == "" {
		cfg.Data = tb.TempDir()
	}
	s, err := hub.New(context.Background(), cfg, hub.Options{BcryptCost: bcrypt.MinCost, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		tb.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		s.Close()
		tb.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { s.Serve(ctx, ln); close(done) }()
	tb.Cleanup(func() {
		cancel()
		<-done
		s.Close()
	})
	return s, ln.Addr().String()
}
