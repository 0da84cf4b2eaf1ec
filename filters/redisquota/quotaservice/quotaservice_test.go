package quotaservice

import (
	"testing"
	"time"
)

type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

func TestFixedWindowBurstAtBoundary(t *testing.T) {
	c := &clock{time.Unix(1000, 0)}
	s := New()
	s.Now = c.now
	req := Request{Key: "k", MaxAmount: 5, WindowNs: int64(60 * time.Second), Algorithm: "FIXED_WINDOW", Amount: 1}
	granted := 0
	c.t = c.t.Add(59900 * time.Millisecond) // first request opens the window
	for range 7 {
		if s.Allocate(req).Allocated > 0 {
			granted++
		}
	}
	c.t = c.t.Add(60 * time.Second) // the window expired: a new one
	for range 7 {
		if s.Allocate(req).Allocated > 0 {
			granted++
		}
	}
	if granted != 10 {
		t.Errorf("granted %d across two windows, want 2×max = 10", granted)
	}
}

func TestRollingWindowCapsAnySpan(t *testing.T) {
	c := &clock{time.Unix(1000, 0)}
	s := New()
	s.Now = c.now
	req := Request{Key: "k", MaxAmount: 5, WindowNs: int64(60 * time.Second), BucketNs: int64(time.Second), Algorithm: "ROLLING_WINDOW", Amount: 1}
	var grants []time.Time
	for i := range 240 { // one request every 500ms for two minutes
		if s.Allocate(req).Allocated > 0 {
			grants = append(grants, c.t)
		}
		_ = i
		c.t = c.t.Add(500 * time.Millisecond)
	}
	for i := range grants {
		n := 0
		for _, g := range grants[i:] {
			if g.Sub(grants[i]) < 60*time.Second {
				n++
			}
		}
		if n > 5 {
			t.Fatalf("%d grants within 60s starting at %v", n, grants[i])
		}
	}
	if len(grants) < 5 {
		t.Errorf("only %d grants", len(grants))
	}
}

func TestDedupAndBestEffort(t *testing.T) {
	s := New()
	req := Request{Key: "k", MaxAmount: 3, WindowNs: int64(time.Minute), Algorithm: "FIXED_WINDOW", Amount: 2, DedupID: "r1"}
	if s.Allocate(req).Allocated != 2 || s.Allocate(req).Allocated != 2 {
		t.Fatal("dedup retry not answered from the first result")
	}
	req.DedupID = ""
	if got := s.Allocate(req).Allocated; got != 0 {
		t.Errorf("without best effort: %d", got)
	}
	req.BestEffort = true
	if got := s.Allocate(req).Allocated; got != 1 {
		t.Errorf("best effort: %d", got)
	}
}
