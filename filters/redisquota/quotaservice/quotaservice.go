// Package quotaservice is the reference implementation of the quota
// service the redisquota filter calls: the allocation protocol of Mixer's
// redisquota adapter (fixed and rolling windows, best effort, dedup ids)
// over HTTP+JSON, with state in memory. Run several proxies against one
// instance for a global limit; put it in front of Redis for persistence.
//
// Request (POST, application/json):
//
//	{"key":"requestcount;destination=ratings","max_amount":50,"window_ns":60000000000,
//	 "bucket_ns":1000000000,"algorithm":"FIXED_WINDOW","amount":1,"best_effort":false,"dedup_id":"…"}
//
// Response: {"allocated":n,"valid_duration_ns":d}; n is 0 when exhausted.
package quotaservice

import (
	"encoding/json"
	"net/http"
	"sync"
	"time"
)

// Request is one allocation request.
type Request struct {
	Key        string `json:"key"`
	MaxAmount  int64  `json:"max_amount"`
	WindowNs   int64  `json:"window_ns"`
	BucketNs   int64  `json:"bucket_ns"`
	Algorithm  string `json:"algorithm"`
	Amount     int64  `json:"amount"`
	BestEffort bool   `json:"best_effort"`
	DedupID    string `json:"dedup_id"`
}

// Response is the allocation result.
type Response struct {
	Allocated       int64 `json:"allocated"`
	ValidDurationNs int64 `json:"valid_duration_ns"`
}

type bucket struct{ start, n int64 }

type state struct {
	// fixed window
	expire int64
	tokens int64
	// rolling window
	buckets []bucket
}

type dedupEntry struct {
	resp    Response
	expires int64
}

// Service allocates quota. The zero value is not usable; call New.
type Service struct {
	// Now is the clock (tests replace it).
	Now func() time.Time

	mu    sync.Mutex
	state map[string]*state
	dedup map[string]dedupEntry
	// Requests counts handled allocation requests.
	Requests int64
}

// New returns a Service using the wall clock.
func New() *Service {
	return &Service{Now: time.Now, state: map[string]*state{}, dedup: map[string]dedupEntry{}}
}

// Allocate applies one request.
func (s *Service) Allocate(r Request) Response {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.Requests++
	now := s.Now().UnixNano()
	if r.DedupID != "" {
		dk := r.Key + "\x00" + r.DedupID
		if e, ok := s.dedup[dk]; ok && now < e.expires {
			return e.resp
		}
		resp := s.allocate(r, now)
		s.dedup[dk] = dedupEntry{resp, now + r.WindowNs}
		return resp
	}
	return s.allocate(r, now)
}

func (s *Service) allocate(r Request, now int64) Response {
	st := s.state[r.Key]
	if st == nil {
		st = &state{}
		s.state[r.Key] = st
	}
	grant := func(avail int64) int64 {
		switch {
		case avail >= r.Amount:
			return r.Amount
		case r.BestEffort && avail > 0:
			return avail
		}
		return 0
	}
	if r.Algorithm == "ROLLING_WINDOW" {
		kept := st.buckets[:0]
		var used int64
		for _, b := range st.buckets {
			if b.start > now-r.WindowNs {
				kept = append(kept, b)
				used += b.n
			}
		}
		st.buckets = kept
		g := grant(r.MaxAmount - used)
		if g > 0 {
			start := now - now%max(r.BucketNs, 1)
			if n := len(st.buckets); n > 0 && st.buckets[n-1].start == start {
				st.buckets[n-1].n += g
			} else {
				st.buckets = append(st.buckets, bucket{start, g})
			}
		}
		return Response{Allocated: g, ValidDurationNs: r.BucketNs}
	}
	if now >= st.expire {
		st.expire, st.tokens = now+r.WindowNs, r.MaxAmount
	}
	g := grant(st.tokens)
	st.tokens -= g
	return Response{Allocated: g, ValidDurationNs: st.expire - now}
}

// ServeHTTP implements the HTTP protocol.
func (s *Service) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	if req.Method != http.MethodPost {
		http.Error(w, "POST a JSON allocation request", http.StatusMethodNotAllowed)
		return
	}
	var r Request
	if err := json.NewDecoder(http.MaxBytesReader(w, req.Body, 1<<16)).Decode(&r); err != nil || r.Key == "" || r.WindowNs <= 0 {
		http.Error(w, "bad allocation request: need key, max_amount, window_ns, amount", http.StatusBadRequest)
		return
	}
	w.Header().Set("content-type", "application/json")
	_ = json.NewEncoder(w).Encode(s.Allocate(r))
}
