package e2e

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wasmctl/wasmctl/filters/redisquota/quotaservice"
)

func TestDenier(t *testing.T) {
	up := newUpstream(t)
	p := plugin(t, "denier", `{"handler_name":"denyreviewsv3handler","status":{"code":7,"message":"Not allowed"},
		"match":{"attr":{"header":"x-source-version"},"exact":"v3"}}`, 1, nil)
	s := front(t, up, p)
	code, body, _ := do(t, "GET", s.URL+"/", "x-source-version", "v3")
	if code != 403 || body != "PERMISSION_DENIED:denyreviewsv3handler:Not allowed" {
		t.Errorf("v3: %d %q", code, body)
	}
	if up.hits.Load() != 0 {
		t.Error("upstream called for a denied request")
	}
	if code, body, _ := do(t, "GET", s.URL+"/", "x-source-version", "v2"); code != 200 || body != "ok from upstream" {
		t.Errorf("v2: %d %q", code, body)
	}
}

// waitFor polls f every 20ms until it is true or 10s passed.
func waitFor(t *testing.T, what string, f func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !f() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestListcheckerRemoteListReachesEveryInstance(t *testing.T) {
	var list atomic.Value
	list.Store("127.0.0.1\n")
	var fetches atomic.Int64
	callee(t, "lists-e2e", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fetches.Add(1)
		io.WriteString(w, list.Load().(string))
	}))
	up := newUpstream(t)
	p := plugin(t, "listchecker", `{"handler_name":"whitelistip","value":{"attribute":"source.ip","default":"0.0.0.0"},
		"entry_type":"IP_ADDRESSES","provider":{"cluster":"lists-e2e","path":"/ips.txt"},"refresh_interval":"1s","ttl":"10s"}`, 2, nil)
	s := front(t, up, p)
	// Requests rotate over the two instances: both must admit 127.0.0.1.
	waitFor(t, "the first list", func() bool { c, _, _ := do(t, "GET", s.URL+"/"); return c == 200 })
	for i := range 4 {
		if c, b, _ := do(t, "GET", s.URL+"/"); c != 200 {
			t.Fatalf("request %d after the first fetch: %d %q", i, c, b)
		}
	}
	list.Store("10.9.9.9\n")
	waitFor(t, "the refreshed list", func() bool { c, _, _ := do(t, "GET", s.URL+"/"); return c == 403 })
	for i := range 4 {
		c, b, _ := do(t, "GET", s.URL+"/")
		if c != 403 || b != "PERMISSION_DENIED:whitelistip:127.0.0.1 is not whitelisted" {
			t.Fatalf("request %d after the refresh: %d %q (an instance kept the old list)", i, c, b)
		}
	}
	// One fetch per refresh period for the whole plugin, not one per VM.
	time.Sleep(1100 * time.Millisecond)
	n := fetches.Load()
	time.Sleep(2 * time.Second)
	if d := fetches.Load() - n; d > 3 {
		t.Errorf("%d fetches in 2s with a 1s refresh and 2 VMs: the refresher election failed", d)
	}
}

func TestMemquotaGrantsExactlyMaxAcrossInstances(t *testing.T) {
	up := newUpstream(t)
	p := plugin(t, "memquota", `{"quotas":[{"name":"requestcountquota","max_amount":5,"valid_duration":"60s"}]}`, 2, nil)
	s := front(t, up, p)
	ok := 0
	for i := range 8 { // sequential requests rotate over both VMs
		c, b, _ := do(t, "GET", s.URL+"/")
		switch c {
		case 200:
			ok++
		case 429:
			if b != "RESOURCE_EXHAUSTED:Quota is exhausted for: requestcountquota" {
				t.Errorf("429 body %q", b)
			}
		default:
			t.Fatalf("request %d: %d %q", i, c, b)
		}
	}
	if ok != 5 {
		t.Errorf("granted %d of max 5 across 2 instances", ok)
	}

	// Concurrent requests: both VMs contend on the same counter with CAS.
	p2 := plugin(t, "memquota", `{"quotas":[{"name":"burst","max_amount":40,"valid_duration":"60s"}]}`, 2, nil)
	s2 := front(t, up, p2)
	var granted, denied atomic.Int64
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 15 {
				c, _, _ := do(t, "GET", s2.URL+"/")
				if c == 200 {
					granted.Add(1)
				} else if c == 429 {
					denied.Add(1)
				}
			}
		})
	}
	wg.Wait()
	if granted.Load() != 40 || denied.Load() != 80 {
		t.Errorf("120 concurrent requests over 2 VMs with max 40: granted %d, denied %d", granted.Load(), denied.Load())
	}
}

func TestStdio(t *testing.T) {
	up := newUpstream(t)
	p := plugin(t, "stdio", `{"instance_name":"accesslog","variables":{"method":{"attribute":"request.method"},"url":{"attribute":"request.path"},
		"responseCode":{"attribute":"response.code","default":0},"responseSize":{"attribute":"response.size","default":0},"userAgent":{"attribute":"request.useragent"}}}`, 1, nil)
	s := front(t, up, p)
	do(t, "GET", s.URL+"/foo?x=1", "user-agent", "e2e/1")
	var entry map[string]any
	waitFor(t, "the access log entry", func() bool {
		for _, l := range logsOf(p.Config().Name) {
			if strings.HasPrefix(l, "{") && json.Unmarshal([]byte(l), &entry) == nil {
				return true
			}
		}
		return false
	})
	for k, want := range map[string]any{"method": "GET", "url": "/foo?x=1", "responseCode": 200.0, "responseSize": 16.0, "userAgent": "e2e/1", "instance": "accesslog", "level": "info"} {
		if entry[k] != want {
			t.Errorf("%s = %#v, want %#v (entry %v)", k, entry[k], want, entry)
		}
	}

	// Queue sink shipped to a real collector.
	var mu sync.Mutex
	var batches []string
	callee(t, "collector-e2e", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		batches = append(batches, string(b))
		mu.Unlock()
	}))
	q := plugin(t, "stdio", `{"sink":"queue","batch":{"cluster":"collector-e2e","path":"/ingest","max_entries":2,"flush_interval":"100ms"}}`, 1, nil)
	sq := front(t, up, q)
	for range 3 {
		do(t, "GET", sq.URL+"/q")
	}
	waitFor(t, "3 shipped entries", func() bool {
		mu.Lock()
		defer mu.Unlock()
		n := 0
		for _, b := range batches {
			n += strings.Count(b, "\n")
		}
		return n == 3
	})
}

func TestPrometheus(t *testing.T) {
	up := newUpstream(t)
	p := plugin(t, "prometheus", `{"tag_encoding":"flat","metrics":[{"name":"requests_total","label_names":["reporter","response_code"]}]}`, 1, nil)
	s := front(t, up, p)
	for range 3 {
		do(t, "GET", s.URL+"/")
	}
	name := `istio_requests_total{reporter="destination",response_code="200"}`
	waitFor(t, "3 counted requests", func() bool { v, _ := runtime(t).MetricValue(p.Config().Name, name); return v == 3 })
}

func TestRBAC(t *testing.T) {
	up := newUpstream(t)
	p := plugin(t, "rbac", `{"handler_name":"rbachandler","subject":{"user":{"header":"x-user"}},
		"action":{"namespace":{"literal":"default"},"service":{"literal":"reviews.default.svc"}},
		"roles":[{"name":"reader","rules":[{"services":["reviews.*"],"paths":["/books*"],"methods":["GET"]}]}],
		"bindings":[{"role":"reader","subjects":[{"user":"productpage"}]}]}`, 1, nil)
	s := front(t, up, p)
	if c, b, _ := do(t, "GET", s.URL+"/books/1", "x-user", "productpage"); c != 200 {
		t.Errorf("GET: %d %q", c, b)
	}
	if c, b, _ := do(t, "DELETE", s.URL+"/books/1", "x-user", "productpage"); c != 403 || b != "PERMISSION_DENIED:rbachandler:RBAC: permission denied." {
		t.Errorf("DELETE: %d %q", c, b)
	}
}

func TestExtAuthz(t *testing.T) {
	var calls atomic.Int64
	callee(t, "opa-e2e", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		var in struct {
			Input struct{ Action struct{ Method string } }
		}
		json.NewDecoder(r.Body).Decode(&in)
		fmt.Fprintf(w, `{"result":{"allow":%v,"headers":{"x-user-id":"u1"}}}`, in.Input.Action.Method == "GET")
	}))
	up := newUpstream(t)
	p := plugin(t, "extauthz", `{"handler_name":"opa","cluster":"opa-e2e","allowed_upstream_headers":["x-user-id"],"cache":{"valid_for":"10s"}}`, 1, nil)
	s := front(t, up, p)
	if c, b, _ := do(t, "GET", s.URL+"/books"); c != 200 || up.lastHeader("x-user-id") != "u1" {
		t.Errorf("GET: %d %q, upstream x-user-id %q", c, b, up.lastHeader("x-user-id"))
	}
	do(t, "GET", s.URL+"/books")
	if calls.Load() != 1 {
		t.Errorf("%d policy calls for 2 identical GETs, want 1 (cache)", calls.Load())
	}
	hits := up.hits.Load()
	if c, b, _ := do(t, "POST", s.URL+"/books"); c != 403 || b != "PERMISSION_DENIED:opa:opa: request was rejected" {
		t.Errorf("POST: %d %q", c, b)
	}
	if up.hits.Load() != hits {
		t.Error("upstream called for a denied request")
	}
	// The policy service goes away: fail closed.
	closed := plugin(t, "extauthz", `{"cluster":"no-such-cluster-e2e","timeout_ms":200}`, 1, nil)
	sc := front(t, up, closed)
	if c, _, _ := do(t, "GET", sc.URL+"/books"); c != 403 {
		t.Errorf("unknown policy cluster with fail_close: %d", c)
	}
}

func TestRedisQuota(t *testing.T) {
	svc := quotaservice.New()
	qs := callee(t, "quota-e2e", svc)
	up := newUpstream(t)
	p := plugin(t, "redisquota", `{"handler_name":"redisquota","service":{"cluster":"quota-e2e","timeout_ms":1000},"quotas":[{"name":"requestcount","max_amount":3,"valid_duration":"60s"}]}`, 2, nil)
	s := front(t, up, p)
	for i := range 3 {
		if c, b, _ := do(t, "GET", s.URL+"/"); c != 200 {
			t.Fatalf("request %d: %d %q", i, c, b)
		}
	}
	if c, b, _ := do(t, "GET", s.URL+"/"); c != 429 || b != "RESOURCE_EXHAUSTED:redisquota:redisquota: Resource exhausted" {
		t.Errorf("4th: %d %q", c, b)
	}
	qs.Close() // the quota service is down
	deny := plugin(t, "redisquota", `{"handler_name":"redisquota","service":{"cluster":"quota-e2e-down","timeout_ms":200},"failure_mode_deny":true,"quotas":[{"name":"q","max_amount":3,"valid_duration":"60s"}]}`, 1, nil)
	clusters.m.Store("quota-e2e-down", qs.URL)
	defer clusters.m.Delete("quota-e2e-down")
	if c, b, _ := do(t, "GET", front(t, up, deny).URL+"/"); c != 503 || b != "UNAVAILABLE:redisquota:redisquota: Service Unavailable" {
		t.Errorf("service down, failure_mode_deny: %d %q", c, b)
	}
	allow := plugin(t, "redisquota", `{"service":{"cluster":"quota-e2e-down","timeout_ms":200},"quotas":[{"name":"q","max_amount":3,"valid_duration":"60s"}]}`, 1, nil)
	if c, _, _ := do(t, "GET", front(t, up, allow).URL+"/"); c != 200 {
		t.Errorf("service down, fail open: %d", c)
	}
}

func TestAttributeGen(t *testing.T) {
	up := newUpstream(t)
	p := plugin(t, "attributegen", `{"attributes":[{"output_attribute":"istio_operationId","phase":"ON_REQUEST","output_header":"x-istio-operation","match":[
		{"value":"ListBooks","condition":{"all":[{"attr":{"attribute":"request.url_path"},"exact":"/books"},{"attr":{"attribute":"request.method"},"exact":"GET"}]}}]}]}`, 1, nil)
	s := front(t, up, p)
	do(t, "GET", s.URL+"/books")
	if v := up.lastHeader("x-istio-operation"); v != "ListBooks" {
		t.Errorf("upstream x-istio-operation = %q", v)
	}
	do(t, "POST", s.URL+"/books")
	if v := up.lastHeader("x-istio-operation"); v != "" {
		t.Errorf("POST: x-istio-operation = %q", v)
	}
}

func TestPeerMetadata(t *testing.T) {
	up := newUpstream(t)
	props := map[string]any{
		"node":               map[string]any{"id": "reviews-v1-node", "metadata": map[string]any{"WORKLOAD_NAME": "reviews-v1", "NAMESPACE": "default"}},
		"listener_direction": int64(1),
	}
	p := plugin(t, "peer-metadata", `{}`, 1, props)
	// attributegen after peer-metadata reads the peer through the flat property.
	ag := plugin(t, "attributegen", `{"attributes":[{"output_attribute":"caller","phase":"ON_REQUEST","output_header":"x-caller","match":[
		{"value":"from-productpage","condition":{"attr":{"attribute":"source.workload.name"},"exact":"productpage-v1"}}]}]}`, 1, props)
	s := front(t, up, p, ag)
	md, _ := json.Marshal(map[string]any{"WORKLOAD_NAME": "productpage-v1", "NAMESPACE": "default"})
	c, _, h := do(t, "GET", s.URL+"/", "x-envoy-peer-metadata-id", "pp-node", "x-envoy-peer-metadata", base64.StdEncoding.EncodeToString(md))
	if c != 200 {
		t.Fatalf("status %d", c)
	}
	if up.lastHeader("x-envoy-peer-metadata") != "" || up.lastHeader("x-envoy-peer-metadata-id") != "" {
		t.Error("peer headers reached the upstream")
	}
	b, err := base64.StdEncoding.DecodeString(h.Get("x-envoy-peer-metadata"))
	var own map[string]any
	if err != nil || json.Unmarshal(b, &own) != nil || own["WORKLOAD_NAME"] != "reviews-v1" {
		t.Errorf("response x-envoy-peer-metadata %q", h.Get("x-envoy-peer-metadata"))
	}
	if h.Get("x-envoy-peer-metadata-id") != "reviews-v1-node" {
		t.Errorf("response id %q", h.Get("x-envoy-peer-metadata-id"))
	}
	t.Run("a later filter reads the peer", func(t *testing.T) {
		// Filter state is per stream and shared by the whole chain (as in
		// Envoy): attributegen reads what peer-metadata set.
		if v := up.lastHeader("x-caller"); v != "from-productpage" {
			t.Errorf("x-caller = %q, want from-productpage", v)
		}
	})
}
