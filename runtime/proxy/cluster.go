package proxy

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	"github.com/wasmctl/wasmctl/runtime/config"
)

// Default cluster settings.
const (
	DefaultConnectTimeout      = 5 * time.Second
	DefaultHealthInterval      = 5 * time.Second
	DefaultHealthTimeout       = time.Second
	DefaultHealthyThreshold    = 1
	DefaultUnhealthyThreshold  = 2
	passiveFailuresBeforeEject = 3
)

// endpoint is one upstream address and its health.
type endpoint struct {
	addr    string
	url     *url.URL
	healthy atomic.Bool
	// consecutive active-check results, guarded by the checker goroutine.
	okRun, failRun int
	// passive failures (dial errors) since the last success.
	dialFails atomic.Int32
}

// cluster is a set of endpoints, balanced round robin, with a shared
// transport. A cluster survives reloads while its configuration is unchanged.
type cluster struct {
	name      string
	key       string // JSON of the configuration; equal keys are interchangeable
	cfg       config.Cluster
	endpoints []*endpoint
	byAddr    map[string]*endpoint
	rr        atomic.Uint64
	transport *http.Transport
	proxy     *httputil.ReverseProxy
	m         *metrics
	log       *slog.Logger
	stop      context.CancelFunc
	done      chan struct{}
	refs      atomic.Int32
}

var bufPool = sync.Pool{New: func() any { b := make([]byte, 32<<10); return &b }}

type bufferPool struct{}

func (bufferPool) Get() []byte  { return *bufPool.Get().(*[]byte) }
func (bufferPool) Put(b []byte) { bufPool.Put(&b) }

func clusterKeyOf(c config.Cluster) string {
	b, _ := json.Marshal(c)
	return string(b)
}

func newCluster(c config.Cluster, m *metrics, log *slog.Logger) *cluster {
	cl := &cluster{name: c.Name, key: clusterKeyOf(c), cfg: c, m: m, log: log.With("cluster", c.Name), done: make(chan struct{})}
	cl.byAddr = map[string]*endpoint{}
	for _, a := range c.Endpoints {
		e := &endpoint{addr: a, url: &url.URL{Scheme: "http", Host: a}}
		cl.byAddr[a] = e
		e.healthy.Store(true) // healthy until a check says otherwise (Envoy's default)
		cl.endpoints = append(cl.endpoints, e)
	}
	ct := c.ConnectTimeout.D()
	if ct <= 0 {
		ct = DefaultConnectTimeout
	}
	dialer := &net.Dialer{Timeout: ct, KeepAlive: 30 * time.Second}
	cl.transport = &http.Transport{
		DialContext:           dialer.DialContext,
		MaxIdleConns:          0,
		MaxIdleConnsPerHost:   1024,
		IdleConnTimeout:       90 * time.Second,
		ResponseHeaderTimeout: 0,
		ExpectContinueTimeout: time.Second,
	}
	cl.proxy = &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			e := cl.pick()
			pr.Out.URL.Scheme = "http"
			pr.Out.URL.Host = e.addr
			pr.Out.Host = pr.In.Host
			pr.SetXForwarded()
		},
		Transport:    cl.transport,
		BufferPool:   bufferPool{},
		ErrorHandler: cl.errorHandler,
		ModifyResponse: func(resp *http.Response) error {
			if e := cl.byAddr[resp.Request.URL.Host]; e != nil && e.dialFails.Load() != 0 {
				e.dialFails.Store(0)
			}
			return nil
		},
	}
	ctx, cancel := context.WithCancel(context.Background())
	cl.stop = cancel
	if c.HealthCheck != nil {
		go cl.healthLoop(ctx)
	} else {
		close(cl.done)
	}
	return cl
}

// pick returns the next healthy endpoint round robin; when none is healthy it
// returns the next one anyway (Envoy's panic mode: better to try than to
// refuse everything).
func (c *cluster) pick() *endpoint {
	n := uint64(len(c.endpoints))
	start := c.rr.Add(1)
	for i := range n {
		e := c.endpoints[(start+i)%n]
		if e.healthy.Load() {
			return e
		}
	}
	return c.endpoints[start%n]
}

// serve proxies r to one endpoint.
func (c *cluster) serve(w http.ResponseWriter, r *http.Request, timeout time.Duration) {
	if timeout <= 0 {
		timeout = c.cfg.Timeout.D()
	}
	if timeout > 0 {
		ctx, cancel := context.WithTimeout(r.Context(), timeout)
		defer cancel()
		r = r.WithContext(ctx)
	}
	c.proxy.ServeHTTP(w, r)
}

func (c *cluster) errorHandler(w http.ResponseWriter, r *http.Request, err error) {
	e := c.byAddr[r.URL.Host] // r is the outgoing request
	code, kind := http.StatusBadGateway, "connect"
	var ne net.Error
	switch {
	case errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout()):
		code, kind = http.StatusGatewayTimeout, "timeout"
	case errors.Is(err, context.Canceled):
		code, kind = 499, "client_cancel"
	}
	var oe *net.OpError
	if e != nil && errors.As(err, &oe) && oe.Op == "dial" {
		if e.dialFails.Add(1) >= passiveFailuresBeforeEject && len(c.endpoints) > 1 && e.healthy.Swap(false) {
			c.log.Warn("endpoint ejected after repeated connect failures", "endpoint", e.addr, "err", err)
			if c.cfg.HealthCheck == nil {
				// Without active checks, give it another chance later.
				time.AfterFunc(5*time.Second, func() { c.setHealthy(e, true) })
			}
		}
	}
	c.m.upstreamErrors.WithLabelValues(c.name, kind).Inc()
	c.log.Debug("upstream error", "endpoint", addrOf(e), "err", err)
	if code == 499 {
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(code)
	w.Write([]byte("upstream " + kind + " error\n"))
}

func addrOf(e *endpoint) string {
	if e == nil {
		return ""
	}
	return e.addr
}

func (c *cluster) setHealthy(e *endpoint, ok bool) {
	if e.healthy.Swap(ok) != ok {
		c.log.Info("endpoint health changed", "endpoint", e.addr, "healthy", ok)
	}
	if ok {
		e.dialFails.Store(0)
	}
}

func (c *cluster) healthLoop(ctx context.Context) {
	defer close(c.done)
	hc := *c.cfg.HealthCheck
	interval := hc.Interval.D()
	if interval <= 0 {
		interval = DefaultHealthInterval
	}
	timeout := hc.Timeout.D()
	if timeout <= 0 {
		timeout = DefaultHealthTimeout
	}
	up, down := hc.HealthyThreshold, hc.UnhealthyThreshold
	if up <= 0 {
		up = DefaultHealthyThreshold
	}
	if down <= 0 {
		down = DefaultUnhealthyThreshold
	}
	client := &http.Client{Timeout: timeout, Transport: &http.Transport{DisableKeepAlives: true}}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		for _, e := range c.endpoints {
			ok := c.probe(ctx, client, e, hc.Path, timeout)
			if ok {
				e.okRun, e.failRun = e.okRun+1, 0
				if e.okRun >= up {
					c.setHealthy(e, true)
				}
			} else {
				e.failRun, e.okRun = e.failRun+1, 0
				if e.failRun >= down {
					c.setHealthy(e, false)
				}
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (c *cluster) probe(ctx context.Context, client *http.Client, e *endpoint, path string, timeout time.Duration) bool {
	if path == "" {
		conn, err := net.DialTimeout("tcp", e.addr, timeout)
		if err != nil {
			return false
		}
		conn.Close()
		return true
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+e.addr+path, nil)
	if err != nil {
		return false
	}
	req.Header.Set("User-Agent", "wasmctl-health-check")
	resp, err := client.Do(req)
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode >= 200 && resp.StatusCode < 300
}

// close stops health checks and idle connections.
func (c *cluster) close() {
	c.stop()
	<-c.done
	c.transport.CloseIdleConnections()
}
