package auth

import (
	"sync"
	"time"
)

// ttlCache remembers boolean answers for a short time.
type ttlCache struct {
	ttl time.Duration
	mu  sync.Mutex
	m   map[string]cacheEntry
}

type cacheEntry struct {
	v       bool
	expires time.Time
}

func newTTLCache(ttl time.Duration) *ttlCache {
	if ttl == 0 {
		ttl = 2 * time.Second
	}
	return &ttlCache{ttl: ttl, m: map[string]cacheEntry{}}
}

func (c *ttlCache) get(k string) (bool, bool) {
	if c.ttl < 0 {
		return false, false
	}
	c.mu.Lock()
	e, ok := c.m[k]
	c.mu.Unlock()
	if !ok || time.Now().After(e.expires) {
		return false, false
	}
	return e.v, true
}

func (c *ttlCache) put(k string, v bool) {
	if c.ttl < 0 {
		return
	}
	c.mu.Lock()
	if len(c.m) > 50000 {
		clear(c.m)
	}
	c.m[k] = cacheEntry{v: v, expires: time.Now().Add(c.ttl)}
	c.mu.Unlock()
}

func (c *ttlCache) clear() {
	c.mu.Lock()
	clear(c.m)
	c.mu.Unlock()
}
