package properties

import "fmt"

// EnvoyTrafficDirection is the direction of the listener (listener_direction).
type EnvoyTrafficDirection int

// The listener directions.
const (
	EnvoyTrafficDirectionUnspecified EnvoyTrafficDirection = iota
	EnvoyTrafficDirectionInbound
	EnvoyTrafficDirectionOutbound
)

func (t EnvoyTrafficDirection) String() string {
	switch t {
	case EnvoyTrafficDirectionInbound:
		return "INBOUND"
	case EnvoyTrafficDirectionOutbound:
		return "OUTBOUND"
	}
	return "UNSPECIFIED"
}

// EnvoyLocality is the node's locality.
type EnvoyLocality struct {
	Region  string
	Zone    string
	Subzone string
}

// EnvoyExtension is an extension advertised by the node.
type EnvoyExtension struct {
	Name     string
	Category string
	TypeUrls []string
}

// IstioFilterMetadata is the "istio" filter metadata of a cluster, listener,
// route or upstream host.
type IstioFilterMetadata struct {
	Config   string
	Services []IstioService
}

// IstioService is a service in IstioFilterMetadata.
type IstioService struct {
	Host      string
	Name      string
	Namespace string
}

// IstioProxyStatsMatcher is the proxyStatsMatcher of Istio's ProxyConfig.
type IstioProxyStatsMatcher struct {
	InclusionPrefixes []string
	InclusionRegexps  []string
	InclusionSuffixes []string
}

// IstioTrafficInterceptionMode is the sidecar's INTERCEPTION_MODE.
type IstioTrafficInterceptionMode int

// The interception modes.
const (
	IstioTrafficInterceptionModeNone IstioTrafficInterceptionMode = iota
	IstioTrafficInterceptionModeTproxy
	IstioTrafficInterceptionModeRedirect
)

func (t IstioTrafficInterceptionMode) String() string {
	switch t {
	case IstioTrafficInterceptionModeNone:
		return "NONE"
	case IstioTrafficInterceptionModeTproxy:
		return "TPROXY"
	}
	return "REDIRECT"
}

// ParseIstioTrafficInterceptionMode parses NONE, TPROXY or REDIRECT. Other
// values return REDIRECT (Istio's default) and an error.
func ParseIstioTrafficInterceptionMode(s string) (IstioTrafficInterceptionMode, error) {
	switch s {
	case "NONE":
		return IstioTrafficInterceptionModeNone, nil
	case "TPROXY":
		return IstioTrafficInterceptionModeTproxy, nil
	case "REDIRECT":
		return IstioTrafficInterceptionModeRedirect, nil
	}
	return IstioTrafficInterceptionModeRedirect, fmt.Errorf("invalid IstioTrafficInterceptionMode: %s", s)
}
