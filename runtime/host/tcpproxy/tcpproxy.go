// Package tcpproxy runs proxy-wasm network (TCP) filters on a connection
// and forwards it to an upstream, like Envoy's tcp_proxy with wasm network
// filters in front: downstream data goes through the plugins in order
// (proxy_on_downstream_data), upstream data in reverse order
// (proxy_on_upstream_data); a filter may hold data (it is buffered until a
// later callback continues) or close the connection.
package tcpproxy

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"sync"
	"time"

	"github.com/wasmctl/wasmctl/runtime/host"
)

// Options tunes Handle and Serve.
type Options struct {
	// Logger receives connection errors. Default slog.Default().
	Logger *slog.Logger
	// DialTimeout bounds the upstream dial. Default 10s.
	DialTimeout time.Duration
	// ClusterName feeds the cluster_name property.
	ClusterName string
}

// Serve accepts connections on ln until ctx ends or ln fails, running
// Handle for each one against upstream ("host:port").
func Serve(ctx context.Context, ln net.Listener, plugins []*host.Plugin, upstream string, opt Options) error {
	go func() { <-ctx.Done(); ln.Close() }()
	var wg sync.WaitGroup
	defer wg.Wait()
	for {
		c, err := ln.Accept()
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			Handle(ctx, c, plugins, upstream, opt)
		}()
	}
}

type conn struct {
	streams []*host.TCPStream
	down    net.Conn
	up      net.Conn
	once    sync.Once
}

func (c *conn) closeAll() {
	c.once.Do(func() {
		c.down.Close()
		if c.up != nil {
			c.up.Close()
		}
	})
}

// Handle runs the plugins on one downstream connection and proxies it to
// upstream. It returns when both directions are done, and closes down.
func Handle(ctx context.Context, down net.Conn, plugins []*host.Plugin, upstream string, opt Options) {
	if opt.Logger == nil {
		opt.Logger = slog.Default()
	}
	if opt.DialTimeout <= 0 {
		opt.DialTimeout = 10 * time.Second
	}
	c := &conn{down: down}
	defer c.closeAll()
	info := host.StreamInfo{FilterState: &host.FilterState{}, SourceAddr: down.RemoteAddr().String(), DestinationAddr: down.LocalAddr().String(),
		UpstreamAddr: upstream, ClusterName: opt.ClusterName, StartTime: time.Now()}
	for _, p := range plugins {
		ci := info
		s, err := p.NewTCPStream(&ci)
		if err != nil {
			if p.UnavailableResult(err).Continue {
				continue
			}
			opt.Logger.Warn("wasm network filter unavailable; closing connection", "plugin", p.Config().Name, "err", err)
			return
		}
		c.streams = append(c.streams, s)
	}
	defer func() {
		for _, s := range c.streams {
			s.OnDownstreamClose(host.PeerRemote)
			s.OnUpstreamClose(host.PeerRemote)
			s.Done()
		}
	}()
	for _, s := range c.streams {
		if r := s.OnNewConnection(); r.Close {
			return
		} else if !r.Continue {
			wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
			r = s.Wait(wctx, host.Downstream)
			cancel()
			if !r.Continue {
				return
			}
		}
	}
	d := net.Dialer{Timeout: opt.DialTimeout}
	up, err := d.DialContext(ctx, "tcp", upstream)
	if err != nil {
		opt.Logger.Warn("tcp upstream connect failed", "upstream", upstream, "err", err)
		return
	}
	c.up = up
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); c.pump(down, up, host.Downstream) }()
	go func() { defer wg.Done(); c.pump(up, down, host.Upstream) }()
	wg.Wait()
}

// pump copies src to dst through the filters (in order for downstream
// data, reverse order for upstream data).
func (c *conn) pump(src, dst net.Conn, dir host.Direction) {
	buf := make([]byte, 32<<10)
	order := make([]*host.TCPStream, len(c.streams))
	for i, s := range c.streams {
		if dir == host.Downstream {
			order[i] = s
		} else {
			order[len(order)-1-i] = s
		}
	}
	for {
		n, err := src.Read(buf)
		eos := err != nil
		data := append([]byte(nil), buf[:n]...)
		for _, s := range order {
			var r host.Result
			if dir == host.Downstream {
				r = s.OnDownstreamData(data, eos)
			} else {
				r = s.OnUpstreamData(data, eos)
			}
			if r.Close {
				c.closeAll()
				return
			}
			if !r.Continue {
				data = nil
				break
			}
			if dir == host.Downstream {
				data = s.TakeDownstreamData()
			} else {
				data = s.TakeUpstreamData()
			}
		}
		if len(data) > 0 {
			if _, werr := dst.Write(data); werr != nil {
				c.closeAll()
				return
			}
		}
		if eos {
			if !errors.Is(err, io.EOF) {
				c.closeAll()
				return
			}
			if cw, ok := dst.(interface{ CloseWrite() error }); ok {
				cw.CloseWrite()
			} else {
				c.closeAll()
			}
			return
		}
	}
}
