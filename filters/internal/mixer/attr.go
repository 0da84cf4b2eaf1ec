package mixer

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Source is what attribute resolution reads: the proxy's properties
// (proxy_get_property, path segments) and the current stream's headers.
// HostSource implements it with the SDK; tests use MapSource.
type Source interface {
	Property(path ...string) ([]byte, bool)
	RequestHeader(name string) (string, bool)
	ResponseHeader(name string) (string, bool)
}

// Kind is the type of a resolved attribute value.
type Kind uint8

// The value kinds attribute resolution produces.
const (
	KindString Kind = iota
	KindInt
	KindBool
	KindDuration
	KindTimestamp
)

// Value is a resolved attribute: a string, an integer (also durations in
// nanoseconds and timestamps in Unix nanoseconds), or a bool.
type Value struct {
	Kind Kind
	S    string
	I    int64
}

// StringValue returns a string Value.
func StringValue(s string) Value { return Value{Kind: KindString, S: s} }

// IntValue returns an integer Value.
func IntValue(i int64) Value { return Value{Kind: KindInt, I: i} }

// String renders the value the way Mixer's adapters printed it: integers in
// decimal, bools as true/false, durations like Go ("12.3ms"), timestamps in
// RFC 3339 with nanoseconds (UTC).
func (v Value) String() string {
	switch v.Kind {
	case KindInt:
		return strconv.FormatInt(v.I, 10)
	case KindBool:
		if v.I != 0 {
			return "true"
		}
		return "false"
	case KindDuration:
		return time.Duration(v.I).String()
	case KindTimestamp:
		return time.Unix(0, v.I).UTC().Format(time.RFC3339Nano)
	}
	return v.S
}

// Int returns the value as an integer: integers, durations (ns), timestamps
// (ns) and bools directly, strings when they parse as a decimal integer.
func (v Value) Int() (int64, bool) {
	if v.Kind != KindString {
		return v.I, true
	}
	i, err := strconv.ParseInt(strings.TrimSpace(v.S), 10, 64)
	return i, err == nil
}

// Float returns the value as a float64 (strings must parse as a number).
func (v Value) Float() (float64, bool) {
	if v.Kind != KindString {
		return float64(v.I), true
	}
	f, err := strconv.ParseFloat(strings.TrimSpace(v.S), 64)
	return f, err == nil && !math.IsNaN(f)
}

// Attr says where a value comes from. Exactly one of Attribute, Property,
// Header, ResponseHeader, NodeMetadata, FirstOf or Literal is set; Default
// is used when the source has no value (Mixer's `a | "x"`).
type Attr struct {
	// Attribute is a Mixer attribute name such as "source.ip",
	// "request.headers[x-user]" or "destination.service.host".
	Attribute string `json:"attribute,omitempty"`
	// Property is a raw proxy-wasm property path such as ["request","path"].
	Property []string `json:"property,omitempty"`
	// Header is a request header name.
	Header string `json:"header,omitempty"`
	// ResponseHeader is a response header name.
	ResponseHeader string `json:"response_header,omitempty"`
	// NodeMetadata is a key of the proxy's node metadata, with a dot for a
	// nested key: "WORKLOAD_NAME", "LABELS.app".
	NodeMetadata string `json:"node_metadata,omitempty"`
	// FirstOf tries each Attr in order and takes the first present value.
	FirstOf []Attr `json:"first_of,omitempty"`
	// Literal is a constant value.
	Literal any `json:"literal,omitempty"`
	// Default is the value used when nothing was found.
	Default any `json:"default,omitempty"`
	// Type decodes a raw Property: "string" (default), "int", "bool",
	// "duration" (int64 ns), "timestamp" (int64 ns) or "ip" (an address with
	// an optional port, rendered without the port).
	Type string `json:"type,omitempty"`
	// Unit converts a duration to a number: "ns", "us", "ms" or "s".
	Unit string `json:"unit,omitempty"`

	// res is Attribute's resolver, looked up once by Check.
	res resolver
}

// IsZero reports whether no source at all is configured.
func (a *Attr) IsZero() bool {
	return a == nil || (a.Attribute == "" && a.Property == nil && a.Header == "" && a.ResponseHeader == "" &&
		a.NodeMetadata == "" && a.FirstOf == nil && a.Literal == nil && a.Default == nil)
}

// Check verifies an Attr beyond its schema: exactly one source, a known
// type and unit. field names the Attr in error messages.
func (a *Attr) Check(field string) error {
	n := 0
	for _, set := range []bool{a.Attribute != "", a.Property != nil, a.Header != "", a.ResponseHeader != "",
		a.NodeMetadata != "", a.FirstOf != nil, a.Literal != nil} {
		if set {
			n++
		}
	}
	if n > 1 {
		return &ValidationError{Field: field, Reason: "set only one of attribute, property, header, response_header, node_metadata, first_of, literal"}
	}
	if n == 0 && a.Default == nil {
		return &ValidationError{Field: field, Reason: "needs one of attribute, property, header, response_header, node_metadata, first_of, literal or default"}
	}
	switch a.Type {
	case "", "string", "int", "bool", "duration", "timestamp", "ip":
	default:
		return &ValidationError{Field: field + ".type", Reason: fmt.Sprintf("unknown type %q (use string, int, bool, duration, timestamp or ip)", a.Type)}
	}
	switch a.Unit {
	case "", "ns", "us", "ms", "s":
	default:
		return &ValidationError{Field: field + ".unit", Reason: fmt.Sprintf("unknown unit %q (use ns, us, ms or s)", a.Unit)}
	}
	if a.Attribute != "" {
		r, err := lookupAttribute(a.Attribute)
		if err != nil {
			return &ValidationError{Field: field + ".attribute", Reason: err.Error()}
		}
		a.res = r
	}
	for i := range a.FirstOf {
		if err := a.FirstOf[i].Check(fmt.Sprintf("%s.first_of[%d]", field, i)); err != nil {
			return err
		}
	}
	return nil
}

// Resolve reads the value from src, falling back to Default. ok is false
// when neither the source nor a default gave a value.
func (a *Attr) Resolve(src Source) (Value, bool) {
	if v, ok := a.resolve(src); ok {
		return v, true
	}
	return literal(a.Default)
}

// ResolveString is Resolve rendered as a string ("" when absent).
func (a *Attr) ResolveString(src Source) (string, bool) {
	v, ok := a.Resolve(src)
	if !ok {
		return "", false
	}
	return v.String(), true
}

// Number returns the value as a float64, converting durations to Unit.
func (a *Attr) Number(v Value) (float64, bool) {
	if v.Kind == KindDuration || a.Unit != "" {
		i, ok := v.Int()
		if !ok {
			return 0, false
		}
		switch a.Unit {
		case "us":
			return float64(i) / 1e3, true
		case "ms":
			return float64(i) / 1e6, true
		case "s":
			return float64(i) / 1e9, true
		}
		return float64(i), true
	}
	return v.Float()
}

func literal(x any) (Value, bool) {
	switch v := x.(type) {
	case nil:
		return Value{}, false
	case string:
		return StringValue(v), true
	case bool:
		if v {
			return Value{Kind: KindBool, I: 1}, true
		}
		return Value{Kind: KindBool}, true
	case float64:
		if v == math.Trunc(v) && math.Abs(v) < 1<<53 {
			return IntValue(int64(v)), true
		}
		return StringValue(strconv.FormatFloat(v, 'g', -1, 64)), true
	case json.Number:
		if i, err := v.Int64(); err == nil {
			return IntValue(i), true
		}
		return StringValue(v.String()), true
	}
	return StringValue(fmt.Sprint(x)), true
}

func (a *Attr) resolve(src Source) (Value, bool) {
	switch {
	case a.Literal != nil:
		return literal(a.Literal)
	case a.Attribute != "":
		r := a.res
		if r == nil {
			var err error
			if r, err = lookupAttribute(a.Attribute); err != nil {
				return Value{}, false
			}
		}
		return r(src)
	case a.Property != nil:
		b, ok := src.Property(a.Property...)
		if !ok {
			return Value{}, false
		}
		return Decode(b, a.Type)
	case a.Header != "":
		v, ok := src.RequestHeader(strings.ToLower(a.Header))
		return StringValue(v), ok
	case a.ResponseHeader != "":
		v, ok := src.ResponseHeader(strings.ToLower(a.ResponseHeader))
		return StringValue(v), ok
	case a.NodeMetadata != "":
		v, ok := NodeMetadata(src, a.NodeMetadata)
		return StringValue(v), ok
	case a.FirstOf != nil:
		for i := range a.FirstOf {
			if v, ok := a.FirstOf[i].Resolve(src); ok {
				return v, true
			}
		}
	}
	return Value{}, false
}

// Decode turns a property's bytes into a Value of the declared type. Integer
// types take 8 little-endian bytes (Envoy's encoding) or decimal text.
func Decode(b []byte, typ string) (Value, bool) {
	switch typ {
	case "int", "duration", "timestamp":
		var i int64
		if len(b) == 8 {
			i = int64(binary.LittleEndian.Uint64(b))
		} else {
			n, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
			if err != nil {
				return Value{}, false
			}
			i = n
		}
		k := KindInt
		if typ == "duration" {
			k = KindDuration
		} else if typ == "timestamp" {
			k = KindTimestamp
		}
		return Value{Kind: k, I: i}, true
	case "bool":
		switch {
		case len(b) == 1 && (b[0] == 0 || b[0] == 1):
			return Value{Kind: KindBool, I: int64(b[0])}, true
		case string(b) == "true":
			return Value{Kind: KindBool, I: 1}, true
		case string(b) == "false":
			return Value{Kind: KindBool}, true
		}
		return Value{}, false
	case "ip":
		ip, ok := HostIP(string(b))
		if !ok {
			return Value{}, false
		}
		return StringValue(ip), true
	}
	return StringValue(string(b)), true
}

// HostIP extracts the IP from "ip", "ip:port" or "[v6]:port" and renders
// it canonically. ok is false when s holds no IP address.
func HostIP(s string) (string, bool) {
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return ap.Addr().Unmap().String(), true
	}
	if a, err := netip.ParseAddr(strings.Trim(s, "[]")); err == nil {
		return a.Unmap().String(), true
	}
	return "", false
}

// NodeMetadata reads a key of the proxy's node metadata (dot for nesting),
// trying the xds.node spelling first and then the legacy node one.
func NodeMetadata(src Source, key string) (string, bool) {
	path := nodePath(key)
	if b, ok := src.Property(path...); ok {
		return string(b), true
	}
	if b, ok := src.Property(path[1:]...); ok {
		return string(b), true
	}
	return "", false
}

// nodePaths caches ["xds","node","metadata",<key parts>…] per key.
var nodePaths sync.Map

func nodePath(key string) []string {
	if p, ok := nodePaths.Load(key); ok {
		return p.([]string)
	}
	p := append([]string{"xds", "node", "metadata"}, strings.Split(key, ".")...)
	nodePaths.Store(key, p)
	return p
}

// Direction is the listener direction of the stream.
type Direction int

// Listener directions as Envoy numbers them.
const (
	DirectionUnspecified Direction = 0
	Inbound              Direction = 1
	Outbound             Direction = 2
)

// ListenerDirection reads xds.listener_direction (or the legacy
// listener_direction). An absent value is DirectionUnspecified, which the
// resolver treats as inbound (the server sidecar, where Mixer checks ran).
func ListenerDirection(src Source) Direction {
	if m, ok := src.(*Memo); ok {
		if !m.haveDir {
			m.dir, m.haveDir = listenerDirection(m.Src), true
		}
		return m.dir
	}
	return listenerDirection(src)
}

func listenerDirection(src Source) Direction {
	for _, p := range [][]string{{"xds", "listener_direction"}, {"listener_direction"}} {
		if b, ok := src.Property(p...); ok {
			if v, ok := Decode(b, "int"); ok {
				return Direction(v.I)
			}
		}
	}
	return DirectionUnspecified
}

type resolver func(Source) (Value, bool)

func prop(typ string, path ...string) resolver {
	return func(src Source) (Value, bool) {
		b, ok := src.Property(path...)
		if !ok {
			return Value{}, false
		}
		return Decode(b, typ)
	}
}

func first(rs ...resolver) resolver {
	return func(src Source) (Value, bool) {
		for _, r := range rs {
			if v, ok := r(src); ok {
				return v, true
			}
		}
		return Value{}, false
	}
}

func reqHeader(name string) resolver {
	return func(src Source) (Value, bool) {
		v, ok := src.RequestHeader(name)
		return StringValue(v), ok
	}
}

func respHeader(name string) resolver {
	return func(src Source) (Value, bool) {
		v, ok := src.ResponseHeader(name)
		return StringValue(v), ok
	}
}

func nodeMeta(key string) resolver {
	path := nodePath(key)
	return func(src Source) (Value, bool) {
		if b, ok := src.Property(path...); ok {
			return StringValue(string(b)), true
		}
		if b, ok := src.Property(path[1:]...); ok {
			return StringValue(string(b)), true
		}
		return Value{}, false
	}
}

// flatPeer reads the flat filter-state properties the peer-metadata filter
// writes ("source_workload_name", "destination_labels_app", ...).
//
// peer-metadata always writes the peer's JSON (downstream_peer for the
// source side, upstream_peer for the destination side) together with the
// flat attributes, so a missing JSON means no flat attribute either: one
// (memoized) read instead of one per attribute when there is no peer.
func flatPeer(name string) resolver {
	marker := "downstream_peer"
	if strings.HasPrefix(name, "destination_") {
		marker = "upstream_peer"
	}
	return func(src Source) (Value, bool) {
		if _, ok := src.Property(marker); !ok {
			return Value{}, false
		}
		b, ok := src.Property(name)
		return StringValue(string(b)), ok
	}
}

// bySide picks the resolver for the local proxy or for the peer: "source"
// attributes are local on an outbound (client) sidecar and the peer on an
// inbound one; "destination" attributes the other way round.
func bySide(side string, local, peer resolver) resolver {
	return func(src Source) (Value, bool) {
		out := ListenerDirection(src) == Outbound
		if (side == "source") == out {
			return local(src)
		}
		return peer(src)
	}
}

func stripSpiffe(r resolver) resolver {
	return func(src Source) (Value, bool) {
		v, ok := r(src)
		if ok {
			v.S = strings.TrimPrefix(v.S, "spiffe://")
		}
		return v, ok
	}
}

var workloadKeys = map[string]string{
	"workload.name":      "WORKLOAD_NAME",
	"workload.namespace": "NAMESPACE",
	"namespace":          "NAMESPACE",
	"name":               "NAME",
	"owner":              "OWNER",
	"cluster_id":         "CLUSTER_ID",
	"service_account":    "SERVICE_ACCOUNT",
}

func serviceFromCluster(part int) resolver {
	// part: 0 host, 1 name, 2 namespace.
	fields := []string{"host", "name", "namespace"}
	meta := func(prefix ...string) resolver {
		return prop("string", append(prefix, "filter_metadata", "istio", "services", "0", fields[part])...)
	}
	fromHost := func(host string) (Value, bool) {
		if host == "" {
			return Value{}, false
		}
		if part == 0 {
			return StringValue(host), true
		}
		labels := strings.Split(host, ".")
		if part-1 < len(labels) {
			return StringValue(labels[part-1]), true
		}
		return Value{}, false
	}
	return first(
		meta("xds", "cluster_metadata"),
		meta("cluster_metadata"),
		func(src Source) (Value, bool) {
			for _, p := range [][]string{{"xds", "cluster_name"}, {"cluster_name"}} {
				if b, ok := src.Property(p...); ok {
					// outbound|9080||reviews.default.svc.cluster.local
					f := strings.Split(string(b), "|")
					if len(f) == 4 {
						return fromHost(f[3])
					}
				}
			}
			return Value{}, false
		},
		func(src Source) (Value, bool) {
			a, ok := src.RequestHeader(":authority")
			if !ok {
				return Value{}, false
			}
			if h, _, err := splitHostPort(a); err == nil {
				a = h
			}
			return fromHost(a)
		},
	)
}

func splitHostPort(s string) (string, string, error) {
	i := strings.LastIndexByte(s, ':')
	if i < 0 || strings.Contains(s[i+1:], "]") {
		return s, "", fmt.Errorf("no port")
	}
	return strings.Trim(s[:i], "[]"), s[i+1:], nil
}

var attributeTable map[string]resolver

func init() {
	t := map[string]resolver{
		"request.path":          first(reqHeader(":path"), prop("string", "request", "path")),
		"request.url_path":      first(prop("string", "request", "url_path"), urlPath),
		"request.host":          first(reqHeader(":authority"), prop("string", "request", "host")),
		"request.method":        first(reqHeader(":method"), prop("string", "request", "method")),
		"request.scheme":        first(reqHeader(":scheme"), prop("string", "request", "scheme")),
		"request.referer":       first(reqHeader("referer"), prop("string", "request", "referer")),
		"request.useragent":     first(prop("string", "request", "useragent"), reqHeader("user-agent")),
		"request.id":            first(reqHeader("x-request-id"), prop("string", "request", "id")),
		"request.protocol":      prop("string", "request", "protocol"),
		"request.query":         first(prop("string", "request", "query"), query),
		"request.time":          prop("timestamp", "request", "time"),
		"request.duration":      prop("duration", "request", "duration"),
		"request.size":          prop("int", "request", "size"),
		"request.total_size":    prop("int", "request", "total_size"),
		"request.api_key":       first(reqHeader("x-api-key"), queryParam("key"), queryParam("api_key")),
		"response.code":         first(prop("int", "response", "code"), statusHeader),
		"response.code_details": prop("string", "response", "code_details"),
		"response.flags":        prop("int", "response", "flags"),
		"response.grpc_status":  prop("int", "response", "grpc_status"),
		"response.grpc_message": respHeader("grpc-message"),
		"response.size":         prop("int", "response", "size"),
		"response.total_size":   prop("int", "response", "total_size"),
		"response.duration":     prop("duration", "request", "duration"),
		"source.address":        prop("string", "source", "address"),
		"source.port":           prop("int", "source", "port"),
		"destination.address":   prop("string", "destination", "address"),
		"destination.port":      prop("int", "destination", "port"),
		"source.ip":             bySide("source", first(nodeIP, prop("ip", "source", "address")), prop("ip", "source", "address")),
		"destination.ip": bySide("destination", prop("ip", "destination", "address"),
			first(prop("ip", "upstream", "address"), prop("ip", "destination", "address"))),
		"source.principal": stripSpiffe(bySide("source",
			prop("string", "upstream", "uri_san_local_certificate"),
			prop("string", "connection", "uri_san_peer_certificate"))),
		"destination.principal": stripSpiffe(bySide("destination",
			prop("string", "connection", "uri_san_local_certificate"),
			prop("string", "upstream", "uri_san_peer_certificate"))),
		"connection.mtls":                  prop("bool", "connection", "mtls"),
		"connection.id":                    first(prop("int", "connection", "id"), prop("int", "connection_id")),
		"connection.requested_server_name": prop("string", "connection", "requested_server_name"),
		"context.protocol":                 contextProtocol,
		"context.reporter.kind":            reporterKind,
		"context.reporter.uid":             first(prop("string", "xds", "node", "id"), prop("string", "node", "id")),
		"context.proxy_error_code":         proxyErrorCode,
		"destination.service.host":         serviceFromCluster(0),
		"destination.service.name":         serviceFromCluster(1),
		"destination.service.namespace":    serviceFromCluster(2),
		"connection.security_policy":       securityPolicy,
		"context.reporter.type":            reporterType,
		"response.time":                    responseTime,
		"plugin_name":                      prop("string", "plugin_name"),
		"plugin_root_id":                   prop("string", "plugin_root_id"),
		"plugin_vm_id":                     prop("string", "plugin_vm_id"),
	}
	for _, side := range []string{"source", "destination"} {
		for suffix, key := range workloadKeys {
			flat := side + "_" + strings.ReplaceAll(suffix, ".", "_")
			t[side+"."+suffix] = bySide(side, nodeMeta(key), flatPeer(flat))
		}
		t[side+".uid"] = bySide(side, nodeMeta("NAME"), flatPeer(side+"_name"))
	}
	attributeTable = t
}

var urlPath resolver = func(src Source) (Value, bool) {
	p, ok := src.RequestHeader(":path")
	if !ok {
		return Value{}, false
	}
	if i := strings.IndexAny(p, "?#"); i >= 0 {
		p = p[:i]
	}
	return StringValue(p), true
}

var query resolver = func(src Source) (Value, bool) {
	p, ok := src.RequestHeader(":path")
	if !ok {
		return Value{}, false
	}
	_, q, found := strings.Cut(p, "?")
	if !found {
		return Value{}, false
	}
	return StringValue(q), true
}

func queryParam(name string) resolver {
	return func(src Source) (Value, bool) {
		q, ok := query(src)
		if !ok {
			return Value{}, false
		}
		for kv := range strings.SplitSeq(q.S, "&") {
			k, v, _ := strings.Cut(kv, "=")
			if k == name {
				return StringValue(v), true
			}
		}
		return Value{}, false
	}
}

var statusHeader resolver = func(src Source) (Value, bool) {
	s, ok := src.ResponseHeader(":status")
	if !ok {
		return Value{}, false
	}
	i, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return Value{}, false
	}
	return IntValue(i), true
}

var nodeIP resolver = func(src Source) (Value, bool) {
	ips, ok := NodeMetadata(src, "INSTANCE_IPS")
	if !ok {
		return Value{}, false
	}
	ip, _, _ := strings.Cut(ips, ",")
	if h, ok := HostIP(strings.TrimSpace(ip)); ok {
		return StringValue(h), true
	}
	return Value{}, false
}

var contextProtocol resolver = func(src Source) (Value, bool) {
	if ct, ok := src.RequestHeader("content-type"); ok && strings.HasPrefix(ct, "application/grpc") {
		return StringValue("grpc"), true
	}
	return StringValue("http"), true
}

var reporterKind resolver = func(src Source) (Value, bool) {
	if ListenerDirection(src) == Outbound {
		return StringValue("outbound"), true
	}
	return StringValue("inbound"), true
}

// securityPolicy is Istio's connection_security_policy: "unknown" on an
// outbound sidecar, else "mutual_tls" or "none" from connection.mtls.
var securityPolicy resolver = func(src Source) (Value, bool) {
	if ListenerDirection(src) == Outbound {
		return StringValue("unknown"), true
	}
	if v, ok := prop("bool", "connection", "mtls")(src); ok && v.I != 0 {
		return StringValue("mutual_tls"), true
	}
	return StringValue("none"), true
}

// reporterType is Istio's reporter label: "source" on an outbound sidecar,
// "destination" otherwise.
var reporterType resolver = func(src Source) (Value, bool) {
	if ListenerDirection(src) == Outbound {
		return StringValue("source"), true
	}
	return StringValue("destination"), true
}

// responseTime is request.time + request.duration.
var responseTime resolver = func(src Source) (Value, bool) {
	t, ok1 := prop("timestamp", "request", "time")(src)
	d, ok2 := prop("duration", "request", "duration")(src)
	if !ok1 || !ok2 {
		return Value{}, false
	}
	return Value{Kind: KindTimestamp, I: t.I + d.I}, true
}

// responseFlagNames are Envoy's short response-flag codes in bit order.
var responseFlagNames = []string{"LH", "UH", "UT", "LR", "UR", "UF", "UC", "UO", "NR", "DI", "FI", "RL",
	"UAEX", "RLSE", "DC", "URX", "SI", "IH", "DPE", "UMSDR", "RFCF", "NFCF", "DT", "UPE", "NC", "OM"}

// ResponseFlags renders Envoy's response.flags bit vector as its short
// codes joined by "," ("-" when no flag is set), as Istio's access log did.
func ResponseFlags(bits int64) string {
	if bits == 0 {
		return "-"
	}
	var out []string
	for i, name := range responseFlagNames {
		if bits&(1<<i) != 0 {
			out = append(out, name)
		}
	}
	if len(out) == 0 {
		return "-"
	}
	return strings.Join(out, ",")
}

var proxyErrorCode resolver = func(src Source) (Value, bool) {
	b, ok := src.Property("response", "flags")
	if !ok {
		return Value{}, false
	}
	v, ok := Decode(b, "int")
	if !ok {
		return Value{}, false
	}
	return StringValue(ResponseFlags(v.I)), true
}

// lookupAttribute returns the resolver for a Mixer attribute name. Beyond
// the fixed table it understands map lookups request.headers[x],
// response.headers[x], source.labels[x] and destination.labels[x] (with or
// without quotes around x), and treats any other dotted name as a raw
// property path of strings ("connection.tls_version").
func lookupAttribute(name string) (resolver, error) {
	if r, ok := attributeTable[name]; ok {
		return r, nil
	}
	if r, ok := attributeCache.Load(name); ok {
		return r.(resolver), nil
	}
	r, err := buildAttribute(name)
	if err == nil {
		attributeCache.Store(name, r)
	}
	return r, err
}

// attributeCache holds the resolvers built for map-style and raw names, so
// a request never parses an attribute name.
var attributeCache sync.Map

func buildAttribute(name string) (resolver, error) {
	if base, key, ok := mapLookup(name); ok {
		switch base {
		case "request.headers":
			return reqHeader(strings.ToLower(key)), nil
		case "response.headers":
			return respHeader(strings.ToLower(key)), nil
		case "source.labels", "destination.labels":
			side := strings.TrimSuffix(base, ".labels")
			return bySide(side, nodeMeta("LABELS."+key), flatPeer(side+"_labels_"+key)), nil
		case "request.query_params":
			return queryParam(key), nil
		}
		return nil, fmt.Errorf("unknown map attribute %q (known: request.headers, response.headers, request.query_params, source.labels, destination.labels)", base)
	}
	if name == "" || strings.ContainsAny(name, "[]\" ") || strings.HasPrefix(name, ".") || strings.HasSuffix(name, ".") || strings.Contains(name, "..") {
		return nil, fmt.Errorf("invalid attribute name %q", name)
	}
	return prop("string", strings.Split(name, ".")...), nil
}

func mapLookup(name string) (base, key string, ok bool) {
	i := strings.IndexByte(name, '[')
	if i <= 0 || !strings.HasSuffix(name, "]") {
		return "", "", false
	}
	base, key = name[:i], name[i+1:len(name)-1]
	if len(key) >= 2 && (key[0] == '"' || key[0] == '\'') && key[len(key)-1] == key[0] {
		key = key[1 : len(key)-1]
	}
	if key == "" {
		return "", "", false
	}
	return base, key, true
}

// MapSource is an in-memory Source for tests and for evaluating matchers
// over recorded data: properties keyed by their segments joined with ".",
// headers by lower-case name.
type MapSource struct {
	Props    map[string][]byte
	Request  map[string]string
	Response map[string]string
}

// Property implements Source.
func (m *MapSource) Property(path ...string) ([]byte, bool) {
	v, ok := m.Props[strings.Join(path, ".")]
	return v, ok
}

// RequestHeader implements Source.
func (m *MapSource) RequestHeader(name string) (string, bool) {
	v, ok := m.Request[name]
	return v, ok
}

// ResponseHeader implements Source.
func (m *MapSource) ResponseHeader(name string) (string, bool) {
	v, ok := m.Response[name]
	return v, ok
}

// Int64LE encodes i as Envoy encodes integer properties (8 bytes LE).
func Int64LE(i int64) []byte {
	b := make([]byte, 8)
	binary.LittleEndian.PutUint64(b, uint64(i))
	return b
}

// NodeID reads the proxy's node id (xds.node.id, then node.id).
func NodeID(src Source) (string, bool) {
	for _, p := range [][]string{{"xds", "node", "id"}, {"node", "id"}} {
		if b, ok := src.Property(p...); ok {
			return string(b), true
		}
	}
	return "", false
}

// Memo is a Source that remembers what it read for the duration of one
// callback: filters that resolve many attributes (access logs, metrics)
// read each property and header once. Reset it at the start of a callback.
type Memo struct {
	Src     Source
	props   map[string]propEntry
	req     map[string]memoEntry
	resp    map[string]memoEntry
	key     []byte
	dir     Direction
	haveDir bool
}

type memoEntry struct {
	v  string
	ok bool
}

type propEntry struct {
	v  []byte
	ok bool
}

// Reset forgets everything read so far.
func (m *Memo) Reset() {
	m.haveDir = false
	if m.props == nil {
		m.props, m.req, m.resp = map[string]propEntry{}, map[string]memoEntry{}, map[string]memoEntry{}
		return
	}
	clear(m.props)
	clear(m.req)
	clear(m.resp)
}

// Property implements Source.
func (m *Memo) Property(path ...string) ([]byte, bool) {
	m.key = m.key[:0]
	for i, seg := range path {
		if i > 0 {
			m.key = append(m.key, 0)
		}
		m.key = append(m.key, seg...)
	}
	if e, ok := m.props[string(m.key)]; ok { // no allocation for the lookup
		return e.v, e.ok
	}
	b, ok := m.Src.Property(path...)
	m.props[string(m.key)] = propEntry{b, ok}
	return b, ok
}

// RequestHeader implements Source.
func (m *Memo) RequestHeader(name string) (string, bool) {
	if e, ok := m.req[name]; ok {
		return e.v, e.ok
	}
	v, ok := m.Src.RequestHeader(name)
	m.req[name] = memoEntry{v, ok}
	return v, ok
}

// ResponseHeader implements Source.
func (m *Memo) ResponseHeader(name string) (string, bool) {
	if e, ok := m.resp[name]; ok {
		return e.v, e.ok
	}
	v, ok := m.Src.ResponseHeader(name)
	m.resp[name] = memoEntry{v, ok}
	return v, ok
}
