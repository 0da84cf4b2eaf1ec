package auth

import (
	"sync"
	"time"
)

// Limiter counts failed logins per key (a client IP, a user name) in a
// fixed window. It is safe for concurrent use.
type Limiter struct {
	max    int
	window time.Duration

	mu   sync.Mutex
	hits map[string]*window
}

type window struct {
	start time.Time
	n     int
}

// NewLimiter allows at most max failures per key in each window.
func NewLimiter(max int, per time.Duration) *Limiter {
	return &Limiter{max: max, window: per, hits: map[string]*window{}}
}

// Allowed reports whether key may attempt a login now.
func (l *Limiter) Allowed(key string) bool {
	return l.RetryAfter(key) == 0
}

// RetryAfter returns how long key must wait before its next attempt (zero
// when it may try now).
func (l *Limiter) RetryAfter(key string) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	w := l.hits[key]
	if w == nil {
		return 0
	}
	left := l.window - time.Since(w.start)
	if left <= 0 {
		delete(l.hits, key)
		return 0
	}
	if w.n >= l.max {
		return left
	}
	return 0
}

// Fail records a failed attempt by key.
func (l *Limiter) Fail(key string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.hits) > 100000 {
		// Bound memory under a flood of distinct keys: drop expired windows.
		for k, w := range l.hits {
			if time.Since(w.start) > l.window {
				delete(l.hits, k)
			}
		}
	}
	w := l.hits[key]
	if w == nil || time.Since(w.start) > l.window {
		w = &window{start: time.Now()}
		l.hits[key] = w
	}
	w.n++
}
