package tcpproxy_test

import (
	"bufio"
	"context"
	"io"
	"log/slog"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/wasmctl/wasmctl/internal/sharedtest"
	"github.com/wasmctl/wasmctl/runtime/host"
	"github.com/wasmctl/wasmctl/runtime/host/hosttest"
	"github.com/wasmctl/wasmctl/runtime/host/tcpproxy"
)

// TestCorpusGoNetwork drives go-network.wasm (a TCP filter) with a real
// TCP echo upstream through tcpproxy.
func TestCorpusGoNetwork(t *testing.T) {
	b, err := os.ReadFile(sharedtest.Corpus(t, "roastedroot-java/go-network.wasm"))
	if err != nil {
		t.Fatal(err)
	}
	logs := &hosttest.Logs{}
	rt, err := host.NewRuntime(t.Context(), host.Config{Logger: slog.New(logs)})
	if err != nil {
		t.Fatal(err)
	}
	defer rt.Close(context.Background())
	m, err := rt.Compile(t.Context(), b)
	if err != nil {
		t.Fatal(err)
	}
	p, err := rt.NewPlugin(t.Context(), m, host.PluginConfig{Name: "net", PoolSize: 1, Properties: map[string]any{
		"cluster_metadata": map[string]any{"filter_metadata": map[string]any{"location": map[string]any{"region": "eu-west"}}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close(context.Background())

	echo, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer echo.Close()
	go func() {
		for {
			c, err := echo.Accept()
			if err != nil {
				return
			}
			go func() { defer c.Close(); io.Copy(c, c) }()
		}
	}()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		tcpproxy.Serve(ctx, ln, []*host.Plugin{p}, echo.Addr().String(), tcpproxy.Options{})
		close(done)
	}()
	defer func() { cancel(); <-done }()

	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	c.SetDeadline(time.Now().Add(5 * time.Second))
	io.WriteString(c, "ping over wasm\n")
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil || line != "ping over wasm\n" {
		t.Fatalf("echo through the filter: %q %v", line, err)
	}
	c.(*net.TCPConn).CloseWrite()
	io.Copy(io.Discard, c)
	c.Close()

	deadline := time.Now().Add(3 * time.Second)
	for time.Now().Before(deadline) {
		if v, _ := rt.MetricValue("net", "proxy_wasm_go.connection_counter"); v == 1 {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if v, _ := rt.MetricValue("net", "proxy_wasm_go.connection_counter"); v != 1 {
		t.Errorf("connection_counter = %d, want 1", v)
	}
	all := strings.Join(logs.Lines("net"), "\n")
	for _, want := range []string{"new connection!", "downstream data received", "ping over wasm",
		"remote address: " + echo.Addr().String(), "upstream cluster metadata location[region]=eu-west",
		"upstream data received", "connection complete!"} {
		if !strings.Contains(all, want) {
			t.Errorf("log lacks %q; got:\n%s", want, all)
		}
	}
}
