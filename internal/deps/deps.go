//go:build deps

// Package deps pins the project's chosen dependencies in go.mod before every
// package that uses them exists, so that parallel work never races on go.mod.
// It is never built (the "deps" build tag is never set).
package deps

import (
	_ "github.com/chromedp/chromedp"
	_ "github.com/distribution/distribution/v3"
	_ "github.com/envoyproxy/go-control-plane/envoy/service/extension/v3"
	_ "github.com/envoyproxy/go-control-plane/pkg/server/v3"
	_ "github.com/fsnotify/fsnotify"
	_ "github.com/gin-gonic/gin"
	_ "github.com/google/go-containerregistry/pkg/v1/remote"
	_ "github.com/prometheus/client_golang/prometheus"
	_ "github.com/spf13/cobra"
	_ "github.com/tetratelabs/proxy-wasm-go-sdk/proxywasm/proxytest"
	_ "github.com/tetratelabs/wazero"
	_ "github.com/yuin/goldmark"
	_ "golang.org/x/crypto/bcrypt"
	_ "istio.io/api/extensions/v1alpha1"
	_ "modernc.org/sqlite"
	_ "oras.land/oras-go/v2"
	_ "sigs.k8s.io/yaml"
)
