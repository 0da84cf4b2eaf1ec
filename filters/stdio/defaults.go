package main

import "github.com/wasmctl/wasmctl/filters/internal/mixer"

func attr(name string, def any) mixer.Attr { return mixer.Attr{Attribute: name, Default: def} }

// defaultVariables is Mixer's default accesslog instance (Istio 1.4
// install/kubernetes/helm/istio/charts/mixer/templates/config.yaml) in terms
// of proxy-wasm attributes. Every variable has a default, so entries always
// carry the same keys.
func defaultVariables() map[string]mixer.Attr {
	return map[string]mixer.Attr{
		"sourceIp":                   attr("source.ip", "0.0.0.0"),
		"sourceApp":                  attr("source.labels[app]", ""),
		"sourcePrincipal":            attr("source.principal", ""),
		"sourceName":                 attr("source.name", ""),
		"sourceWorkload":             attr("source.workload.name", ""),
		"sourceNamespace":            attr("source.namespace", ""),
		"sourceOwner":                attr("source.owner", ""),
		"destinationApp":             attr("destination.labels[app]", ""),
		"destinationIp":              attr("destination.ip", "0.0.0.0"),
		"destinationServiceHost":     {FirstOf: []mixer.Attr{{Attribute: "destination.service.host"}, {Attribute: "request.host"}}, Default: ""},
		"destinationWorkload":        attr("destination.workload.name", ""),
		"destinationName":            attr("destination.name", ""),
		"destinationNamespace":       attr("destination.namespace", ""),
		"destinationOwner":           attr("destination.owner", ""),
		"destinationPrincipal":       attr("destination.principal", ""),
		"apiClaims":                  {Property: []string{"metadata", "filter_metadata", "istio_authn", "request.auth.raw_claims"}, Default: ""},
		"apiKey":                     attr("request.api_key", ""),
		"protocol":                   {FirstOf: []mixer.Attr{{Attribute: "request.scheme"}, {Attribute: "context.protocol"}}, Default: "http"},
		"method":                     attr("request.method", ""),
		"url":                        attr("request.path", ""),
		"responseCode":               attr("response.code", 0.0),
		"responseFlags":              attr("context.proxy_error_code", "-"),
		"responseSize":               attr("response.size", 0.0),
		"permissiveResponseCode":     {Property: []string{"rbac_permissive_response_code"}, Default: "none"},
		"permissiveResponsePolicyID": {Property: []string{"rbac_permissive_effective_policy_id"}, Default: "none"},
		"requestSize":                attr("request.size", 0.0),
		"requestId":                  attr("request.headers[x-request-id]", ""),
		"clientTraceId":              attr("request.headers[x-client-trace-id]", ""),
		"latency":                    attr("response.duration", "0ms"),
		"connection_security_policy": attr("connection.security_policy", "unknown"),
		"requestedServerName":        attr("connection.requested_server_name", ""),
		"userAgent":                  attr("request.useragent", ""),
		"responseTimestamp":          attr("response.time", ""),
		"receivedBytes":              attr("request.total_size", 0.0),
		"sentBytes":                  attr("response.total_size", 0.0),
		"referer":                    attr("request.referer", ""),
		"httpAuthority":              {FirstOf: []mixer.Attr{{Header: ":authority"}, {Attribute: "request.host"}}, Default: ""},
		"xForwardedFor":              attr("request.headers[x-forwarded-for]", "0.0.0.0"),
		"reporter":                   attr("context.reporter.type", "destination"),
		"grpcStatus":                 attr("response.grpc_status", ""),
		"grpcMessage":                attr("response.grpc_message", ""),
	}
}
