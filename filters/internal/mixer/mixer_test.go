package mixer

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestHTTPStatusTable(t *testing.T) {
	want := map[Code]uint32{
		OK: 200, Cancelled: 499, Unknown: 500, InvalidArgument: 400, DeadlineExceeded: 504, NotFound: 404,
		AlreadyExists: 409, PermissionDenied: 403, ResourceExhausted: 429, FailedPrecondition: 400,
		Aborted: 409, OutOfRange: 400, Unimplemented: 501, Internal: 500, Unavailable: 503, DataLoss: 500,
		Unauthenticated: 401, Code(99): 500,
	}
	for c, h := range want {
		if got := c.HTTPStatus(); got != h {
			t.Errorf("%v.HTTPStatus() = %d, want %d", c, got, h)
		}
	}
}

func TestParseCode(t *testing.T) {
	tests := []struct {
		in      string
		want    Code
		wantErr bool
	}{
		{"7", PermissionDenied, false},
		{"PERMISSION_DENIED", PermissionDenied, false},
		{"resource_exhausted", ResourceExhausted, false},
		{"16", Unauthenticated, false},
		{"0", OK, false},
		{"99", 0, true},
		{"-1", 0, true},
		{"DENIED", 0, true},
	}
	for _, tt := range tests {
		got, err := ParseCode(tt.in)
		if (err != nil) != tt.wantErr || got != tt.want {
			t.Errorf("ParseCode(%q) = %v, %v; want %v, err=%v", tt.in, got, err, tt.want, tt.wantErr)
		}
	}
	var c Code
	if err := json.Unmarshal([]byte(`8`), &c); err != nil || c != ResourceExhausted {
		t.Errorf("unmarshal 8 = %v, %v", c, err)
	}
	if err := json.Unmarshal([]byte(`"UNAVAILABLE"`), &c); err != nil || c != Unavailable {
		t.Errorf("unmarshal name = %v, %v", c, err)
	}
	if err := json.Unmarshal([]byte(`7.5`), &c); err == nil {
		t.Error("7.5 accepted")
	}
}

func TestBodyAndJoin(t *testing.T) {
	if got := Body(PermissionDenied, "denyreviewsv3handler", "Not allowed"); got != "PERMISSION_DENIED:denyreviewsv3handler:Not allowed" {
		t.Errorf("Body = %q", got)
	}
	code, body := JoinStatuses([]string{"a", "b", "c"}, []Status{{OK, ""}, {ResourceExhausted, "x"}, {PermissionDenied, "y"}})
	if code != ResourceExhausted || body != "RESOURCE_EXHAUSTED:b:x, c:y" {
		t.Errorf("JoinStatuses = %v %q", code, body)
	}
	if code, _ := JoinStatuses([]string{"a"}, []Status{{OK, ""}}); code != OK {
		t.Errorf("all OK joined to %v", code)
	}
}

func TestParseDuration(t *testing.T) {
	tests := []struct {
		in   string
		want time.Duration
		err  bool
	}{
		{"1s", time.Second, false},
		{"1.5s", 1500 * time.Millisecond, false},
		{"500ms", 500 * time.Millisecond, false},
		{"0", 0, false},
		{"0s", 0, false},
		{"2m", 2 * time.Minute, false},
		{"-1s", 0, true},
		{"1", 0, true},
		{"soon", 0, true},
	}
	for _, tt := range tests {
		got, err := ParseDuration(tt.in)
		if (err != nil) != tt.err || got != tt.want {
			t.Errorf("ParseDuration(%q) = %v, %v", tt.in, got, err)
		}
	}
}

const testSchema = `{
  "type": "object",
  "additionalProperties": false,
  "required": ["name"],
  "properties": {
    "name": {"type": "string", "minLength": 1},
    "mode": {"enum": ["A", "B"]},
    "count": {"type": "integer", "minimum": 1},
    "ratio": {"type": "number", "exclusiveMinimum": 0, "maximum": 1},
    "ttl": {"$ref": "#/$defs/Duration"},
    "re": {"type": "string", "format": "regex"},
    "nets": {"type": "array", "items": {"type": "string", "format": "ip-or-cidr"}, "minItems": 1},
    "items": {"type": "array", "items": {"$ref": "#/$defs/Item"}},
    "code": {"$ref": "#/$defs/StatusCode"},
    "labels": {"type": "object", "additionalProperties": {"type": "string"}}
  },
  "$defs": {
    "Item": {"type": "object", "required": ["k"], "additionalProperties": false, "properties": {"k": {"type": "string", "pattern": "^[a-z]+$"}}},
    "Duration": {"type": "string", "format": "duration"},
    "StatusCode": {"oneOf": [{"type": "integer", "minimum": 0, "maximum": 16}, {"enum": ["OK", "INTERNAL"]}]}
  }
}`

func TestSchemaValidate(t *testing.T) {
	s, err := CompileSchema([]byte(testSchema))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		doc       string
		field     string
		reasonHas string
	}{
		{`{"name":"x"}`, "", ""},
		{`{"name":"x","mode":"A","count":3,"ratio":0.5,"ttl":"1.5s","re":"^a","nets":["10.0.0.0/8","::1"],"items":[{"k":"ab"}],"code":"INTERNAL","labels":{"a":"b"}}`, "", ""},
		{`{}`, "name", "is required"},
		{`{"name":""}`, "name", "must not be empty"},
		{`{"name":"x","extra":1}`, "extra", "unknown field"},
		{`{"name":"x","mode":"C"}`, "mode", `must be one of "A", "B"`},
		{`{"name":"x","count":0}`, "count", "must be >= 1"},
		{`{"name":"x","count":1.5}`, "count", "must be integer"},
		{`{"name":"x","ratio":0}`, "ratio", "must be > 0"},
		{`{"name":"x","ttl":"soon"}`, "ttl", "invalid duration"},
		{`{"name":"x","re":"(("}`, "re", "invalid regular expression"},
		{`{"name":"x","nets":[]}`, "nets", "at least one"},
		{`{"name":"x","nets":["10.0.0.0/8","nope"]}`, "nets[1]", "not a valid IP"},
		{`{"name":"x","items":[{"k":"ok"},{"k":"NO"}]}`, "items[1].k", "must match the pattern"},
		{`{"name":"x","items":[{}]}`, "items[0].k", "is required"},
		{`{"name":"x","code":99}`, "code", ""},
		{`{"name":"x","code":"NOPE"}`, "code", ""},
		{`{"name":"x","labels":{"a":1}}`, "labels.a", "must be string"},
		{`[]`, "", "must be object"},
		{`{"name":"x"} trailing`, "", "not valid JSON"},
		{`{"name":`, "", "not valid JSON"},
	}
	for _, tt := range tests {
		err := s.Validate([]byte(tt.doc))
		if tt.field == "" && tt.reasonHas == "" {
			if err != nil {
				t.Errorf("Validate(%s) = %v, want nil", tt.doc, err)
			}
			continue
		}
		var ve *ValidationError
		if !errors.As(err, &ve) {
			t.Errorf("Validate(%s) = %v, want a ValidationError", tt.doc, err)
			continue
		}
		if ve.Field != tt.field || !strings.Contains(ve.Reason, tt.reasonHas) {
			t.Errorf("Validate(%s) = field %q reason %q; want field %q reason containing %q", tt.doc, ve.Field, ve.Reason, tt.field, tt.reasonHas)
		}
		if tt.field != "" && !strings.Contains(err.Error(), `field "`+tt.field+`"`) {
			t.Errorf("error %q does not name the field", err)
		}
	}
}

func TestCompileSchemaRejectsUnsupported(t *testing.T) {
	for _, doc := range []string{
		`{"type":"thing"}`,
		`{"patternProperties":{}}`,
		`{"$ref":"#/definitions/x"}`,
		`{"format":"email"}`,
		`{"pattern":"(("}`,
		`not json`,
	} {
		if _, err := CompileSchema([]byte(doc)); err == nil {
			t.Errorf("CompileSchema(%s) accepted", doc)
		}
	}
}

func TestDefsCompile(t *testing.T) {
	var defs map[string]json.RawMessage
	if err := json.Unmarshal(DefsJSON, &defs); err != nil {
		t.Fatal(err)
	}
	doc, _ := json.Marshal(map[string]any{"$defs": defs, "$ref": "#/$defs/Matcher"})
	s, err := CompileSchema(doc)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Validate([]byte(`{"all":[{"attr":{"header":"x"},"regex":"^a"},{"not":{"attr":{"attribute":"source.ip"},"cidr":["10.0.0.0/8"]}}]}`)); err != nil {
		t.Errorf("valid matcher rejected: %v", err)
	}
	if err := s.Validate([]byte(`{"any":[{"attr":{"header":"x","bogus":1},"exact":"a"}]}`)); err == nil || !strings.Contains(err.Error(), "any[0].attr.bogus") {
		t.Errorf("bad matcher error = %v", err)
	}
	if err := CheckSchemaDefs(doc); err != nil {
		t.Errorf("CheckSchemaDefs on the canonical defs: %v", err)
	}
	bad := strings.Replace(string(doc), `"minLength":1`, `"minLength":2`, 1)
	if err := CheckSchemaDefs([]byte(bad)); err == nil {
		t.Error("CheckSchemaDefs accepted a drifted copy")
	}
}

func src() *MapSource {
	return &MapSource{
		Props: map[string][]byte{
			"source.address":                      []byte("10.57.3.4:5555"),
			"destination.address":                 []byte("10.0.0.9:9080"),
			"upstream.address":                    []byte("10.0.0.10:80"),
			"response.code":                       Int64LE(404),
			"request.duration":                    Int64LE(int64(12300 * time.Microsecond)),
			"request.time":                        Int64LE(time.Date(2020, 1, 2, 3, 4, 5, 0, time.UTC).UnixNano()),
			"request.useragent":                   []byte("curl/8"),
			"connection.mtls":                     {1},
			"connection.uri_san_peer_certificate": []byte("spiffe://cluster.local/ns/default/sa/productpage"),
			"node.metadata.WORKLOAD_NAME":         []byte("reviews-v1"),
			"node.metadata.LABELS.app":            []byte("reviews"),
			"downstream_peer":                     []byte(`{"WORKLOAD_NAME":"productpage-v1"}`),
			"source_workload_name":                []byte("productpage-v1"),
			"source_labels_version":               []byte("v3"),
			"xds.cluster_name":                    []byte("outbound|9080||ratings.prod.svc.cluster.local"),
			"response.flags":                      Int64LE(0x2 | 0x20),
		},
		Request:  map[string]string{":path": "/foo?x=1&key=k1", ":method": "GET", ":authority": "reviews.default:9080", "x-user": "bob"},
		Response: map[string]string{":status": "200"},
	}
}

func TestAttrResolve(t *testing.T) {
	s := src()
	out := src()
	out.Props["xds.listener_direction"] = Int64LE(2)
	tests := []struct {
		name string
		a    Attr
		s    Source
		want string
		ok   bool
	}{
		{"source.ip strips port", Attr{Attribute: "source.ip"}, s, "10.57.3.4", true},
		{"destination.ip inbound", Attr{Attribute: "destination.ip"}, s, "10.0.0.9", true},
		{"destination.ip outbound", Attr{Attribute: "destination.ip"}, out, "10.0.0.10", true},
		{"url", Attr{Attribute: "request.path"}, s, "/foo?x=1&key=k1", true},
		{"url_path from :path", Attr{Attribute: "request.url_path"}, s, "/foo", true},
		{"query param", Attr{Attribute: "request.query_params[x]"}, s, "1", true},
		{"api key from query", Attr{Attribute: "request.api_key"}, s, "k1", true},
		{"header map", Attr{Attribute: `request.headers["X-User"]`}, s, "bob", true},
		{"header", Attr{Header: "X-User"}, s, "bob", true},
		{"missing header default", Attr{Header: "x-none", Default: "unknown"}, s, "unknown", true},
		{"missing header", Attr{Header: "x-none"}, s, "", false},
		{"response.code int property", Attr{Attribute: "response.code"}, s, "404", true},
		{"duration", Attr{Attribute: "response.duration"}, s, "12.3ms", true},
		{"timestamp", Attr{Attribute: "request.time"}, s, "2020-01-02T03:04:05Z", true},
		{"useragent property", Attr{Attribute: "request.useragent"}, s, "curl/8", true},
		{"mtls", Attr{Attribute: "connection.mtls"}, s, "true", true},
		{"principal inbound", Attr{Attribute: "source.principal"}, s, "cluster.local/ns/default/sa/productpage", true},
		{"source workload inbound = peer", Attr{Attribute: "source.workload.name"}, s, "productpage-v1", true},
		{"source workload outbound = node", Attr{Attribute: "source.workload.name"}, out, "reviews-v1", true},
		{"destination workload inbound = node", Attr{Attribute: "destination.workload.name"}, s, "reviews-v1", true},
		{"source labels inbound", Attr{Attribute: "source.labels[version]"}, s, "v3", true},
		{"node metadata nested", Attr{NodeMetadata: "LABELS.app"}, s, "reviews", true},
		{"service host from cluster", Attr{Attribute: "destination.service.host"}, s, "ratings.prod.svc.cluster.local", true},
		{"service name", Attr{Attribute: "destination.service.name"}, s, "ratings", true},
		{"service namespace", Attr{Attribute: "destination.service.namespace"}, s, "prod", true},
		{"service from authority", Attr{Attribute: "destination.service.name"}, &MapSource{Request: map[string]string{":authority": "details.ns:80"}}, "details", true},
		{"reporter", Attr{Attribute: "context.reporter.kind"}, out, "outbound", true},
		{"protocol", Attr{Attribute: "context.protocol"}, s, "http", true},
		{"flags", Attr{Attribute: "context.proxy_error_code"}, s, "UH,UF", true},
		{"raw property", Attr{Property: []string{"response", "code"}, Type: "int"}, s, "404", true},
		{"raw ip", Attr{Property: []string{"source", "address"}, Type: "ip"}, s, "10.57.3.4", true},
		{"generic dotted", Attr{Attribute: "xds.cluster_name"}, s, "outbound|9080||ratings.prod.svc.cluster.local", true},
		{"first_of", Attr{FirstOf: []Attr{{Header: "x-none"}, {Header: "x-user"}}}, s, "bob", true},
		{"literal", Attr{Literal: 1.0}, s, "1", true},
		{"response header", Attr{ResponseHeader: ":status"}, s, "200", true},
		{"response code from :status", Attr{Attribute: "response.code"}, &MapSource{Response: map[string]string{":status": "503"}}, "503", true},
		{"absent", Attr{Attribute: "response.size"}, s, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.a.Check("a"); err != nil {
				t.Fatal(err)
			}
			got, ok := tt.a.ResolveString(tt.s)
			if got != tt.want || ok != tt.ok {
				t.Errorf("= %q, %v; want %q, %v", got, ok, tt.want, tt.ok)
			}
		})
	}
}

func TestAttrCheck(t *testing.T) {
	tests := []struct {
		a     Attr
		field string
	}{
		{Attr{}, "a"},
		{Attr{Header: "x", NodeMetadata: "y"}, "a"},
		{Attr{Attribute: "request.headers[]"}, "a.attribute"},
		{Attr{Attribute: "foo.bar[x]"}, "a.attribute"},
		{Attr{Property: []string{"a"}, Type: "float"}, "a.type"},
		{Attr{FirstOf: []Attr{{Header: "x"}, {}}}, "a.first_of[1]"},
	}
	for _, tt := range tests {
		err := tt.a.Check("a")
		var ve *ValidationError
		if !errors.As(err, &ve) || ve.Field != tt.field {
			t.Errorf("Check(%+v) = %v, want field %q", tt.a, err, tt.field)
		}
	}
}

func TestAttrNumber(t *testing.T) {
	a := Attr{Attribute: "request.duration", Unit: "ms"}
	v, ok := a.Resolve(src())
	if !ok {
		t.Fatal("absent")
	}
	if f, ok := a.Number(v); !ok || f != 12.3 {
		t.Errorf("Number = %v %v", f, ok)
	}
}

func compile(t *testing.T, js string) *Matcher {
	t.Helper()
	var c MatcherConfig
	if err := json.Unmarshal([]byte(js), &c); err != nil {
		t.Fatal(err)
	}
	m, err := CompileMatcher(&c, "match")
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestMatcher(t *testing.T) {
	s := src()
	tests := []struct {
		js   string
		want bool
	}{
		{`{}`, true},
		{`{"attr":{"header":"x-user"},"exact":"bob"}`, true},
		{`{"attr":{"header":"x-user"},"exact":"Bob"}`, false},
		{`{"attr":{"attribute":"request.url_path"},"prefix":"/fo"}`, true},
		{`{"attr":{"attribute":"request.url_path"},"suffix":"oo"}`, true},
		{`{"attr":{"attribute":"request.url_path"},"regex":"o+"}`, true},
		{`{"attr":{"attribute":"request.url_path"},"regex":"^o"}`, false},
		{`{"attr":{"attribute":"request.method"},"in":["GET","HEAD"]}`, true},
		{`{"attr":{"attribute":"source.ip"},"cidr":["10.57.0.0/16"]}`, true},
		{`{"attr":{"attribute":"source.ip"},"cidr":["10.58.0.0/16"]}`, false},
		{`{"attr":{"header":"x-none"},"present":false}`, true},
		{`{"attr":{"header":"x-none"},"present":true}`, false},
		{`{"attr":{"header":"x-none"},"exact":""}`, false},
		{`{"not":{"attr":{"header":"x-none"},"exact":"a"}}`, true},
		{`{"attr":{"attribute":"response.code"},"range":[400,499]}`, true},
		{`{"attr":{"attribute":"response.code"},"range":[500,599]}`, false},
		{`{"all":[{"attr":{"header":"x-user"},"exact":"bob"},{"attr":{"attribute":"request.method"},"exact":"POST"}]}`, false},
		{`{"any":[{"attr":{"header":"x-user"},"exact":"bob"},{"attr":{"attribute":"request.method"},"exact":"POST"}]}`, true},
		{`{"all":[]}`, true},
		{`{"any":[]}`, false},
	}
	for _, tt := range tests {
		if got := compile(t, tt.js).Match(s); got != tt.want {
			t.Errorf("%s = %v, want %v", tt.js, got, tt.want)
		}
	}
	var nilM *Matcher
	if !nilM.Match(s) {
		t.Error("nil matcher must match")
	}
}

func TestMatcherCompileErrors(t *testing.T) {
	tests := []struct{ js, field string }{
		{`{"attr":{"header":"x"}}`, "match"},
		{`{"exact":"x"}`, "match"},
		{`{"attr":{"header":"x"},"exact":"a","prefix":"b"}`, "match"},
		{`{"all":[{},{"attr":{"header":"x"},"regex":"(("}]}`, "match.all[1].regex"},
		{`{"not":{"attr":{"header":"x"},"cidr":["bad"]}}`, "match.not.cidr[0]"},
		{`{"attr":{"header":"x"},"range":[5,1]}`, "match.range"},
		{`{"all":[],"any":[]}`, "match"},
	}
	for _, tt := range tests {
		var c MatcherConfig
		if err := json.Unmarshal([]byte(tt.js), &c); err != nil {
			t.Fatal(err)
		}
		_, err := CompileMatcher(&c, "match")
		var ve *ValidationError
		if !errors.As(err, &ve) || ve.Field != tt.field {
			t.Errorf("%s: err = %v, want field %q", tt.js, err, tt.field)
		}
	}
}

func TestVerdictCache(t *testing.T) {
	c := NewVerdictCache[bool](2)
	sec := int64(time.Second)
	c.Put("a", true, 0, 10*sec, 3)
	for i := range 3 {
		if v, ok := c.Get("a", int64(i)); !ok || !v {
			t.Fatalf("use %d missed", i)
		}
	}
	if _, ok := c.Get("a", 4); ok {
		t.Error("served after valid_use_count uses")
	}
	c.Put("b", false, 0, sec, 0)
	if _, ok := c.Get("b", sec-1); !ok {
		t.Error("expired too early")
	}
	if _, ok := c.Get("b", sec); ok {
		t.Error("served after valid_duration")
	}
	c.Put("x", true, 0, sec, 0)
	c.Put("y", true, 0, sec, 0)
	c.Get("x", 1)
	c.Put("z", true, 0, sec, 0) // evicts y, the least recently used
	if _, ok := c.Get("y", 2); ok {
		t.Error("LRU did not evict y")
	}
	if _, ok := c.Get("x", 2); !ok {
		t.Error("LRU evicted x")
	}
	c.Put("zero", true, 0, 0, 0)
	if _, ok := c.Get("zero", 0); ok {
		t.Error("zero valid_duration was cached")
	}
}

func TestParsePrefix(t *testing.T) {
	tests := map[string]string{
		"10.57.0.0/16":  "10.57.0.0/16",
		"10.57.1.2/16":  "10.57.0.0/16",
		"1.2.3.4":       "1.2.3.4/32",
		"::1":           "::1/128",
		"2001:db8::/32": "2001:db8::/32",
	}
	for in, want := range tests {
		p, err := ParsePrefix(in)
		if err != nil || p.String() != want {
			t.Errorf("ParsePrefix(%q) = %v, %v; want %s", in, p, err, want)
		}
	}
	for _, bad := range []string{"", "10.0.0.0/33", "host", "1.2.3"} {
		if _, err := ParsePrefix(bad); err == nil {
			t.Errorf("ParsePrefix(%q) accepted", bad)
		}
	}
}

func TestResponseFlags(t *testing.T) {
	if got := ResponseFlags(0); got != "-" {
		t.Errorf("0 = %q", got)
	}
	if got := ResponseFlags(0x800); got != "RL" {
		t.Errorf("0x800 = %q", got)
	}
}
