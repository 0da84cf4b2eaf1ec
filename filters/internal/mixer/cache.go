package mixer

import "container/list"

// VerdictCache is a per-VM LRU of check results that honours Mixer's
// caching hints: an entry is served until ValidDuration has passed or it
// has been used ValidUseCount times, whichever comes first. Time is passed
// in by the caller (nanoseconds), so tests control it. A VerdictCache is
// not safe for concurrent use; a proxy-wasm VM is single-threaded.
type VerdictCache[V any] struct {
	max   int
	ll    *list.List
	items map[string]*list.Element
}

type cacheEntry[V any] struct {
	key      string
	v        V
	expires  int64
	usesLeft int64
}

// NewVerdictCache returns a cache holding at most max entries (max <= 0
// means 1000).
func NewVerdictCache[V any](max int) *VerdictCache[V] {
	if max <= 0 {
		max = 1000
	}
	return &VerdictCache[V]{max: max, ll: list.New(), items: map[string]*list.Element{}}
}

// Get returns the cached verdict for key at time now and counts one use.
func (c *VerdictCache[V]) Get(key string, now int64) (V, bool) {
	var zero V
	el, ok := c.items[key]
	if !ok {
		return zero, false
	}
	e := el.Value.(*cacheEntry[V])
	if now >= e.expires || e.usesLeft <= 0 {
		c.ll.Remove(el)
		delete(c.items, key)
		return zero, false
	}
	e.usesLeft--
	c.ll.MoveToFront(el)
	return e.v, true
}

// Put stores a verdict valid for validNanos from now and for useCount uses
// (useCount <= 0 means unlimited). A validNanos <= 0 stores nothing.
func (c *VerdictCache[V]) Put(key string, v V, now, validNanos, useCount int64) {
	if validNanos <= 0 {
		return
	}
	if useCount <= 0 {
		useCount = 1 << 62
	}
	if el, ok := c.items[key]; ok {
		e := el.Value.(*cacheEntry[V])
		e.v, e.expires, e.usesLeft = v, now+validNanos, useCount
		c.ll.MoveToFront(el)
		return
	}
	c.items[key] = c.ll.PushFront(&cacheEntry[V]{key: key, v: v, expires: now + validNanos, usesLeft: useCount})
	for c.ll.Len() > c.max {
		old := c.ll.Back()
		c.ll.Remove(old)
		delete(c.items, old.Value.(*cacheEntry[V]).key)
	}
}

// Len returns the number of entries, expired ones included until touched.
func (c *VerdictCache[V]) Len() int { return c.ll.Len() }
