package proxy

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/wasmctl/wasmctl/runtime/config"
)

// socket is a bound listener. It outlives generations while its protocol and
// address stay in the configuration; each request or connection uses the
// generation current when it arrives.
type socket struct {
	s        *Server
	key      string
	protocol string
	ln       net.Listener
	srv      *http.Server // http sockets

	// tcp sockets
	mu    sync.Mutex
	conns map[net.Conn]struct{}
	wg    sync.WaitGroup
	done  chan struct{}
}

func socketKey(l config.Listener) string {
	p := l.Protocol
	if p == "" {
		p = config.ProtocolHTTP
	}
	return p + "://" + l.Address
}

func (s *Server) listen(l config.Listener, key string) (*socket, error) {
	ln, err := net.Listen("tcp", l.Address)
	if err != nil {
		return nil, fmt.Errorf("listener %s: cannot listen on %s: %w (is another process using the port?)", l.Name, l.Address, err)
	}
	sk := &socket{s: s, key: key, protocol: l.Protocol, ln: ln, done: make(chan struct{})}
	if sk.protocol == "" {
		sk.protocol = config.ProtocolHTTP
	}
	if sk.protocol == config.ProtocolHTTP {
		protos := new(http.Protocols)
		protos.SetHTTP1(true)
		protos.SetUnencryptedHTTP2(true)
		sk.srv = &http.Server{
			Handler:           sk,
			Protocols:         protos,
			ReadHeaderTimeout: 30 * time.Second,
			IdleTimeout:       5 * time.Minute,
			ErrorLog:          nil,
		}
	} else {
		sk.conns = map[net.Conn]struct{}{}
	}
	return sk, nil
}

func (sk *socket) serve() {
	if sk.srv != nil {
		go func() {
			defer close(sk.done)
			if err := sk.srv.Serve(sk.ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				sk.s.log.Error("listener stopped", "address", sk.ln.Addr().String(), "err", err)
			}
		}()
		return
	}
	go sk.acceptTCP()
}

// ServeHTTP hands the request to the current generation's handler for this
// socket.
func (sk *socket) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	g := sk.s.acquire()
	if g == nil {
		http.Error(w, "proxy is shutting down", http.StatusServiceUnavailable)
		return
	}
	defer g.release()
	h := g.http[sk.key]
	if h == nil {
		w.Header().Set("Connection", "close")
		http.Error(w, "listener is being removed", http.StatusServiceUnavailable)
		return
	}
	h.ServeHTTP(w, r)
}

func (sk *socket) acceptTCP() {
	defer close(sk.done)
	var delay time.Duration
	for {
		c, err := sk.ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			// Temporary errors (EMFILE...): back off like net/http does.
			delay = min(max(2*delay, 5*time.Millisecond), time.Second)
			sk.s.log.Warn("accept failed; retrying", "address", sk.ln.Addr().String(), "err", err, "delay", delay)
			time.Sleep(delay)
			continue
		}
		delay = 0
		sk.wg.Add(1)
		go sk.handleTCP(c)
	}
}

func (sk *socket) track(c net.Conn, add bool) {
	sk.mu.Lock()
	defer sk.mu.Unlock()
	if add {
		sk.conns[c] = struct{}{}
	} else {
		delete(sk.conns, c)
	}
}

func (sk *socket) handleTCP(c net.Conn) {
	defer sk.wg.Done()
	defer c.Close()
	g := sk.s.acquire()
	if g == nil {
		return
	}
	tr := g.tcp[sk.key]
	name := g.names[sk.key]
	if tr != nil && tr.handle != nil {
		// The connection's filters must outlive it: the generation (and so
		// its plugins) drains only when the connection ends.
		defer g.release()
	} else {
		g.release()
	}
	if tr == nil {
		return
	}
	cl := tr.cluster
	m := sk.s.m
	m.tcpConns.WithLabelValues(name).Inc()
	active := m.tcpActive.WithLabelValues(name)
	active.Inc()
	defer active.Dec()
	sk.track(c, true)
	defer sk.track(c, false)

	e := cl.pick()
	if tr.handle != nil {
		tr.handle(context.Background(), c, e.addr)
		return
	}
	ct := cl.cfg.ConnectTimeout.D()
	if ct <= 0 {
		ct = DefaultConnectTimeout
	}
	up, err := net.DialTimeout("tcp", e.addr, ct)
	if err != nil {
		m.upstreamErrors.WithLabelValues(cl.name, "connect").Inc()
		sk.s.log.Debug("tcp upstream connect failed", "cluster", cl.name, "endpoint", e.addr, "err", err)
		return
	}
	defer up.Close()
	sk.track(up, true)
	defer sk.track(up, false)
	var wg sync.WaitGroup
	pipe := func(dst, src net.Conn, ctr prometheus.Counter) {
		n, _ := io.Copy(dst, src)
		ctr.Add(float64(n))
		if tc, ok := dst.(*net.TCPConn); ok {
			tc.CloseWrite()
		} else {
			dst.Close()
		}
	}
	wg.Go(func() { pipe(up, c, m.tcpBytes.WithLabelValues(name, "rx")) })
	pipe(c, up, m.tcpBytes.WithLabelValues(name, "tx"))
	wg.Wait()
}

func (sk *socket) shutdown(timeout time.Duration) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	sk.shutdownCtx(ctx)
}

// shutdownCtx stops accepting and waits for in-flight requests (HTTP) or
// open connections (TCP) until ctx ends, then closes what is left.
func (sk *socket) shutdownCtx(ctx context.Context) error {
	if sk.srv != nil {
		err := sk.srv.Shutdown(ctx)
		if err != nil {
			sk.srv.Close()
		}
		return err
	}
	sk.ln.Close()
	done := make(chan struct{})
	go func() { sk.wg.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		sk.mu.Lock()
		for c := range sk.conns {
			c.Close()
		}
		sk.mu.Unlock()
		<-done
		return ctx.Err()
	}
}
