package main

import (
	"strconv"
	"strings"
)

// slotNanos is the rolling window's granularity: Mixer used 10 ticks per
// second.
const slotNanos = int64(100_000_000)

// counter is the state of one quota key in shared data. Its text form is
// compact and versioned by its first letter:
//
//	"R t:c t:c …"  rolling window: slot ticks (100 ms) with their counts
//	"F end count"  fixed window: window end (ns) and the count in it
//	"C count"      concurrency quota: units currently held
type counter struct {
	kind  byte
	slots []slot
	end   int64
	count int64
}

type slot struct{ tick, n int64 }

func decodeCounter(b []byte, kind byte) counter {
	c := counter{kind: kind}
	f := strings.Fields(string(b))
	if len(f) == 0 || len(f[0]) != 1 || f[0][0] != kind {
		return c // absent, neutral, or another algorithm's state: start over
	}
	switch kind {
	case 'R':
		for _, p := range f[1:] {
			t, n, ok := strings.Cut(p, ":")
			ti, err1 := strconv.ParseInt(t, 10, 64)
			ni, err2 := strconv.ParseInt(n, 10, 64)
			if ok && err1 == nil && err2 == nil {
				c.slots = append(c.slots, slot{ti, ni})
			}
		}
	case 'F':
		if len(f) == 3 {
			c.end, _ = strconv.ParseInt(f[1], 10, 64)
			c.count, _ = strconv.ParseInt(f[2], 10, 64)
		}
	case 'C':
		if len(f) == 2 {
			c.count, _ = strconv.ParseInt(f[1], 10, 64)
		}
	}
	return c
}

func (c *counter) encode() []byte {
	b := []byte{c.kind}
	switch c.kind {
	case 'R':
		for _, s := range c.slots {
			b = append(b, ' ')
			b = strconv.AppendInt(b, s.tick, 10)
			b = append(b, ':')
			b = strconv.AppendInt(b, s.n, 10)
		}
	case 'F':
		b = append(b, ' ')
		b = strconv.AppendInt(b, c.end, 10)
		b = append(b, ' ')
		b = strconv.AppendInt(b, c.count, 10)
	case 'C':
		b = append(b, ' ')
		b = strconv.AppendInt(b, c.count, 10)
	}
	return b
}

// windowSlots is Mixer's window length in slots: the duration rounded up to
// whole seconds, times 10 (so 1.5s behaves as 2s).
func windowSlots(durNanos int64) int64 {
	secs := (durNanos + 999_999_999) / 1_000_000_000
	return secs * 10
}

// used returns the amount in use at now (and drops expired state).
func (c *counter) used(now, durNanos int64) int64 {
	switch c.kind {
	case 'R':
		tick := now / slotNanos
		oldest := tick - windowSlots(durNanos) // slots at or before this are reclaimed
		kept := c.slots[:0]
		var sum int64
		for _, s := range c.slots {
			if s.tick > oldest {
				kept = append(kept, s)
				sum += s.n
			}
		}
		c.slots = kept
		return sum
	case 'F':
		if now >= c.end {
			c.end = (now/durNanos + 1) * durNanos
			c.count = 0
		}
		return c.count
	}
	return c.count
}

// add records amount at now (after used has been called).
func (c *counter) add(now, amount int64) {
	switch c.kind {
	case 'R':
		tick := now / slotNanos
		if n := len(c.slots); n > 0 && c.slots[n-1].tick == tick {
			c.slots[n-1].n += amount
			return
		}
		c.slots = append(c.slots, slot{tick, amount})
	default:
		c.count += amount
		if c.count < 0 {
			c.count = 0
		}
	}
}
