package host

import (
	"bytes"
	"context"
	"encoding/binary"
	"math"
	"net"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"
)

func hGetProperty(ctx context.Context, in *instance, a args) Status {
	pb, ok := in.read(a[0], a[1])
	if !ok {
		return StatusInvalidMemoryAccess
	}
	path := splitPath(pb)
	if len(path) == 0 {
		return StatusNotFound
	}
	v, found := in.property(path)
	if !found {
		return StatusNotFound
	}
	b, ok := encodeValue(v)
	if !ok {
		return StatusSerializationFailure
	}
	return in.copyOut(ctx, b, a[2], a[3])
}

func hSetProperty(_ context.Context, in *instance, a args) Status {
	pb, ok1 := in.read(a[0], a[1])
	vb, ok2 := in.read(a[2], a[3])
	if !ok1 || !ok2 {
		return StatusInvalidMemoryAccess
	}
	path := splitPath(pb)
	if len(path) == 0 {
		return StatusBadArgument
	}
	c := in.current()
	if c == nil {
		return StatusNotFound
	}
	c.state(true).Set("wasm."+strings.Join(path, "."), vb)
	return StatusOK
}

// state is the filter state proxy_set_property writes for this context: the
// stream's, shared by the whole chain, when the adapter gave one; otherwise
// the context's own (root contexts, streams without a shared state). With
// create false it returns nil rather than allocating an empty one.
func (c *ctxRec) state(create bool) *FilterState {
	switch {
	case c == nil:
		return nil
	case c.http != nil && c.http.info != nil && c.http.info.FilterState != nil:
		return c.http.info.FilterState
	case c.tcp != nil && c.tcp.info != nil && c.tcp.info.FilterState != nil:
		return c.tcp.info.FilterState
	}
	if c.ownState == nil && create {
		c.ownState = &FilterState{}
	}
	return c.ownState
}

// splitPath splits a NUL-joined property path; a trailing NUL is ignored.
func splitPath(b []byte) []string {
	b = bytes.TrimRight(b, "\x00")
	if len(b) == 0 {
		return nil
	}
	// One string for the whole path; the segments share it.
	str := string(b)
	out := make([]string, 0, bytes.Count(b, []byte{0})+1)
	for {
		i := strings.IndexByte(str, 0)
		if i < 0 {
			return append(out, str)
		}
		out = append(out, str[:i])
		str = str[i+1:]
	}
}

// property resolves an attribute path (Envoy's vocabulary, mixer.md §3.2).
func (in *instance) property(path []string) (any, bool) {
	c := in.current()
	// Filter state written with proxy_set_property: this context's (for a
	// stream, shared by the whole chain), then the root context's.
	for _, fc := range [2]*ctxRec{c, in.root} {
		if v, ok := fc.state(false).lookup(path); ok {
			return v, true
		}
	}
	var info *StreamInfo
	var hs *HTTPStream
	if c != nil && c.http != nil {
		hs, info = c.http, c.http.info
	} else if c != nil && c.tcp != nil {
		info = c.tcp.info
	}
	top, rest := path[0], path[1:]
	var v any
	ok := false
	switch top {
	case "plugin_name":
		v, ok = in.p.cfg.Name, true
	case "plugin_root_id":
		v, ok = in.p.cfg.RootID, true
	case "plugin_vm_id":
		v, ok = in.p.cfg.VMID, true
	case "connection_id":
		if info != nil {
			v, ok = info.ConnectionID, true
		}
	case "request":
		if hs != nil && len(rest) > 0 {
			v, ok = requestAttr(hs, rest[0])
			rest = rest[1:]
		}
	case "response":
		if hs != nil && len(rest) > 0 {
			v, ok = responseAttr(hs, rest[0])
			rest = rest[1:]
		}
	case "source", "destination", "upstream":
		if info != nil && len(rest) > 0 {
			v, ok = addrAttr(info, top, rest[0])
			rest = rest[1:]
		}
	case "connection":
		if info != nil && len(rest) > 0 {
			v, ok = connAttr(info, rest[0])
			rest = rest[1:]
		}
	case "metadata":
		if info != nil && info.Metadata != nil {
			v, ok = info.Metadata, true
		}
	case "filter_state":
		m := map[string]any{}
		for _, fc := range [2]*ctxRec{in.root, c} {
			fc.state(false).copyInto(m)
		}
		v, ok = m, true
	}
	if !ok {
		// Static properties (node, xds.*, cluster_metadata, route_metadata...).
		v, ok = in.p.cfg.Properties[top]
		if !ok && top == "xds" && len(rest) > 0 {
			// xds.node is the same as the legacy "node".
			if rest[0] == "node" {
				v, ok = in.p.cfg.Properties["node"]
				rest = rest[1:]
			} else if lv, ok2 := in.p.cfg.Properties[rest[0]]; ok2 {
				v, ok, rest = lv, true, rest[1:]
			}
		}
		if !ok {
			return nil, false
		}
	}
	return walk(v, rest)
}

func walk(v any, rest []string) (any, bool) {
	for _, seg := range rest {
		switch m := v.(type) {
		case map[string]any:
			x, ok := m[seg]
			if !ok {
				return nil, false
			}
			v = x
		case map[string]string:
			x, ok := m[seg]
			if !ok {
				return nil, false
			}
			v = x
		case Pairs:
			x, ok := m.Get(seg)
			if !ok {
				return nil, false
			}
			v = x
		case []string:
			i, err := strconv.Atoi(seg)
			if err != nil || i < 0 || i >= len(m) {
				return nil, false
			}
			v = m[i]
		case []any:
			i, err := strconv.Atoi(seg)
			if err != nil || i < 0 || i >= len(m) {
				return nil, false
			}
			v = m[i]
		default:
			return nil, false
		}
	}
	return v, true
}

func headersMap(p Pairs) Pairs {
	var out Pairs
	idx := map[string]int{}
	for _, kv := range p {
		if strings.HasPrefix(kv[0], ":") {
			continue
		}
		k := lower(kv[0])
		if i, ok := idx[k]; ok {
			out[i][1] += "," + kv[1]
			continue
		}
		idx[k] = len(out)
		out = append(out, [2]string{k, kv[1]})
	}
	return out
}

func headersBytes(p Pairs) int64 {
	var n int64
	for _, kv := range p {
		n += int64(len(kv[0]) + len(kv[1]))
	}
	return n
}

func requestAttr(s *HTTPStream, name string) (any, bool) {
	h := s.reqHeaders
	get := func(k string) (any, bool) { v, ok := h.Get(k); return v, ok }
	switch name {
	case "path":
		return get(":path")
	case "url_path":
		p, ok := h.Get(":path")
		if !ok {
			return nil, false
		}
		if i := strings.IndexByte(p, '?'); i >= 0 {
			p = p[:i]
		}
		return p, true
	case "query":
		p, _ := h.Get(":path")
		if i := strings.IndexByte(p, '?'); i >= 0 {
			return p[i+1:], true
		}
		return "", true
	case "host":
		return get(":authority")
	case "scheme":
		if v, ok := h.Get(":scheme"); ok {
			return v, true
		}
		return s.info.Scheme, s.info.Scheme != ""
	case "method":
		return get(":method")
	case "headers":
		return headersMap(h), true
	case "headers_bytes":
		return headersBytes(h), true
	case "referer":
		return get("referer")
	case "useragent":
		return get("user-agent")
	case "id":
		return get("x-request-id")
	case "protocol":
		return s.info.Protocol, s.info.Protocol != ""
	case "time":
		return s.info.StartTime, true
	case "duration":
		if s.info.EndTime.IsZero() {
			return nil, false
		}
		return s.info.EndTime.Sub(s.info.StartTime), true
	case "size":
		return s.info.RequestSize, true
	case "total_size":
		return s.info.RequestSize + headersBytes(h), true
	}
	return nil, false
}

func responseAttr(s *HTTPStream, name string) (any, bool) {
	if s.info.ResponseCode == 0 && s.respHeaders == nil {
		return nil, false
	}
	switch name {
	case "code":
		return int64(s.info.ResponseCode), true
	case "code_details":
		d := s.info.ResponseDetails
		if d == "" {
			d = "via_upstream"
		}
		return d, true
	case "flags":
		return int64(0), true
	case "grpc_status":
		if v, ok := s.respTrailers.Get("grpc-status"); ok {
			n, _ := strconv.ParseInt(v, 10, 64)
			return n, true
		}
		if v, ok := s.respHeaders.Get("grpc-status"); ok {
			n, _ := strconv.ParseInt(v, 10, 64)
			return n, true
		}
		return nil, false
	case "headers":
		return headersMap(s.respHeaders), true
	case "trailers":
		return headersMap(s.respTrailers), true
	case "headers_bytes":
		return headersBytes(s.respHeaders), true
	case "size":
		return s.info.ResponseSize, true
	case "total_size":
		return s.info.ResponseSize + headersBytes(s.respHeaders), true
	}
	return nil, false
}

func addrAttr(info *StreamInfo, which, name string) (any, bool) {
	addr := info.SourceAddr
	switch which {
	case "destination":
		addr = info.DestinationAddr
	case "upstream":
		addr = info.UpstreamAddr
		if name == "tls_version" || name == "local_address" {
			return nil, false
		}
	}
	if addr == "" {
		return nil, false
	}
	switch name {
	case "address":
		return addr, true
	case "port":
		_, p, err := net.SplitHostPort(addr)
		if err != nil {
			return nil, false
		}
		n, err := strconv.ParseInt(p, 10, 64)
		return n, err == nil
	}
	return nil, false
}

var tlsVersions = map[uint16]string{0x0301: "TLSv1", 0x0302: "TLSv1.1", 0x0303: "TLSv1.2", 0x0304: "TLSv1.3"}

func connAttr(info *StreamInfo, name string) (any, bool) {
	t := info.TLS
	switch name {
	case "id":
		return info.ConnectionID, true
	case "mtls":
		return t != nil && len(t.PeerCertificates) > 0, true
	case "requested_server_name":
		if t == nil {
			return "", true
		}
		return t.ServerName, true
	case "tls_version":
		if t == nil {
			return nil, false
		}
		return tlsVersions[t.Version], true
	case "subject_peer_certificate":
		if t == nil || len(t.PeerCertificates) == 0 {
			return nil, false
		}
		return t.PeerCertificates[0].Subject.String(), true
	case "dns_san_peer_certificate":
		if t == nil || len(t.PeerCertificates) == 0 || len(t.PeerCertificates[0].DNSNames) == 0 {
			return nil, false
		}
		return t.PeerCertificates[0].DNSNames[0], true
	case "uri_san_peer_certificate":
		if t == nil || len(t.PeerCertificates) == 0 || len(t.PeerCertificates[0].URIs) == 0 {
			return nil, false
		}
		return t.PeerCertificates[0].URIs[0].String(), true
	}
	return nil, false
}

// encodeValue encodes an attribute value with Envoy's encodings: strings
// and bytes raw, integers/doubles as 8 bytes little-endian, bool as 1 byte,
// durations and timestamps as int64 nanoseconds, maps and lists as
// proxy-wasm pairs.
func encodeValue(v any) ([]byte, bool) {
	le := func(u uint64) []byte { b := make([]byte, 8); binary.LittleEndian.PutUint64(b, u); return b }
	switch x := v.(type) {
	case string:
		return []byte(x), true
	case []byte:
		return x, true
	case bool:
		if x {
			return []byte{1}, true
		}
		return []byte{0}, true
	case int:
		return le(uint64(x)), true
	case int32:
		return le(uint64(x)), true
	case int64:
		return le(uint64(x)), true
	case uint:
		return le(uint64(x)), true
	case uint32:
		return le(uint64(x)), true
	case uint64:
		return le(x), true
	case float64:
		return le(math.Float64bits(x)), true
	case time.Duration:
		return le(uint64(x)), true
	case time.Time:
		return le(uint64(x.UnixNano())), true
	case *url.URL:
		return []byte(x.String()), true
	case Pairs:
		return EncodePairs(x), true
	case map[string]string:
		p := make(Pairs, 0, len(x))
		for k, s := range x {
			p = append(p, [2]string{k, s})
		}
		sort.Slice(p, func(i, j int) bool { return p[i][0] < p[j][0] })
		return EncodePairs(p), true
	case map[string]any:
		p := make(Pairs, 0, len(x))
		for k, s := range x {
			b, ok := encodeValue(s)
			if !ok {
				return nil, false
			}
			p = append(p, [2]string{k, string(b)})
		}
		sort.Slice(p, func(i, j int) bool { return p[i][0] < p[j][0] })
		return EncodePairs(p), true
	case []string:
		p := make(Pairs, len(x))
		for i, s := range x {
			p[i] = [2]string{s, ""}
		}
		return EncodePairs(p), true
	case []any:
		p := make(Pairs, len(x))
		for i, s := range x {
			b, ok := encodeValue(s)
			if !ok {
				return nil, false
			}
			p[i] = [2]string{string(b), ""}
		}
		return EncodePairs(p), true
	case nil:
		return nil, true
	}
	return nil, false
}
