package proxy

import (
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/wasmctl/wasmctl/runtime/config"
)

// route is a compiled config.Route.
type route struct {
	name    string
	prefix  string
	host    string // exact host, or ".example.com" for "*.example.com"
	headers []config.HeaderMatch
	cluster *cluster
	timeout time.Duration
	// counters by response class 1xx..5xx, resolved once.
	byClass [6]prometheus.Counter
}

func (r *route) matches(req *http.Request) bool {
	if r.prefix != "" && !strings.HasPrefix(req.URL.Path, r.prefix) {
		return false
	}
	if r.host != "" {
		h := req.Host
		if hh, _, err := net.SplitHostPort(h); err == nil {
			h = hh
		}
		h = strings.ToLower(h)
		if strings.HasPrefix(r.host, ".") {
			if !strings.HasSuffix(h, r.host) {
				return false
			}
		} else if h != r.host {
			return false
		}
	}
	for _, hm := range r.headers {
		vs, ok := req.Header[http.CanonicalHeaderKey(hm.Name)]
		switch {
		case !ok:
			return false
		case hm.Present:
		case hm.Exact != "":
			if !containsFunc(vs, func(v string) bool { return v == hm.Exact }) {
				return false
			}
		case hm.Prefix != "":
			if !containsFunc(vs, func(v string) bool { return strings.HasPrefix(v, hm.Prefix) }) {
				return false
			}
		}
	}
	return true
}

func containsFunc(vs []string, f func(string) bool) bool {
	for _, v := range vs {
		if f(v) {
			return true
		}
	}
	return false
}

// router sends a request to the first matching route's cluster.
type router struct {
	listener string
	routes   []*route
	m        *metrics
	noRoute  prometheus.Counter
}

func newRouter(l config.Listener, clusters map[string]*cluster, m *metrics) *router {
	rt := &router{
		listener: l.Name, m: m,
		noRoute: m.noRoute.WithLabelValues(l.Name),
	}
	for i, r := range l.Routes {
		name := r.Name
		if name == "" {
			name = strconv.Itoa(i)
		}
		cr := &route{
			name: name, prefix: r.Match.Prefix, headers: r.Match.Headers,
			cluster: clusters[r.Cluster], timeout: r.Timeout.D(),
		}
		if h := strings.ToLower(r.Match.Host); strings.HasPrefix(h, "*.") {
			cr.host = h[1:]
		} else {
			cr.host = h
		}
		for c := 1; c <= 5; c++ {
			cr.byClass[c] = m.routeRequests.WithLabelValues(l.Name, name, r.Cluster, strconv.Itoa(c)+"xx")
		}
		rt.routes = append(rt.routes, cr)
	}
	return rt
}

// statusWriter records the response status for metrics.
type statusWriter struct {
	http.ResponseWriter
	code int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.code == 0 {
		w.code = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.code == 0 {
		w.code = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

func (w *statusWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func (rt *router) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	for _, r := range rt.routes {
		if !r.matches(req) {
			continue
		}
		sw := &statusWriter{ResponseWriter: w}
		r.cluster.serve(sw, req, r.timeout)
		c := sw.code / 100
		if c < 1 || c > 5 {
			c = 5 // no response written: the client went away mid-exchange
		}
		r.byClass[c].Inc()
		return
	}
	rt.noRoute.Inc()
	http.Error(w, "no route matches "+req.Host+req.URL.Path+" on listener "+rt.listener, http.StatusNotFound)
}
