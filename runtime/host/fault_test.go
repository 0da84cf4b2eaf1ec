package host_test

import (
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wasmctl/wasmctl/runtime/host"
)

// TestFaultIsolation proves that an infinite loop, a memory bomb and a
// panic in a filter kill only that VM: the request that triggered it gets
// the fail strategy (FAIL_CLOSE → 503, FAIL_OPEN → the upstream's answer
// without the filter), other streams of the same plugin (on its other VM)
// and another plugin keep being served while it happens, the crash is
// counted and the VM is rebuilt after the backoff.
func TestFaultIsolation(t *testing.T) {
	m := probe(t)
	// A bystander plugin with its own proxy, hit concurrently with the fault.
	other := newPlugin(t, m, host.PluginConfig{Name: "bystander"})
	up := newUpstream(t)
	otherURL := serve(t, up, other)

	for _, fault := range []string{"loop", "oom", "panic"} {
		for _, fs := range []host.FailStrategy{host.FailClose, host.FailOpen} {
			t.Run(fault+"/"+fs.String(), func(t *testing.T) {
				name := "fault-" + fault + "-" + fs.String()
				p := newPlugin(t, m, host.PluginConfig{Name: name, FailStrategy: fs, PoolSize: 2})
				url := serve(t, up, p)
				if r := do(t, url, nil); r.status != 200 || r.probe != "ok" {
					t.Fatalf("healthy request before the fault: %+v", r)
				}

				// Other traffic while the faulty callback runs (the loop
				// holds its VM for the whole callback deadline).
				stop := make(chan struct{})
				var wg sync.WaitGroup
				var mu sync.Mutex
				var bad []string
				served := 0
				wg.Add(1)
				go func() {
					defer wg.Done()
					for {
						select {
						case <-stop:
							return
						default:
						}
						for _, u := range []string{otherURL, url} {
							r := do(t, u, nil)
							mu.Lock()
							// A stream may land on the dying VM in the
							// instant it dies and get the fail strategy;
							// everything else must be a normal answer.
							if r.status == 200 && r.probe == "ok" {
								served++
							} else if u == otherURL || !(fs == host.FailClose && r.status == 503 || fs == host.FailOpen && r.status == 200) {
								bad = append(bad, u+": "+r.body)
							}
							mu.Unlock()
						}
						time.Sleep(5 * time.Millisecond)
					}
				}()

				start := time.Now()
				r := do(t, url, map[string]string{"x-fault": fault})
				took := time.Since(start)
				switch fs {
				case host.FailClose:
					if r.status != 503 || !strings.Contains(r.body, "wasm filter "+name+" failed") {
						t.Errorf("%s with FAIL_CLOSE: got %d %q, want 503 from the host", fault, r.status, r.body)
					}
				case host.FailOpen:
					if r.status != 200 || r.body != "upstream" || r.probe != "" {
						t.Errorf("%s with FAIL_OPEN: got %+v, want the upstream's 200 with the filter skipped", fault, r)
					}
				}
				if fault == "loop" && took < testConfig.CallbackTimeout/2 {
					t.Errorf("the loop ended after %s, before the callback deadline %s", took, testConfig.CallbackTimeout)
				}

				// Wait for the rebuild while traffic keeps flowing.
				deadline := time.Now().Add(10 * time.Second)
				for {
					st := p.Status()
					if st.Rebuilds >= 1 && st.Live == 2 {
						break
					}
					if time.Now().After(deadline) {
						t.Fatalf("VM not rebuilt: %+v", st)
					}
					time.Sleep(10 * time.Millisecond)
				}
				close(stop)
				wg.Wait()

				st := p.Status()
				if st.Crashes != 1 {
					t.Errorf("crashes = %d, want 1", st.Crashes)
				}
				if st.State != "running" || st.LastError == "" {
					t.Errorf("status after rebuild: %+v", st)
				}
				if v, ok := runtimeT(t).MetricValue(name, "wasm_host_crashes"); !ok || v != 1 {
					t.Errorf("wasm_host_crashes = %d, want 1", v)
				}
				mu.Lock()
				if served == 0 || len(bad) > 0 {
					t.Errorf("other traffic during the fault: %d served, failures %q", served, bad)
				}
				mu.Unlock()
				// The rebuilt VM serves like new.
				for range 3 {
					if r := do(t, url, nil); r.status != 200 || r.probe != "ok" {
						t.Fatalf("after rebuild: %+v", r)
					}
				}
				if other.Status().Crashes != 0 {
					t.Errorf("the bystander plugin crashed: %+v", other.Status())
				}
			})
		}
	}
	if !logs.Find("fault-panic-FAIL_CLOSE", "probe: asked to panic") {
		t.Errorf("the guest's panic message is not in its log: %q", logs.Lines("fault-panic-FAIL_CLOSE"))
	}
}

// TestRebuildBackoff checks that a VM crashing in a loop is rebuilt with
// growing delays and that every crash is counted.
func TestRebuildBackoff(t *testing.T) {
	m := probe(t)
	p := newPlugin(t, m, host.PluginConfig{Name: "crashloop", PoolSize: 1})
	up := newUpstream(t)
	url := serve(t, up, p)
	var rebuiltAt []time.Time
	var crashedAt []time.Time
	for i := range 3 {
		crashedAt = append(crashedAt, time.Now())
		if r := do(t, url, map[string]string{"x-fault": "panic"}); r.status != 503 {
			t.Fatalf("crash %d: status %d", i, r.status)
		}
		// While the only VM is down the plugin is unavailable: 503.
		if r := do(t, url, nil); r.status != 503 && r.probe != "ok" {
			t.Fatalf("while down: %+v", r)
		}
		deadline := time.Now().Add(10 * time.Second)
		for p.Status().Rebuilds < uint64(i+1) {
			if time.Now().After(deadline) {
				t.Fatalf("not rebuilt after crash %d: %+v", i+1, p.Status())
			}
			time.Sleep(2 * time.Millisecond)
		}
		rebuiltAt = append(rebuiltAt, time.Now())
	}
	if got := p.Status().Crashes; got != 3 {
		t.Errorf("crashes = %d, want 3", got)
	}
	// Backoff doubles: 50ms, 100ms, 200ms (plus instantiate time).
	for i, want := range []time.Duration{50 * time.Millisecond, 100 * time.Millisecond, 200 * time.Millisecond} {
		if got := rebuiltAt[i].Sub(crashedAt[i]); got < want {
			t.Errorf("rebuild %d after %s, want at least the backoff %s", i+1, got, want)
		}
	}
	if r := do(t, url, nil); r.status != 200 || r.probe != "ok" {
		t.Errorf("after the crash loop: %+v", r)
	}
}
