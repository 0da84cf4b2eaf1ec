// Command benchtool serves the two fixed parts of the proxy's load test
// (runtime/proxy/loadtest.sh): an upstream answering 100 bytes, and the
// baseline net/http/httputil.ReverseProxy tuned like the proxy's clusters.
//
//	benchtool upstream 127.0.0.1:9000
//	benchtool reverseproxy 127.0.0.1:9100 http://127.0.0.1:9000
package main

import (
	"fmt"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"strings"
	"sync"
	"time"
)

var pool = sync.Pool{New: func() any { b := make([]byte, 32<<10); return &b }}

type bufferPool struct{}

func (bufferPool) Get() []byte  { return *pool.Get().(*[]byte) }
func (bufferPool) Put(b []byte) { pool.Put(&b) }

func main() {
	if len(os.Args) < 3 {
		fmt.Fprintln(os.Stderr, "usage: benchtool upstream ADDR | benchtool reverseproxy ADDR UPSTREAM_URL")
		os.Exit(2)
	}
	var h http.Handler
	switch os.Args[1] {
	case "upstream":
		body := []byte(strings.Repeat("x", 100))
		h = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/plain")
			w.Write(body)
		})
	case "reverseproxy":
		if len(os.Args) < 4 {
			fmt.Fprintln(os.Stderr, "usage: benchtool reverseproxy ADDR UPSTREAM_URL")
			os.Exit(2)
		}
		u, err := url.Parse(os.Args[3])
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		h = &httputil.ReverseProxy{
			Rewrite: func(pr *httputil.ProxyRequest) {
				pr.SetURL(u)
				pr.Out.Host = pr.In.Host
				pr.SetXForwarded()
			},
			Transport:  &http.Transport{MaxIdleConnsPerHost: 1024, IdleConnTimeout: 90 * time.Second},
			BufferPool: bufferPool{},
		}
	default:
		fmt.Fprintf(os.Stderr, "unknown mode %q\n", os.Args[1])
		os.Exit(2)
	}
	srv := &http.Server{Addr: os.Args[2], Handler: h, ReadHeaderTimeout: 10 * time.Second}
	if err := srv.ListenAndServe(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
