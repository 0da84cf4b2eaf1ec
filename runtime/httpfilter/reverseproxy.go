package httpfilter

import (
	"fmt"
	"net/http"
	"net/http/httputil"
	"net/url"
)

// ReverseProxy returns an httputil.ReverseProxy to target (a base URL such
// as "http://127.0.0.1:8080") that keeps the request's Host, as Envoy does
// without host_rewrite, and sets X-Forwarded-*. It panics on an invalid URL;
// use NewReverseProxy to get an error instead.
func ReverseProxy(target string) http.Handler {
	h, err := NewReverseProxy(target)
	if err != nil {
		panic(err)
	}
	return h
}

// NewReverseProxy is ReverseProxy with an error for a bad target URL.
func NewReverseProxy(target string) (*httputil.ReverseProxy, error) {
	u, err := url.Parse(target)
	if err != nil || u.Scheme == "" || u.Host == "" {
		return nil, fmt.Errorf("upstream %q is not an absolute URL such as http://127.0.0.1:8080", target)
	}
	return &httputil.ReverseProxy{
		Rewrite: func(r *httputil.ProxyRequest) {
			r.SetURL(u)
			r.Out.Host = r.In.Host
			r.SetXForwarded()
		},
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			w.Header().Set("Content-Type", "text/plain")
			w.WriteHeader(http.StatusBadGateway)
			fmt.Fprintf(w, "upstream connect error: %v\n", err)
		},
	}, nil
}
